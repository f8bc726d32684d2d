package store

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// Engine names a database engine.
type Engine string

// The two engines agentplane runs on.
const (
	Postgres Engine = "postgres"
	SQLite   Engine = "sqlite"
)

// DefaultURL is used when DATABASE_URL is unset (DESIGN decision 3).
const DefaultURL = "sqlite:///var/agentplane.db"

// Target is a parsed DATABASE_URL: the engine and what its driver needs.
type Target struct {
	Engine Engine
	// DSN is the pgx connection string (Postgres) or the database file path (SQLite).
	DSN string
}

// ParseURL accepts the DATABASE_URL forms of DESIGN decision 3:
// postgres://, postgresql://, postgresql+asyncpg:// (the +driver part is
// ignored), sqlite:///relative.db, sqlite:////absolute.db,
// sqlite+aiosqlite:///…, and file:…. Relative SQLite paths are resolved
// against dir (the working directory when dir is empty).
func ParseURL(raw, dir string) (Target, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		raw = DefaultURL
	}
	scheme, rest, ok := strings.Cut(raw, ":")
	if !ok {
		return Target{}, fmt.Errorf("%w: %q has no scheme; use postgres://… or sqlite:///path.db", ErrBadURL, raw)
	}
	base, _, _ := strings.Cut(strings.ToLower(scheme), "+")
	switch base {
	case "postgres", "postgresql":
		u, err := url.Parse("postgres:" + rest)
		if err != nil || u.Host == "" && u.RawQuery == "" {
			return Target{}, fmt.Errorf("%w: %s is not a valid PostgreSQL URL", ErrBadURL, RedactURL(raw))
		}
		return Target{Engine: Postgres, DSN: u.String()}, nil
	case "sqlite":
		path, ok := strings.CutPrefix(rest, "///")
		if !ok || path == "" {
			return Target{}, fmt.Errorf("%w: %q: SQLite URLs look like sqlite:///relative/path.db or sqlite:////absolute/path.db", ErrBadURL, raw)
		}
		path, _, _ = strings.Cut(path, "?")
		return Target{Engine: SQLite, DSN: resolve(path, dir)}, nil
	case "file":
		path, _, _ := strings.Cut(strings.TrimPrefix(rest, "//"), "?")
		if path == "" {
			return Target{}, fmt.Errorf("%w: %q names no file", ErrBadURL, raw)
		}
		return Target{Engine: SQLite, DSN: resolve(path, dir)}, nil
	}
	return Target{}, fmt.Errorf("%w: scheme %q; use postgres://, postgresql:// or sqlite:///", ErrBadURL, scheme)
}

func resolve(path, dir string) string {
	if filepath.IsAbs(path) || dir == "" {
		return filepath.Clean(path)
	}
	return filepath.Join(dir, path)
}

// RedactURL returns raw with any password replaced by "***", for logs
// (spec: cli-config-ops.md §11 note 6).
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "***")
	}
	return u.String()
}
