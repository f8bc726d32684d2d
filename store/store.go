package store

import (
	"agentplane/config"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
)

// Options are the connection settings of spec cli-config-ops.md §7.3.
type Options struct {
	URL string // DATABASE_URL; empty means config.DefaultDatabaseURL
	Dir string // resolves relative SQLite paths; empty = working directory

	PoolSize      int           // DATABASE_POOL_SIZE: idle connections kept (Postgres)
	MaxOverflow   int           // DATABASE_MAX_OVERFLOW: extra connections beyond PoolSize
	Recycle       time.Duration // DATABASE_POOL_RECYCLE: max connection lifetime
	HealthTimeout time.Duration // DATABASE_HEALTH_TIMEOUT: the connectivity check at open and readiness

	// Echo (DATABASE_ECHO) logs every statement with its duration to Log;
	// arguments are never logged (they hold secrets and hashes).
	Echo bool
	Log  *slog.Logger
}

// querier is what both *sql.DB and *sql.Tx offer; repositories use it so the
// same code runs inside and outside a transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Store is an open database. A Store returned by InTx is bound to that
// transaction; every other Store uses the pool.
type Store struct {
	db     *sql.DB
	q      querier
	tx     *sql.Tx
	echo   *slog.Logger  // nil unless DATABASE_ECHO
	stmts  *stmtCache    // SQLite only: pgx caches prepared statements itself
	group  *groupCommit  // SQLite only: transactions queued in Go and committed in groups
	ckpt   *checkpointer // SQLite only: WAL checkpoints off the writer's path
	d      dialect
	target config.DatabaseTarget
	health time.Duration
}

// Open connects to the database named by o.URL and checks that it answers
// within o.HealthTimeout. It does not migrate; see Migrator.
func Open(ctx context.Context, o Options) (*Store, error) {
	target, err := config.ParseDatabaseURL(o.URL, o.Dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadURL, err)
	}
	if o.HealthTimeout <= 0 {
		o.HealthTimeout = 5 * time.Second
	}
	var db *sql.DB
	var d dialect
	switch Engine(target.Engine) {
	case Postgres:
		cfg, err := pgx.ParseConfig(target.DSN)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrBadURL, config.RedactURL(target.DSN), err)
		}
		db, d = stdlib.OpenDB(*cfg), pgDialect
		size := max(o.PoolSize, 1)
		db.SetMaxOpenConns(size + max(o.MaxOverflow, 0))
		db.SetMaxIdleConns(size)
		if o.Recycle > 0 {
			db.SetConnMaxLifetime(o.Recycle)
		}
	case SQLite:
		if err := os.MkdirAll(filepath.Dir(target.DSN), 0o755); err != nil {
			return nil, fmt.Errorf("store: create the directory of the SQLite file %s: %w", target.DSN, err)
		}
		db, d = sql.OpenDB(sqliteConnector{dsn: sqliteDSN(target.DSN), drv: &sqlite.Driver{}}), liteDialect
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
	}
	s := &Store{db: db, d: d, target: target, health: o.HealthTimeout}
	if d.engine == SQLite {
		// SQLite has one writer: queueing transactions here replaces the
		// busy-timeout sleep-polling of its own lock, and lets one commit
		// carry every transaction that queued meanwhile.
		s.stmts, s.group = newStmtCache(db), newGroupCommit()
	}
	if o.Echo && o.Log != nil {
		s.echo = o.Log.With("logger", "sql")
	}
	s.q = s.querier(db, nil)
	if err := s.Ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if s.group != nil {
		s.ckpt = newCheckpointer(db, s.group.writer)
	}
	return s, nil
}

// Engine reports which engine the store runs on.
func (s *Store) Engine() Engine { return Engine(s.target.Engine) }

// Location is the database's address with any password redacted, for logs.
func (s *Store) Location() string {
	if s.Engine() == SQLite {
		return "sqlite:" + s.target.DSN
	}
	return config.RedactURL(s.target.DSN)
}

// DB is the connection pool, for the few callers that need database/sql
// itself (migrations, tests).
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the pool.
func (s *Store) Close() error {
	if s.ckpt != nil {
		s.ckpt.close()
	}
	if s.group != nil {
		s.group.close()
	}
	if s.stmts != nil {
		s.stmts.close()
	}
	return s.db.Close()
}

// querier is what repositories run on: the pool or tx, through the
// statement cache when there is one, logged when DATABASE_ECHO is set.
func (s *Store) querier(db *sql.DB, tx *sql.Tx) querier {
	var q querier = db
	if tx != nil {
		q = tx
	}
	if s.stmts != nil {
		q = preparedQuerier{c: s.stmts, q: q, tx: tx}
	}
	if s.echo != nil {
		q = echoQuerier{q: q, log: s.echo}
	}
	return q
}

// Ping runs SELECT 1 within the health timeout (spec: cli-config-ops.md §8.5).
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.health)
	defer cancel()
	var one int
	if err := s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("%w: %s: %s", ErrUnreachable, s.Location(), oneLine(err))
	}
	return nil
}

// InTx runs fn in one transaction and commits when fn returns nil. fn must
// use only the tx-bound Store it is given; calls made inside a transaction
// join it instead of starting another.
func (s *Store) InTx(ctx context.Context, fn func(tx *Store) error) error {
	if s.tx != nil {
		return fn(s)
	}
	if s.group != nil {
		return s.group.do(ctx, s, fn)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback() // no-op after Commit; also runs when fn panics
	bound := *s
	bound.tx = tx
	bound.q = s.querier(s.db, tx)
	if err := fn(&bound); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// pointRow is QueryRowContext for a read of one row by unique key, which
// takes microseconds. It runs without ctx's cancellation: both drivers
// watch a cancellable context for the length of each statement (a
// goroutine per statement in the SQLite driver, which also installs a
// progress handler), a cost out of all proportion to a read that would
// finish long before a cancellation could stop it. Its Scan then gives way
// to the SQLite writer (see yield).
func (s *Store) pointRow(ctx context.Context, query string, args ...any) yieldingRow {
	return yieldingRow{row: s.q.QueryRowContext(context.WithoutCancel(ctx), query, args...), s: s}
}

// yieldingRow is a row whose Scan yields once the read is done.
type yieldingRow struct {
	row *sql.Row
	s   *Store
}

func (r yieldingRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	r.s.yield()
	return err
}

// oneLine flattens a driver error (pgx lists each address tried on its own
// line) so the CLI prints one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}

// echoQuerier logs each statement (DATABASE_ECHO).
type echoQuerier struct {
	q   querier
	log *slog.Logger
}

func (e echoQuerier) done(ctx context.Context, query string, start time.Time) {
	e.log.InfoContext(ctx, "sql", "query", query, "duration_ms", float64(time.Since(start).Microseconds())/1000)
}

func (e echoQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	defer e.done(ctx, query, time.Now())
	return e.q.ExecContext(ctx, query, args...)
}

func (e echoQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	defer e.done(ctx, query, time.Now())
	return e.q.QueryContext(ctx, query, args...)
}

func (e echoQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	defer e.done(ctx, query, time.Now())
	return e.q.QueryRowContext(ctx, query, args...)
}
