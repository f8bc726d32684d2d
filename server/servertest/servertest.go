// Package servertest wires a real server.Server for tests: a migrated SQLite
// store, the in-process Redis, a file keyset with an active key, a fresh
// metrics registry and the ops endpoints, on a fixed clock, with the JSON log
// captured in memory (STYLE §10: real handler, request/expect tables).
package servertest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"agentplane/config"
	"agentplane/keys"
	"agentplane/mail"
	"agentplane/metrics"
	"agentplane/password"
	"agentplane/server"
	"agentplane/server/auth"
	"agentplane/server/chat"
	"agentplane/server/ops"
	"agentplane/server/request"
	"agentplane/server/tenants"
	"agentplane/store"
	"agentplane/store/storetest"
	"agentplane/vault"
)

// The reference defaults the environment mirrors (spec: cli-config-ops.md §7).
const (
	AppName    = "anything-agents"
	AppVersion = "1.0.0"
	AppDesc    = "anything-agents FastAPI microservice"
	Host       = "testserver" // the Host of every request built here
	ETagSalt   = "local-jwks-salt"
)

// Audience is the default AUTH_AUDIENCE.
var Audience = []string{"agent-api", "analytics-service", "billing-worker", "support-console", "synthetic-monitor"}

// Start is the fixed clock's initial time.
var Start = time.Date(2025, 11, 13, 10, 0, 0, 123456000, time.UTC)

// Clock is a race-safe settable clock; every component of the Env reads it.
type Clock struct{ ns atomic.Int64 }

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock {
	c := &Clock{}
	c.Set(t)
	return c
}

// Now is the current fake time (UTC).
func (c *Clock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) { c.ns.Store(t.UnixNano()) }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// Config is what an Option may change before the server is built.
type Config struct {
	// Settings are the auth settings (defaults of config.Load with an empty
	// environment; options may change them).
	Settings     config.Settings
	Options      server.Options
	Rules        []server.Rule
	MetricsToken string
	JWKSMaxAge   time.Duration
	DiscardLogs  bool           // keep no in-memory copy (benchmarks)
	Vault        *vault.Transit // see WithVault
	NoLogs       bool           // log nothing at all: records are not even formatted
	StreamPing   time.Duration  // see WithStreamPing
	ModelTimeout time.Duration  // see WithModelTimeout
}

// Option adjusts the Config.
type Option func(*Config)

// WithOptions edits the server options (CORS, hosts, proxies, debug).
func WithOptions(fn func(*server.Options)) Option { return func(c *Config) { fn(&c.Options) } }

// WithRules adds error rules to the server's table.
func WithRules(rules ...server.Rule) Option {
	return func(c *Config) { c.Rules = append(c.Rules, rules...) }
}

// WithMetricsToken sets METRICS_TOKEN.
func WithMetricsToken(token string) Option { return func(c *Config) { c.MetricsToken = token } }

// WithSettings edits the settings the auth area runs with.
func WithSettings(edit func(*config.Settings)) Option {
	return func(c *Config) { edit(&c.Settings) }
}

// WithOpenAI points chat at an OpenAI-compatible server (an openaitest
// Server: WithOpenAI(fake.URL(), fake.Key())); without it chat has no
// OPENAI_API_KEY and every turn fails with the not-configured error.
func WithOpenAI(baseURL, key string) Option {
	return func(c *Config) {
		c.Settings.OpenAIBaseURL, c.Settings.OpenAIAPIKey = baseURL, config.Secret(key)
	}
}

// WithStreamPing sets the silence after which chat streams send `: ping`
// (15 s by default).
func WithStreamPing(d time.Duration) Option { return func(c *Config) { c.StreamPing = d } }

// WithModelTimeout bounds each model call (and a stream's silence) to d
// instead of 2 minutes.
func WithModelTimeout(d time.Duration) Option { return func(c *Config) { c.ModelTimeout = d } }

// WithTavily points the web search tool at a Tavily-compatible server.
func WithTavily(baseURL, key string) Option {
	return func(c *Config) {
		c.Settings.TavilyBaseURL, c.Settings.TavilyAPIKey = baseURL, config.Secret(key)
	}
}

// WithoutLogs disables logging, so a benchmark can tell the cost of the
// access log line from the rest of the stack.
func WithoutLogs() Option { return func(c *Config) { c.NoLogs = true } }

// WithoutLogCapture drops the log instead of keeping it for Logs, so a long
// benchmark does not grow a buffer; records are still formatted.
func WithoutLogCapture() Option { return func(c *Config) { c.DiscardLogs = true } }

// DefaultOptions are the server options of a development `serve` with the
// reference defaults (ALLOWED_*, TRUSTED_PROXY_CIDRS).
func DefaultOptions() server.Options {
	return server.Options{
		Title: AppName, Version: AppVersion, Description: AppDesc,
		AllowedOrigins: []string{"http://localhost:3000", "http://localhost:8000"},
		AllowedMethods: []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"},
		AllowedHeaders: []string{"*"},
		AllowedHosts:   []string{"localhost", "localhost:8000", "127.0.0.1", "testserver", "testclient"},
		TrustedProxies: []netip.Prefix{
			netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"),
			netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"),
			netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("fc00::/7"),
		},
	}
}

// Env is one wired server and everything behind it.
type Env struct {
	Handler  http.Handler // the server with its whole middleware stack
	Server   *server.Server
	Manager  *keys.Manager
	Keys     keys.FileStorage
	Store    *store.Store
	Redis    *store.Redis
	Metrics  *metrics.Metrics
	Ops      *ops.Service
	Clock    *Clock
	Config   Config
	Log      *slog.Logger
	logLines *lockedBuffer
	// Policy is this server's copy of auth.Policy; see Allow.
	Policy map[string]auth.Access
	Auth   *auth.Service
	// Mail records every message the auth area sends (and logs it as the
	// development sender does).
	Mail *Mailbox
	// Hasher is the auth area's password hasher: pepper Pepper, bcrypt.MinCost.
	Hasher *password.Hasher
	// State is the auth area's Redis state (lockouts, throttles, one-time tokens).
	State *store.AuthState
	// Chat is the chat area (see WithOpenAI, WithTavily).
	Chat *chat.Service
}

// Pepper is the AUTH_PASSWORD_PEPPER of the Env's hasher.
const Pepper = "test-pepper"

// New builds an Env; resources are released in tb.Cleanup.
func New(tb testing.TB, opts ...Option) *Env {
	tb.Helper()
	defaults, err := config.Load(func(string) (string, bool) { return "", false })
	if err != nil {
		tb.Fatalf("servertest: settings: %v", err)
	}
	cfg := Config{Options: DefaultOptions(), JWKSMaxAge: 300 * time.Second, Settings: defaults}
	for _, o := range opts {
		o(&cfg)
	}
	ctx := context.Background()
	clock := NewClock(Start)
	buf := &lockedBuffer{}
	var out io.Writer = buf
	if cfg.DiscardLogs {
		out = io.Discard
	}
	log := slog.New(request.LogHandler{Handler: slog.NewJSONHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug})})
	if cfg.NoLogs {
		log = slog.New(slog.DiscardHandler)
	}

	st := storetest.SQLite(tb)
	rd, redisPrefix := storetest.Redis(tb)
	m := metrics.New()

	ks := keys.FileStorage{Path: filepath.Join(tb.TempDir(), "keys", "keyset.json")}
	if _, err := keys.EnsureActive(ctx, ks, clock.Now()); err != nil {
		tb.Fatalf("servertest: keys: %v", err)
	}
	km, err := keys.NewManager(keys.ManagerDeps{
		Storage: ks, Now: clock.Now, ETagSalt: ETagSalt, Recorder: m, Log: log.With("logger", "keys"),
	})
	if err != nil {
		tb.Fatalf("servertest: keys manager: %v", err)
	}
	if _, err := km.Current(ctx); err != nil {
		tb.Fatalf("servertest: keys: %v", err)
	}
	opsSvc, err := ops.New(ops.Deps{
		Info:   ops.Info{Service: cfg.Options.Title, Version: cfg.Options.Version, Description: cfg.Options.Description},
		PingDB: st.Ping, PingRedis: rd.Check, Keys: km, Metrics: m,
		MetricsToken: cfg.MetricsToken, JWKSMaxAge: cfg.JWKSMaxAge, Started: clock.Now(), Now: clock.Now,
	})
	if err != nil {
		tb.Fatalf("servertest: ops: %v", err)
	}
	policy := maps.Clone(auth.Policy)
	authz, err := auth.NewAuthorizer(auth.AuthorizerDeps{
		Keys: km, Issuer: AppName, Audience: Audience, RequireVerification: true, Policy: policy,
	})
	if err != nil {
		tb.Fatalf("servertest: authorizer: %v", err)
	}
	hasher, err := password.NewHasher(Pepper, bcrypt.MinCost, 4)
	if err != nil {
		tb.Fatalf("servertest: hasher: %v", err)
	}
	settings := cfg.Settings
	state := store.NewAuthState(rd, redisPrefix)
	mailbox := &Mailbox{next: mail.NewLog(log, true)}
	limiter := store.NewLimiter(rd, settings.RateLimitKeyPrefix, redisPrefix, log) // shared, as in serve
	authSvc, err := auth.New(auth.Deps{
		Settings: settings, Store: st, State: state,
		Limiter: limiter, Keys: km, Hasher: hasher,
		Mail: mailbox, Metrics: m, Log: log, Now: clock.Now, Vault: cfg.Vault,
	})
	if err != nil {
		tb.Fatalf("servertest: auth: %v", err)
	}
	chatSvc, err := chat.New(chat.Deps{
		Store: st, OpenAIAPIKey: settings.OpenAIAPIKey, OpenAIBaseURL: settings.OpenAIBaseURL,
		TavilyAPIKey: settings.TavilyAPIKey, TavilyBaseURL: settings.TavilyBaseURL, Log: log, Now: clock.Now,
		Limiter:             limiter,
		ChatPerMinute:       settings.ChatRateLimitPerMinute,
		RateLimitHits:       func(q, scope string) { m.RateLimitHits.WithLabelValues(q, scope).Inc() },
		ChatStreamPerMinute: settings.ChatStreamRateLimitPerMinute, ChatStreamConcurrent: settings.ChatStreamConcurrentLimit,
		TurnLog: store.NewTurnLog(rd, redisPrefix), StreamPing: cfg.StreamPing, ModelTimeout: cfg.ModelTimeout,
	})
	if err != nil {
		tb.Fatalf("servertest: chat: %v", err)
	}
	tenantSvc, err := tenants.New(tenants.Deps{Store: st, Now: clock.Now})
	if err != nil {
		tb.Fatalf("servertest: tenants: %v", err)
	}
	srv, err := server.New(server.Deps{Options: cfg.Options, Log: log, Metrics: m, Ops: opsSvc,
		Authorizer: authz, Auth: authSvc, Chat: chatSvc, Tenants: tenantSvc, Rules: cfg.Rules})
	if err != nil {
		tb.Fatalf("servertest: server: %v", err)
	}
	return &Env{
		Handler: srv, Server: srv, Manager: km, Keys: ks, Store: st, Redis: rd, Metrics: m, Ops: opsSvc,
		Clock: clock, Config: cfg, Log: log, logLines: buf, Policy: policy, Auth: authSvc,
		Mail: mailbox, Hasher: hasher, State: state, Chat: chatSvc,
	}
}

// Allow makes test operations registered on Server.API() public; every
// operation needs a Policy entry or the authorizer refuses it.
func (e *Env) Allow(operationIDs ...string) {
	for _, id := range operationIDs {
		e.Policy[id] = auth.Access{Public: true}
	}
}

// Request builds a request to the server with Host testserver; a non-nil body
// is sent as application/json.
func (e *Env) Request(method, target string, body io.Reader) *http.Request {
	r := httptest.NewRequest(method, target, body)
	r.Host = Host
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

// JSONRequest is Request with a string body.
func (e *Env) JSONRequest(method, target, body string) *http.Request {
	return e.Request(method, target, strings.NewReader(body))
}

// Do serves r through the whole stack.
func (e *Env) Do(r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	e.Handler.ServeHTTP(rec, r)
	return rec
}

// Get serves a GET of target.
func (e *Env) Get(target string) *httptest.ResponseRecorder {
	return e.Do(e.Request(http.MethodGet, target, nil))
}

// AccessClaims are the claims of a person's access token (spec: http-api.md §1.5.1).
type AccessClaims = auth.AccessClaims

// NewAccessClaims are a verified owner's claims, valid 30 minutes from now.
func (e *Env) NewAccessClaims() AccessClaims {
	now := e.Clock.Now().Unix()
	return AccessClaims{
		Sub: "user:" + uuid.NewString(), TenantID: uuid.NewString(), Roles: []string{"owner"},
		Scope: "conversations:read conversations:write tools:read", TokenUse: "access",
		Iss: AppName, Aud: Audience, JTI: uuid.NewString(), EmailVerified: true, SID: uuid.NewString(),
		Iat: now, Nbf: now, Exp: now + 30*60,
	}
}

// Sign signs claims with the active key.
func (e *Env) Sign(tb testing.TB, claims any) string {
	tb.Helper()
	tok, _, err := e.Manager.Sign(context.Background(), claims)
	if err != nil {
		tb.Fatalf("servertest: sign: %v", err)
	}
	return tok
}

// AccessToken is a signed access token of NewAccessClaims.
func (e *Env) AccessToken(tb testing.TB) string {
	tb.Helper()
	return e.Sign(tb, e.NewAccessClaims())
}

// AuthedRequest is Request with a valid bearer access token.
func (e *Env) AuthedRequest(tb testing.TB, method, target string, body io.Reader) *http.Request {
	tb.Helper()
	r := e.Request(method, target, body)
	r.Header.Set("Authorization", "Bearer "+e.AccessToken(tb))
	return r
}

// VerifyOptions are the checks the API applies to bearer tokens.
func VerifyOptions() keys.VerifyOptions {
	return keys.VerifyOptions{Issuer: AppName, Audience: Audience}
}

// Logs decodes every JSON log line written so far.
func (e *Env) Logs(tb testing.TB) []map[string]any {
	tb.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(e.logLines.bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			tb.Fatalf("servertest: log line %q: %v", sc.Text(), err)
		}
		out = append(out, line)
	}
	return out
}

// AccessLog returns the access-log line of the request with correlation id
// id, or nil.
func (e *Env) AccessLog(tb testing.TB, id string) map[string]any {
	tb.Helper()
	for _, l := range e.Logs(tb) {
		if l["msg"] == "request" && l["correlation_id"] == id {
			return l
		}
	}
	return nil
}

// DecodeJSON decodes a response body.
func DecodeJSON(tb testing.TB, rec *httptest.ResponseRecorder) any {
	tb.Helper()
	var v any
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		tb.Fatalf("servertest: body %q is not JSON: %v", rec.Body.String(), err)
	}
	return v
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}
