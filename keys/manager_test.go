package keys_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"agentplane/keys"
)

// countingFile counts reads of a file storage; embedding keeps the file backend's change
// detection, so the Manager treats it as a file.
type countingFile struct {
	keys.FileStorage
	loads atomic.Int32
}

func (c *countingFile) Load(ctx context.Context) (keys.Keyset, error) {
	c.loads.Add(1)
	return c.FileStorage.Load(ctx)
}

func TestManagerPicksUpRotationByAnotherProcess(t *testing.T) {
	path := copyReference(t, t.TempDir())
	st := &countingFile{FileStorage: keys.FileStorage{Path: path}}
	c := newClock(t0)
	m := newManager(t, st, c)
	ctx := t.Context()

	first, err := m.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if first.Keyset.Active.KID != referenceActive || st.loads.Load() != 1 {
		t.Fatalf("first load: active %s, %d reads", first.Keyset.Active.KID, st.loads.Load())
	}
	oldToken, _ := mustSign(t, m, newAccess(c.Now()))

	// Unchanged file: no re-read, neither within nor after the recheck interval.
	for range 3 {
		c.Advance(1500 * time.Millisecond)
		if s, _ := m.Current(ctx); s != first {
			t.Fatal("snapshot replaced although the file did not change")
		}
	}
	if n := st.loads.Load(); n != 1 {
		t.Errorf("%d reads of an unchanged file, want 1", n)
	}

	// Another process (the CLI) rotates: it has its own storage value and no Manager.
	res, err := keys.Rotate(ctx, keys.FileStorage{Path: path}, keys.RotateOptions{Now: c.Now()})
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(500 * time.Millisecond) // still within the interval since the last check
	if s, _ := m.Current(ctx); s != first || st.loads.Load() != 1 {
		t.Fatal("storage looked at before FileRecheck elapsed")
	}
	if res.KID != referenceNext {
		t.Fatalf("the CLI made %s, want the reference's next key promoted", res.KID)
	}
	c.Advance(time.Second)
	s, err := m.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Keyset.Active.KID != res.KID || st.loads.Load() != 2 {
		t.Fatalf("after the interval: active %s (want %s), %d reads", s.Keyset.Active.KID, res.KID, st.loads.Load())
	}
	if _, kid := mustSign(t, m, newAccess(c.Now())); kid != res.KID {
		t.Errorf("signs with %s, want the rotated %s", kid, res.KID)
	}
	if _, err := m.Verify(ctx, oldToken, keys.VerifyOptions{Issuer: issuer}); err != nil {
		t.Errorf("token of the retired key: %v", err)
	}
	if s.ETag == first.ETag || string(s.JWKSBody) == string(first.JWKSBody) {
		t.Errorf("JWKS body/ETag unchanged after rotation")
	}
}

func TestManagerSnapshotJWKS(t *testing.T) {
	path := copyReference(t, t.TempDir())
	m := newManager(t, keys.FileStorage{Path: path}, newClock(t0))
	s, err := m.Current(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	doc := s.Keyset.JWKS(t0)
	if s.ETag != doc.ETag("test-salt") || !s.LastModified.Equal(doc.LastModified(t0)) {
		t.Errorf("snapshot ETag/LastModified = %s/%v", s.ETag, s.LastModified)
	}
	if want := `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"ed25519-4b8d3b7a6005",`; string(s.JWKSBody[:len(want)]) != want {
		t.Errorf("body = %s", s.JWKSBody)
	}
	if m.Backend() != "file" {
		t.Errorf("Backend = %s", m.Backend())
	}
}

// A retired key that expires while nothing changes in storage drops out of the JWKS.
func TestManagerJWKSDropsExpiredRetired(t *testing.T) {
	c := newClock(t0)
	st := &memStorage{}
	m, err := keys.NewManager(keys.ManagerDeps{Storage: st, Now: c.Now, VaultRecheck: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Rotate(t.Context(), keys.RotateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Rotate(t.Context(), keys.RotateOptions{Grace: time.Hour}); err != nil {
		t.Fatal(err)
	}
	s, _ := m.Current(t.Context())
	if len(s.JWKS.Keys) != 2 {
		t.Fatalf("JWKS has %d keys, want active + retired", len(s.JWKS.Keys))
	}
	loads := st.loads
	c.Advance(time.Hour)
	s, _ = m.Current(t.Context())
	if len(s.JWKS.Keys) != 1 {
		t.Errorf("JWKS has %d keys after the grace, want 1", len(s.JWKS.Keys))
	}
	if st.loads != loads {
		t.Errorf("storage re-read (%d → %d) before VaultRecheck", loads, st.loads)
	}
	if !s.LastModified.Equal(s.Keyset.Active.CreatedAt) {
		t.Errorf("LastModified = %v", s.LastModified)
	}
}

func TestManagerNonFileRecheck(t *testing.T) {
	c := newClock(t0)
	st := &memStorage{ks: loadReference(t)}
	m := newManager(t, st, c)
	for range 5 {
		if _, err := m.Current(t.Context()); err != nil {
			t.Fatal(err)
		}
		c.Advance(5 * time.Second)
	}
	if st.loads != 1 {
		t.Errorf("%d loads within 25 s, want 1", st.loads)
	}
	c.Advance(10 * time.Second)
	_, _ = m.Current(t.Context())
	if st.loads != 2 {
		t.Errorf("%d loads after 35 s, want 2", st.loads)
	}
}

func TestManagerKeepsLastGoodKeyset(t *testing.T) {
	path := copyReference(t, t.TempDir())
	c := newClock(t0)
	m := newManager(t, keys.FileStorage{Path: path}, c)
	good, err := m.Current(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("{broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Second)
	s, err := m.Current(t.Context())
	if err != nil || s != good {
		t.Errorf("corrupt file mid-run: %v; want the previous snapshot kept", err)
	}
	if err := m.Refresh(t.Context()); err != nil {
		t.Errorf("Refresh with a loaded keyset = %v; want it kept", err)
	}

	fresh := newManager(t, keys.FileStorage{Path: path}, c)
	if _, err := fresh.Current(t.Context()); !errors.Is(err, keys.ErrInvalidKeyset) {
		t.Errorf("first load of a corrupt file = %v", err)
	}
	if _, _, err := fresh.Sign(t.Context(), newAccess(t0)); !errors.Is(err, keys.ErrInvalidKeyset) {
		t.Errorf("Sign with a corrupt file = %v", err)
	}
}

func TestManagerConcurrent(t *testing.T) {
	path := copyReference(t, t.TempDir())
	c := newClock(t0)
	m := newManager(t, keys.FileStorage{Path: path}, c)
	ctx := t.Context()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 50 {
				tok, _, err := m.Sign(ctx, newAccess(c.Now()))
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := m.Verify(ctx, tok, keys.VerifyOptions{Issuer: issuer, AllowExpired: true}); err != nil {
					t.Error(err)
					return
				}
				if i == 0 {
					c.Advance(700 * time.Millisecond)
				}
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			if _, err := keys.Rotate(ctx, keys.FileStorage{Path: path}, keys.RotateOptions{Now: c.Now()}); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
}

func TestNewManagerRequiresStorage(t *testing.T) {
	if _, err := keys.NewManager(keys.ManagerDeps{}); err == nil {
		t.Error("NewManager without storage succeeded")
	}
}
