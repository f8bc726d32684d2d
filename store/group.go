package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// maxGroup bounds how many transactions one SQLite commit carries, so one
// leader does not run an unbounded queue while its own caller waits.
const maxGroup = 64

// Job states: a queued job is taken by exactly one leader or cancelled by
// its caller, never both.
const (
	jobQueued int32 = iota
	jobTaken
	jobCancelled
)

// groupCommit runs SQLite transactions as group commits. SQLite has one
// writer and a commit is the costliest step of a small transaction (its
// pages are written to the WAL); transactions that queue while another
// commits are run one after another inside a single transaction, each under
// its own savepoint, and committed together. Each keeps its own outcome: a
// function that fails rolls back to its savepoint and leaves the others'
// writes alone. A caller returns only after the commit that carries its
// writes, so what InTx reports is what the database holds.
type groupCommit struct {
	writer chan struct{} // held by the leader: the one goroutine running a group
	mu     sync.Mutex
	queue  []*txJob

	// running is set while a group runs (see Store.yield).
	running atomic.Bool

	// conn is the connection every group runs on, used only by the
	// leader. SQLite drops a connection's whole page cache when another
	// connection has written since its last transaction; groups spread
	// over the pool would each start cold and read every page they write
	// back from the file. On one connection the pages stay cached.
	conn *sql.Conn
}

func newGroupCommit() *groupCommit { return &groupCommit{writer: make(chan struct{}, 1)} }

// begin starts a group's transaction on the writer's connection, taking a
// fresh one from the pool when it has none or it failed.
func (g *groupCommit) begin(ctx context.Context, db *sql.DB) (*sql.Tx, error) {
	if g.conn == nil {
		c, err := db.Conn(ctx)
		if err != nil {
			return nil, err
		}
		g.conn = c
	}
	tx, err := g.conn.BeginTx(ctx, nil)
	if err != nil {
		g.conn.Close()
		g.conn = nil
	}
	return tx, err
}

// close gives the writer's connection back, after the group that is
// running; a later group takes a new one (or fails with the pool closed).
func (g *groupCommit) close() {
	g.writer <- struct{}{}
	defer func() { <-g.writer }()
	if g.conn != nil {
		g.conn.Close()
		g.conn = nil
	}
}

// txJob is one InTx call waiting for its group.
type txJob struct {
	ctx   context.Context
	fn    func(tx *Store) error
	state atomic.Int32
	err   error
	panic any // a panic of fn, raised again in the caller's goroutine
	done  chan struct{}
}

func (j *txJob) result() error {
	if j.panic != nil {
		panic(j.panic)
	}
	return j.err
}

// do queues fn and waits for the group that runs it, leading one when the
// writer is free.
func (g *groupCommit) do(ctx context.Context, s *Store, fn func(tx *Store) error) error {
	j := &txJob{ctx: ctx, fn: fn, done: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, j)
	g.mu.Unlock()
	for {
		select {
		case <-j.done:
			return j.result()
		case g.writer <- struct{}{}:
			g.lead(s)
			<-g.writer
			select {
			case <-j.done:
				return j.result()
			default: // more than maxGroup were queued before us: wait for the next group
			}
		case <-ctx.Done():
			if j.state.CompareAndSwap(jobQueued, jobCancelled) {
				return fmt.Errorf("store: begin: %w", ctx.Err())
			}
			<-j.done // a leader took it: its outcome is the database's
			return j.result()
		}
	}
}

// lead takes up to maxGroup queued jobs and runs them as one transaction.
func (g *groupCommit) lead(s *Store) {
	g.mu.Lock()
	n := min(len(g.queue), maxGroup)
	queued := g.queue[:n:n]
	g.queue = append([]*txJob(nil), g.queue[n:]...)
	g.mu.Unlock()
	jobs := queued[:0]
	for _, j := range queued {
		if j.state.CompareAndSwap(jobQueued, jobTaken) {
			jobs = append(jobs, j)
		}
	}
	if len(jobs) == 0 {
		return
	}
	g.running.Store(true)
	err := s.runGroup(jobs)
	g.running.Store(false)
	if s.ckpt != nil {
		s.ckpt.committed()
	}
	for _, j := range jobs {
		if err != nil && j.err == nil && j.panic == nil {
			j.err = err
		}
		close(j.done)
	}
}

// yield lets the SQLite writer run first, when a group is running, after
// a read on the pool. The writer and the pool's readers share mutexes
// inside the driver (the page cache's LRU and the C allocator). When a
// reader's unlock wakes the blocked writer, the writer queues on the
// reader's P and runs only once that goroutine blocks, after the rest of
// its request's CPU work (signing, JSON), while every caller in the group
// waits for the writer. On refresh at 64 connections the writer spent a
// third of its busy time runnable but not running; a yield after the
// refresh's read gave 1.09x requests/s. Point reads (pointRow) call it
// after their scan; without a group running it costs one atomic load.
func (s *Store) yield() {
	if s.yields() {
		runtime.Gosched()
	}
}

// yields reports whether yield gives way now: on the pool of a SQLite
// store while a group runs.
func (s *Store) yields() bool {
	return s.tx == nil && s.group != nil && s.group.running.Load()
}

// errGroupBroken stops a group whose transaction can no longer be trusted
// (a savepoint statement failed).
var errGroupBroken = errors.New("store: group transaction failed")

// runGroup runs jobs in one transaction. A job's error (or panic) is its
// own; the returned error (begin, savepoint or commit failed) is every
// job's that succeeded, whose writes were then not committed.
func (s *Store) runGroup(jobs []*txJob) error {
	// The transaction belongs to no caller: one caller going away must not
	// roll back the others' work, so neither it nor its statements see a
	// caller's cancellation (each job is checked before it starts).
	ctx := context.WithoutCancel(jobs[0].ctx)
	tx, err := s.group.begin(ctx, s.db)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback() // no-op after Commit
	bound := *s
	bound.tx = tx
	bound.q = detached{s.querier(s.db, tx)}
	if len(jobs) == 1 {
		// Nothing to keep apart: the transaction is the job's.
		j := jobs[0]
		if j.err = j.run(&bound); j.err != nil || j.panic != nil {
			return nil
		}
		return commit(tx)
	}
	for _, j := range jobs {
		if err := j.ctx.Err(); err != nil {
			j.err = fmt.Errorf("store: begin: %w", err)
			continue
		}
		if _, err := bound.q.ExecContext(ctx, "SAVEPOINT grp"); err != nil {
			return fmt.Errorf("%w: savepoint: %w", errGroupBroken, err)
		}
		j.err = j.run(&bound)
		if j.err != nil || j.panic != nil {
			if _, err := bound.q.ExecContext(ctx, "ROLLBACK TO grp"); err != nil {
				return fmt.Errorf("%w: rollback to savepoint: %w", errGroupBroken, err)
			}
		}
		if _, err := bound.q.ExecContext(ctx, "RELEASE grp"); err != nil {
			return fmt.Errorf("%w: release savepoint: %w", errGroupBroken, err)
		}
	}
	return commit(tx)
}

// run calls the job's function, turning a panic into the job's outcome.
func (j *txJob) run(tx *Store) (err error) {
	defer func() {
		if p := recover(); p != nil {
			j.panic = p
		}
	}()
	return j.fn(tx)
}

func commit(tx *sql.Tx) error {
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// detached runs statements without their caller's cancellation: inside a
// group transaction an interrupted write could roll back the whole
// transaction, the other callers' writes with it.
type detached struct{ q querier }

func (d detached) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return d.q.ExecContext(context.WithoutCancel(ctx), query, args...)
}

func (d detached) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return d.q.QueryContext(context.WithoutCancel(ctx), query, args...)
}

func (d detached) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return d.q.QueryRowContext(context.WithoutCancel(ctx), query, args...)
}
