package auth

import (
	"context"
	"errors"
	"strings"
	"time"

	"agentplane/store"
)

// TokenItem is ServiceAccountTokenItem (spec: http-api.md §2.3.17).
type TokenItem struct {
	JTI           string     `json:"jti"`
	Account       string     `json:"account"`
	TenantID      *string    `json:"tenant_id"`
	Scopes        []string   `json:"scopes"`
	IssuedAt      time.Time  `json:"issued_at"`
	ExpiresAt     time.Time  `json:"expires_at"`
	RevokedAt     *time.Time `json:"revoked_at"`
	RevokedReason *string    `json:"revoked_reason"`
	Fingerprint   *string    `json:"fingerprint"`
	SigningKID    string     `json:"signing_kid"`
}

// TokenList is the listing's body.
type TokenList struct {
	Items  []TokenItem `json:"items"`
	Total  int         `json:"total"`
	Limit  int         `json:"limit"`
	Offset int         `json:"offset"`
}

// ListServiceTokens lists service-account tokens: a tenant admin sees their
// tenant's, an operator any; human refresh tokens are never listed (§13.7,
// §18.5 note 31).
func (s *Service) ListServiceTokens(ctx context.Context, p *Principal, f store.TokenFilter) (TokenList, error) {
	f.ServiceAccountsOnly = true
	if p.Actor.Kind == "tenant_admin" {
		if f.TenantID != "" && !strings.EqualFold(f.TenantID, p.Actor.TenantID) {
			return TokenList{}, fail(ErrForbidden, "Tenant administrators may only query their own tenant.")
		}
		f.TenantID, f.IncludeGlobal = p.Actor.TenantID, false
	} else if f.TenantID != "" {
		if _, err := s.d.Store.Tenants().ByID(ctx, f.TenantID); errors.Is(err, store.ErrNotFound) {
			return TokenList{}, fail(ErrInvalid, "Unknown tenant identifier.")
		} else if err != nil {
			return TokenList{}, err
		}
	}
	rows, total, err := s.d.Store.RefreshTokens().List(ctx, f, s.now())
	if err != nil {
		return TokenList{}, err
	}
	out := TokenList{Items: make([]TokenItem, 0, len(rows)), Total: total, Limit: f.Limit, Offset: f.Offset}
	for _, r := range rows {
		out.Items = append(out.Items, TokenItem{
			JTI: r.JTI, Account: r.Account, TenantID: opt(r.TenantID), Scopes: r.Scopes, IssuedAt: r.IssuedAt,
			ExpiresAt: r.ExpiresAt, RevokedAt: r.RevokedAt, RevokedReason: opt(r.RevokedReason),
			Fingerprint: opt(r.Fingerprint), SigningKID: r.SigningKID,
		})
	}
	return out, nil
}

type revokedJTI struct {
	JTI string `json:"jti"`
}

// RevokeServiceToken revokes one service-account token the actor may see
// (§13.7 with §18.5 note 31: a foreign, human or unknown jti is a 404).
func (s *Service) RevokeServiceToken(ctx context.Context, p *Principal, jti, reason string) (Result, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		if p.Actor.Kind == "platform_operator" {
			reason = p.Actor.Reason
		} else {
			reason = "tenant_admin_manual_revoke"
		}
	}
	notFound := fail(ErrNotFound, "Service account token not found.")
	row, err := s.d.Store.RefreshTokens().ByJTI(ctx, jti)
	if errors.Is(err, store.ErrNotFound) {
		return Result{}, notFound
	}
	if err != nil {
		return Result{}, err
	}
	if strings.HasPrefix(row.Account, "user:") ||
		p.Actor.Kind == "tenant_admin" && !strings.EqualFold(row.TenantID, p.Actor.TenantID) {
		return Result{}, notFound
	}
	if _, err := s.d.Store.RefreshTokens().Revoke(ctx, row.JTI, reason, s.now()); err != nil {
		return Result{}, err
	}
	if err := s.d.State.ForgetServiceToken(ctx, row.Account, row.TenantID, row.ScopeKey); err != nil {
		s.log.WarnContext(ctx, "service-account cache entry not dropped", "error", err.Error())
	}
	return ok("Service account token revoked.", revokedJTI{row.JTI}), nil
}
