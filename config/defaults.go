package config

// The reference's defaults (spec: cli-config-ops.md §7), except those DESIGN decision 9 changes.
const (
	defaultSecretKey          = "your-secret-key-here-change-in-production"
	defaultPasswordPepper     = "local-dev-password-pepper"
	defaultRefreshPepper      = "local-dev-refresh-pepper"
	defaultEmailVerifyPepper  = "local-email-verify-pepper"
	defaultResetPepper        = "local-reset-token-pepper"
	defaultJWKSETagSalt       = "local-jwks-salt"
	defaultStatusTokenPepper  = "status-subscription-token-pepper"
	defaultKeyStoragePath     = "var/keys/keyset.json"
	defaultDatabaseURL        = "sqlite:///var/agentplane.db"
	defaultAllowedHosts       = "localhost,localhost:8000,127.0.0.1,testserver,testclient"
	defaultAllowedOrigins     = "http://localhost:3000,http://localhost:8000"
	defaultAllowedMethods     = "GET,POST,PUT,PATCH,DELETE,OPTIONS"
	defaultAllowedHeaders     = "*"
	defaultTrustedProxyCIDRs  = "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"
	defaultAuthAudience       = `["agent-api","analytics-service","billing-worker","support-console","synthetic-monitor"]`
	defaultOpenAIBaseURL      = "https://api.openai.com/v1"
	defaultTavilyBaseURL      = "https://api.tavily.com"
	defaultResendBaseURL      = "https://api.resend.com"
	defaultStripeAPIBase      = "https://api.stripe.com"
	keyStorageFile            = "file"
	keyStorageSecretManager   = "secret-manager"
	defaultSignupPlanCode     = "starter"
	defaultRateLimitKeyPrefix = "rate-limit"
)

// DefaultDatabaseURL is the database used when DATABASE_URL is unset: a SQLite file under var/
// (DESIGN decision 3).
const DefaultDatabaseURL = defaultDatabaseURL

// DevSecretsPath is where EnsureDevSecrets keeps the generated development secrets by default,
// relative to the working directory (DESIGN.md "Runtime defaults").
const DevSecretsPath = "var/dev-secrets.env"
