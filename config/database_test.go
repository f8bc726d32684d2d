package config

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestParseDatabaseURL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		raw    string
		engine string
		dsn    string
	}{
		{"", EngineSQLite, filepath.Join(dir, "var/agentplane.db")},
		{"postgres://u:p@db:5432/app?sslmode=disable", EnginePostgres, "postgres://u:p@db:5432/app?sslmode=disable"},
		{"postgresql://u@db/app", EnginePostgres, "postgres://u@db/app"},
		{"postgresql+asyncpg://u:p@db/app", EnginePostgres, "postgres://u:p@db/app"},
		{"sqlite:///data/app.db", EngineSQLite, filepath.Join(dir, "data/app.db")},
		{"sqlite:////abs/app.db", EngineSQLite, "/abs/app.db"},
		{"sqlite+aiosqlite:///./app.db", EngineSQLite, filepath.Join(dir, "app.db")},
		{"file:/abs/x.db?mode=rwc", EngineSQLite, "/abs/x.db"},
		{"file:rel.db", EngineSQLite, filepath.Join(dir, "rel.db")},
	}
	for _, tt := range tests {
		got, err := ParseDatabaseURL(tt.raw, dir)
		if err != nil {
			t.Errorf("ParseDatabaseURL(%q): %v", tt.raw, err)
			continue
		}
		if got.Engine != tt.engine || got.DSN != tt.dsn {
			t.Errorf("ParseDatabaseURL(%q) = %+v, want {%s %s}", tt.raw, got, tt.engine, tt.dsn)
		}
	}
	for _, bad := range []string{"mysql://db/app", "nocolon", "sqlite://rel.db", "sqlite:///", "postgres:db", "file:"} {
		if _, err := ParseDatabaseURL(bad, dir); !errors.Is(err, ErrDatabaseURL) {
			t.Errorf("ParseDatabaseURL(%q) error = %v, want ErrDatabaseURL", bad, err)
		}
	}
}
