package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Load reads every setting of spec cli-config-ops.md §7.1–7.5 through lookup, applies the
// reference's defaults (and DESIGN decision 9's), then runs Validate. Every problem is reported:
// the error joins one *FieldError per bad variable, e.g. `PORT: "80a" is not an integer`; on error
// the returned Settings is the zero value.
//
// Values are trimmed. An empty value counts as unset and takes the default (spec §7: a verbatim
// copy of .env.local.example with `STRIPE_SECRET_KEY=` must start), except where the spec gives an
// empty value a meaning: an empty list setting is an empty list (ALLOWED_HOSTS then means
// ["localhost"], AUTH_AUDIENCE is an error) and an empty SIGNUP_DEFAULT_PLAN_CODE means no plan.
//
// lookup is usually Sources.Lookup's; names are the upper-case variable names.
func Load(lookup func(key string) (string, bool)) (Settings, error) {
	p := &parser{lookup: lookup}
	s := Settings{
		// §7.1
		AppName:           p.str("APP_NAME", "anything-agents"),
		AppDescription:    p.str("APP_DESCRIPTION", "anything-agents FastAPI microservice"),
		AppVersion:        p.str("APP_VERSION", "1.0.0"),
		AppPublicURL:      strings.TrimRight(p.str("APP_PUBLIC_URL", "http://localhost:3000"), "/"),
		Debug:             p.bool("DEBUG", false),
		Environment:       p.str("ENVIRONMENT", "development"),
		Host:              p.str("HOST", "127.0.0.1"),
		Port:              p.int("PORT", 8000),
		Reload:            p.bool("RELOAD", true),
		Workers:           p.int("WORKERS", 1),
		LogLevel:          strings.ToLower(p.str("LOG_LEVEL", "info")),
		AllowedHosts:      p.list("ALLOWED_HOSTS", defaultAllowedHosts),
		AllowedOrigins:    p.list("ALLOWED_ORIGINS", defaultAllowedOrigins),
		AllowedMethods:    p.list("ALLOWED_METHODS", defaultAllowedMethods),
		AllowedHeaders:    p.list("ALLOWED_HEADERS", defaultAllowedHeaders),
		TrustedProxyCIDRs: p.prefixes("TRUSTED_PROXY_CIDRS", defaultTrustedProxyCIDRs),
		SecretKey:         p.secret("SECRET_KEY", defaultSecretKey),
		JWTAlgorithm:      p.str("JWT_ALGORITHM", "HS256"),
		AccessTokenTTL:    p.duration("ACCESS_TOKEN_EXPIRE_MINUTES", 30, time.Minute),

		// §7.2
		OpenAIAPIKey:    p.secret("OPENAI_API_KEY", ""),
		OpenAIBaseURL:   p.str("OPENAI_BASE_URL", defaultOpenAIBaseURL),
		TavilyAPIKey:    p.secret("TAVILY_API_KEY", ""),
		TavilyBaseURL:   p.str("TAVILY_BASE_URL", defaultTavilyBaseURL),
		AnthropicAPIKey: p.secret("ANTHROPIC_API_KEY", ""),
		GeminiAPIKey:    p.secret("GEMINI_API_KEY", ""),
		XAIAPIKey:       p.secret("XAI_API_KEY", ""),

		// §7.3
		DatabaseURL:                     p.str("DATABASE_URL", defaultDatabaseURL),
		DatabaseURLSet:                  p.isSet("DATABASE_URL"),
		DatabasePoolSize:                p.int("DATABASE_POOL_SIZE", 5),
		DatabaseMaxOverflow:             p.int("DATABASE_MAX_OVERFLOW", 10),
		DatabasePoolRecycle:             p.duration("DATABASE_POOL_RECYCLE", 1800, time.Second),
		DatabasePoolTimeout:             p.floatDuration("DATABASE_POOL_TIMEOUT", 30, time.Second),
		DatabaseHealthTimeout:           p.floatDuration("DATABASE_HEALTH_TIMEOUT", 5, time.Second),
		DatabaseEcho:                    p.bool("DATABASE_ECHO", false),
		AutoRunMigrations:               p.bool("AUTO_RUN_MIGRATIONS", false),
		RedisURL:                        p.str("REDIS_URL", ""),
		RedisURLSet:                     p.isSet("REDIS_URL"),
		RateLimitKeyPrefix:              p.str("RATE_LIMIT_KEY_PREFIX", defaultRateLimitKeyPrefix),
		ChatRateLimitPerMinute:          p.int("CHAT_RATE_LIMIT_PER_MINUTE", 60),
		ChatStreamRateLimitPerMinute:    p.int("CHAT_STREAM_RATE_LIMIT_PER_MINUTE", 30),
		ChatStreamConcurrentLimit:       p.int("CHAT_STREAM_CONCURRENT_LIMIT", 5),
		BillingStreamRateLimitPerMinute: p.int("BILLING_STREAM_RATE_LIMIT_PER_MINUTE", 20),
		BillingStreamConcurrentLimit:    p.int("BILLING_STREAM_CONCURRENT_LIMIT", 3),

		// §7.4
		AuthAudience:                             p.audience("AUTH_AUDIENCE"),
		AuthKeyStorageBackend:                    strings.ToLower(p.str("AUTH_KEY_STORAGE_BACKEND", keyStorageFile)),
		AuthKeyStoragePath:                       p.str("AUTH_KEY_STORAGE_PATH", defaultKeyStoragePath),
		AuthKeySecretName:                        p.str("AUTH_KEY_SECRET_NAME", ""),
		AuthJWKSCacheTTL:                         p.duration("AUTH_JWKS_CACHE_SECONDS", 300, time.Second),
		AuthJWKSMaxAge:                           p.duration("AUTH_JWKS_MAX_AGE_SECONDS", 300, time.Second),
		AuthJWKSETagSalt:                         p.secret("AUTH_JWKS_ETAG_SALT", defaultJWKSETagSalt),
		AuthPasswordPepper:                       p.secret("AUTH_PASSWORD_PEPPER", defaultPasswordPepper),
		AuthRefreshPepper:                        p.secret("AUTH_REFRESH_TOKEN_PEPPER", defaultRefreshPepper),
		AuthRefreshTokenTTL:                      p.duration("AUTH_REFRESH_TOKEN_TTL_MINUTES", 43200, time.Minute),
		AuthSessionEncryptionKey:                 p.secret("AUTH_SESSION_ENCRYPTION_KEY", ""),
		AuthSessionIPHashSalt:                    p.secret("AUTH_SESSION_IP_HASH_SALT", ""),
		AuthPasswordHistoryCount:                 max(0, p.int("AUTH_PASSWORD_HISTORY_COUNT", 5)),
		RequireEmailVerification:                 p.bool("REQUIRE_EMAIL_VERIFICATION", true),
		AuthEmailVerificationPepper:              p.secret("AUTH_EMAIL_VERIFICATION_TOKEN_PEPPER", defaultEmailVerifyPepper),
		AuthPasswordResetPepper:                  p.secret("AUTH_PASSWORD_RESET_TOKEN_PEPPER", defaultResetPepper),
		PasswordResetTokenTTL:                    p.duration("PASSWORD_RESET_TOKEN_TTL_MINUTES", 30, time.Minute),
		PasswordResetEmailRateLimitPerHour:       p.int("PASSWORD_RESET_EMAIL_RATE_LIMIT_PER_HOUR", 5),
		PasswordResetIPRateLimitPerHour:          p.int("PASSWORD_RESET_IP_RATE_LIMIT_PER_HOUR", 20),
		EmailVerificationTokenTTL:                p.duration("EMAIL_VERIFICATION_TOKEN_TTL_MINUTES", 60, time.Minute),
		EmailVerificationEmailRateLimitPerHour:   p.int("EMAIL_VERIFICATION_EMAIL_RATE_LIMIT_PER_HOUR", 3),
		EmailVerificationIPRateLimitPerHour:      p.int("EMAIL_VERIFICATION_IP_RATE_LIMIT_PER_HOUR", 10),
		AuthLockoutThreshold:                     p.int("AUTH_LOCKOUT_THRESHOLD", 5),
		AuthLockoutWindow:                        p.floatMinutes("AUTH_LOCKOUT_WINDOW_MINUTES", 60),
		AuthLockoutDuration:                      p.floatMinutes("AUTH_LOCKOUT_DURATION_MINUTES", 60),
		AuthIPLockoutThreshold:                   p.int("AUTH_IP_LOCKOUT_THRESHOLD", 50),
		AuthIPLockoutWindow:                      p.duration("AUTH_IP_LOCKOUT_WINDOW_MINUTES", 10, time.Minute),
		AuthIPLockoutDuration:                    p.duration("AUTH_IP_LOCKOUT_DURATION_MINUTES", 10, time.Minute),
		AllowPublicSignup:                        p.bool("ALLOW_PUBLIC_SIGNUP", true),
		AllowSignupTrialOverride:                 p.bool("ALLOW_SIGNUP_TRIAL_OVERRIDE", false),
		SignupRateLimitPerHour:                   p.int("SIGNUP_RATE_LIMIT_PER_HOUR", 20),
		SignupDefaultPlanCode:                    p.nullableStr("SIGNUP_DEFAULT_PLAN_CODE", defaultSignupPlanCode),
		SignupDefaultTrialDays:                   p.int("SIGNUP_DEFAULT_TRIAL_DAYS", 14),
		TenantDefaultSlug:                        p.str("TENANT_DEFAULT_SLUG", "default"),
		ResendEmailEnabled:                       p.bool("RESEND_EMAIL_ENABLED", false),
		ResendAPIKey:                             p.secret("RESEND_API_KEY", ""),
		ResendDefaultFrom:                        p.str("RESEND_DEFAULT_FROM", ""),
		ResendBaseURL:                            p.str("RESEND_BASE_URL", defaultResendBaseURL),
		ResendEmailVerificationTemplateID:        p.str("RESEND_EMAIL_VERIFICATION_TEMPLATE_ID", ""),
		ResendPasswordResetTemplateID:            p.str("RESEND_PASSWORD_RESET_TEMPLATE_ID", ""),
		StatusSubscriptionTokenTTL:               p.duration("STATUS_SUBSCRIPTION_TOKEN_TTL_MINUTES", 60, time.Minute),
		StatusSubscriptionEmailRateLimitPerHour:  p.int("STATUS_SUBSCRIPTION_EMAIL_RATE_LIMIT_PER_HOUR", 5),
		StatusSubscriptionIPRateLimitPerHour:     p.int("STATUS_SUBSCRIPTION_IP_RATE_LIMIT_PER_HOUR", 20),
		StatusSubscriptionTokenPepper:            p.secret("STATUS_SUBSCRIPTION_TOKEN_PEPPER", defaultStatusTokenPepper),
		StatusSubscriptionEncryptionKey:          p.secret("STATUS_SUBSCRIPTION_ENCRYPTION_KEY", ""),
		StatusSubscriptionPreviousEncryptionKeys: p.secretList("STATUS_SUBSCRIPTION_PREVIOUS_ENCRYPTION_KEYS"),
		StatusSubscriptionWebhookTimeout:         p.duration("STATUS_SUBSCRIPTION_WEBHOOK_TIMEOUT_SECONDS", 5, time.Second),

		// §7.5
		VaultAddr:                  p.str("VAULT_ADDR", ""),
		VaultToken:                 p.secret("VAULT_TOKEN", ""),
		VaultTransitKey:            p.str("VAULT_TRANSIT_KEY", "auth-service"),
		VaultVerifyEnabled:         p.bool("VAULT_VERIFY_ENABLED", false),
		ServiceAccountCatalogPath:  p.str("SERVICE_ACCOUNT_CATALOG_PATH", ""),
		EnableBilling:              p.bool("ENABLE_BILLING", false),
		StripeSecretKey:            p.secret("STRIPE_SECRET_KEY", ""),
		StripeWebhookSecret:        p.secret("STRIPE_WEBHOOK_SECRET", ""),
		StripeProductPriceMap:      p.priceMap("STRIPE_PRODUCT_PRICE_MAP"),
		StripeAPIBase:              p.str("STRIPE_API_BASE", defaultStripeAPIBase),
		EnableBillingStream:        p.bool("ENABLE_BILLING_STREAM", false),
		EnableBillingRetryWorker:   p.bool("ENABLE_BILLING_RETRY_WORKER", true),
		StripeDispatchMaxAttempts:  p.int("STRIPE_DISPATCH_MAX_ATTEMPTS", 10),
		EnableBillingStreamReplay:  p.bool("ENABLE_BILLING_STREAM_REPLAY", true),
		BillingRetryDeploymentMode: p.str("BILLING_RETRY_DEPLOYMENT_MODE", "inline"),
		BillingEventsRedisURL:      p.str("BILLING_EVENTS_REDIS_URL", ""),
		LoggingSink:                strings.ToLower(p.str("LOGGING_SINK", "stdout")),
		LoggingDatadogAPIKey:       p.secret("LOGGING_DATADOG_API_KEY", ""),
		LoggingDatadogSite:         p.str("LOGGING_DATADOG_SITE", "datadoghq.com"),
		LoggingOTLPEndpoint:        p.str("LOGGING_OTLP_ENDPOINT", ""),
		LoggingOTLPHeaders:         p.headers("LOGGING_OTLP_HEADERS"),
		GeoIPProvider:              strings.ToLower(p.str("GEOIP_PROVIDER", "none")),
		GeoIPMaxmindLicenseKey:     p.secret("GEOIP_MAXMIND_LICENSE_KEY", ""),
		GeoIPIP2LocationAPIKey:     p.secret("GEOIP_IP2LOCATION_API_KEY", ""),
		MetricsToken:               p.secret("METRICS_TOKEN", ""),
	}
	if err := errors.Join(append(p.errs, s.Validate())...); err != nil {
		return Settings{}, err
	}
	return s, nil
}

// Names lists every environment variable Load reads, in the order it reads them.
func Names() []string {
	var names []string
	_, _ = Load(func(key string) (string, bool) {
		names = append(names, key)
		return "", false
	})
	return slices.Compact(names)
}

// parser reads variables through lookup and collects one *FieldError per bad value.
type parser struct {
	lookup func(string) (string, bool)
	errs   []error
}

func (p *parser) fail(name, format string, args ...any) {
	p.errs = append(p.errs, &FieldError{Name: name, Problem: fmt.Sprintf(format, args...)})
}

// value returns the trimmed value and whether the variable is defined at all (even empty).
func (p *parser) value(name string) (v string, defined bool) {
	v, defined = p.lookup(name)
	return strings.TrimSpace(v), defined
}

// raw returns the trimmed value, ok = false when it is unset or empty.
func (p *parser) raw(name string) (string, bool) {
	v, _ := p.value(name)
	return v, v != ""
}

func (p *parser) isSet(name string) bool {
	_, ok := p.raw(name)
	return ok
}

func (p *parser) str(name, def string) string {
	if v, ok := p.raw(name); ok {
		return v
	}
	return def
}

// nullableStr is a string whose empty value means "none" rather than the default.
func (p *parser) nullableStr(name, def string) string {
	if v, defined := p.value(name); defined {
		return v
	}
	return def
}

func (p *parser) secret(name, def string) Secret { return Secret(p.str(name, def)) }

func (p *parser) bool(name string, def bool) bool {
	v, ok := p.raw(name)
	if !ok {
		return def
	}
	b, ok := parseBool(v)
	if !ok {
		p.fail(name, "%q is not a boolean; expected true/false, 1/0, yes/no, on/off, t/f or y/n", v)
		return def
	}
	return b
}

// parseBool accepts the reference's spellings (pydantic): 1/0, true/false, yes/no, on/off, t/f, y/n.
func parseBool(v string) (b, ok bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on", "t", "y":
		return true, true
	case "0", "false", "no", "off", "f", "n":
		return false, true
	}
	return false, false
}

func (p *parser) int(name string, def int) int {
	v, ok := p.raw(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			p.fail(name, "%q is out of range for an integer", v)
		} else {
			p.fail(name, "%q is not an integer", v)
		}
		return def
	}
	return n
}

// duration reads a whole number of units (minutes or seconds, as the variable's name says).
func (p *parser) duration(name string, def int64, unit time.Duration) time.Duration {
	v, ok := p.raw(name)
	if !ok {
		return time.Duration(def) * unit
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		p.fail(name, "%q is not an integer (%s)", v, unitName(unit))
		return time.Duration(def) * unit
	}
	if n > math.MaxInt64/int64(unit) || n < math.MinInt64/int64(unit) {
		p.fail(name, "%q is out of range", v)
		return time.Duration(def) * unit
	}
	return time.Duration(n) * unit
}

// floatDuration reads a decimal number of units, e.g. DATABASE_POOL_TIMEOUT=2.5 (seconds).
func (p *parser) floatDuration(name string, def float64, unit time.Duration) time.Duration {
	v, ok := p.raw(name)
	if !ok {
		return time.Duration(def * float64(unit))
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		p.fail(name, "%q is not a number (%s)", v, unitName(unit))
		return time.Duration(def * float64(unit))
	}
	d := f * float64(unit)
	if d >= math.MaxInt64 || d <= math.MinInt64 {
		p.fail(name, "%q is out of range", v)
		return time.Duration(def * float64(unit))
	}
	return time.Duration(d)
}

// floatMinutes reads decimal minutes kept as whole seconds, as the reference's int(minutes×60)
// (auth-and-keys.md §7.2).
func (p *parser) floatMinutes(name string, def float64) time.Duration {
	return p.floatDuration(name, def, time.Minute).Truncate(time.Second)
}

func unitName(unit time.Duration) string {
	if unit == time.Minute {
		return "minutes"
	}
	return "seconds"
}

// list reads a comma-separated list (a JSON array of strings is accepted too): items trimmed,
// blanks dropped, de-duplicated keeping the first position. An empty value is an empty list.
func (p *parser) list(name, def string) []string {
	v, defined := p.value(name)
	if !defined {
		v = def
	}
	if strings.HasPrefix(v, "[") {
		var items []string
		if json.Unmarshal([]byte(v), &items) == nil {
			return cleanList(items)
		}
	}
	return splitCSV(v)
}

func splitCSV(v string) []string { return cleanList(strings.Split(v, ",")) }

func cleanList(items []string) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		if it = strings.TrimSpace(it); it != "" && !slices.Contains(out, it) {
			out = append(out, it)
		}
	}
	return out
}

// audience reads AUTH_AUDIENCE: a JSON array of strings (the reference's form) or a CSV list.
func (p *parser) audience(name string) []string {
	v, defined := p.value(name)
	if !defined {
		v = defaultAuthAudience
	}
	var items []string
	if strings.HasPrefix(v, "[") {
		if err := json.Unmarshal([]byte(v), &items); err != nil {
			p.fail(name, "%q is not a JSON array of strings; expected e.g. [\"agent-api\"] or agent-api,billing-worker", v)
			return nil
		}
		items = cleanList(items)
	} else {
		items = splitCSV(v)
	}
	if len(items) == 0 {
		p.fail(name, "must list at least one audience")
	}
	return items
}

// prefixes reads a CSV list of CIDR prefixes; a bare address is its own one-address prefix.
func (p *parser) prefixes(name, def string) []netip.Prefix {
	items := p.list(name, def)
	out := make([]netip.Prefix, 0, len(items))
	for _, it := range items {
		pfx, err := netip.ParsePrefix(it)
		if err != nil {
			addr, aerr := netip.ParseAddr(it)
			if aerr != nil {
				p.fail(name, "%q is not a CIDR prefix; expected e.g. 10.0.0.0/8 or ::1/128", it)
				continue
			}
			pfx = netip.PrefixFrom(addr, addr.BitLen())
		}
		if pfx = pfx.Masked(); !slices.Contains(out, pfx) {
			out = append(out, pfx)
		}
	}
	return out
}

// secretList reads a CSV list of secrets; values are never quoted in errors.
func (p *parser) secretList(name string) []Secret {
	v, _ := p.value(name)
	var out []Secret
	for _, it := range splitCSV(v) {
		out = append(out, Secret(it))
	}
	return out
}

// priceMap reads STRIPE_PRODUCT_PRICE_MAP (spec: billing-and-status.md §1.1): blank or {} → empty;
// a JSON object; else a comma list of code=price or code:price entries.
func (p *parser) priceMap(name string) map[string]string {
	out := map[string]string{}
	v, ok := p.raw(name)
	if !ok {
		return out
	}
	if json.Valid([]byte(v)) {
		dec := json.NewDecoder(strings.NewReader(v))
		dec.UseNumber() // a numeric price id keeps its digits
		var obj map[string]any
		if dec.Decode(&obj) != nil || obj == nil {
			p.fail(name, "STRIPE_PRODUCT_PRICE_MAP must be a JSON object or comma-delimited list.")
			return map[string]string{}
		}
		for code, price := range obj {
			var ps string
			switch pv := price.(type) {
			case string:
				ps = pv
			case json.Number:
				ps = pv.String()
			}
			if !p.addPlan(name, out, code, ps) {
				return map[string]string{}
			}
		}
		return out
	}
	for _, entry := range splitCSV(v) {
		code, price, found := strings.Cut(entry, "=")
		if !found {
			code, price, found = strings.Cut(entry, ":")
		}
		if !found {
			p.fail(name, "Invalid STRIPE_PRODUCT_PRICE_MAP entry. Use key=value or JSON dict.")
			return map[string]string{}
		}
		if !p.addPlan(name, out, code, price) {
			return map[string]string{}
		}
	}
	return out
}

func (p *parser) addPlan(name string, m map[string]string, code, price string) bool {
	code, price = strings.TrimSpace(code), strings.TrimSpace(price)
	if code == "" || price == "" {
		p.fail(name, "Stripe product price map entries require non-empty plan codes and price IDs.")
		return false
	}
	m[code] = price
	return true
}

// headers reads a JSON object of header names to values (LOGGING_OTLP_HEADERS); the values may
// carry credentials, so they are Secrets and never quoted in errors.
func (p *parser) headers(name string) map[string]Secret {
	v, ok := p.raw(name)
	if !ok {
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		p.fail(name, "is not a JSON object of header names to string values")
		return nil
	}
	out := make(map[string]Secret, len(m))
	for k, val := range m {
		out[k] = Secret(val)
	}
	return out
}
