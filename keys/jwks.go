package keys

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
)

// Document is the JWKS body {"keys": [...]}: active, next, then unexpired retired keys, each
// JWK exactly as stored (spec: auth-and-keys.md §5.6, §18.1 note 4).
type Document struct {
	Keys []JWK `json:"keys"`
	meta []docKey
}

type docKey struct {
	kid     string
	created time.Time
}

// JWKS builds the published document at now.
func (ks Keyset) JWKS(now time.Time) Document {
	d := Document{Keys: []JWK{}}
	for _, k := range ks.all() {
		if k.expiredAt(now) && k.KID != activeKID(ks) {
			continue
		}
		d.Keys = append(d.Keys, k.PublicJWK)
		d.meta = append(d.meta, docKey{kid: k.KID, created: k.CreatedAt})
	}
	return d
}

// activeKID exempts the active key from not_after, which is stored but not enforced on it
// (spec: auth-and-keys.md §5.1).
func activeKID(ks Keyset) string {
	if ks.Active == nil {
		return ""
	}
	return ks.Active.KID
}

// Fingerprint is "empty" without keys, else the hex SHA-256 of the `|`-joined list "1", then
// per key its kid, its JWK as Python's json.dumps(sort_keys=True) and its created_at
// (spec: auth-and-keys.md §5.6, extended with retired keys by §18.1 note 4).
func (d Document) Fingerprint() string {
	if len(d.Keys) == 0 {
		return "empty"
	}
	parts := []string{"1"}
	for i, j := range d.Keys {
		parts = append(parts, d.meta[i].kid, j.sortedPython(), formatTime(d.meta[i].created))
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "|")))
	return hex.EncodeToString(sum[:])
}

// ETag is `"` + hex SHA-256 of `<salt>:<fingerprint>` + `"` (salt = AUTH_JWKS_ETAG_SALT).
func (d Document) ETag(salt string) string {
	sum := sha256.Sum256([]byte(salt + ":" + d.Fingerprint()))
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

// LastModified is the newest created_at of the published keys, or now when there is none;
// the handler formats it with http.TimeFormat.
func (d Document) LastModified(now time.Time) time.Time {
	if len(d.meta) == 0 {
		return now.UTC()
	}
	var last time.Time
	for _, m := range d.meta {
		if m.created.After(last) {
			last = m.created
		}
	}
	return last.UTC()
}

// sortedPython renders the JWK as json.dumps(jwk, sort_keys=True): keys sorted, ", " and ": "
// separators, non-ASCII escaped; use and alg are left out when empty, as when not stored.
func (j JWK) sortedPython() string {
	var b strings.Builder
	field := func(name, value string, first bool) {
		if !first {
			b.WriteString(", ")
		}
		b.WriteString(`"` + name + `": `)
		b.Write(pythonString(value))
	}
	b.WriteByte('{')
	first := true
	if j.Alg != "" {
		field("alg", j.Alg, first)
		first = false
	}
	field("crv", j.Crv, first)
	field("kid", j.KID, false)
	field("kty", j.Kty, false)
	if j.Use != "" {
		field("use", j.Use, false)
	}
	field("x", j.X, false)
	b.WriteByte('}')
	return b.String()
}

// pythonString quotes s as Python's json.dumps does: no HTML escaping, non-ASCII as \uXXXX.
func pythonString(s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return asciiJSON(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}
