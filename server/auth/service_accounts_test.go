package auth_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	dto "github.com/prometheus/client_model/go"

	"agentplane/config"
	"agentplane/keys"
	"agentplane/server/servertest"
	"agentplane/store"
)

// Service-account issuance, exchange and token administration through the
// real handler (spec: auth-and-keys.md §13 with §18.5 notes 27-33;
// http-api.md §2.3.15-2.3.18).

const (
	saDevLocal = "Bearer dev-local"
	saPassword = "Quartz-Nebula-Falcon-8841!"
	saIssueURL = "/api/v1/auth/service-accounts/issue"
	saBrowser  = "/api/v1/auth/service-accounts/browser-issue"
	saTokens   = "/api/v1/auth/service-accounts/tokens"
	saRefresh  = "/api/v1/auth/refresh"

	dVaultRequired  = "Vault-signed credential required for service-account issuance."
	dTokenNotFound  = "Service account token not found."
	dUnknownTenant  = "Unknown tenant identifier."
	dRefreshRevoked = "Refresh token has been revoked or expired."
)

// saResp is one answer with its JSON body decoded.
type saResp struct {
	code   int
	header http.Header
	raw    string
	body   map[string]any
}

func saDo(t *testing.T, env *servertest.Env, r *http.Request) saResp {
	t.Helper()
	rec := env.Do(r)
	out := saResp{code: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	if err := json.Unmarshal(rec.Body.Bytes(), &out.body); err != nil {
		t.Fatalf("%s %s: body %q is not a JSON object: %v", r.Method, r.URL, out.raw, err)
	}
	return out
}

// saCall sends body (nil: no body) with the given headers.
func saCall(t *testing.T, env *servertest.Env, method, target string, headers map[string]string, body any) saResp {
	t.Helper()
	var r *http.Request
	if body == nil {
		r = env.Request(method, target, nil)
	} else {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = env.JSONRequest(method, target, string(raw))
	}
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	return saDo(t, env, r)
}

// saIssue posts to the headless endpoint; an empty authz sends no
// Authorization header, an empty payload no X-Vault-Payload.
func saIssue(t *testing.T, env *servertest.Env, authz, payload string, body any) saResp {
	t.Helper()
	h := map[string]string{}
	if authz != "" {
		h["Authorization"] = authz
	}
	if payload != "" {
		h["X-Vault-Payload"] = payload
	}
	return saCall(t, env, http.MethodPost, saIssueURL, h, body)
}

// saMustIssue issues with dev-local and fails the test unless it is a 201.
func saMustIssue(t *testing.T, env *servertest.Env, body map[string]any) saResp {
	t.Helper()
	r := saIssue(t, env, saDevLocal, "", body)
	if r.code != http.StatusCreated {
		t.Fatalf("issue %v: %d %s", body, r.code, r.raw)
	}
	return r
}

func (r saResp) token() string { s, _ := r.body["refresh_token"].(string); return s }

// saError checks an error envelope: status and the detail in error and message.
func saError(t *testing.T, r saResp, status int, detail string) {
	t.Helper()
	if r.code != status || r.body["error"] != detail || r.body["message"] != detail {
		t.Errorf("got %d %s, want %d %q", r.code, r.raw, status, detail)
	}
}

// saTenant creates a tenant directly in the store.
func saTenant(t *testing.T, env *servertest.Env) string {
	t.Helper()
	id := uuid.NewString()
	slug := "sa-" + strings.ReplaceAll(id, "-", "")[:12]
	if err := env.Store.Tenants().Create(t.Context(), store.Tenant{ID: id, Slug: slug, Name: "Tenant " + slug, CreatedAt: env.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	return id
}

func saBody(account, tenant string, scopes ...string) map[string]any {
	b := map[string]any{"account": account, "scopes": scopes}
	if tenant != "" {
		b["tenant_id"] = tenant
	}
	return b
}

func saWith(b map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range b {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// saISO is the +00:00 form of Python's isoformat for a whole-second time.
func saISO(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") + "+00:00" }

// saRow is the stored row of a refresh token.
func saRow(t *testing.T, env *servertest.Env, token string) store.RefreshToken {
	t.Helper()
	c, err := env.Manager.Verify(t.Context(), token, servertest.VerifyOptions())
	if err == nil {
		t.Fatalf("a refresh token verified as a bearer credential (aud): %+v", c)
	}
	c, err = env.Manager.Verify(t.Context(), token, saRefreshVerify())
	if err != nil {
		t.Fatalf("refresh token does not verify: %v", err)
	}
	row, err := env.Store.RefreshTokens().ByJTI(t.Context(), c.JTI)
	if err != nil {
		t.Fatalf("row of jti %s: %v", c.JTI, err)
	}
	return row
}

func saRefreshVerify() keys.VerifyOptions {
	return keys.VerifyOptions{Issuer: servertest.AppName}
}

// saSetting edits the settings.
func saSetting(edit func(*config.Settings)) servertest.Option { return servertest.WithSettings(edit) }

func TestServiceAccountIssueDevLocal(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		body        func(tenant string) map[string]any
		wantScopes  []string
		wantTenant  bool
		lifetime    time.Duration
		fingerprint string
		claimsJSON  string // §3.4 order; %[1]s jti, %[2]d iat, %[3]d exp, %[4]s tenant
	}{
		{
			name:       "tenantless account",
			body:       func(string) map[string]any { return saBody("support-console", "", "support:*") },
			wantScopes: []string{"support:*"}, lifetime: 10080 * time.Minute,
			claimsJSON: `{"sub":"service-account:support-console","account":"support-console","token_use":"refresh","jti":"%[1]s","scope":"support:*","iat":%[2]d,"nbf":%[2]d,"exp":%[3]d,"iss":"anything-agents"}`,
		},
		{
			name: "tenant, scopes trimmed, de-duplicated and sorted, lifetime and fingerprint",
			body: func(tenant string) map[string]any {
				return saWith(saBody("synthetic-monitor", tenant, "tools:read", " billing:read ", "", "tools:read", "conversations:write"),
					"lifetime_minutes", 90, "fingerprint", "ci-runner-7")
			},
			wantScopes: []string{"billing:read", "conversations:write", "tools:read"}, wantTenant: true,
			lifetime: 90 * time.Minute, fingerprint: "ci-runner-7",
			claimsJSON: `{"sub":"service-account:synthetic-monitor","account":"synthetic-monitor","token_use":"refresh","jti":"%[1]s","scope":"billing:read conversations:write tools:read","iat":%[2]d,"nbf":%[2]d,"exp":%[3]d,"iss":"anything-agents","tenant_id":"%[4]s","fingerprint":"ci-runner-7"}`,
		},
		{
			name: "tenant given in upper case is stored canonical",
			body: func(tenant string) map[string]any {
				return saBody("analytics-batch", strings.ToUpper(tenant), "conversations:read")
			},
			wantScopes: []string{"conversations:read"}, wantTenant: true, lifetime: 43200 * time.Minute,
			claimsJSON: `{"sub":"service-account:analytics-batch","account":"analytics-batch","token_use":"refresh","jti":"%[1]s","scope":"conversations:read","iat":%[2]d,"nbf":%[2]d,"exp":%[3]d,"iss":"anything-agents","tenant_id":"%[4]s"}`,
		},
		{
			name: "lowercase bearer scheme, lifetime at the maximum",
			body: func(tenant string) map[string]any {
				return saWith(saBody("billing-worker", tenant, "billing:manage"), "lifetime_minutes", 43200)
			},
			wantScopes: []string{"billing:manage"}, wantTenant: true, lifetime: 43200 * time.Minute,
			claimsJSON: `{"sub":"service-account:billing-worker","account":"billing-worker","token_use":"refresh","jti":"%[1]s","scope":"billing:manage","iat":%[2]d,"nbf":%[2]d,"exp":%[3]d,"iss":"anything-agents","tenant_id":"%[4]s"}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := servertest.New(t)
			tenant := saTenant(t, env)
			authz := saDevLocal
			if strings.HasPrefix(tc.name, "lowercase") {
				authz = "bearer   dev-local"
			}
			r := saIssue(t, env, authz, "", tc.body(tenant))
			if r.code != http.StatusCreated {
				t.Fatalf("status %d: %s", r.code, r.raw)
			}
			issued := env.Clock.Now().Truncate(time.Second)
			keysOf := slices.Sorted(func(yield func(string) bool) {
				for k := range r.body {
					if !yield(k) {
						return
					}
				}
			})
			want := []string{"account", "expires_at", "issued_at", "kid", "refresh_token", "scopes", "session_id", "tenant_id", "token_use"}
			if !slices.Equal(keysOf, want) {
				t.Errorf("response fields %v, want %v", keysOf, want)
			}
			claims, err := env.Manager.Verify(t.Context(), r.token(), saRefreshVerify())
			if err != nil {
				t.Fatalf("refresh token does not verify: %v", err)
			}
			account := tc.body(tenant)["account"]
			var wantTenant any
			if tc.wantTenant {
				wantTenant = tenant
			}
			checks := map[string][2]any{
				"issued_at":  {r.body["issued_at"], saISO(issued)},
				"expires_at": {r.body["expires_at"], saISO(issued.Add(tc.lifetime))},
				"scopes":     {fmt.Sprint(r.body["scopes"]), fmt.Sprint(tc.wantScopes)},
				"tenant_id":  {r.body["tenant_id"], wantTenant},
				"kid":        {r.body["kid"], claims.KID},
				"account":    {r.body["account"], account},
				"token_use":  {r.body["token_use"], "refresh"},
				"session_id": {r.body["session_id"], nil},
			}
			for field, c := range checks {
				if c[0] != c[1] {
					t.Errorf("%s = %v, want %v", field, c[0], c[1])
				}
			}
			wantClaims := fmt.Sprintf(tc.claimsJSON, claims.JTI, issued.Unix(), issued.Add(tc.lifetime).Unix(), tenant)
			if string(claims.Raw) != wantClaims {
				t.Errorf("claims\n got %s\nwant %s", claims.Raw, wantClaims)
			}
			row := saRow(t, env, r.token())
			if row.Account != account || row.SigningKID != claims.KID || row.Fingerprint != tc.fingerprint ||
				row.RevokedAt != nil || !row.ExpiresAt.Equal(issued.Add(tc.lifetime)) || row.ScopeKey != strings.Join(tc.wantScopes, " ") {
				t.Errorf("stored row %+v", row)
			}
			if tc.wantTenant && row.TenantID != tenant || !tc.wantTenant && row.TenantID != "" {
				t.Errorf("stored tenant %q", row.TenantID)
			}
		})
	}
}

func TestServiceAccountIssueCredentials(t *testing.T) {
	t.Parallel()
	production := saSetting(func(s *config.Settings) { s.Environment = "production" })
	verify := saSetting(func(s *config.Settings) { s.VaultVerifyEnabled = true })
	body := saBody("support-console", "", "support:*")
	cases := []struct {
		name    string
		opts    []servertest.Option
		authz   string
		payload string
		status  int
		detail  string
	}{
		{name: "dev-local in development", authz: saDevLocal, status: http.StatusCreated},
		{name: "dev-local in production", opts: []servertest.Option{production}, authz: saDevLocal, status: http.StatusUnauthorized, detail: dVaultRequired},
		{name: "dev-local in staging", opts: []servertest.Option{saSetting(func(s *config.Settings) { s.Environment = "staging" })},
			authz: saDevLocal, status: http.StatusUnauthorized, detail: dVaultRequired},
		{name: "dev-local with Vault verification on", opts: []servertest.Option{verify}, authz: saDevLocal, status: http.StatusUnauthorized, detail: dVaultRequired},
		{name: "basic scheme", authz: "Basic x", status: http.StatusUnauthorized, detail: "Authorization header must use Bearer scheme."},
		{name: "other bearer credential", authz: "Bearer s3cr3t", status: http.StatusUnauthorized, detail: dVaultRequired},
		{name: "vault credential with verification off", authz: "Bearer vault:abc", payload: "e30",
			status: http.StatusServiceUnavailable, detail: "Vault verification disabled; cannot accept vault credentials."},
		{name: "vault credential with verification off in production", opts: []servertest.Option{production}, authz: "Bearer vault:abc",
			status: http.StatusServiceUnavailable, detail: "Vault verification disabled; cannot accept vault credentials."},
		{name: "vault credential without payload", opts: []servertest.Option{verify}, authz: "Bearer vault:abc",
			status: http.StatusUnauthorized, detail: "Missing X-Vault-Payload header."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := servertest.New(t, tc.opts...)
			r := saIssue(t, env, tc.authz, tc.payload, body)
			if tc.status == http.StatusCreated {
				if r.code != tc.status || r.token() == "" {
					t.Fatalf("got %d %s", r.code, r.raw)
				}
				return
			}
			saError(t, r, tc.status, tc.detail)
			if h := r.header.Get("WWW-Authenticate"); h != "" {
				t.Errorf("WWW-Authenticate %q on an issuance error", h)
			}
		})
	}

	t.Run("missing Authorization", func(t *testing.T) {
		t.Parallel()
		env := servertest.New(t)
		r := saIssue(t, env, "", "", body)
		if r.code != http.StatusUnprocessableEntity {
			t.Fatalf("got %d %s", r.code, r.raw)
		}
		items, _ := r.body["details"].([]any)
		if len(items) != 1 {
			t.Fatalf("details %v", r.body["details"])
		}
		item, _ := items[0].(map[string]any)
		if fmt.Sprint(item["loc"]) != "[header Authorization]" || item["type"] != "missing" {
			t.Errorf("item %v, want loc [header Authorization] type missing", item)
		}
	})

	t.Run("Vault verification on without a Vault client", func(t *testing.T) {
		t.Parallel()
		env := servertest.New(t, verify)
		fake := servertest.NewFakeVault(t, "")
		authz, payload := saSeal(t, fake, saEnvelope(env, "support-console", "", "support:*"))
		saError(t, saIssue(t, env, authz, payload, body), http.StatusServiceUnavailable, "Vault client not configured.")
		if fake.Verifies() != 0 {
			t.Errorf("the unconfigured server reached Vault")
		}
	})
}

func TestServiceAccountIssueRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		body   func(tenant string) map[string]any
		status int
		detail string
	}{
		{"unknown account", func(string) map[string]any { return saBody("nope", "", "support:*") },
			400, "Service account 'nope' is not defined."},
		{"tenant required", func(string) map[string]any { return saBody("analytics-batch", "", "conversations:read") },
			400, "Service account 'analytics-batch' requires a tenant identifier."},
		{"blank tenant is no tenant", func(string) map[string]any { return saBody("analytics-batch", "   ", "conversations:read") },
			400, "Service account 'analytics-batch' requires a tenant identifier."},
		{"tenant refused", func(tenant string) map[string]any { return saBody("support-console", tenant, "support:*") },
			400, "Service account 'support-console' does not accept tenant identifiers."},
		{"unknown tenant uuid", func(string) map[string]any { return saBody("billing-worker", uuid.NewString(), "billing:read") },
			400, dUnknownTenant},
		{"non-uuid tenant", func(string) map[string]any { return saBody("billing-worker", "acme-corp", "billing:read") },
			400, dUnknownTenant},
		{"no scopes", func(tenant string) map[string]any { return saBody("billing-worker", tenant) },
			400, "At least one scope must be requested."},
		{"blank scopes only", func(tenant string) map[string]any { return saBody("billing-worker", tenant, " ", "") },
			400, "At least one scope must be requested."},
		{"unsupported scopes sorted", func(tenant string) map[string]any {
			return saBody("billing-worker", tenant, "zeta:write", "billing:read", "alpha:read", "zeta:write")
		}, 400, "Unsupported scopes requested: alpha:read, zeta:write"},
		{"wildcard not expanded", func(string) map[string]any { return saBody("support-console", "", "support:read") },
			400, "Unsupported scopes requested: support:read"},
		{"lifetime zero", func(tenant string) map[string]any {
			return saWith(saBody("billing-worker", tenant, "billing:read"), "lifetime_minutes", 0)
		}, 400, "Requested lifetime must be positive."},
		{"lifetime negative", func(tenant string) map[string]any {
			return saWith(saBody("billing-worker", tenant, "billing:read"), "lifetime_minutes", -5)
		}, 400, "Requested lifetime must be positive."},
		{"lifetime above max", func(tenant string) map[string]any {
			return saWith(saBody("synthetic-monitor", tenant, "tools:read"), "lifetime_minutes", 1441)
		}, 400, "Requested lifetime 1441 exceeds max 1440 for account 'synthetic-monitor'."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := servertest.New(t)
			saError(t, saIssue(t, env, saDevLocal, "", tc.body(saTenant(t, env))), tc.status, tc.detail)
		})
	}

	t.Run("validation", func(t *testing.T) {
		t.Parallel()
		env := servertest.New(t)
		tenant := saTenant(t, env)
		for name, body := range map[string]map[string]any{
			"fingerprint over 128 characters": saWith(saBody("billing-worker", tenant, "billing:read"), "fingerprint", strings.Repeat("f", 129)),
			"scopes missing":                  {"account": "billing-worker", "tenant_id": tenant},
			"account missing":                 {"scopes": []string{"billing:read"}, "tenant_id": tenant},
		} {
			if r := saIssue(t, env, saDevLocal, "", body); r.code != http.StatusUnprocessableEntity {
				t.Errorf("%s: got %d %s, want 422", name, r.code, r.raw)
			}
		}
	})
}

func TestServiceAccountIssueRateLimits(t *testing.T) {
	t.Parallel()
	dAccountLimit := func(a string) string {
		return fmt.Sprintf("Issuance rate limit exceeded for account '%s'. Retry later.", a)
	}

	t.Run("five per account", func(t *testing.T) {
		t.Parallel()
		env := servertest.New(t)
		tenant := saTenant(t, env)
		body := saWith(saBody("billing-worker", tenant, "billing:read"), "force", true)
		seen := map[string]bool{}
		for i := range 5 {
			r := saMustIssue(t, env, body)
			if seen[r.token()] {
				t.Fatalf("request %d: force returned an earlier token", i+1)
			}
			seen[r.token()] = true
		}
		saError(t, saIssue(t, env, saDevLocal, "", body), http.StatusTooManyRequests, dAccountLimit("billing-worker"))
		// Another account has its own allowance.
		saMustIssue(t, env, saBody("analytics-batch", tenant, "conversations:read"))
	})

	t.Run("failed attempts count", func(t *testing.T) {
		t.Parallel()
		env := servertest.New(t)
		tenant := saTenant(t, env)
		for range 5 {
			saError(t, saIssue(t, env, saDevLocal, "", saBody("billing-worker", tenant, "nothing:here")),
				http.StatusBadRequest, "Unsupported scopes requested: nothing:here")
		}
		saError(t, saIssue(t, env, saDevLocal, "", saBody("billing-worker", tenant, "billing:read")),
			http.StatusTooManyRequests, dAccountLimit("billing-worker"))
	})

	t.Run("global thirty, shared through Redis", func(t *testing.T) {
		t.Parallel()
		prefix := "sa-global-" + strings.ReplaceAll(uuid.NewString(), "-", "")
		env := servertest.New(t, saSetting(func(s *config.Settings) { s.RateLimitKeyPrefix = prefix }))
		tenant := saTenant(t, env)
		bodies := []map[string]any{
			saBody("analytics-batch", tenant, "conversations:read"), saBody("billing-worker", tenant, "billing:read"),
			saBody("support-console", "", "support:*"), saBody("synthetic-monitor", tenant, "tools:read"),
		}
		for range 4 {
			for _, b := range bodies {
				saMustIssue(t, env, saWith(b, "force", true))
			}
		}
		keys, err := env.Redis.Keys(t.Context(), "*"+prefix+":quota:service_account_issue_global:all").Result()
		if err != nil || len(keys) != 1 {
			t.Fatalf("global counter keys %v, %v", keys, err)
		}
		if n, err := env.Redis.Get(t.Context(), keys[0]).Int(); err != nil || n != 16 {
			t.Fatalf("global counter = %d, %v; want 16", n, err)
		}
		// Another replica issued 14 more in this window.
		if err := env.Redis.IncrBy(t.Context(), keys[0], 14).Err(); err != nil {
			t.Fatal(err)
		}
		saError(t, saIssue(t, env, saDevLocal, "", saWith(bodies[0], "force", true)),
			http.StatusTooManyRequests, "Global service-account issuance rate limit exceeded. Retry later.")
	})
}

// saLogReasons are the reasons of the service_account_issuance log events.
func saLogReasons(t *testing.T, env *servertest.Env) []string {
	t.Helper()
	var out []string
	for _, l := range env.Logs(t) {
		if l["event"] == "service_account_issuance" {
			out = append(out, fmt.Sprintf("%v/%v", l["reason"], l["reused"]))
		}
	}
	return out
}

func saCounter(t *testing.T, c interface{ Write(*dto.Metric) error }) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// saPerson are a verified person's claims in tenant with role.
func saPerson(env *servertest.Env, tenant, role string) servertest.AccessClaims {
	c := env.NewAccessClaims()
	c.TenantID, c.Roles = tenant, []string{role}
	c.Scope = "conversations:read conversations:write conversations:delete tools:read billing:read billing:manage support:read"
	return c
}

func saBearer(tok string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + tok}
}

func TestServiceAccountIssueReuse(t *testing.T) {
	t.Parallel()

	t.Run("same tuple returns the same bytes", func(t *testing.T) {
		t.Parallel()
		env := servertest.New(t)
		tenant := saTenant(t, env)
		first := saMustIssue(t, env, saBody("analytics-batch", tenant, "conversations:read"))
		env.Clock.Advance(90 * time.Second)
		for _, body := range []map[string]any{
			saBody("analytics-batch", tenant, "conversations:read"),
			saBody("analytics-batch", strings.ToUpper(tenant), " conversations:read", "conversations:read"),
			saWith(saBody("analytics-batch", tenant, "conversations:read"), "lifetime_minutes", 5, "fingerprint", "ignored"),
		} {
			again := saMustIssue(t, env, body)
			if again.raw != first.raw {
				t.Errorf("reuse answered\n%s\nwant\n%s", again.raw, first.raw)
			}
		}
		want := []string{"issued/false", "success_reused/true", "success_reused/true", "success_reused/true"}
		if got := saLogReasons(t, env); !slices.Equal(got, want) {
			t.Errorf("issuance events %v, want %v", got, want)
		}
		if n := saCounter(t, env.Metrics.ServiceAccountIssuance.WithLabelValues("analytics-batch", "success", "success_reused", "true")); n != 3 {
			t.Errorf("success_reused counter = %v, want 3", n)
		}
		other := saMustIssue(t, env, saBody("analytics-batch", saTenant(t, env), "conversations:read"))
		if other.token() == first.token() {
			t.Error("another tenant got the same token")
		}
	})

	t.Run("rebuilt from the database without the cache", func(t *testing.T) {
		t.Parallel()
		env := servertest.New(t)
		first := saMustIssue(t, env, saWith(saBody("support-console", "", "support:*"), "fingerprint", "fp-db"))
		if err := env.State.ForgetServiceToken(t.Context(), "support-console", "", "support:*"); err != nil {
			t.Fatal(err)
		}
		env.Clock.Advance(time.Hour)
		if again := saMustIssue(t, env, saBody("support-console", "", "support:*")); again.raw != first.raw {
			t.Errorf("re-derived answer\n%s\nwant\n%s", again.raw, first.raw)
		}
	})

	t.Run("force replaces the active token", func(t *testing.T) {
		t.Parallel()
		env := servertest.New(t)
		tenant := saTenant(t, env)
		body := saBody("billing-worker", tenant, "billing:read", "billing:manage")
		first := saMustIssue(t, env, body)
		env.Clock.Advance(time.Minute)
		forced := saMustIssue(t, env, saWith(body, "force", true))
		if forced.token() == first.token() {
			t.Fatal("force returned the active token")
		}
		old := saRow(t, env, first.token())
		if old.RevokedAt == nil || old.RevokedReason != "replaced" || old.RevokedAt.Sub(env.Clock.Now()).Abs() >= time.Millisecond {
			t.Errorf("previous row revoked %v %q, want now, replaced", old.RevokedAt, old.RevokedReason)
		}
		if cur := saRow(t, env, forced.token()); cur.RevokedAt != nil {
			t.Errorf("new row revoked %q", cur.RevokedReason)
		}
		if again := saMustIssue(t, env, body); again.raw != forced.raw {
			t.Errorf("reuse after force answered %s, want the forced token", again.raw)
		}
	})

	t.Run("revoked through the admin endpoint", func(t *testing.T) {
		t.Parallel()
		env := servertest.New(t)
		tenant := saTenant(t, env)
		body := saBody("analytics-batch", tenant, "conversations:read")
		first := saMustIssue(t, env, body)
		jti := saRow(t, env, first.token()).JTI
		r := saCall(t, env, http.MethodPost, saTokens+"/"+jti+"/revoke", saBearer(env.Sign(t, saPerson(env, tenant, "admin"))), map[string]any{})
		if r.code != http.StatusOK {
			t.Fatalf("revoke: %d %s", r.code, r.raw)
		}
		next := saMustIssue(t, env, body)
		if next.token() == first.token() {
			t.Error("a revoked token was handed out again")
		}
	})

	t.Run("expired token is not reused", func(t *testing.T) {
		t.Parallel()
		env := servertest.New(t)
		tenant := saTenant(t, env)
		body := saWith(saBody("synthetic-monitor", tenant, "tools:read"), "lifetime_minutes", 60)
		first := saMustIssue(t, env, body)
		env.Clock.Advance(59 * time.Minute)
		if again := saMustIssue(t, env, body); again.raw != first.raw {
			t.Errorf("still-valid token not reused: %s", again.raw)
		}
		env.Clock.Advance(time.Minute)
		next := saMustIssue(t, env, body)
		if next.token() == first.token() {
			t.Error("an expired token was reused")
		}
		if want := saISO(env.Clock.Now().Truncate(time.Second)); next.body["issued_at"] != want {
			t.Errorf("issued_at %v, want %s", next.body["issued_at"], want)
		}
	})
}

// saVaultEnv is a server with Vault verification on and a fake Transit; its
// clock stands on a whole second so the timestamp bounds are exact.
func saVaultEnv(t *testing.T) (*servertest.Env, *servertest.FakeVault) {
	t.Helper()
	fake := servertest.NewFakeVault(t, "")
	env := servertest.New(t, servertest.WithVault(fake.Transit),
		saSetting(func(s *config.Settings) { s.VaultVerifyEnabled = true }))
	env.Clock.Set(servertest.Start.Truncate(time.Second))
	return env, fake
}

// saEnvelope is the CLI's envelope (auth-and-keys.md §13.5).
func saEnvelope(env *servertest.Env, account, tenant string, scopes ...string) map[string]any {
	now := env.Clock.Now().Unix()
	sc := make([]any, len(scopes))
	for i, s := range scopes {
		sc[i] = s
	}
	e := map[string]any{
		"iss": "vault-transit", "aud": []any{"auth-service"}, "sub": "service-account-cli", "account": account,
		"scopes": sc, "nonce": strings.ReplaceAll(uuid.NewString(), "-", ""), "iat": now, "exp": now + 300, "tenant_id": nil,
	}
	if tenant != "" {
		e["tenant_id"] = tenant
	}
	return e
}

// saSeal signs claims as the CLI does: compact JSON, Transit signature
// without its vault:v1: prefix, base64url payload without padding.
func saSeal(t *testing.T, fake *servertest.FakeVault, claims any) (authz, payload string) {
	t.Helper()
	raw, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return saSealRaw(fake, raw)
}

func saSealRaw(fake *servertest.FakeVault, raw []byte) (authz, payload string) {
	return "Bearer vault:" + strings.TrimPrefix(fake.Signature(raw), "vault:v1:"), base64.RawURLEncoding.EncodeToString(raw)
}

func TestServiceAccountIssueVault(t *testing.T) {
	t.Parallel()
	type wire func(t *testing.T, fake *servertest.FakeVault, raw []byte) (authz, payload string)
	cases := []struct {
		name   string
		edit   func(claims, body map[string]any, tenant string)
		wire   wire
		status int
		detail string // prefix when it ends with ": "
		check  func(t *testing.T, env *servertest.Env, r saResp, tenant string)
	}{
		{name: "signed envelope", status: http.StatusCreated, check: func(t *testing.T, env *servertest.Env, r saResp, tenant string) {
			if r.body["tenant_id"] != tenant || fmt.Sprint(r.body["scopes"]) != "[billing:manage billing:read]" {
				t.Errorf("body %s", r.raw)
			}
			if want := saISO(env.Clock.Now().Add(43200 * time.Minute)); r.body["expires_at"] != want {
				t.Errorf("expires_at %v, want %s", r.body["expires_at"], want)
			}
		}},
		{name: "padded payload", status: http.StatusCreated, wire: func(t *testing.T, fake *servertest.FakeVault, raw []byte) (string, string) {
			authz, _ := saSealRaw(fake, raw)
			return authz, base64.URLEncoding.EncodeToString(raw)
		}},
		{name: "full vault:v1 signature", status: http.StatusCreated, wire: func(t *testing.T, fake *servertest.FakeVault, raw []byte) (string, string) {
			_, payload := saSealRaw(fake, raw)
			return "Bearer vault:" + fake.Signature(raw), payload
		}},
		{name: "payload not base64url", status: 400, detail: "Invalid Vault payload encoding: ",
			wire: func(t *testing.T, fake *servertest.FakeVault, raw []byte) (string, string) {
				authz, _ := saSealRaw(fake, raw)
				return authz, "!!not-base64!!"
			}},
		{name: "payload not JSON", status: 400, detail: "Invalid Vault payload JSON: ",
			wire: func(t *testing.T, fake *servertest.FakeVault, raw []byte) (string, string) {
				return saSealRaw(fake, []byte("{not json"))
			}},
		{name: "payload not an object", status: 400, detail: "Unexpected Vault payload shape.",
			wire: func(t *testing.T, fake *servertest.FakeVault, raw []byte) (string, string) {
				return saSealRaw(fake, []byte(`["iss","aud"]`))
			}},
		{name: "missing fields, sorted", status: 401, detail: "Vault payload missing fields: aud, iat, nonce, sub",
			edit: func(c, _ map[string]any, _ string) {
				delete(c, "sub")
				delete(c, "nonce")
				delete(c, "iat")
				delete(c, "aud")
			}},
		{name: "empty object", status: 401, detail: "Vault payload missing fields: account, aud, exp, iat, iss, nonce, scopes, sub",
			wire: func(t *testing.T, fake *servertest.FakeVault, raw []byte) (string, string) {
				return saSealRaw(fake, []byte(`{}`))
			}},
		{name: "audience not a list", status: 401, detail: "Vault payload audience invalid.",
			edit: func(c, _ map[string]any, _ string) { c["aud"] = "auth-service" }},
		{name: "audience without auth-service", status: 401, detail: "Vault payload audience invalid.",
			edit: func(c, _ map[string]any, _ string) { c["aud"] = []any{"agent-api"} }},
		{name: "signed scopes not a list", status: 401, detail: "Vault payload scopes must be a list.",
			edit: func(c, _ map[string]any, _ string) { c["scopes"] = "billing:read billing:manage" }},
		{name: "issuer not vault-transit", status: 401, detail: "Vault payload issuer invalid.",
			edit: func(c, _ map[string]any, _ string) { c["iss"] = "someone-else" }},
		{name: "bad signature", status: 401, detail: "Invalid Vault signature.",
			wire: func(t *testing.T, fake *servertest.FakeVault, raw []byte) (string, string) {
				authz, _ := saSealRaw(fake, append([]byte(" "), raw...))
				return authz, base64.RawURLEncoding.EncodeToString(raw)
			}},
		{name: "signature checked before the claims", status: 401, detail: "Invalid Vault signature.",
			edit: func(c, _ map[string]any, _ string) { c["account"] = "support-console" },
			wire: func(t *testing.T, fake *servertest.FakeVault, raw []byte) (string, string) {
				return "Bearer vault:Zm9yZ2Vk", base64.RawURLEncoding.EncodeToString(raw)
			}},
		{name: "account mismatch", status: 400, detail: "Vault payload account mismatch.",
			edit: func(c, _ map[string]any, _ string) { c["account"] = "analytics-batch" }},
		{name: "tenant mismatch", status: 400, detail: "Vault payload tenant mismatch.",
			edit: func(c, _ map[string]any, _ string) { c["tenant_id"] = uuid.NewString() }},
		{name: "tenant missing from claims", status: 400, detail: "Vault payload tenant mismatch.",
			edit: func(c, _ map[string]any, _ string) { c["tenant_id"] = nil }},
		{name: "tenant back-filled from claims", status: http.StatusCreated,
			edit: func(_, b map[string]any, _ string) { delete(b, "tenant_id") },
			check: func(t *testing.T, _ *servertest.Env, r saResp, tenant string) {
				if r.body["tenant_id"] != tenant {
					t.Errorf("tenant_id %v, want %s", r.body["tenant_id"], tenant)
				}
			}},
		{name: "scopes mismatch", status: 400, detail: "Vault payload scopes mismatch.",
			edit: func(c, _ map[string]any, _ string) { c["scopes"] = []any{"billing:read"} }},
		{name: "scopes equal as sets", status: http.StatusCreated,
			edit: func(c, b map[string]any, _ string) {
				c["scopes"] = []any{" billing:read", "billing:manage", "billing:read"}
				b["scopes"] = []string{"billing:manage", "billing:read ", "billing:manage"}
			}},
		{name: "signed scopes with a blank", status: 401, detail: "Vault payload scopes cannot contain empty scopes.",
			edit: func(c, _ map[string]any, _ string) { c["scopes"] = []any{"billing:read", " "} }},
		{name: "signed scopes not strings", status: 401, detail: "Vault payload scopes must contain strings only.",
			edit: func(c, _ map[string]any, _ string) { c["scopes"] = []any{"billing:read", 7} }},
		{name: "signed scopes empty", status: 401, detail: "Vault payload scopes must include at least one scope.",
			edit: func(c, _ map[string]any, _ string) { c["scopes"] = []any{} }},
		{name: "request scopes empty", status: 400, detail: "Request scopes must include at least one scope.",
			edit: func(_, b map[string]any, _ string) { b["scopes"] = []string{} }},
		{name: "request scopes with a blank", status: 400, detail: "Request scopes cannot contain empty scopes.",
			edit: func(_, b map[string]any, _ string) { b["scopes"] = []string{"billing:read", ""} }},
		{name: "lifetime in body only", status: 400, detail: "Vault payload missing lifetime_minutes.",
			edit: func(_, b map[string]any, _ string) { b["lifetime_minutes"] = 60 }},
		{name: "lifetime zero", status: 401, detail: "Vault payload lifetime_minutes must be a positive integer.",
			edit: func(c, _ map[string]any, _ string) { c["lifetime_minutes"] = 0 }},
		{name: "lifetime fractional", status: 401, detail: "Vault payload lifetime_minutes must be a positive integer.",
			edit: func(c, _ map[string]any, _ string) { c["lifetime_minutes"] = 1.5 }},
		{name: "lifetime a string", status: 401, detail: "Vault payload lifetime_minutes must be a positive integer.",
			edit: func(c, _ map[string]any, _ string) { c["lifetime_minutes"] = "60" }},
		{name: "lifetime mismatch", status: 400, detail: "Vault payload lifetime_minutes mismatch.",
			edit: func(c, b map[string]any, _ string) { c["lifetime_minutes"] = 60; b["lifetime_minutes"] = 30 }},
		{name: "lifetime back-filled", status: http.StatusCreated,
			edit: func(c, _ map[string]any, _ string) { c["lifetime_minutes"] = 90 },
			check: func(t *testing.T, env *servertest.Env, r saResp, _ string) {
				if want := saISO(env.Clock.Now().Add(90 * time.Minute)); r.body["expires_at"] != want {
					t.Errorf("expires_at %v, want %s", r.body["expires_at"], want)
				}
			}},
		{name: "signed lifetime still bounded by the catalog", status: 400,
			detail: "Requested lifetime 50000 exceeds max 43200 for account 'billing-worker'.",
			edit:   func(c, _ map[string]any, _ string) { c["lifetime_minutes"] = 50000 }},
		{name: "fingerprint in body only", status: 400, detail: "Vault payload missing fingerprint.",
			edit: func(_, b map[string]any, _ string) { b["fingerprint"] = "runner-1" }},
		{name: "fingerprint empty in claims", status: 400, detail: "Vault payload missing fingerprint.",
			edit: func(c, b map[string]any, _ string) { c["fingerprint"] = ""; b["fingerprint"] = "runner-1" }},
		{name: "fingerprint blank", status: 401, detail: "Vault payload fingerprint invalid.",
			edit: func(c, _ map[string]any, _ string) { c["fingerprint"] = "   " }},
		{name: "fingerprint not a string", status: 401, detail: "Vault payload fingerprint invalid.",
			edit: func(c, _ map[string]any, _ string) { c["fingerprint"] = 42 }},
		{name: "fingerprint mismatch", status: 400, detail: "Vault payload fingerprint mismatch.",
			edit: func(c, b map[string]any, _ string) { c["fingerprint"] = "runner-1"; b["fingerprint"] = "runner-2" }},
		{name: "fingerprint back-filled", status: http.StatusCreated,
			edit: func(c, _ map[string]any, _ string) { c["fingerprint"] = "runner-9" },
			check: func(t *testing.T, env *servertest.Env, r saResp, _ string) {
				if row := saRow(t, env, r.token()); row.Fingerprint != "runner-9" {
					t.Errorf("stored fingerprint %q", row.Fingerprint)
				}
				if c, err := env.Manager.Verify(t.Context(), r.token(), saRefreshVerify()); err != nil || c.Fingerprint != "runner-9" {
					t.Errorf("token fingerprint %q, %v", c.Fingerprint, err)
				}
			}},
		{name: "nonce blank", status: 401, detail: "Vault payload missing nonce.",
			edit: func(c, _ map[string]any, _ string) { c["nonce"] = "  " }},
		{name: "nonce not a string", status: 401, detail: "Vault payload missing nonce.",
			edit: func(c, _ map[string]any, _ string) { c["nonce"] = 12345 }},
		{name: "exp not a number", status: 401, detail: "Vault payload missing exp.",
			edit: func(c, _ map[string]any, _ string) { c["exp"] = "later" }},
		{name: "exp now", status: 401, detail: "Vault payload expired.",
			edit: func(c, _ map[string]any, _ string) { c["exp"] = c["iat"] }},
		{name: "exp past", status: 401, detail: "Vault payload expired.",
			edit: func(c, _ map[string]any, _ string) { c["exp"] = c["iat"].(int64) - 60 }},
		{name: "exp one second ahead", status: http.StatusCreated,
			edit: func(c, _ map[string]any, _ string) { c["exp"] = c["iat"].(int64) + 1 }},
		{name: "iat not a number", status: 401, detail: "Vault payload missing iat.",
			edit: func(c, _ map[string]any, _ string) { c["iat"] = "now" }},
		{name: "iat 30 s ahead", status: http.StatusCreated,
			edit: func(c, _ map[string]any, _ string) { c["iat"] = c["iat"].(int64) + 30 }},
		{name: "iat 31 s ahead", status: 401, detail: "Vault payload iat is in the future.",
			edit: func(c, _ map[string]any, _ string) { c["iat"] = c["iat"].(int64) + 31 }},
		{name: "iat 600 s old", status: http.StatusCreated,
			edit: func(c, _ map[string]any, _ string) { c["iat"] = c["iat"].(int64) - 600 }},
		{name: "iat 601 s old", status: 401, detail: "Vault payload iat outside acceptable window.",
			edit: func(c, _ map[string]any, _ string) { c["iat"] = c["iat"].(int64) - 601 }},
		{name: "unknown account after a valid envelope", status: 400, detail: "Service account 'ghost' is not defined.",
			edit: func(c, b map[string]any, _ string) { c["account"] = "ghost"; b["account"] = "ghost" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env, fake := saVaultEnv(t)
			tenant := saTenant(t, env)
			claims := saEnvelope(env, "billing-worker", tenant, "billing:read", "billing:manage")
			body := saBody("billing-worker", tenant, "billing:manage", "billing:read")
			if tc.edit != nil {
				tc.edit(claims, body, tenant)
			}
			raw, err := json.Marshal(claims)
			if err != nil {
				t.Fatal(err)
			}
			w := tc.wire
			if w == nil {
				w = func(_ *testing.T, fake *servertest.FakeVault, raw []byte) (string, string) {
					return saSealRaw(fake, raw)
				}
			}
			authz, payload := w(t, fake, raw)
			r := saIssue(t, env, authz, payload, body)
			switch {
			case tc.status == http.StatusCreated:
				if r.code != http.StatusCreated {
					t.Fatalf("got %d %s", r.code, r.raw)
				}
				if tc.check != nil {
					tc.check(t, env, r, tenant)
				}
			case strings.HasSuffix(tc.detail, ": "):
				msg, _ := r.body["error"].(string)
				if r.code != tc.status || !strings.HasPrefix(msg, tc.detail) || len(msg) == len(tc.detail) || r.body["message"] != msg {
					t.Errorf("got %d %s, want %d %q…", r.code, r.raw, tc.status, tc.detail)
				}
			default:
				saError(t, r, tc.status, tc.detail)
			}
		})
	}

	t.Run("nonce used once", func(t *testing.T) {
		t.Parallel()
		env, fake := saVaultEnv(t)
		authz, payload := saSeal(t, fake, saEnvelope(env, "support-console", "", "support:*"))
		body := saWith(saBody("support-console", "", "support:*"), "force", true)
		if r := saIssue(t, env, authz, payload, body); r.code != http.StatusCreated {
			t.Fatalf("first use: %d %s", r.code, r.raw)
		}
		env.Clock.Advance(10 * time.Second)
		saError(t, saIssue(t, env, authz, payload, body), http.StatusUnauthorized, "Vault payload nonce already used.")
		hits, misses := saCounter(t, env.Metrics.NonceCacheHits), saCounter(t, env.Metrics.NonceCacheMisses)
		if hits != 1 || misses != 1 {
			t.Errorf("nonce cache hits %v misses %v, want 1 and 1", hits, misses)
		}
		// A fresh nonce is accepted.
		authz, payload = saSeal(t, fake, saEnvelope(env, "support-console", "", "support:*"))
		if r := saIssue(t, env, authz, payload, body); r.code != http.StatusCreated {
			t.Fatalf("fresh nonce: %d %s", r.code, r.raw)
		}
	})

	t.Run("envelope expires on the clock", func(t *testing.T) {
		t.Parallel()
		env, fake := saVaultEnv(t)
		authz, payload := saSeal(t, fake, saEnvelope(env, "support-console", "", "support:*"))
		env.Clock.Advance(300 * time.Second)
		saError(t, saIssue(t, env, authz, payload, saBody("support-console", "", "support:*")), http.StatusUnauthorized, "Vault payload expired.")
	})

	t.Run("Vault failure", func(t *testing.T) {
		t.Parallel()
		env, fake := saVaultEnv(t)
		authz, payload := saSeal(t, fake, saEnvelope(env, "support-console", "", "support:*"))
		fake.Fail(http.StatusInternalServerError)
		saError(t, saIssue(t, env, authz, payload, saBody("support-console", "", "support:*")),
			http.StatusUnauthorized, "Vault verification failed: Vault answered 500: injected failure")
	})
}

// saExchange posts a refresh token to /auth/refresh.
func saExchange(t *testing.T, env *servertest.Env, token string) saResp {
	t.Helper()
	return saCall(t, env, http.MethodPost, saRefresh, nil, map[string]any{"refresh_token": token})
}

func TestServiceAccountExchange(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		body   func(tenant string) map[string]any
		scopes []string
		tenant bool
	}{
		{"tenant account", func(tenant string) map[string]any {
			return saBody("billing-worker", tenant, "billing:read", "billing:manage")
		}, []string{"billing:manage", "billing:read"}, true},
		{"tenantless account", func(string) map[string]any { return saBody("support-console", "", "support:*") }, []string{"support:*"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := servertest.New(t)
			tenant := saTenant(t, env)
			issued := saMustIssue(t, env, tc.body(tenant))
			account := issued.body["account"].(string)
			env.Clock.Advance(5 * time.Minute)
			for i := range 2 { // not rotated: the same token exchanges again
				r := saExchange(t, env, issued.token())
				if r.code != http.StatusOK {
					t.Fatalf("exchange %d: %d %s", i+1, r.code, r.raw)
				}
				var wantTenant any
				if tc.tenant {
					wantTenant = tenant
				}
				now := env.Clock.Now().Truncate(time.Second)
				for field, want := range map[string]any{
					"refresh_token": issued.token(), "token_type": "bearer", "user_id": nil, "session_id": nil,
					"email_verified": true, "tenant_id": wantTenant, "scopes": fmt.Sprint(tc.scopes),
					"refresh_kid": issued.body["kid"], "expires_at": now.Add(30 * time.Minute).Format(time.RFC3339),
				} {
					got := r.body[field]
					if field == "scopes" {
						got = fmt.Sprint(got)
					}
					if got != want {
						t.Errorf("%s = %v, want %v", field, got, want)
					}
				}
				c, err := env.Manager.Verify(t.Context(), r.body["access_token"].(string), servertest.VerifyOptions())
				if err != nil {
					t.Fatalf("access token: %v", err)
				}
				m, err := c.Map()
				if err != nil {
					t.Fatal(err)
				}
				if c.Subject != "service-account:"+account || c.Account != account || c.TokenUse != "access" ||
					string(c.Scope) != strings.Join(tc.scopes, " ") || c.KID != r.body["kid"] ||
					c.ExpiresAt.Unix() != now.Add(30*time.Minute).Unix() {
					t.Errorf("access claims %s", c.Raw)
				}
				if _, has := m["tenant_id"]; has != tc.tenant || tc.tenant && m["tenant_id"] != tenant {
					t.Errorf("access tenant_id %v (present %v)", m["tenant_id"], has)
				}
				for _, absent := range []string{"email_verified", "roles", "sid"} {
					if _, has := m[absent]; has {
						t.Errorf("access token carries %s", absent)
					}
				}
				me := saCall(t, env, http.MethodGet, "/api/v1/auth/me", saBearer(r.body["access_token"].(string)), nil)
				saError(t, me, http.StatusUnauthorized, "Token subject must reference a user account.")
				if me.header.Get("WWW-Authenticate") != "Bearer" {
					t.Errorf("/auth/me 401 without the Bearer challenge")
				}
			}
		})
	}

	t.Run("revoked, replaced or expired tokens", func(t *testing.T) {
		t.Parallel()
		env := servertest.New(t)
		tenant := saTenant(t, env)
		revoked := saMustIssue(t, env, saBody("analytics-batch", tenant, "conversations:read"))
		if _, err := env.Store.RefreshTokens().Revoke(t.Context(), saRow(t, env, revoked.token()).JTI, "test", env.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		saError(t, saExchange(t, env, revoked.token()), http.StatusUnauthorized, dRefreshRevoked)

		replaced := saMustIssue(t, env, saBody("support-console", "", "support:*"))
		saMustIssue(t, env, saWith(saBody("support-console", "", "support:*"), "force", true))
		saError(t, saExchange(t, env, replaced.token()), http.StatusUnauthorized, dRefreshRevoked)

		short := saMustIssue(t, env, saWith(saBody("synthetic-monitor", tenant, "tools:read"), "lifetime_minutes", 1))
		env.Clock.Advance(2 * time.Minute)
		if r := saExchange(t, env, short.token()); r.code != http.StatusUnauthorized {
			t.Errorf("expired token: %d %s", r.code, r.raw)
		}
	})
}

// saOwner registers an owner, marks the email verified in the store and
// logs in again; it returns the verified access token, the tenant, the
// user id and the login's refresh token.
func saOwner(t *testing.T, env *servertest.Env, email string) (access, tenant, user, refresh string) {
	t.Helper()
	reg := env.Register(t, email, saPassword, "Tenant of "+email)
	if reg.UserID == nil || reg.TenantID == nil {
		t.Fatalf("register: %+v", reg)
	}
	r := saCall(t, env, http.MethodPost, saBrowser, saBearer(reg.AccessToken),
		map[string]any{"account": "analytics-batch", "scopes": []string{"conversations:read"}, "reason": "before verification"})
	saError(t, r, http.StatusForbidden, "Email verification required.")
	if err := env.Store.Users().MarkEmailVerified(t.Context(), *reg.UserID, env.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	login := saCall(t, env, http.MethodPost, "/api/v1/auth/token", nil, map[string]any{"email": email, "password": saPassword})
	if login.code != http.StatusOK || login.body["email_verified"] != true {
		t.Fatalf("login: %d %s", login.code, login.raw)
	}
	return login.body["access_token"].(string), *reg.TenantID, *reg.UserID, login.body["refresh_token"].(string)
}

// saOperator is a verified operator token (support:*, no tenant).
func saOperator(t *testing.T, env *servertest.Env) string {
	c := env.NewAccessClaims()
	c.TenantID, c.Roles, c.Scope = "", nil, "support:*"
	return env.Sign(t, c)
}

func saOverride(token, reason string) map[string]string {
	h := saBearer(token)
	h["X-Operator-Override"] = "true"
	if reason != "" {
		h["X-Operator-Reason"] = reason
	}
	return h
}

func TestServiceAccountBrowserIssue(t *testing.T) {
	t.Parallel()
	reason := "Nightly ETL rollout for the data team"

	t.Run("Vault not configured", func(t *testing.T) {
		t.Parallel()
		env := servertest.New(t)
		access, _, _, _ := saOwner(t, env, "owner@example.com")
		r := saCall(t, env, http.MethodPost, saBrowser, saBearer(access),
			map[string]any{"account": "analytics-batch", "scopes": []string{"conversations:read"}, "reason": reason})
		saError(t, r, http.StatusServiceUnavailable, "Vault Transit client is not configured.")
	})

	t.Run("with Vault", func(t *testing.T) {
		t.Parallel()
		fake := servertest.NewFakeVault(t, "")
		env := servertest.New(t, servertest.WithVault(fake.Transit))
		access, tenant, user, _ := saOwner(t, env, "owner@example.com")
		other := saTenant(t, env)
		post := func(headers map[string]string, body map[string]any) saResp {
			return saCall(t, env, http.MethodPost, saBrowser, headers, body)
		}
		base := map[string]any{"account": "analytics-batch", "scopes": []string{"conversations:read"}, "reason": reason}

		r := post(saBearer(access), base)
		if r.code != http.StatusCreated || r.body["tenant_id"] != tenant || r.body["account"] != "analytics-batch" ||
			r.body["token_use"] != "refresh" || r.body["session_id"] != nil {
			t.Fatalf("browser issue: %d %s", r.code, r.raw)
		}
		if row := saRow(t, env, r.token()); row.TenantID != tenant {
			t.Errorf("stored tenant %q", row.TenantID)
		}
		signed := fake.Signed()
		if len(signed) != 1 {
			t.Fatalf("%d Vault sign calls, want 1", len(signed))
		}
		var env1 map[string]any
		if err := json.Unmarshal(signed[0], &env1); err != nil {
			t.Fatalf("signed envelope %q: %v", signed[0], err)
		}
		now := float64(env.Clock.Now().Unix())
		actor, _ := env1["actor"].(map[string]any)
		if env1["iss"] != "vault-transit" || fmt.Sprint(env1["aud"]) != "[auth-service]" || env1["sub"] != "service-account-browser" ||
			env1["account"] != "analytics-batch" || env1["tenant_id"] != tenant || env1["reason"] != reason ||
			env1["iat"] != now || env1["exp"] != now+300 || env1["lifetime_minutes"] != nil || env1["fingerprint"] != nil ||
			actor["user_id"] != "user:"+user || actor["tenant_id"] != tenant || actor["role"] != "tenant_admin" {
			t.Errorf("signed envelope %s", signed[0])
		}
		if _, err := uuid.Parse(fmt.Sprint(env1["nonce"])); err != nil {
			t.Errorf("nonce %v", env1["nonce"])
		}
		if again, _ := json.Marshal(env1); string(again) != string(signed[0]) {
			t.Errorf("envelope is not compact JSON with sorted keys: %s", signed[0])
		}

		// The admin's own tenant named explicitly, another account.
		if r := post(saBearer(access), map[string]any{"account": "billing-worker", "scopes": []string{"billing:read"},
			"tenant_id": tenant, "reason": reason}); r.code != http.StatusCreated {
			t.Errorf("own tenant named: %d %s", r.code, r.raw)
		}
		failures := []struct {
			name    string
			headers map[string]string
			body    map[string]any
			status  int
			detail  string
		}{
			{"tenant mismatch", saBearer(access), saWith(base, "tenant_id", other), 403, "Tenant mismatch for service-account issuance."},
			{"blank reason", saBearer(access), saWith(base, "reason", strings.Repeat(" ", 12)), 400, "Reason is required for auditing."},
			{"issuance rule", saBearer(access), saWith(base, "scopes", []string{"billing:read"}), 400, "Unsupported scopes requested: billing:read"},
			{"member", saBearer(env.Sign(t, saPerson(env, tenant, "member"))), base, 403, dActorRequired},
			{"operator without reason", saOverride(saOperator(t, env), ""), base, 400, dOperatorReason},
			{"operator, tenant refused by the account", saOverride(saOperator(t, env), "INC-1"), saWith(base, "account", "support-console", "scopes", []string{"support:*"}, "tenant_id", other),
				400, "Service account 'support-console' does not accept tenant identifiers."},
		}
		for _, f := range failures {
			saError(t, post(f.headers, f.body), f.status, f.detail)
		}
		if r := post(saBearer(access), saWith(base, "reason", "too short")); r.code != http.StatusUnprocessableEntity {
			t.Errorf("short reason: %d %s", r.code, r.raw)
		}
		// An operator issues for any tenant.
		if r := post(saOverride(saOperator(t, env), "INC-1"), saWith(base, "tenant_id", other)); r.code != http.StatusCreated || r.body["tenant_id"] != other {
			t.Errorf("operator issue: %d %s", r.code, r.raw)
		}
		last := fake.Signed()
		var env2 map[string]any
		_ = json.Unmarshal(last[len(last)-1], &env2)
		if actor, _ := env2["actor"].(map[string]any); actor["role"] != "platform_operator" || actor["tenant_id"] != nil {
			t.Errorf("operator envelope actor %v", env2["actor"])
		}

		fake.Fail(http.StatusInternalServerError)
		saError(t, post(saBearer(access), saWith(base, "force", true)), http.StatusServiceUnavailable, "Vault Transit signing failed.")
	})
}

// saItems are the jtis of a listing, in order.
func saItems(t *testing.T, r saResp) []string {
	t.Helper()
	if r.code != http.StatusOK {
		t.Fatalf("list: %d %s", r.code, r.raw)
	}
	items, _ := r.body["items"].([]any)
	out := []string{}
	for _, it := range items {
		out = append(out, it.(map[string]any)["jti"].(string))
	}
	return out
}

func TestServiceAccountTokensListAndRevoke(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	accessA, tenantA, userA, refreshA := saOwner(t, env, "alice@example.com")
	accessB, tenantB, _, _ := saOwner(t, env, "bob@example.com")
	operator := saOperator(t, env)
	jti := func(r saResp) string { return saRow(t, env, r.token()).JTI }

	a1 := jti(saMustIssue(t, env, saBody("analytics-batch", tenantA, "conversations:read")))
	env.Clock.Advance(time.Second)
	a2 := jti(saMustIssue(t, env, saWith(saBody("billing-worker", tenantA, "billing:read"), "fingerprint", "fp-a2")))
	env.Clock.Advance(time.Second)
	b1Tok := saMustIssue(t, env, saBody("analytics-batch", tenantB, "conversations:read"))
	b1 := jti(b1Tok)
	env.Clock.Advance(time.Second)
	g1 := jti(saMustIssue(t, env, saBody("support-console", "", "support:*")))
	userRow := saRow(t, env, refreshA)
	if userRow.Account != "user:"+userA || userRow.TenantID != tenantA {
		t.Fatalf("the owner's refresh row %+v", userRow)
	}

	list := func(headers map[string]string, query string) saResp {
		return saCall(t, env, http.MethodGet, saTokens+query, headers, nil)
	}
	cases := []struct {
		name    string
		headers map[string]string
		query   string
		want    []string
	}{
		{"tenant admin", saBearer(accessA), "", []string{a2, a1}},
		{"tenant admin, own tenant named, include_global ignored", saBearer(accessA), "?include_global=true&tenant_id=" + strings.ToUpper(tenantA), []string{a2, a1}},
		{"tenant admin, account substring", saBearer(accessA), "?account=BILLING", []string{a2}},
		{"tenant admin, fingerprint", saBearer(accessA), "?fingerprint=fp-a2", []string{a2}},
		{"tenant admin, page", saBearer(accessA), "?limit=1&offset=1", []string{a1}},
		{"other tenant admin", saBearer(accessB), "", []string{b1}},
		{"operator, every tenant", saOverride(operator, "INC-7"), "", []string{g1, b1, a2, a1}},
		{"operator, one tenant", saOverride(operator, "INC-7"), "?tenant_id=" + tenantB, []string{b1}},
		{"operator, one tenant and global", saOverride(operator, "INC-7"), "?include_global=true&tenant_id=" + tenantB, []string{g1, b1}},
		{"operator, user accounts never listed", saOverride(operator, "INC-7"), "?account=user", []string{}},
	}
	for _, tc := range cases {
		r := list(tc.headers, tc.query)
		if got := saItems(t, r); !slices.Equal(got, tc.want) {
			t.Errorf("%s: jtis %v, want %v", tc.name, got, tc.want)
		}
		if r.body["total"] != float64(len(tc.want)) && !strings.Contains(tc.query, "limit=1") {
			t.Errorf("%s: total %v", tc.name, r.body["total"])
		}
	}
	page := list(saBearer(accessA), "?limit=1&offset=1")
	if page.body["total"] != float64(2) || page.body["limit"] != float64(1) || page.body["offset"] != float64(1) {
		t.Errorf("page %s", page.raw)
	}
	item := list(saBearer(accessA), "?fingerprint=fp-a2").body["items"].([]any)[0].(map[string]any)
	wantItem := map[string]any{
		"jti": a2, "account": "billing-worker", "tenant_id": tenantA, "scopes": []any{"billing:read"},
		"issued_at": servertest.Start.Truncate(time.Second).Add(time.Second).Format(time.RFC3339), "revoked_at": nil,
		"revoked_reason": nil, "fingerprint": "fp-a2", "signing_kid": userRow.SigningKID,
	}
	if fmt.Sprint(item) != fmt.Sprint(saWith(wantItem, "expires_at", item["expires_at"])) || len(item) != 10 {
		t.Errorf("item %v, want %v", item, wantItem)
	}

	for _, f := range []struct {
		name    string
		headers map[string]string
		query   string
		status  int
		detail  string
	}{
		{"tenant admin, another tenant", saBearer(accessA), "?tenant_id=" + tenantB, 403, "Tenant administrators may only query their own tenant."},
		{"operator without reason", saOverride(operator, ""), "", 400, dOperatorReason},
		{"operator, unknown tenant", saOverride(operator, "INC-7"), "?tenant_id=" + uuid.NewString(), 400, dUnknownTenant},
		{"member", saBearer(env.Sign(t, saPerson(env, tenantA, "member"))), "", 403, dActorRequired},
	} {
		t.Run(f.name, func(t *testing.T) { saError(t, list(f.headers, f.query), f.status, f.detail) })
	}
	if r := list(saBearer(accessA), "?tenant_id=acme"); r.code != http.StatusUnprocessableEntity {
		t.Errorf("non-uuid tenant_id: %d %s", r.code, r.raw)
	}

	revoke := func(headers map[string]string, id string, body map[string]any) saResp {
		return saCall(t, env, http.MethodPost, saTokens+"/"+url.PathEscape(id)+"/revoke", headers, body)
	}
	for name, id := range map[string]string{
		"another tenant's token": b1, "a global token": g1, "a person's refresh token": userRow.JTI,
		"an unknown jti": uuid.NewString(), "a non-uuid jti": "not-a-jti",
	} {
		saError(t, revoke(saBearer(accessA), id, map[string]any{}), http.StatusNotFound, dTokenNotFound)
		if name != "an unknown jti" && name != "a non-uuid jti" {
			if row, err := env.Store.RefreshTokens().ByJTI(t.Context(), id); err != nil || row.RevokedAt != nil {
				t.Errorf("%s: revoked by a tenant admin (%v)", name, err)
			}
		}
	}
	saError(t, revoke(saOverride(operator, "INC-7"), userRow.JTI, map[string]any{}), http.StatusNotFound, dTokenNotFound)

	env.Clock.Advance(time.Minute)
	r := revoke(saBearer(accessA), a1, map[string]any{})
	if r.code != http.StatusOK || strings.TrimSpace(r.raw) != fmt.Sprintf(`{"success":true,"message":"Service account token revoked.","data":{"jti":"%s"}}`, a1) {
		t.Fatalf("revoke own: %d %s", r.code, r.raw)
	}
	if row, _ := env.Store.RefreshTokens().ByJTI(t.Context(), a1); row.RevokedAt == nil || row.RevokedReason != "tenant_admin_manual_revoke" || row.RevokedAt.Sub(env.Clock.Now()).Abs() >= time.Millisecond {
		t.Errorf("revoked row %+v", row)
	}
	if r := revoke(saBearer(accessA), a2, map[string]any{"reason": "rotating the billing key"}); r.code != http.StatusOK {
		t.Fatalf("revoke with reason: %d %s", r.code, r.raw)
	}
	if row, _ := env.Store.RefreshTokens().ByJTI(t.Context(), a2); row.RevokedReason != "rotating the billing key" {
		t.Errorf("reason %q", row.RevokedReason)
	}
	if r := revoke(saOverride(operator, "INC-7 leaked token"), b1, map[string]any{}); r.code != http.StatusOK {
		t.Fatalf("operator revoke: %d %s", r.code, r.raw)
	}
	if row, _ := env.Store.RefreshTokens().ByJTI(t.Context(), b1); row.RevokedReason != "INC-7 leaked token" {
		t.Errorf("operator reason %q", row.RevokedReason)
	}
	saError(t, saExchange(t, env, b1Tok.token()), http.StatusUnauthorized, dRefreshRevoked)

	if got := saItems(t, list(saBearer(accessA), "?status=revoked")); !slices.Equal(got, []string{a2, a1}) {
		t.Errorf("revoked listing %v", got)
	}
	if got := saItems(t, list(saBearer(accessA), "")); len(got) != 0 {
		t.Errorf("active listing after revocation %v", got)
	}
	if got := saItems(t, list(saOverride(operator, "INC-7"), "?status=all")); !slices.Equal(got, []string{g1, b1, a2, a1}) {
		t.Errorf("operator status=all %v", got)
	}
}
