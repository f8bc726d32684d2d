package vault_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"agentplane/vault"
)

const (
	vaultToken = "hvs.test-token"
	keyName    = "auth-service"
)

// fakeTransit behaves like Vault's Transit engine for one key: it decodes `input` as
// standard base64 (as Vault does, so base64url input fails), signs with an HMAC of the
// decoded bytes as "vault:v1:<b64>" and verifies only full "vault:v1:" signatures.
type fakeTransit struct {
	secret []byte

	mu     sync.Mutex
	inputs [][]byte // decoded inputs, in order
}

func (f *fakeTransit) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string][]string{"errors": {msg}})
	}
	if r.Method != http.MethodPost {
		fail(http.StatusMethodNotAllowed, "unsupported operation")
		return
	}
	if r.Header.Get("X-Vault-Token") != vaultToken {
		fail(http.StatusForbidden, "permission denied")
		return
	}
	var body map[string]string
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		fail(http.StatusBadRequest, "failed to parse JSON input")
		return
	}
	input, err := base64.StdEncoding.DecodeString(body["input"])
	if err != nil {
		fail(http.StatusBadRequest, "unable to decode input as base64: "+err.Error())
		return
	}
	f.mu.Lock()
	f.inputs = append(f.inputs, input)
	f.mu.Unlock()
	mac := hmac.New(sha256.New, f.secret)
	mac.Write(input)
	want := "vault:v1:" + base64.StdEncoding.EncodeToString(mac.Sum(nil))

	var data map[string]any
	switch r.URL.Path {
	case "/v1/transit/sign/" + keyName:
		if body["signature_algorithm"] != "sha2-256" {
			fail(http.StatusBadRequest, "unsupported signature algorithm")
			return
		}
		data = map[string]any{"signature": want, "key_version": 1}
	case "/v1/transit/verify/" + keyName:
		sig := body["signature"]
		if !strings.HasPrefix(sig, "vault:v1:") {
			fail(http.StatusBadRequest, "invalid signature")
			return
		}
		data = map[string]any{"valid": hmac.Equal([]byte(sig), []byte(want))}
	default:
		fail(http.StatusNotFound, "no handler for route")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"data": data})
}

func newTransit(t *testing.T, h http.Handler) *vault.Transit {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	tr, err := vault.NewTransit(vault.TransitConfig{Addr: srv.URL + "/", Token: vaultToken, Key: keyName, Client: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestSignVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	fake := &fakeTransit{secret: []byte("transit-key")}
	tr := newTransit(t, fake)
	payload := []byte(`{"iss":"vault-transit","aud":["auth-service"],"nonce":"n1","scopes":["billing:read"]}`)

	sig, err := tr.Sign(t.Context(), payload)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sig, "vault:v1:") {
		t.Fatalf("signature %q lacks vault:v1:", sig)
	}
	tests := []struct {
		name    string
		payload []byte
		sig     string
		want    bool
	}{
		{"full signature", payload, sig, true},
		{"prefix stripped as the reference CLI does", payload, strings.TrimPrefix(sig, "vault:v1:"), true},
		{"other payload", []byte(`{"iss":"vault-transit"}`), sig, false},
		{"other signature", payload, "vault:v1:" + base64.StdEncoding.EncodeToString(make([]byte, 32)), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ok, err := tr.Verify(t.Context(), tc.payload, tc.sig)
			if err != nil || ok != tc.want {
				t.Errorf("Verify = %v, %v; want %v, nil", ok, err, tc.want)
			}
		})
	}
}

// The issuance flow of spec auth-and-keys.md §13.3/§13.5 with note 28: the CLI signs the
// payload bytes and sends them as base64url without padding plus the signature without
// "vault:v1:"; the server decodes the header and verifies the bytes.
func TestVerifyHeaderPayload(t *testing.T) {
	t.Parallel()
	fake := &fakeTransit{secret: []byte("transit-key")}
	tr := newTransit(t, fake)
	// "?>" and "~~" make standard and URL alphabets differ; 31 bytes make padding.
	payload := []byte(`{"a":"??>~~","nonce":"abcdef"}`)
	if std := base64.StdEncoding.EncodeToString(payload); !strings.ContainsAny(std, "+/=") {
		t.Fatalf("payload does not exercise the alphabets: %s", std)
	}

	sig, err := tr.Sign(t.Context(), payload) // the CLI
	if err != nil {
		t.Fatal(err)
	}
	header := base64.RawURLEncoding.EncodeToString(payload)       // X-Vault-Payload
	credential := "vault:" + strings.TrimPrefix(sig, "vault:v1:") // Authorization: Bearer <credential>

	decoded, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(header, "=")) // the server
	if err != nil {
		t.Fatal(err)
	}
	ok, err := tr.Verify(t.Context(), decoded, strings.TrimPrefix(credential, "vault:"))
	if err != nil || !ok {
		t.Fatalf("Verify(decoded payload) = %v, %v; want true", ok, err)
	}
	fake.mu.Lock()
	got := fake.inputs
	fake.mu.Unlock()
	for i, in := range got {
		if string(in) != string(payload) {
			t.Errorf("call %d: Vault received input %q, want the payload bytes", i, in)
		}
	}

	// Passing the header text instead of its bytes verifies a different input.
	if ok, err := tr.Verify(t.Context(), []byte(header), strings.TrimPrefix(credential, "vault:")); ok || err != nil {
		t.Errorf("Verify(header text) = %v, %v; want false, nil", ok, err)
	}
}

func TestVerifyFailures(t *testing.T) {
	t.Parallel()
	answer := func(status int, body string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(status)
			w.Write([]byte(body))
		})
	}
	tests := []struct {
		name   string
		h      http.Handler
		detail string
	}{
		{"forbidden", answer(http.StatusForbidden, `{"errors":["permission denied"]}`),
			"Vault verification failed: Vault answered 403: permission denied"},
		{"server error", answer(http.StatusInternalServerError, "boom"),
			"Vault verification failed: Vault answered 500: boom"},
		{"no valid", answer(http.StatusOK, `{"data":{}}`),
			"Vault verification failed: Vault response missing data.valid"},
		{"not JSON", answer(http.StatusOK, `<html>`),
			"Vault verification failed: Vault response is not JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ok, err := newTransit(t, tc.h).Verify(t.Context(), []byte("p"), "vault:v1:x")
			var ve *vault.VerifyError
			if ok || !errors.Is(err, vault.ErrVerifyFailed) || !errors.As(err, &ve) {
				t.Fatalf("Verify = %v, %v; want a *VerifyError", ok, err)
			}
			if ve.PublicDetail() != tc.detail {
				t.Errorf("detail = %q, want %q", ve.PublicDetail(), tc.detail)
			}
			if strings.Contains(err.Error(), vaultToken) {
				t.Errorf("error %q reveals the token", err)
			}
		})
	}

	t.Run("unreachable", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		tr, err := vault.NewTransit(vault.TransitConfig{Addr: srv.URL, Token: vaultToken})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Verify(t.Context(), []byte("p"), "s"); !errors.Is(err, vault.ErrVerifyFailed) {
			t.Errorf("Verify err = %v, want ErrVerifyFailed", err)
		}
		if _, err := tr.Sign(t.Context(), []byte("p")); !errors.Is(err, vault.ErrSignFailed) {
			t.Errorf("Sign err = %v, want ErrSignFailed", err)
		}
	})
}

func TestSignFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"forbidden", http.StatusForbidden, `{"errors":["permission denied"]}`, "Vault sign failed (403): permission denied"},
		{"no signature", http.StatusOK, `{"data":{}}`, "Vault sign response missing signature."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr := newTransit(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			_, err := tr.Sign(t.Context(), []byte("p"))
			if !errors.Is(err, vault.ErrSignFailed) || err.Error() != tc.want {
				t.Errorf("Sign err = %v, want %q wrapping ErrSignFailed", err, tc.want)
			}
		})
	}
}

func TestNewTransit(t *testing.T) {
	t.Parallel()
	for _, c := range []vault.TransitConfig{{Token: vaultToken}, {Addr: "http://vault:8200"}} {
		if _, err := vault.NewTransit(c); !errors.Is(err, vault.ErrNotConfigured) {
			t.Errorf("NewTransit(%+v) err = %v, want ErrNotConfigured", c, err)
		}
	}
	tr, err := vault.NewTransit(vault.TransitConfig{Addr: "http://vault:8200/", Token: vaultToken})
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.String(); got != "vault transit http://vault:8200/v1/transit/sign/auth-service" {
		t.Errorf("String() = %q", got)
	}
}
