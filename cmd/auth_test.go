package cmd

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// apiCall is one request the fake API received.
type apiCall struct {
	method, path string
	query        url.Values
	header       http.Header
	body         string
}

// fakeAPI answers every request with status and body, and records it.
type fakeAPI struct {
	*httptest.Server
	mu    sync.Mutex
	calls []apiCall
}

func newFakeAPI(t *testing.T, status int, body string) *fakeAPI {
	t.Helper()
	f := &fakeAPI{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.calls = append(f.calls, apiCall{r.Method, r.URL.EscapedPath(), r.URL.Query(), r.Header.Clone(), string(raw)})
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(f.Close)
	return f
}

// call returns the one request received.
func (f *fakeAPI) call(t *testing.T) apiCall {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) != 1 {
		t.Fatalf("API received %d requests, want 1", len(f.calls))
	}
	return f.calls[0]
}

// fakeTransit is Vault's Transit sign endpoint for key cli-key with token root.
type fakeTransit struct {
	*httptest.Server
	mu     sync.Mutex
	signed [][]byte // the decoded inputs
}

const fakeSignature = "vault:v1:MEUCIQDsig+/="

func newFakeTransit(t *testing.T, status int) *fakeTransit {
	t.Helper()
	f := &fakeTransit{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/transit/sign/cli-key" || r.Header.Get("X-Vault-Token") != "root" {
			t.Errorf("vault got %s %s token %q", r.Method, r.URL.Path, r.Header.Get("X-Vault-Token"))
			http.Error(w, `{"errors":["bad request"]}`, http.StatusBadRequest)
			return
		}
		var in struct {
			Input              string `json:"input"`
			SignatureAlgorithm string `json:"signature_algorithm"`
		}
		json.NewDecoder(r.Body).Decode(&in)
		if in.SignatureAlgorithm != "sha2-256" {
			t.Errorf("signature_algorithm = %q", in.SignatureAlgorithm)
		}
		payload, err := base64.StdEncoding.DecodeString(in.Input)
		if err != nil {
			t.Errorf("input is not standard base64: %v", err)
		}
		f.mu.Lock()
		f.signed = append(f.signed, payload)
		f.mu.Unlock()
		w.WriteHeader(status)
		if status >= 400 {
			io.WriteString(w, `{"errors":["permission denied"]}`)
			return
		}
		fmt.Fprintf(w, `{"data":{"signature":%q,"key_version":1}}`, fakeSignature)
	}))
	t.Cleanup(f.Close)
	return f
}

const issuedJSON = `{"refresh_token":"rt.abc","expires_at":"2026-02-01T00:00:00+00:00","issued_at":"2026-01-01T00:00:00+00:00",` +
	`"scopes":["billing:manage","billing:read"],"tenant_id":null,"kid":"ed25519-abc","account":"billing-worker","token_use":"refresh","session_id":null}`

func TestAuthGroupsPrintHelp(t *testing.T) {
	t.Parallel()
	lookup := func(k string) (string, bool) {
		t.Errorf("help read %s from the environment", k)
		return "", false
	}
	for _, args := range [][]string{{"auth"}, {"auth", "tokens"}, {"auth", "tokens", "issue-service-account", "--help"}} {
		var out, errb bytes.Buffer
		if code := run(t.Context(), args, env{lookup: lookup, dir: t.TempDir()}, nil, &out, &errb); code != 0 {
			t.Errorf("%v: exit %d, stderr %s", args, code, errb.String())
		}
		if !strings.Contains(out.String(), "Usage:") {
			t.Errorf("%v printed no help:\n%s", args, out.String())
		}
	}
}

func TestIssueDevLocal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name     string
		vars     map[string]string
		args     []string
		wantBody string
	}{
		{"forced local mode", with(baseVars(dir), "AUTH_CLI_DEV_AUTH_MODE", "LOCAL", "VAULT_ADDR", "http://127.0.0.1:1", "VAULT_TOKEN", "t"),
			[]string{"-a", "billing-worker", "-s", "billing:read"},
			`{"account":"billing-worker","scopes":["billing:read"],"tenant_id":null,"lifetime_minutes":null,"fingerprint":null,"force":false}`},
		{"no vault settings", baseVars(dir),
			[]string{"--account", "billing-worker", "--scopes", " billing:read, ,billing:manage ", "--tenant", "3f1c0a52-5b8e-4a86-9d5e-0c6a1e2b7d41",
				"--lifetime", "60", "--fingerprint", "ci-<runner>", "--force"},
			`{"account":"billing-worker","scopes":["billing:read","billing:manage"],"tenant_id":"3f1c0a52-5b8e-4a86-9d5e-0c6a1e2b7d41",` +
				`"lifetime_minutes":60,"fingerprint":"ci-<runner>","force":true}`},
		{"settings cannot be loaded", with(baseVars(dir), "PORT", "80a", "VAULT_ADDR", "http://127.0.0.1:1", "VAULT_TOKEN", "t"),
			[]string{"-a", "billing-worker", "-s", "billing:read", "--lifetime", "0"},
			`{"account":"billing-worker","scopes":["billing:read"],"tenant_id":null,"lifetime_minutes":0,"fingerprint":null,"force":false}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, http.StatusCreated, issuedJSON)
			args := append([]string{"auth", "tokens", "issue-service-account", "--base-url", api.URL + "/"}, tt.args...)
			r := runCmd(t, t.Context(), dir, tt.vars, args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			c := api.call(t)
			if c.method != http.MethodPost || c.path != "/api/v1/auth/service-accounts/issue" {
				t.Errorf("request %s %s", c.method, c.path)
			}
			if got := c.header.Get("Authorization"); got != "Bearer dev-local" {
				t.Errorf("Authorization = %q, want Bearer dev-local", got)
			}
			if got := c.header.Get("X-Vault-Payload"); got != "" {
				t.Errorf("X-Vault-Payload = %q in dev-local mode", got)
			}
			if got := c.header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q", got)
			}
			if c.body != tt.wantBody {
				t.Errorf("body\n got %s\nwant %s", c.body, tt.wantBody)
			}
			if r.stderr != "[SUCCESS] [auth] Service-account token issued.\n" {
				t.Errorf("stderr = %q", r.stderr)
			}
		})
	}
}

func TestIssueOutputs(t *testing.T) {
	t.Parallel()
	const wantJSON = `{
  "refresh_token": "rt.abc",
  "expires_at": "2026-02-01T00:00:00+00:00",
  "issued_at": "2026-01-01T00:00:00+00:00",
  "scopes": [
    "billing:manage",
    "billing:read"
  ],
  "tenant_id": null,
  "kid": "ed25519-abc",
  "account": "billing-worker",
  "token_use": "refresh",
  "session_id": null
}
`
	const wantText = `Account: billing-worker
Scopes: billing:manage, billing:read
Issued At: 2026-01-01T00:00:00+00:00
Expires At: 2026-02-01T00:00:00+00:00
Tenant ID: global
Token Use: refresh
Key ID: ed25519-abc

Refresh Token:
rt.abc
`
	withTenant := strings.Replace(issuedJSON, `"tenant_id":null`, `"tenant_id":"t-1"`, 1)
	tests := []struct {
		name, resp string
		vars, args []string
		want       string
	}{
		{"json by default", issuedJSON, nil, nil, wantJSON},
		{"json flag over env", issuedJSON, []string{"AUTH_CLI_OUTPUT", "env"}, []string{"-o", "json"}, wantJSON},
		{"text", issuedJSON, nil, []string{"--output", "text"}, wantText},
		{"text with tenant", withTenant, nil, []string{"-o", "text"}, strings.Replace(wantText, "Tenant ID: global", "Tenant ID: t-1", 1)},
		{"env from AUTH_CLI_OUTPUT", issuedJSON, []string{"AUTH_CLI_OUTPUT", "ENV"}, nil, "AUTH_REFRESH_TOKEN=rt.abc\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			api := newFakeAPI(t, http.StatusCreated, tt.resp)
			vars := with(baseVars(dir), append([]string{"AUTH_CLI_BASE_URL", api.URL, "AUTH_CLI_DEV_AUTH_MODE", "local"}, tt.vars...)...)
			r := runCmd(t, t.Context(), dir, vars, append([]string{"auth", "tokens", "issue-service-account", "-a", "billing-worker", "-s", "billing:read"}, tt.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if diff := cmp.Diff(tt.want, r.stdout); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIssueErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		resp   string
		args   []string
		want   string // the whole stderr
		called bool
	}{
		{"error field of our envelope", 400, `{"success":false,"error":"Service account 'x' is not defined.","message":"Bad request","details":null}`, nil,
			"[ERROR] Issuance failed (400): Service account 'x' is not defined.\n", true},
		{"detail first", 401, `{"detail":"Vault-signed credential required for service-account issuance.","error":"e"}`, nil,
			"[ERROR] Issuance failed (401): Vault-signed credential required for service-account issuance.\n", true},
		{"message", 429, `{"message":"slow down"}`, nil, "[ERROR] Issuance failed (429): slow down\n", true},
		{"raw text", 502, "bad gateway\n", nil, "[ERROR] Issuance failed (502): bad gateway\n", true},
		{"no scopes left", 201, issuedJSON, []string{"-s", " , "}, "[ERROR] At least one scope must be provided via --scopes.\n", false},
		{"bad output", 201, issuedJSON, []string{"-o", "yaml"}, "[ERROR] invalid --output \"yaml\": want json, text, env\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			api := newFakeAPI(t, tt.status, tt.resp)
			vars := with(baseVars(dir), "AUTH_CLI_DEV_AUTH_MODE", "local")
			args := append([]string{"auth", "tokens", "issue-service-account", "--base-url", api.URL, "-a", "billing-worker", "-s", "billing:read"}, tt.args...)
			r := runCmd(t, t.Context(), dir, vars, args...)
			if r.code != 1 || r.stdout != "" {
				t.Fatalf("exit %d stdout %q, want 1 and nothing", r.code, r.stdout)
			}
			if r.stderr != tt.want {
				t.Errorf("stderr = %q, want %q", r.stderr, tt.want)
			}
			api.mu.Lock()
			if called := len(api.calls) > 0; called != tt.called {
				t.Errorf("API called = %v, want %v", called, tt.called)
			}
			api.mu.Unlock()
		})
	}
}

func TestIssueMissingFlags(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		args []string
		want string
	}{
		"no account":         {[]string{"auth", "tokens", "issue-service-account", "-s", "a"}, `required flag(s) "account" not set`},
		"no scopes":          {[]string{"auth", "tokens", "issue-service-account", "-a", "a"}, `required flag(s) "scopes" not set`},
		"bad lifetime":       {[]string{"auth", "tokens", "issue-service-account", "-a", "a", "-s", "b", "--lifetime", "x"}, `invalid argument "x"`},
		"revoke without jti": {[]string{"auth", "tokens", "revoke"}, "accepts 1 arg(s), received 0"},
		"list with args":     {[]string{"auth", "tokens", "list", "extra"}, `unknown command "extra"`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := runCmd(t, t.Context(), t.TempDir(), map[string]string{}, tt.args...)
			if r.code != 1 || !strings.HasPrefix(r.stderr, "[ERROR] ") || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d stderr %q, want 1 and [ERROR] …%s", r.code, r.stderr, tt.want)
			}
		})
	}
}

func TestIssueVaultMode(t *testing.T) {
	t.Parallel()
	const tenant = "3f1c0a52-5b8e-4a86-9d5e-0c6a1e2b7d41"
	tests := []struct {
		name     string
		args     []string
		wantTail string // the envelope after exp
		wantBody string
	}{
		{"all claims", []string{"-t", tenant, "--lifetime", "60", "--fingerprint", "ci"}, `,"fingerprint":"ci","lifetime_minutes":60}`,
			`{"account":"billing-worker","scopes":["billing:read","billing:manage"],"tenant_id":"` + tenant + `","lifetime_minutes":60,"fingerprint":"ci","force":false}`},
		{"no optional claims", nil, `}`,
			`{"account":"billing-worker","scopes":["billing:read","billing:manage"],"tenant_id":null,"lifetime_minutes":null,"fingerprint":null,"force":false}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			api := newFakeAPI(t, http.StatusCreated, issuedJSON)
			transit := newFakeTransit(t, http.StatusOK)
			vars := with(baseVars(dir), "VAULT_ADDR", transit.URL, "VAULT_TOKEN", "root", "VAULT_TRANSIT_KEY", "cli-key")
			before := time.Now().Unix()
			r := runCmd(t, t.Context(), dir, vars, append([]string{"auth", "tokens", "issue-service-account", "--base-url", api.URL,
				"-a", "billing-worker", "-s", "billing:read,billing:manage", "-o", "env"}, tt.args...)...)
			after := time.Now().Unix()
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			c := api.call(t)
			if got, want := c.header.Get("Authorization"), "Bearer vault:MEUCIQDsig+/="; got != want {
				t.Errorf("Authorization = %q, want %q", got, want)
			}
			payload, err := base64.RawURLEncoding.DecodeString(c.header.Get("X-Vault-Payload"))
			if err != nil {
				t.Fatalf("X-Vault-Payload is not unpadded base64url: %v", err)
			}
			transit.mu.Lock()
			signed := transit.signed
			transit.mu.Unlock()
			if len(signed) != 1 || !bytes.Equal(signed[0], payload) {
				t.Fatalf("Vault signed %q, header carries %q", signed, payload)
			}
			var claims struct {
				Nonce    string
				Iat, Exp int64
			}
			if err := json.Unmarshal(payload, &claims); err != nil {
				t.Fatalf("payload is not JSON: %v\n%s", err, payload)
			}
			if !regexp.MustCompile(`^[0-9a-f]{12}4[0-9a-f]{19}$`).MatchString(claims.Nonce) {
				t.Errorf("nonce %q is not a uuid4 in hex", claims.Nonce)
			}
			if claims.Iat < before || claims.Iat > after || claims.Exp != claims.Iat+300 {
				t.Errorf("iat %d exp %d, want now (%d..%d) and now+300", claims.Iat, claims.Exp, before, after)
			}
			tenantClaim := "null"
			if strings.Contains(tt.wantBody, tenant) {
				tenantClaim = `"` + tenant + `"`
			}
			want := fmt.Sprintf(`{"iss":"vault-transit","aud":["auth-service"],"sub":"service-account-cli","account":"billing-worker",`+
				`"tenant_id":%s,"scopes":["billing:read","billing:manage"],"nonce":"%s","iat":%d,"exp":%d%s`,
				tenantClaim, claims.Nonce, claims.Iat, claims.Exp, tt.wantTail)
			if string(payload) != want {
				t.Errorf("envelope\n got %s\nwant %s", payload, want)
			}
			if c.body != tt.wantBody {
				t.Errorf("body\n got %s\nwant %s", c.body, tt.wantBody)
			}
			if r.stdout != "AUTH_REFRESH_TOKEN=rt.abc\n" {
				t.Errorf("stdout = %q", r.stdout)
			}
		})
	}
}

func TestIssueVaultSignFails(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	api := newFakeAPI(t, http.StatusCreated, issuedJSON)
	transit := newFakeTransit(t, http.StatusForbidden)
	vars := with(baseVars(dir), "VAULT_ADDR", transit.URL, "VAULT_TOKEN", "root", "VAULT_TRANSIT_KEY", "cli-key")
	r := runCmd(t, t.Context(), dir, vars, "auth", "tokens", "issue-service-account", "--base-url", api.URL, "-a", "x", "-s", "y")
	if want := "[ERROR] Vault sign failed (403): permission denied\n"; r.code != 1 || r.stderr != want {
		t.Errorf("exit %d stderr %q, want 1 and %q", r.code, r.stderr, want)
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	if len(api.calls) != 0 {
		t.Errorf("API called after a failed signature")
	}
}

const listJSON = `{"items":[{"jti":"j1","account":"billing-worker","tenant_id":"t-1","scopes":["billing:read","billing:manage"],` +
	`"issued_at":"2026-01-01T00:00:00+00:00","expires_at":"2026-02-01T00:00:00+00:00","revoked_at":null,"revoked_reason":null,` +
	`"fingerprint":"ci","signing_kid":"k1"},{"jti":"j22","account":"support-console","tenant_id":null,"scopes":["support:*"],` +
	`"issued_at":"2026-01-03T00:00:00+00:00","expires_at":"2026-01-10T00:00:00+00:00","revoked_at":"2026-01-04T00:00:00+00:00",` +
	`"revoked_reason":"leaked","fingerprint":null,"signing_kid":"k1"}],"total":7,"limit":2,"offset":4}`

func TestTokensList(t *testing.T) {
	t.Parallel()
	const wantText = `JTI  ACCOUNT          TENANT  SCOPES                       ISSUED AT                  EXPIRES AT                 REVOKED AT                 FINGERPRINT
j1   billing-worker   t-1     billing:read,billing:manage  2026-01-01T00:00:00+00:00  2026-02-01T00:00:00+00:00  -                          ci
j22  support-console  global  support:*                    2026-01-03T00:00:00+00:00  2026-01-10T00:00:00+00:00  2026-01-04T00:00:00+00:00  -
2 of 7 (offset 4, limit 2)
`
	tests := []struct {
		name       string
		vars, args []string
		wantQuery  url.Values
		wantHeader map[string]string
		want       string
	}{
		{"no filters, token from env", []string{"AUTH_CLI_TOKEN", "env-token"}, nil, url.Values{},
			map[string]string{"Authorization": "Bearer env-token", "X-Operator-Override": "", "X-Operator-Reason": ""}, ""},
		{"every filter as operator, text", []string{"AUTH_CLI_TOKEN", "env-token"},
			[]string{"--token", "flag-token", "--account", "billing", "--fingerprint", "ci", "--status", "all", "--tenant", "t-1",
				"--include-global", "--limit", "2", "--offset", "4", "--operator-reason", "incident 42", "-o", "text"},
			url.Values{"account": {"billing"}, "fingerprint": {"ci"}, "status": {"all"}, "tenant_id": {"t-1"}, "include_global": {"true"},
				"limit": {"2"}, "offset": {"4"}},
			map[string]string{"Authorization": "Bearer flag-token", "X-Operator-Override": "true", "X-Operator-Reason": "incident 42"}, wantText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, http.StatusOK, listJSON)
			vars := with(map[string]string{"AUTH_CLI_BASE_URL": api.URL}, tt.vars...)
			r := runCmd(t, t.Context(), t.TempDir(), vars, append([]string{"auth", "tokens", "list"}, tt.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			c := api.call(t)
			if c.method != http.MethodGet || c.path != "/api/v1/auth/service-accounts/tokens" || c.body != "" {
				t.Errorf("request %s %s body %q", c.method, c.path, c.body)
			}
			if diff := cmp.Diff(tt.wantQuery, c.query); diff != "" {
				t.Errorf("query (-want +got):\n%s", diff)
			}
			for k, v := range tt.wantHeader {
				if got := c.header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			want := tt.want
			if want == "" {
				var b bytes.Buffer
				json.Indent(&b, []byte(listJSON), "", "  ")
				want = b.String() + "\n"
			}
			if diff := cmp.Diff(want, r.stdout); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTokensRevoke(t *testing.T) {
	t.Parallel()
	const revokedJSON = `{"success":true,"message":"Service account token revoked.","data":{"jti":"j/1"}}`
	tests := []struct {
		name       string
		args       []string
		wantBody   string
		wantHeader map[string]string
		want       string
	}{
		{"no reason", nil, `{}`, map[string]string{"X-Operator-Override": "", "Authorization": "Bearer tok"},
			"{\n  \"success\": true,\n  \"message\": \"Service account token revoked.\",\n  \"data\": {\n    \"jti\": \"j/1\"\n  }\n}\n"},
		{"reason as operator, text", []string{"--reason", `leaked "key"`, "--operator-reason", "incident 42", "-o", "text"},
			`{"reason":"leaked \"key\""}`, map[string]string{"X-Operator-Override": "true", "X-Operator-Reason": "incident 42"}, "Revoked: j/1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, http.StatusOK, revokedJSON)
			r := runCmd(t, t.Context(), t.TempDir(), map[string]string{"AUTH_CLI_TOKEN": "tok"},
				append([]string{"auth", "tokens", "revoke", "j/1", "--base-url", api.URL}, tt.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			c := api.call(t)
			if c.method != http.MethodPost || c.path != "/api/v1/auth/service-accounts/tokens/j%2F1/revoke" {
				t.Errorf("request %s %s", c.method, c.path)
			}
			if c.body != tt.wantBody || c.header.Get("Content-Type") != "application/json" {
				t.Errorf("body %s (%s), want %s", c.body, c.header.Get("Content-Type"), tt.wantBody)
			}
			for k, v := range tt.wantHeader {
				if got := c.header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if diff := cmp.Diff(tt.want, r.stdout); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			if r.stderr != "[SUCCESS] [auth] Service-account token revoked.\n" {
				t.Errorf("stderr = %q", r.stderr)
			}
		})
	}
}

func TestTokensListRevokeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		vars   map[string]string
		status int
		args   []string
		want   string
	}{
		{"list without token", map[string]string{}, 200, []string{"list"}, "[ERROR] no access token: set AUTH_CLI_TOKEN or pass --token\n"},
		{"revoke without token", map[string]string{}, 200, []string{"revoke", "j1"}, "[ERROR] no access token: set AUTH_CLI_TOKEN or pass --token\n"},
		{"list forbidden", map[string]string{"AUTH_CLI_TOKEN": "t"}, 403, []string{"list"},
			"[ERROR] Listing failed (403): Tenant administrators may only query their own tenant.\n"},
		{"revoke forbidden", map[string]string{"AUTH_CLI_TOKEN": "t"}, 403, []string{"revoke", "j1"},
			"[ERROR] Revocation failed (403): Tenant administrators may only query their own tenant.\n"},
		{"bad status", map[string]string{"AUTH_CLI_TOKEN": "t"}, 200, []string{"list", "--status", "gone"},
			"[ERROR] invalid --status \"gone\": want active, revoked, all\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, tt.status, `{"success":false,"error":"Tenant administrators may only query their own tenant.","message":"Forbidden"}`)
			r := runCmd(t, t.Context(), t.TempDir(), tt.vars, append(append([]string{"auth", "tokens"}, tt.args...), "--base-url", api.URL)...)
			if r.code != 1 || r.stdout != "" || r.stderr != tt.want {
				t.Errorf("exit %d stdout %q stderr %q, want 1, nothing and %q", r.code, r.stdout, r.stderr, tt.want)
			}
		})
	}
}

func TestIssueAgainstServe(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base, stop := startServe(t, dir, baseVars(dir))
	defer stop()
	vars := with(baseVars(dir), "AUTH_CLI_BASE_URL", base)
	r := runCmd(t, t.Context(), dir, vars, "auth", "tokens", "issue-service-account", "-a", "support-console", "-s", "support:*", "-o", "text")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "Account: support-console\nScopes: support:*\n") || !strings.Contains(r.stdout, "Tenant ID: global\nToken Use: refresh\n") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	r = runCmd(t, t.Context(), dir, vars, "auth", "tokens", "issue-service-account", "-a", "analytics-batch", "-s", "conversations:read")
	if want := "[ERROR] Issuance failed (400): Service account 'analytics-batch' requires a tenant identifier.\n"; r.code != 1 || r.stderr != want {
		t.Errorf("exit %d stderr %q, want %q", r.code, r.stderr, want)
	}
}
