package keys_test

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"agentplane/keys"
)

// seenManager is a manager with a fresh keyset, and verify options with a
// Seen set of size.
func seenManager(t *testing.T, size int) (*keys.Manager, *clock, keys.VerifyOptions) {
	t.Helper()
	c := newClock(t0)
	m := newManager(t, &memStorage{}, c)
	if _, err := m.Rotate(t.Context(), keys.RotateOptions{}); err != nil {
		t.Fatal(err)
	}
	return m, c, keys.VerifyOptions{Issuer: issuer, Seen: keys.NewSeen(size)}
}

// A remembered token skips only the signature: a tampered copy, a token
// past its expiry and one whose key was dropped are refused as before.
func TestVerifySeen(t *testing.T) {
	m, c, opt := seenManager(t, 0)
	seen, ctx := opt.Seen, t.Context()
	tok, _ := mustSign(t, m, newAccess(c.Now()))
	for i := range 2 {
		if _, err := m.Verify(ctx, tok, opt); err != nil {
			t.Fatalf("verify %d: %v", i, err)
		}
	}
	if seen.Len() != 1 {
		t.Fatalf("seen holds %d tokens, want 1", seen.Len())
	}

	sig := tok[strings.LastIndexByte(tok, '.')+1:]
	forged := tok[:len(tok)-len(sig)] + enc.EncodeToString(make([]byte, ed25519.SignatureSize))
	if _, err := m.Verify(ctx, forged, opt); !errors.Is(err, keys.ErrInvalidToken) {
		t.Errorf("forged signature on a seen token: %v, want ErrInvalidToken", err)
	}

	c.Advance(2 * time.Hour) // past the access token's exp
	if _, err := m.Verify(ctx, tok, opt); !errors.Is(err, keys.ErrInvalidToken) {
		t.Errorf("seen token past its expiry: %v, want ErrInvalidToken", err)
	}

	fresh, _ := mustSign(t, m, newAccess(c.Now()))
	if _, err := m.Verify(ctx, fresh, opt); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Rotate(ctx, keys.RotateOptions{NoGrace: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(ctx, fresh, opt); !errors.Is(err, keys.ErrUnknownKID) {
		t.Errorf("seen token after its key was dropped: %v, want ErrUnknownKID", err)
	}
}

// The set stays within its size however many tokens pass.
func TestSeenBounded(t *testing.T) {
	m, c, opt := seenManager(t, 8)
	seen, ctx := opt.Seen, t.Context()
	kept, _ := mustSign(t, m, newAccess(c.Now()))
	for i := range 40 {
		claims := newAccess(c.Now())
		claims.JTI = fmt.Sprintf("jti-%d", i)
		tok, _ := mustSign(t, m, claims)
		for _, tk := range []string{tok, kept} {
			if _, err := m.Verify(ctx, tk, opt); err != nil {
				t.Fatal(err)
			}
		}
		if seen.Len() > 8 {
			t.Fatalf("seen holds %d tokens, size 8", seen.Len())
		}
	}
}
