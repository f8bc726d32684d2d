package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"agentplane/mail"
	"agentplane/password"
	"agentplane/store"
)

// One-time token kinds, as their Redis keys name them (spec: §10.1, §11.1).
const (
	kindVerify = "emailverify"
	kindReset  = "pwdreset"
)

// mintToken makes "<32-hex id>.<64-hex secret>" and the stored hash of the
// secret (hex SHA-256 of "<pepper>:<secret>").
func mintToken(pepper string) (token, id, hashed string) {
	id = strings.ReplaceAll(uuid.NewString(), "-", "")
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	secret := hex.EncodeToString(b)
	return id + "." + secret, id, hashSecret(pepper, secret)
}

func hashSecret(pepper, secret string) string {
	sum := sha256.Sum256([]byte(pepper + ":" + secret))
	return hex.EncodeToString(sum[:])
}

// checkToken finds the stored record of token and checks its secret in
// constant time; malformed and invalid are the two client errors.
func (s *Service) checkToken(ctx context.Context, kind, pepper, token string, malformed, invalid error) (store.OneTimeToken, error) {
	id, secret, found := strings.Cut(strings.TrimSpace(token), ".")
	if !found || id == "" || secret == "" {
		return store.OneTimeToken{}, malformed
	}
	rec, err := s.d.State.Token(ctx, kind, id)
	if errors.Is(err, store.ErrNotFound) {
		return rec, invalid
	}
	if err != nil {
		return rec, err
	}
	if subtle.ConstantTimeCompare([]byte(hashSecret(pepper, secret)), []byte(rec.HashedSecret)) != 1 {
		return rec, invalid
	}
	return rec, nil
}

// issueToken stores a new one-time token of the user and returns it.
func (s *Service) issueToken(ctx context.Context, kind, pepper string, u store.User, ttl time.Duration) (string, time.Time, error) {
	token, id, hashed := mintToken(pepper)
	now := s.now()
	expires := now.Add(ttl)
	err := s.d.State.SaveToken(ctx, kind, store.OneTimeToken{
		TokenID: id, UserID: u.ID, Email: u.Email, HashedSecret: hashed, CreatedAt: now, ExpiresAt: expires,
	}, ttl)
	return token, expires, err
}

// sendVerification mints a verification token and mails it (§10.2 step 3).
func (s *Service) sendVerification(ctx context.Context, u store.User) error {
	ttl := max(s.cfg.EmailVerificationTokenTTL, time.Minute)
	token, expires, err := s.issueToken(ctx, kindVerify, s.cfg.AuthEmailVerificationPepper.Reveal(), u, ttl)
	if err != nil {
		return err
	}
	return s.send(ctx, mail.VerificationEmail(s.cfg.AppName, s.cfg.AppPublicURL, u.Email, token, expires))
}

func (s *Service) send(ctx context.Context, m mail.Message) error {
	start := s.now()
	err := s.d.Mail.Send(ctx, m)
	result := "success"
	if err != nil {
		result = "error"
	}
	s.d.Metrics.EmailDeliveryAttempts.WithLabelValues(m.Category, result).Inc()
	s.d.Metrics.EmailDeliveryLatency.WithLabelValues(m.Category, result).Observe(s.now().Sub(start).Seconds())
	return err
}

type emailState struct {
	EmailVerified bool `json:"email_verified"`
}

// SendVerification is POST /auth/email/send (spec: auth-and-keys.md §10.2).
func (s *Service) SendVerification(ctx context.Context, p *Principal, c Caller) (Result, error) {
	if p.EmailVerified != nil && *p.EmailVerified {
		return ok("Email already verified.", emailState{true}), nil
	}
	if err := s.hit(ctx, quotaEmailVerifyUser(s.cfg.EmailVerificationEmailRateLimitPerHour), p.UserID); err != nil {
		return Result{}, err
	}
	if ip := c.ip(); ip != "" {
		if err := s.hit(ctx, quotaEmailVerifyIP(s.cfg.EmailVerificationIPRateLimitPerHour), ip); err != nil {
			return Result{}, err
		}
	}
	u, err := s.d.Store.Users().ByID(ctx, p.UserID)
	if err == nil && u.EmailVerifiedAt == nil {
		if err := s.sendVerification(ctx, u); err != nil {
			s.event(ctx, slog.LevelError, "auth.email_verification_notification", slog.String("result", "error"), slog.String("detail", err.Error()))
			return Result{}, fail(ErrUpstream, "Unable to send verification email. Please try again shortly.")
		}
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Result{}, err
	}
	return ok("Verification email sent.", emailState{false}), nil
}

// VerifyEmail is POST /auth/email/verify (spec: §10.3 with §18.4 notes 23-24).
func (s *Service) VerifyEmail(ctx context.Context, token string) (Result, error) {
	invalid := fail(ErrInvalid, "Verification token is invalid or expired.")
	rec, err := s.checkToken(ctx, kindVerify, s.cfg.AuthEmailVerificationPepper.Reveal(), token,
		fail(ErrInvalid, "Verification token is malformed."), invalid)
	if err != nil {
		return Result{}, err
	}
	u, err := s.d.Store.Users().ByID(ctx, rec.UserID)
	if errors.Is(err, store.ErrNotFound) || err == nil && !strings.EqualFold(u.Email, rec.Email) {
		return Result{}, invalid
	}
	if err != nil {
		return Result{}, err
	}
	err = s.d.Store.InTx(ctx, func(tx *store.Store) error {
		if err := tx.Users().MarkEmailVerified(ctx, u.ID, s.now()); err != nil {
			return err
		}
		_, err := s.revokeAll(ctx, tx, u.ID, "email_verified")
		return err
	})
	if err != nil {
		return Result{}, err
	}
	if _, err := s.d.State.DeleteUserTokens(ctx, kindVerify, u.ID); err != nil {
		return Result{}, err
	}
	s.event(ctx, slog.LevelInfo, "auth.email_verification", slog.String("result", "success"), slog.String("user_id", u.ID))
	return ok("Email verified successfully.", nil), nil
}

// ForgotPassword is POST /auth/password/forgot: the same 202 whether or not
// the account exists, even when delivery fails (§11.2, §18.4 note 22).
func (s *Service) ForgotPassword(ctx context.Context, email string, c Caller) (Result, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if err := s.hit(ctx, quotaResetEmail(s.cfg.PasswordResetEmailRateLimitPerHour), email); err != nil {
		return Result{}, err
	}
	if ip := c.ip(); ip != "" {
		if err := s.hit(ctx, quotaResetIP(s.cfg.PasswordResetIPRateLimitPerHour), ip); err != nil {
			return Result{}, err
		}
	}
	done := ok("If the account exists, password reset instructions have been sent.", nil)
	u, err := s.d.Store.Users().ByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		s.event(ctx, slog.LevelInfo, "auth.password_reset_request", slog.String("result", "ignored"))
		return done, nil
	}
	if err != nil {
		return Result{}, err
	}
	ttl := max(s.cfg.PasswordResetTokenTTL, time.Minute)
	token, expires, err := s.issueToken(ctx, kindReset, s.cfg.AuthPasswordResetPepper.Reveal(), u, ttl)
	if err != nil {
		return Result{}, err
	}
	if err := s.send(ctx, mail.PasswordResetEmail(s.cfg.AppName, s.cfg.AppPublicURL, u.Email, token, expires)); err != nil {
		s.event(ctx, slog.LevelError, "auth.password_reset_notification", slog.String("result", "error"), slog.String("detail", err.Error()))
	}
	return done, nil
}

// ConfirmPasswordReset is POST /auth/password/confirm (§11.3): the token is
// kept when the new password is refused, so the user can retry.
func (s *Service) ConfirmPasswordReset(ctx context.Context, token, newPassword string) (Result, error) {
	invalid := fail(ErrInvalid, "Password reset token is invalid or expired.")
	rec, err := s.checkToken(ctx, kindReset, s.cfg.AuthPasswordResetPepper.Reveal(), token,
		fail(ErrInvalid, "Password reset token is malformed."), invalid)
	if err != nil {
		return Result{}, err
	}
	u, err := s.d.Store.Users().ByID(ctx, rec.UserID)
	if errors.Is(err, store.ErrNotFound) {
		_ = s.d.State.DeleteToken(ctx, kindReset, rec.TokenID, rec.UserID)
		return Result{}, invalid
	}
	if err != nil {
		return Result{}, err
	}
	if err := s.replacePassword(ctx, u, newPassword, "password_reset_token"); err != nil {
		return Result{}, err
	}
	s.event(ctx, slog.LevelInfo, "auth.password_reset", slog.String("result", "success"), slog.String("user_id", u.ID))
	return ok("Password has been reset successfully.", nil), nil
}

// ChangePassword is POST /auth/password/change (§6.4).
func (s *Service) ChangePassword(ctx context.Context, p *Principal, current, newPassword string) (Result, error) {
	u, err := s.d.Store.Users().ByID(ctx, p.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return Result{}, fail(ErrUnauthorized, msgUnknownUser)
	}
	if err != nil {
		return Result{}, err
	}
	good, _, err := s.d.Hasher.VerifyVersion(ctx, current, u.PasswordHash, u.PasswordVersion)
	if err != nil {
		return Result{}, err
	}
	if !good {
		return Result{}, fail(ErrUnauthorized, "Invalid current password.")
	}
	if err := s.replacePassword(ctx, u, newPassword, "password_change"); err != nil {
		return Result{}, err
	}
	s.event(ctx, slog.LevelInfo, "auth.password_change", slog.String("result", "success"), slog.String("user_id", u.ID))
	return ok("Password updated successfully", nil), nil
}

// AdminResetPassword is POST /auth/password/reset: a tenant admin (scope
// support:read) resets a member's password; an admin may not reset an owner
// (§6.4, §18.3 note 19).
func (s *Service) AdminResetPassword(ctx context.Context, p *Principal, userID, newPassword string) (Result, error) {
	if p.TenantID == "" {
		return Result{}, fail(ErrInvalid, "Tenant context is required for password reset.")
	}
	if _, err := uuid.Parse(p.TenantID); err != nil {
		return Result{}, fail(ErrInvalid, "Invalid tenant id.")
	}
	u, err := s.d.Store.Users().ByID(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return Result{}, fail(ErrNotFound, msgUnknownUser)
	}
	if err != nil {
		return Result{}, err
	}
	m, err := s.d.Store.Tenants().Membership(ctx, u.ID, p.TenantID)
	if errors.Is(err, store.ErrNotFound) {
		all, lerr := s.d.Store.Tenants().MembershipsOf(ctx, u.ID)
		if lerr == nil && len(all) == 0 {
			return Result{}, fail(ErrNotFound, msgNoTenant)
		}
		return Result{}, fail(ErrNotFound, msgNotMember)
	}
	if err != nil {
		return Result{}, err
	}
	if strings.EqualFold(m.Role, "owner") && grantedRole(p.Claims, p.Scopes) != "owner" {
		return Result{}, fail(ErrForbidden, msgInsufficientTenant)
	}
	if err := s.replacePassword(ctx, u, newPassword, "password_reset"); err != nil {
		return Result{}, err
	}
	s.event(ctx, slog.LevelInfo, "auth.password_reset", slog.String("result", "success"), slog.String("user_id", u.ID), slog.String("actor", p.UserID))
	return ok("Password reset successfully", nil), nil
}

// replacePassword applies §6.4: history check, policy, new hash, history
// trim, lockout cleared, every session revoked with reason, outstanding
// reset tokens dropped (§18.4 note 23).
func (s *Service) replacePassword(ctx context.Context, u store.User, newPassword, reason string) error {
	if n := s.cfg.AuthPasswordHistoryCount; n > 0 {
		recent, err := s.d.Store.Users().RecentPasswords(ctx, u.ID, n)
		if err != nil {
			return err
		}
		for _, r := range recent {
			if used, _, err := s.d.Hasher.VerifyVersion(ctx, newPassword, r.Hash, r.Version); err != nil {
				return err
			} else if used {
				return fail(ErrInvalid, "Password was recently used.")
			}
		}
	}
	if err := password.Check(newPassword, u.Email); err != nil {
		return policyError(err)
	}
	hash, version, err := s.d.Hasher.Hash(ctx, newPassword)
	if err != nil {
		return err
	}
	err = s.d.Store.InTx(ctx, func(tx *store.Store) error {
		if err := s.storePassword(ctx, tx, u.ID, hash, version); err != nil {
			return err
		}
		_, err := s.revokeAll(ctx, tx, u.ID, reason)
		return err
	})
	if err != nil {
		return err
	}
	if err := s.d.State.ClearUser(ctx, u.ID); err != nil {
		return err
	}
	_, err = s.d.State.DeleteUserTokens(ctx, kindReset, u.ID)
	return err
}
