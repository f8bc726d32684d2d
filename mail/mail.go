// Package mail sends transactional email: the verification and password-reset messages
// of spec auth-and-keys.md §12, through Resend's HTTP API or, without Resend, into the
// log. Only this package talks to Resend.
package mail

import (
	"context"
	"time"
)

// Message is one email. Link, Token and ExpiresAt repeat what the body carries so the
// Log sender can print them without parsing the body.
type Message struct {
	To       string
	Subject  string
	HTML     string
	Text     string
	Category string // email_verification, password_reset: Resend tag and metric label

	// TemplateID, when set, makes Resend render its stored template with TemplateVars
	// instead of HTML and Text (spec: auth-and-keys.md §12, last paragraph).
	TemplateID   string
	TemplateVars map[string]any
	Tags         map[string]string

	Link      string    // the action link
	Token     string    // the code the link carries
	ExpiresAt time.Time // when Link and Token stop working
}

// Sender delivers a Message. The auth area depends on this interface; Resend and Log
// implement it.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Recorder receives one observation per delivery attempt (the email_delivery_* metrics
// of spec cli-config-ops.md §8.4, recorded by the metrics package). result is
// "success" or "error".
type Recorder interface {
	EmailSent(category, result string, d time.Duration)
}
