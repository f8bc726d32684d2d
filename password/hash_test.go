package password_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"agentplane/password"
)

const pepper = "test-pepper"

// newHasher returns a Hasher at bcrypt's minimum cost so the tests stay fast under -race.
func newHasher(t testing.TB) *password.Hasher {
	t.Helper()
	h, err := password.NewHasher(pepper, bcrypt.MinCost, 0)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// referenceHash builds a hash the way the Python reference (passlib bcrypt) did: bcrypt
// of the input's first 72 bytes (passlib truncated silently), with passlib's $2b$ prefix.
func referenceHash(t testing.TB, input string) string {
	t.Helper()
	b := []byte(input)
	if len(b) > 72 {
		b = b[:72]
	}
	h, err := bcrypt.GenerateFromPassword(b, bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Replace(string(h), "$2a$", "$2b$", 1)
}

func TestNewHasherRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		pepper string
		cost   int
		want   error
	}{
		{"empty pepper", "", 0, password.ErrNoPepper},
		{"cost below bcrypt's minimum", pepper, 3, password.ErrBadCost},
		{"cost above bcrypt's maximum", pepper, 32, password.ErrBadCost},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := password.NewHasher(tc.pepper, tc.cost, 1); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if got := password.ErrNoPepper.Error(); got != "AUTH_PASSWORD_PEPPER must be configured for password hashing." {
		t.Errorf("ErrNoPepper text = %q", got)
	}
}

func TestHashIsV3(t *testing.T) {
	t.Parallel()
	h := newHasher(t)
	a, version, err := h.Hash(t.Context(), "Correct-Horse-Battery-9")
	if err != nil {
		t.Fatal(err)
	}
	if version != password.V3 {
		t.Errorf("version = %q, want v3", version)
	}
	if cost, err := bcrypt.Cost([]byte(a)); err != nil || cost != bcrypt.MinCost {
		t.Errorf("cost = %d, %v; want %d", cost, err, bcrypt.MinCost)
	}
	b, _, err := h.Hash(t.Context(), "Correct-Horse-Battery-9")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Error("two hashes of one password are equal: no per-hash salt")
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	h := newHasher(t)
	v3 := func(pw string) string {
		hash, _, err := h.Hash(t.Context(), pw)
		if err != nil {
			t.Fatal(err)
		}
		return hash
	}
	otherCost, err := password.NewHasher(pepper, bcrypt.MinCost+1, 1)
	if err != nil {
		t.Fatal(err)
	}
	v3OtherCost, _, err := otherCost.Hash(t.Context(), "Correct-Horse-Battery-9")
	if err != nil {
		t.Fatal(err)
	}

	const pw = "Correct-Horse-Battery-9"
	long := strings.Repeat("Long-Passphrase-", 6) // 96 bytes: past bcrypt's 72
	longOther := long[:80] + "-different-tail"    // same first 72+ bytes, different end

	tests := []struct {
		name        string
		plain, hash string
		ok, rehash  bool
	}{
		{"v3", pw, v3(pw), true, false},
		{"v3 of another cost", pw, v3OtherCost, true, true},
		{"v2 reference", pw, referenceHash(t, pepper+":"+pw), true, true},
		{"v1 reference", pw, referenceHash(t, pw), true, true},
		{"v3 long", long, v3(long), true, false},
		{"v2 reference long", long, referenceHash(t, pepper+":"+long), true, true},
		{"v1 reference long", long, referenceHash(t, long), true, true},
		{"v3 long keeps every byte", longOther, v3(long), false, false},
		{"v1 long matches like the reference", longOther, referenceHash(t, long), true, true},
		{"v3 wrong password", "wrong-password-1", v3(pw), false, false},
		{"v2 wrong password", "wrong-password-1", referenceHash(t, pepper+":"+pw), false, false},
		{"v1 wrong password", "wrong-password-1", referenceHash(t, pw), false, false},
		{"v2 of another pepper", pw, referenceHash(t, "other-pepper:"+pw), false, false},
		{"empty hash", pw, "", false, false},
		{"not a hash", pw, "not-a-hash", false, false},
		{"truncated bcrypt", pw, v3(pw)[:30], false, false},
		{"bad cost", pw, "$2b$99$" + v3(pw)[7:], false, false},
		{"argon2", pw, "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ok, rehash, err := h.Verify(t.Context(), tc.plain, tc.hash)
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if ok != tc.ok || rehash != tc.rehash {
				t.Errorf("Verify = (%v, %v), want (%v, %v)", ok, rehash, tc.ok, tc.rehash)
			}
		})
	}
}

func TestDummyVerify(t *testing.T) {
	t.Parallel()
	if err := newHasher(t).DummyVerify(t.Context(), "anything"); err != nil {
		t.Fatal(err)
	}
}

func TestCancelledContext(t *testing.T) {
	t.Parallel()
	h := newHasher(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := h.Hash(ctx, "pw"); !errors.Is(err, context.Canceled) {
		t.Errorf("Hash err = %v", err)
	}
	if _, _, err := h.Verify(ctx, "pw", referenceHash(t, "pw")); !errors.Is(err, context.Canceled) {
		t.Errorf("Verify err = %v", err)
	}
	if err := h.DummyVerify(ctx, "pw"); !errors.Is(err, context.Canceled) {
		t.Errorf("DummyVerify err = %v", err)
	}
}

func TestVerifyVersion(t *testing.T) {
	t.Parallel()
	h := newHasher(t)
	const pw = "correct horse battery staple"
	v3, _, err := h.Hash(t.Context(), pw)
	if err != nil {
		t.Fatal(err)
	}
	v2 := referenceHash(t, pepper+":"+pw)
	tests := []struct {
		name, hash, version string
		ok, rehash          bool
	}{
		{"v3 stored as v3", v3, password.V3, true, false},
		{"v2 stored as v2", v2, "v2", true, true},
		{"v2 with no version tries every form", v2, "", true, true},
		{"a v2 hash labelled v3 is only compared as v3", v2, password.V3, false, false},
	}
	for _, tt := range tests {
		ok, rehash, err := h.VerifyVersion(t.Context(), pw, tt.hash, tt.version)
		if err != nil || ok != tt.ok || rehash != tt.rehash {
			t.Errorf("%s: VerifyVersion = %v, %v, %v; want %v, %v", tt.name, ok, rehash, err, tt.ok, tt.rehash)
		}
	}
}
