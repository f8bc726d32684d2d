package keys_test

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"agentplane/keys"
)

var enc = base64.RawURLEncoding

// craft builds a compact JWS by hand with any header, so tests can forge what a signer never makes.
func craft(header, payload string, sign func(input []byte) []byte) string {
	input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	return input + "." + enc.EncodeToString(sign([]byte(input)))
}

func edSigner(k ed25519.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte { return ed25519.Sign(k, in) }
}

func payload(t *testing.T, edit func(map[string]any)) string {
	t.Helper()
	b, _ := json.Marshal(newAccess(t0))
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	edit(m)
	out, _ := json.Marshal(m)
	return string(out)
}

func referenceManager(t *testing.T, now time.Time) (*keys.Manager, keys.Keyset) {
	t.Helper()
	ks := loadReference(t)
	return newManager(t, &memStorage{ks: ks}, newClock(now)), ks
}

// Ed25519 is deterministic, so the same header and payload bytes give the reference's token.
func TestSignMatchesReferenceToken(t *testing.T) {
	m, _ := referenceManager(t, t0)
	want, err := os.ReadFile("testdata/reference_access_token.txt")
	if err != nil {
		t.Fatal(err)
	}
	token, kid := mustSign(t, m, newAccess(t0))
	if kid != referenceActive {
		t.Errorf("kid = %s", kid)
	}
	if token != string(want) {
		t.Errorf("token differs from the reference's:\n got %s\nwant %s", token, want)
	}
	header, _ := enc.DecodeString(strings.Split(token, ".")[0])
	if string(header) != `{"alg":"EdDSA","kid":"ed25519-4b8d3b7a6005","typ":"JWT"}` {
		t.Errorf("header = %s", header)
	}

	// The same claims as raw JSON with spaces are compacted, not reordered.
	raw, _ := json.MarshalIndent(newAccess(t0), "", "  ")
	if tok, _ := mustSign(t, m, json.RawMessage(raw)); tok != string(want) {
		t.Errorf("raw JSON claims signed differently")
	}
	if _, _, err := m.Sign(t.Context(), []string{"not", "an", "object"}); err == nil {
		t.Errorf("a JSON array was signed as claims")
	}
}

func TestSignWithoutActiveKey(t *testing.T) {
	ks := loadReference(t)
	publicOnly := *ks.Active
	publicOnly.PrivateKey = nil
	for name, set := range map[string]keys.Keyset{
		"empty":       {},
		"only next":   {Next: ks.Next},
		"public only": {Active: &publicOnly},
	} {
		t.Run(name, func(t *testing.T) {
			m := newManager(t, &memStorage{ks: set}, newClock(t0))
			_, _, err := m.Sign(t.Context(), newAccess(t0))
			if !errors.Is(err, keys.ErrNoActiveKey) || err.Error() != "Active Ed25519 key is unavailable." {
				t.Errorf("Sign = %v, want ErrNoActiveKey", err)
			}
		})
	}
}

func TestSignWith(t *testing.T) {
	m, _ := referenceManager(t, t0)
	tok, err := m.SignWith(t.Context(), referenceNext, newAccess(t0))
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.Verify(t.Context(), tok, keys.VerifyOptions{Issuer: issuer})
	if err != nil || c.KID != referenceNext {
		t.Errorf("token signed with next: %v (kid %s)", err, c.KID)
	}
	if _, err := m.SignWith(t.Context(), "ed25519-nope", newAccess(t0)); !errors.Is(err, keys.ErrUnknownSigningKID) {
		t.Errorf("unknown kid: %v", err)
	}
}

func TestVerifyClaims(t *testing.T) {
	m, _ := referenceManager(t, t0.Add(time.Minute))
	ref, _ := os.ReadFile("testdata/reference_access_token.txt")
	c, err := m.Verify(t.Context(), string(ref), keys.VerifyOptions{Issuer: issuer, Audience: []string{"agent-api"}})
	if err != nil {
		t.Fatal(err)
	}
	want := newAccess(t0)
	if c.Subject != want.Sub || c.TenantID != want.TenantID || !slices.Equal(c.Roles, want.Roles) ||
		string(c.Scope) != want.Scope || c.TokenUse != "access" || c.Issuer != issuer ||
		!slices.Equal(c.Audience, keys.Audience(want.Aud)) || c.JTI != want.JTI || c.EmailVerified == nil || !*c.EmailVerified ||
		c.SessionID != want.SID || c.KID != referenceActive {
		t.Errorf("claims = %+v", c)
	}
	if c.IssuedAt.Unix() != want.Iat || c.NotBefore.Unix() != want.Nbf || c.ExpiresAt.Unix() != want.Exp {
		t.Errorf("times = %v %v %v", c.IssuedAt, c.NotBefore, c.ExpiresAt)
	}
	all, err := c.Map()
	if err != nil || all["sid"] != want.SID || all["exp"] != float64(want.Exp) {
		t.Errorf("Map() = %v, %v", all, err)
	}
	if !strings.HasPrefix(string(c.Raw), `{"sub":`) {
		t.Errorf("Raw = %s", c.Raw)
	}
}

func TestVerifyMatrix(t *testing.T) {
	now := t0.Add(time.Minute)
	m, ks := referenceManager(t, now)
	active, next := ks.Active.PrivateKey, ks.Next.PrivateKey
	_, stranger, _ := ed25519.GenerateKey(nil)
	hdr := func(alg, kid string) string {
		return `{"alg":"` + alg + `","kid":"` + kid + `","typ":"JWT"}`
	}
	ok := hdr("EdDSA", referenceActive)
	good := payload(t, func(map[string]any) {})
	at := func(d time.Duration) int64 { return now.Add(d).Unix() }
	ref, _ := os.ReadFile("testdata/reference_access_token.txt")
	parts := strings.Split(string(ref), ".")
	sigBytes, _ := enc.DecodeString(parts[2])
	sigBytes[0] ^= 1
	x, _ := enc.DecodeString(ks.Active.PublicJWK.X)
	hs256 := func(in []byte) []byte { h := hmac.New(sha256.New, x); h.Write(in); return h.Sum(nil) }
	aud := []string{"agent-api"}

	tests := []struct {
		name  string
		token string
		opt   keys.VerifyOptions
		want  error // nil: valid
	}{
		{"reference token", string(ref), keys.VerifyOptions{Audience: aud}, nil},
		{"crafted valid", craft(ok, good, edSigner(active)), keys.VerifyOptions{}, nil},
		{"signed by next", craft(hdr("EdDSA", referenceNext), good, edSigner(next)), keys.VerifyOptions{}, nil},
		{"expired", craft(ok, payload(t, func(p map[string]any) { p["exp"] = at(-31 * time.Second) }), edSigner(active)), keys.VerifyOptions{}, keys.ErrExpired},
		{"expired within leeway", craft(ok, payload(t, func(p map[string]any) { p["exp"] = at(-29 * time.Second) }), edSigner(active)), keys.VerifyOptions{}, nil},
		{"expired, no leeway", craft(ok, payload(t, func(p map[string]any) { p["exp"] = at(-time.Second) }), edSigner(active)), keys.VerifyOptions{Leeway: -1}, keys.ErrExpired},
		{"expired but allowed", craft(ok, payload(t, func(p map[string]any) { p["exp"] = at(-time.Hour) }), edSigner(active)), keys.VerifyOptions{AllowExpired: true}, nil},
		{"not yet valid", craft(ok, payload(t, func(p map[string]any) { p["nbf"] = at(31 * time.Second) }), edSigner(active)), keys.VerifyOptions{}, keys.ErrNotYetValid},
		{"nbf within leeway", craft(ok, payload(t, func(p map[string]any) { p["nbf"] = at(29 * time.Second) }), edSigner(active)), keys.VerifyOptions{}, nil},
		{"issued in the future", craft(ok, payload(t, func(p map[string]any) { p["iat"] = at(time.Minute) }), edSigner(active)), keys.VerifyOptions{}, keys.ErrNotYetValid},
		{"wrong issuer", string(ref), keys.VerifyOptions{Issuer: "someone-else"}, keys.ErrBadIssuer},
		{"missing issuer", craft(ok, payload(t, func(p map[string]any) { delete(p, "iss") }), edSigner(active)), keys.VerifyOptions{}, keys.ErrBadIssuer},
		{"wrong audience", string(ref), keys.VerifyOptions{Audience: []string{"billing"}}, keys.ErrBadAudience},
		{"string audience", craft(ok, payload(t, func(p map[string]any) { p["aud"] = "agent-api" }), edSigner(active)), keys.VerifyOptions{Audience: aud}, nil},
		{"no aud claim, audience required", craft(ok, payload(t, func(p map[string]any) { delete(p, "aud") }), edSigner(active)), keys.VerifyOptions{Audience: aud}, keys.ErrBadAudience},
		{"aud not checked without audience", craft(ok, payload(t, func(p map[string]any) { p["aud"] = "x" }), edSigner(active)), keys.VerifyOptions{}, nil},
		{"unknown kid", craft(hdr("EdDSA", "ed25519-unknown"), good, edSigner(stranger)), keys.VerifyOptions{}, keys.ErrUnknownKID},
		{"missing kid", craft(`{"alg":"EdDSA","typ":"JWT"}`, good, edSigner(active)), keys.VerifyOptions{}, keys.ErrUnknownKID},
		{"known kid, foreign key", craft(ok, good, edSigner(stranger)), keys.VerifyOptions{}, keys.ErrBadSignature},
		{"alg none", craft(hdr("none", referenceActive), good, func([]byte) []byte { return nil }), keys.VerifyOptions{}, keys.ErrBadAlgorithm},
		{"alg HS256 keyed with the public key", craft(hdr("HS256", referenceActive), good, hs256), keys.VerifyOptions{}, keys.ErrBadAlgorithm},
		{"alg lower case", craft(hdr("eddsa", referenceActive), good, edSigner(active)), keys.VerifyOptions{}, keys.ErrBadAlgorithm},
		{"crit header", craft(`{"alg":"EdDSA","crit":["exp"],"exp":1,"kid":"`+referenceActive+`"}`, good, edSigner(active)), keys.VerifyOptions{}, keys.ErrMalformedToken},
		{"tampered signature", parts[0] + "." + parts[1] + "." + enc.EncodeToString(sigBytes), keys.VerifyOptions{}, keys.ErrBadSignature},
		{"tampered payload", parts[0] + "." + enc.EncodeToString([]byte(payload(t, func(p map[string]any) { p["roles"] = []string{"admin"} }))) + "." + parts[2], keys.VerifyOptions{}, keys.ErrBadSignature},
		{"truncated signature", parts[0] + "." + parts[1] + "." + parts[2][:40], keys.VerifyOptions{}, keys.ErrBadSignature},
		{"missing exp", craft(ok, payload(t, func(p map[string]any) { delete(p, "exp") }), edSigner(active)), keys.VerifyOptions{}, keys.ErrMissingClaim},
		{"missing iat", craft(ok, payload(t, func(p map[string]any) { delete(p, "iat") }), edSigner(active)), keys.VerifyOptions{}, keys.ErrMissingClaim},
		{"exp not a number", craft(ok, payload(t, func(p map[string]any) { p["exp"] = "tomorrow" }), edSigner(active)), keys.VerifyOptions{}, keys.ErrMalformedToken},
		{"payload not json", craft(ok, "not json", edSigner(active)), keys.VerifyOptions{}, keys.ErrMalformedToken},
		{"empty", "", keys.VerifyOptions{}, keys.ErrMalformedToken},
		{"garbage", "not-a-token", keys.VerifyOptions{}, keys.ErrMalformedToken},
		{"two parts", parts[0] + "." + parts[1], keys.VerifyOptions{}, keys.ErrMalformedToken},
		{"four parts", string(ref) + ".x", keys.VerifyOptions{}, keys.ErrMalformedToken},
		{"header not base64", "%%%." + parts[1] + "." + parts[2], keys.VerifyOptions{}, keys.ErrMalformedToken},
		{"padded header", parts[0] + "=." + parts[1] + "." + parts[2], keys.VerifyOptions{}, keys.ErrMalformedToken},
		{"huge", strings.Repeat("a", 20<<10) + "." + parts[1] + "." + parts[2], keys.VerifyOptions{}, keys.ErrMalformedToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.opt.Issuer == "" {
				tt.opt.Issuer = issuer
			}
			c, err := m.Verify(t.Context(), tt.token, tt.opt)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if c.Subject == "" {
					t.Errorf("no claims returned")
				}
				return
			}
			if !errors.Is(err, keys.ErrInvalidToken) || !errors.Is(err, tt.want) {
				t.Errorf("Verify error = %v, want ErrInvalidToken and %v", err, tt.want)
			}
			if c.Subject != "" {
				t.Errorf("claims returned with an error: %+v", c)
			}
		})
	}
}

func TestVerifyRequiresIssuerOption(t *testing.T) {
	m, _ := referenceManager(t, t0)
	ref, _ := os.ReadFile("testdata/reference_access_token.txt")
	_, err := m.Verify(t.Context(), string(ref), keys.VerifyOptions{})
	if err == nil || errors.Is(err, keys.ErrInvalidToken) {
		t.Errorf("empty Issuer option: %v; want a configuration error, not a token rejection", err)
	}
}

type recorded struct{ kind, result, use string }

type recorder struct {
	mu  sync.Mutex
	got []recorded
}

func (r *recorder) TokenSigned(result, use string, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, recorded{"sign", result, use})
}

func (r *recorder) TokenVerified(result, use string, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, recorded{"verify", result, use})
}

func TestRecorder(t *testing.T) {
	rec := &recorder{}
	m, err := keys.NewManager(keys.ManagerDeps{Storage: &memStorage{ks: loadReference(t)}, Now: newClock(t0).Now, Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := mustSign(t, m, newAccess(t0))
	_, _, _ = m.Sign(t.Context(), json.RawMessage(`{"token_use":"REFRESH"}`))
	_, _, _ = m.Sign(t.Context(), json.RawMessage(`{}`))
	_, _ = m.Verify(t.Context(), tok, keys.VerifyOptions{Issuer: issuer})
	_, _ = m.Verify(t.Context(), tok, keys.VerifyOptions{Issuer: "other"})
	_, _ = m.Verify(t.Context(), "garbage", keys.VerifyOptions{Issuer: issuer})
	want := []recorded{
		{"sign", "success", "access"}, {"sign", "success", "refresh"}, {"sign", "success", "unknown"},
		{"verify", "success", "access"}, {"verify", "failure", "access"}, {"verify", "failure", "unknown"},
	}
	if !slices.Equal(rec.got, want) {
		t.Errorf("recorded %v\nwant     %v", rec.got, want)
	}
}

// The signer encodes its header once and signs by hand; its tokens must be
// go-jose's byte for byte, whatever the kid holds (JSON and HTML escapes).
func TestSignerMatchesGoJose(t *testing.T) {
	for _, kid := range []string{"ed25519-0123456789ab", `odd<kid>&"quoted"\é`} {
		k, err := keys.Generate(kid, t0)
		if err != nil {
			t.Fatal(err)
		}
		m := newManager(t, &memStorage{ks: keys.Keyset{Active: &k}}, newClock(t0))
		payload, _ := json.Marshal(newAccess(t0))
		got, _ := mustSign(t, m, json.RawMessage(payload))
		js, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: k.PrivateKey, KeyID: kid}},
			(&jose.SignerOptions{}).WithType("JWT"))
		if err != nil {
			t.Fatal(err)
		}
		obj, err := js.Sign(payload)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := obj.CompactSerialize()
		if got != want {
			t.Errorf("kid %q:\n got %s\nwant %s", kid, got, want)
		}
	}
}

// VerifyOptions.Issued vouches for a token only after the header, the key
// and the claims have passed; when it does not, the signature decides.
func TestVerifyIssued(t *testing.T) {
	now := t0.Add(time.Minute)
	m, ks := referenceManager(t, now)
	good := craft(`{"alg":"EdDSA","kid":"`+referenceActive+`","typ":"JWT"}`, payload(t, func(map[string]any) {}), edSigner(ks.Active.PrivateKey))
	forged := good[:strings.LastIndexByte(good, '.')+1] + enc.EncodeToString(make([]byte, ed25519.SignatureSize))
	expired := craft(`{"alg":"EdDSA","kid":"`+referenceActive+`","typ":"JWT"}`,
		payload(t, func(c map[string]any) { c["exp"] = t0.Add(-time.Hour).Unix() }), func([]byte) []byte { return make([]byte, 64) })
	unknownKID := craft(`{"alg":"EdDSA","kid":"ed25519-gone","typ":"JWT"}`, payload(t, func(map[string]any) {}), func([]byte) []byte { return make([]byte, 64) })
	for _, tc := range []struct {
		name, token string
		issued      bool
		wantErr     bool
		wantAsked   bool
	}{
		{"good, vouched", good, true, false, true},
		{"good, not vouched", good, false, false, true},
		{"bad signature, vouched", forged, true, false, true},
		{"bad signature, not vouched", forged, false, true, true},
		{"expired", expired, true, true, false},
		{"unknown kid", unknownKID, true, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asked := false
			opt := keys.VerifyOptions{Issuer: issuer, Issued: func(c keys.Claims) bool {
				asked = true
				return tc.issued && c.JTI != ""
			}}
			c, err := m.Verify(t.Context(), tc.token, opt)
			if (err != nil) != tc.wantErr || asked != tc.wantAsked {
				t.Errorf("err = %v, asked = %v; want error %v, asked %v", err, asked, tc.wantErr, tc.wantAsked)
			}
			if err == nil && (c.KID != referenceActive || c.TokenUse != "access" || len(c.Raw) == 0) {
				t.Errorf("claims = %+v", c)
			}
			if err != nil && !errors.Is(err, keys.ErrInvalidToken) {
				t.Errorf("err = %v, want ErrInvalidToken", err)
			}
		})
	}
}
