package keys_test

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
	"time"

	"agentplane/keys"
)

func kidsOf(d keys.Document) []string {
	var out []string
	for _, k := range d.Keys {
		out = append(out, k.KID)
	}
	return out
}

func loadReference(t *testing.T) keys.Keyset {
	t.Helper()
	data, err := os.ReadFile(referenceKeyset)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := keys.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// The expected values were computed with Python from the reference keyset, the way the
// reference does (json.dumps(jwk, sort_keys=True), hashlib.sha256).
func TestJWKSMatchesReference(t *testing.T) {
	ks := loadReference(t)
	doc := ks.JWKS(t0)
	body, _ := json.Marshal(doc)
	const wantBody = `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"ed25519-4b8d3b7a6005","x":"08RY76eFdDJoHUbuX6n0a_n3rci3ko-lEb9DxNBLGVU","use":"sig","alg":"EdDSA"},{"kty":"OKP","crv":"Ed25519","kid":"ed25519-next-test","x":"WHPkY7REgSipR5f3a2L_f1BivhoLdCqx5gVX1EiTRVE","use":"sig","alg":"EdDSA"}]}`
	if string(body) != wantBody {
		t.Errorf("body = %s\nwant   %s", body, wantBody)
	}
	if got, want := doc.Fingerprint(), "17b08792f24b4e3e14587742282ad6eb4207d1818c65e1b36166768ebe932a8b"; got != want {
		t.Errorf("fingerprint = %s, want %s", got, want)
	}
	if got, want := doc.ETag("test-salt"), `"ca3a21af559d00fdbc73572f84e1cf1b45a059e21bade58c9a223cbea7eb0a4c"`; got != want {
		t.Errorf("ETag = %s, want %s", got, want)
	}
	if got, want := doc.LastModified(t0), time.Date(2025, 11, 10, 14, 38, 49, 429801000, time.UTC); !got.Equal(want) {
		t.Errorf("LastModified = %v, want %v (newest created_at)", got, want)
	}

	empty := keys.Keyset{}.JWKS(t0)
	body, _ = json.Marshal(empty)
	if string(body) != `{"keys":[]}` || empty.Fingerprint() != "empty" {
		t.Errorf("empty JWKS = %s, fingerprint %s", body, empty.Fingerprint())
	}
	if got, want := empty.ETag("test-salt"), `"848ebbd1e62cc7c2703c655ae8c3511905efdd3cb73a1f1c8066c09c4e2a023e"`; got != want {
		t.Errorf("empty ETag = %s, want %s", got, want)
	}
	if !empty.LastModified(t0).Equal(t0) {
		t.Errorf("empty LastModified = %v, want now", empty.LastModified(t0))
	}
}

func TestJWKSOrderAndETagChanges(t *testing.T) {
	ks := loadReference(t)
	r1, _ := keys.Generate("ed25519-retired-1", t0.Add(-48*time.Hour))
	r2, _ := keys.Generate("ed25519-retired-2", t0.Add(-24*time.Hour))
	na1, na2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
	r1.NotAfter, r2.NotAfter = &na1, &na2
	withRetired := keys.Keyset{Active: ks.Active, Next: ks.Next, Retired: []keys.Key{r1, r2}}

	tests := []struct {
		name string
		ks   keys.Keyset
		at   time.Time
		want []string
	}{
		{"active and next", ks, t0, []string{referenceActive, referenceNext}},
		{"only active", keys.Keyset{Active: ks.Active}, t0, []string{referenceActive}},
		{"only next", keys.Keyset{Next: ks.Next}, t0, []string{referenceNext}},
		{"retired after next", withRetired, t0, []string{referenceActive, referenceNext, "ed25519-retired-1", "ed25519-retired-2"}},
		{"expired retired left out", withRetired, na1, []string{referenceActive, referenceNext, "ed25519-retired-2"}},
		{"all retired expired", withRetired, na2.Add(time.Second), []string{referenceActive, referenceNext}},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := tt.ks.JWKS(tt.at)
			if got := kidsOf(doc); !slices.Equal(got, tt.want) {
				t.Errorf("kids = %v, want %v", got, tt.want)
			}
			if again := tt.ks.JWKS(tt.at).ETag("s"); again != doc.ETag("s") {
				t.Errorf("ETag not deterministic")
			}
			if prev, dup := seen[doc.ETag("s")]; dup && !slices.Equal(tt.want, []string{referenceActive, referenceNext}) {
				t.Errorf("ETag equals that of %q", prev)
			}
			seen[doc.ETag("s")] = tt.name
			if doc.ETag("s") == doc.ETag("other") {
				t.Errorf("ETag ignores the salt")
			}
		})
	}
	if len(seen) != 5 { // "all retired expired" publishes what "active and next" does
		t.Errorf("%d distinct ETags, want 5", len(seen))
	}
	if lm := withRetired.JWKS(t0).LastModified(t0); !lm.Equal(ks.Active.CreatedAt) {
		t.Errorf("LastModified = %v, want the newest created_at %v", lm, ks.Active.CreatedAt)
	}
}
