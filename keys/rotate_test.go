package keys_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"agentplane/keys"
)

// verifyAt checks only key and signature (expiry is allowed) at the manager's clock.
func verifyAt(m *keys.Manager, token string) error {
	_, err := m.Verify(context.Background(), token, keys.VerifyOptions{Issuer: issuer, AllowExpired: true})
	return err
}

func TestRotateReplacesActiveAndKeepsGrace(t *testing.T) {
	c := newClock(t0)
	st := keys.FileStorage{Path: filepath.Join(t.TempDir(), "keys", "keyset.json")}
	m := newManager(t, st, c)
	ctx := t.Context()

	first, err := keys.Rotate(ctx, st, keys.RotateOptions{Now: c.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Retired) != 0 || first.StorageBackend != "file" {
		t.Errorf("first rotation = %+v", first)
	}
	oldToken, kid := mustSign(t, m, newAccess(c.Now()))
	if kid != first.KID {
		t.Fatalf("signed with %q, want %q", kid, first.KID)
	}

	c.Advance(time.Hour)
	grace := 48 * time.Hour
	second, err := m.Rotate(ctx, keys.RotateOptions{Grace: grace})
	if err != nil {
		t.Fatal(err)
	}
	if second.KID == first.KID || !slices.Equal(second.Retired, []string{first.KID}) {
		t.Fatalf("second rotation = %+v; want a new kid and %s retired", second, first.KID)
	}
	newToken, kid := mustSign(t, m, newAccess(c.Now()))
	if kid != second.KID {
		t.Errorf("after rotation signed with %q, want %q", kid, second.KID)
	}
	ks, _ := st.Load(ctx)
	if want := c.Now().Add(grace); ks.Retired[0].NotAfter == nil || !ks.Retired[0].NotAfter.Equal(want) {
		t.Errorf("retired not_after = %v, want %v", ks.Retired[0].NotAfter, want)
	}

	for _, tt := range []struct {
		name    string
		advance time.Duration
		oldOK   bool
	}{
		{"during grace", 0, true},
		{"just before grace ends", grace - time.Second, true},
		{"after grace", time.Second, false},
	} {
		c.Advance(tt.advance)
		if err := verifyAt(m, oldToken); (err == nil) != tt.oldOK {
			t.Errorf("%s: old token verify = %v, want ok=%v", tt.name, err, tt.oldOK)
		} else if err != nil && !errors.Is(err, keys.ErrUnknownKID) {
			t.Errorf("%s: error %v, want ErrUnknownKID", tt.name, err)
		}
		if err := verifyAt(m, newToken); err != nil {
			t.Errorf("%s: new token: %v", tt.name, err)
		}
	}

	// The next save prunes the expired retired key, from storage and from the JWKS.
	third, err := m.Rotate(ctx, keys.RotateOptions{NoGrace: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(third.Retired) != 0 {
		t.Errorf("retired after pruning + no-grace = %v, want none", third.Retired)
	}
	ks, _ = st.Load(ctx)
	if len(ks.Retired) != 0 || ks.Active.KID != third.KID {
		t.Errorf("keyset after third rotation = active %s, retired %d", ks.Active.KID, len(ks.Retired))
	}
}

func TestRotateNoGraceKillsOldTokens(t *testing.T) {
	c := newClock(t0)
	st := &memStorage{}
	m := newManager(t, st, c)
	if _, err := m.Rotate(t.Context(), keys.RotateOptions{}); err != nil {
		t.Fatal(err)
	}
	tok, _ := mustSign(t, m, newAccess(c.Now()))
	res, err := m.Rotate(t.Context(), keys.RotateOptions{NoGrace: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Retired) != 0 || len(st.ks.Retired) != 0 {
		t.Errorf("--no-grace retired %v", res.Retired)
	}
	if err := verifyAt(m, tok); !errors.Is(err, keys.ErrUnknownKID) {
		t.Errorf("old token after --no-grace: %v, want ErrUnknownKID", err)
	}
}

func TestRotateStageNextThenPromote(t *testing.T) {
	c := newClock(t0)
	st := &memStorage{}
	m := newManager(t, st, c)
	ctx := t.Context()
	active, err := m.Rotate(ctx, keys.RotateOptions{KID: "ed25519-first"})
	if err != nil {
		t.Fatal(err)
	}
	staged, err := m.Rotate(ctx, keys.RotateOptions{StageNext: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.ks.Active.KID != active.KID || st.ks.Next == nil || st.ks.Next.KID != staged.KID {
		t.Fatalf("after --stage-next: active %v next %v", st.ks.Active, st.ks.Next)
	}
	snap, err := m.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := kidsOf(snap.JWKS); !slices.Equal(got, []string{active.KID, staged.KID}) {
		t.Errorf("JWKS after staging = %v", got)
	}
	if _, kid := mustSign(t, m, newAccess(c.Now())); kid != active.KID {
		t.Errorf("the staged key signed (%s); only active signs", kid)
	}

	promoted, err := m.Rotate(ctx, keys.RotateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if promoted.KID != staged.KID || promoted.PublicJWK != staged.PublicJWK {
		t.Errorf("plain rotation made %s, want the staged %s promoted", promoted.KID, staged.KID)
	}
	if st.ks.Next != nil || st.ks.Active.PrivateKey == nil || !slices.Equal(promoted.Retired, []string{active.KID}) {
		t.Errorf("after promotion: next %v, retired %v", st.ks.Next, promoted.Retired)
	}

	// With --kid the staged key is not promoted: a new key is made and next stays.
	if _, err := m.Rotate(ctx, keys.RotateOptions{StageNext: true}); err != nil {
		t.Fatal(err)
	}
	withKID, err := m.Rotate(ctx, keys.RotateOptions{KID: "ed25519-explicit"})
	if err != nil {
		t.Fatal(err)
	}
	if withKID.KID != "ed25519-explicit" || st.ks.Next == nil {
		t.Errorf("--kid rotation = %s, next = %v", withKID.KID, st.ks.Next)
	}
	if _, err := m.Rotate(ctx, keys.RotateOptions{KID: "ed25519-explicit"}); !errors.Is(err, keys.ErrKIDInUse) {
		t.Errorf("reusing a kid: %v, want ErrKIDInUse", err)
	}
}

func TestRotateResultJSON(t *testing.T) {
	st := &memStorage{}
	res, err := keys.Rotate(t.Context(), st, keys.RotateOptions{KID: "ed25519-abc", Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.MarshalIndent(res, "", "  ")
	want := `{
  "kid": "ed25519-abc",
  "public_jwk": {
    "kty": "OKP",
    "crv": "Ed25519",
    "kid": "ed25519-abc",
    "x": "` + res.PublicJWK.X + `",
    "use": "sig",
    "alg": "EdDSA"
  },
  "storage_backend": "memory",
  "retired": []
}`
	if string(out) != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
}

func TestEnsureActive(t *testing.T) {
	ctx := t.Context()
	st := keys.FileStorage{Path: filepath.Join(t.TempDir(), "var", "keys", "keyset.json")}
	created, err := keys.EnsureActive(ctx, st, t0)
	if err != nil || !created {
		t.Fatalf("EnsureActive on empty = %v, %v", created, err)
	}
	ks, _ := st.Load(ctx)
	if ks.Active == nil || ks.Active.PrivateKey == nil {
		t.Fatalf("no active key after EnsureActive: %+v", ks)
	}
	again, err := keys.EnsureActive(ctx, st, t0)
	if err != nil || again {
		t.Errorf("second EnsureActive = %v, %v; want no change", again, err)
	}
	ks2, _ := st.Load(ctx)
	if ks2.Active.KID != ks.Active.KID {
		t.Errorf("EnsureActive replaced the active key")
	}

	// A staged next key is promoted rather than a new key made.
	next, _ := keys.Generate("ed25519-staged", t0)
	mem := &memStorage{ks: keys.Keyset{Next: &next}}
	if created, err := keys.EnsureActive(ctx, mem, t0); err != nil || !created || mem.ks.Active.KID != "ed25519-staged" {
		t.Errorf("EnsureActive with next = %v, %v, active %v", created, err, mem.ks.Active)
	}
}
