package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Claim structs are serialised in field order, which is the reference's
// emission order (spec: auth-and-keys.md §3.1-3.4).

// AccessClaims is a person's access token (§3.2).
type AccessClaims struct {
	Sub           string   `json:"sub"`
	TenantID      string   `json:"tenant_id"`
	Roles         []string `json:"roles"`
	Scope         string   `json:"scope"`
	TokenUse      string   `json:"token_use"`
	Iss           string   `json:"iss"`
	Aud           []string `json:"aud"`
	JTI           string   `json:"jti"`
	EmailVerified bool     `json:"email_verified"`
	SID           string   `json:"sid"`
	Iat           int64    `json:"iat"`
	Nbf           int64    `json:"nbf"`
	Exp           int64    `json:"exp"`
}

type refreshClaims struct {
	Sub           string `json:"sub"`
	TenantID      string `json:"tenant_id"`
	Scope         string `json:"scope"`
	TokenUse      string `json:"token_use"`
	Iss           string `json:"iss"`
	EmailVerified bool   `json:"email_verified"`
	JTI           string `json:"jti"`
	Iat           int64  `json:"iat"`
	Nbf           int64  `json:"nbf"`
	Exp           int64  `json:"exp"`
	Account       string `json:"account"`
	SID           string `json:"sid"`
}

// serviceRefreshClaims is a service-account refresh token (§3.4); one fixed
// order at issuance and re-signing makes a rebuilt token byte-identical
// (§18.2 note 12).
type serviceRefreshClaims struct {
	Sub         string `json:"sub"`
	Account     string `json:"account"`
	TokenUse    string `json:"token_use"`
	JTI         string `json:"jti"`
	Scope       string `json:"scope"`
	Iat         int64  `json:"iat"`
	Nbf         int64  `json:"nbf"`
	Exp         int64  `json:"exp"`
	Iss         string `json:"iss"`
	TenantID    string `json:"tenant_id,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
}

// ServiceAccessClaims is the access token a service-account refresh token
// is exchanged for (§18.5 note 33).
type ServiceAccessClaims struct {
	Sub      string   `json:"sub"`
	TenantID string   `json:"tenant_id,omitempty"`
	Scope    string   `json:"scope"`
	TokenUse string   `json:"token_use"`
	Iss      string   `json:"iss"`
	Aud      []string `json:"aud"`
	JTI      string   `json:"jti"`
	Account  string   `json:"account"`
	Iat      int64    `json:"iat"`
	Nbf      int64    `json:"nbf"`
	Exp      int64    `json:"exp"`
}

// Role scopes, in the reference's order (spec: auth-and-keys.md §14.1).
var (
	adminScopes  = []string{"conversations:read", "conversations:write", "conversations:delete", "tools:read", "billing:read", "billing:manage", "support:read"}
	memberScopes = []string{"conversations:read", "conversations:write", "tools:read"}
	viewerScopes = []string{"conversations:read", "tools:read"}
)

// RoleScopes are the scopes a membership role grants.
func RoleScopes(role string) []string {
	switch strings.ToLower(role) {
	case "owner", "admin":
		return adminScopes
	case "member", "editor":
		return memberScopes
	}
	return viewerScopes
}

// SessionResponse is UserSessionResponse (spec: http-api.md §2.2).
type SessionResponse struct {
	AccessToken      string    `json:"access_token"`
	RefreshToken     string    `json:"refresh_token"`
	TokenType        string    `json:"token_type"`
	ExpiresAt        time.Time `json:"expires_at"`
	RefreshExpiresAt time.Time `json:"refresh_expires_at"`
	KID              string    `json:"kid"`
	RefreshKID       string    `json:"refresh_kid"`
	Scopes           []string  `json:"scopes"`
	TenantID         *string   `json:"tenant_id"`
	UserID           *string   `json:"user_id"`
	EmailVerified    bool      `json:"email_verified"`
	SessionID        *string   `json:"session_id"`
}

// hashRefresh is the stored hash of a refresh token: hex HMAC-SHA256 keyed
// by AUTH_REFRESH_TOKEN_PEPPER over the whole token (§18.2 note 10).
func hashRefresh(pepper []byte, token string) string {
	m := hmac.New(sha256.New, pepper)
	m.Write([]byte(token))
	return hex.EncodeToString(m.Sum(nil))
}

// newRefreshJTI is the jti of a new refresh token, which is also the id of
// its ledger row. It is a UUIDv7 where the reference uses a v4: still a
// unique UUID string that no client interprets (74 random bits; what makes
// a token unforgeable is its signature, not its jti), but time-ordered, so
// each new row lands at the right edge of the ledger's primary key, of
// uq_service_account_tokens_jti and of user_sessions' refresh_jti index
// instead of on a random page of each. On SQLite a random page is a read
// once the index outgrows the page cache and a page written to the WAL per
// refresh: refresh at 64 connections went 1.16x faster. (On Postgres, at
// the sizes benchmarked, no difference was measured.)
func newRefreshJTI() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("auth: new refresh jti: %w", err)
	}
	return id.String(), nil
}
