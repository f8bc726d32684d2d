package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"agentplane/store"
	"agentplane/store/storetest"
)

// tenantExists reports whether a tenant with slug is stored.
func tenantExists(t *testing.T, s *store.Store, slug string) bool {
	t.Helper()
	var n int
	if err := s.QueryRowT(t.Context(), `SELECT count(*) FROM tenant_accounts WHERE slug = $1`, slug).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// waitQueued waits until n transactions wait for the SQLite writer; on
// Postgres, where transactions do not queue in Go, it returns at once.
func waitQueued(t *testing.T, s *store.Store, n int) {
	t.Helper()
	if s.Engine() != store.SQLite {
		return
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.QueuedT() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d transactions queued, want %d", s.QueuedT(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// holdWriter starts a transaction that waits for release to be closed and
// then runs fn; it returns once the transaction has begun (on SQLite it
// holds the writer, so transactions begun meanwhile queue behind it).
func holdWriter(s *store.Store, fn func(tx *store.Store) error) (release chan struct{}, done <-chan error) {
	started, release, first := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		first <- s.InTx(context.Background(), func(tx *store.Store) error {
			close(started)
			<-release
			return fn(tx)
		})
	}()
	<-started
	return release, first
}

// TestInTxKeepsOutcomesApart runs transactions that queue behind one holding
// the SQLite writer, so they commit as one group: each keeps its own outcome.
func TestInTxKeepsOutcomesApart(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		now := time.Now()
		boom := errors.New("boom")
		release, first := holdWriter(s, func(tx *store.Store) error { return insertTenant(ctx, tx, "first", now) })

		// One caller gives up while queued: nothing of it is written.
		gone, cancel := context.WithCancel(ctx)
		goneErr := make(chan error, 1)
		go func() {
			goneErr <- s.InTx(gone, func(tx *store.Store) error { return insertTenant(ctx, tx, "gone", now) })
		}()
		waitQueued(t, s, 1)
		cancel()
		if err := <-goneErr; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled while queued: InTx = %v, want context.Canceled", err)
		}

		jobs := map[string]func(tx *store.Store) error{
			"fails": func(tx *store.Store) error {
				if err := insertTenant(ctx, tx, "fails", now); err != nil {
					return err
				}
				return boom
			},
			"panics": func(tx *store.Store) error {
				insertTenant(ctx, tx, "panics", now)
				panic("in a grouped transaction")
			},
			// "first" commits before this group runs.
			"duplicate": func(tx *store.Store) error { return insertTenant(ctx, tx, "first", now) },
		}
		for i := range 5 {
			slug := fmt.Sprintf("ok-%d", i)
			jobs[slug] = func(tx *store.Store) error { return insertTenant(ctx, tx, slug, now) }
		}
		var mu sync.Mutex
		errs, panics := map[string]error{}, map[string]any{}
		var wg sync.WaitGroup
		for name, fn := range jobs {
			wg.Go(func() {
				defer func() {
					if p := recover(); p != nil {
						mu.Lock()
						panics[name] = p
						mu.Unlock()
					}
				}()
				err := s.InTx(ctx, fn)
				mu.Lock()
				errs[name] = err
				mu.Unlock()
			})
		}
		waitQueued(t, s, len(jobs)+1) // the cancelled job stays queued until a leader skips it
		close(release)
		wg.Wait()
		if err := <-first; err != nil {
			t.Fatalf("first: %v", err)
		}

		for i := range 5 {
			slug := fmt.Sprintf("ok-%d", i)
			if errs[slug] != nil || !tenantExists(t, s, slug) {
				t.Errorf("%s: err %v, stored %v; want committed", slug, errs[slug], tenantExists(t, s, slug))
			}
		}
		if !errors.Is(errs["fails"], boom) || tenantExists(t, s, "fails") {
			t.Errorf("fails: err %v, stored %v; want boom and nothing stored", errs["fails"], tenantExists(t, s, "fails"))
		}
		if panics["panics"] != "in a grouped transaction" || tenantExists(t, s, "panics") {
			t.Errorf("panics: panic %v, stored %v; want the panic raised in its caller and nothing stored",
				panics["panics"], tenantExists(t, s, "panics"))
		}
		if !errors.Is(errs["duplicate"], store.ErrConflict) {
			t.Errorf("duplicate: err %v, want ErrConflict", errs["duplicate"])
		}
		if tenantExists(t, s, "gone") {
			t.Error("a transaction cancelled while queued was committed")
		}
		if n := countTenants(t, s); n != 6 {
			t.Errorf("%d tenants, want 6 (first and ok-0..4)", n)
		}
	})
}

// TestInTxCancelledInsideGroup: a caller whose context ends while its
// function runs does not interrupt the group's transaction (on SQLite an
// interrupted write can roll back the whole transaction, others' writes
// with it); its own statements still run and commit.
func TestInTxCancelledInsideGroup(t *testing.T) {
	s := storetest.SQLite(t)
	ctx := t.Context()
	now := time.Now()
	release, first := holdWriter(s, func(*store.Store) error { return nil })
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() {
			own, cancel := context.WithCancel(ctx)
			defer cancel()
			errs[i] = s.InTx(own, func(tx *store.Store) error {
				if i == 1 {
					cancel()
				}
				return insertTenant(own, tx, fmt.Sprintf("t-%d", i), now)
			})
		})
	}
	waitQueued(t, s, len(errs))
	close(release)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if err != nil || !tenantExists(t, s, fmt.Sprintf("t-%d", i)) {
			t.Errorf("t-%d: err %v, want committed", i, err)
		}
	}
}

// TestGroupsShareOneConnection: SQLite transactions run on one connection
// (so its page cache survives from one to the next): a TEMP table, which
// only its own connection sees, is there in the next transaction.
func TestGroupsShareOneConnection(t *testing.T) {
	s := storetest.SQLite(t)
	ctx := t.Context()
	err := s.InTx(ctx, func(tx *store.Store) error {
		_, err := tx.ExecT(ctx, `CREATE TEMP TABLE conn_mark (v INTEGER)`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		// A read holding a pooled connection open meanwhile takes the
		// pool's most recently used one.
		rows, err := s.DB().QueryContext(ctx, `SELECT 1`)
		if err != nil {
			t.Fatal(err)
		}
		err = s.InTx(ctx, func(tx *store.Store) error {
			_, err := tx.ExecT(ctx, `INSERT INTO conn_mark (v) VALUES ($1)`, i)
			return err
		})
		rows.Close()
		if err != nil {
			t.Fatalf("transaction %d: %v", i, err)
		}
	}
}

// TestInTxAfterClose: a closed store refuses a transaction instead of
// waiting for a writer that is gone.
func TestInTxAfterClose(t *testing.T) {
	s := storetest.SQLite(t)
	if err := s.InTx(t.Context(), func(*store.Store) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	err := s.InTx(ctx, func(*store.Store) error { return nil })
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("InTx on a closed store: %v, want an error at once", err)
	}
}

// TestReadsYieldOnlyWhileAGroupRuns: a read on the pool gives way to the
// SQLite writer while, and only while, a group runs; inside the group's
// transaction and on Postgres it never does.
func TestReadsYieldOnlyWhileAGroupRuns(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		sqlite := s.Engine() == store.SQLite
		if s.YieldsT() {
			t.Error("yields with no transaction running")
		}
		inside := make(chan bool, 1)
		release, done := holdWriter(s, func(tx *store.Store) error {
			inside <- tx.YieldsT()
			return nil
		})
		if got := s.YieldsT(); got != sqlite {
			t.Errorf("while a transaction runs: yields = %v, want %v", got, sqlite)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if <-inside {
			t.Error("the transaction's own reads yield")
		}
		if s.YieldsT() {
			t.Error("yields after the transaction")
		}
	})
}
