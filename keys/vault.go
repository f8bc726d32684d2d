package keys

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// VaultConfig configures the secret-manager backend (VAULT_ADDR, VAULT_TOKEN,
// AUTH_KEY_SECRET_NAME). A nil Client gets one with the reference's 5 s timeout.
type VaultConfig struct {
	Addr       string
	Token      string
	SecretName string // the full API path, e.g. secret/data/auth/keyset
	Client     *http.Client
}

// VaultStorage keeps the keyset as the `value` of a Vault KV secret
// (spec: auth-and-keys.md §5.3, cli-config-ops.md §3.5).
type VaultStorage struct {
	url    string
	token  string
	client *http.Client
}

// maxVaultBody bounds what is read from Vault; a keyset is a few kilobytes.
const maxVaultBody = 4 << 20

// NewVaultStorage checks the configuration as the reference does at startup.
func NewVaultStorage(c VaultConfig) (*VaultStorage, error) {
	if c.Addr == "" || c.Token == "" {
		return nil, ErrVaultNotConfigured
	}
	if c.SecretName == "" {
		return nil, ErrVaultSecretName
	}
	client := c.Client
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	return &VaultStorage{
		url:    strings.TrimRight(c.Addr, "/") + "/v1/" + strings.TrimLeft(c.SecretName, "/"),
		token:  c.Token,
		client: client,
	}, nil
}

// Backend returns "secret-manager".
func (*VaultStorage) Backend() string { return "secret-manager" }

// String names the secret without the token.
func (v *VaultStorage) String() string { return "vault kv " + v.url }

// Load reads the secret: 404 is an empty keyset; the value is data.data.value (KV v2) or
// data.value (KV v1), a JSON string or the keyset object itself.
func (v *VaultStorage) Load(ctx context.Context) (Keyset, error) {
	status, body, err := v.do(ctx, http.MethodGet, nil)
	if err != nil {
		return Keyset{}, fmt.Errorf("Vault KV read failed: %w", err)
	}
	if status == http.StatusNotFound {
		return Keyset{}, nil
	}
	if status >= 400 {
		return Keyset{}, fmt.Errorf("Vault KV read failed (%d): %s", status, body)
	}
	var doc struct {
		Data struct {
			Data  map[string]json.RawMessage `json:"data"`
			Value json.RawMessage            `json:"value"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return Keyset{}, fmt.Errorf("Vault KV read failed: response is not JSON: %w", err)
	}
	value := doc.Data.Data["value"]
	if isNull(value) {
		value = doc.Data.Value
	}
	if isNull(value) {
		return Keyset{}, fmt.Errorf("Vault KV secret missing 'value' field.")
	}
	raw := []byte(value)
	if value[0] == '"' {
		var s string
		if err := json.Unmarshal(value, &s); err != nil {
			return Keyset{}, fmt.Errorf("Vault KV secret 'value': %w", err)
		}
		raw = []byte(s)
	}
	ks, err := Decode(raw)
	if err != nil {
		return Keyset{}, fmt.Errorf("Vault KV secret 'value' is not a valid keyset: %w", err)
	}
	return ks, nil
}

func isNull(m json.RawMessage) bool { return len(m) == 0 || string(m) == "null" }

// Save writes {"data": {"value": "<keyset JSON>"}}.
func (v *VaultStorage) Save(ctx context.Context, ks Keyset) error {
	doc, err := ks.Encode()
	if err != nil {
		return err
	}
	var payload struct {
		Data struct {
			Value string `json:"value"`
		} `json:"data"`
	}
	payload.Data.Value = string(doc)
	body, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	status, resp, err := v.do(ctx, http.MethodPost, body)
	if err != nil {
		return fmt.Errorf("Vault KV write failed: %w", err)
	}
	if status >= 400 {
		return fmt.Errorf("Vault KV write failed (%d): %s", status, resp)
	}
	return nil
}

func (v *VaultStorage) do(ctx context.Context, method string, body []byte) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, v.url, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("X-Vault-Token", v.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := v.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxVaultBody))
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, data, nil
}
