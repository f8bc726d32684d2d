package metrics_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"agentplane/metrics"
)

// Every family of spec cli-config-ops.md §8.4 is in the first scrape, with its type.
func TestWriteListsEveryFamilyFromStart(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	ct, err := metrics.New().Write(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("content type %q", ct)
	}
	body := buf.String()
	families := map[string]string{
		"jwks_requests_total": "counter", "jwks_not_modified_total": "counter",
		"jwt_signings_total": "counter", "jwt_signing_duration_seconds": "histogram",
		"jwt_verifications_total": "counter", "jwt_verification_duration_seconds": "histogram",
		"service_account_issuance_total": "counter", "service_account_issuance_latency_seconds": "histogram",
		"nonce_cache_hits_total": "counter", "nonce_cache_misses_total": "counter",
		"stripe_api_requests_total": "counter", "stripe_api_latency_seconds": "histogram",
		"stripe_webhook_events_total":     "counter",
		"stripe_gateway_operations_total": "counter", "stripe_gateway_operation_duration_seconds": "histogram",
		"stripe_dispatch_retry_total": "counter", "stripe_billing_stream_events_total": "counter",
		"stripe_billing_stream_backlog_seconds": "gauge", "rate_limit_hits_total": "counter",
		"email_delivery_attempts_total": "counter", "email_delivery_latency_seconds": "histogram",
	}
	for name, typ := range families {
		if !strings.Contains(body, "# TYPE "+name+" "+typ+"\n") {
			t.Errorf("scrape lacks # TYPE %s %s", name, typ)
		}
		if !strings.Contains(body, "# HELP "+name+" ") {
			t.Errorf("scrape lacks # HELP %s", name)
		}
	}
	if strings.Contains(body, "go_goroutines") || strings.Contains(body, "process_") {
		t.Error("runtime/process collectors must not be registered")
	}
}

func TestHistogramBuckets(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if _, err := metrics.New().Write(&buf); err != nil {
		t.Fatal(err)
	}
	for _, le := range []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf"} {
		if !strings.Contains(buf.String(), `jwt_signing_duration_seconds_bucket{result="unknown",token_use="unknown",le="`+le+`"}`) {
			t.Errorf("no bucket le=%s", le)
		}
	}
}

func TestTokenRecorder(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		tokenUse string
		label    string
	}{
		{name: "lower-cased", tokenUse: "Access", label: "access"},
		{name: "trimmed", tokenUse: " refresh ", label: "refresh"},
		{name: "empty is unknown", tokenUse: "", label: "unknown"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := metrics.New()
			m.TokenSigned("success", tc.tokenUse, 3*time.Millisecond)
			m.TokenVerified("failure", tc.tokenUse, 30*time.Millisecond)
			if got := counterValue(t, m.JWTSignings.WithLabelValues("success", tc.label)); got != 1 {
				t.Errorf("jwt_signings_total{success,%s} = %v", tc.label, got)
			}
			if got := counterValue(t, m.JWTVerifications.WithLabelValues("failure", tc.label)); got != 1 {
				t.Errorf("jwt_verifications_total{failure,%s} = %v", tc.label, got)
			}
			var buf bytes.Buffer
			if _, err := m.Write(&buf); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{
				`jwt_signing_duration_seconds_bucket{result="success",token_use="` + tc.label + `",le="0.005"} 1`,
				`jwt_verification_duration_seconds_bucket{result="failure",token_use="` + tc.label + `",le="0.025"} 0`,
				`jwt_verification_duration_seconds_bucket{result="failure",token_use="` + tc.label + `",le="0.05"} 1`,
			} {
				if !strings.Contains(buf.String(), want) {
					t.Errorf("scrape lacks %s", want)
				}
			}
		})
	}
}

// Two registries never share state (each server and test has its own).
func TestRegistriesIndependent(t *testing.T) {
	t.Parallel()
	a, b := metrics.New(), metrics.New()
	a.JWKSRequests.Inc()
	if got := counterValue(t, b.JWKSRequests); got != 0 {
		t.Errorf("b saw a's sample: %v", got)
	}
	if a.Registry() == b.Registry() {
		t.Error("shared registry")
	}
}

type writer interface{ Write(*dto.Metric) error }

func counterValue(t *testing.T, c writer) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func TestObserveHTTP(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	for range 3 {
		m.ObserveHTTP("GET", "GET /health", 200, 2*time.Millisecond)
	}
	m.ObserveHTTP("GET", "GET /health", 503, time.Second)
	var buf bytes.Buffer
	if _, err := m.Write(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`http_requests_total{method="GET",route="GET /health",status="200"} 3`,
		`http_requests_total{method="GET",route="GET /health",status="503"} 1`,
		`http_request_duration_seconds_count{method="GET",route="GET /health"} 4`,
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
}
