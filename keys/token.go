package keys

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// DefaultLeeway is the clock-skew allowance on exp, nbf and iat (spec: auth-and-keys.md §18.1 note 8).
const DefaultLeeway = 30 * time.Second

// maxTokenSize bounds the work spent on one bearer string; real tokens are under 1 KiB.
const maxTokenSize = 16 << 10

// VerifyOptions are the caller's checks on top of the signature (spec: auth-and-keys.md §3.6,
// §18.1 note 8).
type VerifyOptions struct {
	Issuer       string        // required: the iss claim must equal it (APP_NAME)
	Audience     []string      // when set, the aud claim must contain one of these
	AllowExpired bool          // skip the exp check (exp must still be present)
	Leeway       time.Duration // 0 = DefaultLeeway; negative = none

	// Issued, when set, is asked once the header, the key and the claims have
	// passed whether the token is byte for byte one this service issued and
	// recorded; when it answers true the signature is not checked again. It
	// must answer true only for a token it matched in full against its own
	// record (auth's refresh compares the keyed hash stored at issuance).
	Issued func(Claims) bool

	// Seen, when set, remembers tokens whose signature checked out and
	// spares the check when one comes again (see Seen).
	Seen *Seen
}

// Claims are the verified claims. The standard ones are decoded; Raw is the payload JSON
// (spec: auth-and-keys.md §3.2–§3.4); Map decodes all of it.
type Claims struct {
	Subject       string      `json:"sub"`
	TenantID      string      `json:"tenant_id"`
	Roles         StringList  `json:"roles"`
	Scope         ScopeClaim  `json:"scope"`
	Scopes        StringList  `json:"scopes"`
	TokenUse      string      `json:"token_use"`
	Issuer        string      `json:"iss"`
	Audience      Audience    `json:"aud"`
	JTI           string      `json:"jti"`
	EmailVerified *bool       `json:"email_verified"` // nil: the claim is absent (legacy grace)
	SessionID     string      `json:"sid"`
	Account       string      `json:"account"`
	Fingerprint   string      `json:"fingerprint"`
	IssuedAt      NumericDate `json:"iat"`
	NotBefore     NumericDate `json:"nbf"`
	ExpiresAt     NumericDate `json:"exp"`

	KID string          `json:"-"` // the header's kid: the key that verified the token
	Raw json.RawMessage `json:"-"`
}

// Map decodes every claim of the payload.
func (c Claims) Map() (map[string]any, error) {
	var m map[string]any
	err := json.Unmarshal(c.Raw, &m)
	return m, err
}

// StringList is a claim that is a string or an array of strings on the wire
// (aud, roles, scopes).
type StringList []string

// Audience is the aud claim.
type Audience = StringList

// UnmarshalJSON accepts a string or an array of strings.
func (a *StringList) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = StringList{s}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(a))
}

// ScopeClaim is the scope claim: space-separated on the wire, or an array,
// which is read as its items joined with spaces (spec: http-api.md §1.6.1).
type ScopeClaim string

// UnmarshalJSON accepts a string or an array of strings.
func (s *ScopeClaim) UnmarshalJSON(b []byte) error {
	var l StringList
	if err := l.UnmarshalJSON(b); err != nil {
		return err
	}
	*s = ScopeClaim(strings.Join(l, " "))
	return nil
}

// NumericDate is a JWT time claim: integer Unix seconds on the wire; the zero value is "absent".
type NumericDate struct{ time.Time }

// NewNumericDate truncates t to whole seconds, as the reference issues time claims.
func NewNumericDate(t time.Time) NumericDate { return NumericDate{time.Unix(t.Unix(), 0).UTC()} }

// MarshalJSON writes integer seconds.
func (n NumericDate) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, n.Unix(), 10), nil
}

// UnmarshalJSON reads a JSON number (a fraction is truncated); null leaves it absent.
func (n *NumericDate) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = NumericDate{}
		return nil
	}
	sec, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(b), 64)
		if ferr != nil || math.IsNaN(f) || math.Abs(f) > 1<<53 {
			return fmt.Errorf("keys: time claim %s is not a number", b)
		}
		sec = int64(f)
	}
	*n = NumericDate{time.Unix(sec, 0).UTC()}
	return nil
}

// Sign signs claims with the active key. The payload is the compact JSON of claims as given:
// a struct keeps its field order (spec: auth-and-keys.md §3.1); json.RawMessage or []byte is
// used as is (compacted). The header is {"alg":"EdDSA","kid":…,"typ":"JWT"}. Without an
// active private key it fails with ErrNoActiveKey (spec: auth-and-keys.md §3.5).
func (m *Manager) Sign(ctx context.Context, claims any) (token, kid string, err error) {
	start := time.Now()
	var payload []byte
	s, err := m.Current(ctx)
	if err == nil {
		kid = s.signKID
		token, payload, err = s.sign(kid, claims)
	}
	m.recordSign(start, payload, err)
	if err != nil {
		return "", "", err
	}
	return token, kid, nil
}

// SignWith signs claims with the key kid (active, next or retired), to rebuild a stored token
// byte for byte (spec: auth-and-keys.md §8.5, §18.2 note 12). A kid without a private key
// fails with ErrUnknownSigningKID.
func (m *Manager) SignWith(ctx context.Context, kid string, claims any) (string, error) {
	start := time.Now()
	var token string
	var payload []byte
	s, err := m.Current(ctx)
	if err == nil {
		token, payload, err = s.sign(kid, claims)
	}
	m.recordSign(start, payload, err)
	return token, err
}

func (s *Snapshot) sign(kid string, claims any) (string, []byte, error) {
	sg, ok := s.signers[kid]
	switch {
	case !ok && kid == s.signKID:
		return "", nil, ErrNoActiveKey
	case !ok:
		return "", nil, fmt.Errorf("%w: %q", ErrUnknownSigningKID, kid)
	}
	payload, err := payloadOf(claims)
	if err != nil {
		return "", nil, err
	}
	return sg.sign(payload), payload, nil
}

// signer makes compact EdDSA JWS tokens with one key. Its protected header
// never changes, so it is encoded once: signing a token is then one base64
// encoding of the payload and one Ed25519 signature, into one buffer (go-jose
// rebuilt and re-encoded the header for every token, 59 allocations a
// signature). The bytes are go-jose's, which TestSignMatchesReferenceToken
// and TestSignerMatchesGoJose check.
type signer struct {
	key    ed25519.PrivateKey
	prefix string // BASE64URL(protected header) + "."
}

func newSigner(k Key) (signer, error) {
	if len(k.PrivateKey) != ed25519.PrivateKeySize {
		return signer{}, fmt.Errorf("%w: key %q: private key is not %d bytes", ErrInvalidKeyset, k.KID, ed25519.PrivateKeySize)
	}
	// Field order alg, kid, typ is go-jose's (sorted keys), and so the reference's.
	h, err := json.Marshal(struct {
		Alg string `json:"alg"`
		KID string `json:"kid"`
		Typ string `json:"typ"`
	}{"EdDSA", k.KID, "JWT"})
	if err != nil {
		return signer{}, fmt.Errorf("keys: header of %q: %w", k.KID, err)
	}
	return signer{key: k.PrivateKey, prefix: base64.RawURLEncoding.EncodeToString(h) + "."}, nil
}

// sign returns the compact serialisation header.payload.signature (RFC 7515
// §7.1), the signature being Ed25519 over the ASCII header.payload (RFC 8037 §3.1).
func (sg signer) sign(payload []byte) string {
	enc := base64.RawURLEncoding
	n := len(sg.prefix) + enc.EncodedLen(len(payload))
	buf := make([]byte, n, n+1+enc.EncodedLen(ed25519.SignatureSize))
	copy(buf, sg.prefix)
	enc.Encode(buf[len(sg.prefix):], payload)
	sig := ed25519.Sign(sg.key, buf)
	buf = append(buf, '.')
	return string(enc.AppendEncode(buf, sig))
}

func payloadOf(claims any) ([]byte, error) {
	var raw []byte
	switch c := claims.(type) {
	case json.RawMessage:
		raw = c
	case []byte:
		raw = c
	default:
		b, err := json.Marshal(claims)
		if err != nil {
			return nil, fmt.Errorf("keys: encode claims: %w", err)
		}
		if len(b) == 0 || b[0] != '{' {
			return nil, errors.New("keys: claims must encode to a JSON object")
		}
		return b, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, fmt.Errorf("keys: encode claims: %w", err)
	}
	if buf.Len() == 0 || buf.Bytes()[0] != '{' {
		return nil, errors.New("keys: claims must encode to a JSON object")
	}
	return buf.Bytes(), nil
}

func (m *Manager) recordSign(start time.Time, payload []byte, err error) {
	if m.rec == nil {
		return
	}
	use := "unknown"
	if payload != nil {
		use = tokenUseLabel(tokenUseOf(payload))
	}
	m.rec.TokenSigned(resultLabel(err), use, time.Since(start))
}

// tokenUseOf is the token_use claim of a compact JSON payload, for the
// metrics label. The claim structs write it as a plain string, found without
// decoding the payload; anything else (an escape, or no such key) is decoded.
func tokenUseOf(payload []byte) string {
	const key = `"token_use":"`
	if i := bytes.Index(payload, []byte(key)); i >= 0 && bytes.Count(payload, []byte(key)) == 1 {
		v := payload[i+len(key):]
		if j := bytes.IndexByte(v, '"'); j >= 0 && bytes.IndexByte(v[:j], '\\') < 0 {
			return string(v[:j])
		}
	}
	var c struct {
		TokenUse string `json:"token_use"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return ""
	}
	return c.TokenUse
}

// Verify checks a compact JWS token: alg exactly EdDSA, a kid naming the active, next or an
// unexpired retired key, the Ed25519 signature, exp and iat present, exp/nbf/iat within the
// leeway, iss equal to opt.Issuer, and the audience when opt.Audience is set (spec:
// auth-and-keys.md §3.6 with §18.1 notes 3 and 8). Rejections wrap ErrInvalidToken and a reason.
func (m *Manager) Verify(ctx context.Context, token string, opt VerifyOptions) (Claims, error) {
	start := time.Now()
	var c Claims
	s, err := m.Current(ctx)
	if err == nil {
		c, err = s.verify(token, opt, m.now())
	}
	if m.rec != nil {
		m.rec.TokenVerified(resultLabel(err), tokenUseLabel(c.TokenUse), time.Since(start))
	}
	if err != nil {
		// Claims decoded from a token that then failed a check are not handed out.
		return Claims{}, err
	}
	return c, nil
}

// jwsHeader is the protected header; crit and b64 are refused (no extension is supported).
type jwsHeader struct {
	Alg  string          `json:"alg"`
	KID  string          `json:"kid"`
	Crit json.RawMessage `json:"crit"`
	B64  json.RawMessage `json:"b64"`
}

var b64 = base64.RawURLEncoding.Strict()

func (s *Snapshot) verify(token string, opt VerifyOptions, now time.Time) (Claims, error) {
	if opt.Issuer == "" {
		return Claims{}, errors.New("keys: VerifyOptions.Issuer is required")
	}
	if len(token) > maxTokenSize {
		return Claims{}, errMalformed
	}
	dot1 := strings.IndexByte(token, '.')
	dot2 := strings.LastIndexByte(token, '.')
	if dot1 <= 0 || dot2 == dot1 || strings.IndexByte(token[dot1+1:dot2], '.') >= 0 {
		return Claims{}, errMalformed
	}
	var h jwsHeader
	if hdr, err := b64.DecodeString(token[:dot1]); err != nil || json.Unmarshal(hdr, &h) != nil {
		return Claims{}, errMalformed
	}
	if h.Alg != "EdDSA" {
		return Claims{}, errBadAlgorithm
	}
	if h.Crit != nil || h.B64 != nil {
		return Claims{}, errMalformed
	}
	pub := s.verificationKey(h.KID, now)
	if pub == nil {
		return Claims{}, errUnknownKID
	}
	c, claimsErr := decodeClaims(token[dot1+1:dot2], opt, now)
	if claimsErr == nil && (opt.Seen != nil && opt.Seen.has(token) || opt.Issued != nil && opt.Issued(c)) {
		// The token is one we signed, unaltered: the verifying key is the one
		// checked above, the claims are checked, and the signature would
		// only prove again what the record does.
		c.KID = h.KID
		return c, nil
	}
	// The header was read above only to pick the key and to tell a wrong alg
	// apart; go-jose does the parsing and the signature check. Its errors
	// come first, as a forged token must read as forged whatever it claims.
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		return Claims{}, errMalformed
	}
	if _, err := jws.Verify(pub); err != nil {
		return Claims{}, errBadSignature
	}
	if opt.Seen != nil {
		opt.Seen.add(token) // its claims may have failed: the signature is still good
	}
	c.KID = h.KID
	return c, claimsErr
}

// decodeClaims decodes the base64url payload and checks its claims.
func decodeClaims(payload string, opt VerifyOptions, now time.Time) (Claims, error) {
	raw, err := b64.DecodeString(payload)
	if err != nil {
		return Claims{}, errMalformed
	}
	var c Claims
	if err := json.Unmarshal(raw, &c); err != nil {
		return Claims{}, errMalformed
	}
	c.Raw = raw
	return c, c.check(opt, now)
}

// verificationKey finds the kid among active, next and the unexpired retired keys.
func (s *Snapshot) verificationKey(kid string, now time.Time) ed25519.PublicKey {
	if kid == "" {
		return nil
	}
	for i := range s.verifiers {
		v := &s.verifiers[i]
		if v.kid == kid {
			if !v.notAfter.IsZero() && !now.Before(v.notAfter) {
				return nil
			}
			return v.pub
		}
	}
	return nil
}

func (c *Claims) check(opt VerifyOptions, now time.Time) error {
	leeway := opt.Leeway
	switch {
	case leeway == 0:
		leeway = DefaultLeeway
	case leeway < 0:
		leeway = 0
	}
	if c.ExpiresAt.IsZero() || c.IssuedAt.IsZero() {
		return errMissingClaim
	}
	if !opt.AllowExpired && !now.Before(c.ExpiresAt.Add(leeway)) {
		return errExpired
	}
	if c.IssuedAt.After(now.Add(leeway)) || (!c.NotBefore.IsZero() && c.NotBefore.After(now.Add(leeway))) {
		return errNotYetValid
	}
	if c.Issuer != opt.Issuer {
		return errBadIssuer
	}
	if len(opt.Audience) > 0 && !intersects(c.Audience, opt.Audience) {
		return errBadAudience
	}
	return nil
}

func intersects(have Audience, want []string) bool {
	for _, h := range have {
		for _, w := range want {
			if h == w {
				return true
			}
		}
	}
	return false
}

func resultLabel(err error) string {
	if err != nil {
		return "failure"
	}
	return "success"
}

func tokenUseLabel(use string) string {
	if use == "" {
		return "unknown"
	}
	return strings.ToLower(use)
}
