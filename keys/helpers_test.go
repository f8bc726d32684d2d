package keys_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"agentplane/keys"
)

const (
	referenceKeyset = "testdata/reference_keyset.json"
	referenceActive = "ed25519-4b8d3b7a6005"
	referenceNext   = "ed25519-next-test"
	issuer          = "anything-agents"
)

// t0 is the reference token's iat (2025-11-10T14:38:49Z), just after the keyset was made.
var t0 = time.Unix(1762785529, 0).UTC()

// clock is an injectable, race-safe fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// accessClaims is a human access token in the emission order of spec auth-and-keys.md §3.2.
type accessClaims struct {
	Sub           string   `json:"sub"`
	TenantID      string   `json:"tenant_id"`
	Roles         []string `json:"roles"`
	Scope         string   `json:"scope"`
	TokenUse      string   `json:"token_use"`
	Iss           string   `json:"iss"`
	Aud           []string `json:"aud"`
	JTI           string   `json:"jti"`
	EmailVerified bool     `json:"email_verified"`
	SID           string   `json:"sid"`
	Iat           int64    `json:"iat"`
	Nbf           int64    `json:"nbf"`
	Exp           int64    `json:"exp"`
}

// newAccess is the claim set of testdata/reference_access_token.txt, issued at iat.
func newAccess(iat time.Time) accessClaims {
	return accessClaims{
		Sub:           "user:6f1c2a4e-8d7b-4f0a-9e3c-2b5d7a1f9c44",
		TenantID:      "3b9e7c1a-5f2d-4e8b-a6c0-9d4f1e2b7a53",
		Roles:         []string{"owner"},
		Scope:         "conversations:read conversations:write billing:read",
		TokenUse:      "access",
		Iss:           issuer,
		Aud:           []string{"agent-api", "analytics-service"},
		JTI:           "0b8f4e2c-7a1d-4c9e-b3f5-6e2a9d8c1b74",
		EmailVerified: true,
		SID:           "9c2e5a7b-1d4f-4e8a-b6c3-7f1a2d9e5b80",
		Iat:           iat.Unix(),
		Nbf:           iat.Unix(),
		Exp:           iat.Add(15 * time.Minute).Unix(),
	}
}

// copyReference puts the reference keyset file at dir/keys/keyset.json.
func copyReference(tb testing.TB, dir string) string {
	tb.Helper()
	data, err := os.ReadFile(referenceKeyset)
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(dir, "keys", "keyset.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

func newManager(tb testing.TB, st keys.Storage, c *clock) *keys.Manager {
	tb.Helper()
	m, err := keys.NewManager(keys.ManagerDeps{Storage: st, Now: c.Now, ETagSalt: "test-salt"})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func mustSign(tb testing.TB, m *keys.Manager, claims any) (string, string) {
	tb.Helper()
	tok, kid, err := m.Sign(context.Background(), claims)
	if err != nil {
		tb.Fatalf("Sign: %v", err)
	}
	return tok, kid
}

// memStorage is a Storage without change detection (re-read on the VaultRecheck interval).
type memStorage struct {
	mu    sync.Mutex
	ks    keys.Keyset
	loads int
}

func (s *memStorage) Load(context.Context) (keys.Keyset, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loads++
	return s.ks, nil
}

func (s *memStorage) Save(_ context.Context, ks keys.Keyset) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ks = ks
	return nil
}

func (*memStorage) Backend() string { return "memory" }
