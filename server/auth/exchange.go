package auth

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"agentplane/keys"
	"agentplane/store"
)

// exchangeServiceToken answers /auth/refresh for a service-account refresh
// token: a short-lived access token whose subject is the service account;
// the refresh token itself is not rotated (auth-and-keys.md §18.5 note 33,
// DESIGN decision 13).
func (s *Service) exchangeServiceToken(ctx context.Context, token string, claims keys.Claims) (SessionResponse, error) {
	account := strings.TrimPrefix(claims.Subject, "service-account:")
	if account == "" || claims.Account != account || claims.JTI == "" {
		return SessionResponse{}, fail(ErrUnauthorized, "Refresh token subject is malformed.")
	}
	now := s.now()
	row, err := s.d.Store.RefreshTokens().ByJTI(ctx, claims.JTI)
	if errors.Is(err, store.ErrNotFound) || err == nil && (row.RevokedAt != nil || !row.ExpiresAt.After(now) || row.Account != account) {
		return SessionResponse{}, fail(ErrUnauthorized, msgRevoked)
	}
	if err != nil {
		return SessionResponse{}, err
	}
	iat := now.Unix()
	access := ServiceAccessClaims{
		Sub: claims.Subject, TenantID: row.TenantID, Scope: strings.Join(row.Scopes, " "), TokenUse: "access",
		Iss: s.cfg.AppName, Aud: s.cfg.AuthAudience, JTI: uuid.NewString(), Account: account,
		Iat: iat, Nbf: iat, Exp: iat + int64(s.cfg.AccessTokenTTL/time.Second),
	}
	signed, kid, err := s.d.Keys.Sign(ctx, access)
	if err != nil {
		return SessionResponse{}, err
	}
	return SessionResponse{
		AccessToken: signed, RefreshToken: token, TokenType: "bearer",
		ExpiresAt: time.Unix(access.Exp, 0).UTC(), RefreshExpiresAt: row.ExpiresAt, KID: kid, RefreshKID: claims.KID,
		Scopes: row.Scopes, TenantID: opt(row.TenantID), EmailVerified: true,
	}, nil
}
