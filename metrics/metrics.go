// Package metrics holds agentplane's Prometheus registry and every metric
// family of spec cli-config-ops.md §8.4, with the reference's names, labels
// and buckets. Only this package registers collectors.
package metrics

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// buckets are the latency buckets of every histogram (seconds).
var buckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0}

// Metrics is the custom registry (no process or runtime collectors, as the
// reference) and its families. Areas record through its fields or methods.
type Metrics struct {
	reg *prometheus.Registry

	JWKSRequests    prometheus.Counter
	JWKSNotModified prometheus.Counter

	JWTSignings             *prometheus.CounterVec   // result, token_use
	JWTSigningDuration      *prometheus.HistogramVec // result, token_use
	JWTVerifications        *prometheus.CounterVec   // result, token_use
	JWTVerificationDuration *prometheus.HistogramVec // result, token_use

	ServiceAccountIssuance        *prometheus.CounterVec   // account, result, reason, reused
	ServiceAccountIssuanceLatency *prometheus.HistogramVec // account, result, reason, reused
	NonceCacheHits                prometheus.Counter
	NonceCacheMisses              prometheus.Counter

	StripeAPIRequests       *prometheus.CounterVec   // operation, result
	StripeAPILatency        *prometheus.HistogramVec // operation, result
	StripeWebhookEvents     *prometheus.CounterVec   // event_type, result
	StripeGatewayOperations *prometheus.CounterVec   // operation, plan_code, result
	StripeGatewayDuration   *prometheus.HistogramVec // operation, plan_code, result
	StripeDispatchRetry     *prometheus.CounterVec   // handler, result
	StripeBillingStream     *prometheus.CounterVec   // source, result
	StripeBillingStreamLag  prometheus.Gauge
	RateLimitHits           *prometheus.CounterVec   // quota, scope
	EmailDeliveryAttempts   *prometheus.CounterVec   // category, result
	EmailDeliveryLatency    *prometheus.HistogramVec // category, result
	HTTPRequests            *prometheus.CounterVec   // method, route, status (Go addition)
	HTTPRequestDuration     *prometheus.HistogramVec // method, route (Go addition)

	httpMu     sync.RWMutex
	httpSeries map[httpKey]httpSeries
}

type httpKey struct {
	method, route string
	status        int
}

type httpSeries struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// ObserveHTTP records one response. The series of each method, route and
// status are looked up once and kept, so the hot path neither hashes label
// values nor allocates.
func (m *Metrics) ObserveHTTP(method, route string, status int, d time.Duration) {
	k := httpKey{method, route, status}
	m.httpMu.RLock()
	sr, ok := m.httpSeries[k]
	m.httpMu.RUnlock()
	if !ok {
		sr = httpSeries{
			requests: m.HTTPRequests.WithLabelValues(method, route, strconv.Itoa(status)),
			duration: m.HTTPRequestDuration.WithLabelValues(method, route),
		}
		m.httpMu.Lock()
		m.httpSeries[k] = sr
		m.httpMu.Unlock()
	}
	sr.requests.Inc()
	sr.duration.Observe(d.Seconds())
}

// New builds the registry with every family registered. Labelled families
// get one zero-valued series each, so every name is in the scrape from the
// first request on (the reference's contract test asks for them before any
// sample exists; spec http-api.md §2.1.4).
func New() *Metrics {
	reg := prometheus.NewRegistry()
	f := factory{reg: reg}
	m := &Metrics{
		reg:             reg,
		JWKSRequests:    f.counter("jwks_requests_total", "JWKS responses served, including 304s."),
		JWKSNotModified: f.counter("jwks_not_modified_total", "JWKS requests answered 304 Not Modified."),

		JWTSignings:             f.counterVec("jwt_signings_total", "JWT signing attempts.", "result", "token_use"),
		JWTSigningDuration:      f.histogramVec("jwt_signing_duration_seconds", "JWT signing latency.", "result", "token_use"),
		JWTVerifications:        f.counterVec("jwt_verifications_total", "JWT verification attempts.", "result", "token_use"),
		JWTVerificationDuration: f.histogramVec("jwt_verification_duration_seconds", "JWT verification latency.", "result", "token_use"),

		ServiceAccountIssuance:        f.counterVec("service_account_issuance_total", "Service-account token issuance attempts.", "account", "result", "reason", "reused"),
		ServiceAccountIssuanceLatency: f.histogramVec("service_account_issuance_latency_seconds", "Service-account issuance latency.", "account", "result", "reason", "reused"),
		NonceCacheHits:                f.counter("nonce_cache_hits_total", "Vault nonces rejected as already used."),
		NonceCacheMisses:              f.counter("nonce_cache_misses_total", "Vault nonces accepted as new."),

		StripeAPIRequests:       f.counterVec("stripe_api_requests_total", "Stripe API calls.", "operation", "result"),
		StripeAPILatency:        f.histogramVec("stripe_api_latency_seconds", "Stripe API call latency.", "operation", "result"),
		StripeWebhookEvents:     f.counterVec("stripe_webhook_events_total", "Stripe webhook events handled.", "event_type", "result"),
		StripeGatewayOperations: f.counterVec("stripe_gateway_operations_total", "Billing gateway operations.", "operation", "plan_code", "result"),
		StripeGatewayDuration:   f.histogramVec("stripe_gateway_operation_duration_seconds", "Billing gateway operation latency.", "operation", "plan_code", "result"),
		StripeDispatchRetry:     f.counterVec("stripe_dispatch_retry_total", "Stripe dispatch retries by the worker.", "handler", "result"),
		StripeBillingStream:     f.counterVec("stripe_billing_stream_events_total", "Billing stream publications.", "source", "result"),
		StripeBillingStreamLag:  f.gauge("stripe_billing_stream_backlog_seconds", "Age of the last processed Stripe event."),
		RateLimitHits:           f.counterVec("rate_limit_hits_total", "Requests refused by the rate limiter.", "quota", "scope"),
		EmailDeliveryAttempts:   f.counterVec("email_delivery_attempts_total", "Transactional email sends.", "category", "result"),
		EmailDeliveryLatency:    f.histogramVec("email_delivery_latency_seconds", "Transactional email send latency.", "category", "result"),
		HTTPRequests:            f.counterVec("http_requests_total", "HTTP responses by route and status.", "method", "route", "status"),
		HTTPRequestDuration:     f.histogramVec("http_request_duration_seconds", "HTTP handler latency by route.", "method", "route"),
		httpSeries:              map[httpKey]httpSeries{},
	}
	return m
}

// Write writes the text exposition of every family to w and returns its
// content type, `text/plain; version=0.0.4; charset=utf-8` (spec:
// cli-config-ops.md §8.4).
func (m *Metrics) Write(w io.Writer) (contentType string, err error) {
	families, err := m.reg.Gather()
	if err != nil {
		return "", fmt.Errorf("metrics: gather: %w", err)
	}
	enc := expfmt.NewEncoder(w, textFormat)
	for _, mf := range families {
		if err := enc.Encode(mf); err != nil {
			return "", fmt.Errorf("metrics: encode %s: %w", mf.GetName(), err)
		}
	}
	return string(textFormat), nil
}

var textFormat = expfmt.NewFormat(expfmt.TypeTextPlain)

// Registry exposes the registry for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// TokenSigned records one JWT signing (keys.Recorder).
func (m *Metrics) TokenSigned(result, tokenUse string, d time.Duration) {
	tokenUse = label(tokenUse)
	m.JWTSignings.WithLabelValues(result, tokenUse).Inc()
	m.JWTSigningDuration.WithLabelValues(result, tokenUse).Observe(d.Seconds())
}

// TokenVerified records one JWT verification (keys.Recorder).
func (m *Metrics) TokenVerified(result, tokenUse string, d time.Duration) {
	tokenUse = label(tokenUse)
	m.JWTVerifications.WithLabelValues(result, tokenUse).Inc()
	m.JWTVerificationDuration.WithLabelValues(result, tokenUse).Observe(d.Seconds())
}

// label lower-cases a label value and names an empty one "unknown", as the
// reference does for token_use, account, plan_code and the like.
func label(v string) string {
	if v = strings.ToLower(strings.TrimSpace(v)); v == "" {
		return "unknown"
	}
	return v
}

// factory registers families on one registry.
type factory struct{ reg *prometheus.Registry }

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	f.reg.MustRegister(g)
	return g
}

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	c.WithLabelValues(placeholder(labels)...)
	return c
}

func (f factory) histogramVec(name, help string, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	f.reg.MustRegister(h)
	h.WithLabelValues(placeholder(labels)...)
	return h
}

// placeholder is the label set of the zero series that makes a family
// visible before its first real sample.
func placeholder(labels []string) []string {
	vals := make([]string, len(labels))
	for i := range vals {
		vals[i] = "unknown"
	}
	return vals
}
