package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteTime is the one layout SQLite times are written in. It equals
// strftime('%Y-%m-%dT%H:%M:%fZ') (the column defaults), is fixed-width so
// text order is time order, and is UTC.
const sqliteTime = "2006-01-02T15:04:05.000Z"

// dialect holds everything that differs between the engines; repositories
// call its methods and never look at the engine themselves.
type dialect struct {
	engine Engine
	goose  goose.Dialect
}

var (
	pgDialect   = dialect{engine: Postgres, goose: goose.DialectPostgres}
	liteDialect = dialect{engine: SQLite, goose: goose.DialectSQLite3}
)

// timeArg converts t into the value the engine stores.
func (d dialect) timeArg(t time.Time) any {
	if d.engine == SQLite {
		return t.UTC().Format(sqliteTime)
	}
	return t.UTC()
}

// nullTimeArg is timeArg for optional times (nil stores NULL).
func (d dialect) nullTimeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return d.timeArg(*t)
}

// scanTime returns a Scanner that reads a stored time into dst (UTC).
func (d dialect) scanTime(dst *time.Time) sql.Scanner { return timeScanner{dst: dst} }

// scanNullTime reads an optional stored time; NULL leaves *dst nil.
func (d dialect) scanNullTime(dst **time.Time) sql.Scanner { return nullTimeScanner{dst: dst} }

type timeScanner struct{ dst *time.Time }

func (s timeScanner) Scan(src any) error {
	t, ok, err := parseStoredTime(src)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("store: NULL in a NOT NULL time column")
	}
	*s.dst = t
	return nil
}

type nullTimeScanner struct{ dst **time.Time }

func (s nullTimeScanner) Scan(src any) error {
	t, ok, err := parseStoredTime(src)
	if err != nil || !ok {
		*s.dst = nil
		return err
	}
	*s.dst = &t
	return nil
}

// parseStoredTime accepts what either driver hands back for a time column:
// time.Time (pgx), or text in our layout or any RFC 3339 form (rows written
// by other tools).
func parseStoredTime(src any) (time.Time, bool, error) {
	switch v := src.(type) {
	case nil:
		return time.Time{}, false, nil
	case time.Time:
		return v.UTC(), true, nil
	case string:
		return parseTimeText(v)
	case []byte:
		return parseTimeText(string(v))
	}
	return time.Time{}, false, fmt.Errorf("store: cannot read %T as a time", src)
}

func parseTimeText(s string) (time.Time, bool, error) {
	for _, layout := range []string{sqliteTime, time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true, nil
		}
	}
	return time.Time{}, false, fmt.Errorf("store: %q is not a stored time", s)
}

// classify maps driver errors onto the package's sentinels, wrapping the
// rest with what was being done.
func (d dialect) classify(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	if name, ok := d.uniqueViolation(err); ok {
		return fmt.Errorf("%s: %w", what, &ConstraintError{Constraint: name, Err: err})
	}
	if foreignKeyViolation(err) {
		// the row referred to (a tenant, a user) does not exist
		return fmt.Errorf("%s: referenced row missing: %w", what, ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// foreignKeyViolation reports whether err is a foreign-key violation on
// either engine.
func foreignKeyViolation(err error) bool {
	var pg *pgconn.PgError
	var lite *sqlite.Error
	return errors.As(err, &pg) && pg.Code == "23503" ||
		errors.As(err, &lite) && lite.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// uniqueViolation reports whether err is a unique-constraint violation, with
// the constraint's name when the engine tells it (SQLite reports columns,
// "UNIQUE constraint failed: users.email", which is returned as is).
func (d dialect) uniqueViolation(err error) (string, bool) {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "23505" {
		return pg.ConstraintName, true
	}
	var lite *sqlite.Error
	if errors.As(err, &lite) && (lite.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || lite.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return lite.Error(), true
	}
	return "", false
}

// sqliteConnector opens modernc connections on one DSN, so no driver has to
// be registered by name.
type sqliteConnector struct {
	dsn string
	drv *sqlite.Driver
}

func (c sqliteConnector) Connect(_ context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c sqliteConnector) Driver() driver.Driver                          { return c.drv }

// sqliteDSN is the file DSN with the pragmas every connection needs:
// busy_timeout first (so the others wait instead of failing), WAL, foreign
// keys on, and immediate transactions (SQLite has one writer; taking the
// lock at BEGIN avoids upgrade deadlocks).
//
// synchronous(NORMAL) in WAL mode syncs the WAL at checkpoints, not at each
// commit: a commit survives a crash of the process, and a power loss or OS
// crash can only drop the last commits, never corrupt the file. For a
// refresh that means the client holds a token whose rotation was lost: its
// next refresh is refused and the person logs in again, while the token it
// replaced is as valid as it was before that refresh. FULL would add an
// fsync to every commit, the costliest step of a refresh, for that case.
// (mmap_size was measured too: slower under concurrent refreshes.)
//
// temp_store(MEMORY) keeps statement and savepoint journals in memory: every
// transaction of a group commit runs under a savepoint, and on files each
// page it wrote again cost a write to a temporary file (a tenth of a
// refresh's CPU). wal_autocheckpoint is only a backstop: the store's
// checkpointer copies the WAL in the background (see checkpoint.go).
func sqliteDSN(path string) string {
	return "file:" + path + "?_txlock=immediate" +
		"&_pragma=busy_timeout(10000)" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)" +
		"&_pragma=foreign_keys(1)" +
		"&_pragma=temp_store(MEMORY)" +
		"&_pragma=wal_autocheckpoint(" + strconv.Itoa(ckptBackstopFrames) + ")"
}
