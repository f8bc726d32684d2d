// Package server assembles agentplane's HTTP API: huma v2 on net/http, the
// middleware every response gets (correlation id, access log, recover, CORS,
// trusted hosts, client IP), the error envelope, and the areas' operations.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"agentplane/metrics"
	"agentplane/server/auth"
	"agentplane/server/chat"
	"agentplane/server/ops"
	"agentplane/server/request"
	"agentplane/server/tenants"
)

// Options are the HTTP-level settings (spec cli-config-ops.md §7.1, §8.2).
type Options struct {
	Title, Version, Description string
	Debug                       bool // serves /docs
	AllowedOrigins              []string
	AllowedMethods              []string
	AllowedHeaders              []string
	AllowedHosts                []string // effective list; "*" allows any
	TrustedProxies              []netip.Prefix
}

// Deps is everything the server needs; cmd/serve.go fills it.
type Deps struct {
	Options Options
	Log     *slog.Logger
	Metrics *metrics.Metrics
	Ops     *ops.Service
	// Authorizer enforces auth.Policy on every operation.
	Authorizer *auth.Authorizer
	Auth       *auth.Service
	Chat       *chat.Service
	Tenants    *tenants.Service
	// Rules map domain errors to HTTP answers (areas add theirs).
	Rules []Rule
}

// Server is the assembled HTTP handler and its huma API.
type Server struct {
	opts    Options
	log     *slog.Logger
	metrics *metrics.Metrics
	proxies request.Proxies
	rules   []Rule
	api     huma.API
	handler http.Handler
}

// New builds the API and registers every area's operations.
func New(d Deps) (*Server, error) {
	if d.Log == nil || d.Metrics == nil || d.Ops == nil || d.Authorizer == nil || d.Auth == nil || d.Chat == nil || d.Tenants == nil {
		return nil, errors.New("server: Log, Metrics, Ops, Authorizer, Auth, Chat and Tenants are required")
	}
	installErrorHook()
	s := &Server{
		opts: d.Options, log: d.Log.With("logger", "http"), metrics: d.Metrics,
		proxies: request.NewProxies(d.Options.TrustedProxies), rules: append(baseRules(), d.Rules...),
	}
	mux := http.NewServeMux()
	cfg := huma.DefaultConfig(d.Options.Title, d.Options.Version)
	cfg.Info.Description = d.Options.Description
	cfg.CreateHooks = nil // no $schema links in bodies (STYLE §4)
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearerAuth": {Type: "http", Scheme: "bearer", BearerFormat: "JWT"},
	}
	cfg.OpenAPIPath = "/openapi"
	cfg.SchemasPath = ""
	cfg.DocsPath = ""
	if d.Options.Debug {
		cfg.DocsPath = "/docs"
	}
	s.api = humago.New(exactRoot{mux}, cfg)
	s.api.UseMiddleware(d.Authorizer.Middleware(s.api))
	ops.Register(s.api, d.Ops)
	auth.Register(s.api, d.Auth)
	auth.RegisterFlows(s.api, d.Auth)
	auth.RegisterServiceAccounts(s.api, d.Auth)
	chat.Register(s.api, d.Chat)
	tenants.Register(s.api, d.Tenants)

	s.handler = s.observe(s.recoverPanics(s.cors(s.trustedHosts(s.route(mux)))))
	return s, nil
}

// API is the huma API, for tests and for areas registered later.
func (s *Server) API() huma.API { return s.api }

// ServeHTTP serves one request through the whole stack.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Serve runs the HTTP server on l until ctx ends, then drains in-flight
// requests for up to drain. SSE streams see their context end at shutdown
// through BaseContext.
func Serve(ctx context.Context, l net.Listener, h http.Handler, drain time.Duration) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}

// exactRoot registers huma's "/" route as "/{$}": in net/http's patterns a
// bare "/" matches every path, which would answer unknown paths with the
// service info instead of 404.
type exactRoot struct{ *http.ServeMux }

func (m exactRoot) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	if strings.HasSuffix(pattern, " /") {
		pattern += "{$}"
	}
	m.ServeMux.HandleFunc(pattern, h)
}
