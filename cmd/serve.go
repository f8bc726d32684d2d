package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/spf13/cobra"

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
	"agentplane/vault"
)

// serveFlags are serve's own flags; host and port override HOST and PORT.
type serveFlags struct {
	host    string
	port    int
	migrate bool
}

func newServeCmd(g *globals) *cobra.Command {
	var f serveFlags
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the HTTP API (SQLite, in-process Redis and generated keys when nothing is configured)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			flags := map[string]string{}
			if c.Flags().Changed("host") {
				flags["HOST"] = f.host
			}
			if c.Flags().Changed("port") {
				flags["PORT"] = strconv.Itoa(f.port)
			}
			s, err := g.load(c, loadOptions{flags: flags, devSecrets: true})
			if err != nil {
				return err
			}
			if c.Flags().Changed("migrate") {
				s.AutoRunMigrations = f.migrate
			}
			return serve(c.Context(), s, g.env.dir, c.OutOrStdout())
		},
	}
	c.Flags().StringVar(&f.host, "host", "127.0.0.1", "bind address (HOST)")
	c.Flags().IntVar(&f.port, "port", 8000, "port (PORT)")
	c.Flags().BoolVar(&f.migrate, "migrate", false, "apply pending migrations at start (overrides AUTO_RUN_MIGRATIONS; SQLite is always migrated)")
	return c
}

// newLogger is the one JSON logger (spec: cli-config-ops.md §8.3).
func newLogger(s config.Settings, w io.Writer) *slog.Logger {
	if s.LoggingSink == "none" {
		return slog.New(slog.DiscardHandler)
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: s.SlogLevel()})
	return slog.New(request.LogHandler{Handler: h})
}

// serve is the composition root of the HTTP server (spec: cli-config-ops.md §8.1).
func serve(ctx context.Context, s config.Settings, dir string, stdout io.Writer) error {
	start := time.Now()
	log := newLogger(s, stdout)
	boot := log.With("logger", "serve")
	if err := startupChecks(ctx, s, boot); err != nil {
		return err
	}

	st, err := openStore(ctx, s, dir, log)
	if err != nil {
		return err
	}
	defer st.Close()
	boot.InfoContext(ctx, "database connected", "database", st.Location(), "engine", string(st.Engine()))
	if err := migrateAtStart(ctx, s, st, boot); err != nil {
		return err
	}

	rd, err := store.OpenRedis(ctx, s.RedisURL, s.DatabaseHealthTimeout)
	if err != nil {
		return fmt.Errorf("%w; check REDIS_URL (leave it unset for the in-process Redis)", err)
	}
	defer rd.Close()
	if rd.Embedded() {
		boot.WarnContext(ctx, "REDIS_URL is not set: using an in-process Redis (miniredis); rate limits, nonces and caches live in this process only, so run one replica")
	} else {
		boot.InfoContext(ctx, "redis connected", "redis", rd.Location())
	}

	m := metrics.New()
	km, err := startKeys(ctx, s, dir, m, log, boot)
	if err != nil {
		return err
	}

	opsSvc, err := ops.New(ops.Deps{
		Info:   ops.Info{Service: s.AppName, Version: s.AppVersion, Description: s.AppDescription},
		PingDB: st.Ping, PingRedis: rd.Check, Keys: km, Metrics: m,
		MetricsToken: s.MetricsToken.Reveal(), JWKSMaxAge: s.JWKSMaxAge(), Started: start,
	})
	if err != nil {
		return err
	}
	authz, err := auth.NewAuthorizer(auth.AuthorizerDeps{
		Keys: km, Issuer: s.AppName, Audience: s.AuthAudience, RequireVerification: s.RequireEmailVerification,
	})
	if err != nil {
		return err
	}
	// one limiter for every quota, so its fail-open warning throttle is shared
	limiter := store.NewLimiter(rd, s.RateLimitKeyPrefix, "", log.With("logger", "ratelimit"))
	authSvc, err := newAuthService(s, st, rd, limiter, km, m, log)
	if err != nil {
		return err
	}
	chatSvc, err := chat.New(chat.Deps{
		Store: st, OpenAIAPIKey: s.OpenAIAPIKey, OpenAIBaseURL: s.OpenAIBaseURL,
		TavilyAPIKey: s.TavilyAPIKey, TavilyBaseURL: s.TavilyBaseURL, Log: log,
		Limiter:             limiter,
		ChatPerMinute:       s.ChatRateLimitPerMinute,
		RateLimitHits:       func(q, scope string) { m.RateLimitHits.WithLabelValues(q, scope).Inc() },
		ChatStreamPerMinute: s.ChatStreamRateLimitPerMinute, ChatStreamConcurrent: s.ChatStreamConcurrentLimit,
		TurnLog: store.NewTurnLog(rd, ""),
	})
	if err != nil {
		return err
	}
	tenantSvc, err := tenants.New(tenants.Deps{Store: st})
	if err != nil {
		return err
	}
	srv, err := server.New(server.Deps{
		Options: server.Options{
			Title: s.AppName, Version: s.AppVersion, Description: s.AppDescription, Debug: s.Debug,
			AllowedOrigins: s.AllowedOrigins, AllowedMethods: s.AllowedMethods, AllowedHeaders: s.AllowedHeaders,
			AllowedHosts: s.EffectiveAllowedHosts(), TrustedProxies: s.TrustedProxyCIDRs,
		},
		Log: log, Metrics: m, Ops: opsSvc, Authorizer: authz, Auth: authSvc, Chat: chatSvc, Tenants: tenantSvc,
	})
	if err != nil {
		return err
	}

	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w; choose another PORT or --port", addr, err)
	}
	boot.InfoContext(ctx, "agentplane ready", "url", "http://"+l.Addr().String(), "version", version,
		"startup_ms", time.Since(start).Milliseconds())
	err = server.Serve(ctx, l, srv, 15*time.Second)
	boot.InfoContext(context.WithoutCancel(ctx), "agentplane stopped")
	return err
}

// startupChecks are the guard and the configuration checks that must pass
// before anything is opened (spec: cli-config-ops.md §8.1 steps 2 and 5).
func startupChecks(ctx context.Context, s config.Settings, log *slog.Logger) error {
	warnings, err := s.Guard()
	if err != nil {
		return err
	}
	if len(warnings) > 0 {
		log.WarnContext(ctx, s.DevWarning(warnings))
	}
	if s.EnableBilling {
		if err := s.BillingStartupError(); err != nil {
			return err
		}
	}
	if s.LoggingSink == "datadog" || s.LoggingSink == "otlp" {
		log.WarnContext(ctx, "LOGGING_SINK="+s.LoggingSink+" is not implemented; logging to stdout")
	}
	return nil
}

// migrateAtStart always migrates SQLite, and Postgres when
// AUTO_RUN_MIGRATIONS (or --migrate) asks (DESIGN decisions 4 and 9).
func migrateAtStart(ctx context.Context, s config.Settings, st *store.Store, log *slog.Logger) error {
	m, err := st.Migrator()
	if err != nil {
		return err
	}
	if st.Engine() == store.SQLite || s.AutoRunMigrations {
		res, err := m.Up(ctx)
		if err != nil {
			return fmt.Errorf("%w; fix the database or run `agentplane migrate status` to see where it stopped", err)
		}
		for _, r := range res {
			log.InfoContext(ctx, "migration applied", "version", r.Version, "name", r.Name)
		}
		return nil
	}
	cur, latest, err := m.Version(ctx)
	if err != nil {
		return err
	}
	if cur < latest {
		return fmt.Errorf("the database schema is at version %d, this binary needs %d: run `agentplane migrate` or start with --migrate (AUTO_RUN_MIGRATIONS=true)", cur, latest)
	}
	return nil
}

// startKeys loads the keyset, generating the first key outside production
// (auth-and-keys.md §18.1 note 7).
func startKeys(ctx context.Context, s config.Settings, dir string, m *metrics.Metrics, log, boot *slog.Logger) (*keys.Manager, error) {
	st, err := keyStorage(s, dir)
	if err != nil {
		return nil, err
	}
	if fs, ok := st.(keys.FileStorage); ok {
		if loose, err := fs.LoosePermissions(); err == nil && loose {
			boot.WarnContext(ctx, "the keyset file is readable by other users; chmod 600 it", "path", fs.Path)
		}
	}
	if !s.Enforced() {
		created, err := keys.EnsureActive(ctx, st, time.Now())
		if err != nil {
			return nil, err
		}
		if created {
			boot.InfoContext(ctx, "generated a development signing key", "backend", st.Backend())
		}
	}
	km, err := keys.NewManager(keys.ManagerDeps{
		Storage: st, ETagSalt: s.AuthJWKSETagSalt.Reveal(), Recorder: m, Log: log.With("logger", "keys"),
	})
	if err != nil {
		return nil, err
	}
	snap, err := km.Current(ctx)
	if err != nil {
		return nil, err
	}
	if snap.Keyset.Active == nil {
		return nil, errors.New("No active signing key: run `agentplane keys rotate`.")
	}
	return km, nil
}

// newAuthService wires the auth area (spec: auth-and-keys.md).
func newAuthService(s config.Settings, st *store.Store, rd *store.Redis, limiter *store.Limiter, km *keys.Manager, m *metrics.Metrics, log *slog.Logger) (*auth.Service, error) {
	hasher, err := password.NewHasher(s.AuthPasswordPepper.Reveal(), password.DefaultCost, 0)
	if err != nil {
		return nil, err
	}
	var sender mail.Sender = mail.NewLog(log.With("logger", "mail"), !s.Enforced())
	if s.ResendEmailEnabled {
		if sender, err = mail.NewResend(mail.ResendConfig{
			BaseURL: s.ResendBaseURL, APIKey: s.ResendAPIKey.Reveal(), From: s.ResendDefaultFrom,
		}); err != nil {
			return nil, err
		}
	}
	catalog, err := auth.LoadCatalog(s.ServiceAccountCatalogPath)
	if err != nil {
		return nil, fmt.Errorf("%w; fix SERVICE_ACCOUNT_CATALOG_PATH or unset it for the built-in catalog", err)
	}
	var transit *vault.Transit
	if s.VaultAddr != "" && !s.VaultToken.IsZero() {
		if transit, err = vault.NewTransit(vault.TransitConfig{Addr: s.VaultAddr, Token: s.VaultToken.Reveal(), Key: s.VaultTransitKey}); err != nil {
			return nil, err
		}
	}
	if s.Enforced() && !s.VaultVerifyEnabled {
		log.Warn("VAULT_VERIFY_ENABLED=false outside development: headless service-account issuance is disabled")
	}
	return auth.New(auth.Deps{
		Settings: s, Store: st, State: store.NewAuthState(rd, ""), Catalog: catalog, Vault: transit,
		Limiter: limiter,
		Keys:    km, Hasher: hasher, Mail: sender, Metrics: m, Log: log,
	})
}
