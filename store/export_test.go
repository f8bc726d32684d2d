package store

import (
	"context"
	"database/sql"
	"time"
)

// Test hooks: the dialect's helpers, reachable from package store_test,
// which may use storetest (an internal test could not: import cycle).

func (s *Store) ExecT(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return s.q.ExecContext(ctx, q, args...)
}

func (s *Store) QueryRowT(ctx context.Context, q string, args ...any) *sql.Row {
	return s.q.QueryRowContext(ctx, q, args...)
}

func (s *Store) TimeArgT(t time.Time) any                  { return s.d.timeArg(t) }
func (s *Store) ScanTimeT(dst *time.Time) sql.Scanner      { return s.d.scanTime(dst) }
func (s *Store) ScanNullTimeT(dst **time.Time) sql.Scanner { return s.d.scanNullTime(dst) }
func (s *Store) ClassifyT(err error, what string) error    { return s.d.classify(err, what) }

// QueuedT is how many transactions wait for the SQLite writer (0 on Postgres).
func (s *Store) QueuedT() int {
	if s.group == nil {
		return 0
	}
	s.group.mu.Lock()
	defer s.group.mu.Unlock()
	return len(s.group.queue)
}
