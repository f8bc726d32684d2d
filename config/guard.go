package config

import (
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// SecretWarnings lists what the production guard objects to (spec: cli-config-ops.md §7.7,
// auth-and-keys.md §17), in the reference's order: SECRET_KEY, AUTH_PASSWORD_PEPPER,
// AUTH_REFRESH_TOKEN_PEPPER at a starter value, the default keyset path, Resend without key or
// sender; then the Go additions of auth-and-keys.md §18.6 note 37 (email-verification and
// password-reset peppers, JWKS ETag salt, status-subscription pepper); then, only when Enforced,
// DEBUG=true, an unset DATABASE_URL, and an unset REDIS_URL with a non-SQLite database
// (DESIGN decision 10). Values are compared trimmed; empty counts as the starter value.
func (s Settings) SecretWarnings() []string {
	var w []string
	starter := func(name string, v Secret, starterValues ...string) {
		if val := strings.TrimSpace(v.Reveal()); val == "" || slices.Contains(starterValues, val) {
			w = append(w, name+" is using the starter value")
		}
	}
	starter("SECRET_KEY", s.SecretKey, defaultSecretKey, "change-me")
	starter("AUTH_PASSWORD_PEPPER", s.AuthPasswordPepper, defaultPasswordPepper, "change-me-too")
	starter("AUTH_REFRESH_TOKEN_PEPPER", s.AuthRefreshPepper, defaultRefreshPepper, "change-me-again")
	if s.AuthKeyStorageBackend == keyStorageFile &&
		filepath.Clean(strings.TrimSpace(s.AuthKeyStoragePath)) == filepath.Clean(defaultKeyStoragePath) {
		w = append(w, "AUTH_KEY_STORAGE_PATH still points to "+defaultKeyStoragePath)
	}
	if s.ResendEmailEnabled {
		if strings.TrimSpace(s.ResendAPIKey.Reveal()) == "" {
			w = append(w, "RESEND_API_KEY must be configured when RESEND_EMAIL_ENABLED is true")
		}
		if strings.TrimSpace(s.ResendDefaultFrom) == "" {
			w = append(w, "RESEND_DEFAULT_FROM must be configured when RESEND_EMAIL_ENABLED is true")
		}
	}
	starter("AUTH_EMAIL_VERIFICATION_TOKEN_PEPPER", s.AuthEmailVerificationPepper,
		defaultEmailVerifyPepper, "change-me-email")
	starter("AUTH_PASSWORD_RESET_TOKEN_PEPPER", s.AuthPasswordResetPepper, defaultResetPepper, "change-me-reset")
	starter("AUTH_JWKS_ETAG_SALT", s.AuthJWKSETagSalt, defaultJWKSETagSalt)
	starter("STATUS_SUBSCRIPTION_TOKEN_PEPPER", s.StatusSubscriptionTokenPepper, defaultStatusTokenPepper)
	if s.Enforced() {
		if s.Debug {
			w = append(w, "DEBUG must be false outside development environments")
		}
		if !s.DatabaseURLSet {
			w = append(w, "DATABASE_URL must be set outside development environments")
		}
		if !s.RedisURLSet && !s.DatabaseIsSQLite() {
			w = append(w, "REDIS_URL must be set unless DATABASE_URL is SQLite")
		}
	}
	return w
}

// Guard is the startup secret guard (spec: cli-config-ops.md §8.1 step 2). With enforcement on
// and any warning it returns a *GuardError ("Production environment cannot start with default
// secrets. Fix the following: …"); otherwise it returns the warnings for the caller to log once
// with DevWarning.
func (s Settings) Guard() (warnings []string, err error) {
	warnings = s.SecretWarnings()
	if s.Enforced() && len(warnings) > 0 {
		return warnings, &GuardError{Warnings: warnings}
	}
	return warnings, nil
}

// DevWarning is the log message for warnings that did not stop startup:
// "Default development secrets detected (environment=<env>): <warnings joined by "; ">".
func (s Settings) DevWarning(warnings []string) string {
	return "Default development secrets detected (environment=" + s.Environment + "): " +
		strings.Join(warnings, "; ")
}

// BillingProblems lists the Stripe settings that ENABLE_BILLING=true lacks, in the spec's order
// (billing-and-status.md §1.2): STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, STRIPE_PRODUCT_PRICE_MAP.
// It is nil when billing is disabled or complete.
func (s Settings) BillingProblems() []string {
	if !s.EnableBilling {
		return nil
	}
	var missing []string
	if strings.TrimSpace(s.StripeSecretKey.Reveal()) == "" {
		missing = append(missing, "STRIPE_SECRET_KEY")
	}
	if strings.TrimSpace(s.StripeWebhookSecret.Reveal()) == "" {
		missing = append(missing, "STRIPE_WEBHOOK_SECRET")
	}
	if len(s.StripeProductPriceMap) == 0 {
		missing = append(missing, "STRIPE_PRODUCT_PRICE_MAP")
	}
	return missing
}

// BillingStartupError is the startup refusal of cli-config-ops.md §8.1 step 5 as a *BillingError
// ("ENABLE_BILLING=true requires Stripe configuration. Set … (see docs/…)."), or nil when billing
// is disabled or fully configured.
func (s Settings) BillingStartupError() error {
	if missing := s.BillingProblems(); len(missing) > 0 {
		return &BillingError{Missing: missing}
	}
	return nil
}

// StripeSummary is the masked Stripe configuration logged at startup (spec: cli-config-ops.md
// §7.7, billing-and-status.md §1.2): stripe_secret_key, stripe_webhook_secret (masked),
// plans_configured (sorted codes), plan_count, billing_stream_enabled and billing_stream_backend.
func (s Settings) StripeSummary() map[string]any {
	codes := make([]string, 0, len(s.StripeProductPriceMap))
	for code := range s.StripeProductPriceMap {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	backend := "disabled"
	if s.EnableBillingStream {
		switch {
		case s.BillingEventsRedisURL != "":
			backend = "BILLING_EVENTS_REDIS_URL"
		case s.RedisURL != "":
			backend = "REDIS_URL"
		default:
			backend = "<unset>"
		}
	}
	return map[string]any{
		"stripe_secret_key":      MaskSecret(s.StripeSecretKey),
		"stripe_webhook_secret":  MaskSecret(s.StripeWebhookSecret),
		"plans_configured":       codes,
		"plan_count":             len(codes),
		"billing_stream_enabled": s.EnableBillingStream,
		"billing_stream_backend": backend,
	}
}

// MaskSecret shows just enough of a secret to recognise it (spec: cli-config-ops.md §7.7):
// "<missing>" when blank, all "*" up to 4 characters, else the first 2 characters, "*" ×
// max(len−6, 3) and the last 4.
func MaskSecret(v Secret) string {
	r := []rune(strings.TrimSpace(v.Reveal()))
	switch {
	case len(r) == 0:
		return "<missing>"
	case len(r) <= 4:
		return strings.Repeat("*", len(r))
	}
	return string(r[:2]) + strings.Repeat("*", max(len(r)-6, 3)) + string(r[len(r)-4:])
}
