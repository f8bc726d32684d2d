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

// Postgres opens a migrated store on a new PostgreSQL database of its own,
// copied from a migrated template, and dropped in cleanup. It skips (or,
// under CI, fails) when PostgresEnv is unset.
func Postgres(tb testing.TB) *store.Store {
	tb.Helper()
	base := postgresBase(tb)
	name := createDatabase(tb, base, migratedTemplate(tb, base))
	s, err := store.Open(context.Background(), store.Options{URL: databaseURL(tb, base, name), PoolSize: 4, MaxOverflow: 4})
	if err != nil {
		tb.Fatalf("storetest: open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// PostgresURL creates an empty database of its own and returns its URL; the
// database is dropped in cleanup.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	base := postgresBase(tb)
	return databaseURL(tb, base, createDatabase(tb, base, ""))
}

func postgresBase(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		skipUnlessCI(tb, PostgresEnv+" not set")
	}
	return base
}

func admin(tb testing.TB, base string) *store.Store {
	tb.Helper()
	a, err := store.Open(context.Background(), store.Options{URL: base})
	if err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	return a
}

// createDatabase creates a uniquely named database (a copy of template when
// given) and drops it in cleanup.
func createDatabase(tb testing.TB, base, template string) string {
	tb.Helper()
	a := admin(tb, base)
	defer a.Close()
	name := "agentplane_test_" + unique()
	stmt := "CREATE DATABASE " + name
	if template != "" {
		stmt += " TEMPLATE " + template
	}
	var err error
	for range 50 { // a template being copied by another test is briefly busy
		if _, err = a.DB().ExecContext(context.Background(), stmt); err == nil || !strings.Contains(err.Error(), "55006") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		tb.Fatalf("storetest: create database: %v", err)
	}
	tb.Cleanup(func() { dropDatabase(tb, base, name) })
	return name
}

func dropDatabase(tb testing.TB, base, name string) {
	a, err := store.Open(context.Background(), store.Options{URL: base})
	if err != nil {
		tb.Errorf("storetest: drop database %s: %v", name, err)
		return
	}
	defer a.Close()
	if _, err := a.DB().ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		tb.Errorf("storetest: drop database %s: %v", name, err)
	}
}

// migratedTemplate returns the name of a database migrated to the current
// schema, created once per schema version (its name carries
// store.SchemaFingerprint) under an advisory lock, so parallel test
// processes share it. Templates of older schema versions are dropped.
func migratedTemplate(tb testing.TB, base string) string {
	tb.Helper()
	ctx := context.Background()
	name := "agentplane_tpl_" + store.SchemaFingerprint()
	a := admin(tb, base)
	defer a.Close()
	conn, err := a.DB().Conn(ctx)
	if err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(727274)"); err != nil {
		tb.Fatalf("storetest: lock: %v", err)
	}
	defer conn.ExecContext(ctx, "SELECT pg_advisory_unlock(727274)")
	var exists bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate)", name).Scan(&exists); err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	if exists {
		return name
	}
	rows, err := conn.QueryContext(ctx, "SELECT datname FROM pg_database WHERE datname LIKE 'agentplane\\_tpl\\_%'")
	if err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	var stale []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		stale = append(stale, n)
	}
	rows.Close()
	for _, n := range stale {
		conn.ExecContext(ctx, "UPDATE pg_database SET datistemplate = false WHERE datname = $1", n)
		conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+n+" WITH (FORCE)")
	}
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("storetest: create template: %v", err)
	}
	s, err := store.Open(ctx, store.Options{URL: databaseURL(tb, base, name)})
	if err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	_, err = s.Migrate(ctx)
	s.Close()
	if err != nil {
		conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		tb.Fatalf("storetest: migrate template: %v", err)
	}
	if _, err := conn.ExecContext(ctx, "UPDATE pg_database SET datistemplate = true WHERE datname = $1", name); err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	return name
}

func databaseURL(tb testing.TB, base, name string) string {
	tb.Helper()
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
	return openRedis(tb, os.Getenv(RedisEnv))
}

// ForEachRedis runs fn on an in-process miniredis and, when RedisEnv is set,
// on the real Redis (under CI a missing RedisEnv fails).
func ForEachRedis(t *testing.T, fn func(t *testing.T, r *store.Redis, prefix string)) {
	t.Helper()
	t.Run("miniredis", func(t *testing.T) {
		r, prefix := openRedis(t, "")
		fn(t, r, prefix)
	})
	t.Run("redis", func(t *testing.T) {
		url := os.Getenv(RedisEnv)
		if url == "" {
			skipUnlessCI(t, RedisEnv+" not set")
		}
		r, prefix := openRedis(t, url)
		fn(t, r, prefix)
	})
}

func openRedis(tb testing.TB, url string) (*store.Redis, string) {
	tb.Helper()
	r, err := store.OpenRedis(context.Background(), url, 5*time.Second)
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
