package cmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"agentplane/config"
	"agentplane/keys"
	"agentplane/server/auth"
	"agentplane/store"
)

// openStore connects to DATABASE_URL and turns the usual failures into one
// line that says what to do.
func openStore(ctx context.Context, s config.Settings, dir string, log *slog.Logger) (*store.Store, error) {
	st, err := store.Open(ctx, store.Options{
		URL:           s.DatabaseURL,
		Dir:           dir,
		PoolSize:      s.DatabasePoolSize,
		MaxOverflow:   s.DatabaseMaxOverflow,
		Recycle:       s.DatabasePoolRecycle,
		HealthTimeout: s.DatabaseHealthTimeout,
		Echo:          s.DatabaseEcho,
		Log:           log,
	})
	switch {
	case errors.Is(err, store.ErrBadURL):
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	case errors.Is(err, store.ErrUnreachable):
		return nil, fmt.Errorf("%w; check DATABASE_URL and that the database server is running", err)
	case err != nil:
		return nil, fmt.Errorf("open database: %w", err)
	}
	return st, nil
}

// keyStorage is the keyset storage AUTH_KEY_STORAGE_BACKEND names; a
// relative file path is taken from dir.
func keyStorage(s config.Settings, dir string) (keys.Storage, error) {
	if s.AuthKeyStorageBackend == "secret-manager" {
		return keys.NewVaultStorage(keys.VaultConfig{
			Addr: s.VaultAddr, Token: s.VaultToken.Reveal(), SecretName: s.AuthKeySecretName,
			Client: &http.Client{Timeout: 5 * time.Second},
		})
	}
	path := s.AuthKeyStoragePath
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	return keys.FileStorage{Path: path}, nil
}

// rotationGrace is how long a retired key stays valid: the longest lifetime
// a token signed by it can have, including the service-account catalog's
// (auth-and-keys.md §18.1 note 2).
func rotationGrace(s config.Settings) (time.Duration, error) {
	catalog, err := auth.LoadCatalog(s.ServiceAccountCatalogPath)
	if err != nil {
		return 0, err
	}
	return max(s.AuthRefreshTokenTTL, s.AccessTokenTTL, catalog.MaxTTL()), nil
}
