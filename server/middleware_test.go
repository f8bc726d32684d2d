package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/google/uuid"

	"agentplane/server"
	"agentplane/server/servertest"
)

func TestRouting(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	cases := []struct {
		name     string
		method   string
		target   string
		status   int
		body     map[string]any // nil: not checked
		allow    string
		location string
	}{
		{name: "unknown path", method: "GET", target: "/nope", status: 404,
			body: map[string]any{"detail": "Not Found", "success": false, "error": "Not Found", "message": "Not Found", "details": nil}},
		{name: "unknown nested path", method: "POST", target: "/api/v1/nope/deeper", status: 404,
			body: map[string]any{"detail": "Not Found", "success": false, "error": "Not Found", "message": "Not Found", "details": nil}},
		{name: "wrong method", method: "POST", target: "/health", status: 405, allow: "GET",
			body: map[string]any{"detail": "Method Not Allowed", "success": false, "error": "Method Not Allowed", "message": "Method Not Allowed", "details": nil}},
		{name: "wrong method on root", method: "DELETE", target: "/", status: 405, allow: "GET"},
		{name: "trailing slash", method: "GET", target: "/health/", status: 307, location: "http://testserver/health"},
		{name: "trailing slash keeps the query", method: "GET", target: "/health/ready/?x=1", status: 307,
			location: "http://testserver/health/ready?x=1"},
		{name: "trailing slash on an unknown path", method: "GET", target: "/nope/", status: 404},
		{name: "root exact", method: "GET", target: "/", status: 200},
		{name: "root is not a catch-all", method: "GET", target: "/x", status: 404},
		{name: "openapi", method: "GET", target: "/openapi.json", status: 200},
		{name: "docs off without debug", method: "GET", target: "/docs", status: 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := env.Do(env.Request(tc.method, tc.target, nil))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.body != nil {
				if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
				checkBody(t, rec, tc.body)
			}
			if tc.allow != "" && !strings.Contains(rec.Header().Get("Allow"), tc.allow) {
				t.Errorf("Allow %q, want it to list %s", rec.Header().Get("Allow"), tc.allow)
			}
			if got := rec.Header().Get("Location"); got != tc.location {
				t.Errorf("Location %q, want %q", got, tc.location)
			}
			if rec.Header().Get("X-Correlation-ID") == "" || rec.Header().Get("X-Process-Time") == "" {
				t.Errorf("missing correlation headers: %v", rec.Header())
			}
		})
	}
}

// HEAD is not served by GET routes, and Allow lists only declared methods
// (spec http-api.md §1.1: the reference answers 405).
func TestHeadIsNotAllowed(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	for _, method := range []string{http.MethodHead, http.MethodPost} {
		rec := env.Do(env.Request(method, "/health", nil))
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET" {
			t.Errorf("%s /health: status %d Allow %q, want 405 GET", method, rec.Code, rec.Header().Get("Allow"))
		}
		checkBody(t, rec, map[string]any{"detail": "Method Not Allowed", "success": false,
			"error": "Method Not Allowed", "message": "Method Not Allowed", "details": nil})
	}
}

func TestDocsInDebug(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, servertest.WithOptions(func(o *server.Options) { o.Debug = true }))
	if rec := env.Get("/docs"); rec.Code != http.StatusOK {
		t.Fatalf("GET /docs in debug: %d", rec.Code)
	}
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestCorrelationID(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	long := strings.Repeat("a", 128)
	cases := []struct {
		name    string
		headers map[string]string
		want    string // "" = a fresh UUIDv4
	}{
		{name: "none", want: ""},
		{name: "inbound echoed", headers: map[string]string{"X-Correlation-ID": "abc-123_x.y:z"}, want: "abc-123_x.y:z"},
		{name: "128 characters", headers: map[string]string{"X-Correlation-ID": long}, want: long},
		{name: "X-Request-ID fallback", headers: map[string]string{"X-Request-ID": "req-1"}, want: "req-1"},
		{name: "correlation wins over request id", headers: map[string]string{"X-Correlation-ID": "c-1", "X-Request-ID": "r-1"}, want: "c-1"},
		{name: "bad correlation falls back to request id", headers: map[string]string{"X-Correlation-ID": "bad id", "X-Request-ID": "r-2"}, want: "r-2"},
		{name: "space replaced", headers: map[string]string{"X-Correlation-ID": "has space"}},
		{name: "too long replaced", headers: map[string]string{"X-Correlation-ID": long + "a"}},
		{name: "slash replaced", headers: map[string]string{"X-Correlation-ID": "a/b"}},
		{name: "newline-ish replaced", headers: map[string]string{"X-Request-ID": "a\tb"}},
	}
	processTime := regexp.MustCompile(`^\d+\.\d{4}$`)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := env.Request(http.MethodGet, "/health", nil)
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			rec := env.Do(req)
			got := rec.Header().Get("X-Correlation-ID")
			if tc.want != "" && got != tc.want {
				t.Errorf("X-Correlation-ID %q, want %q", got, tc.want)
			}
			if tc.want == "" && !uuidV4.MatchString(got) {
				t.Errorf("X-Correlation-ID %q, want a fresh UUIDv4", got)
			}
			if pt := rec.Header().Get("X-Process-Time"); !processTime.MatchString(pt) {
				t.Errorf("X-Process-Time %q, want a 4-decimal number", pt)
			}
			if rec.Header().Get("X-Request-ID") != "" {
				t.Error("X-Request-ID must not be echoed")
			}
			if env.AccessLog(t, got) == nil {
				t.Errorf("no access log line carries correlation_id %q", got)
			}
		})
	}
}

// Two requests without an inbound id never share one.
func TestCorrelationIDFresh(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	a := env.Get("/health").Header().Get("X-Correlation-ID")
	b := env.Get("/health").Header().Get("X-Correlation-ID")
	if a == b || uuid.Validate(a) != nil {
		t.Errorf("ids %q and %q", a, b)
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	const origin = "http://localhost:3000"
	cases := []struct {
		name    string
		method  string
		headers map[string]string
		status  int
		body    string            // "" = not checked
		want    map[string]string // headers; "" value = must be absent
	}{
		{name: "preflight allowed", method: "OPTIONS",
			headers: map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "Authorization, X-Custom"},
			status:  200, body: "OK",
			want: map[string]string{
				"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
				"Access-Control-Allow-Headers": "Authorization, X-Custom", "Access-Control-Allow-Credentials": "true",
				"Access-Control-Max-Age": "600", "Vary": "Origin", "Content-Type": "text/plain; charset=utf-8",
			}},
		{name: "preflight disallowed origin", method: "OPTIONS",
			headers: map[string]string{"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"},
			status:  400, body: "Disallowed CORS origin",
			want: map[string]string{"Access-Control-Allow-Origin": "", "Content-Type": "text/plain; charset=utf-8"}},
		{name: "preflight disallowed origin and method", method: "OPTIONS",
			headers: map[string]string{"Origin": "http://evil.example", "Access-Control-Request-Method": "TRACE"},
			status:  400, body: "Disallowed CORS origin, method",
			want: map[string]string{"Access-Control-Allow-Origin": ""}},
		{name: "preflight disallowed method", method: "OPTIONS",
			headers: map[string]string{"Origin": origin, "Access-Control-Request-Method": "TRACE"},
			status:  400, body: "Disallowed CORS method"},
		{name: "preflight on an unknown path still answered", method: "OPTIONS",
			headers: map[string]string{"Origin": origin, "Access-Control-Request-Method": "GET"}, status: 200, body: "OK"},
		{name: "simple allowed origin", method: "GET", headers: map[string]string{"Origin": origin}, status: 200,
			want: map[string]string{"Access-Control-Allow-Origin": origin, "Vary": "Origin", "Access-Control-Allow-Credentials": "true"}},
		{name: "simple disallowed origin", method: "GET", headers: map[string]string{"Origin": "http://evil.example"}, status: 200,
			want: map[string]string{"Access-Control-Allow-Origin": "", "Vary": "", "Access-Control-Allow-Credentials": "true"}},
		{name: "no origin", method: "GET", status: 200,
			want: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Credentials": ""}},
		{name: "no expose headers", method: "GET", headers: map[string]string{"Origin": origin}, status: 200,
			want: map[string]string{"Access-Control-Expose-Headers": ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			target := "/health"
			if strings.Contains(tc.name, "unknown path") {
				target = "/nope"
			}
			req := env.Request(tc.method, target, nil)
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			rec := env.Do(req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.body != "" && rec.Body.String() != tc.body {
				t.Errorf("body %q, want %q", rec.Body, tc.body)
			}
			for k, v := range tc.want {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if rec.Header().Get("X-Correlation-ID") == "" {
				t.Error("CORS answers carry X-Correlation-ID too")
			}
		})
	}
}

// ALLOWED_ORIGINS=* echoes any origin; a fixed header list refuses others.
func TestCORSWildcardAndHeaderList(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, servertest.WithOptions(func(o *server.Options) {
		o.AllowedOrigins = []string{"*"}
		o.AllowedHeaders = []string{"Authorization", "Content-Type"}
	}))
	pre := func(headers string) *http.Request {
		r := env.Request(http.MethodOptions, "/health", nil)
		r.Header.Set("Origin", "http://any.example")
		r.Header.Set("Access-Control-Request-Method", "GET")
		r.Header.Set("Access-Control-Request-Headers", headers)
		return r
	}
	if rec := env.Do(pre("authorization")); rec.Code != 200 || rec.Header().Get("Access-Control-Allow-Origin") != "http://any.example" {
		t.Errorf("allowed header: %d %v", rec.Code, rec.Header())
	}
	if rec := env.Do(pre("X-Other")); rec.Code != 400 || rec.Body.String() != "Disallowed CORS headers" {
		t.Errorf("disallowed header: %d %q", rec.Code, rec.Body)
	}
}

func TestTrustedHosts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		allowed  []string
		host     string
		status   int
		location string
	}{
		{name: "allowed", allowed: []string{"api.example.com"}, host: "api.example.com", status: 200},
		{name: "case-insensitive", allowed: []string{"api.example.com"}, host: "API.Example.com", status: 200},
		{name: "with port", allowed: []string{"api.example.com"}, host: "api.example.com:8000", status: 200},
		{name: "entry with a port never matches", allowed: []string{"localhost:8000"}, host: "localhost:8000", status: 400},
		{name: "bracketed IPv6 with port", allowed: []string{"::1"}, host: "[::1]:8000", status: 200},
		{name: "bracketed IPv6", allowed: []string{"::1"}, host: "[::1]", status: 200},
		{name: "IPv4", allowed: []string{"127.0.0.1"}, host: "127.0.0.1:8000", status: 200},
		{name: "wildcard", allowed: []string{"*.example.com"}, host: "a.b.example.com", status: 200},
		{name: "wildcard does not match the apex", allowed: []string{"*.example.com"}, host: "example.com", status: 400},
		{name: "wildcard does not match a lookalike", allowed: []string{"*.example.com"}, host: "evilexample.com", status: 400},
		{name: "disallowed", allowed: []string{"api.example.com"}, host: "evil.example.org", status: 400},
		{name: "www redirect", allowed: []string{"www.example.com"}, host: "example.com", status: 307,
			location: "http://www.example.com/health?q=1"},
		{name: "www redirect keeps the port", allowed: []string{"www.example.com"}, host: "example.com:8000", status: 307,
			location: "http://www.example.com:8000/health?q=1"},
		{name: "star allows all", allowed: []string{"*"}, host: "anything.invalid", status: 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := servertest.New(t, servertest.WithOptions(func(o *server.Options) { o.AllowedHosts = tc.allowed }))
			req := env.Request(http.MethodGet, "/health?q=1", nil)
			req.Host = tc.host
			rec := env.Do(req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if got := rec.Header().Get("Location"); got != tc.location {
				t.Errorf("Location %q, want %q", got, tc.location)
			}
			if tc.status == 400 {
				if ct := rec.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" || rec.Body.String() != "Invalid host header" {
					t.Errorf("rejection %q %q", ct, rec.Body)
				}
			}
			if rec.Header().Get("X-Correlation-ID") == "" {
				t.Error("host rejections carry X-Correlation-ID too")
			}
		})
	}
}

// A CORS preflight is answered before the host check (spec §1.8).
func TestPreflightBeforeHostCheck(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, servertest.WithOptions(func(o *server.Options) { o.AllowedHosts = []string{"api.example.com"} }))
	req := env.Request(http.MethodOptions, "/health", nil)
	req.Host = "evil.example.org"
	req.Header.Set("Origin", "http://localhost:3000")
	req.Header.Set("Access-Control-Request-Method", "GET")
	if rec := env.Do(req); rec.Code != 200 || rec.Body.String() != "OK" {
		t.Fatalf("preflight: %d %q", rec.Code, rec.Body)
	}
}

// TestBodyReadDeadlineLifted: huma bounds reading a body with a deadline it
// leaves on the connection; a handler that runs past it must keep its
// context (a chat stream or a model call lasts far longer than 5 s).
func TestBodyReadDeadlineLifted(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	type slowInput struct {
		Body struct {
			Message string `json:"message"`
		}
	}
	type slowOutput struct {
		Body struct {
			Context string `json:"context"`
		}
	}
	const readTimeout = 50 * time.Millisecond
	// reads the body first and hands huma a copy, as the authorizer's JSON
	// check does: net/http's background read then starts before huma sets
	// its deadline
	peek := func(ctx huma.Context, next func(huma.Context)) {
		r, _ := humago.Unwrap(ctx)
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		next(ctx)
	}
	huma.Register(env.Server.API(), huma.Operation{
		OperationID: "test-slow-post", Method: http.MethodPost, Path: "/t/slow", BodyReadTimeout: readTimeout,
		Middlewares: huma.Middlewares{peek},
	}, func(ctx context.Context, in *slowInput) (*slowOutput, error) {
		select {
		case <-ctx.Done():
		case <-time.After(6 * readTimeout):
		}
		out := &slowOutput{}
		out.Body.Context = fmt.Sprint(ctx.Err())
		return out, nil
	})
	env.Allow("test-slow-post")
	srv := httptest.NewServer(env.Handler)
	t.Cleanup(srv.Close)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/t/slow", strings.NewReader(`{"message":"hi"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = servertest.Host
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"context":"<nil>"`) {
		t.Errorf("%d %s; the handler's context must outlive the body read deadline", resp.StatusCode, b)
	}
}
