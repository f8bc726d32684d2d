// Package ops serves the operational endpoints: service info, liveness,
// readiness (which really pings the database and Redis), Prometheus metrics
// and the public JWKS (spec: http-api.md §2.1; cli-config-ops.md §8.4-8.5).
package ops

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"agentplane/keys"
	"agentplane/metrics"
)

// Sentinel errors; server/errors.go maps them to HTTP answers.
var (
	// ErrNotReady wraps a failed readiness check; its PublicDetail names the part.
	ErrNotReady = errors.New("ops: not ready")
	// ErrMetricsAuth means METRICS_TOKEN is set and the request lacks it.
	ErrMetricsAuth = errors.New("ops: metrics token required")
)

// Info is what GET / reports (spec: http-api.md §2.1.1).
type Info struct {
	Service     string
	Version     string
	Description string
}

// Deps is what the ops endpoints use; cmd/serve.go fills it.
type Deps struct {
	Info         Info
	PingDB       func(ctx context.Context) error // SELECT 1 within DATABASE_HEALTH_TIMEOUT
	PingRedis    func(ctx context.Context) error // nil: readiness does not check Redis
	Keys         *keys.Manager
	Metrics      *metrics.Metrics
	MetricsToken string        // METRICS_TOKEN; empty leaves /metrics open
	JWKSMaxAge   time.Duration // Cache-Control max-age of the JWKS
	Started      time.Time     // process start, for uptime
	Now          func() time.Time
}

// Service answers the ops endpoints.
type Service struct{ d Deps }

// New checks deps.
func New(d Deps) (*Service, error) {
	if d.PingDB == nil || d.Keys == nil || d.Metrics == nil {
		return nil, errors.New("ops: PingDB, Keys and Metrics are required")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Started.IsZero() {
		d.Started = d.Now()
	}
	return &Service{d: d}, nil
}

// Health is the body of /health and /health/ready.
type Health struct {
	Status    string  `json:"status" example:"healthy"`
	Timestamp string  `json:"timestamp" doc:"UTC time, ISO-8601 without offset"`
	Version   string  `json:"version"`
	Uptime    float64 `json:"uptime" doc:"seconds since the process started"`
}

func (s *Service) health(status string) Health {
	now := s.d.Now().UTC()
	up := now.Sub(s.d.Started).Seconds()
	return Health{
		Status:    status,
		Timestamp: now.Format("2006-01-02T15:04:05.999999"),
		Version:   s.d.Info.Version,
		Uptime:    math.Round(up*100) / 100,
	}
}

// Ready pings the database and, when configured, Redis.
func (s *Service) Ready(ctx context.Context) (Health, error) {
	if err := s.d.PingDB(ctx); err != nil {
		return Health{}, &notReady{part: "Database", err: err}
	}
	if s.d.PingRedis != nil {
		if err := s.d.PingRedis(ctx); err != nil {
			return Health{}, &notReady{part: "Redis", err: err}
		}
	}
	return s.health("ready"), nil
}

type notReady struct {
	part string
	err  error
}

func (e *notReady) Error() string { return e.PublicDetail() }
func (e *notReady) Unwrap() []error {
	return []error{ErrNotReady, e.err}
}

// PublicDetail is the reference's message: "Database connectivity check failed: <error>".
func (e *notReady) PublicDetail() string {
	return fmt.Sprintf("%s connectivity check failed: %v", e.part, e.err)
}

// authorizeMetrics checks the bearer token when METRICS_TOKEN is set.
func (s *Service) authorizeMetrics(authorization string) error {
	if s.d.MetricsToken == "" {
		return nil
	}
	scheme, token, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") ||
		subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(s.d.MetricsToken)) != 1 {
		return ErrMetricsAuth
	}
	return nil
}

// jwks is one JWKS answer: the body (nil for 304) and its cache headers.
type jwks struct {
	body         []byte
	etag         string
	lastModified string
	cacheControl string
	notModified  bool
}

// JWKS serves the cached document; ifNoneMatch equal to the ETag gives 304
// (spec: http-api.md §2.1.5).
func (s *Service) jwks(ctx context.Context, ifNoneMatch string) (jwks, error) {
	snap, err := s.d.Keys.Current(ctx)
	if err != nil {
		return jwks{}, fmt.Errorf("ops: jwks: %w", err)
	}
	out := jwks{
		etag:         snap.ETag,
		lastModified: snap.LastModified.UTC().Format(http.TimeFormat),
		cacheControl: fmt.Sprintf("public, max-age=%d", int(s.d.JWKSMaxAge.Seconds())),
	}
	s.d.Metrics.JWKSRequests.Inc()
	if ifNoneMatch == snap.ETag {
		s.d.Metrics.JWKSNotModified.Inc()
		out.notModified = true
		return out, nil
	}
	out.body = snap.JWKSBody
	return out, nil
}
