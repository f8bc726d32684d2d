package auth

import (
	"context"
	"strings"

	"agentplane/keys"
)

// Principal is who is calling, resolved from a verified access token.
type Principal struct {
	Subject        string // raw sub
	UserID         string // set for people ("user:<id>")
	ServiceAccount string // set for service accounts ("service-account:<slug>")
	TenantID       string // from the token, or X-Tenant-Id for operator tokens
	Role           string // effective tenant role when the operation needs one
	SessionID      string
	Scopes         []string
	EmailVerified  *bool // nil: claim absent (legacy tokens pass the gate)
	Claims         keys.Claims
	Actor          *Actor // set on service-account actor operations
}

// Actor is the caller of the service-account admin operations (spec:
// http-api.md §1.6.4).
type Actor struct {
	Kind     string // "tenant_admin" or "platform_operator"
	TenantID string // tenant admins only
	Reason   string // operators only
}

type principalKey struct{}

func withPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller of an authenticated operation.
func PrincipalFrom(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok
}

// scopesOf unions the scope and scopes claims, trimmed, blanks dropped.
func scopesOf(c keys.Claims) []string {
	var out []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	for _, s := range strings.Fields(string(c.Scope)) {
		add(s)
	}
	for _, s := range c.Scopes {
		for _, f := range strings.Fields(s) {
			add(f)
		}
	}
	return out
}

// HasScope reports whether held satisfies required: exactly, through
// support:* (every scope), or through <namespace>:* (spec: http-api.md §1.6.1).
func HasScope(held []string, required string) bool {
	if required == "" {
		return true
	}
	ns, _, _ := strings.Cut(required, ":")
	for _, h := range held {
		if h == required || h == "support:*" || h == ns+":*" {
			return true
		}
	}
	return false
}

// isOperator reports whether the token holds support:* or platform:operator
// exactly (DESIGN decision 8).
func isOperator(scopes []string) bool {
	for _, s := range scopes {
		if s == "support:*" || s == "platform:operator" {
			return true
		}
	}
	return false
}

// Tenant roles rank viewer < admin < owner (spec: http-api.md §1.6.3).
var roleRank = map[string]int{"viewer": 1, "admin": 2, "owner": 3}

// grantedRole is the token's tenant role: the roles claim when present
// (owner → owner, admin → admin, anything else → viewer), else the scope
// mapping (billing:manage → owner, billing:read → viewer), default viewer
// (auth-and-keys.md §18.5 note 32: no admin → owner escalation).
func grantedRole(c keys.Claims, scopes []string) string {
	if len(c.Roles) > 0 {
		best := "viewer"
		for _, r := range c.Roles {
			r = strings.ToLower(strings.TrimSpace(r))
			if r != "owner" && r != "admin" {
				r = "viewer"
			}
			if roleRank[r] > roleRank[best] {
				best = r
			}
		}
		return best
	}
	for _, s := range scopes {
		if s == "billing:manage" {
			return "owner"
		}
	}
	return "viewer"
}
