package mail_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"agentplane/mail"
)

var expires = time.Date(2025, 11, 6, 14, 38, 27, 0, time.UTC)

func TestContent(t *testing.T) {
	t.Parallel()
	const token = "0123456789abcdef0123456789abcdef.deadbeef"
	tests := []struct {
		name    string
		build   func(appName, publicURL, to, token string, expires time.Time) mail.Message
		want    mail.Message
		heading string
		cta     string
	}{
		{
			name:  "verification",
			build: mail.VerificationEmail,
			want: mail.Message{
				To:       "jane@example.com",
				Subject:  "Verify your email for Acme",
				Category: "email_verification",
				Link:     "https://app.example.com/verify-email?token=" + token,
				Text: "You're almost done setting up Acme.\n" +
					"\n" +
					"Use the link or code below to verify your email.\n" +
					"Link: https://app.example.com/verify-email?token=" + token + "\n" +
					"Code: " + token + "\n" +
					"Expires: November 06, 2025 14:38 UTC\n" +
					"\n" +
					"If you did not request this, you can safely ignore this message.",
			},
			heading: "Confirm your email",
			cta:     "Verify email",
		},
		{
			name:  "password reset",
			build: mail.PasswordResetEmail,
			want: mail.Message{
				To:       "jane@example.com",
				Subject:  "Reset your Acme password",
				Category: "password_reset",
				Link:     "https://app.example.com/reset-password?token=" + token,
				Text: "We received a request to reset your Acme password.\n" +
					"\n" +
					"Use the link or code below to choose a new password.\n" +
					"Link: https://app.example.com/reset-password?token=" + token + "\n" +
					"Code: " + token + "\n" +
					"Expires: November 06, 2025 14:38 UTC\n" +
					"\n" +
					"If you did not request this, you can safely ignore this message.",
			},
			heading: "Reset your password",
			cta:     "Reset password",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// A trailing slash on APP_PUBLIC_URL and a non-UTC expiry are normalised.
			got := tc.build("Acme", "https://app.example.com/", "jane@example.com", token,
				expires.In(time.FixedZone("CET", 3600)))
			want := tc.want
			want.HTML = got.HTML // checked below
			want.Token = token
			want.ExpiresAt = expires
			want.Tags = map[string]string{"category": tc.want.Category}
			want.TemplateVars = map[string]any{
				"token": token, "expires_at": "2025-11-06T14:38:27+00:00", "app_name": "Acme",
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
			for _, part := range []string{
				"width:600px", "background-color:#ffffff", "font-family:Arial",
				">" + tc.heading + "<", "<strong>Acme</strong>",
				`<a href="` + tc.want.Link + `"`, ">" + tc.cta + "</a>",
				"Or use this code:", ">" + token + "<",
				"This link expires November 06, 2025 14:38 UTC.",
			} {
				if !strings.Contains(got.HTML, part) {
					t.Errorf("HTML lacks %q", part)
				}
			}
		})
	}
}

func TestContentEscapes(t *testing.T) {
	t.Parallel()
	m := mail.VerificationEmail("<Acme & Co>", "https://app.example.com", "jane@example.com", "a+b/c=d&e", expires)
	if want := "https://app.example.com/verify-email?token=a%2Bb%2Fc%3Dd%26e"; m.Link != want {
		t.Errorf("link = %q, want %q", m.Link, want)
	}
	if !strings.Contains(m.HTML, "<strong>&lt;Acme &amp; Co&gt;</strong>") || strings.Contains(m.HTML, "<Acme") {
		t.Error("app name is not HTML-escaped")
	}
	if !strings.Contains(m.HTML, `href="https://app.example.com/verify-email?token=a%2Bb%2Fc%3Dd%26e"`) {
		t.Error("link is not in the button")
	}
	if m.Subject != "Verify your email for <Acme & Co>" {
		t.Errorf("subject = %q", m.Subject)
	}
}

func TestTemplateExpiryKeepsMicroseconds(t *testing.T) {
	t.Parallel()
	m := mail.PasswordResetEmail("Acme", "https://x", "a@b.c", "t", expires.Add(123456789*time.Nanosecond))
	if got, want := m.TemplateVars["expires_at"], "2025-11-06T14:38:27.123456+00:00"; got != want {
		t.Errorf("expires_at = %v, want %v (Python isoformat)", got, want)
	}
}
