// Package storetest runs store tests on every engine: SQLite in a temp dir
// always, PostgreSQL and a real Redis when AGENTPLANE_TEST_POSTGRES_URL and
// AGENTPLANE_TEST_REDIS_URL are set (CI sets both; with CI set a missing one
// fails the test instead of skipping it).
package storetest

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"agentplane/store"
)

// Env names of the real services.
const (
	PostgresEnv = "AGENTPLANE_TEST_POSTGRES_URL"
	RedisEnv    = "AGENTPLANE_TEST_REDIS_URL"
)

// ForEachEngine runs fn as a subtest on a freshly migrated SQLite store and,
// when PostgresEnv is set, on a freshly migrated PostgreSQL database of its
// own that is dropped afterwards.
func ForEachEngine(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// SQLite opens a migrated SQLite store in t.TempDir().
func SQLite(tb testing.TB) *store.Store {
	tb.Helper()
	return openMigrated(tb, "sqlite:///"+filepath.Join(tb.TempDir(), "test.db"))
}

// Postgres opens a migrated store on a new PostgreSQL database, dropped in
// cleanup. It skips (or, under CI, fails) when PostgresEnv is unset.
func Postgres(tb testing.TB) *store.Store {
	tb.Helper()
	return openMigrated(tb, PostgresURL(tb))
}

// PostgresURL creates an empty database of its own and returns its URL; the
// database is dropped in cleanup.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		skipUnlessCI(tb, PostgresEnv+" not set")
	}
	admin, err := store.Open(context.Background(), store.Options{URL: base})
	if err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	defer admin.Close()
	name := "agentplane_test_" + unique()
	if _, err := admin.DB().ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("storetest: create database: %v", err)
	}
	tb.Cleanup(func() {
		admin, err := store.Open(context.Background(), store.Options{URL: base})
		if err != nil {
			tb.Errorf("storetest: drop database %s: %v", name, err)
			return
		}
		defer admin.Close()
		if _, err := admin.DB().ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("storetest: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("storetest: %s: %v", PostgresEnv, err)
	}
	u.Path = "/" + name
	return u.String()
}

func openMigrated(tb testing.TB, url string) *store.Store {
	tb.Helper()
	s, err := store.Open(context.Background(), store.Options{URL: url, PoolSize: 4, MaxOverflow: 4})
	if err != nil {
		tb.Fatalf("storetest: open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		tb.Fatalf("storetest: migrate: %v", err)
	}
	return s
}

// Redis returns a client on a real Redis (RedisEnv) or, when unset, on an
// in-process miniredis, plus a key prefix unique to this test; keys under the
// prefix are deleted in cleanup, so tests sharing a real Redis never collide.
func Redis(tb testing.TB) (*store.Redis, string) {
	tb.Helper()
	r, err := store.OpenRedis(context.Background(), os.Getenv(RedisEnv), 5*time.Second)
	if err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	prefix := "agentplane-test-" + unique() + ":"
	tb.Cleanup(func() {
		defer r.Close()
		ctx := context.Background()
		iter := r.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			r.Del(ctx, iter.Val())
		}
	})
	return r, prefix
}

// RealRedis reports whether Redis tests run against a real server.
func RealRedis() bool { return os.Getenv(RedisEnv) != "" }

func skipUnlessCI(tb testing.TB, why string) {
	tb.Helper()
	if os.Getenv("CI") != "" {
		tb.Fatalf("storetest: %s, and CI is set: the CI run must test every engine", why)
	}
	tb.Skip(why)
}

// unique returns 12 random lower-case letters and digits, for names.
func unique() string { return strings.ToLower(rand.Text()[:12]) }
