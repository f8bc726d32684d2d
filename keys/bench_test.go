package keys_test

import (
	"testing"
	"time"

	"agentplane/keys"
)

// benchManager serves the reference keyset from a file, as `serve` does, at a fixed clock.
func benchManager(b *testing.B) (*keys.Manager, *clock) {
	c := newClock(t0.Add(time.Minute))
	m := newManager(b, keys.FileStorage{Path: copyReference(b, b.TempDir())}, c)
	if _, err := m.Current(b.Context()); err != nil {
		b.Fatal(err)
	}
	return m, c
}

var benchVerify = keys.VerifyOptions{Issuer: issuer, Audience: []string{"agent-api"}}

// BenchmarkVerifyAccessToken is the bearer check of every authenticated request: parse, EdDSA
// verify and the claim checks of a §3.2 access token.
func BenchmarkVerifyAccessToken(b *testing.B) {
	m, _ := benchManager(b)
	token, _ := mustSign(b, m, newAccess(t0))
	b.ReportAllocs()
	for b.Loop() {
		c, err := m.Verify(b.Context(), token, benchVerify)
		if err != nil || c.TokenUse != "access" {
			b.Fatalf("Verify: %v", err)
		}
	}
}

// BenchmarkVerifyAccessTokenSeen is the same check of a token presented
// before: the signature is not checked again (keys.Seen).
func BenchmarkVerifyAccessTokenSeen(b *testing.B) {
	m, _ := benchManager(b)
	token, _ := mustSign(b, m, newAccess(t0))
	opt := benchVerify
	opt.Seen = keys.NewSeen(0)
	b.ReportAllocs()
	for b.Loop() {
		c, err := m.Verify(b.Context(), token, opt)
		if err != nil || c.TokenUse != "access" {
			b.Fatalf("Verify: %v", err)
		}
	}
}

func BenchmarkVerifyAccessTokenParallel(b *testing.B) {
	m, _ := benchManager(b)
	token, _ := mustSign(b, m, newAccess(t0))
	ctx := b.Context()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Verify(ctx, token, benchVerify); err != nil {
				b.Errorf("Verify: %v", err)
				return
			}
		}
	})
}

// BenchmarkVerifyRejectBadAlgorithm is the cost of turning away a forged alg=none token.
func BenchmarkVerifyRejectBadAlgorithm(b *testing.B) {
	m, _ := benchManager(b)
	token := craft(`{"alg":"none","kid":"`+referenceActive+`","typ":"JWT"}`, `{"sub":"user:x"}`, func([]byte) []byte { return nil })
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Verify(b.Context(), token, benchVerify); err == nil {
			b.Fatal("alg none accepted")
		}
	}
}

func BenchmarkSignAccessToken(b *testing.B) {
	m, _ := benchManager(b)
	claims := newAccess(t0)
	b.ReportAllocs()
	for b.Loop() {
		tok, kid, err := m.Sign(b.Context(), claims)
		if err != nil || kid != referenceActive || len(tok) < 100 {
			b.Fatalf("Sign: %v", err)
		}
	}
}

// BenchmarkCurrent is the cached-keyset hot path (no storage access within FileRecheck).
func BenchmarkCurrent(b *testing.B) {
	m, _ := benchManager(b)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if s, err := m.Current(ctx); err != nil || s == nil {
			b.Fatal(err)
		}
	}
}
