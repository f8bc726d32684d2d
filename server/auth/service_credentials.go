package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"agentplane/vault"
)

// IssueHeadless is POST /auth/service-accounts/issue: the credential is a
// Vault-signed envelope, or dev-local in development (spec: auth-and-keys.md
// §13.3 with §18.5 notes 27-29).
func (s *Service) IssueHeadless(ctx context.Context, authorization, payload string, req IssueRequest) (ServiceToken, error) {
	if strings.TrimSpace(authorization) == "" {
		return ServiceToken{}, fail(ErrUnauthorized, "Missing Authorization header.")
	}
	scheme, cred, _ := strings.Cut(strings.TrimSpace(authorization), " ")
	if !strings.EqualFold(scheme, "bearer") {
		return ServiceToken{}, fail(ErrUnauthorized, "Authorization header must use Bearer scheme.")
	}
	cred = strings.TrimSpace(cred)
	switch {
	case strings.HasPrefix(cred, "vault:"):
		if !s.cfg.VaultVerifyEnabled {
			return ServiceToken{}, fail(ErrUnavailable, "Vault verification disabled; cannot accept vault credentials.")
		}
		if strings.TrimSpace(payload) == "" {
			return ServiceToken{}, fail(ErrUnauthorized, "Missing X-Vault-Payload header.")
		}
		if err := s.checkVaultEnvelope(ctx, strings.TrimPrefix(cred, "vault:"), payload, &req); err != nil {
			return ServiceToken{}, err
		}
	case cred == "dev-local" && !s.cfg.VaultVerifyEnabled && !s.cfg.Enforced():
	default:
		return ServiceToken{}, fail(ErrUnauthorized, "Vault-signed credential required for service-account issuance.")
	}
	return s.issue(ctx, req)
}

// checkVaultEnvelope decodes and checks the signed envelope, in the port's
// order: shape, issuer and signature first, then the claims against the
// body, the nonce and the timestamps (§13.3, §18.5 note 28).
func (s *Service) checkVaultEnvelope(ctx context.Context, sig, payload string, req *IssueRequest) error {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(strings.TrimSpace(payload), "="))
	if err != nil {
		return fail(ErrInvalid, "Invalid Vault payload encoding: "+err.Error())
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		var v any
		if json.Unmarshal(raw, &v) == nil {
			return fail(ErrInvalid, "Unexpected Vault payload shape.")
		}
		return fail(ErrInvalid, "Invalid Vault payload JSON: "+err.Error())
	}
	var missing []string
	for _, f := range []string{"iss", "aud", "sub", "nonce", "iat", "exp", "account", "scopes"} {
		if _, ok := claims[f]; !ok {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fail(ErrUnauthorized, "Vault payload missing fields: "+strings.Join(missing, ", "))
	}
	if aud, ok := claims["aud"].([]any); !ok || !slices.Contains(aud, any("auth-service")) {
		return fail(ErrUnauthorized, "Vault payload audience invalid.")
	}
	if _, ok := claims["scopes"].([]any); !ok {
		return fail(ErrUnauthorized, "Vault payload scopes must be a list.")
	}
	if iss, _ := claims["iss"].(string); iss != "vault-transit" {
		return fail(ErrUnauthorized, "Vault payload issuer invalid.")
	}
	if err := s.verifyVault(ctx, raw, sig); err != nil {
		return err
	}
	if err := matchClaims(claims, req); err != nil {
		return err
	}
	return s.checkFreshness(ctx, claims)
}

func (s *Service) verifyVault(ctx context.Context, payload []byte, sig string) error {
	if s.d.Vault == nil {
		return fail(ErrUnavailable, "Vault client not configured.")
	}
	valid, err := s.d.Vault.Verify(ctx, payload, sig)
	var ve *vault.VerifyError
	switch {
	case errors.As(err, &ve):
		return fail(ErrUnauthorized, ve.PublicDetail())
	case err != nil:
		return fail(ErrUnauthorized, "Vault verification failed: "+err.Error())
	case !valid:
		return fail(ErrUnauthorized, "Invalid Vault signature.")
	}
	return nil
}

// matchClaims compares the signed claims with the body and back-fills the
// body from them (§13.3 step 3).
func matchClaims(claims map[string]any, req *IssueRequest) error {
	if acct, _ := claims["account"].(string); acct != req.Account {
		return fail(ErrInvalid, "Vault payload account mismatch.")
	}
	if req.TenantID != "" {
		if t, _ := claims["tenant_id"].(string); t != req.TenantID {
			return fail(ErrInvalid, "Vault payload tenant mismatch.")
		}
	} else if t, _ := claims["tenant_id"].(string); t != "" {
		req.TenantID = t
	}
	signed, err := scopeList(claims["scopes"], "Vault payload scopes", ErrUnauthorized)
	if err != nil {
		return err
	}
	asked, err := scopeList(toAny(req.Scopes), "Request scopes", ErrInvalid)
	if err != nil {
		return err
	}
	if !sameSet(signed, asked) {
		return fail(ErrInvalid, "Vault payload scopes mismatch.")
	}
	req.Scopes = signed
	if err := matchLifetime(claims, req); err != nil {
		return err
	}
	return matchFingerprint(claims, req)
}

func matchLifetime(claims map[string]any, req *IssueRequest) error {
	v, present := claims["lifetime_minutes"]
	if !present || v == nil {
		if req.LifetimeMinutes != nil {
			return fail(ErrInvalid, "Vault payload missing lifetime_minutes.")
		}
		return nil
	}
	f, ok := v.(float64)
	if !ok || f <= 0 || f != float64(int(f)) {
		return fail(ErrUnauthorized, "Vault payload lifetime_minutes must be a positive integer.")
	}
	n := int(f)
	if req.LifetimeMinutes != nil && *req.LifetimeMinutes != n {
		return fail(ErrInvalid, "Vault payload lifetime_minutes mismatch.")
	}
	req.LifetimeMinutes = &n
	return nil
}

func matchFingerprint(claims map[string]any, req *IssueRequest) error {
	v, present := claims["fingerprint"]
	if !present || v == nil || v == "" {
		if req.Fingerprint != "" {
			return fail(ErrInvalid, "Vault payload missing fingerprint.")
		}
		return nil
	}
	fp, ok := v.(string)
	if !ok || strings.TrimSpace(fp) == "" {
		return fail(ErrUnauthorized, "Vault payload fingerprint invalid.")
	}
	if req.Fingerprint != "" && req.Fingerprint != fp {
		return fail(ErrInvalid, "Vault payload fingerprint mismatch.")
	}
	req.Fingerprint = fp
	return nil
}

// checkFreshness consumes the nonce and checks exp and iat (§13.3 steps 5-6).
func (s *Service) checkFreshness(ctx context.Context, claims map[string]any) error {
	nonce, _ := claims["nonce"].(string)
	if strings.TrimSpace(nonce) == "" {
		return fail(ErrUnauthorized, "Vault payload missing nonce.")
	}
	exp, ok := claims["exp"].(float64)
	if !ok {
		return fail(ErrUnauthorized, "Vault payload missing exp.")
	}
	now := s.now()
	left := time.Unix(int64(exp), 0).Sub(now)
	if left <= 0 {
		return fail(ErrUnauthorized, "Vault payload expired.")
	}
	fresh, err := s.d.State.UseNonce(ctx, nonce, min(left, 300*time.Second))
	if err != nil {
		return err
	}
	if !fresh {
		s.d.Metrics.NonceCacheHits.Inc()
		return fail(ErrUnauthorized, "Vault payload nonce already used.")
	}
	s.d.Metrics.NonceCacheMisses.Inc()
	iat, ok := claims["iat"].(float64)
	if !ok {
		return fail(ErrUnauthorized, "Vault payload missing iat.")
	}
	age := now.Sub(time.Unix(int64(iat), 0))
	if age < -30*time.Second {
		return fail(ErrUnauthorized, "Vault payload iat is in the future.")
	}
	if age > 600*time.Second {
		return fail(ErrUnauthorized, "Vault payload iat outside acceptable window.")
	}
	return nil
}

// scopeList normalises a scope list (trim, dedupe keeping order).
func scopeList(v any, field string, kind error) ([]string, error) {
	items, ok := v.([]any)
	if !ok {
		return nil, fail(kind, field+" must be an array of strings.")
	}
	var out []string
	for _, it := range items {
		str, ok := it.(string)
		if !ok {
			return nil, fail(kind, field+" must contain strings only.")
		}
		if str = strings.TrimSpace(str); str == "" {
			return nil, fail(kind, field+" cannot contain empty scopes.")
		}
		if !slices.Contains(out, str) {
			out = append(out, str)
		}
	}
	if len(out) == 0 {
		return nil, fail(kind, field+" must include at least one scope.")
	}
	return out, nil
}

func toAny(ss []string) any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// BrowserIssueRequest adds the audit reason to an issuance.
type BrowserIssueRequest struct {
	IssueRequest
	Reason string
}

// IssueFromBrowser is POST /auth/service-accounts/browser-issue: a tenant
// admin or operator issues a token; the request is signed by Vault Transit
// as an audit artefact (spec: §13.4).
func (s *Service) IssueFromBrowser(ctx context.Context, p *Principal, req BrowserIssueRequest) (ServiceToken, error) {
	reason := strings.TrimSpace(req.Reason)
	if reason == "" {
		return ServiceToken{}, fail(ErrInvalid, "Reason is required for auditing.")
	}
	actorTenant, role := "", "platform_operator"
	if p.Actor.Kind == "tenant_admin" {
		role, actorTenant = "tenant_admin", p.Actor.TenantID
		switch {
		case actorTenant == "":
			return ServiceToken{}, fail(ErrForbidden, "Tenant context is required for admin-issued service-account tokens.")
		case req.TenantID == "":
			req.TenantID = actorTenant
		case req.TenantID != actorTenant:
			return ServiceToken{}, fail(ErrForbidden, "Tenant mismatch for service-account issuance.")
		}
	}
	if s.d.Vault == nil {
		return ServiceToken{}, fail(ErrUnavailable, "Vault Transit client is not configured.")
	}
	iat := s.now().Unix()
	envelope, _ := json.Marshal(map[string]any{ // map keys marshal sorted, as the reference's sort_keys
		"iss": "vault-transit", "aud": []string{"auth-service"}, "sub": "service-account-browser",
		"nonce": uuid.NewString(), "iat": iat, "exp": iat + 300, "account": req.Account, "tenant_id": nullable(req.TenantID),
		"scopes": req.Scopes, "lifetime_minutes": req.LifetimeMinutes, "fingerprint": nullable(req.Fingerprint),
		"reason": reason, "actor": map[string]any{"user_id": p.Subject, "tenant_id": nullable(actorTenant), "role": role},
	})
	if _, err := s.d.Vault.Sign(ctx, envelope); err != nil {
		s.log.WarnContext(ctx, "service_account_browser_issue", "stage", "sign", "error", err.Error())
		return ServiceToken{}, fail(ErrUnavailable, "Vault Transit signing failed.")
	}
	tok, err := s.issue(ctx, req.IssueRequest)
	var ae *Error
	if err != nil && !errors.As(err, &ae) {
		s.log.ErrorContext(ctx, "service_account_browser_issue", "stage", "issue", "error", err.Error())
		return ServiceToken{}, fail(ErrUnavailable, "Failed to issue service-account token.")
	}
	return tok, err
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
