package ops_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"agentplane/keys"
	"agentplane/server/servertest"
)

func decode(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	return m
}

// counter reads a counter's value.
func counter(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func envelope(detail string, details any) map[string]any {
	return map[string]any{"success": false, "error": detail, "message": detail, "details": details}
}

func TestRoot(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	rec := env.Get("/")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	want := map[string]any{
		"service": servertest.AppName, "version": servertest.AppVersion, "description": servertest.AppDesc,
		"docs": "/docs", "health": "/health", "api": "/api/v1", "chat": "/api/v1/chat", "agents": "/api/v1/agents",
	}
	if diff := cmp.Diff(want, decode(t, rec)); diff != "" {
		t.Errorf("GET / (-want +got):\n%s", diff)
	}
}

var naiveUTC = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?$`)

func TestHealth(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		advance   time.Duration
		timestamp string
		uptime    float64
	}{
		{name: "at start", timestamp: "2025-11-13T10:00:00.123456", uptime: 0},
		{name: "uptime rounded to 2 decimals", advance: 1234567 * time.Microsecond, timestamp: "2025-11-13T10:00:01.358023", uptime: 1.23},
		{name: "whole seconds drop the fraction", advance: 59*time.Second + 876544*time.Microsecond, timestamp: "2025-11-13T10:01:00", uptime: 59.88},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := servertest.New(t)
			env.Clock.Advance(tc.advance)
			for _, path := range []string{"/health", "/health/ready"} {
				rec := env.Get(path)
				if rec.Code != http.StatusOK {
					t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
				}
				status := map[string]string{"/health": "healthy", "/health/ready": "ready"}[path]
				want := map[string]any{"status": status, "timestamp": tc.timestamp, "version": servertest.AppVersion, "uptime": tc.uptime}
				got := decode(t, rec)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s (-want +got):\n%s", path, diff)
				}
				if ts, _ := got["timestamp"].(string); !naiveUTC.MatchString(ts) {
					t.Errorf("%s timestamp %q is not naive UTC ISO-8601", path, ts)
				}
			}
		})
	}
}

func TestReadyFailures(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		break_ func(env *servertest.Env)
		prefix string
	}{
		{name: "database closed", break_: func(env *servertest.Env) { env.Store.Close() },
			prefix: "Database connectivity check failed: "},
		{name: "redis down", break_: func(env *servertest.Env) { env.Redis.Close() },
			prefix: "Redis connectivity check failed: "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := servertest.New(t)
			tc.break_(env)
			rec := env.Get("/health/ready")
			if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("status %d Content-Type %q: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
			got := decode(t, rec)
			detail, _ := got["error"].(string)
			if !strings.HasPrefix(detail, tc.prefix) || len(detail) == len(tc.prefix) {
				t.Fatalf("detail %q, want %q<error>", detail, tc.prefix)
			}
			if diff := cmp.Diff(envelope(detail, nil), got); diff != "" {
				t.Errorf("envelope (-want +got):\n%s", diff)
			}
			// The 503 is logged at error level with its cause.
			line := env.AccessLog(t, rec.Header().Get("X-Correlation-ID"))
			if line == nil || line["level"] != "ERROR" || line["status"] != float64(503) || line["error"] == nil {
				t.Errorf("access log %v", line)
			}
			// Liveness never fails.
			if rec := env.Get("/health"); rec.Code != http.StatusOK {
				t.Errorf("/health: %d", rec.Code)
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	const token = "s3cret-metrics"
	cases := []struct {
		name   string
		token  string // METRICS_TOKEN
		auth   string // Authorization
		status int
	}{
		{name: "open without METRICS_TOKEN", status: 200},
		{name: "open ignores a header", auth: "Bearer whatever", status: 200},
		{name: "token: missing header", token: token, status: 401},
		{name: "token: wrong token", token: token, auth: "Bearer nope", status: 401},
		{name: "token: wrong scheme", token: token, auth: "Basic " + token, status: 401},
		{name: "token: scheme only", token: token, auth: "Bearer", status: 401},
		{name: "token: right token", token: token, auth: "Bearer " + token, status: 200},
		{name: "token: scheme case-insensitive", token: token, auth: "bearer " + token, status: 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := servertest.New(t, servertest.WithMetricsToken(tc.token))
			req := env.Request(http.MethodGet, "/metrics", nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := env.Do(req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.status == http.StatusUnauthorized {
				if got := rec.Header().Get("WWW-Authenticate"); got != "Bearer" {
					t.Errorf("WWW-Authenticate %q", got)
				}
				if diff := cmp.Diff(envelope("Not authenticated", map[string]any{"WWW-Authenticate": "Bearer"}), decode(t, rec)); diff != "" {
					t.Errorf("envelope (-want +got):\n%s", diff)
				}
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			body := rec.Body.String()
			for _, name := range []string{"jwks_requests_total", "jwt_verifications_total", "service_account_issuance_total",
				"jwks_not_modified_total", "rate_limit_hits_total", "stripe_webhook_events_total"} {
				if !strings.Contains(body, "# TYPE "+name+" ") {
					t.Errorf("scrape lacks %s", name)
				}
			}
		})
	}
}

// The contract test's sequence: one JWKS request, then the scrape.
func TestMetricsAfterJWKS(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	if rec := env.Get("/.well-known/jwks.json"); rec.Code != http.StatusOK {
		t.Fatalf("jwks: %d", rec.Code)
	}
	body := env.Get("/metrics").Body.String()
	for _, want := range []string{"jwks_requests_total 1", "jwt_verifications_total", "service_account_issuance_total"} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}

func TestJWKS(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	rec := env.Get("/.well-known/jwks.json")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	etag, lastMod := rec.Header().Get("ETag"), rec.Header().Get("Last-Modified")
	if !regexp.MustCompile(`^"[0-9a-f]{64}"$`).MatchString(etag) {
		t.Errorf("ETag %q, want a quoted SHA-256 hex", etag)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=300" {
		t.Errorf("Cache-Control %q", cc)
	}
	if want := servertest.Start.Format(http.TimeFormat); lastMod != want {
		t.Errorf("Last-Modified %q, want %q (the key's created_at)", lastMod, want)
	}
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || len(doc.Keys) != 1 {
		t.Fatalf("body %s: %v", rec.Body, err)
	}
	k := doc.Keys[0]
	for key, want := range map[string]any{"kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA"} {
		if k[key] != want {
			t.Errorf("jwk %s = %v, want %v", key, k[key], want)
		}
	}
	if _, hasD := k["d"]; hasD {
		t.Error("the JWKS publishes a private key")
	}

	cases := []struct {
		name        string
		ifNoneMatch string
		status      int
	}{
		{name: "matching ETag", ifNoneMatch: etag, status: http.StatusNotModified},
		{name: "other ETag", ifNoneMatch: `"abc"`, status: http.StatusOK},
		{name: "weak form is not a match", ifNoneMatch: "W/" + etag, status: http.StatusOK},
		{name: "list is not a match", ifNoneMatch: etag + `, "abc"`, status: http.StatusOK},
		{name: "unquoted is not a match", ifNoneMatch: strings.Trim(etag, `"`), status: http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := counter(t, env.Metrics.JWKSNotModified)
			req := env.Request(http.MethodGet, "/.well-known/jwks.json", nil)
			req.Header.Set("If-None-Match", tc.ifNoneMatch)
			rec := env.Do(req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			for h, want := range map[string]string{"ETag": etag, "Last-Modified": lastMod, "Cache-Control": "public, max-age=300"} {
				if got := rec.Header().Get(h); got != want {
					t.Errorf("%s %q, want %q", h, got, want)
				}
			}
			wantInc := 0.0
			if tc.status == http.StatusNotModified {
				wantInc = 1
				if rec.Body.Len() != 0 {
					t.Errorf("304 body %q", rec.Body)
				}
			}
			if got := counter(t, env.Metrics.JWKSNotModified) - before; got != wantInc {
				t.Errorf("jwks_not_modified_total +%v, want +%v", got, wantInc)
			}
		})
	}
	if got := counter(t, env.Metrics.JWKSRequests); got != float64(1+len(cases)) {
		t.Errorf("jwks_requests_total %v, want %d (200s and 304s)", got, 1+len(cases))
	}

	// A rotation changes the ETag; the old one no longer gives 304.
	env.Clock.Advance(time.Hour)
	if _, err := keys.Rotate(t.Context(), env.Keys, keys.RotateOptions{Now: env.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := env.Manager.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	req := env.Request(http.MethodGet, "/.well-known/jwks.json", nil)
	req.Header.Set("If-None-Match", etag)
	rec = env.Do(req)
	if rec.Code != http.StatusOK || rec.Header().Get("ETag") == etag || rec.Header().Get("ETag") == "" {
		t.Fatalf("after rotation: status %d ETag %q (was %q)", rec.Code, rec.Header().Get("ETag"), etag)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || len(doc.Keys) != 2 {
		t.Errorf("after rotation: %d keys (active + retired), body %s", len(doc.Keys), rec.Body)
	}
	if want := env.Clock.Now().Format(http.TimeFormat); rec.Header().Get("Last-Modified") != want {
		t.Errorf("Last-Modified %q, want %q", rec.Header().Get("Last-Modified"), want)
	}
}

func TestOpenAPI(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	rec := env.Get("/openapi.json")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	var doc struct {
		Paths map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{"/": true, "/health": true, "/health/ready": true, "/metrics": false, "/.well-known/jwks.json": false} {
		if _, got := doc.Paths[path]; got != want {
			t.Errorf("openapi lists %s: %v, want %v", path, got, want)
		}
	}
}
