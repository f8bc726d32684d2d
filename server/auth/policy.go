package auth

// Access is what one operation requires of its caller. The server's
// declared OpenAPI security is documentation; this table is what is
// enforced, by Authorizer, for every operation (spec: auth-and-keys.md
// §14.5 with §18.5; DESIGN decision 13).
type Access struct {
	Public bool // no credential (or, for issuance, one the handler checks)
	// Scopes must all be held (http-api.md §1.6.1).
	Scopes []string
	// Verified applies the email-verification gate (§1.6.2).
	Verified bool
	// TenantRoles, when non-nil, requires a tenant context whose effective
	// role is one of these (§1.6.3); an empty non-nil slice accepts any role.
	TenantRoles []string
	// Actor requires the service-account actor of §1.6.4.
	Actor bool
	// PersonOnly refuses service-account access tokens: the operation needs
	// a person (DESIGN decision 13).
	PersonOnly bool
}

// tenantData is the rule of operations on the caller's tenant's data: scope,
// the verification gate and a tenant context (any role; http-api.md §1.6.3,
// DESIGN decision 8); service accounts may call them (DESIGN decision 13).
func tenantData(scope string) Access {
	return Access{Scopes: []string{scope}, Verified: true, TenantRoles: []string{}}
}

var (
	public = Access{Public: true}
	person = Access{PersonOnly: true}
	actor  = Access{Verified: true, Actor: true, PersonOnly: true}
)

// Policy maps every operation id to its access rule. An operation missing
// here is refused (and the authorization matrix test fails), so a new
// operation cannot be reachable by accident.
var Policy = map[string]Access{
	// ops (http-api.md §2.1)
	"get-root":         public,
	"get-health":       public,
	"get-health-ready": public,
	"get-metrics":      public, // METRICS_TOKEN is checked by the handler
	"get-jwks":         public,

	// auth (http-api.md §2.3)
	"login":                               public,
	"refresh-token":                       public,
	"register":                            public,
	"verify-email":                        public,
	"forgot-password":                     public,
	"confirm-password-reset":              public,
	"issue-service-account-token":         public, // Vault or dev-local credential, checked by the handler
	"logout":                              person,
	"logout-all":                          person,
	"list-sessions":                       person,
	"revoke-session":                      person,
	"get-me":                              person,
	"send-verification-email":             person,
	"change-password":                     person,
	"admin-reset-password":                {Scopes: []string{"support:read"}, Verified: true, PersonOnly: true},
	"browser-issue-service-account-token": actor,
	"list-service-account-tokens":         actor,
	"revoke-service-account-token":        actor,

	// chat, agents, tools, conversations (http-api.md §2.4-2.5; agents-and-data.md §5.1)
	"chat":                tenantData("conversations:write"),
	"chat-stream":         tenantData("conversations:write"),
	"chat-stream-resume":  tenantData("conversations:read"),
	"list-agents":         {Scopes: []string{"tools:read"}, Verified: true},
	"get-agent-status":    tenantData("tools:read"),
	"list-tools":          {Scopes: []string{"tools:read"}, Verified: true},
	"list-conversations":  tenantData("conversations:read"),
	"get-conversation":    tenantData("conversations:read"),
	"delete-conversation": tenantData("conversations:delete"),

	// tenant settings (http-api.md §2.7; service accounts may read, §18.5 note 33)
	"get-tenant-settings":    {Verified: true, TenantRoles: []string{"admin", "owner"}},
	"update-tenant-settings": {Verified: true, TenantRoles: []string{"admin", "owner"}, PersonOnly: true},
}
