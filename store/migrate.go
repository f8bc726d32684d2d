package store

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/postgres/*.sql migrations/sqlite/*.sql
var migrationFS embed.FS

// Migration is one applied, rolled back or pending migration.
type Migration struct {
	Version   int64
	Name      string // file name, e.g. 00001_reference.sql
	Applied   bool
	AppliedAt time.Time     // zero when pending
	Duration  time.Duration // set on results of Up and Down
}

// Migrator applies the embedded migration set of the store's engine
// (goose's Provider; on Postgres under a session advisory lock, so replicas
// starting together migrate once).
type Migrator struct {
	p *goose.Provider
	s *Store // for adoptReference (adopt.go)
}

// Migrator returns the migrator for this store.
func (s *Store) Migrator() (*Migrator, error) {
	sub, err := fs.Sub(migrationFS, path.Join("migrations", string(s.Engine())))
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	var opts []goose.ProviderOption
	if s.Engine() == Postgres {
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, fmt.Errorf("store: migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(s.d.goose, s.db, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	return &Migrator{p: p, s: s}, nil
}

// Migrate applies every pending migration; serve and chat call it at start.
func (s *Store) Migrate(ctx context.Context) ([]Migration, error) {
	m, err := s.Migrator()
	if err != nil {
		return nil, err
	}
	return m.Up(ctx)
}

// Up applies all pending migrations, in order.
func (m *Migrator) Up(ctx context.Context) ([]Migration, error) {
	if err := m.adoptReference(ctx); err != nil {
		return nil, err
	}
	res, err := m.p.Up(ctx)
	return results(res), migrationErr("up", err)
}

// UpTo applies pending migrations up to and including version.
func (m *Migrator) UpTo(ctx context.Context, version int64) ([]Migration, error) {
	if err := m.known(version); err != nil {
		return nil, err
	}
	if err := m.adoptReference(ctx); err != nil {
		return nil, err
	}
	res, err := m.p.UpTo(ctx, version)
	return results(res), migrationErr("up", err)
}

// Down rolls back the most recent migration. With nothing applied it
// returns (nil, nil).
func (m *Migrator) Down(ctx context.Context) ([]Migration, error) {
	res, err := m.p.Down(ctx)
	if errors.Is(err, goose.ErrNoNextVersion) {
		return nil, nil
	}
	if err != nil {
		return nil, migrationErr("down", err)
	}
	return results([]*goose.MigrationResult{res}), nil
}

// DownTo rolls back every migration above version (0 = all).
func (m *Migrator) DownTo(ctx context.Context, version int64) ([]Migration, error) {
	if version != 0 {
		if err := m.known(version); err != nil {
			return nil, err
		}
	}
	res, err := m.p.DownTo(ctx, version)
	return results(res), migrationErr("down", err)
}

// Status lists every known migration with whether it is applied.
func (m *Migrator) Status(ctx context.Context) ([]Migration, error) {
	st, err := m.p.Status(ctx)
	if err != nil {
		return nil, migrationErr("status", err)
	}
	out := make([]Migration, 0, len(st))
	for _, s := range st {
		out = append(out, Migration{
			Version: s.Source.Version, Name: path.Base(s.Source.Path),
			Applied: s.State == goose.StateApplied, AppliedAt: s.AppliedAt,
		})
	}
	return out, nil
}

// Version returns the current schema version (0 = nothing applied) and the
// newest version this binary knows.
func (m *Migrator) Version(ctx context.Context) (current, latest int64, err error) {
	current, latest, err = m.p.GetVersions(ctx)
	return current, latest, migrationErr("version", err)
}

func (m *Migrator) known(version int64) error {
	for _, src := range m.p.ListSources() {
		if src.Version == version {
			return nil
		}
	}
	return fmt.Errorf("%w: %d (run `agentplane migrate status` to list them)", ErrUnknownVersion, version)
}

func results(in []*goose.MigrationResult) []Migration {
	out := make([]Migration, 0, len(in))
	for _, r := range in {
		out = append(out, Migration{
			Version: r.Source.Version, Name: path.Base(r.Source.Path),
			Applied: r.Direction == "up", Duration: r.Duration,
		})
	}
	return out
}

func migrationErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var partial *goose.PartialError
	if errors.As(err, &partial) && partial.Failed != nil {
		return fmt.Errorf("store: migrate %s: %s failed: %w", op, path.Base(partial.Failed.Source.Path), partial.Err)
	}
	return fmt.Errorf("store: migrate %s: %w", op, err)
}

// SchemaFingerprint is a hash of every embedded migration file, so test
// harnesses can cache a migrated database per schema version.
func SchemaFingerprint() string {
	h := sha256.New()
	_ = fs.WalkDir(migrationFS, "migrations", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := migrationFS.ReadFile(p)
		h.Write([]byte(p))
		h.Write(b)
		return err
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}
