package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/google/uuid"

	"agentplane/keys"
)

// Authorizer enforces Policy on every operation: it is installed once as
// huma middleware, so no handler can forget it.
type Authorizer struct {
	keys                *keys.Manager
	verify              keys.VerifyOptions
	requireVerification bool
	policy              map[string]Access
}

// AuthorizerDeps configures an Authorizer.
type AuthorizerDeps struct {
	Keys                *keys.Manager
	Issuer              string   // APP_NAME
	Audience            []string // AUTH_AUDIENCE
	RequireVerification bool     // REQUIRE_EMAIL_VERIFICATION
	Policy              map[string]Access
}

// NewAuthorizer checks deps.
func NewAuthorizer(d AuthorizerDeps) (*Authorizer, error) {
	if d.Keys == nil || d.Issuer == "" || len(d.Audience) == 0 {
		return nil, errors.New("auth: Keys, Issuer and Audience are required")
	}
	if d.Policy == nil {
		d.Policy = Policy
	}
	return &Authorizer{
		keys: d.Keys, verify: keys.VerifyOptions{Issuer: d.Issuer, Audience: d.Audience, Seen: keys.NewSeen(0)},
		requireVerification: d.RequireVerification, policy: d.Policy,
	}, nil
}

// Middleware returns the huma middleware for api.
func (a *Authorizer) Middleware(api huma.API) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		acc, ok := a.policy[ctx.Operation().OperationID]
		if !ok {
			_ = huma.WriteErr(api, ctx, 500, "", errors.New("auth: "+msgUnknownOperation+" "+ctx.Operation().OperationID))
			return
		}
		if acc.Public || malformedJSON(ctx) {
			next(ctx) // a JSON syntax error is answered (422) before authentication, as the reference
			return
		}
		p, err := a.Authorize(ctx.Context(), acc, header(ctx))
		if err != nil {
			_ = huma.WriteErr(api, ctx, 500, "", err)
			return
		}
		next(huma.WithContext(ctx, withPrincipal(ctx.Context(), p)))
	}
}

// maxPeek bounds the body read to check its JSON syntax before auth.
const maxPeek = 1 << 20

// malformedJSON reports whether the operation takes a JSON body and the
// request carries one that is not valid JSON (http-api.md §1.2 step 1). The
// body is read and put back for huma.
func malformedJSON(ctx huma.Context) bool {
	op := ctx.Operation()
	if op.RequestBody == nil {
		return false
	}
	if ct := ctx.Header("Content-Type"); ct != "" && !strings.Contains(ct, "json") {
		return false
	}
	r, _ := humago.Unwrap(ctx)
	if r == nil || r.Body == nil || r.Body == http.NoBody {
		return false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPeek+1))
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), r.Body))
	if err != nil || len(body) == 0 || len(body) > maxPeek {
		return false
	}
	return !json.Valid(body)
}

// Headers are the request headers authorization reads.
type Headers struct {
	Authorization    string
	TenantID         string // X-Tenant-Id
	TenantRole       string // X-Tenant-Role
	OperatorOverride string // X-Operator-Override
	OperatorReason   string // X-Operator-Reason
}

func header(ctx huma.Context) Headers {
	return Headers{
		Authorization: ctx.Header("Authorization"), TenantID: ctx.Header("X-Tenant-Id"),
		TenantRole: ctx.Header("X-Tenant-Role"), OperatorOverride: ctx.Header("X-Operator-Override"),
		OperatorReason: ctx.Header("X-Operator-Reason"),
	}
}

// Authorize resolves the caller and checks acc, in the reference's order:
// bearer, scopes, verification gate, tenant context, actor (http-api.md §1.2).
func (a *Authorizer) Authorize(ctx context.Context, acc Access, h Headers) (*Principal, error) {
	p, err := a.authenticate(ctx, h.Authorization)
	if err != nil {
		return nil, err
	}
	if p.ServiceAccount != "" && acc.PersonOnly {
		return nil, fail(ErrUnauthenticated, msgUserSubject)
	}
	for _, s := range acc.Scopes {
		if !HasScope(p.Scopes, s) {
			return nil, fail(ErrForbidden, msgInsufficientScopes)
		}
	}
	if (acc.Verified || acc.TenantRoles != nil || acc.Actor) && a.requireVerification &&
		p.EmailVerified != nil && !*p.EmailVerified {
		return nil, fail(ErrForbidden, msgVerificationNeeded)
	}
	if acc.TenantRoles != nil {
		if err := tenantContext(p, h); err != nil {
			return nil, err
		}
		if len(acc.TenantRoles) > 0 && !slices.Contains(acc.TenantRoles, p.Role) {
			return nil, fail(ErrForbidden, msgInsufficientTenant)
		}
	}
	if acc.Actor {
		if err := resolveActor(p, h); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// authenticate verifies the bearer access token (http-api.md §1.5.1 with
// auth-and-keys.md §18.1 note 9 and §18.5 note 33).
func (a *Authorizer) authenticate(ctx context.Context, authorization string) (*Principal, error) {
	scheme, token, _ := strings.Cut(strings.TrimSpace(authorization), " ")
	token = strings.TrimSpace(token)
	if scheme == "" || token == "" {
		return nil, fail(ErrUnauthenticated, msgNotAuthenticated)
	}
	if !strings.EqualFold(scheme, "bearer") {
		return nil, fail(ErrUnauthenticated, msgInvalidCredentials)
	}
	c, err := a.keys.Verify(ctx, token, a.verify)
	if err != nil {
		if errors.Is(err, keys.ErrInvalidToken) {
			return nil, fail(ErrUnauthenticated, msgCouldNotValidate)
		}
		return nil, err // the keyset could not be read: a 500, not the caller's fault
	}
	if c.TokenUse != "access" {
		return nil, fail(ErrUnauthenticated, msgAccessRequired)
	}
	p := &Principal{Subject: c.Subject, TenantID: c.TenantID, SessionID: c.SessionID,
		Scopes: scopesOf(c), EmailVerified: c.EmailVerified, Claims: c}
	switch {
	case strings.HasPrefix(c.Subject, "user:"):
		id := strings.TrimSpace(strings.TrimPrefix(c.Subject, "user:"))
		if _, err := uuid.Parse(id); err != nil {
			return nil, fail(ErrUnauthenticated, msgUserSubject)
		}
		p.UserID = id
	case strings.HasPrefix(c.Subject, "service-account:") && len(c.Subject) > len("service-account:"):
		p.ServiceAccount = strings.TrimPrefix(c.Subject, "service-account:")
		p.EmailVerified = nil // the gate does not apply to service accounts (§18.5 note 33)
	default:
		return nil, fail(ErrUnauthenticated, msgUserSubject)
	}
	return p, nil
}

// tenantContext resolves the effective tenant and role (http-api.md §1.6.3,
// DESIGN decision 8).
func tenantContext(p *Principal, h Headers) error {
	header := strings.TrimSpace(h.TenantID)
	switch {
	case p.TenantID != "":
		if header != "" && header != p.TenantID {
			return fail(ErrForbidden, msgTenantMismatch)
		}
	case header != "" && isOperator(p.Scopes):
		if _, err := uuid.Parse(header); err != nil {
			return fail(ErrUnauthenticated, msgMissingTenant)
		}
		p.TenantID = header
	default:
		return fail(ErrUnauthenticated, msgMissingTenant)
	}
	granted := grantedRole(p.Claims, p.Scopes)
	p.Role = granted
	if req := strings.ToLower(strings.TrimSpace(h.TenantRole)); roleRank[req] > 0 {
		if roleRank[req] > roleRank[granted] {
			return fail(ErrForbidden, msgRoleExceeds)
		}
		p.Role = req
	}
	return nil
}

// resolveActor decides between platform operator and tenant admin
// (http-api.md §1.6.4).
func resolveActor(p *Principal, h Headers) error {
	switch strings.ToLower(strings.TrimSpace(h.OperatorOverride)) {
	case "1", "true", "yes", "on":
		if !isOperator(p.Scopes) {
			return fail(ErrForbidden, msgOperatorScope)
		}
		reason := strings.TrimSpace(h.OperatorReason)
		if reason == "" {
			return fail(ErrInvalid, msgOperatorReason)
		}
		p.Actor = &Actor{Kind: "platform_operator", Reason: reason}
		return nil
	}
	probe := *p
	if tenantContext(&probe, h) == nil && (probe.Role == "admin" || probe.Role == "owner") {
		p.TenantID, p.Role = probe.TenantID, probe.Role
		p.Actor = &Actor{Kind: "tenant_admin", TenantID: probe.TenantID}
		return nil
	}
	return fail(ErrForbidden, msgActorRequired)
}
