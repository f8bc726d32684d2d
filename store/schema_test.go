package store_test

import (
	"errors"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"agentplane/store"
	"agentplane/store/storetest"
)

var updateSchema = flag.Bool("update-schema", false,
	"rewrite "+schemaGolden+" from the PostgreSQL schema (needs "+storetest.PostgresEnv+")")

// schemaGolden pins the final schema, so a migration that changes it on both
// engines alike still shows up in review.
const schemaGolden = "testdata/schema.golden"

// TestSchemaParity migrates an empty database of each engine one version at a
// time; after every version both must have the same tables, columns (in
// order, with nullability), index names and foreign keys, and the final schema
// must equal the golden file. Without PostgreSQL only SQLite is checked
// against the golden file.
func TestSchemaParity(t *testing.T) {
	t.Parallel()
	var lite, pg []versionSchema
	t.Run("sqlite", func(t *testing.T) { lite = schemaByVersion(t, openEmpty(t, store.SQLite)) })
	t.Run("postgres", func(t *testing.T) { pg = schemaByVersion(t, openEmpty(t, store.Postgres)) })
	if t.Failed() {
		return
	}
	final := lite[len(lite)-1].schema
	if pg != nil {
		if len(pg) != len(lite) {
			t.Fatalf("postgres has %d migrations, sqlite %d", len(pg), len(lite))
		}
		for i := range pg {
			if diff := cmp.Diff(pg[i].schema, lite[i].schema); diff != "" {
				t.Errorf("after version %d the engines differ (-postgres +sqlite):\n%s", pg[i].version, diff)
			}
		}
		final = pg[len(pg)-1].schema
		if *updateSchema {
			if err := os.WriteFile(schemaGolden, []byte(strings.Join(final, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	} else if *updateSchema {
		t.Fatalf("-update-schema generates %s from PostgreSQL: set %s", schemaGolden, storetest.PostgresEnv)
	}
	if diff := cmp.Diff(golden(t), final); diff != "" {
		t.Errorf("schema differs from %s (-golden +migrated); if the change is intended, run "+
			"go test ./store -run TestSchemaParity -update-schema with %s set:\n%s", schemaGolden, storetest.PostgresEnv, diff)
	}
}

// TestMigrateDownAndUpAgain rolls every migration back and applies them again.
func TestMigrateDownAndUpAgain(t *testing.T) {
	t.Parallel()
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		m := migrator(t, s)
		_, latest, err := m.Version(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		before := schemaOf(t, s)
		down, err := m.DownTo(t.Context(), 0)
		if err != nil {
			t.Fatalf("down to 0: %v", err)
		}
		if got := len(down); int64(got) != latest {
			t.Errorf("down to 0 rolled back %d migrations, want %d", got, latest)
		}
		if left := schemaOf(t, s); len(left) != 0 {
			t.Errorf("down to 0 left tables behind:\n%s", strings.Join(left, "\n"))
		}
		if current, _, err := m.Version(t.Context()); err != nil || current != 0 {
			t.Errorf("version after down to 0 = %d, %v; want 0", current, err)
		}
		up, err := m.Up(t.Context())
		if err != nil {
			t.Fatalf("up again: %v", err)
		}
		if got := len(up); int64(got) != latest {
			t.Errorf("up again applied %d migrations, want %d", got, latest)
		}
		if diff := cmp.Diff(before, schemaOf(t, s)); diff != "" {
			t.Errorf("schema after down and up differs (-before +after):\n%s", diff)
		}
	})
}

// TestSeedPlans checks the two plans the first migration seeds (spec: agents-and-data.md §8.4).
func TestSeedPlans(t *testing.T) {
	t.Parallel()
	type plan struct {
		Code, Name, Interval, Currency, Toggles string
		IntervalCount, PriceCents               int
		TrialDays, SeatIncluded                 int
		Active                                  bool
	}
	want := []plan{
		{"pro", "Pro", "monthly", "USD", `{"enable_web_search": true}`, 1, 9900, 14, 5, true},
		{"starter", "Starter", "monthly", "USD", `{"enable_web_search": false}`, 1, 0, 14, 1, true},
	}
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		rows, err := s.DB().QueryContext(t.Context(), `SELECT code, name, "interval", currency,
			feature_toggles, interval_count, price_cents, trial_days, seat_included, is_active
			FROM billing_plans ORDER BY code`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []plan
		for rows.Next() {
			var p plan
			if err := rows.Scan(&p.Code, &p.Name, &p.Interval, &p.Currency, &p.Toggles,
				&p.IntervalCount, &p.PriceCents, &p.TrialDays, &p.SeatIncluded, &p.Active); err != nil {
				t.Fatal(err)
			}
			got = append(got, p)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("seeded plans (-want +got):\n%s", diff)
		}
	})
}

// TestMigrateUnknownVersion: asking for a version no migration has is refused
// before anything runs.
func TestMigrateUnknownVersion(t *testing.T) {
	t.Parallel()
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		m := migrator(t, s)
		tests := []struct {
			name    string
			run     func(int64) ([]store.Migration, error)
			version int64
		}{
			{"up to a version after the last", func(v int64) ([]store.Migration, error) { return m.UpTo(t.Context(), v) }, 99999},
			{"up to a negative version", func(v int64) ([]store.Migration, error) { return m.UpTo(t.Context(), v) }, -1},
			{"down to a version after the last", func(v int64) ([]store.Migration, error) { return m.DownTo(t.Context(), v) }, 99999},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if _, err := tt.run(tt.version); !errors.Is(err, store.ErrUnknownVersion) {
					t.Errorf("err = %v, want ErrUnknownVersion", err)
				}
			})
		}
	})
}

// TestAdoptReferenceDatabase: a PostgreSQL database the reference migrated to
// its Alembic head is taken over at version 1 (00001 is not run again, its rows
// stay) and ends at the latest version with the golden schema; at any other
// Alembic revision it is refused and left untouched.
func TestAdoptReferenceDatabase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		revisions   []string // rows of alembic_version
		statusFirst bool     // `migrate status` ran before `migrate up` (goose's table then exists, empty)
		wantErr     error
	}{
		{name: "at head", revisions: []string{store.AlembicHead}},
		{name: "at head, status first", revisions: []string{store.AlembicHead}, statusFirst: true},
		{name: "older revision", revisions: []string{"20251112_200500"}, wantErr: store.ErrAlembicRevision},
		{name: "unmerged branches", revisions: []string{"0e52ba5ab089", "20251107_150000"}, wantErr: store.ErrAlembicRevision},
		{name: "no revision", revisions: nil, wantErr: store.ErrAlembicRevision},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := referenceDatabase(t, tt.revisions...)
			const tenant = "11111111-2222-3333-4444-555555555555"
			exec(t, s, `INSERT INTO tenant_accounts (id, slug, name) VALUES ($1, 'acme', 'Acme')`, tenant)
			m := migrator(t, s)
			if tt.statusFirst {
				if _, err := m.Status(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			applied, err := m.Up(t.Context())
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("up: err = %v, want %v", err, tt.wantErr)
				}
				t.Logf("refused as expected: %v", err)
				var untouched bool
				if err := s.DB().QueryRowContext(t.Context(), `SELECT to_regclass('goose_db_version') IS NULL`).Scan(&untouched); err != nil || !untouched {
					t.Errorf("goose's version table was created on refusal (%v)", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("up: %v", err)
			}
			all, err := m.Status(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(versions(all)[1:], versions(applied)); diff != "" {
				t.Errorf("applied versions (-want: all but 1 +got):\n%s", diff)
			}
			current, latest, err := m.Version(t.Context())
			if err != nil || current != latest {
				t.Errorf("version = %d, %v; want the latest, %d", current, err, latest)
			}
			var slug string
			if err := s.DB().QueryRowContext(t.Context(), `SELECT slug FROM tenant_accounts WHERE id = $1`, tenant).Scan(&slug); err != nil {
				t.Errorf("the reference's row is gone: %v", err)
			}
			if diff := cmp.Diff(golden(t), schemaOf(t, s)); diff != "" {
				t.Errorf("adopted schema differs from %s (-golden +adopted):\n%s", schemaGolden, diff)
			}
			if again, err := m.Up(t.Context()); err != nil || len(again) != 0 {
				t.Errorf("second up applied %v, %v; want nothing", versions(again), err)
			}
		})
	}
}

// TestAdoptRefusesDuplicates: rows that the new unique indexes of 00002 would
// reject stop the migration with a message; nothing of 00002 is applied, and
// once the rows are cleaned up the migration goes through.
func TestAdoptRefusesDuplicates(t *testing.T) {
	t.Parallel()
	const tenant = "11111111-2222-3333-4444-555555555555"
	tests := []struct {
		name    string
		insert  []string
		cleanup string
	}{
		{
			name: "two subscriptions of one tenant",
			insert: []string{
				`INSERT INTO tenant_accounts (id, slug, name) VALUES ('` + tenant + `', 'acme', 'Acme')`,
				`INSERT INTO tenant_subscriptions (id, tenant_id, plan_id)
				 SELECT v.id::uuid, '` + tenant + `', p.id FROM billing_plans p,
				 (VALUES ('a0000000-0000-4000-8000-000000000001'), ('a0000000-0000-4000-8000-000000000002')) AS v(id)
				 WHERE p.code = 'pro'`,
			},
			cleanup: `DELETE FROM tenant_subscriptions WHERE id = 'a0000000-0000-4000-8000-000000000002'`,
		},
		{
			name: "two active tokens of a service account without tenant",
			insert: []string{
				`INSERT INTO service_account_tokens (id, account, tenant_id, scope_key, scopes, refresh_token_hash,
				 refresh_jti, signing_kid, issued_at, expires_at, created_at, updated_at)
				 SELECT v.id::uuid, 'analytics-batch', NULL, 'billing:read', '["billing:read"]', 'hash', v.id,
				 'kid', now(), now() + interval '1 day', now(), now()
				 FROM (VALUES ('b0000000-0000-4000-8000-000000000001'), ('b0000000-0000-4000-8000-000000000002')) AS v(id)`,
			},
			cleanup: `UPDATE service_account_tokens SET revoked_at = now() WHERE id = 'b0000000-0000-4000-8000-000000000001'`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := referenceDatabase(t, store.AlembicHead)
			for _, q := range tt.insert {
				exec(t, s, q)
			}
			m := migrator(t, s)
			_, err := m.Up(t.Context())
			if err == nil {
				t.Fatal("up succeeded on duplicate rows")
			}
			t.Logf("refused as expected: %v", err)
			if current, _, err := m.Version(t.Context()); err != nil || current != 1 {
				t.Errorf("version after refusal = %d, %v; want 1 (adopted, 00002 rolled back)", current, err)
			}
			if idx := indexNames(t, s); !slices.Contains(idx, "ix_user_sessions_refresh_jti") ||
				slices.Contains(idx, "uq_tenant_subscriptions_tenant_id") {
				t.Errorf("00002 was partly applied; indexes: %v", idx)
			}
			exec(t, s, tt.cleanup)
			if _, err := m.Up(t.Context()); err != nil {
				t.Fatalf("up after cleanup: %v", err)
			}
			if current, latest, err := m.Version(t.Context()); err != nil || current != latest {
				t.Errorf("version = %d, %v; want %d", current, err, latest)
			}
		})
	}
}

// versionSchema is a database's schema after one migration version.
type versionSchema struct {
	version int64
	schema  []string
}

func schemaByVersion(t *testing.T, s *store.Store) []versionSchema {
	t.Helper()
	m := migrator(t, s)
	all, err := m.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []versionSchema
	for _, mig := range all {
		if _, err := m.UpTo(t.Context(), mig.Version); err != nil {
			t.Fatalf("up to %d: %v", mig.Version, err)
		}
		out = append(out, versionSchema{mig.Version, schemaOf(t, s)})
	}
	return out
}

// Catalog queries. Each returns (table, line) rows; a column line is
// "<name> NULL|NOT NULL", an index line "index <name>[ UNIQUE]" (primary keys
// left out: their names differ by design) and a foreign key line
// "fk <columns> -> <table>(<columns>) ON DELETE <action>".
var catalog = map[store.Engine][]string{
	store.Postgres: {
		`SELECT c.table_name, c.column_name || CASE c.is_nullable WHEN 'YES' THEN ' NULL' ELSE ' NOT NULL' END
		FROM information_schema.columns c
		JOIN information_schema.tables t USING (table_schema, table_name)
		WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
		  AND c.table_name NOT IN ('goose_db_version', 'alembic_version')
		ORDER BY c.table_name, c.ordinal_position`,
		`SELECT t.relname, 'index ' || i.relname || CASE WHEN x.indisunique THEN ' UNIQUE' ELSE '' END
		FROM pg_index x
		JOIN pg_class i ON i.oid = x.indexrelid
		JOIN pg_class t ON t.oid = x.indrelid
		WHERE t.relnamespace = current_schema()::regnamespace AND NOT x.indisprimary
		  AND t.relname NOT IN ('goose_db_version', 'alembic_version')`,
		`SELECT t.relname, 'fk ' ||
		  (SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM unnest(c.conkey) WITH ORDINALITY AS k(att, n)
		   JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.att) ||
		  ' -> ' || r.relname || '(' ||
		  (SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM unnest(c.confkey) WITH ORDINALITY AS k(att, n)
		   JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.att) ||
		  ') ON DELETE ' || CASE c.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL'
		    WHEN 'r' THEN 'RESTRICT' WHEN 'd' THEN 'SET DEFAULT' ELSE 'NO ACTION' END
		FROM pg_constraint c
		JOIN pg_class t ON t.oid = c.conrelid
		JOIN pg_class r ON r.oid = c.confrelid
		WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace`,
	},
	store.SQLite: {
		`SELECT m.name, c.name || CASE c."notnull" WHEN 1 THEN ' NOT NULL' ELSE ' NULL' END
		FROM sqlite_master m, pragma_table_info(m.name) c
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> 'goose_db_version'
		ORDER BY m.name, c.cid`,
		`SELECT m.name, 'index ' || i.name || CASE i."unique" WHEN 1 THEN ' UNIQUE' ELSE '' END
		FROM sqlite_master m, pragma_index_list(m.name) i
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> 'goose_db_version'
		  AND i.origin <> 'pk'`,
		`SELECT name, 'fk ' || group_concat("from", ',') || ' -> ' || "table" || '(' ||
		  group_concat("to", ',') || ') ON DELETE ' || on_delete
		FROM (SELECT m.name, f.* FROM sqlite_master m, pragma_foreign_key_list(m.name) f
		      WHERE m.type = 'table' ORDER BY m.name, f.id, f.seq)
		GROUP BY name, id`,
	},
}

// schemaOf renders the schema as lines: each table (sorted) followed by its
// columns in order, then its sorted index and foreign key lines.
func schemaOf(t *testing.T, s *store.Store) []string {
	t.Helper()
	columns := map[string][]string{}
	var extra map[string][]string
	for i, q := range catalog[s.Engine()] {
		lines := map[string][]string{}
		rows, err := s.DB().QueryContext(t.Context(), q)
		if err != nil {
			t.Fatalf("read the %s catalog: %v", s.Engine(), err)
		}
		for rows.Next() {
			var table, line string
			if err := rows.Scan(&table, &line); err != nil {
				t.Fatal(err)
			}
			lines[table] = append(lines[table], line)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			columns, extra = lines, map[string][]string{}
			continue
		}
		for table, l := range lines {
			extra[table] = append(extra[table], l...)
		}
	}
	var out []string
	for _, table := range slices.Sorted(maps.Keys(columns)) {
		out = append(out, table)
		for _, c := range columns[table] {
			out = append(out, "  "+c)
		}
		for _, l := range slices.Sorted(slices.Values(extra[table])) {
			out = append(out, "  "+l)
		}
	}
	return out
}

func golden(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(schemaGolden)
	if err != nil {
		t.Fatalf("%v (generate it with go test ./store -run TestSchemaParity -update-schema and %s set)", err, storetest.PostgresEnv)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// openEmpty opens a database of the engine with nothing migrated; PostgreSQL
// skips (or fails under CI) as storetest does when it is not configured.
func openEmpty(t *testing.T, engine store.Engine) *store.Store {
	t.Helper()
	url := "sqlite:///" + filepath.Join(t.TempDir(), "test.db")
	if engine == store.Postgres {
		url = storetest.PostgresURL(t)
	}
	s, err := store.Open(t.Context(), store.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// referenceDatabase builds what the reference leaves at its Alembic head
// without goose: 00001's Up section run as plain SQL, and an alembic_version
// table (as Alembic creates it) holding revisions.
func referenceDatabase(t *testing.T, revisions ...string) *store.Store {
	t.Helper()
	s := openEmpty(t, store.Postgres)
	b, err := os.ReadFile("migrations/postgres/00001_reference.sql")
	if err != nil {
		t.Fatal(err)
	}
	_, up, ok := strings.Cut(string(b), "-- +goose Up")
	up, _, ok2 := strings.Cut(up, "-- +goose Down")
	if !ok || !ok2 {
		t.Fatal("00001_reference.sql has no Up section")
	}
	exec(t, s, up)
	exec(t, s, `CREATE TABLE alembic_version (
		version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))`)
	for _, r := range revisions {
		exec(t, s, `INSERT INTO alembic_version (version_num) VALUES ($1)`, r)
	}
	return s
}

func migrator(t *testing.T, s *store.Store) *store.Migrator {
	t.Helper()
	m, err := s.Migrator()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func exec(t *testing.T, s *store.Store, q string, args ...any) {
	t.Helper()
	if _, err := s.DB().ExecContext(t.Context(), q, args...); err != nil {
		t.Fatalf("%s: %v", firstLine(q), err)
	}
}

func firstLine(q string) string {
	q = strings.TrimSpace(q)
	line, _, _ := strings.Cut(q, "\n")
	return line
}

func indexNames(t *testing.T, s *store.Store) []string {
	t.Helper()
	var out []string
	for _, l := range schemaOf(t, s) {
		if name, ok := strings.CutPrefix(strings.TrimSpace(l), "index "); ok {
			out = append(out, strings.Fields(name)[0])
		}
	}
	return out
}

func versions(ms []store.Migration) []int64 {
	out := make([]int64, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Version)
	}
	return out
}
