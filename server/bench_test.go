package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"agentplane/keys"
	"agentplane/server/servertest"
)

// noop is the tiny body both benchmarks answer.
type noop struct {
	OK      bool   `json:"ok"`
	Subject string `json:"sub"`
}

type noopOutput struct{ Body noop }

type claimsKey struct{}

var errBearer = errors.New("bench: bad bearer")

// authenticate is the bearer check both benchmarks run: scheme, signature,
// claims, token_use and a user subject (spec http-api.md §1.5.1).
func authenticate(ctx context.Context, m *keys.Manager, header string) (keys.Claims, error) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || token == "" {
		return keys.Claims{}, errBearer
	}
	c, err := m.Verify(ctx, token, servertest.VerifyOptions())
	if err != nil {
		return keys.Claims{}, err
	}
	if c.TokenUse != "access" || !strings.HasPrefix(c.Subject, "user:") {
		return keys.Claims{}, errBearer
	}
	return c, nil
}

// BenchmarkHumaNoop is an authenticated huma no-op route served through the
// whole stack: observe (correlation id, access log, metrics), recover, CORS,
// trusted hosts, routing, a huma operation middleware verifying the bearer
// token, and huma's JSON response.
func BenchmarkHumaNoop(b *testing.B) { benchHuma(b, true) }

// BenchmarkHumaNoopNoAuth is BenchmarkHumaNoop without the token check, so
// the difference to BenchmarkBareNetHTTPNoAuth is the stack's own overhead
// (the Ed25519 verification dominates, and varies, in the authenticated pair).
func BenchmarkHumaNoopNoAuth(b *testing.B) { benchHuma(b, false) }

// BenchmarkHumaNoopNoAuthNoLog is BenchmarkHumaNoopNoAuth with logging off:
// what is left over the bare mux is huma, routing and the middleware itself;
// the difference to BenchmarkHumaNoopNoAuth is the access log line.
func BenchmarkHumaNoopNoAuthNoLog(b *testing.B) { benchHuma(b, false, servertest.WithoutLogs()) }

func benchHuma(b *testing.B, auth bool, opts ...servertest.Option) {
	env := servertest.New(b, append([]servertest.Option{servertest.WithoutLogCapture()}, opts...)...)
	api := env.Server.API()
	env.Allow("bench-noop")
	huma.Register(api, huma.Operation{
		OperationID: "bench-noop", Method: http.MethodGet, Path: "/bench/noop",
		Middlewares: huma.Middlewares{func(ctx huma.Context, next func(huma.Context)) {
			c := keys.Claims{Subject: "user:anonymous"}
			if auth {
				var err error
				if c, err = authenticate(ctx.Context(), env.Manager, ctx.Header("Authorization")); err != nil {
					_ = huma.WriteErr(api, ctx, http.StatusUnauthorized, "Could not validate credentials")
					return
				}
			}
			next(huma.WithValue(ctx, claimsKey{}, c))
		}},
	}, func(ctx context.Context, _ *struct{}) (*noopOutput, error) {
		c, _ := ctx.Value(claimsKey{}).(keys.Claims)
		return &noopOutput{Body: noop{OK: true, Subject: c.Subject}}, nil
	})
	req := env.AuthedRequest(b, http.MethodGet, "/bench/noop", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		if env.Handler.ServeHTTP(rec, req); rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkBareNetHTTP is the same handler logic and token verification on a
// bare http.ServeMux: no huma, no middleware.
func BenchmarkBareNetHTTP(b *testing.B) { benchBare(b, true) }

// BenchmarkBareNetHTTPNoAuth is BenchmarkBareNetHTTP without the token check.
func BenchmarkBareNetHTTPNoAuth(b *testing.B) { benchBare(b, false) }

func benchBare(b *testing.B, auth bool) {
	env := servertest.New(b, servertest.WithoutLogCapture())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /bench/noop", func(w http.ResponseWriter, r *http.Request) {
		c := keys.Claims{Subject: "user:anonymous"}
		if auth {
			var err error
			if c, err = authenticate(r.Context(), env.Manager, r.Header.Get("Authorization")); err != nil {
				http.Error(w, `{"detail":"Could not validate credentials"}`, http.StatusUnauthorized)
				return
			}
		}
		r = r.WithContext(context.WithValue(r.Context(), claimsKey{}, c))
		c, _ = r.Context().Value(claimsKey{}).(keys.Claims)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(noop{OK: true, Subject: c.Subject})
	})
	req := env.AuthedRequest(b, http.MethodGet, "/bench/noop", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		if mux.ServeHTTP(rec, req); rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
