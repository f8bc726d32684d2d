package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"agentplane/config"
	"agentplane/mail"
	"agentplane/server/servertest"
)

const (
	sendPath    = "/api/v1/auth/email/send"
	verifyPath  = "/api/v1/auth/email/verify"
	forgotPath  = "/api/v1/auth/password/forgot"
	confirmPath = "/api/v1/auth/password/confirm"
	changePath  = "/api/v1/auth/password/change"
	resetPath   = "/api/v1/auth/password/reset"
	forgotDone  = "If the account exists, password reset instructions have been sent."
)

var errDelivery = errors.New("test: mail provider down")

// otherSecret keeps a token's id and replaces its secret.
func otherSecret(token string) string {
	id, _, _ := strings.Cut(token, ".")
	return id + "." + strings.Repeat("0", 64)
}

// --- email verification ---

func TestSendVerification(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	reg := env.Register(t, "uma@example.com", goodPassword, "Uma Co")
	if n := mailsTo(env, "uma@example.com"); n != 1 {
		t.Fatalf("signup sent %d mails", n)
	}
	send := func(token string) *httptest.ResponseRecorder { return post(t, env, sendPath, nil, withBearer(token)) }

	// The quota (3 an hour) counts the sends, not the signup's mail.
	for i := 0; i < 3; i++ {
		wantResult(t, send(reg.AccessToken), http.StatusAccepted, "Verification email sent.", obj{"email_verified": false})
	}
	if n := mailsTo(env, "uma@example.com"); n != 4 {
		t.Errorf("%d mails, want 4", n)
	}
	m := lastMail(t, env, "uma@example.com", mail.CategoryVerification)
	if m.Subject != "Verify your email for "+servertest.AppName || !strings.Contains(m.Text, "Code: "+m.Token) {
		t.Errorf("mail %q / %q", m.Subject, m.Text)
	}
	wantRateLimited(t, send(reg.AccessToken), "email_verify_user")
	if n := mailsTo(env, "uma@example.com"); n != 4 {
		t.Errorf("refused send mailed: %d", n)
	}

	// Verified (in the token), the answer is 202 without a quota or a mail.
	wantResult(t, post(t, env, verifyPath, obj{"token": m.Token}), http.StatusOK, "Email verified successfully.", nil)
	verified := mustLogin(t, env, "uma@example.com", goodPassword, "")
	if !verified.EmailVerified {
		t.Fatal("login after verification is not verified")
	}
	for i := 0; i < 2; i++ {
		wantResult(t, send(verified.AccessToken), http.StatusAccepted, "Email already verified.", obj{"email_verified": true})
	}
	if n := mailsTo(env, "uma@example.com"); n != 4 {
		t.Errorf("%d mails after verification", n)
	}
	wantError(t, post(t, env, sendPath, nil), http.StatusUnauthorized, "Not authenticated", true)
}

func TestSendVerificationIPQuotaAndFailure(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, servertest.WithSettings(func(s *config.Settings) {
		s.EmailVerificationEmailRateLimitPerHour = 10
		s.EmailVerificationIPRateLimitPerHour = 2
	}))
	a := env.Register(t, "vic@example.com", goodPassword, "Vic Co")
	b := env.Register(t, "wes@example.com", goodPassword, "Wes Co")
	wantStatus(t, post(t, env, sendPath, nil, withBearer(a.AccessToken)), http.StatusAccepted)
	wantStatus(t, post(t, env, sendPath, nil, withBearer(b.AccessToken)), http.StatusAccepted)
	wantRateLimited(t, post(t, env, sendPath, nil, withBearer(b.AccessToken)), "email_verify_ip")
	wantStatus(t, post(t, env, sendPath, nil, withBearer(b.AccessToken), fromIP("198.51.100.3")), http.StatusAccepted)

	env.Mail.Fail(errDelivery)
	wantError(t, post(t, env, sendPath, nil, withBearer(a.AccessToken), fromIP("198.51.100.4")), http.StatusBadGateway,
		"Unable to send verification email. Please try again shortly.", false)
}

func TestVerifyEmail(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	reg := env.Register(t, "xena@example.com", goodPassword, "Xena Co")
	second := mustLogin(t, env, "xena@example.com", goodPassword, "")
	token := lastMail(t, env, "xena@example.com", mail.CategoryVerification).Token
	// An older token of the user is dropped by the verification too.
	wantStatus(t, post(t, env, sendPath, nil, withBearer(reg.AccessToken)), http.StatusAccepted)
	newer := lastMail(t, env, "xena@example.com", mail.CategoryVerification).Token

	tests := []struct {
		name, token, detail string
	}{
		{"no dot", "abc", "Verification token is malformed."},
		{"empty secret", "abc.", "Verification token is malformed."},
		{"empty id", "." + strings.Repeat("a", 64), "Verification token is malformed."},
		{"unknown id", strings.Repeat("a", 32) + "." + strings.Repeat("b", 64), "Verification token is invalid or expired."},
		{"wrong secret", otherSecret(token), "Verification token is invalid or expired."},
		{"a reset token", "", "Verification token is invalid or expired."},
	}
	wantStatus(t, post(t, env, forgotPath, obj{"email": "xena@example.com"}), http.StatusAccepted)
	tests[len(tests)-1].token = lastMail(t, env, "xena@example.com", mail.CategoryPasswordReset).Token
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, post(t, env, verifyPath, obj{"token": tt.token}), http.StatusBadRequest, tt.detail, false)
		})
	}
	if u := user(t, env, *reg.UserID); u.EmailVerifiedAt != nil {
		t.Fatal("verified by a bad token")
	}
	wantValidation(t, post(t, env, verifyPath, obj{"token": ""}), item{"string_too_short", []any{"body", "token"},
		"String should have at least 1 character"})

	env.Clock.Advance(time.Minute)
	wantResult(t, post(t, env, verifyPath, obj{"token": " " + token + " "}), http.StatusOK, "Email verified successfully.", nil)
	u := user(t, env, *reg.UserID)
	if u.EmailVerifiedAt == nil || !u.EmailVerifiedAt.Equal(env.Clock.Now().Truncate(time.Millisecond)) {
		t.Errorf("email_verified_at %v", u.EmailVerifiedAt)
	}
	for _, s := range []string{*reg.SessionID, *second.SessionID} {
		if ss := session(t, env, *reg.UserID, s); ss.RevokedReason != "email_verified" {
			t.Errorf("session %s reason %q", s, ss.RevokedReason)
		}
	}
	for _, tok := range []string{reg.RefreshToken, second.RefreshToken} {
		wantError(t, refresh(t, env, tok), http.StatusUnauthorized, msgRevoked, false)
	}
	for _, tok := range []string{token, newer} {
		wantError(t, post(t, env, verifyPath, obj{"token": tok}), http.StatusBadRequest, "Verification token is invalid or expired.", false)
	}
	if resp := mustLogin(t, env, "xena@example.com", goodPassword, ""); !resp.EmailVerified {
		t.Error("new login not verified")
	}
}

func TestVerifyEmailStatusAndChangedEmail(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	ctx := context.Background()
	pending := env.Register(t, "yuri@example.com", goodPassword, "Yuri Co")
	if err := env.Store.Users().SetStatus(ctx, *pending.UserID, "pending", env.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	moved := env.Register(t, "zoe@example.com", goodPassword, "Zoe Co")
	movedToken := lastMail(t, env, "zoe@example.com", mail.CategoryVerification).Token
	if _, err := env.Store.DB().ExecContext(ctx, `UPDATE users SET email = ? WHERE id = ?`, "zoe.new@example.com", *moved.UserID); err != nil {
		t.Fatal(err)
	}

	t.Run("token for a changed email", func(t *testing.T) {
		wantError(t, post(t, env, verifyPath, obj{"token": movedToken}), http.StatusBadRequest,
			"Verification token is invalid or expired.", false)
		if u := user(t, env, *moved.UserID); u.EmailVerifiedAt != nil {
			t.Error("verified the new address with the old one's token")
		}
		wantStatus(t, refresh(t, env, moved.RefreshToken), http.StatusOK)
	})
	t.Run("pending becomes active", func(t *testing.T) {
		tok := lastMail(t, env, "yuri@example.com", mail.CategoryVerification).Token
		wantResult(t, post(t, env, verifyPath, obj{"token": tok}), http.StatusOK, "Email verified successfully.", nil)
		if u := user(t, env, *pending.UserID); u.Status != "active" || u.EmailVerifiedAt == nil {
			t.Errorf("user %+v", u)
		}
	})
}

// --- password reset by email ---

func TestForgotPassword(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	reg := env.Register(t, "abe@example.com", goodPassword, "Abe Co")
	before := len(env.Mail.Messages())

	t.Run("unknown email", func(t *testing.T) {
		wantResult(t, post(t, env, forgotPath, obj{"email": "nobody@example.com"}), http.StatusAccepted, forgotDone, nil)
		if n := len(env.Mail.Messages()); n != before {
			t.Errorf("mailed for an unknown address")
		}
	})
	t.Run("known email", func(t *testing.T) {
		wantResult(t, post(t, env, forgotPath, obj{"email": "  ABE@example.com "}), http.StatusAccepted, forgotDone, nil)
		m := lastMail(t, env, "abe@example.com", mail.CategoryPasswordReset)
		if m.Link != env.Config.Settings.AppPublicURL+"/reset-password?token="+m.Token || m.Subject != "Reset your "+servertest.AppName+" password" {
			t.Errorf("mail %+v", m)
		}
		want := env.Clock.Now().Add(env.Config.Settings.PasswordResetTokenTTL)
		if !m.ExpiresAt.Equal(want) {
			t.Errorf("expires %v, want %v", m.ExpiresAt, want)
		}
	})
	t.Run("delivery failure is not revealed", func(t *testing.T) {
		env.Mail.Fail(errDelivery)
		defer env.Mail.Fail(nil)
		wantResult(t, post(t, env, forgotPath, obj{"email": "abe@example.com"}), http.StatusAccepted, forgotDone, nil)
	})
	t.Run("not an email", func(t *testing.T) {
		wantStatus(t, post(t, env, forgotPath, obj{"email": "abe"}), http.StatusUnprocessableEntity)
	})
	t.Run("quota per email", func(t *testing.T) {
		// Five an hour per address, two used above, whatever the client IP.
		for i := 0; i < 3; i++ {
			wantStatus(t, post(t, env, forgotPath, obj{"email": "abe@example.com"}, fromIP("198.51.100.8")), http.StatusAccepted)
		}
		wantRateLimited(t, post(t, env, forgotPath, obj{"email": "Abe@Example.com"}, fromIP("198.51.100.9")), "password_reset_email")
	})
	// None of it touched the account.
	wantStatus(t, refresh(t, env, reg.RefreshToken), http.StatusOK)
}

func TestForgotPasswordIPQuota(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, servertest.WithSettings(func(s *config.Settings) { s.PasswordResetIPRateLimitPerHour = 2 }))
	for _, email := range []string{"a@example.com", "b@example.com"} {
		wantStatus(t, post(t, env, forgotPath, obj{"email": email}), http.StatusAccepted)
	}
	wantRateLimited(t, post(t, env, forgotPath, obj{"email": "c@example.com"}), "password_reset_ip")
}

func TestConfirmPasswordReset(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	reg := env.Register(t, "bea@example.com", goodPassword, "Bea Co")
	second := mustLogin(t, env, "bea@example.com", goodPassword, "")
	wantStatus(t, post(t, env, forgotPath, obj{"email": "bea@example.com"}), http.StatusAccepted)
	token := lastMail(t, env, "bea@example.com", mail.CategoryPasswordReset).Token
	wantStatus(t, post(t, env, forgotPath, obj{"email": "bea@example.com"}), http.StatusAccepted)
	other := lastMail(t, env, "bea@example.com", mail.CategoryPasswordReset).Token
	confirm := func(tok, pw string) *httptest.ResponseRecorder {
		return post(t, env, confirmPath, obj{"token": tok, "new_password": pw})
	}

	tests := []struct {
		name, token, password, detail string
	}{
		{"malformed", "abc", otherPassword, "Password reset token is malformed."},
		{"wrong secret", otherSecret(token), otherPassword, "Password reset token is invalid or expired."},
		{"unknown id", uuid.NewString() + "." + strings.Repeat("c", 64), otherPassword, "Password reset token is invalid or expired."},
		{"current password", token, goodPassword, "Password was recently used."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, confirm(tt.token, tt.password), http.StatusBadRequest, tt.detail, false)
		})
	}
	t.Run("weak password is a 422", func(t *testing.T) {
		wantValidation(t, confirm(token, "Password123456"), item{"value_error", []any{"body", "new_password"},
			"Value error, Password is too weak according to the current policy."})
		wantValidation(t, confirm(token, "Short1!"), item{"string_too_short", []any{"body", "new_password"},
			"String should have at least 14 characters"})
	})
	// Nothing above consumed the token or touched the sessions.
	wantStatus(t, refresh(t, env, second.RefreshToken), http.StatusOK)

	env.Clock.Advance(time.Minute)
	wantResult(t, confirm(token, otherPassword), http.StatusOK, "Password has been reset successfully.", nil)
	if ss := session(t, env, *reg.UserID, *reg.SessionID); ss.RevokedReason != "password_reset_token" {
		t.Errorf("session reason %q", ss.RevokedReason)
	}
	wantError(t, refresh(t, env, reg.RefreshToken), http.StatusUnauthorized, msgRevoked, false)
	// The token is used up, and so is every other outstanding reset token.
	for _, tok := range []string{token, other} {
		wantError(t, confirm(tok, thirdPassword), http.StatusBadRequest, "Password reset token is invalid or expired.", false)
	}
	wantError(t, login(t, env, "bea@example.com", goodPassword, ""), http.StatusUnauthorized, "Invalid email or password.", true)
	mustLogin(t, env, "bea@example.com", otherPassword, "")
	if u := user(t, env, *reg.UserID); u.PasswordVersion != "v3" {
		t.Errorf("version %q", u.PasswordVersion)
	}
}

func TestConfirmPasswordResetClearsLockout(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	reg := env.Register(t, "cal@example.com", goodPassword, "Cal Co")
	for i := 0; i < 5; i++ {
		login(t, env, "cal@example.com", wrongPassword, "")
	}
	wantError(t, login(t, env, "cal@example.com", goodPassword, ""), http.StatusLocked, "Account is locked.", false)
	wantStatus(t, post(t, env, forgotPath, obj{"email": "cal@example.com"}), http.StatusAccepted)
	tok := lastMail(t, env, "cal@example.com", mail.CategoryPasswordReset).Token
	wantStatus(t, post(t, env, confirmPath, obj{"token": tok, "new_password": otherPassword}), http.StatusOK)
	mustLogin(t, env, "cal@example.com", otherPassword, "")
	if u := user(t, env, *reg.UserID); u.Status != "active" {
		t.Errorf("status %q", u.Status)
	}
}

// --- password change ---

func TestChangePassword(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	reg := env.Register(t, "dan@example.com", goodPassword, "Dan Co")
	second := mustLogin(t, env, "dan@example.com", goodPassword, "")
	wantStatus(t, post(t, env, forgotPath, obj{"email": "dan@example.com"}), http.StatusAccepted)
	resetToken := lastMail(t, env, "dan@example.com", mail.CategoryPasswordReset).Token
	change := func(current, next string) *httptest.ResponseRecorder {
		return post(t, env, changePath, obj{"current_password": current, "new_password": next}, withBearer(second.AccessToken))
	}

	tests := []struct {
		name, current, next string
		status              int
		detail              string
	}{
		{"wrong current password", wrongPassword, otherPassword, http.StatusUnauthorized, "Invalid current password."},
		{"same password", goodPassword, goodPassword, http.StatusBadRequest, "Password was recently used."},
		{"weak password", goodPassword, "Password123456", http.StatusBadRequest, "Password is too weak according to the current policy."},
		{"one category", goodPassword, "abcdefghijklmnop", http.StatusBadRequest,
			"Password must include at least two categories (upper, lower, digit, symbol)."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, change(tt.current, tt.next), tt.status, tt.detail, false)
		})
	}
	t.Run("new password shorter than 14", func(t *testing.T) {
		wantValidation(t, change(goodPassword, "Short1!"), item{"string_too_short", []any{"body", "new_password"},
			"String should have at least 14 characters"})
	})
	wantError(t, post(t, env, changePath, obj{"current_password": goodPassword, "new_password": otherPassword}),
		http.StatusUnauthorized, "Not authenticated", true)
	// A wrong current password does not count toward the lockout.
	mustLogin(t, env, "dan@example.com", goodPassword, "")

	env.Clock.Advance(time.Minute)
	wantResult(t, change(goodPassword, otherPassword), http.StatusOK, "Password updated successfully", nil)
	for _, s := range []string{*reg.SessionID, *second.SessionID} {
		if ss := session(t, env, *reg.UserID, s); ss.RevokedReason != "password_change" {
			t.Errorf("session %s reason %q", s, ss.RevokedReason)
		}
	}
	wantError(t, refresh(t, env, second.RefreshToken), http.StatusUnauthorized, msgRevoked, false)
	wantError(t, post(t, env, confirmPath, obj{"token": resetToken, "new_password": thirdPassword}), http.StatusBadRequest,
		"Password reset token is invalid or expired.", false)
	mustLogin(t, env, "dan@example.com", otherPassword, "")
	// The old password is in the history now.
	env.Clock.Advance(time.Minute)
	wantError(t, change(otherPassword, goodPassword), http.StatusBadRequest, "Password was recently used.", false)
}

// --- admin reset ---

func TestAdminResetPassword(t *testing.T) {
	t.Parallel()
	type people struct {
		owner, admin, member, unverified, foreign servertest.Seeded
	}
	setup := func(t *testing.T) (*servertest.Env, people) {
		env := servertest.New(t)
		var p people
		p.owner = env.SeedUser(t, servertest.UserSeed{Email: "owner@example.com", Password: goodPassword, Verified: true})
		tenant := p.owner.Tenants[0]
		seed := func(email, role string, verified bool) servertest.Seeded {
			return env.SeedUser(t, servertest.UserSeed{Email: email, Password: goodPassword, Verified: verified,
				Members: []servertest.Member{{TenantID: tenant, Role: role}}})
		}
		p.admin = seed("admin@example.com", "admin", true)
		p.member = seed("member@example.com", "member", true)
		p.unverified = seed("unverified@example.com", "admin", false)
		p.foreign = env.SeedUser(t, servertest.UserSeed{Email: "foreign@example.com", Password: goodPassword, Verified: true})
		return env, p
	}
	tests := []struct {
		name   string
		caller func(people) servertest.Seeded
		target func(people) string
		pw     string
		status int
		detail string
	}{
		{"owner resets a member", func(p people) servertest.Seeded { return p.owner }, func(p people) string { return p.member.User.ID },
			otherPassword, http.StatusOK, "Password reset successfully"},
		{"admin resets a member", func(p people) servertest.Seeded { return p.admin }, func(p people) string { return p.member.User.ID },
			otherPassword, http.StatusOK, "Password reset successfully"},
		{"owner resets an admin", func(p people) servertest.Seeded { return p.owner }, func(p people) string { return p.admin.User.ID },
			otherPassword, http.StatusOK, "Password reset successfully"},
		{"admin may not reset the owner", func(p people) servertest.Seeded { return p.admin }, func(p people) string { return p.owner.User.ID },
			otherPassword, http.StatusForbidden, "Insufficient tenant privileges for this operation."},
		{"foreign user", func(p people) servertest.Seeded { return p.owner }, func(p people) string { return p.foreign.User.ID },
			otherPassword, http.StatusNotFound, "User is not a member of the requested tenant."},
		{"unknown user", func(p people) servertest.Seeded { return p.owner }, func(people) string { return uuid.NewString() },
			otherPassword, http.StatusNotFound, "Unknown user."},
		{"member lacks support:read", func(p people) servertest.Seeded { return p.member }, func(p people) string { return p.admin.User.ID },
			otherPassword, http.StatusForbidden, "Insufficient scopes for this operation."},
		{"unverified caller", func(p people) servertest.Seeded { return p.unverified }, func(p people) string { return p.member.User.ID },
			otherPassword, http.StatusForbidden, "Email verification required."},
		{"recently used", func(p people) servertest.Seeded { return p.owner }, func(p people) string { return p.member.User.ID },
			goodPassword, http.StatusBadRequest, "Password was recently used."},
		{"weak password", func(p people) servertest.Seeded { return p.owner }, func(p people) string { return p.member.User.ID },
			"Password123456", http.StatusBadRequest, "Password is too weak according to the current policy."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env, p := setup(t)
			caller := tt.caller(p)
			target := tt.target(p)
			callerLogin := mustLogin(t, env, caller.User.Email, goodPassword, "")
			// The target's session, when the target exists and is not the caller.
			var targetRefresh string
			if u, err := env.Store.Users().ByID(context.Background(), target); err == nil && target != caller.User.ID {
				targetRefresh = mustLogin(t, env, u.Email, goodPassword, "").RefreshToken
			}
			env.Clock.Advance(time.Minute)
			rec := post(t, env, resetPath, obj{"user_id": target, "new_password": tt.pw}, withBearer(callerLogin.AccessToken))
			if tt.status != http.StatusOK {
				wantError(t, rec, tt.status, tt.detail, false)
				if targetRefresh != "" {
					wantStatus(t, refresh(t, env, targetRefresh), http.StatusOK)
				}
				return
			}
			wantResult(t, rec, http.StatusOK, tt.detail, nil)
			wantError(t, refresh(t, env, targetRefresh), http.StatusUnauthorized, msgRevoked, false)
			mustLogin(t, env, user(t, env, target).Email, tt.pw, "")
			// The caller's own session is untouched.
			wantStatus(t, refresh(t, env, callerLogin.RefreshToken), http.StatusOK)
		})
	}
	t.Run("validation", func(t *testing.T) {
		t.Parallel()
		env, p := setup(t)
		tok := mustLogin(t, env, "owner@example.com", goodPassword, "").AccessToken
		rec := post(t, env, resetPath, obj{"user_id": "42", "new_password": otherPassword}, withBearer(tok))
		wantStatus(t, rec, http.StatusUnprocessableEntity)
		wantValidation(t, post(t, env, resetPath, obj{"user_id": p.member.User.ID, "new_password": "Short1!"}, withBearer(tok)),
			item{"string_too_short", []any{"body", "new_password"}, "String should have at least 14 characters"})
	})
	t.Run("token without a tenant", func(t *testing.T) {
		t.Parallel()
		env, p := setup(t)
		claims := env.NewAccessClaims()
		claims.Sub, claims.TenantID, claims.Scope = "user:"+p.owner.User.ID, "", "support:read"
		rec := post(t, env, resetPath, obj{"user_id": p.member.User.ID, "new_password": otherPassword}, withBearer(env.Sign(t, claims)))
		wantError(t, rec, http.StatusBadRequest, "Tenant context is required for password reset.", false)
	})
}
