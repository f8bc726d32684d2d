package config

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// ErrDatabaseURL means DATABASE_URL is not one of the supported forms.
var ErrDatabaseURL = errors.New("unsupported DATABASE_URL")

// Database engines a DATABASE_URL can name.
const (
	EnginePostgres = "postgres"
	EngineSQLite   = "sqlite"
)

// DatabaseTarget is a parsed DATABASE_URL: the engine and what its driver needs.
type DatabaseTarget struct {
	Engine string // EnginePostgres or EngineSQLite
	// DSN is the pgx connection URL (Postgres) or the database file path (SQLite).
	DSN string
}

// ParseDatabaseURL accepts the DATABASE_URL forms of DESIGN decision 3:
// postgres://, postgresql://, postgresql+asyncpg:// (the +driver part is
// ignored), sqlite:///relative.db, sqlite:////absolute.db,
// sqlite+aiosqlite:///…, and file:…. Relative SQLite paths are resolved
// against dir (the working directory when dir is empty).
func ParseDatabaseURL(raw, dir string) (DatabaseTarget, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		raw = DefaultDatabaseURL
	}
	scheme, rest, ok := strings.Cut(raw, ":")
	if !ok {
		return DatabaseTarget{}, fmt.Errorf("%w: %q has no scheme; use postgres://… or sqlite:///path.db", ErrDatabaseURL, raw)
	}
	base, _, _ := strings.Cut(strings.ToLower(scheme), "+")
	switch base {
	case "postgres", "postgresql":
		u, err := url.Parse("postgres:" + rest)
		if err != nil || !strings.HasPrefix(rest, "//") {
			return DatabaseTarget{}, fmt.Errorf("%w: %s is not a valid PostgreSQL URL", ErrDatabaseURL, RedactURL(raw))
		}
		return DatabaseTarget{Engine: EnginePostgres, DSN: u.String()}, nil
	case "sqlite":
		path, ok := strings.CutPrefix(rest, "///")
		if !ok || path == "" {
			return DatabaseTarget{}, fmt.Errorf("%w: %q: SQLite URLs look like sqlite:///relative/path.db or sqlite:////absolute/path.db", ErrDatabaseURL, raw)
		}
		path, _, _ = strings.Cut(path, "?")
		return DatabaseTarget{Engine: EngineSQLite, DSN: resolvePath(path, dir)}, nil
	case "file":
		path, _, _ := strings.Cut(strings.TrimPrefix(rest, "//"), "?")
		if path == "" {
			return DatabaseTarget{}, fmt.Errorf("%w: %q names no file", ErrDatabaseURL, raw)
		}
		return DatabaseTarget{Engine: EngineSQLite, DSN: resolvePath(path, dir)}, nil
	}
	return DatabaseTarget{}, fmt.Errorf("%w: scheme %q; use postgres://, postgresql:// or sqlite:///", ErrDatabaseURL, scheme)
}

func resolvePath(path, dir string) string {
	if filepath.IsAbs(path) || dir == "" {
		return filepath.Clean(path)
	}
	return filepath.Join(dir, path)
}

// databaseKind is the engine DATABASE_URL names, or "" when it is not a supported form.
func databaseKind(raw string) string {
	t, err := ParseDatabaseURL(raw, "")
	if err != nil {
		return ""
	}
	return t.Engine
}
