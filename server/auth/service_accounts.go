package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"agentplane/store"
)

// IssueRequest is ServiceAccountIssueRequest (spec: http-api.md §2.3.15).
type IssueRequest struct {
	Account         string
	Scopes          []string
	TenantID        string
	LifetimeMinutes *int
	Fingerprint     string
	Force           bool
}

// ServiceToken is ServiceAccountTokenResponse.
type ServiceToken struct {
	RefreshToken string   `json:"refresh_token"`
	ExpiresAt    string   `json:"expires_at"`
	IssuedAt     string   `json:"issued_at"`
	Scopes       []string `json:"scopes"`
	TenantID     *string  `json:"tenant_id"`
	KID          string   `json:"kid"`
	Account      string   `json:"account"`
	TokenUse     string   `json:"token_use"`
	SessionID    *string  `json:"session_id"`
}

// pyISO formats like Python's datetime.isoformat() on an aware UTC value.
func pyISO(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04:05+00:00")
	}
	return t.Format("2006-01-02T15:04:05.000000+00:00")
}

// Issuance limits, shared by replicas through Redis (§18.5 note 30).
var (
	quotaIssueAccount = store.Quota{Name: "service_account_issue_account", Limit: 5, Window: time.Minute, Scope: "account"}
	quotaIssueGlobal  = store.Quota{Name: "service_account_issue_global", Limit: 30, Window: time.Minute, Scope: "global"}
)

// issue applies the issuance rules of §13.2 with the port's fixes.
func (s *Service) issue(ctx context.Context, req IssueRequest) (tok ServiceToken, err error) {
	start, reason, reused := s.now(), "issued", false
	defer func() { s.recordIssuance(ctx, req.Account, start, err, reason, reused) }()

	acct, found := s.catalog.Account(req.Account)
	if !found {
		reason = "unknown_account"
		return tok, fail(ErrInvalid, fmt.Sprintf("Service account '%s' is not defined.", req.Account))
	}
	if err := s.issueQuota(ctx, req.Account); err != nil {
		reason = "rate_limited"
		return tok, err
	}
	tenant, err := s.issueTenant(ctx, acct, req.TenantID)
	if err != nil {
		reason = "invalid_tenant"
		return tok, err
	}
	scopes, err := grantedScopes(acct, req.Scopes)
	if err != nil {
		reason = "invalid_scopes"
		return tok, err
	}
	ttl, err := lifetime(acct, req.LifetimeMinutes)
	if err != nil {
		reason = "invalid_lifetime"
		return tok, err
	}
	scopeKey := strings.Join(scopes, " ")
	if !req.Force {
		if t, ok, err := s.reusable(ctx, req.Account, tenant, scopeKey); err != nil {
			return tok, err
		} else if ok {
			reason, reused = "success_reused", true
			return t, nil
		}
	}
	return s.mint(ctx, req.Account, tenant, scopes, ttl, req.Fingerprint)
}

func (s *Service) issueQuota(ctx context.Context, account string) error {
	d, err := s.d.Limiter.Hit(ctx, quotaIssueAccount, account)
	if err != nil {
		return err
	}
	if !d.Allowed {
		return fail(ErrThrottled, fmt.Sprintf("Issuance rate limit exceeded for account '%s'. Retry later.", account))
	}
	if d, err = s.d.Limiter.Hit(ctx, quotaIssueGlobal, "all"); err != nil {
		return err
	}
	if !d.Allowed {
		return fail(ErrThrottled, "Global service-account issuance rate limit exceeded. Retry later.")
	}
	return nil
}

// issueTenant checks the tenant rule and that a given tenant exists (§18.5 note 29).
func (s *Service) issueTenant(ctx context.Context, acct ServiceAccount, tenantID string) (string, error) {
	tenantID = strings.TrimSpace(tenantID)
	switch {
	case acct.TenantRequired() && tenantID == "":
		return "", fail(ErrInvalid, fmt.Sprintf("Service account '%s' requires a tenant identifier.", acct.Account))
	case !acct.TenantRequired() && tenantID != "":
		return "", fail(ErrInvalid, fmt.Sprintf("Service account '%s' does not accept tenant identifiers.", acct.Account))
	case tenantID == "":
		return "", nil
	}
	t, err := s.d.Store.Tenants().ByID(ctx, tenantID)
	if errors.Is(err, store.ErrNotFound) {
		return "", fail(ErrInvalid, "Unknown tenant identifier.")
	}
	return t.ID, err
}

// grantedScopes trims, de-duplicates and checks the requested scopes; the
// result is sorted (§13.2 step 4).
func grantedScopes(acct ServiceAccount, requested []string) ([]string, error) {
	var scopes, bad []string
	for _, sc := range requested {
		if sc = strings.TrimSpace(sc); sc != "" && !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	if len(scopes) == 0 {
		return nil, fail(ErrInvalid, "At least one scope must be requested.")
	}
	for _, sc := range scopes {
		if !slices.Contains(acct.AllowedScopes, sc) {
			bad = append(bad, sc)
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return nil, fail(ErrInvalid, "Unsupported scopes requested: "+strings.Join(bad, ", "))
	}
	slices.Sort(scopes)
	return scopes, nil
}

func lifetime(acct ServiceAccount, minutes *int) (time.Duration, error) {
	m := acct.DefaultTTL
	if m == 0 {
		m = acct.MaxTTL
	}
	if minutes != nil {
		m = *minutes
	}
	switch {
	case m <= 0:
		return 0, fail(ErrInvalid, "Requested lifetime must be positive.")
	case m > acct.MaxTTL:
		return 0, fail(ErrInvalid, fmt.Sprintf("Requested lifetime %d exceeds max %d for account '%s'.", m, acct.MaxTTL, acct.Account))
	}
	return time.Duration(m) * time.Minute, nil
}

// reusable finds the active token of (account, tenant, scopes) — cache, then
// database — and rebuilds it by re-signing the same claims with the same
// key, which gives the same bytes (§18.2 note 12).
func (s *Service) reusable(ctx context.Context, account, tenant, scopeKey string) (ServiceToken, bool, error) {
	now := s.now()
	var row store.RefreshToken
	cached, err := s.d.State.CachedServiceToken(ctx, account, tenant, scopeKey, now)
	switch {
	case err == nil:
		row = store.RefreshToken{JTI: cached.JTI, Account: account, TenantID: tenant, ScopeKey: scopeKey,
			Scopes: cached.Scopes, SigningKID: cached.SigningKID, Fingerprint: cached.Fingerprint,
			IssuedAt: cached.IssuedAt, ExpiresAt: cached.ExpiresAt}
		if db, err := s.d.Store.RefreshTokens().ByJTI(ctx, cached.JTI); err != nil || db.RevokedAt != nil {
			_ = s.d.State.ForgetServiceToken(ctx, account, tenant, scopeKey)
			return ServiceToken{}, false, nil
		} else {
			row.Hash = db.Hash
		}
	case errors.Is(err, store.ErrNotFound):
		if row, err = s.d.Store.RefreshTokens().ActiveServiceAccount(ctx, account, tenant, scopeKey, now); errors.Is(err, store.ErrNotFound) {
			return ServiceToken{}, false, nil
		} else if err != nil {
			return ServiceToken{}, false, err
		}
	default:
		return ServiceToken{}, false, err
	}
	token, err := s.d.Keys.SignWith(ctx, row.SigningKID, s.serviceClaims(row))
	if err != nil || hashRefresh(s.refreshPepper, token) != row.Hash {
		return ServiceToken{}, false, nil // the key is gone or the row is foreign: issue a new one
	}
	return serviceToken(row, token), true, nil
}

func (s *Service) serviceClaims(r store.RefreshToken) serviceRefreshClaims {
	iat := r.IssuedAt.Unix()
	return serviceRefreshClaims{
		Sub: "service-account:" + r.Account, Account: r.Account, TokenUse: "refresh", JTI: r.JTI, Scope: r.ScopeKey,
		Iat: iat, Nbf: iat, Exp: r.ExpiresAt.Unix(), Iss: s.cfg.AppName, TenantID: r.TenantID, Fingerprint: r.Fingerprint,
	}
}

func serviceToken(r store.RefreshToken, token string) ServiceToken {
	return ServiceToken{
		RefreshToken: token, ExpiresAt: pyISO(r.ExpiresAt), IssuedAt: pyISO(r.IssuedAt), Scopes: r.Scopes,
		TenantID: opt(r.TenantID), KID: r.SigningKID, Account: r.Account, TokenUse: "refresh",
	}
}

// mint signs and stores a new token, replacing the previous active one.
func (s *Service) mint(ctx context.Context, account, tenant string, scopes []string, ttl time.Duration, fingerprint string) (ServiceToken, error) {
	jti, err := newRefreshJTI()
	if err != nil {
		return ServiceToken{}, err
	}
	now := s.now()
	issued := time.Unix(now.Unix(), 0).UTC()
	row := store.RefreshToken{
		JTI: jti, Account: account, TenantID: tenant, ScopeKey: strings.Join(scopes, " "), Scopes: scopes,
		Fingerprint: fingerprint, IssuedAt: issued, ExpiresAt: issued.Add(ttl),
	}
	token, kid, err := s.d.Keys.Sign(ctx, s.serviceClaims(row))
	if err != nil {
		return ServiceToken{}, err
	}
	row.SigningKID, row.Hash = kid, hashRefresh(s.refreshPepper, token)
	if err := s.d.Store.InTx(ctx, func(tx *store.Store) error { return tx.RefreshTokens().Insert(ctx, row, now) }); err != nil {
		return ServiceToken{}, err
	}
	if err := s.d.State.CacheServiceToken(ctx, row.ScopeKey, store.CachedServiceToken{
		JTI: row.JTI, Account: account, TenantID: tenant, Scopes: scopes, ExpiresAt: row.ExpiresAt,
		IssuedAt: row.IssuedAt, Fingerprint: fingerprint, SigningKID: kid,
	}, now); err != nil {
		s.log.WarnContext(ctx, "service-account token not cached", "error", err.Error())
	}
	return serviceToken(row, token), nil
}

func (s *Service) recordIssuance(ctx context.Context, account string, start time.Time, err error, reason string, reused bool) {
	result := "success"
	if err != nil {
		result = "failure"
		if reason == "issued" {
			reason = "error"
		}
	}
	label := strings.ToLower(account)
	if _, known := s.catalog.Account(account); !known {
		label = "unknown" // unknown names never become label values
	}
	r := fmt.Sprint(reused)
	s.d.Metrics.ServiceAccountIssuance.WithLabelValues(label, result, reason, r).Inc()
	s.d.Metrics.ServiceAccountIssuanceLatency.WithLabelValues(label, result, reason, r).Observe(s.now().Sub(start).Seconds())
	s.event(ctx, slog.LevelInfo, "service_account_issuance", slog.String("account", label),
		slog.String("result", result), slog.String("reason", reason), slog.Bool("reused", reused))
}
