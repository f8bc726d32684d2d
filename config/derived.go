package config

import (
	"log/slog"
	"slices"
	"strings"
	"time"
)

// safeEnvironments are the ENVIRONMENT values under which the production guard is off
// (DESIGN decision 10).
var safeEnvironments = []string{"development", "dev", "local", "test"}

// Enforced reports whether production enforcement is on: whenever ENVIRONMENT, trimmed and
// lower-cased, is not development, dev, local or test, whatever DEBUG says (DESIGN decision 10,
// auth-and-keys.md §18.6 note 37).
func (s Settings) Enforced() bool {
	return !slices.Contains(safeEnvironments, strings.ToLower(strings.TrimSpace(s.Environment)))
}

// EffectiveAllowedHosts is the trusted Host list (spec: cli-config-ops.md §7.1, auth-and-keys.md
// §1.5): ["*"] in debug; otherwise ALLOWED_HOSTS trimmed and de-duplicated, ["localhost"] when that
// is empty, with testserver and testclient appended in a development environment.
func (s Settings) EffectiveAllowedHosts() []string {
	if s.Debug {
		return []string{"*"}
	}
	hosts := cleanList(s.AllowedHosts)
	if len(hosts) == 0 {
		hosts = []string{"localhost"}
	}
	if !s.Enforced() {
		for _, h := range []string{"testserver", "testclient"} {
			if !slices.Contains(hosts, h) {
				hosts = append(hosts, h)
			}
		}
	}
	return hosts
}

// JWKSMaxAge is the JWKS Cache-Control max-age: AUTH_JWKS_MAX_AGE_SECONDS, or
// AUTH_JWKS_CACHE_SECONDS when that is 0 (spec: auth-and-keys.md §1.1).
func (s Settings) JWKSMaxAge() time.Duration {
	if s.AuthJWKSMaxAge > 0 {
		return s.AuthJWKSMaxAge
	}
	return s.AuthJWKSCacheTTL
}

// SessionEncryptionKey is AUTH_SESSION_ENCRYPTION_KEY, or SECRET_KEY when unset.
func (s Settings) SessionEncryptionKey() Secret {
	return cmpSecret(s.AuthSessionEncryptionKey, s.SecretKey)
}

// SessionIPHashSalt is AUTH_SESSION_IP_HASH_SALT, or SECRET_KEY when unset.
func (s Settings) SessionIPHashSalt() Secret {
	return cmpSecret(s.AuthSessionIPHashSalt, s.SecretKey)
}

// StatusEncryptionKey is STATUS_SUBSCRIPTION_ENCRYPTION_KEY, or SECRET_KEY when unset
// (spec: billing-and-status.md §1, note 32).
func (s Settings) StatusEncryptionKey() Secret {
	return cmpSecret(s.StatusSubscriptionEncryptionKey, s.SecretKey)
}

func cmpSecret(v, fallback Secret) Secret {
	if v != "" {
		return v
	}
	return fallback
}

// DatabaseIsSQLite reports whether DATABASE_URL (or its default) names SQLite.
func (s Settings) DatabaseIsSQLite() bool { return databaseKind(s.DatabaseURL) == "sqlite" }

// SlogLevel is LOG_LEVEL as a slog level (spec: cli-config-ops.md §8.3); the reference's uvicorn
// names trace and critical map to debug and error.
func (s Settings) SlogLevel() slog.Level {
	switch s.LogLevel {
	case "debug", "trace":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error", "critical":
		return slog.LevelError
	}
	return slog.LevelInfo
}
