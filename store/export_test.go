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

// YieldsT reports whether a read on s would give way to the writer now.
func (s *Store) YieldsT() bool { return s.yields() }

// CheckpointerT replaces the store's background checkpointer with one that
// only runs when Checkpoint is called: it takes the writer to copy the tail
// from restartFrames pages of WAL on, and runs copied between the copy and
// its tail.
func (s *Store) CheckpointerT(restartFrames int, copied func()) *CheckpointT {
	s.ckpt.close()
	c := &checkpointer{db: s.db, writer: s.group.writer, restartFrames: restartFrames, copied: copied,
		stop: make(chan struct{}), done: make(chan struct{})}
	close(c.done) // no goroutine: Close finds it stopped
	s.ckpt = c
	return &CheckpointT{c}
}

// CheckpointT drives a checkpointer by hand.
type CheckpointT struct{ c *checkpointer }

func (c *CheckpointT) Checkpoint() { c.c.checkpoint() }

// WALFramesT is the size of the WAL in pages, and how many of them are in
// the database file (a PASSIVE checkpoint's answer; it copies what it can).
func (s *Store) WALFramesT(ctx context.Context) (frames, copied int, err error) {
	return (&checkpointer{db: s.db}).passive(ctx)
}
