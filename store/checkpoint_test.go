package store_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"agentplane/store"
	"agentplane/store/storetest"
)

// fill writes n rows of about a page each, one transaction each.
func fill(t *testing.T, s *store.Store, n int) {
	t.Helper()
	ctx := t.Context()
	if _, err := s.ExecT(ctx, `CREATE TABLE IF NOT EXISTS ckpt_fill (v TEXT)`); err != nil {
		t.Fatal(err)
	}
	for range n {
		err := s.InTx(ctx, func(tx *store.Store) error {
			_, err := tx.ExecT(ctx, `INSERT INTO ckpt_fill (v) VALUES ($1)`, strings.Repeat("x", 4000))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestCheckpointsRunInBackground: committed pages reach the database file
// without a checkpoint in any commit (SQLite's own starts only at
// thousands of pages, far above what is written here).
func TestCheckpointsRunInBackground(t *testing.T) {
	s := storetest.SQLite(t)
	path := strings.TrimPrefix(s.Location(), "sqlite:")
	fill(t, s, 1)
	if _, _, err := s.WALFramesT(t.Context()); err != nil { // start from a copied WAL
		t.Fatal(err)
	}
	before := fileSize(t, path)
	fill(t, s, 100)
	deadline := time.Now().Add(10 * time.Second)
	for fileSize(t, path) < before+100*4000 {
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes, %d before 100 rows of 4000: the WAL was not copied", fileSize(t, path), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCheckpointStartsTheWALOver: pages written while the checkpoint copied
// the WAL are copied with the writer held, so the next transaction starts
// the WAL from its beginning instead of making it longer.
func TestCheckpointStartsTheWALOver(t *testing.T) {
	s := storetest.SQLite(t)
	ctx := context.Background()
	fill(t, s, 1)
	c := s.CheckpointerT(10, func() { fill(t, s, 5) }) // writes during the copy
	fill(t, s, 20)
	c.Checkpoint()
	fill(t, s, 1)
	frames, copied, err := s.WALFramesT(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if frames > 5 {
		t.Errorf("WAL holds %d pages (%d copied) after one transaction of one row: it did not start over", frames, copied)
	}
}
