package mail_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"agentplane/mail"
)

func TestLogSender(t *testing.T) {
	t.Parallel()
	const token = "abcd0123456789.ffee"
	tests := []struct {
		name      string
		msg       mail.Message
		showLinks bool
		want      map[string]any
	}{
		{
			name: "verification, production",
			msg:  mail.VerificationEmail("Acme", "https://app.example.com", "jane@example.com", token, expires),
			want: map[string]any{
				"level": "INFO", "msg": "auth.email_verification_notification",
				"event": "auth.email_verification_notification", "result": "logged",
				"email": "jane@example.com", "category": "email_verification",
				"subject": "Verify your email for Acme", "expires_at": "2025-11-06T14:38:27+00:00",
				"token_preview": "abcd",
			},
		},
		{
			name:      "reset, development",
			msg:       mail.PasswordResetEmail("Acme", "https://app.example.com", "jane@example.com", token, expires),
			showLinks: true,
			want: map[string]any{
				"level": "INFO", "msg": "auth.password_reset_notification",
				"event": "auth.password_reset_notification", "result": "logged",
				"email": "jane@example.com", "category": "password_reset",
				"subject": "Reset your Acme password", "expires_at": "2025-11-06T14:38:27+00:00",
				"token_preview": "abcd",
				"link":          "https://app.example.com/reset-password?token=" + token,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{
				ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
					if a.Key == slog.TimeKey {
						return slog.Attr{}
					}
					return a
				},
			}))
			if err := mail.NewLog(log, tc.showLinks).Send(t.Context(), tc.msg); err != nil {
				t.Fatalf("Send = %v, want nil", err)
			}
			var got map[string]any
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatalf("log line %q: %v", buf.String(), err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("log line (-want +got):\n%s", diff)
			}
			if !tc.showLinks && strings.Contains(buf.String(), token) {
				t.Errorf("production log reveals the token: %s", buf.String())
			}
		})
	}
}

func TestLogSenderNilLogger(t *testing.T) {
	t.Parallel()
	if err := mail.NewLog(nil, true).Send(t.Context(), mail.Message{To: "a@b.c"}); err != nil {
		t.Fatal(err)
	}
}
