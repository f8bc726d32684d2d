package config

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// production is a complete production configuration: the guard passes it.
func production() map[string]string {
	return map[string]string{
		"ENVIRONMENT":                          "production",
		"SECRET_KEY":                           "k1",
		"AUTH_PASSWORD_PEPPER":                 "k2",
		"AUTH_REFRESH_TOKEN_PEPPER":            "k3",
		"AUTH_EMAIL_VERIFICATION_TOKEN_PEPPER": "k4",
		"AUTH_PASSWORD_RESET_TOKEN_PEPPER":     "k5",
		"AUTH_JWKS_ETAG_SALT":                  "k6",
		"STATUS_SUBSCRIPTION_TOKEN_PEPPER":     "k7",
		"AUTH_KEY_STORAGE_PATH":                "/srv/keys/keyset.json",
		"DATABASE_URL":                         "postgres://app:pw@db/app",
		"REDIS_URL":                            "redis://redis:6379/0",
	}
}

func with(m map[string]string, kv ...string) map[string]string {
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestEnforced(t *testing.T) {
	t.Parallel()
	cases := map[string]bool{
		"": false, "development": false, "Development": false, " dev ": false, "LOCAL": false, "test": false,
		"production": true, "staging": true, "prod": true, "qa": true,
	}
	for envName, want := range cases {
		m := map[string]string{"ENVIRONMENT": envName}
		if got := mustLoad(t, m).Enforced(); got != want {
			t.Errorf("ENVIRONMENT=%q: Enforced() = %v, want %v", envName, got, want)
		}
		m["DEBUG"] = "true" // DEBUG never switches enforcement off (DESIGN decision 10)
		if got := mustLoad(t, m).Enforced(); got != want {
			t.Errorf("ENVIRONMENT=%q DEBUG=true: Enforced() = %v, want %v", envName, got, want)
		}
	}
}

func TestSecretWarnings(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"complete production", production(), nil},
		{"SECRET_KEY change-me", with(production(), "SECRET_KEY", "change-me"), []string{"SECRET_KEY is using the starter value"}},
		{"SECRET_KEY starter", with(production(), "SECRET_KEY", " your-secret-key-here-change-in-production "), []string{"SECRET_KEY is using the starter value"}},
		{"SECRET_KEY empty", with(production(), "SECRET_KEY", ""), []string{"SECRET_KEY is using the starter value"}},
		{"password pepper", with(production(), "AUTH_PASSWORD_PEPPER", "change-me-too"), []string{"AUTH_PASSWORD_PEPPER is using the starter value"}},
		{"refresh pepper", with(production(), "AUTH_REFRESH_TOKEN_PEPPER", "local-dev-refresh-pepper"), []string{"AUTH_REFRESH_TOKEN_PEPPER is using the starter value"}},
		{"key path", with(production(), "AUTH_KEY_STORAGE_PATH", "./var/keys/keyset.json"), []string{"AUTH_KEY_STORAGE_PATH still points to var/keys/keyset.json"}},
		{"key path ignored for vault", with(production(), "AUTH_KEY_STORAGE_PATH", "", "AUTH_KEY_STORAGE_BACKEND", "secret-manager",
			"VAULT_ADDR", "https://vault", "VAULT_TOKEN", "t", "AUTH_KEY_SECRET_NAME", "kv/k"), nil},
		{"resend incomplete", with(production(), "RESEND_EMAIL_ENABLED", "true"), []string{
			"RESEND_API_KEY must be configured when RESEND_EMAIL_ENABLED is true",
			"RESEND_DEFAULT_FROM must be configured when RESEND_EMAIL_ENABLED is true"}},
		{"email pepper", with(production(), "AUTH_EMAIL_VERIFICATION_TOKEN_PEPPER", "change-me-email"), []string{"AUTH_EMAIL_VERIFICATION_TOKEN_PEPPER is using the starter value"}},
		{"reset pepper", with(production(), "AUTH_PASSWORD_RESET_TOKEN_PEPPER", "local-reset-token-pepper"), []string{"AUTH_PASSWORD_RESET_TOKEN_PEPPER is using the starter value"}},
		{"jwks salt", with(production(), "AUTH_JWKS_ETAG_SALT", "local-jwks-salt"), []string{"AUTH_JWKS_ETAG_SALT is using the starter value"}},
		{"status pepper", with(production(), "STATUS_SUBSCRIPTION_TOKEN_PEPPER", "status-subscription-token-pepper"), []string{"STATUS_SUBSCRIPTION_TOKEN_PEPPER is using the starter value"}},
		{"debug in production", with(production(), "DEBUG", "true"), []string{"DEBUG must be false outside development environments"}},
		{"database unset", with(production(), "DATABASE_URL", ""), []string{"DATABASE_URL must be set outside development environments"}},
		{"explicit sqlite without redis", with(production(), "DATABASE_URL", "sqlite:////data/app.db", "REDIS_URL", ""), nil},
		{"postgres without redis", with(production(), "REDIS_URL", ""), []string{"REDIS_URL must be set unless DATABASE_URL is SQLite"}},
		{"development: no deployment rules", with(production(), "ENVIRONMENT", "development", "DEBUG", "true", "DATABASE_URL", "", "REDIS_URL", ""), nil},
		{"everything default, in order", map[string]string{"ENVIRONMENT": "production", "DEBUG": "1", "RESEND_EMAIL_ENABLED": "yes"}, []string{
			"SECRET_KEY is using the starter value",
			"AUTH_PASSWORD_PEPPER is using the starter value",
			"AUTH_REFRESH_TOKEN_PEPPER is using the starter value",
			"AUTH_KEY_STORAGE_PATH still points to var/keys/keyset.json",
			"RESEND_API_KEY must be configured when RESEND_EMAIL_ENABLED is true",
			"RESEND_DEFAULT_FROM must be configured when RESEND_EMAIL_ENABLED is true",
			"AUTH_EMAIL_VERIFICATION_TOKEN_PEPPER is using the starter value",
			"AUTH_PASSWORD_RESET_TOKEN_PEPPER is using the starter value",
			"AUTH_JWKS_ETAG_SALT is using the starter value",
			"STATUS_SUBSCRIPTION_TOKEN_PEPPER is using the starter value",
			"DEBUG must be false outside development environments",
			"DATABASE_URL must be set outside development environments",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := mustLoad(t, c.env).SecretWarnings(); !reflect.DeepEqual(got, c.want) {
				t.Errorf("SecretWarnings() =\n%q\nwant\n%q", got, c.want)
			}
		})
	}
}

func TestGuard(t *testing.T) {
	t.Parallel()
	t.Run("production with defaults refuses", func(t *testing.T) {
		t.Parallel()
		s := mustLoad(t, with(production(), "SECRET_KEY", "change-me", "DEBUG", "true"))
		warnings, err := s.Guard()
		var ge *GuardError
		if !errors.As(err, &ge) {
			t.Fatalf("Guard() error = %v, want *GuardError", err)
		}
		want := "Production environment cannot start with default secrets. Fix the following: " +
			"SECRET_KEY is using the starter value; DEBUG must be false outside development environments"
		if err.Error() != want {
			t.Errorf("error = %q\nwant    %q", err, want)
		}
		if len(warnings) != 2 || !slices.Equal(ge.Warnings, warnings) {
			t.Errorf("warnings = %q", warnings)
		}
	})
	t.Run("complete production starts", func(t *testing.T) {
		t.Parallel()
		warnings, err := mustLoad(t, production()).Guard()
		if err != nil || len(warnings) != 0 {
			t.Errorf("Guard() = %q, %v", warnings, err)
		}
	})
	t.Run("development only warns", func(t *testing.T) {
		t.Parallel()
		s := mustLoad(t, map[string]string{"ENVIRONMENT": "local"})
		warnings, err := s.Guard()
		if err != nil {
			t.Fatalf("Guard() error = %v", err)
		}
		if len(warnings) != 8 {
			t.Errorf("warnings = %q, want the 8 default-secret warnings", warnings)
		}
		msg := s.DevWarning(warnings)
		if !strings.HasPrefix(msg, "Default development secrets detected (environment=local): SECRET_KEY is using the starter value; AUTH_PASSWORD_PEPPER") {
			t.Errorf("DevWarning = %q", msg)
		}
	})
}

func TestBilling(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		env     map[string]string
		missing []string
	}{
		{"disabled", map[string]string{}, nil},
		{"disabled even when incomplete", map[string]string{"STRIPE_SECRET_KEY": "sk"}, nil},
		{"enabled, nothing set", map[string]string{"ENABLE_BILLING": "true", "STRIPE_SECRET_KEY": "", "STRIPE_WEBHOOK_SECRET": " "},
			[]string{"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_PRODUCT_PRICE_MAP"}},
		{"enabled, map missing", map[string]string{"ENABLE_BILLING": "true", "STRIPE_SECRET_KEY": "sk", "STRIPE_WEBHOOK_SECRET": "wh", "STRIPE_PRODUCT_PRICE_MAP": "{}"},
			[]string{"STRIPE_PRODUCT_PRICE_MAP"}},
		{"enabled, complete", map[string]string{"ENABLE_BILLING": "true", "STRIPE_SECRET_KEY": "sk", "STRIPE_WEBHOOK_SECRET": "wh", "STRIPE_PRODUCT_PRICE_MAP": "starter:price_1"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := mustLoad(t, c.env)
			if got := s.BillingProblems(); !slices.Equal(got, c.missing) {
				t.Errorf("BillingProblems() = %q, want %q", got, c.missing)
			}
			err := s.BillingStartupError()
			if len(c.missing) == 0 {
				if err != nil {
					t.Errorf("BillingStartupError() = %v", err)
				}
				return
			}
			want := "ENABLE_BILLING=true requires Stripe configuration. Set " + strings.Join(c.missing, ", ") +
				" (see docs/billing/stripe-setup.md#startup-validation--troubleshooting)."
			var be *BillingError
			if err == nil || err.Error() != want || !errors.As(err, &be) {
				t.Errorf("BillingStartupError() = %v\nwant %s", err, want)
			}
		})
	}
}

func TestStripeSummary(t *testing.T) {
	t.Parallel()
	s := mustLoad(t, map[string]string{
		"STRIPE_SECRET_KEY":        "sk_test_1234567890",
		"STRIPE_WEBHOOK_SECRET":    "whsec_abcd",
		"STRIPE_PRODUCT_PRICE_MAP": `{"pro":"price_2","starter":"price_1"}`,
		"ENABLE_BILLING_STREAM":    "true",
		"REDIS_URL":                "redis://localhost:6379/0",
	})
	want := map[string]any{
		"stripe_secret_key":      "sk************7890",
		"stripe_webhook_secret":  "wh****abcd",
		"plans_configured":       []string{"pro", "starter"},
		"plan_count":             2,
		"billing_stream_enabled": true,
		"billing_stream_backend": "REDIS_URL",
	}
	if got := s.StripeSummary(); !reflect.DeepEqual(got, want) {
		t.Errorf("StripeSummary() =\n%#v\nwant\n%#v", got, want)
	}

	backends := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "disabled"},
		{map[string]string{"ENABLE_BILLING_STREAM": "true"}, "<unset>"},
		{map[string]string{"ENABLE_BILLING_STREAM": "true", "REDIS_URL": "redis://r:6379", "BILLING_EVENTS_REDIS_URL": "redis://b:6379"}, "BILLING_EVENTS_REDIS_URL"},
	}
	for _, b := range backends {
		if got := mustLoad(t, b.env).StripeSummary()["billing_stream_backend"]; got != b.want {
			t.Errorf("%v: billing_stream_backend = %v, want %s", b.env, got, b.want)
		}
	}
	if got := mustLoad(t, nil).StripeSummary()["stripe_secret_key"]; got != "<missing>" {
		t.Errorf("unset key masked as %v", got)
	}
}

func TestMaskSecret(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"":                   "<missing>",
		"   ":                "<missing>",
		"a":                  "*",
		"abcd":               "****",
		"abcde":              "ab***bcde",
		"abcdefghij":         "ab****ghij",
		"sk_live_0123456789": "sk************6789",
	}
	for in, want := range cases {
		if got := MaskSecret(Secret(in)); got != want {
			t.Errorf("MaskSecret(%q) = %q, want %q", in, got, want)
		}
	}
}
