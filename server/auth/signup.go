package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"regexp"
	"strings"

	"github.com/google/uuid"

	"agentplane/password"
	"agentplane/store"
)

// RegisterInput is the body of POST /auth/register.
type RegisterInput struct {
	Email, Password, TenantName, DisplayName string
}

// RegisterResponse is UserRegisterResponse: the session plus the slug.
type RegisterResponse struct {
	SessionResponse
	TenantSlug string `json:"tenant_slug"`
}

var slugRuns = regexp.MustCompile(`[^a-z0-9]+`)

// slugBase is the reference's slug of a tenant name (spec: auth-and-keys.md §9 step 4).
func slugBase(name string) string {
	s := strings.Trim(slugRuns.ReplaceAllString(strings.ToLower(strings.TrimSpace(name)), "-"), "-")
	if len(s) > 60 {
		s = strings.TrimRight(s[:60], "-")
	}
	if s == "" {
		s = "tenant"
	}
	return s
}

// Register creates a tenant and its owner in one transaction, logs the owner
// in and sends the verification email (spec: auth-and-keys.md §9, §18.4 note 26).
func (s *Service) Register(ctx context.Context, in RegisterInput, c Caller) (RegisterResponse, error) {
	if err := s.hit(ctx, quotaSignup(s.cfg.SignupRateLimitPerHour), orUnknown(c.ip())); err != nil {
		return RegisterResponse{}, err
	}
	if !s.cfg.AllowPublicSignup {
		return RegisterResponse{}, fail(ErrForbidden, "Public signup is disabled.")
	}
	email := strings.ToLower(strings.TrimSpace(in.Email))
	if err := password.Check(in.Password, email); err != nil {
		return RegisterResponse{}, policyError(err)
	}
	slug, err := s.freeSlug(ctx, in.TenantName)
	if err != nil {
		return RegisterResponse{}, err
	}
	hash, version, err := s.d.Hasher.Hash(ctx, in.Password)
	if err != nil {
		return RegisterResponse{}, err
	}
	now := s.now()
	user := store.User{ID: uuid.NewString(), Email: email, PasswordHash: hash, PasswordVersion: version,
		Status: statusActive, CreatedAt: now, UpdatedAt: now}
	tenant := store.Tenant{ID: uuid.NewString(), Slug: slug, Name: strings.TrimSpace(in.TenantName), CreatedAt: now}
	err = s.d.Store.InTx(ctx, func(tx *store.Store) error {
		if err := tx.Tenants().Create(ctx, tenant); err != nil {
			return err
		}
		users := tx.Users()
		if err := users.Create(ctx, user); err != nil {
			return err
		}
		if in.DisplayName != "" {
			if err := users.CreateProfile(ctx, uuid.NewString(), user.ID, in.DisplayName, now); err != nil {
				return err
			}
		}
		if err := tx.Tenants().AddMember(ctx, store.Membership{ID: uuid.NewString(), UserID: user.ID,
			TenantID: tenant.ID, Role: "owner", CreatedAt: now}); err != nil {
			return err
		}
		return users.AddPasswordHistory(ctx, uuid.NewString(), user.ID, hash, version, now)
	})
	if err != nil {
		return RegisterResponse{}, signupConflict(err)
	}
	s.event(ctx, slog.LevelInfo, "signup.completed", slog.String("tenant_id", tenant.ID), slog.String("user_id", user.ID))
	session, err := s.Login(ctx, LoginInput{Email: email, Password: in.Password, TenantID: tenant.ID}, c)
	if err != nil {
		return RegisterResponse{}, err
	}
	if err := s.sendVerification(ctx, user); err != nil {
		s.event(ctx, slog.LevelWarn, "signup.email_verification", slog.String("result", "error"), slog.String("detail", err.Error()))
	}
	return RegisterResponse{SessionResponse: session, TenantSlug: slug}, nil
}

// freeSlug finds an unused slug: the base, then up to 10 suffixed tries.
func (s *Service) freeSlug(ctx context.Context, name string) (string, error) {
	base := slugBase(name)
	candidate := base
	for i := 0; i <= 10; i++ {
		taken, err := s.d.Store.Tenants().SlugTaken(ctx, candidate)
		if err != nil {
			return "", err
		}
		if !taken {
			return candidate, nil
		}
		b := make([]byte, 2)
		_, _ = rand.Read(b)
		candidate = strings.TrimRight(prefix(base, 55), "-") + "-" + hex.EncodeToString(b)
	}
	return "", fail(ErrConflict, "Unable to allocate a unique tenant slug.")
}

func prefix(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// signupConflict names the unique rule a signup hit (§18.4 note 26).
func signupConflict(err error) error {
	var ce *store.ConstraintError
	if !errors.As(err, &ce) {
		return err
	}
	if strings.Contains(ce.Constraint, "email") {
		return fail(ErrConflict, "Email already registered.")
	}
	return fail(ErrConflict, "Tenant slug already exists.")
}

// policyError turns a password policy failure into the 400 of the service
// level (the request models give 422 before this is reached).
func policyError(err error) error {
	var pe *password.PolicyError
	if errors.As(err, &pe) {
		return fail(ErrInvalid, pe.Message)
	}
	return err
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
