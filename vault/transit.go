// Package vault talks to HashiCorp Vault's Transit engine: it signs and verifies the
// service-account issuance envelopes (spec: auth-and-keys.md §13.3 step 4, §13.4 step 3,
// §13.5, §18.5 note 28; cli-config-ops.md §3.1, §11 note 2). Vault KV keyset storage
// lives in package keys.
//
// Transit works on bytes: this package sends the standard base64 encoding of the payload
// and the full "vault:vN:" signature, as Vault expects. Callers hold the payload as
// raw bytes; one that received it as base64url (the X-Vault-Payload header, padding
// optional) decodes it first.
package vault

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultKey is VAULT_TRANSIT_KEY's default.
const DefaultKey = "auth-service"

// maxBody bounds what is read of a Vault answer.
const maxBody = 64 << 10

// TransitConfig configures the client (VAULT_ADDR, VAULT_TOKEN, VAULT_TRANSIT_KEY).
// An empty Key is DefaultKey; a nil Client gets one with the reference's 5 s timeout.
type TransitConfig struct {
	Addr   string
	Token  string
	Key    string
	Client *http.Client
}

// Transit signs and verifies with one Transit key.
type Transit struct {
	signURL   string
	verifyURL string
	token     string
	client    *http.Client
}

// NewTransit checks the configuration; a missing address or token is ErrNotConfigured.
func NewTransit(c TransitConfig) (*Transit, error) {
	if c.Addr == "" || c.Token == "" {
		return nil, ErrNotConfigured
	}
	if c.Key == "" {
		c.Key = DefaultKey
	}
	if c.Client == nil {
		c.Client = &http.Client{Timeout: 5 * time.Second}
	}
	base := strings.TrimRight(c.Addr, "/") + "/v1/transit/"
	key := url.PathEscape(c.Key)
	return &Transit{
		signURL:   base + "sign/" + key,
		verifyURL: base + "verify/" + key,
		token:     c.Token,
		client:    c.Client,
	}, nil
}

// String names the key's endpoints without the token.
func (t *Transit) String() string { return "vault transit " + t.signURL }

// Sign signs payload with sha2-256 and returns Vault's full signature ("vault:v1:…").
// Failures are a *SignError wrapping ErrSignFailed, worded as the reference CLI's
// (cli-config-ops.md §3.1).
func (t *Transit) Sign(ctx context.Context, payload []byte) (signature string, err error) {
	status, body, err := t.post(ctx, t.signURL, map[string]string{
		"input":               base64.StdEncoding.EncodeToString(payload),
		"signature_algorithm": "sha2-256",
	})
	if err != nil {
		return "", &SignError{Detail: "Vault sign failed", Err: err}
	}
	if status >= 400 {
		return "", &SignError{Detail: fmt.Sprintf("Vault sign failed (%d): %s", status, errorText(body))}
	}
	var doc struct {
		Data struct {
			Signature string `json:"signature"`
		} `json:"data"`
	}
	if json.Unmarshal(body, &doc) != nil || doc.Data.Signature == "" {
		return "", &SignError{Detail: "Vault sign response missing signature."}
	}
	return doc.Data.Signature, nil
}

// Verify asks Vault whether signature signs payload. payload is the raw bytes (decode a
// base64url X-Vault-Payload first); signature may lack the "vault:vN:" prefix, which the
// reference CLI strips, and then gets "vault:v1:" back (spec: §18.5 note 28).
// An invalid signature is (false, nil); a failed call is a *VerifyError wrapping
// ErrVerifyFailed.
func (t *Transit) Verify(ctx context.Context, payload []byte, signature string) (bool, error) {
	if !strings.HasPrefix(signature, "vault:v") {
		signature = "vault:v1:" + signature
	}
	status, body, err := t.post(ctx, t.verifyURL, map[string]string{
		"input":     base64.StdEncoding.EncodeToString(payload),
		"signature": signature,
	})
	if err != nil {
		return false, &VerifyError{Reason: "Vault request failed", Err: err}
	}
	if status >= 400 {
		return false, &VerifyError{Reason: fmt.Sprintf("Vault answered %d: %s", status, errorText(body))}
	}
	var doc struct {
		Data struct {
			Valid *bool `json:"valid"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return false, &VerifyError{Reason: "Vault response is not JSON", Err: err}
	}
	if doc.Data.Valid == nil {
		return false, &VerifyError{Reason: "Vault response missing data.valid"}
	}
	return *doc.Data.Valid, nil
}

func (t *Transit) post(ctx context.Context, u string, payload any) (int, []byte, error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(raw))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("X-Vault-Token", t.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, body, nil
}

// errorText is Vault's {"errors": [...]} joined, else the start of the body.
func errorText(body []byte) string {
	var doc struct {
		Errors []string `json:"errors"`
	}
	if json.Unmarshal(body, &doc) == nil && len(doc.Errors) > 0 {
		return strings.Join(doc.Errors, "; ")
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "…"
	}
	if s == "" {
		s = "(empty body)"
	}
	return s
}
