// Package config loads agentplane's settings: the environment variables of spec cli-config-ops.md §7
// (read through a lookup chained from flags, the process environment and .env files, §2), their
// defaults, validation and the production guard (§7.7, auth-and-keys.md §17 and §18.6 note 37).
// It also generates the development secrets kept under var/ (DESIGN.md "Runtime defaults").
//
// Settings is a plain value: it is built once by Load and passed on; nothing here is global, and
// nothing here ever modifies the process environment.
package config

import (
	"net/netip"
	"time"
)

// Settings holds every backend setting of spec cli-config-ops.md §7.1–7.5, one typed field per
// environment variable (named in each field's comment). Durations keep the unit of their variable
// (…_MINUTES is read in minutes, …_SECONDS in seconds). Secrets, peppers, salts, keys and tokens are
// Secret, so they never print.
type Settings struct {
	// Application, network, security (spec: cli-config-ops.md §7.1).

	AppName        string // APP_NAME: API title and JWT iss
	AppDescription string // APP_DESCRIPTION
	AppVersion     string // APP_VERSION
	AppPublicURL   string // APP_PUBLIC_URL: base of links in emails, trailing "/" stripped
	Debug          bool   // DEBUG: docs UI and any Host header; never disables the guard (DESIGN decision 10)
	Environment    string // ENVIRONMENT, trimmed as given; see Enforced
	Host           string // HOST: bind address
	Port           int    // PORT: 1–65535
	Reload         bool   // RELOAD (reference uvicorn option; accepted, unused)
	Workers        int    // WORKERS (reference uvicorn option; accepted, unused), ≥ 1
	LogLevel       string // LOG_LEVEL, lower-cased: debug, info, warn, warning, error (also trace, critical)
	// AllowedHosts is ALLOWED_HOSTS as listed (trimmed, de-duplicated); use EffectiveAllowedHosts.
	AllowedHosts   []string
	AllowedOrigins []string // ALLOWED_ORIGINS: CORS allow-origins
	AllowedMethods []string // ALLOWED_METHODS: CORS methods (Go default adds PATCH, DESIGN decision 9)
	AllowedHeaders []string // ALLOWED_HEADERS: CORS headers
	// TrustedProxyCIDRs is TRUSTED_PROXY_CIDRS: peers whose X-Forwarded-For is honoured
	// (auth-and-keys.md §18.3 note 20). A bare address is read as a one-address prefix.
	TrustedProxyCIDRs []netip.Prefix
	SecretKey         Secret        // SECRET_KEY: fallback secret for sessions and status subscriptions
	JWTAlgorithm      string        // JWT_ALGORITHM: legacy rows only
	AccessTokenTTL    time.Duration // ACCESS_TOKEN_EXPIRE_MINUTES

	// AI providers and tools (spec: cli-config-ops.md §7.2).

	OpenAIAPIKey    Secret // OPENAI_API_KEY
	OpenAIBaseURL   string // OPENAI_BASE_URL: any OpenAI-compatible server (DESIGN decision 2)
	TavilyAPIKey    Secret // TAVILY_API_KEY: unset → the web-search tool answers "not configured"
	TavilyBaseURL   string // TAVILY_BASE_URL
	AnthropicAPIKey Secret // ANTHROPIC_API_KEY (unused)
	GeminiAPIKey    Secret // GEMINI_API_KEY (unused)
	XAIAPIKey       Secret // XAI_API_KEY (unused)

	// Database, Redis, rate limits (spec: cli-config-ops.md §7.3).

	// DatabaseURL is DATABASE_URL, or sqlite:///var/agentplane.db when unset (DESIGN decision 3).
	// It may hold a password: log it through RedactURL.
	DatabaseURL string
	// DatabaseURLSet records that DATABASE_URL was given; the production guard refuses the
	// implicit SQLite default (DESIGN decision 10).
	DatabaseURLSet      bool
	DatabasePoolSize    int           // DATABASE_POOL_SIZE, ≥ 1
	DatabaseMaxOverflow int           // DATABASE_MAX_OVERFLOW, ≥ 0 (max conns = size + overflow)
	DatabasePoolRecycle time.Duration // DATABASE_POOL_RECYCLE (seconds): max connection lifetime; ≤ 0 = no limit
	DatabasePoolTimeout time.Duration // DATABASE_POOL_TIMEOUT (float seconds): acquire timeout
	// DatabaseHealthTimeout is DATABASE_HEALTH_TIMEOUT (float seconds): the SELECT 1 timeout.
	DatabaseHealthTimeout time.Duration
	DatabaseEcho          bool // DATABASE_ECHO: SQL logging
	AutoRunMigrations     bool // AUTO_RUN_MIGRATIONS (Postgres; SQLite is always migrated)
	// RedisURL is REDIS_URL; empty means the in-process miniredis (DESIGN decision 9). Like the
	// other URLs it may hold a password: log it through RedactURL.
	RedisURL string
	// RedisURLSet records that REDIS_URL was given (same as RedisURL != "").
	RedisURLSet                     bool
	RateLimitKeyPrefix              string // RATE_LIMIT_KEY_PREFIX
	ChatRateLimitPerMinute          int    // CHAT_RATE_LIMIT_PER_MINUTE; ≤ 0 disables
	ChatStreamRateLimitPerMinute    int    // CHAT_STREAM_RATE_LIMIT_PER_MINUTE; ≤ 0 disables
	ChatStreamConcurrentLimit       int    // CHAT_STREAM_CONCURRENT_LIMIT; ≤ 0 disables
	BillingStreamRateLimitPerMinute int    // BILLING_STREAM_RATE_LIMIT_PER_MINUTE; ≤ 0 disables
	BillingStreamConcurrentLimit    int    // BILLING_STREAM_CONCURRENT_LIMIT; ≤ 0 disables

	// Authentication, keys, signup, email (spec: cli-config-ops.md §7.4, auth-and-keys.md §1).

	// AuthAudience is AUTH_AUDIENCE: a JSON array (or CSV), trimmed, de-duplicated, ≥ 1 item.
	AuthAudience          []string
	AuthKeyStorageBackend string        // AUTH_KEY_STORAGE_BACKEND: "file" or "secret-manager"
	AuthKeyStoragePath    string        // AUTH_KEY_STORAGE_PATH: keyset file of the file backend
	AuthKeySecretName     string        // AUTH_KEY_SECRET_NAME: Vault KV path of the secret-manager backend
	AuthJWKSCacheTTL      time.Duration // AUTH_JWKS_CACHE_SECONDS, > 0
	AuthJWKSMaxAge        time.Duration // AUTH_JWKS_MAX_AGE_SECONDS; 0 → AuthJWKSCacheTTL (see JWKSMaxAge)
	AuthJWKSETagSalt      Secret        // AUTH_JWKS_ETAG_SALT
	AuthPasswordPepper    Secret        // AUTH_PASSWORD_PEPPER
	AuthRefreshPepper     Secret        // AUTH_REFRESH_TOKEN_PEPPER
	AuthRefreshTokenTTL   time.Duration // AUTH_REFRESH_TOKEN_TTL_MINUTES
	// AuthSessionEncryptionKey is AUTH_SESSION_ENCRYPTION_KEY; empty → SECRET_KEY (see SessionEncryptionKey).
	AuthSessionEncryptionKey Secret
	// AuthSessionIPHashSalt is AUTH_SESSION_IP_HASH_SALT; empty → SECRET_KEY (see SessionIPHashSalt).
	AuthSessionIPHashSalt       Secret
	AuthPasswordHistoryCount    int    // AUTH_PASSWORD_HISTORY_COUNT (negative → 0)
	RequireEmailVerification    bool   // REQUIRE_EMAIL_VERIFICATION
	AuthEmailVerificationPepper Secret // AUTH_EMAIL_VERIFICATION_TOKEN_PEPPER
	AuthPasswordResetPepper     Secret // AUTH_PASSWORD_RESET_TOKEN_PEPPER
	// PasswordResetTokenTTL is PASSWORD_RESET_TOKEN_TTL_MINUTES (consumers apply the 1-minute minimum).
	PasswordResetTokenTTL              time.Duration
	PasswordResetEmailRateLimitPerHour int // PASSWORD_RESET_EMAIL_RATE_LIMIT_PER_HOUR; ≤ 0 disables
	PasswordResetIPRateLimitPerHour    int // PASSWORD_RESET_IP_RATE_LIMIT_PER_HOUR; ≤ 0 disables
	// EmailVerificationTokenTTL is EMAIL_VERIFICATION_TOKEN_TTL_MINUTES (consumers apply the 60 s minimum).
	EmailVerificationTokenTTL              time.Duration
	EmailVerificationEmailRateLimitPerHour int           // EMAIL_VERIFICATION_EMAIL_RATE_LIMIT_PER_HOUR; ≤ 0 disables
	EmailVerificationIPRateLimitPerHour    int           // EMAIL_VERIFICATION_IP_RATE_LIMIT_PER_HOUR; ≤ 0 disables
	AuthLockoutThreshold                   int           // AUTH_LOCKOUT_THRESHOLD
	AuthLockoutWindow                      time.Duration // AUTH_LOCKOUT_WINDOW_MINUTES (float minutes, whole seconds)
	AuthLockoutDuration                    time.Duration // AUTH_LOCKOUT_DURATION_MINUTES (float minutes, whole seconds)
	AuthIPLockoutThreshold                 int           // AUTH_IP_LOCKOUT_THRESHOLD (consumers apply min 1)
	AuthIPLockoutWindow                    time.Duration // AUTH_IP_LOCKOUT_WINDOW_MINUTES
	AuthIPLockoutDuration                  time.Duration // AUTH_IP_LOCKOUT_DURATION_MINUTES
	AllowPublicSignup                      bool          // ALLOW_PUBLIC_SIGNUP
	AllowSignupTrialOverride               bool          // ALLOW_SIGNUP_TRIAL_OVERRIDE
	SignupRateLimitPerHour                 int           // SIGNUP_RATE_LIMIT_PER_HOUR, ≥ 0; 0 disables
	// SignupDefaultPlanCode is SIGNUP_DEFAULT_PLAN_CODE; set to an empty value it is "" (no plan).
	SignupDefaultPlanCode  string
	SignupDefaultTrialDays int    // SIGNUP_DEFAULT_TRIAL_DAYS, ≥ 0
	TenantDefaultSlug      string // TENANT_DEFAULT_SLUG
	ResendEmailEnabled     bool   // RESEND_EMAIL_ENABLED: send with Resend instead of logging
	ResendAPIKey           Secret // RESEND_API_KEY
	ResendDefaultFrom      string // RESEND_DEFAULT_FROM
	ResendBaseURL          string // RESEND_BASE_URL
	// ResendEmailVerificationTemplateID is RESEND_EMAIL_VERIFICATION_TEMPLATE_ID.
	ResendEmailVerificationTemplateID string
	ResendPasswordResetTemplateID     string        // RESEND_PASSWORD_RESET_TEMPLATE_ID
	StatusSubscriptionTokenTTL        time.Duration // STATUS_SUBSCRIPTION_TOKEN_TTL_MINUTES
	// StatusSubscriptionEmailRateLimitPerHour is STATUS_SUBSCRIPTION_EMAIL_RATE_LIMIT_PER_HOUR; ≤ 0 disables.
	StatusSubscriptionEmailRateLimitPerHour int
	// StatusSubscriptionIPRateLimitPerHour is STATUS_SUBSCRIPTION_IP_RATE_LIMIT_PER_HOUR; ≤ 0 disables.
	StatusSubscriptionIPRateLimitPerHour int
	StatusSubscriptionTokenPepper        Secret // STATUS_SUBSCRIPTION_TOKEN_PEPPER
	// StatusSubscriptionEncryptionKey is STATUS_SUBSCRIPTION_ENCRYPTION_KEY; empty → SECRET_KEY
	// (see StatusEncryptionKey).
	StatusSubscriptionEncryptionKey Secret
	// StatusSubscriptionPreviousEncryptionKeys is STATUS_SUBSCRIPTION_PREVIOUS_ENCRYPTION_KEYS (CSV):
	// former encryption secrets, decrypt only (billing-and-status.md note 32, DESIGN decision 11).
	StatusSubscriptionPreviousEncryptionKeys []Secret
	// StatusSubscriptionWebhookTimeout is STATUS_SUBSCRIPTION_WEBHOOK_TIMEOUT_SECONDS.
	StatusSubscriptionWebhookTimeout time.Duration

	// Vault, billing, observability (spec: cli-config-ops.md §7.5, billing-and-status.md §1).

	VaultAddr          string // VAULT_ADDR
	VaultToken         Secret // VAULT_TOKEN
	VaultTransitKey    string // VAULT_TRANSIT_KEY
	VaultVerifyEnabled bool   // VAULT_VERIFY_ENABLED
	// ServiceAccountCatalogPath is SERVICE_ACCOUNT_CATALOG_PATH (new): a YAML
	// catalog replacing the built-in four accounts (auth-and-keys.md §13.1).
	ServiceAccountCatalogPath string
	EnableBilling             bool   // ENABLE_BILLING; its Stripe requirement is BillingStartupError
	StripeSecretKey           Secret // STRIPE_SECRET_KEY
	StripeWebhookSecret       Secret // STRIPE_WEBHOOK_SECRET
	// StripeProductPriceMap is STRIPE_PRODUCT_PRICE_MAP: plan code → Stripe price id, from a JSON
	// object or "code=price,code:price" (billing-and-status.md §1.1). Never nil.
	StripeProductPriceMap      map[string]string
	StripeAPIBase              string // STRIPE_API_BASE (DESIGN decision 2)
	EnableBillingStream        bool   // ENABLE_BILLING_STREAM
	EnableBillingRetryWorker   bool   // ENABLE_BILLING_RETRY_WORKER
	StripeDispatchMaxAttempts  int    // STRIPE_DISPATCH_MAX_ATTEMPTS, ≥ 1 (billing-and-status.md note 14)
	EnableBillingStreamReplay  bool   // ENABLE_BILLING_STREAM_REPLAY
	BillingRetryDeploymentMode string // BILLING_RETRY_DEPLOYMENT_MODE (informational)
	// BillingEventsRedisURL is BILLING_EVENTS_REDIS_URL; empty → RedisURL (then the miniredis).
	BillingEventsRedisURL string
	LoggingSink           string // LOGGING_SINK, lower-cased: stdout, datadog, otlp, none
	LoggingDatadogAPIKey  Secret // LOGGING_DATADOG_API_KEY (not implemented)
	LoggingDatadogSite    string // LOGGING_DATADOG_SITE (not implemented)
	LoggingOTLPEndpoint   string // LOGGING_OTLP_ENDPOINT (not implemented)
	// LoggingOTLPHeaders is LOGGING_OTLP_HEADERS, a JSON object (not implemented).
	LoggingOTLPHeaders     map[string]Secret
	GeoIPProvider          string // GEOIP_PROVIDER, lower-cased: none, maxmind, ip2location (not implemented)
	GeoIPMaxmindLicenseKey Secret // GEOIP_MAXMIND_LICENSE_KEY (not implemented)
	GeoIPIP2LocationAPIKey Secret // GEOIP_IP2LOCATION_API_KEY (not implemented)
	// MetricsToken is METRICS_TOKEN: empty → /metrics open; set → Bearer token required
	// (DESIGN decision 11).
	MetricsToken Secret
}
