package config

import (
	"errors"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	s := mustLoad(t, nil)
	checks := []struct {
		name      string
		got, want any
	}{
		{"APP_NAME", s.AppName, "anything-agents"},
		{"APP_PUBLIC_URL", s.AppPublicURL, "http://localhost:3000"},
		{"ENVIRONMENT", s.Environment, "development"},
		{"HOST", s.Host, "127.0.0.1"},
		{"PORT", s.Port, 8000},
		{"DEBUG", s.Debug, false},
		{"RELOAD", s.Reload, true},
		{"LOG_LEVEL", s.LogLevel, "info"},
		{"ALLOWED_HOSTS", s.AllowedHosts, []string{"localhost", "localhost:8000", "127.0.0.1", "testserver", "testclient"}},
		{"ALLOWED_METHODS", s.AllowedMethods, []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}},
		{"ALLOWED_HEADERS", s.AllowedHeaders, []string{"*"}},
		{"TRUSTED_PROXY_CIDRS", s.TrustedProxyCIDRs, []netip.Prefix{
			netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"),
			netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"),
			netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("fc00::/7"),
		}},
		{"SECRET_KEY", s.SecretKey.Reveal(), "your-secret-key-here-change-in-production"},
		{"ACCESS_TOKEN_EXPIRE_MINUTES", s.AccessTokenTTL, 30 * time.Minute},
		{"OPENAI_API_KEY", s.OpenAIAPIKey, Secret("")},
		{"OPENAI_BASE_URL", s.OpenAIBaseURL, "https://api.openai.com/v1"},
		{"TAVILY_BASE_URL", s.TavilyBaseURL, "https://api.tavily.com"},
		{"DATABASE_URL", s.DatabaseURL, "sqlite:///var/agentplane.db"},
		{"DATABASE_URL set", s.DatabaseURLSet, false},
		{"DATABASE_POOL_RECYCLE", s.DatabasePoolRecycle, 1800 * time.Second},
		{"DATABASE_POOL_TIMEOUT", s.DatabasePoolTimeout, 30 * time.Second},
		{"DATABASE_HEALTH_TIMEOUT", s.DatabaseHealthTimeout, 5 * time.Second},
		{"REDIS_URL", s.RedisURL, ""},
		{"REDIS_URL set", s.RedisURLSet, false},
		{"RATE_LIMIT_KEY_PREFIX", s.RateLimitKeyPrefix, "rate-limit"},
		{"CHAT_RATE_LIMIT_PER_MINUTE", s.ChatRateLimitPerMinute, 60},
		{"AUTH_AUDIENCE", s.AuthAudience, []string{"agent-api", "analytics-service", "billing-worker", "support-console", "synthetic-monitor"}},
		{"AUTH_KEY_STORAGE_BACKEND", s.AuthKeyStorageBackend, "file"},
		{"AUTH_KEY_STORAGE_PATH", s.AuthKeyStoragePath, "var/keys/keyset.json"},
		{"AUTH_JWKS_CACHE_SECONDS", s.AuthJWKSCacheTTL, 300 * time.Second},
		{"AUTH_REFRESH_TOKEN_TTL_MINUTES", s.AuthRefreshTokenTTL, 30 * 24 * time.Hour},
		{"AUTH_LOCKOUT_WINDOW_MINUTES", s.AuthLockoutWindow, time.Hour},
		{"AUTH_IP_LOCKOUT_DURATION_MINUTES", s.AuthIPLockoutDuration, 10 * time.Minute},
		{"REQUIRE_EMAIL_VERIFICATION", s.RequireEmailVerification, true},
		{"SIGNUP_DEFAULT_PLAN_CODE", s.SignupDefaultPlanCode, "starter"},
		{"SIGNUP_DEFAULT_TRIAL_DAYS", s.SignupDefaultTrialDays, 14},
		{"STATUS_SUBSCRIPTION_WEBHOOK_TIMEOUT_SECONDS", s.StatusSubscriptionWebhookTimeout, 5 * time.Second},
		{"STATUS_SUBSCRIPTION_PREVIOUS_ENCRYPTION_KEYS", len(s.StatusSubscriptionPreviousEncryptionKeys), 0},
		{"VAULT_TRANSIT_KEY", s.VaultTransitKey, "auth-service"},
		{"STRIPE_PRODUCT_PRICE_MAP", s.StripeProductPriceMap, map[string]string{}},
		{"STRIPE_API_BASE", s.StripeAPIBase, "https://api.stripe.com"},
		{"STRIPE_DISPATCH_MAX_ATTEMPTS", s.StripeDispatchMaxAttempts, 10},
		{"ENABLE_BILLING_RETRY_WORKER", s.EnableBillingRetryWorker, true},
		{"RESEND_BASE_URL", s.ResendBaseURL, "https://api.resend.com"},
		{"LOGGING_SINK", s.LoggingSink, "stdout"},
		{"LOGGING_DATADOG_SITE", s.LoggingDatadogSite, "datadoghq.com"},
		{"GEOIP_PROVIDER", s.GeoIPProvider, "none"},
		{"METRICS_TOKEN", s.MetricsToken, Secret("")},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

// everySetting gives each variable of spec cli-config-ops.md §7.1–7.5 a valid non-default value
// (with what else it needs to be valid). A variable Load ignores, or a field it fails to fill,
// makes TestEverySettingIsRead fail.
var everySetting = []struct {
	name, value string
	with        map[string]string
}{
	// §7.1
	{name: "APP_NAME", value: "acme"},
	{name: "APP_DESCRIPTION", value: "acme api"},
	{name: "APP_VERSION", value: "2.0.0"},
	{name: "APP_PUBLIC_URL", value: "https://app.example.com/"},
	{name: "DEBUG", value: "true"},
	{name: "ENVIRONMENT", value: "staging"},
	{name: "PORT", value: "9000"},
	{name: "HOST", value: "0.0.0.0"},
	{name: "RELOAD", value: "false"},
	{name: "WORKERS", value: "4"},
	{name: "LOG_LEVEL", value: "DEBUG"},
	{name: "ALLOWED_HOSTS", value: "api.example.com"},
	{name: "ALLOWED_ORIGINS", value: "https://app.example.com"},
	{name: "ALLOWED_METHODS", value: "GET,POST"},
	{name: "ALLOWED_HEADERS", value: "Authorization,Content-Type"},
	{name: "TRUSTED_PROXY_CIDRS", value: "10.1.0.0/16"},
	{name: "SECRET_KEY", value: "s3cret"},
	{name: "JWT_ALGORITHM", value: "HS512"},
	{name: "ACCESS_TOKEN_EXPIRE_MINUTES", value: "15"},
	// §7.2
	{name: "OPENAI_API_KEY", value: "sk-test"},
	{name: "OPENAI_BASE_URL", value: "http://127.0.0.1:11434/v1"},
	{name: "TAVILY_API_KEY", value: "tvly-1"},
	{name: "TAVILY_BASE_URL", value: "http://127.0.0.1:9999"},
	{name: "ANTHROPIC_API_KEY", value: "a"},
	{name: "GEMINI_API_KEY", value: "g"},
	{name: "XAI_API_KEY", value: "x"},
	// §7.3
	{name: "DATABASE_URL", value: "postgresql+asyncpg://u:p@db:5432/app"},
	{name: "DATABASE_POOL_SIZE", value: "7"},
	{name: "DATABASE_MAX_OVERFLOW", value: "3"},
	{name: "DATABASE_POOL_RECYCLE", value: "600"},
	{name: "DATABASE_POOL_TIMEOUT", value: "2.5"},
	{name: "DATABASE_HEALTH_TIMEOUT", value: "0.5"},
	{name: "DATABASE_ECHO", value: "yes"},
	{name: "AUTO_RUN_MIGRATIONS", value: "on"},
	{name: "REDIS_URL", value: "redis://:pw@redis:6379/0"},
	{name: "RATE_LIMIT_KEY_PREFIX", value: "rl"},
	{name: "CHAT_RATE_LIMIT_PER_MINUTE", value: "0"},
	{name: "CHAT_STREAM_RATE_LIMIT_PER_MINUTE", value: "31"},
	{name: "CHAT_STREAM_CONCURRENT_LIMIT", value: "6"},
	{name: "BILLING_STREAM_RATE_LIMIT_PER_MINUTE", value: "21"},
	{name: "BILLING_STREAM_CONCURRENT_LIMIT", value: "4"},
	// §7.4
	{name: "AUTH_AUDIENCE", value: `["agent-api"]`},
	{name: "AUTH_KEY_STORAGE_BACKEND", value: "Secret-Manager", with: map[string]string{
		"VAULT_ADDR": "https://vault.example", "VAULT_TOKEN": "t", "AUTH_KEY_SECRET_NAME": "kv/data/keyset"}},
	{name: "AUTH_KEY_STORAGE_PATH", value: "/etc/agentplane/keyset.json"},
	{name: "AUTH_KEY_SECRET_NAME", value: "kv/data/auth/keyset"},
	{name: "AUTH_JWKS_CACHE_SECONDS", value: "60"},
	{name: "AUTH_JWKS_MAX_AGE_SECONDS", value: "0"},
	{name: "AUTH_JWKS_ETAG_SALT", value: "salt"},
	{name: "AUTH_PASSWORD_PEPPER", value: "pp"},
	{name: "AUTH_REFRESH_TOKEN_PEPPER", value: "rp"},
	{name: "AUTH_REFRESH_TOKEN_TTL_MINUTES", value: "60"},
	{name: "AUTH_SESSION_ENCRYPTION_KEY", value: "sek"},
	{name: "AUTH_SESSION_IP_HASH_SALT", value: "ihs"},
	{name: "AUTH_PASSWORD_HISTORY_COUNT", value: "2"},
	{name: "REQUIRE_EMAIL_VERIFICATION", value: "n"},
	{name: "AUTH_EMAIL_VERIFICATION_TOKEN_PEPPER", value: "evp"},
	{name: "AUTH_PASSWORD_RESET_TOKEN_PEPPER", value: "prp"},
	{name: "PASSWORD_RESET_TOKEN_TTL_MINUTES", value: "10"},
	{name: "PASSWORD_RESET_EMAIL_RATE_LIMIT_PER_HOUR", value: "1"},
	{name: "PASSWORD_RESET_IP_RATE_LIMIT_PER_HOUR", value: "2"},
	{name: "EMAIL_VERIFICATION_TOKEN_TTL_MINUTES", value: "5"},
	{name: "EMAIL_VERIFICATION_EMAIL_RATE_LIMIT_PER_HOUR", value: "4"},
	{name: "EMAIL_VERIFICATION_IP_RATE_LIMIT_PER_HOUR", value: "5"},
	{name: "AUTH_LOCKOUT_THRESHOLD", value: "3"},
	{name: "AUTH_LOCKOUT_WINDOW_MINUTES", value: "1.5"},
	{name: "AUTH_LOCKOUT_DURATION_MINUTES", value: "2.25"},
	{name: "AUTH_IP_LOCKOUT_THRESHOLD", value: "9"},
	{name: "AUTH_IP_LOCKOUT_WINDOW_MINUTES", value: "11"},
	{name: "AUTH_IP_LOCKOUT_DURATION_MINUTES", value: "12"},
	{name: "ALLOW_PUBLIC_SIGNUP", value: "off"},
	{name: "ALLOW_SIGNUP_TRIAL_OVERRIDE", value: "t"},
	{name: "SIGNUP_RATE_LIMIT_PER_HOUR", value: "0"},
	{name: "SIGNUP_DEFAULT_PLAN_CODE", value: "pro"},
	{name: "SIGNUP_DEFAULT_TRIAL_DAYS", value: "0"},
	{name: "TENANT_DEFAULT_SLUG", value: "acme"},
	{name: "RESEND_EMAIL_ENABLED", value: "1"},
	{name: "RESEND_API_KEY", value: "re_1"},
	{name: "RESEND_DEFAULT_FROM", value: "a@example.com"},
	{name: "RESEND_BASE_URL", value: "http://127.0.0.1:1234"},
	{name: "RESEND_EMAIL_VERIFICATION_TEMPLATE_ID", value: "tpl-v"},
	{name: "RESEND_PASSWORD_RESET_TEMPLATE_ID", value: "tpl-r"},
	{name: "STATUS_SUBSCRIPTION_TOKEN_TTL_MINUTES", value: "61"},
	{name: "STATUS_SUBSCRIPTION_EMAIL_RATE_LIMIT_PER_HOUR", value: "6"},
	{name: "STATUS_SUBSCRIPTION_IP_RATE_LIMIT_PER_HOUR", value: "21"},
	{name: "STATUS_SUBSCRIPTION_TOKEN_PEPPER", value: "stp"},
	{name: "STATUS_SUBSCRIPTION_ENCRYPTION_KEY", value: "sek2"},
	{name: "STATUS_SUBSCRIPTION_PREVIOUS_ENCRYPTION_KEYS", value: "old1,old2"},
	{name: "STATUS_SUBSCRIPTION_WEBHOOK_TIMEOUT_SECONDS", value: "9"},
	// §7.5
	{name: "VAULT_ADDR", value: "https://vault.example"},
	{name: "VAULT_TOKEN", value: "hvs.1"},
	{name: "VAULT_TRANSIT_KEY", value: "signer"},
	{name: "VAULT_VERIFY_ENABLED", value: "true"},
	{name: "SERVICE_ACCOUNT_CATALOG_PATH", value: "/etc/agentplane/accounts.yaml"},
	{name: "ENABLE_BILLING", value: "true"},
	{name: "STRIPE_SECRET_KEY", value: "sk_test_1"},
	{name: "STRIPE_WEBHOOK_SECRET", value: "whsec_1"},
	{name: "STRIPE_PRODUCT_PRICE_MAP", value: "starter=price_1"},
	{name: "STRIPE_API_BASE", value: "http://localhost:12111"},
	{name: "ENABLE_BILLING_STREAM", value: "true"},
	{name: "ENABLE_BILLING_RETRY_WORKER", value: "false"},
	{name: "STRIPE_DISPATCH_MAX_ATTEMPTS", value: "3"},
	{name: "ENABLE_BILLING_STREAM_REPLAY", value: "false"},
	{name: "BILLING_RETRY_DEPLOYMENT_MODE", value: "dedicated"},
	{name: "BILLING_EVENTS_REDIS_URL", value: "rediss://:pw@events:6380/1"},
	{name: "LOGGING_SINK", value: "NONE"},
	{name: "LOGGING_DATADOG_API_KEY", value: "dd"},
	{name: "LOGGING_DATADOG_SITE", value: "datadoghq.eu"},
	{name: "LOGGING_OTLP_ENDPOINT", value: "https://collector.example/v1/logs"},
	{name: "LOGGING_OTLP_HEADERS", value: `{"Authorization":"Bearer x"}`},
	{name: "GEOIP_PROVIDER", value: "maxmind"},
	{name: "GEOIP_MAXMIND_LICENSE_KEY", value: "mm"},
	{name: "GEOIP_IP2LOCATION_API_KEY", value: "i2l"},
	{name: "METRICS_TOKEN", value: "metrics-token"},
}

func TestEverySettingIsRead(t *testing.T) {
	t.Parallel()
	var documented []string
	for _, c := range everySetting {
		documented = append(documented, c.name)
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			base := map[string]string{}
			for k, v := range c.with {
				base[k] = v
			}
			before := mustLoad(t, base)
			base[c.name] = c.value
			after := mustLoad(t, base)
			if reflect.DeepEqual(before, after) {
				t.Errorf("%s=%q changed no field", c.name, c.value)
			}
		})
	}
	names := Names()
	for _, n := range names {
		if !slices.Contains(documented, n) {
			t.Errorf("Load reads %s, which the test does not cover", n)
		}
	}
	for _, n := range documented {
		if !slices.Contains(names, n) {
			t.Errorf("Load does not read %s", n)
		}
	}
}

func TestLoadConversions(t *testing.T) {
	t.Parallel()
	s := mustLoad(t, map[string]string{
		"APP_PUBLIC_URL":                               " https://app.example.com/ ",
		"LOG_LEVEL":                                    "WARNING",
		"AUTH_KEY_STORAGE_BACKEND":                     " FILE ",
		"ALLOWED_ORIGINS":                              " https://a.example , https://b.example,https://a.example,, ",
		"ALLOWED_METHODS":                              `["GET","PATCH","GET"]`,
		"TRUSTED_PROXY_CIDRS":                          "10.0.0.1, 192.168.1.7/24, ::1",
		"AUTH_AUDIENCE":                                "billing-worker, agent-api ,billing-worker",
		"AUTH_LOCKOUT_WINDOW_MINUTES":                  "1.51",
		"DATABASE_POOL_TIMEOUT":                        "0.25",
		"AUTH_PASSWORD_HISTORY_COUNT":                  "-3",
		"STRIPE_PRODUCT_PRICE_MAP":                     `{"pro": "price_2", "starter": 123}`,
		"STATUS_SUBSCRIPTION_PREVIOUS_ENCRYPTION_KEYS": " k1 , ,k2,k1",
		"LOGGING_OTLP_HEADERS":                         `{"X-Api-Key":"abc"}`,
		"DATABASE_URL":                                 "postgres://u:p@h/db",
	})
	checks := []struct {
		name      string
		got, want any
	}{
		{"APP_PUBLIC_URL", s.AppPublicURL, "https://app.example.com"},
		{"LOG_LEVEL", s.LogLevel, "warning"},
		{"AUTH_KEY_STORAGE_BACKEND", s.AuthKeyStorageBackend, "file"},
		{"ALLOWED_ORIGINS", s.AllowedOrigins, []string{"https://a.example", "https://b.example"}},
		{"ALLOWED_METHODS", s.AllowedMethods, []string{"GET", "PATCH"}},
		{"TRUSTED_PROXY_CIDRS", s.TrustedProxyCIDRs, []netip.Prefix{
			netip.MustParsePrefix("10.0.0.1/32"), netip.MustParsePrefix("192.168.1.0/24"), netip.MustParsePrefix("::1/128")}},
		{"AUTH_AUDIENCE", s.AuthAudience, []string{"billing-worker", "agent-api"}},
		{"AUTH_LOCKOUT_WINDOW_MINUTES", s.AuthLockoutWindow, 90 * time.Second},
		{"DATABASE_POOL_TIMEOUT", s.DatabasePoolTimeout, 250 * time.Millisecond},
		{"AUTH_PASSWORD_HISTORY_COUNT", s.AuthPasswordHistoryCount, 0},
		{"STRIPE_PRODUCT_PRICE_MAP", s.StripeProductPriceMap, map[string]string{"pro": "price_2", "starter": "123"}},
		{"STATUS_SUBSCRIPTION_PREVIOUS_ENCRYPTION_KEYS", s.StatusSubscriptionPreviousEncryptionKeys, []Secret{"k1", "k2"}},
		{"LOGGING_OTLP_HEADERS", s.LoggingOTLPHeaders, map[string]Secret{"X-Api-Key": "abc"}},
		{"DATABASE_URL set", s.DatabaseURLSet, true},
		{"SlogLevel", s.SlogLevel().String(), "WARN"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func TestBooleans(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"1", "true", "TRUE", "yes", "Yes", "on", "ON", "t", "T", "y", "Y"} {
		if s := mustLoad(t, map[string]string{"DEBUG": v}); !s.Debug {
			t.Errorf("DEBUG=%q read as false", v)
		}
	}
	for _, v := range []string{"0", "false", "False", "no", "NO", "off", "f", "n"} {
		if s := mustLoad(t, map[string]string{"ALLOW_PUBLIC_SIGNUP": v}); s.AllowPublicSignup {
			t.Errorf("ALLOW_PUBLIC_SIGNUP=%q read as true", v)
		}
	}
}

func TestEmptyValues(t *testing.T) {
	t.Parallel()
	s := mustLoad(t, map[string]string{
		"PORT": "", "DEBUG": " ", "SECRET_KEY": "", "STRIPE_SECRET_KEY": "", "STRIPE_WEBHOOK_SECRET": "",
		"DATABASE_URL": "", "REDIS_URL": "", "APP_NAME": "", "RATE_LIMIT_KEY_PREFIX": " ",
		"STRIPE_PRODUCT_PRICE_MAP": "", "ALLOWED_HOSTS": "", "ALLOWED_ORIGINS": "", "SIGNUP_DEFAULT_PLAN_CODE": "",
		"ANTHROPIC_API_KEY": "", "LOGGING_OTLP_HEADERS": "",
	})
	checks := []struct {
		name      string
		got, want any
	}{
		{"PORT", s.Port, 8000},
		{"DEBUG", s.Debug, false},
		{"SECRET_KEY", s.SecretKey.Reveal(), defaultSecretKey},
		{"STRIPE_SECRET_KEY", s.StripeSecretKey, Secret("")},
		{"DATABASE_URL", s.DatabaseURL, defaultDatabaseURL},
		{"DATABASE_URL set", s.DatabaseURLSet, false},
		{"REDIS_URL set", s.RedisURLSet, false},
		{"APP_NAME", s.AppName, "anything-agents"},
		{"RATE_LIMIT_KEY_PREFIX", s.RateLimitKeyPrefix, "rate-limit"},
		{"STRIPE_PRODUCT_PRICE_MAP", s.StripeProductPriceMap, map[string]string{}},
		{"ALLOWED_HOSTS", s.AllowedHosts, []string{}},
		{"ALLOWED_ORIGINS", s.AllowedOrigins, []string{}},
		{"SIGNUP_DEFAULT_PLAN_CODE", s.SignupDefaultPlanCode, ""},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func TestMalformedValues(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, value, want string
		with              map[string]string
	}{
		{name: "PORT", value: "80a", want: `PORT: "80a" is not an integer`},
		{name: "PORT", value: "99999999999999999999", want: "PORT: \"99999999999999999999\" is out of range"},
		{name: "DEBUG", value: "maybe", want: `DEBUG: "maybe" is not a boolean; expected true/false`},
		{name: "ACCESS_TOKEN_EXPIRE_MINUTES", value: "1.5", want: `ACCESS_TOKEN_EXPIRE_MINUTES: "1.5" is not an integer (minutes)`},
		{name: "AUTH_JWKS_CACHE_SECONDS", value: "99999999999999", want: "AUTH_JWKS_CACHE_SECONDS: \"99999999999999\" is out of range"},
		{name: "DATABASE_POOL_TIMEOUT", value: "soon", want: `DATABASE_POOL_TIMEOUT: "soon" is not a number (seconds)`},
		{name: "DATABASE_POOL_TIMEOUT", value: "NaN", want: `DATABASE_POOL_TIMEOUT: "NaN" is not a number`},
		{name: "AUTH_LOCKOUT_WINDOW_MINUTES", value: "1e300", want: "AUTH_LOCKOUT_WINDOW_MINUTES: \"1e300\" is out of range"},
		{name: "AUTH_AUDIENCE", value: `["a",`, want: `AUTH_AUDIENCE: "[\"a\"," is not a JSON array of strings`},
		{name: "AUTH_AUDIENCE", value: `[]`, want: "AUTH_AUDIENCE: must list at least one audience"},
		{name: "AUTH_AUDIENCE", value: ` , `, want: "AUTH_AUDIENCE: must list at least one audience"},
		{name: "TRUSTED_PROXY_CIDRS", value: "10.0.0.0/8,nope", want: `TRUSTED_PROXY_CIDRS: "nope" is not a CIDR prefix`},
		{name: "STRIPE_PRODUCT_PRICE_MAP", value: "starter", want: "STRIPE_PRODUCT_PRICE_MAP: Invalid STRIPE_PRODUCT_PRICE_MAP entry. Use key=value or JSON dict."},
		{name: "STRIPE_PRODUCT_PRICE_MAP", value: "starter=", want: "STRIPE_PRODUCT_PRICE_MAP: Stripe product price map entries require non-empty plan codes and price IDs."},
		{name: "STRIPE_PRODUCT_PRICE_MAP", value: `{"starter":""}`, want: "STRIPE_PRODUCT_PRICE_MAP: Stripe product price map entries require non-empty"},
		{name: "STRIPE_PRODUCT_PRICE_MAP", value: `["price_1"]`, want: "STRIPE_PRODUCT_PRICE_MAP: STRIPE_PRODUCT_PRICE_MAP must be a JSON object or comma-delimited list."},
		{name: "LOGGING_OTLP_HEADERS", value: "Authorization: Bearer x", want: "LOGGING_OTLP_HEADERS: is not a JSON object"},
		// Validate
		{name: "PORT", value: "0", want: "PORT: 0 is out of range; expected 1-65535"},
		{name: "PORT", value: "65536", want: "PORT: 65536 is out of range; expected 1-65535"},
		{name: "WORKERS", value: "0", want: "WORKERS: 0 is too small; expected an integer ≥ 1"},
		{name: "LOG_LEVEL", value: "loud", want: `LOG_LEVEL: "loud" is not supported; expected debug, info, warn, warning or error`},
		{name: "LOGGING_SINK", value: "syslog", want: "LOGGING_SINK: Logging sink must be one of stdout, datadog, otlp, or none."},
		{name: "GEOIP_PROVIDER", value: "ipinfo", want: "GEOIP_PROVIDER: GeoIP provider must be one of none, maxmind, ip2location."},
		{name: "AUTH_KEY_STORAGE_BACKEND", value: "s3", want: `AUTH_KEY_STORAGE_BACKEND: "s3" is not supported; expected file or secret-manager`},
		{name: "AUTH_KEY_STORAGE_BACKEND", value: "secret-manager", with: map[string]string{"AUTH_KEY_SECRET_NAME": "kv/x"},
			want: "VAULT_ADDR/VAULT_TOKEN: Vault address/token are required when auth_key_storage_backend=secret-manager."},
		{name: "AUTH_KEY_STORAGE_BACKEND", value: "secret-manager", with: map[string]string{"VAULT_ADDR": "https://v", "VAULT_TOKEN": "t"},
			want: "AUTH_KEY_SECRET_NAME: auth_key_secret_name must be configured for secret-manager backend."},
		{name: "AUTH_JWKS_CACHE_SECONDS", value: "0", want: "AUTH_JWKS_CACHE_SECONDS: must be greater than 0"},
		{name: "AUTH_JWKS_MAX_AGE_SECONDS", value: "-1", want: "AUTH_JWKS_MAX_AGE_SECONDS: must not be negative"},
		{name: "SIGNUP_RATE_LIMIT_PER_HOUR", value: "-1", want: "SIGNUP_RATE_LIMIT_PER_HOUR: -1 is too small; expected an integer ≥ 0"},
		{name: "SIGNUP_DEFAULT_TRIAL_DAYS", value: "-2", want: "SIGNUP_DEFAULT_TRIAL_DAYS: -2 is too small; expected an integer ≥ 0"},
		{name: "DATABASE_POOL_SIZE", value: "0", want: "DATABASE_POOL_SIZE: 0 is too small"},
		{name: "STRIPE_DISPATCH_MAX_ATTEMPTS", value: "0", want: "STRIPE_DISPATCH_MAX_ATTEMPTS: 0 is too small; expected an integer ≥ 1"},
		{name: "AUTH_LOCKOUT_WINDOW_MINUTES", value: "-1", want: "AUTH_LOCKOUT_WINDOW_MINUTES: must not be negative"},
		{name: "STATUS_SUBSCRIPTION_WEBHOOK_TIMEOUT_SECONDS", value: "0", want: "STATUS_SUBSCRIPTION_WEBHOOK_TIMEOUT_SECONDS: must be greater than 0"},
		{name: "OPENAI_BASE_URL", value: "api.openai.com", want: `OPENAI_BASE_URL: "api.openai.com" is not an absolute http(s) URL`},
		{name: "TAVILY_BASE_URL", value: "ftp://x", want: `TAVILY_BASE_URL: "ftp://x" is not an absolute http(s) URL`},
		{name: "STRIPE_API_BASE", value: "://bad", want: `STRIPE_API_BASE: "://bad" is not an absolute http(s) URL`},
		{name: "RESEND_BASE_URL", value: "https://", want: `RESEND_BASE_URL: "https://" is not an absolute http(s) URL`},
		{name: "VAULT_ADDR", value: "vault:8200", want: `VAULT_ADDR: "vault:8200" is not an absolute http(s) URL`},
		{name: "DATABASE_URL", value: "mysql://root:hunter2@db/app", want: `DATABASE_URL: "mysql://root:***@db/app" is not a supported database URL`},
		{name: "REDIS_URL", value: "http://:hunter2@cache:6379", want: `REDIS_URL: "http://:***@cache:6379" is not a Redis URL`},
		{name: "BILLING_EVENTS_REDIS_URL", value: "localhost:6379", want: `BILLING_EVENTS_REDIS_URL: "localhost:6379" is not a Redis URL`},
	}
	for _, c := range cases {
		t.Run(c.name+"="+c.value, func(t *testing.T) {
			t.Parallel()
			m := map[string]string{c.name: c.value}
			for k, v := range c.with {
				m[k] = v
			}
			s, err := Load(env(m))
			if err == nil {
				t.Fatalf("Load accepted %s=%q", c.name, c.value)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error = %q\nwant it to contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error leaks a password: %q", err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("error %v holds no *FieldError", err)
			}
			if !reflect.DeepEqual(s, Settings{}) {
				t.Error("Load returned settings along with an error")
			}
		})
	}
}

func TestAllErrorsReported(t *testing.T) {
	t.Parallel()
	_, err := Load(env(map[string]string{
		"PORT":                      "80a",
		"DEBUG":                     "maybe",
		"AUTH_AUDIENCE":             "[]",
		"LOGGING_SINK":              "syslog",
		"SIGNUP_DEFAULT_TRIAL_DAYS": "-1",
		"STRIPE_PRODUCT_PRICE_MAP":  "x",
	}))
	if err == nil {
		t.Fatal("Load accepted bad settings")
	}
	var names []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *FieldError
		if errors.As(e, &fe) {
			names = append(names, fe.Name)
		}
	}
	// Validate's errors come joined as one element; collect them too.
	msg := err.Error()
	for _, want := range []string{"PORT", "DEBUG", "AUTH_AUDIENCE", "LOGGING_SINK", "SIGNUP_DEFAULT_TRIAL_DAYS", "STRIPE_PRODUCT_PRICE_MAP"} {
		if !strings.Contains(msg, want+": ") {
			t.Errorf("error does not report %s:\n%s", want, msg)
		}
	}
	if len(names) < 4 {
		t.Errorf("found %d field errors (%v), want the parse errors listed separately", len(names), names)
	}
}

func TestEffectiveAllowedHosts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"default development", nil, []string{"localhost", "localhost:8000", "127.0.0.1", "testserver", "testclient"}},
		{"production list kept", map[string]string{"ENVIRONMENT": "production", "ALLOWED_HOSTS": "api.example.com, api.example.com ,www.example.com"},
			[]string{"api.example.com", "www.example.com"}},
		{"development appends test hosts", map[string]string{"ALLOWED_HOSTS": "api.example.com"},
			[]string{"api.example.com", "testserver", "testclient"}},
		{"empty in production", map[string]string{"ENVIRONMENT": "production", "ALLOWED_HOSTS": ""}, []string{"localhost"}},
		{"empty in test", map[string]string{"ENVIRONMENT": "test", "ALLOWED_HOSTS": ""}, []string{"localhost", "testserver", "testclient"}},
		{"debug allows all", map[string]string{"DEBUG": "true", "ALLOWED_HOSTS": "api.example.com"}, []string{"*"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := mustLoad(t, c.env).EffectiveAllowedHosts(); !reflect.DeepEqual(got, c.want) {
				t.Errorf("EffectiveAllowedHosts() = %v, want %v", got, c.want)
			}
		})
	}
}

func TestDerived(t *testing.T) {
	t.Parallel()
	s := mustLoad(t, map[string]string{"SECRET_KEY": "sk", "AUTH_JWKS_MAX_AGE_SECONDS": "0", "AUTH_JWKS_CACHE_SECONDS": "42"})
	if s.SessionEncryptionKey() != "sk" || s.SessionIPHashSalt() != "sk" || s.StatusEncryptionKey() != "sk" {
		t.Error("secrets do not fall back to SECRET_KEY")
	}
	if s.JWKSMaxAge() != 42*time.Second {
		t.Errorf("JWKSMaxAge() = %v, want 42s", s.JWKSMaxAge())
	}
	s = mustLoad(t, map[string]string{"SECRET_KEY": "sk", "AUTH_SESSION_ENCRYPTION_KEY": "e", "AUTH_SESSION_IP_HASH_SALT": "h", "STATUS_SUBSCRIPTION_ENCRYPTION_KEY": "st"})
	if s.SessionEncryptionKey() != "e" || s.SessionIPHashSalt() != "h" || s.StatusEncryptionKey() != "st" {
		t.Error("set secrets are not used")
	}
	if s.JWKSMaxAge() != 300*time.Second {
		t.Errorf("JWKSMaxAge() = %v", s.JWKSMaxAge())
	}
	for url, sqlite := range map[string]bool{
		"sqlite:///var/x.db": true, "sqlite:////abs/x.db": true, "sqlite+aiosqlite:///x.db": true, "file:x.db": true,
		"postgres://h/db": false, "postgresql://h/db": false, "postgresql+asyncpg://u:p@h/db": false,
	} {
		if got := mustLoad(t, map[string]string{"DATABASE_URL": url}).DatabaseIsSQLite(); got != sqlite {
			t.Errorf("DatabaseIsSQLite(%s) = %v", url, got)
		}
	}
}
