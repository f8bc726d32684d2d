package mail

import (
	"fmt"
	"html"
	"net/url"
	"strings"
	"time"
)

// Categories of the transactional emails (Resend tag `category`, metric label).
const (
	CategoryVerification  = "email_verification"
	CategoryPasswordReset = "password_reset"
)

// expiryLayout prints an expiry as "November 06, 2025 14:38 UTC".
const expiryLayout = "January 02, 2006 15:04 UTC"

// kind is what differs between the two emails (spec: auth-and-keys.md §12 table).
type kind struct {
	category     string
	subject      string // with one %s for the app name
	path         string
	heading      string
	cta          string
	bodyHTML     string // with one %s for the app name in <strong>
	intro        string // with one %s for the app name
	instructions string
}

var (
	verification = kind{
		category:     CategoryVerification,
		subject:      "Verify your email for %s",
		path:         "/verify-email",
		heading:      "Confirm your email",
		cta:          "Verify email",
		bodyHTML:     "You're almost done setting up <strong>%s</strong>. Click the button below or enter the code to finish verifying your email address.",
		intro:        "You're almost done setting up %s.",
		instructions: "Use the link or code below to verify your email.",
	}
	passwordReset = kind{
		category:     CategoryPasswordReset,
		subject:      "Reset your %s password",
		path:         "/reset-password",
		heading:      "Reset your password",
		cta:          "Reset password",
		bodyHTML:     "We received a request to reset your <strong>%s</strong> password. If this was you, click the button below or enter the code to continue.",
		intro:        "We received a request to reset your %s password.",
		instructions: "Use the link or code below to choose a new password.",
	}
)

// VerificationEmail builds the email-verification message: link
// <publicURL>/verify-email?token=<token> (spec: auth-and-keys.md §12).
func VerificationEmail(appName, publicURL, to, token string, expires time.Time) Message {
	return verification.message(appName, publicURL, to, token, expires)
}

// PasswordResetEmail builds the password-reset message: link
// <publicURL>/reset-password?token=<token> (spec: auth-and-keys.md §12).
func PasswordResetEmail(appName, publicURL, to, token string, expires time.Time) Message {
	return passwordReset.message(appName, publicURL, to, token, expires)
}

func (k kind) message(appName, publicURL, to, token string, expires time.Time) Message {
	expires = expires.UTC()
	link := strings.TrimRight(publicURL, "/") + k.path + "?token=" + url.QueryEscape(token)
	expiry := expires.Format(expiryLayout)
	text := strings.Join([]string{
		fmt.Sprintf(k.intro, appName),
		"",
		k.instructions,
		"Link: " + link,
		"Code: " + token,
		"Expires: " + expiry,
		"",
		"If you did not request this, you can safely ignore this message.",
	}, "\n")
	return Message{
		To:       to,
		Subject:  fmt.Sprintf(k.subject, appName),
		HTML:     k.html(appName, link, token, expiry),
		Text:     text,
		Category: k.category,
		TemplateVars: map[string]any{
			"token":      token,
			"expires_at": isoformat(expires),
			"app_name":   appName,
		},
		Tags:      map[string]string{"category": k.category},
		Link:      link,
		Token:     token,
		ExpiresAt: expires,
	}
}

// html is the centred 600-px white card of spec auth-and-keys.md §12.
func (k kind) html(appName, link, token, expiry string) string {
	e := html.EscapeString
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html>
<html>
<body style="margin:0;padding:0;background-color:#f4f4f5;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background-color:#f4f4f5;padding:32px 0;">
<tr><td align="center">
<table role="presentation" width="600" cellpadding="0" cellspacing="0" style="width:600px;max-width:600px;background-color:#ffffff;border-radius:8px;font-family:Arial,Helvetica,sans-serif;color:#111827;">
<tr><td style="padding:40px;">
`)
	fmt.Fprintf(&b, `<h1 style="margin:0 0 16px;font-size:24px;line-height:32px;">%s</h1>
<p style="margin:0 0 24px;font-size:16px;line-height:24px;">%s</p>
<p style="margin:0 0 24px;"><a href="%s" style="display:inline-block;padding:12px 24px;background-color:#111827;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:bold;font-size:16px;">%s</a></p>
<p style="margin:0 0 8px;font-size:14px;line-height:20px;">Or use this code:</p>
<p style="margin:0 0 24px;font-size:24px;line-height:32px;font-weight:bold;letter-spacing:1px;word-break:break-all;">%s</p>
<p style="margin:0;font-size:12px;line-height:18px;color:#6b7280;">This link expires %s.</p>
`, e(k.heading), fmt.Sprintf(k.bodyHTML, e(appName)), e(link), e(k.cta), e(token), e(expiry))
	b.WriteString(`</td></tr>
</table>
</td></tr>
</table>
</body>
</html>
`)
	return b.String()
}

// isoformat prints t as Python's datetime.isoformat does for an aware UTC time:
// "2025-11-06T14:38:00+00:00", with microseconds only when there are any.
func isoformat(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1000 != 0 {
		return t.Format("2006-01-02T15:04:05.000000-07:00")
	}
	return t.Format("2006-01-02T15:04:05-07:00")
}
