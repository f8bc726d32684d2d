// Package auth is the identity area: signup, login, refresh, sessions,
// password and email flows, service accounts, and the one authorization
// table every operation passes through (spec: auth-and-keys.md, http-api.md
// §1.5-1.7 and §2.3, with the port notes of auth-and-keys.md §18).
package auth

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"agentplane/config"
	"agentplane/keys"
	"agentplane/mail"
	"agentplane/metrics"
	"agentplane/password"
	"agentplane/store"
	"agentplane/vault"
)

// Deps is everything the auth service uses; cmd/serve.go fills it.
type Deps struct {
	Settings config.Settings
	Store    *store.Store
	State    *store.AuthState
	Limiter  *store.Limiter
	Keys     *keys.Manager
	Hasher   *password.Hasher
	Mail     mail.Sender
	Catalog  *Catalog       // nil: the built-in catalog
	Vault    *vault.Transit // nil: Vault not configured
	Metrics  *metrics.Metrics
	Log      *slog.Logger
	Now      func() time.Time
}

// Service implements the auth operations; handlers only translate HTTP.
type Service struct {
	d             Deps
	cfg           config.Settings
	now           func() time.Time
	log           *slog.Logger
	refreshPepper []byte
	secrets       ClientSecrets
	catalog       *Catalog
}

// New checks deps and applies defaults.
func New(d Deps) (*Service, error) {
	if d.Store == nil || d.State == nil || d.Limiter == nil || d.Keys == nil || d.Hasher == nil || d.Mail == nil {
		return nil, errors.New("auth: Store, State, Limiter, Keys, Hasher and Mail are required")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Metrics == nil {
		d.Metrics = metrics.New()
	}
	if d.Catalog == nil {
		c, err := LoadCatalog("")
		if err != nil {
			return nil, err
		}
		d.Catalog = c
	}
	s := &Service{
		d: d, cfg: d.Settings, now: d.Now, log: d.Log.With("logger", "auth"),
		refreshPepper: []byte(d.Settings.AuthRefreshPepper.Reveal()), catalog: d.Catalog,
		secrets: ClientSecrets{
			IPHashSalt:    []byte(d.Settings.SessionIPHashSalt().Reveal()),
			EncryptionKey: []byte(d.Settings.SessionEncryptionKey().Reveal()),
		},
	}
	return s, nil
}

// event logs one structured auth event (spec: cli-config-ops.md §8.3).
func (s *Service) event(ctx context.Context, level slog.Level, name string, attrs ...slog.Attr) {
	s.log.LogAttrs(ctx, level, name, append([]slog.Attr{slog.String("event", name)}, attrs...)...)
}
