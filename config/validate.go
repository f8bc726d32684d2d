package config

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"
)

// Validate checks the rules that span or bound settings (spec: cli-config-ops.md §7, auth-and-keys.md
// §1 and §5.3) and returns one joined error with a *FieldError per problem, or nil. Load calls it.
// The production guard (Guard) and the billing startup check (BillingStartupError) are separate:
// they decide whether serve may start, not whether the settings make sense.
func (s Settings) Validate() error {
	var errs []error
	fail := func(name, format string, args ...any) {
		errs = append(errs, &FieldError{Name: name, Problem: fmt.Sprintf(format, args...)})
	}
	atLeast := func(name string, v, lo int) {
		if v < lo {
			fail(name, "%d is too small; expected an integer ≥ %d", v, lo)
		}
	}
	positive := func(name string, d time.Duration) {
		if d <= 0 {
			fail(name, "must be greater than 0")
		}
	}
	nonNegative := func(name string, d time.Duration) {
		if d < 0 {
			fail(name, "must not be negative")
		}
	}
	oneOf := func(name, v, message string, allowed ...string) {
		if !slices.Contains(allowed, v) {
			fail(name, "%q is not supported; %s", v, message)
		}
	}

	// §7.1
	if s.Port < 1 || s.Port > 65535 {
		fail("PORT", "%d is out of range; expected 1-65535", s.Port)
	}
	atLeast("WORKERS", s.Workers, 1)
	oneOf("LOG_LEVEL", s.LogLevel, "expected debug, info, warn, warning or error",
		"debug", "info", "warn", "warning", "error", "trace", "critical")
	positive("ACCESS_TOKEN_EXPIRE_MINUTES", s.AccessTokenTTL)

	// §7.2 and the other outside services' bases (DESIGN decision 2)
	for _, u := range []struct{ name, value string }{
		{"OPENAI_BASE_URL", s.OpenAIBaseURL},
		{"TAVILY_BASE_URL", s.TavilyBaseURL},
		{"RESEND_BASE_URL", s.ResendBaseURL},
		{"STRIPE_API_BASE", s.StripeAPIBase},
		{"VAULT_ADDR", s.VaultAddr},
	} {
		if u.value != "" && !isHTTPURL(u.value) {
			fail(u.name, "%q is not an absolute http(s) URL; expected e.g. https://host[:port][/path]", RedactURL(u.value))
		}
	}

	// §7.3
	if databaseKind(s.DatabaseURL) == "" {
		fail("DATABASE_URL", "%q is not a supported database URL; expected postgres://…, postgresql://…, "+
			"sqlite:///relative/path.db, sqlite:////absolute/path.db or file:…", RedactURL(s.DatabaseURL))
	}
	atLeast("DATABASE_POOL_SIZE", s.DatabasePoolSize, 1)
	atLeast("DATABASE_MAX_OVERFLOW", s.DatabaseMaxOverflow, 0)
	positive("DATABASE_POOL_TIMEOUT", s.DatabasePoolTimeout)
	positive("DATABASE_HEALTH_TIMEOUT", s.DatabaseHealthTimeout)
	for _, u := range []struct{ name, value string }{
		{"REDIS_URL", s.RedisURL},
		{"BILLING_EVENTS_REDIS_URL", s.BillingEventsRedisURL},
	} {
		if u.value != "" && !isRedisURL(u.value) {
			fail(u.name, "%q is not a Redis URL; expected redis://…, rediss://… or unix://…", RedactURL(u.value))
		}
	}

	// §7.4
	oneOf("AUTH_KEY_STORAGE_BACKEND", s.AuthKeyStorageBackend, "expected file or secret-manager",
		keyStorageFile, keyStorageSecretManager)
	if s.AuthKeyStorageBackend == keyStorageSecretManager {
		// spec: auth-and-keys.md §5.3 (the reference's messages)
		if s.VaultAddr == "" || s.VaultToken == "" {
			fail("VAULT_ADDR/VAULT_TOKEN", "Vault address/token are required when auth_key_storage_backend=secret-manager.")
		}
		if s.AuthKeySecretName == "" {
			fail("AUTH_KEY_SECRET_NAME", "auth_key_secret_name must be configured for secret-manager backend.")
		}
	}
	if s.AuthKeyStorageBackend == keyStorageFile && s.AuthKeyStoragePath == "" {
		fail("AUTH_KEY_STORAGE_PATH", "must not be empty with the file backend")
	}
	positive("AUTH_JWKS_CACHE_SECONDS", s.AuthJWKSCacheTTL)
	nonNegative("AUTH_JWKS_MAX_AGE_SECONDS", s.AuthJWKSMaxAge)
	positive("AUTH_REFRESH_TOKEN_TTL_MINUTES", s.AuthRefreshTokenTTL)
	nonNegative("PASSWORD_RESET_TOKEN_TTL_MINUTES", s.PasswordResetTokenTTL)
	nonNegative("EMAIL_VERIFICATION_TOKEN_TTL_MINUTES", s.EmailVerificationTokenTTL)
	atLeast("AUTH_LOCKOUT_THRESHOLD", s.AuthLockoutThreshold, 0)
	nonNegative("AUTH_LOCKOUT_WINDOW_MINUTES", s.AuthLockoutWindow)
	nonNegative("AUTH_LOCKOUT_DURATION_MINUTES", s.AuthLockoutDuration)
	atLeast("AUTH_IP_LOCKOUT_THRESHOLD", s.AuthIPLockoutThreshold, 0)
	nonNegative("AUTH_IP_LOCKOUT_WINDOW_MINUTES", s.AuthIPLockoutWindow)
	nonNegative("AUTH_IP_LOCKOUT_DURATION_MINUTES", s.AuthIPLockoutDuration)
	atLeast("SIGNUP_RATE_LIMIT_PER_HOUR", s.SignupRateLimitPerHour, 0)
	atLeast("SIGNUP_DEFAULT_TRIAL_DAYS", s.SignupDefaultTrialDays, 0)
	positive("STATUS_SUBSCRIPTION_TOKEN_TTL_MINUTES", s.StatusSubscriptionTokenTTL)
	positive("STATUS_SUBSCRIPTION_WEBHOOK_TIMEOUT_SECONDS", s.StatusSubscriptionWebhookTimeout)

	// §7.5
	atLeast("STRIPE_DISPATCH_MAX_ATTEMPTS", s.StripeDispatchMaxAttempts, 1)
	if !slices.Contains([]string{"stdout", "datadog", "otlp", "none"}, s.LoggingSink) {
		fail("LOGGING_SINK", "Logging sink must be one of stdout, datadog, otlp, or none.")
	}
	if !slices.Contains([]string{"none", "maxmind", "ip2location"}, s.GeoIPProvider) {
		fail("GEOIP_PROVIDER", "GeoIP provider must be one of none, maxmind, ip2location.")
	}
	return errors.Join(errs...)
}

func isHTTPURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func isRedisURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "redis", "rediss":
		return u.Host != ""
	case "unix":
		return u.Path != ""
	}
	return false
}
