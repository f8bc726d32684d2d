// Package keys owns the Ed25519 signing keyset: its schema-v1 document, the file and Vault KV
// storage backends, rotation with a grace period, the JWKS document, a caching Manager and JWT
// signing and verification. Only this package touches key material and imports go-jose
// (spec: auth-and-keys.md §3, §5, §18.1; cli-config-ops.md §3.2, §3.3, §3.5).
package keys

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// JWK is the public JSON Web Key of a signing key. Its fields marshal in the reference's order:
// {"kty":"OKP","crv":"Ed25519","kid":…,"x":…,"use":"sig","alg":"EdDSA"} (spec: auth-and-keys.md §5.1).
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	KID string `json:"kid"`
	X   string `json:"x"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
}

// PublicKey decodes X after checking that the JWK is an Ed25519 OKP key.
func (j JWK) PublicKey() (ed25519.PublicKey, error) {
	if j.Kty != "OKP" || j.Crv != "Ed25519" {
		return nil, fmt.Errorf("%w: public_jwk must be kty OKP, crv Ed25519 (got %q, %q)", ErrInvalidKeyset, j.Kty, j.Crv)
	}
	raw, err := base64.RawURLEncoding.DecodeString(j.X)
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: public_jwk x is not a base64url 32-byte Ed25519 key", ErrInvalidKeyset)
	}
	return ed25519.PublicKey(raw), nil
}

// Key is one Ed25519 signing key of the keyset (spec: auth-and-keys.md §5.1, §5.2).
// PrivateKey is nil for a public-only key. Key marshals to the schema-v1 key object.
type Key struct {
	KID        string
	PublicJWK  JWK
	CreatedAt  time.Time
	NotBefore  time.Time
	NotAfter   *time.Time
	PrivateKey ed25519.PrivateKey
}

// String names the key without its material, so that %v never prints a private key.
func (k Key) String() string { return "ed25519 key " + k.KID }

// LogValue keeps the private key out of structured logs.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kid", k.KID), slog.String("created_at", formatTime(k.CreatedAt)))
}

// PublicKey returns the key's Ed25519 public key, decoded from its JWK.
func (k Key) PublicKey() (ed25519.PublicKey, error) { return k.PublicJWK.PublicKey() }

// expiredAt reports whether a key with a not_after has passed it at now.
func (k Key) expiredAt(now time.Time) bool { return k.NotAfter != nil && !now.Before(*k.NotAfter) }

// Generate makes a new Ed25519 key pair. An empty kid becomes `ed25519-` + the first 12 hex
// characters of a random UUIDv4; created_at = not_before = now (UTC, microseconds), not_after
// unset (spec: auth-and-keys.md §5.1).
func Generate(kid string, now time.Time) (Key, error) {
	if kid == "" {
		u, err := uuid.NewRandom()
		if err != nil {
			return Key{}, fmt.Errorf("keys: generate kid: %w", err)
		}
		kid = "ed25519-" + hex.EncodeToString(u[:6])
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Key{}, fmt.Errorf("keys: generate ed25519 key: %w", err)
	}
	now = now.UTC().Truncate(time.Microsecond)
	return Key{
		KID:        kid,
		PublicJWK:  publicJWK(kid, pub),
		CreatedAt:  now,
		NotBefore:  now,
		PrivateKey: priv,
	}, nil
}

func publicJWK(kid string, pub ed25519.PublicKey) JWK {
	return JWK{Kty: "OKP", Crv: "Ed25519", KID: kid, X: base64.RawURLEncoding.EncodeToString(pub), Use: "sig", Alg: "EdDSA"}
}

// keyJSON is the schema-v1 key object, fields in the reference's order (spec: auth-and-keys.md §5.2).
type keyJSON struct {
	KID        *string `json:"kid"`
	PublicJWK  *JWK    `json:"public_jwk"`
	CreatedAt  *string `json:"created_at"`
	NotBefore  *string `json:"not_before"`
	NotAfter   *string `json:"not_after"`
	PrivateKey *string `json:"private_key"`
}

// MarshalJSON writes the schema-v1 key object, the private key as unencrypted PKCS#8 PEM.
func (k Key) MarshalJSON() ([]byte, error) {
	created, notBefore := formatTime(k.CreatedAt), formatTime(k.NotBefore)
	w := keyJSON{KID: &k.KID, PublicJWK: &k.PublicJWK, CreatedAt: &created, NotBefore: &notBefore}
	if k.NotAfter != nil {
		s := formatTime(*k.NotAfter)
		w.NotAfter = &s
	}
	if k.PrivateKey != nil {
		der, err := x509.MarshalPKCS8PrivateKey(k.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("keys: encode private key of %s: %w", k.KID, err)
		}
		s := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
		w.PrivateKey = &s
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads a schema-v1 key object; kid, public_jwk, created_at and not_before are
// required, and a private key must match the public JWK.
func (k *Key) UnmarshalJSON(data []byte) error {
	var w keyJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return fmt.Errorf("%w: key object: %w", ErrInvalidKeyset, err)
	}
	if w.KID == nil || *w.KID == "" || w.PublicJWK == nil || w.CreatedAt == nil || w.NotBefore == nil {
		return fmt.Errorf("%w: a key object lacks kid, public_jwk, created_at or not_before", ErrInvalidKeyset)
	}
	out := Key{KID: *w.KID, PublicJWK: *w.PublicJWK}
	if out.PublicJWK.KID != "" && out.PublicJWK.KID != out.KID {
		return fmt.Errorf("%w: key %q has public_jwk kid %q", ErrInvalidKeyset, out.KID, out.PublicJWK.KID)
	}
	pub, err := out.PublicJWK.PublicKey()
	if err != nil {
		return fmt.Errorf("key %q: %w", out.KID, err)
	}
	if out.CreatedAt, err = parseTime(*w.CreatedAt); err != nil {
		return fmt.Errorf("%w: key %q created_at: %w", ErrInvalidKeyset, out.KID, err)
	}
	if out.NotBefore, err = parseTime(*w.NotBefore); err != nil {
		return fmt.Errorf("%w: key %q not_before: %w", ErrInvalidKeyset, out.KID, err)
	}
	if w.NotAfter != nil {
		t, err := parseTime(*w.NotAfter)
		if err != nil {
			return fmt.Errorf("%w: key %q not_after: %w", ErrInvalidKeyset, out.KID, err)
		}
		out.NotAfter = &t
	}
	if w.PrivateKey != nil {
		if out.PrivateKey, err = parsePrivateKey(*w.PrivateKey); err != nil {
			return fmt.Errorf("%w: key %q private_key: %w", ErrInvalidKeyset, out.KID, err)
		}
		if !pub.Equal(out.PrivateKey.Public()) {
			return fmt.Errorf("%w: key %q private_key does not match public_jwk", ErrInvalidKeyset, out.KID)
		}
	}
	*k = out
	return nil
}

func parsePrivateKey(s string) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("not a PKCS#8 PEM block")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	priv, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("not an Ed25519 key (%T)", parsed)
	}
	return priv, nil
}

// Keyset is the signing keyset: the key that signs, the staged key that is published but not
// used to sign, and retired keys still accepted until their not_after (spec: auth-and-keys.md
// §5.2, §18.1 notes 1–3). Active and Next are nil when absent.
type Keyset struct {
	Active  *Key
	Next    *Key
	Retired []Key
}

// keysetJSON is the schema-v1 document; retired is the Go port's optional addition.
type keysetJSON struct {
	SchemaVersion int   `json:"schema_version"`
	Active        *Key  `json:"active"`
	Next          *Key  `json:"next"`
	Retired       []Key `json:"retired,omitempty"`
}

// MarshalJSON writes the schema-v1 document (compact); Encode writes the file form.
func (ks Keyset) MarshalJSON() ([]byte, error) {
	return json.Marshal(keysetJSON{SchemaVersion: 1, Active: ks.Active, Next: ks.Next, Retired: ks.Retired})
}

// UnmarshalJSON reads a schema-v1 document; unknown fields are ignored, a missing
// schema_version is taken as 1, and retired keys must carry not_after.
func (ks *Keyset) UnmarshalJSON(data []byte) error {
	var w struct {
		SchemaVersion *int  `json:"schema_version"`
		Active        *Key  `json:"active"`
		Next          *Key  `json:"next"`
		Retired       []Key `json:"retired"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		if errors.Is(err, ErrInvalidKeyset) {
			return err // a key object's own error
		}
		return fmt.Errorf("%w: %w", ErrInvalidKeyset, err)
	}
	if w.SchemaVersion != nil && *w.SchemaVersion != 1 {
		return fmt.Errorf("%w: unsupported schema_version %d", ErrInvalidKeyset, *w.SchemaVersion)
	}
	for _, k := range w.Retired {
		if k.NotAfter == nil {
			return fmt.Errorf("%w: retired key %q has no not_after", ErrInvalidKeyset, k.KID)
		}
	}
	*ks = Keyset{Active: w.Active, Next: w.Next, Retired: w.Retired}
	return nil
}

// Decode parses a keyset document (spec: auth-and-keys.md §5.2, §18.1 note 1).
func Decode(data []byte) (Keyset, error) {
	var ks Keyset
	if err := json.Unmarshal(data, &ks); err != nil {
		if errors.Is(err, ErrInvalidKeyset) {
			return Keyset{}, err
		}
		return Keyset{}, fmt.Errorf("%w: %w", ErrInvalidKeyset, err) // not JSON at all
	}
	return ks, nil
}

// Encode writes the document as the reference does (Python json.dumps, indent=2): 2-space
// indentation, ", "/": " separators, non-ASCII escaped, no trailing newline; `retired` only
// when not empty, so a keyset without retired keys is byte-identical to the reference's file.
func (ks Keyset) Encode() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(keysetJSON{SchemaVersion: 1, Active: ks.Active, Next: ks.Next, Retired: ks.Retired}); err != nil {
		return nil, err
	}
	return asciiJSON(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// Lookup returns the key with this kid, searching active, next, then retired.
func (ks Keyset) Lookup(kid string) (Key, bool) {
	for _, k := range ks.all() {
		if k.KID == kid {
			return k, true
		}
	}
	return Key{}, false
}

// all lists active, next and retired keys, in that order.
func (ks Keyset) all() []Key {
	out := make([]Key, 0, 2+len(ks.Retired))
	if ks.Active != nil {
		out = append(out, *ks.Active)
	}
	if ks.Next != nil {
		out = append(out, *ks.Next)
	}
	return append(out, ks.Retired...)
}

// Pruned returns the keyset without the retired keys whose not_after has passed at now
// (spec: auth-and-keys.md §18.1 note 2).
func (ks Keyset) Pruned(now time.Time) Keyset {
	out := Keyset{Active: ks.Active, Next: ks.Next}
	for _, k := range ks.Retired {
		if !k.expiredAt(now) {
			out.Retired = append(out.Retired, k)
		}
	}
	return out
}

// Python's datetime.isoformat(): microseconds only when not zero, numeric offset (+00:00).
const (
	isoSeconds = "2006-01-02T15:04:05-07:00"
	isoMicros  = "2006-01-02T15:04:05.000000-07:00"
)

func formatTime(t time.Time) string {
	if t.Nanosecond()/1000 == 0 {
		return t.Format(isoSeconds)
	}
	return t.Format(isoMicros)
}

// parseTime reads what Python's datetime.fromisoformat accepts in practice: RFC 3339 with an
// offset or Z, or a naive timestamp (taken as UTC), with `T` or a space between date and time.
func parseTime(s string) (time.Time, error) {
	if len(s) > 10 && s[10] == ' ' {
		s = s[:10] + "T" + s[11:]
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation("2006-01-02T15:04:05.999999999", s, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an ISO-8601 timestamp", s)
	}
	return t, nil
}

// asciiJSON escapes every non-ASCII character as \uXXXX (surrogate pairs above U+FFFF), as
// Python's json.dumps does by default. Outside strings JSON is ASCII, so a byte scan suffices.
func asciiJSON(b []byte) []byte {
	i := 0
	for i < len(b) && b[i] < utf8.RuneSelf {
		i++
	}
	if i == len(b) {
		return b
	}
	out := make([]byte, 0, len(b)+32)
	out = append(out, b[:i]...)
	for _, r := range string(b[i:]) {
		switch {
		case r < utf8.RuneSelf:
			out = append(out, byte(r))
		case r > 0xFFFF:
			r -= 0x10000
			out = appendU(appendU(out, 0xD800+(r>>10)), 0xDC00+(r&0x3FF))
		default:
			out = appendU(out, r)
		}
	}
	return out
}

func appendU(out []byte, r rune) []byte {
	s := strconv.FormatInt(int64(r), 16)
	out = append(out, `\u`...)
	for n := len(s); n < 4; n++ {
		out = append(out, '0')
	}
	return append(out, s...)
}
