package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
)

// AlembicHead is the reference's last Alembic revision. A PostgreSQL database
// the reference migrated to it has exactly the schema of migration
// 00001_reference.sql (spec: agents-and-data.md §8.1).
const AlembicHead = "b9f552d26804"

// referenceVersion is the migration whose schema equals AlembicHead's.
const referenceVersion = 1

// ErrAlembicRevision means the database was migrated by the reference (it has
// an alembic_version table) but is not at AlembicHead, so it cannot be adopted.
var ErrAlembicRevision = errors.New("store: the reference database is not at Alembic revision " + AlembicHead)

// adoptReference lets a PostgreSQL database created by the reference be
// migrated on (DESIGN.md compatibility promise 3): when goose has applied
// nothing yet and the database's alembic_version is AlembicHead, it records
// versions 0 and 1 as applied, so Up continues with 00002. A database at any
// other Alembic revision is refused with ErrAlembicRevision. SQLite databases
// and databases without alembic_version are left alone.
//
// It runs in one transaction under goose's migration lock (an advisory lock
// on the same id), so replicas starting together adopt once.
func (m *Migrator) adoptReference(ctx context.Context) error {
	if m.s.Engine() != Postgres {
		return nil
	}
	st, err := database.NewStore(database.DialectPostgres, goose.DefaultTablename)
	if err != nil {
		return fmt.Errorf("store: adopt the reference database: %w", err)
	}
	tx, err := m.s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: adopt the reference database: begin: %w", err)
	}
	defer tx.Rollback() // no-op after Commit
	adopted, err := adoptInTx(ctx, tx, st)
	if err != nil || !adopted {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: adopt the reference database: commit: %w", err)
	}
	return nil
}

// adoptInTx does adoptReference's work; it reports whether it recorded anything.
func adoptInTx(ctx context.Context, tx *sql.Tx, st database.Store) (bool, error) {
	fail := func(err error) (bool, error) {
		return false, fmt.Errorf("store: adopt the reference database: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", lock.DefaultLockID); err != nil {
		return fail(err)
	}
	var hasAlembic bool
	if err := tx.QueryRowContext(ctx, "SELECT to_regclass('alembic_version') IS NOT NULL").Scan(&hasAlembic); err != nil {
		return fail(err)
	}
	if !hasAlembic {
		return false, nil
	}
	ext, ok := st.(database.StoreExtender)
	if !ok {
		return fail(errors.New("goose's postgres store cannot check for its version table"))
	}
	hasGoose, err := ext.TableExists(ctx, tx)
	if err != nil {
		return fail(err)
	}
	if hasGoose {
		// goose creates its table (with version 0) on any use, `migrate status`
		// included; it manages the database once it has applied a migration.
		applied, err := st.ListMigrations(ctx, tx)
		if err != nil {
			return fail(err)
		}
		for _, a := range applied {
			if a.Version > 0 && a.IsApplied {
				return false, nil
			}
		}
	}
	revisions, err := alembicRevisions(ctx, tx)
	if err != nil {
		return fail(err)
	}
	if len(revisions) != 1 || revisions[0] != AlembicHead {
		at := "no revision"
		if len(revisions) > 0 {
			at = "revision " + strings.Join(revisions, ", ")
		}
		return false, fmt.Errorf("%w: its alembic_version is at %s. Upgrade it with the reference first "+
			"(`alembic upgrade head`, i.e. `make migrate`), then run agentplane migrate again", ErrAlembicRevision, at)
	}
	if !hasGoose {
		if err := st.CreateVersionTable(ctx, tx); err != nil {
			return fail(err)
		}
		if err := st.Insert(ctx, tx, database.InsertRequest{Version: 0}); err != nil {
			return fail(err)
		}
	}
	if err := st.Insert(ctx, tx, database.InsertRequest{Version: referenceVersion}); err != nil {
		return fail(err)
	}
	return true, nil
}

func alembicRevisions(ctx context.Context, tx *sql.Tx) ([]string, error) {
	rows, err := tx.QueryContext(ctx, "SELECT version_num FROM alembic_version ORDER BY version_num")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
