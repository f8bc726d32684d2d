package mail

import (
	"context"
	"log/slog"
)

// Log is the sender used without Resend: it logs one event per message and never fails
// (spec: auth-and-keys.md §12). With showLinks (production enforcement off) the event
// carries the full action link so a developer can verify and reset without Resend;
// otherwise only the first four characters of the token (§18.4 note 25).
type Log struct {
	log       *slog.Logger
	showLinks bool
}

// NewLog returns a Log sender writing to log (nil discards).
func NewLog(log *slog.Logger, showLinks bool) *Log {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Log{log: log, showLinks: showLinks}
}

// events names the log event of each category, as the reference's logging notifier.
var events = map[string]string{
	CategoryVerification:  "auth.email_verification_notification",
	CategoryPasswordReset: "auth.password_reset_notification",
}

// Send logs m and returns nil.
func (l *Log) Send(ctx context.Context, m Message) error {
	event, ok := events[m.Category]
	if !ok {
		event = "mail.notification"
	}
	attrs := []slog.Attr{
		slog.String("event", event),
		slog.String("result", "logged"),
		slog.String("email", m.To),
		slog.String("category", m.Category),
		slog.String("subject", m.Subject),
	}
	if !m.ExpiresAt.IsZero() {
		attrs = append(attrs, slog.String("expires_at", isoformat(m.ExpiresAt)))
	}
	if m.Token != "" {
		attrs = append(attrs, slog.String("token_preview", preview(m.Token)))
	}
	if l.showLinks && m.Link != "" {
		attrs = append(attrs, slog.String("link", m.Link))
	}
	l.log.LogAttrs(ctx, slog.LevelInfo, event, attrs...)
	return nil
}

// preview is the token's first four characters.
func preview(token string) string {
	n := 0
	for i := range token {
		if n == 4 {
			return token[:i]
		}
		n++
	}
	return token
}
