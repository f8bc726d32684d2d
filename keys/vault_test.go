package keys_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"agentplane/keys"
)

const vaultToken = "s.test-token"

// fakeVault speaks the Vault KV HTTP API for one mount: KV v2 answers reads with
// {"data": {"data": <secret>, "metadata": {...}}} and stores a write's "data" object; KV v1
// answers {"data": <secret>} and stores the whole body, as Vault does.
type fakeVault struct {
	t       *testing.T
	v2      bool
	mu      sync.Mutex
	secrets map[string]json.RawMessage // path after /v1/ → secret
	status  int                        // when set, every request gets this status
	reqs    []string
}

func newFakeVault(t *testing.T, v2 bool) (*fakeVault, *httptest.Server) {
	f := &fakeVault{t: t, v2: v2, secrets: map[string]json.RawMessage{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeVault) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, r.Method+" "+r.URL.Path)
	if r.Header.Get("X-Vault-Token") != vaultToken {
		http.Error(w, `{"errors":["permission denied"]}`, http.StatusForbidden)
		return
	}
	if f.status != 0 {
		http.Error(w, `{"errors":["injected"]}`, f.status)
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/v1/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch r.Method {
	case http.MethodGet:
		secret, ok := f.secrets[path]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"errors":[]}`)
			return
		}
		var body any = map[string]any{"request_id": "r1", "lease_duration": 2764800, "data": secret}
		if f.v2 {
			body = map[string]any{"request_id": "r1", "data": map[string]any{
				"data": secret, "metadata": map[string]any{"version": 3, "destroyed": false}}}
		}
		_ = json.NewEncoder(w).Encode(body)
	case http.MethodPost, http.MethodPut:
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			f.t.Errorf("write Content-Type = %q", ct)
		}
		raw, _ := io.ReadAll(r.Body)
		var body struct {
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			http.Error(w, `{"errors":["bad json"]}`, http.StatusBadRequest)
			return
		}
		if f.v2 {
			f.secrets[path] = body.Data
			_, _ = io.WriteString(w, `{"data":{"version":4}}`)
			return
		}
		f.secrets[path] = raw
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func newVault(t *testing.T, srv *httptest.Server, secret string) *keys.VaultStorage {
	t.Helper()
	v, err := keys.NewVaultStorage(keys.VaultConfig{
		Addr: srv.URL + "/", Token: vaultToken, SecretName: "/" + secret,
		Client: &http.Client{Timeout: 5 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVaultStorageRoundTrip(t *testing.T) {
	for _, v2 := range []bool{true, false} {
		name := map[bool]string{true: "kv2", false: "kv1"}[v2]
		t.Run(name, func(t *testing.T) {
			f, srv := newFakeVault(t, v2)
			st := newVault(t, srv, "secret/data/auth/keyset")
			ks, err := st.Load(t.Context())
			if err != nil || ks.Active != nil {
				t.Fatalf("Load of a missing secret = %+v, %v; want empty", ks, err)
			}
			res, err := keys.Rotate(t.Context(), st, keys.RotateOptions{Now: t0})
			if err != nil {
				t.Fatal(err)
			}
			if res.StorageBackend != "secret-manager" {
				t.Errorf("storage_backend = %q", res.StorageBackend)
			}
			back, err := st.Load(t.Context())
			if err != nil || back.Active == nil || back.Active.KID != res.KID || back.Active.PrivateKey == nil {
				t.Fatalf("Load after rotate = %+v, %v", back, err)
			}
			want := []string{"GET /v1/secret/data/auth/keyset", "GET /v1/secret/data/auth/keyset",
				"POST /v1/secret/data/auth/keyset", "GET /v1/secret/data/auth/keyset"}
			if strings.Join(f.reqs, ",") != strings.Join(want, ",") {
				t.Errorf("requests = %v, want %v", f.reqs, want)
			}
			var stored struct {
				Value string `json:"value"`
			}
			if v2 {
				_ = json.Unmarshal(f.secrets["secret/data/auth/keyset"], &stored)
			} else { // KV v1 keeps the whole body: {"data": {"value": …}}
				var whole struct {
					Data json.RawMessage `json:"data"`
				}
				_ = json.Unmarshal(f.secrets["secret/data/auth/keyset"], &whole)
				_ = json.Unmarshal(whole.Data, &stored)
			}
			if !strings.HasPrefix(stored.Value, "{\n  \"schema_version\": 1,") {
				t.Errorf("stored value is not the keyset JSON string: %.60q", stored.Value)
			}
		})
	}
}

func TestVaultStorageValueShapes(t *testing.T) {
	ref, err := os.ReadFile(referenceKeyset)
	if err != nil {
		t.Fatal(err)
	}
	refString, _ := json.Marshal(string(ref))
	tests := []struct {
		name    string
		v2      bool
		secret  string // the stored secret data
		wantKID string
		wantErr string
	}{
		{"kv2 string value", true, `{"value":` + string(refString) + `}`, referenceActive, ""},
		{"kv2 object value", true, `{"value":` + string(ref) + `}`, referenceActive, ""},
		{"kv1 string value", false, `{"value":` + string(refString) + `}`, referenceActive, ""},
		{"kv1 object value", false, `{"value":` + string(ref) + `}`, referenceActive, ""},
		{"kv2 missing value", true, `{"other":"x"}`, "", "Vault KV secret missing 'value' field."},
		{"kv1 null value", false, `{"value":null}`, "", "Vault KV secret missing 'value' field."},
		{"invalid keyset", true, `{"value":"{\"active\": {\"kid\": 1}}"}`, "", "Vault KV secret 'value' is not a valid keyset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFakeVault(t, tt.v2)
			f.secrets["kv/keyset"] = json.RawMessage(tt.secret)
			ks, err := newVault(t, srv, "kv/keyset").Load(t.Context())
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("Load error = %v, want prefix %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || ks.Active == nil || ks.Active.KID != tt.wantKID || ks.Next == nil {
				t.Fatalf("Load = %+v, %v", ks, err)
			}
		})
	}
}

func TestVaultStorageErrors(t *testing.T) {
	for _, status := range []int{http.StatusForbidden, http.StatusInternalServerError, http.StatusServiceUnavailable} {
		f, srv := newFakeVault(t, true)
		f.status = status
		st := newVault(t, srv, "secret/data/keyset")
		_, err := st.Load(t.Context())
		want := "Vault KV read failed (" + strconv.Itoa(status) + "): "
		if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "injected") {
			t.Errorf("status %d: Load error = %v, want %q + body", status, err, want)
		}
		err = st.Save(t.Context(), keys.Keyset{})
		if err == nil || !strings.HasPrefix(err.Error(), "Vault KV write failed ("+strconv.Itoa(status)+"): ") {
			t.Errorf("status %d: Save error = %v", status, err)
		}
	}

	_, srv := newFakeVault(t, true)
	bad, err := keys.NewVaultStorage(keys.VaultConfig{Addr: srv.URL, Token: "wrong", SecretName: "kv/keyset"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Load(t.Context()); err == nil || !strings.HasPrefix(err.Error(), "Vault KV read failed (403): ") {
		t.Errorf("wrong token: %v", err)
	}
	if s := bad.String(); strings.Contains(s, "wrong") {
		t.Errorf("String() leaks the token: %q", s)
	}

	unreachable, _ := keys.NewVaultStorage(keys.VaultConfig{Addr: "http://127.0.0.1:1", Token: "t", SecretName: "kv/x"})
	if _, err := unreachable.Load(t.Context()); err == nil || !strings.HasPrefix(err.Error(), "Vault KV read failed") {
		t.Errorf("unreachable: %v", err)
	}
}

func TestNewVaultStorageConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  keys.VaultConfig
		want error
	}{
		{"no addr", keys.VaultConfig{Token: "t", SecretName: "s"}, keys.ErrVaultNotConfigured},
		{"no token", keys.VaultConfig{Addr: "http://v", SecretName: "s"}, keys.ErrVaultNotConfigured},
		{"no secret", keys.VaultConfig{Addr: "http://v", Token: "t"}, keys.ErrVaultSecretName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := keys.NewVaultStorage(tt.cfg); !errors.Is(err, tt.want) {
				t.Errorf("error = %v, want %v", err, tt.want)
			}
		})
	}
	if keys.ErrVaultNotConfigured.Error() != "Vault address/token are required when auth_key_storage_backend=secret-manager." {
		t.Errorf("text changed: %q", keys.ErrVaultNotConfigured)
	}
}
