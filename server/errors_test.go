package server_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"agentplane/server"
	"agentplane/server/servertest"
)

var (
	errSlowDown = errors.New("test: slow down")
	errNoWidget = errors.New("test: no widget")
	errNoAuth   = errors.New("test: not authenticated")
)

// widgetError carries a value for the client (server.PublicDetailer).
type widgetError struct{ id string }

func (e widgetError) Error() string        { return "test: widget " + e.id }
func (e widgetError) Unwrap() error        { return errNoWidget }
func (e widgetError) PublicDetail() string { return "Widget " + e.id + " not found" }

// errorEnv is a server with one operation per error class under /t/err/{kind}.
func errorEnv(t *testing.T) *servertest.Env {
	env := servertest.New(t, servertest.WithRules(
		server.Rule{Err: errSlowDown, Status: http.StatusTooManyRequests, Detail: "Rate limit exceeded (test). Retry after 7s.",
			Headers: http.Header{"Retry-After": {"7"}}},
		server.Rule{Err: errNoWidget, Status: http.StatusNotFound, Detail: "Widget not found"},
		// A non-canonical header key, as the spec spells it.
		server.Rule{Err: errNoAuth, Status: http.StatusUnauthorized, Detail: "Not authenticated",
			Headers: http.Header{"WWW-Authenticate": {"Bearer"}}},
	))
	type in struct {
		Kind string `path:"kind"`
	}
	env.Allow("test-error")
	huma.Register(env.Server.API(), huma.Operation{
		OperationID: "test-error", Method: http.MethodGet, Path: "/t/err/{kind}",
	}, func(_ context.Context, i *in) (*struct{}, error) {
		switch i.Kind {
		case "unknown":
			return nil, errors.New("db exploded: password=hunter2")
		case "panic":
			panic("boom")
		case "rule":
			return nil, fmt.Errorf("quota: %w", errSlowDown)
		case "public":
			return nil, widgetError{id: "w-1"}
		case "rule-plain":
			return nil, errNoWidget
		case "bearer":
			return nil, errNoAuth
		case "huma404":
			return nil, huma.Error404NotFound("Thing not found")
		case "huma403":
			return nil, huma.Error403Forbidden("insufficient scopes for this operation.")
		case "envelope":
			return nil, server.NewEnvelope(http.StatusConflict, "Already exists.", http.Header{"X-Extra": {"v"}})
		}
		return nil, nil
	})
	return env
}

func TestErrorEnvelope(t *testing.T) {
	t.Parallel()
	env := errorEnv(t)
	cases := []struct {
		name     string
		kind     string
		status   int
		body     map[string]any
		headers  map[string]string
		logError string // the access log's error field; "" = absent
		logLevel string
	}{
		{name: "unknown error is a generic 500", kind: "unknown", status: 500,
			body: envelope("Internal Server Error", nil), logError: "db exploded: password=hunter2", logLevel: "ERROR"},
		{name: "panic is the same 500", kind: "panic", status: 500,
			body: envelope("Internal Server Error", nil), logError: "panic: boom", logLevel: "ERROR"},
		{name: "rule with headers", kind: "rule", status: 429,
			body:    envelope("Rate limit exceeded (test). Retry after 7s.", map[string]any{"Retry-After": "7"}),
			headers: map[string]string{"Retry-After": "7"}, logLevel: "INFO"},
		{name: "bearer challenge echoed under its spelling", kind: "bearer", status: 401,
			body:    envelope("Not authenticated", map[string]any{"WWW-Authenticate": "Bearer"}),
			headers: map[string]string{"WWW-Authenticate": "Bearer"}, logLevel: "INFO"},
		{name: "public detail replaces the rule's", kind: "public", status: 404,
			body: envelope("Widget w-1 not found", nil), logLevel: "INFO"},
		{name: "rule without headers", kind: "rule-plain", status: 404,
			body: envelope("Widget not found", nil), logLevel: "INFO"},
		{name: "huma 404", kind: "huma404", status: 404, body: envelope("Thing not found", nil), logLevel: "INFO"},
		{name: "huma 403 message capitalised", kind: "huma403", status: 403,
			body: envelope("Insufficient scopes for this operation.", nil), logLevel: "INFO"},
		{name: "envelope returned as is", kind: "envelope", status: 409,
			body:    envelope("Already exists.", map[string]any{"X-Extra": "v"}),
			headers: map[string]string{"X-Extra": "v"}, logLevel: "INFO"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := env.Get("/t/err/" + tc.kind)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			checkBody(t, rec, tc.body)
			for k, v := range tc.headers {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			id := rec.Header().Get("X-Correlation-ID")
			if id == "" {
				t.Fatal("no X-Correlation-ID")
			}
			line := env.AccessLog(t, id)
			if line == nil {
				t.Fatalf("no access log line with correlation_id %s in %v", id, env.Logs(t))
			}
			want := map[string]any{"method": "GET", "path": "/t/err/" + tc.kind, "status": float64(tc.status),
				"level": tc.logLevel, "logger": "http"}
			for k, v := range want {
				if line[k] != v {
					t.Errorf("log %s = %v, want %v (line %v)", k, line[k], v, line)
				}
			}
			if _, ok := line["duration_ms"].(float64); !ok {
				t.Errorf("log duration_ms = %v, want a number", line["duration_ms"])
			}
			if got, _ := line["error"].(string); got != tc.logError {
				t.Errorf("log error = %q, want %q", got, tc.logError)
			}
		})
	}
}

// The cause of a 500 never reaches the client.
func TestInternalErrorHidesCause(t *testing.T) {
	t.Parallel()
	env := errorEnv(t)
	rec := env.Get("/t/err/unknown")
	if b := rec.Body.String(); rec.Code != 500 || strings.Contains(b, "hunter2") || strings.Contains(b, "exploded") {
		t.Fatalf("status %d body %s leaks the cause", rec.Code, b)
	}
}

// The panic is logged with its stack and the request's correlation id.
func TestPanicLogged(t *testing.T) {
	t.Parallel()
	env := errorEnv(t)
	req := env.Request(http.MethodGet, "/t/err/panic", nil)
	req.Header.Set("X-Correlation-ID", "panic-1")
	rec := env.Do(req)
	if rec.Code != 500 || rec.Header().Get("X-Correlation-ID") != "panic-1" {
		t.Fatalf("status %d, correlation %q", rec.Code, rec.Header().Get("X-Correlation-ID"))
	}
	var found bool
	for _, l := range env.Logs(t) {
		if l["msg"] == "panic" && l["correlation_id"] == "panic-1" && l["panic"] == "boom" && l["stack"] != nil {
			found = true
		}
	}
	if !found {
		t.Errorf("no panic log line with the correlation id: %v", env.Logs(t))
	}
}
