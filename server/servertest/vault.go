package servertest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"agentplane/vault"
)

// WithVault gives the auth area a Vault Transit client (auth.Deps.Vault), as
// serve does when VAULT_ADDR and VAULT_TOKEN are set; without it the auth
// area runs with Vault not configured.
func WithVault(t *vault.Transit) Option {
	return func(c *Config) { c.Vault = t }
}

// FakeVaultToken is the X-Vault-Token FakeVault expects.
const FakeVaultToken = "servertest-vault-token"

// FakeVault is an in-process Vault Transit (sign and verify of one key): the
// signature of an input is "vault:v1:" + base64 of HMAC-SHA256 over the
// standard-base64-decoded input, as Vault signs the bytes, not their
// encoding (spec: auth-and-keys.md §18.5 note 28).
type FakeVault struct {
	Server  *httptest.Server
	Transit *vault.Transit // a client of Server with the right token

	key      []byte
	verifies atomic.Int64
	signs    atomic.Int64
	mu       sync.Mutex
	signed   [][]byte // the decoded inputs of every sign call
	status   atomic.Int64
}

// NewFakeVault starts a FakeVault for the key name key ("" = vault.DefaultKey);
// it is closed in tb.Cleanup.
func NewFakeVault(tb testing.TB, key string) *FakeVault {
	tb.Helper()
	if key == "" {
		key = vault.DefaultKey
	}
	f := &FakeVault{key: []byte("fake-transit-key:" + key)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/transit/sign/"+key, f.sign)
	mux.HandleFunc("POST /v1/transit/verify/"+key, f.verify)
	f.Server = httptest.NewServer(mux)
	tb.Cleanup(f.Server.Close)
	t, err := vault.NewTransit(vault.TransitConfig{Addr: f.Server.URL, Token: FakeVaultToken, Key: key, Client: f.Server.Client()})
	if err != nil {
		tb.Fatalf("servertest: fake vault: %v", err)
	}
	f.Transit = t
	return f
}

// Signature is the full "vault:v1:…" signature of payload.
func (f *FakeVault) Signature(payload []byte) string {
	m := hmac.New(sha256.New, f.key)
	m.Write(payload)
	return "vault:v1:" + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Fail makes every later call answer status (0 restores normal answers).
func (f *FakeVault) Fail(status int) { f.status.Store(int64(status)) }

// Verifies counts the verify calls answered so far.
func (f *FakeVault) Verifies() int { return int(f.verifies.Load()) }

// Signs counts the sign calls answered so far.
func (f *FakeVault) Signs() int { return int(f.signs.Load()) }

// Signed returns the decoded input of every sign call, oldest first.
func (f *FakeVault) Signed() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.signed...)
}

type fakeVaultRequest struct {
	Input     string `json:"input"`
	Signature string `json:"signature"`
	Algorithm string `json:"signature_algorithm"`
}

// read checks the token and decodes the body; it answers the error itself.
func (f *FakeVault) read(w http.ResponseWriter, r *http.Request) (fakeVaultRequest, []byte, bool) {
	var req fakeVaultRequest
	if s := f.status.Load(); s != 0 {
		writeVault(w, int(s), map[string]any{"errors": []string{"injected failure"}})
		return req, nil, false
	}
	if r.Header.Get("X-Vault-Token") != FakeVaultToken {
		writeVault(w, http.StatusForbidden, map[string]any{"errors": []string{"permission denied"}})
		return req, nil, false
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeVault(w, http.StatusBadRequest, map[string]any{"errors": []string{err.Error()}})
		return req, nil, false
	}
	input, err := base64.StdEncoding.DecodeString(req.Input)
	if err != nil {
		writeVault(w, http.StatusBadRequest, map[string]any{"errors": []string{"unable to decode input as base64: " + err.Error()}})
		return req, nil, false
	}
	return req, input, true
}

func (f *FakeVault) sign(w http.ResponseWriter, r *http.Request) {
	req, input, ok := f.read(w, r)
	if !ok {
		return
	}
	if req.Algorithm != "sha2-256" {
		writeVault(w, http.StatusBadRequest, map[string]any{"errors": []string{"unexpected signature_algorithm " + req.Algorithm}})
		return
	}
	f.signs.Add(1)
	f.mu.Lock()
	f.signed = append(f.signed, input)
	f.mu.Unlock()
	writeVault(w, http.StatusOK, map[string]any{"data": map[string]any{"signature": f.Signature(input), "key_version": 1}})
}

func (f *FakeVault) verify(w http.ResponseWriter, r *http.Request) {
	req, input, ok := f.read(w, r)
	if !ok {
		return
	}
	if !strings.HasPrefix(req.Signature, "vault:v") {
		writeVault(w, http.StatusBadRequest, map[string]any{"errors": []string{"invalid signature: missing vault prefix"}})
		return
	}
	f.verifies.Add(1)
	valid := hmac.Equal([]byte(req.Signature), []byte(f.Signature(input)))
	writeVault(w, http.StatusOK, map[string]any{"data": map[string]any{"valid": valid}})
}

func writeVault(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
