package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
)

// BenchmarkHumaAlone is the no-op operation on huma with none of our
// middleware: the difference to BenchmarkBareNetHTTPNoAuth is huma's own
// cost, the difference to BenchmarkHumaNoopNoAuthNoLog is ours.
func BenchmarkHumaAlone(b *testing.B) {
	mux := http.NewServeMux()
	cfg := huma.DefaultConfig("bench", "1")
	cfg.CreateHooks = nil
	api := humago.New(mux, cfg)
	huma.Register(api, huma.Operation{OperationID: "bench-noop", Method: http.MethodGet, Path: "/bench/noop"},
		func(context.Context, *struct{}) (*noopOutput, error) {
			return &noopOutput{Body: noop{OK: true, Subject: "user:anonymous"}}, nil
		})
	req := httptest.NewRequest(http.MethodGet, "/bench/noop", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		if mux.ServeHTTP(rec, req); rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
