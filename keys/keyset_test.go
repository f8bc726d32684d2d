package keys_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"agentplane/keys"
)

func TestDecodeReferenceKeyset(t *testing.T) {
	data, err := os.ReadFile(referenceKeyset)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := keys.Decode(data)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if ks.Active == nil || ks.Active.KID != referenceActive || ks.Active.PrivateKey == nil {
		t.Fatalf("active = %v, want %s with a private key", ks.Active, referenceActive)
	}
	if ks.Next == nil || ks.Next.KID != referenceNext {
		t.Fatalf("next = %v, want %s", ks.Next, referenceNext)
	}
	if want := time.Date(2025, 11, 10, 14, 38, 49, 429801000, time.UTC); !ks.Active.CreatedAt.Equal(want) {
		t.Errorf("created_at = %v, want %v", ks.Active.CreatedAt, want)
	}
	if want := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC); !ks.Next.NotBefore.Equal(want) {
		t.Errorf("next not_before = %v, want %v", ks.Next.NotBefore, want)
	}
	if ks.Active.NotAfter != nil || len(ks.Retired) != 0 {
		t.Errorf("not_after = %v, retired = %v; want none", ks.Active.NotAfter, ks.Retired)
	}
}

// The reference's own file must come back byte for byte: field order, timestamps with and
// without microseconds, PEM, indentation, no trailing newline.
func TestEncodeRoundTripsReferenceBytes(t *testing.T) {
	data, err := os.ReadFile(referenceKeyset)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := keys.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ks.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("Encode differs from the reference file:\n got: %s\nwant: %s", got, data)
	}
}

func TestEncodeRetiredAndNonASCII(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	active, err := keys.Generate("ed25519-é😀", now)
	if err != nil {
		t.Fatal(err)
	}
	retired, err := keys.Generate("", now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	notAfter := now.Add(24 * time.Hour).Truncate(time.Second)
	retired.NotAfter = &notAfter
	data, err := keys.Keyset{Active: &active, Retired: []keys.Key{retired}}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for _, want := range []string{
		`"kid": "ed25519-\u00e9\ud83d\ude00"`, // Python's ensure_ascii escapes
		`"created_at": "2026-01-02T03:04:05.123456+00:00"`,
		`"not_after": "2026-01-03T03:04:05+00:00"`,
		`"next": null,` + "\n" + `  "retired": [`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("encoded keyset lacks %s:\n%s", want, s)
		}
	}
	back, err := keys.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if back.Active.KID != active.KID || len(back.Retired) != 1 || !back.Retired[0].NotAfter.Equal(notAfter) {
		t.Errorf("decoded %+v", back)
	}
	again, _ := back.Encode()
	if !bytes.Equal(again, data) {
		t.Errorf("second round trip differs")
	}
}

func TestGenerate(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 987654321, time.FixedZone("CET", 3600))
	k, err := keys.Generate("", now)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^ed25519-[0-9a-f]{12}$`).MatchString(k.KID) {
		t.Errorf("kid %q does not match ed25519-<12 hex>", k.KID)
	}
	if k.CreatedAt != k.NotBefore || k.CreatedAt.Location() != time.UTC || k.CreatedAt.Nanosecond() != 987654000 {
		t.Errorf("created_at %v, not_before %v: want equal, UTC, microseconds", k.CreatedAt, k.NotBefore)
	}
	jwk, _ := json.Marshal(k.PublicJWK)
	want := `{"kty":"OKP","crv":"Ed25519","kid":"` + k.KID + `","x":"` + k.PublicJWK.X + `","use":"sig","alg":"EdDSA"}`
	if string(jwk) != want {
		t.Errorf("JWK = %s, want %s", jwk, want)
	}
	pub, err := k.PublicKey()
	if err != nil || !pub.Equal(k.PrivateKey.Public()) {
		t.Errorf("public key does not match the private key (%v)", err)
	}
	if fmt := k.String(); strings.Contains(fmt, "PRIVATE") || !strings.Contains(fmt, k.KID) {
		t.Errorf("String() = %q", fmt)
	}
	named, _ := keys.Generate("my-kid", now)
	if named.KID != "my-kid" || named.PublicJWK.KID != "my-kid" {
		t.Errorf("given kid not used: %q / %q", named.KID, named.PublicJWK.KID)
	}
}

func TestDecodeErrors(t *testing.T) {
	ref, err := os.ReadFile(referenceKeyset)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(ref, &doc); err != nil {
		t.Fatal(err)
	}
	// mutate returns the reference document with fn applied to a deep copy of its active key.
	mutate := func(fn func(doc, active map[string]any)) string {
		var d map[string]any
		_ = json.Unmarshal(ref, &d)
		fn(d, d["active"].(map[string]any))
		b, _ := json.Marshal(d)
		return string(b)
	}
	other, _ := keys.Generate("other", t0)
	otherJSON, _ := json.Marshal(other)
	var otherKey map[string]any
	_ = json.Unmarshal(otherJSON, &otherKey)

	tests := []struct {
		name, doc string
	}{
		{"not json", `{"schema_version": 1, "active": `},
		{"not an object", `[1, 2]`},
		{"future schema", `{"schema_version": 2, "active": null, "next": null}`},
		{"missing kid", mutate(func(_, a map[string]any) { delete(a, "kid") })},
		{"missing public_jwk", mutate(func(_, a map[string]any) { delete(a, "public_jwk") })},
		{"missing created_at", mutate(func(_, a map[string]any) { delete(a, "created_at") })},
		{"missing not_before", mutate(func(_, a map[string]any) { delete(a, "not_before") })},
		{"bad timestamp", mutate(func(_, a map[string]any) { a["created_at"] = "yesterday" })},
		{"wrong kty", mutate(func(_, a map[string]any) { a["public_jwk"].(map[string]any)["kty"] = "RSA" })},
		{"short x", mutate(func(_, a map[string]any) { a["public_jwk"].(map[string]any)["x"] = "AAAA" })},
		{"jwk kid differs", mutate(func(_, a map[string]any) { a["public_jwk"].(map[string]any)["kid"] = "x" })},
		{"garbage pem", mutate(func(_, a map[string]any) { a["private_key"] = "not a key" })},
		{"private key of another key", mutate(func(_, a map[string]any) { a["private_key"] = otherKey["private_key"] })},
		{"retired without not_after", mutate(func(d, _ map[string]any) { d["retired"] = []any{otherKey} })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := keys.Decode([]byte(tt.doc)); !errors.Is(err, keys.ErrInvalidKeyset) {
				t.Errorf("Decode error = %v, want ErrInvalidKeyset", err)
			}
		})
	}
}

func TestDecodeLenient(t *testing.T) {
	tests := []struct {
		name, doc string
		active    bool
	}{
		{"empty object", `{}`, false},
		{"nulls", `{"schema_version": 1, "active": null, "next": null, "retired": null}`, false},
		{"unknown fields", `{"schema_version": 1, "active": null, "next": null, "comment": "x", "extra": [1]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks, err := keys.Decode([]byte(tt.doc))
			if err != nil || (ks.Active != nil) != tt.active {
				t.Errorf("Decode = %+v, %v", ks, err)
			}
		})
	}
}
