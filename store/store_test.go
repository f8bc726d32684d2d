package store_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"agentplane/store"
	"agentplane/store/storetest"
)

const qInsertTenant = `INSERT INTO tenant_accounts (id, slug, name, created_at) VALUES ($1, $2, $3, $4)`

func insertTenant(ctx context.Context, s *store.Store, slug string, at time.Time) error {
	_, err := s.ExecT(ctx, qInsertTenant, uuid.NewString(), slug, "Tenant "+slug, s.TimeArgT(at))
	return s.ClassifyT(err, "insert tenant")
}

func countTenants(t *testing.T, s *store.Store) int {
	t.Helper()
	var n int
	if err := s.QueryRowT(t.Context(), `SELECT count(*) FROM tenant_accounts`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestInTx(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		boom := errors.New("boom")
		err := s.InTx(ctx, func(tx *store.Store) error {
			if err := insertTenant(ctx, tx, "rolled-back", time.Now()); err != nil {
				return err
			}
			// a nested call joins the transaction instead of opening another
			return tx.InTx(ctx, func(inner *store.Store) error {
				if err := insertTenant(ctx, inner, "rolled-back-2", time.Now()); err != nil {
					return err
				}
				return boom
			})
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want boom", err)
		}
		if n := countTenants(t, s); n != 0 {
			t.Fatalf("%d tenants after a rolled-back transaction, want 0", n)
		}
		err = s.InTx(ctx, func(tx *store.Store) error {
			return insertTenant(ctx, tx, "kept", time.Now())
		})
		if err != nil || countTenants(t, s) != 1 {
			t.Fatalf("committed transaction: err %v, %d tenants", err, countTenants(t, s))
		}
		func() {
			defer func() { recover() }()
			s.InTx(ctx, func(tx *store.Store) error {
				insertTenant(ctx, tx, "panicked", time.Now())
				panic("in transaction")
			})
		}()
		if n := countTenants(t, s); n != 1 {
			t.Fatalf("%d tenants after a panic inside InTx, want 1", n)
		}
	})
}

func TestClassify(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		if err := insertTenant(ctx, s, "acme", time.Now()); err != nil {
			t.Fatal(err)
		}
		err := insertTenant(ctx, s, "acme", time.Now())
		var ce *store.ConstraintError
		if !errors.Is(err, store.ErrConflict) || !errors.As(err, &ce) {
			t.Fatalf("duplicate slug = %v, want ErrConflict with a ConstraintError", err)
		}
		if ce.Constraint == "" {
			t.Error("ConstraintError names no constraint")
		}
		var id string
		err = s.ClassifyT(s.QueryRowT(ctx, `SELECT id FROM tenant_accounts WHERE slug = $1`, "nobody").Scan(&id), "get tenant")
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing row = %v, want ErrNotFound", err)
		}
	})
}

func TestTimesRoundTripAndSort(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		base := time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.FixedZone("CET", 3600))
		for i, at := range []time.Time{base.Add(10 * time.Second), base, base.Add(time.Millisecond)} {
			if err := insertTenant(ctx, s, "t"+string(rune('a'+i)), at); err != nil {
				t.Fatal(err)
			}
		}
		var first time.Time
		var slug string
		err := s.QueryRowT(ctx, `SELECT slug, created_at FROM tenant_accounts ORDER BY created_at LIMIT 1`).Scan(&slug, s.ScanTimeT(&first))
		if err != nil {
			t.Fatal(err)
		}
		if slug != "tb" || !first.Equal(base) || first.Location() != time.UTC {
			t.Errorf("earliest = %s at %v, want tb at %v in UTC", slug, first, base.UTC())
		}
		var verified *time.Time
		if err := s.QueryRowT(ctx, `SELECT NULL`).Scan(s.ScanNullTimeT(&verified)); err != nil || verified != nil {
			t.Errorf("NULL time = %v, %v; want nil", verified, err)
		}
	})
}

func TestEchoLogsStatementsNotArguments(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	s, err := store.Open(t.Context(), store.Options{
		URL: "sqlite:///" + filepath.Join(t.TempDir(), "echo.db"), Echo: true, Log: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	err = s.InTx(t.Context(), func(tx *store.Store) error {
		return insertTenant(t.Context(), tx, "secret-slug", time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"query":"INSERT INTO tenant_accounts`) {
		t.Errorf("the insert inside a transaction was not echoed:\n%s", buf.String())
	}
	if strings.Contains(buf.String(), "secret-slug") {
		t.Errorf("an argument was logged:\n%s", buf.String())
	}
}
