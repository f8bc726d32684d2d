package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"testing"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"agentplane/keys"
	"agentplane/server/auth"
	"agentplane/server/servertest"
)

// The authorization details (spec: http-api.md §1.5-1.6; auth-and-keys.md
// §18.1 note 9). A request that authorization lets through must never be
// answered with one of them.
const (
	dNotAuthenticated = "Not authenticated"
	dInvalidCreds     = "Invalid authentication credentials"
	dCouldNotValidate = "Could not validate credentials"
	dAccessRequired   = "Access token required."
	dUserSubject      = "Token subject must reference a user account."
	dScopes           = "Insufficient scopes for this operation."
	dVerification     = "Email verification required."
	dTenantMismatch   = "Tenant mismatch between token and X-Tenant-Id header."
	dMissingTenant    = "Authenticated token is missing tenant context."
	dRoleExceeds      = "Requested tenant role exceeds privileges granted by token."
	dTenantPrivileges = "Insufficient tenant privileges for this operation."
	dOperatorScope    = "Platform operator scope (support:*) required for override."
	dOperatorReason   = "X-Operator-Reason header is required when X-Operator-Override is true."
	dActorRequired    = "Tenant admin privileges required or set X-Operator-Override header to act as operator."
)

var authorizationDetails = []string{
	dNotAuthenticated, dInvalidCreds, dCouldNotValidate, dAccessRequired, dUserSubject, dScopes,
	dVerification, dTenantMismatch, dMissingTenant, dRoleExceeds, dTenantPrivileges, dOperatorScope,
	dOperatorReason, dActorRequired,
}

// outcome is what authorization answers one caller: status 0 means it lets
// the request through (whatever the handler then answers).
type outcome struct {
	status int
	detail string
}

var passes = outcome{}

func unauthenticated(detail string) outcome { return outcome{http.StatusUnauthorized, detail} }
func forbidden(detail string) outcome       { return outcome{http.StatusForbidden, detail} }

// Caller kinds of the matrix.
const (
	cAnonymous       = "anonymous"        // no Authorization header
	cBasic           = "basic"            // Authorization: Basic x
	cBearerEmpty     = "bearer-empty"     // Authorization: Bearer
	cGarbage         = "garbage"          // a bearer that is not a JWS
	cExpired         = "expired"          // expired access token
	cUnknownKID      = "unknown-kid"      // signed by a key outside the keyset
	cAlgNone         = "alg-none"         // unsigned, alg none
	cRefresh         = "refresh"          // a person's refresh token as issued (no aud)
	cRefreshAud      = "refresh-aud"      // a refresh-type token that carries aud
	cBadSubject      = "bad-subject"      // sub user:<not a uuid>
	cMember          = "member"           // verified person, role member
	cAdmin           = "admin"            // verified person, role admin
	cOwner           = "owner"            // verified person, role owner
	cUnverifiedOwner = "unverified-owner" // owner with email_verified false
	cOtherTenant     = "other-tenant"     // owner of tenant B sending X-Tenant-Id of tenant A
	cOperator        = "operator"         // tenantless person with support:*, override + reason
	cOperatorNoWhy   = "operator-no-reason"
	cServiceScoped   = "sa-scoped"   // service-account access token with support:*
	cServiceUnscoped = "sa-unscoped" // service-account access token with nothing useful
)

var callerKinds = []string{
	cAnonymous, cBasic, cBearerEmpty, cGarbage, cExpired, cUnknownKID, cAlgNone, cRefresh, cRefreshAud,
	cBadSubject, cMember, cAdmin, cOwner, cUnverifiedOwner, cOtherTenant, cOperator, cOperatorNoWhy,
	cServiceScoped, cServiceUnscoped,
}

// Rows of the expectation table, written from the spec (http-api.md §1.5-1.6,
// §2.3, §5; auth-and-keys.md §14.5, §18.5 notes 32-33; DESIGN decisions 8
// and 13), never from auth.Policy.
var (
	// Public: authorization lets everyone through; credentials, if any, are
	// the handler's business.
	publicRow = map[string]outcome{
		cAnonymous: passes, cBasic: passes, cBearerEmpty: passes, cGarbage: passes, cExpired: passes,
		cUnknownKID: passes, cAlgNone: passes, cRefresh: passes, cRefreshAud: passes, cBadSubject: passes,
		cMember: passes, cAdmin: passes, cOwner: passes, cUnverifiedOwner: passes, cOtherTenant: passes,
		cOperator: passes, cOperatorNoWhy: passes, cServiceScoped: passes, cServiceUnscoped: passes,
	}
	// Bearer (person): any person's access token, no verification gate; a
	// service account is refused as not a person (§18.5 note 33).
	personRow = map[string]outcome{
		cAnonymous: unauthenticated(dNotAuthenticated), cBasic: unauthenticated(dInvalidCreds),
		cBearerEmpty: unauthenticated(dNotAuthenticated), cGarbage: unauthenticated(dCouldNotValidate),
		cExpired: unauthenticated(dCouldNotValidate), cUnknownKID: unauthenticated(dCouldNotValidate),
		cAlgNone: unauthenticated(dCouldNotValidate), cRefresh: unauthenticated(dCouldNotValidate),
		cRefreshAud: unauthenticated(dAccessRequired), cBadSubject: unauthenticated(dUserSubject),
		cMember: passes, cAdmin: passes, cOwner: passes, cUnverifiedOwner: passes, cOtherTenant: passes,
		cOperator: passes, cOperatorNoWhy: passes,
		cServiceScoped: unauthenticated(dUserSubject), cServiceUnscoped: unauthenticated(dUserSubject),
	}
	// Bearer+V, scope support:read (admin password reset): a person
	// operation (password flows stay person-only, note 33).
	supportReadRow = map[string]outcome{
		cAnonymous: unauthenticated(dNotAuthenticated), cBasic: unauthenticated(dInvalidCreds),
		cBearerEmpty: unauthenticated(dNotAuthenticated), cGarbage: unauthenticated(dCouldNotValidate),
		cExpired: unauthenticated(dCouldNotValidate), cUnknownKID: unauthenticated(dCouldNotValidate),
		cAlgNone: unauthenticated(dCouldNotValidate), cRefresh: unauthenticated(dCouldNotValidate),
		cRefreshAud: unauthenticated(dAccessRequired), cBadSubject: unauthenticated(dUserSubject),
		cMember: forbidden(dScopes), cAdmin: passes, cOwner: passes,
		cUnverifiedOwner: forbidden(dVerification), cOtherTenant: passes,
		cOperator: passes, cOperatorNoWhy: passes,
		cServiceScoped: unauthenticated(dUserSubject), cServiceUnscoped: unauthenticated(dUserSubject),
	}
	// Service-account actor (§1.6.4): verified person who is tenant admin or
	// owner of the token's tenant, or an operator with override and reason.
	actorRow = map[string]outcome{
		cAnonymous: unauthenticated(dNotAuthenticated), cBasic: unauthenticated(dInvalidCreds),
		cBearerEmpty: unauthenticated(dNotAuthenticated), cGarbage: unauthenticated(dCouldNotValidate),
		cExpired: unauthenticated(dCouldNotValidate), cUnknownKID: unauthenticated(dCouldNotValidate),
		cAlgNone: unauthenticated(dCouldNotValidate), cRefresh: unauthenticated(dCouldNotValidate),
		cRefreshAud: unauthenticated(dAccessRequired), cBadSubject: unauthenticated(dUserSubject),
		cMember: forbidden(dActorRequired), cAdmin: passes, cOwner: passes,
		cUnverifiedOwner: forbidden(dVerification), cOtherTenant: forbidden(dActorRequired),
		cOperator: passes, cOperatorNoWhy: {http.StatusBadRequest, dOperatorReason},
		cServiceScoped: unauthenticated(dUserSubject), cServiceUnscoped: unauthenticated(dUserSubject),
	}
)

// scopedRow is a Bearer+V operation with one scope, open to service
// accounts (DESIGN decision 13), that needs no tenant: the agent and tool
// catalogs. The member holds the scope only when memberHas.
func scopedRow(memberHas bool) map[string]outcome {
	member := passes
	if !memberHas {
		member = forbidden(dScopes)
	}
	return map[string]outcome{
		cAnonymous: unauthenticated(dNotAuthenticated), cBasic: unauthenticated(dInvalidCreds),
		cBearerEmpty: unauthenticated(dNotAuthenticated), cGarbage: unauthenticated(dCouldNotValidate),
		cExpired: unauthenticated(dCouldNotValidate), cUnknownKID: unauthenticated(dCouldNotValidate),
		cAlgNone: unauthenticated(dCouldNotValidate), cRefresh: unauthenticated(dCouldNotValidate),
		cRefreshAud: unauthenticated(dAccessRequired), cBadSubject: unauthenticated(dUserSubject),
		cMember: member, cAdmin: passes, cOwner: passes,
		cUnverifiedOwner: forbidden(dVerification), cOtherTenant: passes,
		cOperator: passes, cOperatorNoWhy: passes,
		cServiceScoped: passes, cServiceUnscoped: forbidden(dScopes),
	}
}

// tenantDataRow is scopedRow for operations on the tenant's conversations:
// they also need a tenant context (§1.6.3, DESIGN decision 8), so a
// mismatching X-Tenant-Id is refused and a tenantless token (the operator
// and the support service account send no X-Tenant-Id) lacks the context.
func tenantDataRow(memberHas bool) map[string]outcome {
	row := scopedRow(memberHas)
	row[cOtherTenant] = forbidden(dTenantMismatch)
	row[cOperator] = unauthenticated(dMissingTenant)
	row[cOperatorNoWhy] = unauthenticated(dMissingTenant)
	row[cServiceScoped] = unauthenticated(dMissingTenant)
	return row
}

// tenantAdminRow is a Tenant(admin, owner) operation without a scope: the
// tenant settings (http-api.md §2.7). Reading is open to a service account
// of the tenant whose scopes give it the role (none here: viewer); updating
// needs a person (DESIGN decision 13).
func tenantAdminRow(personOnly bool) map[string]outcome {
	row := scopedRow(true)
	row[cMember] = forbidden(dTenantPrivileges) // member → viewer
	row[cOtherTenant] = forbidden(dTenantMismatch)
	row[cOperator] = unauthenticated(dMissingTenant)
	row[cOperatorNoWhy] = unauthenticated(dMissingTenant)
	row[cServiceScoped] = unauthenticated(dMissingTenant)
	row[cServiceUnscoped] = forbidden(dTenantPrivileges)
	if personOnly {
		row[cServiceScoped] = unauthenticated(dUserSubject)
		row[cServiceUnscoped] = unauthenticated(dUserSubject)
	}
	return row
}

// expectations maps every operation id to its row. An operation registered
// on the server without an entry here fails the matrix.
var expectations = map[string]map[string]outcome{
	// ops (http-api.md §2.1)
	"get-root":         publicRow,
	"get-health":       publicRow,
	"get-health-ready": publicRow,
	"get-metrics":      publicRow, // METRICS_TOKEN (unset here) is the handler's check
	"get-jwks":         publicRow,

	// auth (http-api.md §2.3)
	"login":                               publicRow,
	"refresh-token":                       publicRow,
	"register":                            publicRow,
	"verify-email":                        publicRow,
	"forgot-password":                     publicRow,
	"confirm-password-reset":              publicRow,
	"issue-service-account-token":         publicRow, // Vault / dev-local credential, the handler's check
	"logout":                              personRow,
	"logout-all":                          personRow,
	"list-sessions":                       personRow,
	"revoke-session":                      personRow,
	"get-me":                              personRow,
	"send-verification-email":             personRow,
	"change-password":                     personRow,
	"admin-reset-password":                supportReadRow,
	"browser-issue-service-account-token": actorRow,
	"list-service-account-tokens":         actorRow,
	"revoke-service-account-token":        actorRow,

	// chat, agents, tools, conversations (http-api.md §2.4-2.5)
	"chat":               tenantDataRow(true),
	"chat-stream":        tenantDataRow(true),
	"chat-stream-resume": tenantDataRow(true),

	// tenant settings (http-api.md §2.7)
	"get-tenant-settings":    tenantAdminRow(false),
	"update-tenant-settings": tenantAdminRow(true),

	"list-agents":         scopedRow(true),
	"get-agent-status":    tenantDataRow(true),
	"list-tools":          scopedRow(true),
	"list-conversations":  tenantDataRow(true),
	"get-conversation":    tenantDataRow(true),
	"delete-conversation": tenantDataRow(false),
}

// hiddenOperations are registered with Hidden (huma leaves them out of the
// OpenAPI document, http-api.md §2.1.6), so the matrix lists them itself.
var hiddenOperations = []matrixOp{
	{id: "get-metrics", method: http.MethodGet, path: "/metrics"},
	{id: "get-jwks", method: http.MethodGet, path: "/.well-known/jwks.json"},
}

type matrixOp struct {
	id, method, path string
	body             bool
}

// registeredOperations walks the OpenAPI document plus the hidden list.
func registeredOperations(t *testing.T, api huma.API) []matrixOp {
	t.Helper()
	var out []matrixOp
	seen := map[string]bool{}
	add := func(o matrixOp) {
		if seen[o.id] {
			t.Errorf("operation id %q registered twice", o.id)
		}
		seen[o.id] = true
		out = append(out, o)
	}
	for path, item := range api.OpenAPI().Paths {
		for _, m := range []struct {
			method string
			op     *huma.Operation
		}{
			{http.MethodGet, item.Get}, {http.MethodPost, item.Post}, {http.MethodPut, item.Put},
			{http.MethodPatch, item.Patch}, {http.MethodDelete, item.Delete},
			{http.MethodHead, item.Head}, {http.MethodOptions, item.Options}, {http.MethodTrace, item.Trace},
		} {
			if m.op == nil {
				continue
			}
			if m.op.OperationID == "" {
				t.Errorf("%s %s has no operation id", m.method, path)
				continue
			}
			add(matrixOp{id: m.op.OperationID, method: m.method, path: path, body: m.op.RequestBody != nil})
		}
	}
	for _, h := range hiddenOperations {
		add(h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// callers builds the request decoration of every caller kind.
type callers struct {
	tenantA, tenantB string
	set              map[string]func(*http.Request)
}

func bearer(tok string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

type refreshClaims struct {
	Sub           string   `json:"sub"`
	TenantID      string   `json:"tenant_id"`
	Scope         string   `json:"scope"`
	TokenUse      string   `json:"token_use"`
	Iss           string   `json:"iss"`
	Aud           []string `json:"aud,omitempty"`
	EmailVerified bool     `json:"email_verified"`
	JTI           string   `json:"jti"`
	Iat           int64    `json:"iat"`
	Nbf           int64    `json:"nbf"`
	Exp           int64    `json:"exp"`
	Account       string   `json:"account"`
	SID           string   `json:"sid"`
}

// Role scopes as the spec lists them (auth-and-keys.md §14.1).
const (
	adminScope  = "conversations:read conversations:write conversations:delete tools:read billing:read billing:manage support:read"
	memberScope = "conversations:read conversations:write tools:read"
)

func person(env *servertest.Env, tenant, role, scope string, verified bool) servertest.AccessClaims {
	c := env.NewAccessClaims()
	c.TenantID, c.Roles, c.Scope, c.EmailVerified = tenant, []string{role}, scope, verified
	return c
}

func serviceAccess(env *servertest.Env, account, tenant, scope string) auth.ServiceAccessClaims {
	now := env.Clock.Now().Unix()
	return auth.ServiceAccessClaims{
		Sub: "service-account:" + account, TenantID: tenant, Scope: scope, TokenUse: "access",
		Iss: servertest.AppName, Aud: servertest.Audience, JTI: uuid.NewString(), Account: account,
		Iat: now, Nbf: now, Exp: now + 30*60,
	}
}

// foreignToken signs claims with a key of a separate keyset.
func foreignToken(t *testing.T, env *servertest.Env, claims any) string {
	t.Helper()
	ctx := context.Background()
	st := keys.FileStorage{Path: filepath.Join(t.TempDir(), "foreign", "keyset.json")}
	if _, err := keys.EnsureActive(ctx, st, env.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	m, err := keys.NewManager(keys.ManagerDeps{Storage: st, Now: env.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	tok, kid, err := m.Sign(ctx, claims)
	if err != nil {
		t.Fatal(err)
	}
	_, ownKID, err := env.Manager.Sign(ctx, map[string]any{"probe": true})
	if err != nil {
		t.Fatal(err)
	}
	if kid == ownKID {
		t.Fatalf("foreign keyset reused kid %q", kid)
	}
	return tok
}

// unsignedToken is a compact JWS with alg none naming the active kid.
func unsignedToken(t *testing.T, env *servertest.Env, claims any) string {
	t.Helper()
	_, kid, err := env.Manager.Sign(context.Background(), map[string]any{"probe": true})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := json.Marshal(map[string]string{"alg": "none", "kid": kid, "typ": "JWT"})
	p, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(h) + "." + enc.EncodeToString(p) + "."
}

func newCallers(t *testing.T, env *servertest.Env) callers {
	t.Helper()
	a, b := uuid.NewString(), uuid.NewString()
	now := env.Clock.Now().Unix()
	sign := func(claims any) string { return env.Sign(t, claims) }

	expired := person(env, a, "owner", adminScope, true)
	expired.Iat, expired.Nbf, expired.Exp = now-2*3600, now-2*3600, now-3600

	refresh := func(aud []string) refreshClaims {
		sub := "user:" + uuid.NewString()
		return refreshClaims{Sub: sub, TenantID: a, Scope: adminScope, TokenUse: "refresh", Iss: servertest.AppName,
			Aud: aud, EmailVerified: true, JTI: uuid.NewString(), Iat: now, Nbf: now, Exp: now + 43200*60,
			Account: sub, SID: uuid.NewString()}
	}
	badSubject := person(env, a, "owner", adminScope, true)
	badSubject.Sub = "user:not-a-uuid"
	operator := person(env, "", "member", "support:*", true)
	operator.Roles = nil
	override := func(reason string) func(*http.Request) {
		return func(r *http.Request) {
			bearer(sign(operator))(r)
			r.Header.Set("X-Operator-Override", "true")
			if reason != "" {
				r.Header.Set("X-Operator-Reason", reason)
			}
		}
	}

	set := map[string]func(*http.Request){
		cAnonymous:       func(*http.Request) {},
		cBasic:           func(r *http.Request) { r.Header.Set("Authorization", "Basic x") },
		cBearerEmpty:     func(r *http.Request) { r.Header.Set("Authorization", "Bearer") },
		cGarbage:         bearer("not-a-jwt"),
		cExpired:         bearer(sign(expired)),
		cUnknownKID:      bearer(foreignToken(t, env, person(env, a, "owner", adminScope, true))),
		cAlgNone:         bearer(unsignedToken(t, env, person(env, a, "owner", adminScope, true))),
		cRefresh:         bearer(sign(refresh(nil))),
		cRefreshAud:      bearer(sign(refresh(servertest.Audience))),
		cBadSubject:      bearer(sign(badSubject)),
		cMember:          bearer(sign(person(env, a, "member", memberScope, true))),
		cAdmin:           bearer(sign(person(env, a, "admin", adminScope, true))),
		cOwner:           bearer(sign(person(env, a, "owner", adminScope, true))),
		cUnverifiedOwner: bearer(sign(person(env, a, "owner", adminScope, false))),
		cOtherTenant: func(r *http.Request) {
			bearer(sign(person(env, b, "owner", adminScope, true)))(r)
			r.Header.Set("X-Tenant-Id", a)
		},
		cOperator:        override("  incident 4242 follow-up "),
		cOperatorNoWhy:   override(""),
		cServiceScoped:   bearer(sign(serviceAccess(env, "support-console", "", "support:*"))),
		cServiceUnscoped: bearer(sign(serviceAccess(env, "analytics-batch", a, "nothing:here"))),
	}
	for _, k := range callerKinds {
		if set[k] == nil {
			t.Fatalf("caller %q has no request", k)
		}
	}
	return callers{tenantA: a, tenantB: b, set: set}
}

type envelopeBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func TestAuthorizationMatrix(t *testing.T) {
	env := servertest.New(t, servertest.WithoutLogCapture())
	cs := newCallers(t, env)
	ops := registeredOperations(t, env.Server.API())

	registered := map[string]bool{}
	for _, op := range ops {
		registered[op.id] = true
	}
	for id := range expectations {
		if !registered[id] {
			t.Logf("expectation for %q: no such operation is registered (yet)", id)
		}
	}

	for _, op := range ops {
		t.Run(op.id, func(t *testing.T) {
			row, ok := expectations[op.id]
			if !ok {
				t.Fatalf("%s %s: operation %q has no expectation row in matrix_test.go", op.method, op.path, op.id)
			}
			if _, ok := auth.Policy[op.id]; !ok {
				t.Errorf("auth.Policy has no rule for %q", op.id)
			}
			if _, ok := env.Policy[op.id]; !ok {
				t.Errorf("the server's policy has no rule for %q", op.id)
			}
			for _, caller := range callerKinds {
				want, ok := row[caller]
				if !ok {
					t.Errorf("expectation row of %q has no outcome for caller %q", op.id, caller)
					continue
				}
				t.Run(caller, func(t *testing.T) {
					t.Parallel()
					target := pathParam.ReplaceAllStringFunc(op.path, func(string) string { return uuid.NewString() })
					var r *http.Request
					if op.body {
						r = env.JSONRequest(op.method, target, "{}")
					} else {
						r = env.Request(op.method, target, nil)
					}
					cs.set[caller](r)
					checkOutcome(t, env.Do(r), want)
				})
			}
		})
	}
}

func checkOutcome(t *testing.T, rec *httptest.ResponseRecorder, want outcome) {
	t.Helper()
	var body envelopeBody
	_ = json.Unmarshal(rec.Body.Bytes(), &body) // non-JSON bodies (metrics) have no detail
	if want == passes {
		if slices.Contains(authorizationDetails, body.Error) {
			t.Errorf("authorization refused a caller it must let through: %d %q", rec.Code, body.Error)
		}
		// The router's 404/405 is {"detail": …}, not the envelope; a 500 is
		// also how an operation without a policy rule is refused.
		var framework struct {
			Detail string `json:"detail"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &framework)
		if rec.Code == http.StatusInternalServerError || framework.Detail != "" {
			t.Errorf("status %d (%s): the operation was not reached", rec.Code, rec.Body.String())
		}
		return
	}
	if rec.Code != want.status || body.Error != want.detail || body.Message != want.detail {
		t.Errorf("got %d %q / %q, want %d %q", rec.Code, body.Error, body.Message, want.status, want.detail)
	}
	challenge := rec.Header().Get("WWW-Authenticate")
	switch {
	case want.status == http.StatusUnauthorized && challenge != "Bearer":
		t.Errorf("401 WWW-Authenticate = %q, want Bearer", challenge)
	case want.status != http.StatusUnauthorized && challenge != "":
		t.Errorf("%d carries WWW-Authenticate %q", want.status, challenge)
	}
}

// TestAuthorizeUnlistedOperation: an operation without a Policy rule is
// refused, so a new operation cannot be reachable by accident.
func TestAuthorizeUnlistedOperation(t *testing.T) {
	env := servertest.New(t, servertest.WithoutLogCapture())
	huma.Register(env.Server.API(), huma.Operation{OperationID: "matrix-unlisted", Method: http.MethodGet,
		Path: "/matrix-unlisted"}, func(context.Context, *struct{}) (*struct{}, error) { return nil, nil })
	r := env.Request(http.MethodGet, "/matrix-unlisted", nil)
	r.Header.Set("Authorization", "Bearer "+env.AccessToken(t))
	if rec := env.Do(r); rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500: %s", rec.Code, rec.Body.String())
	}
}

func TestHasScope(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		held     []string
		required string
		want     bool
	}{
		{"exact", []string{"tools:read"}, "tools:read", true},
		{"exact among others", []string{"conversations:read", "tools:read"}, "tools:read", true},
		{"missing", []string{"conversations:read"}, "tools:read", false},
		{"superuser", []string{"support:*"}, "conversations:delete", true},
		{"superuser any namespace", []string{"support:*"}, "status:manage", true},
		{"namespace wildcard", []string{"conversations:*"}, "conversations:delete", true},
		{"namespace wildcard is per namespace", []string{"conversations:*"}, "tools:read", false},
		{"wildcard is not a prefix match", []string{"conv:*"}, "conversations:read", false},
		{"support:read is not support:*", []string{"support:read"}, "billing:manage", false},
		{"platform:operator is no superuser", []string{"platform:operator"}, "tools:read", false},
		{"bare star is nothing", []string{"*"}, "tools:read", false},
		{"empty required", nil, "", true},
		{"empty held", nil, "tools:read", false},
		{"case matters", []string{"Tools:Read"}, "tools:read", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := auth.HasScope(tt.held, tt.required); got != tt.want {
				t.Errorf("HasScope(%q, %q) = %v, want %v", tt.held, tt.required, got, tt.want)
			}
		})
	}
}

// TestAuthorize covers tenant context, tenant roles and the actor directly:
// no registered operation uses TenantRoles yet (http-api.md §1.6.3-1.6.4,
// auth-and-keys.md §18.5 note 32, DESIGN decision 8).
func TestAuthorize(t *testing.T) {
	env := servertest.New(t, servertest.WithoutLogCapture())
	newAuthz := func(requireVerification bool) *auth.Authorizer {
		a, err := auth.NewAuthorizer(auth.AuthorizerDeps{Keys: env.Manager, Issuer: servertest.AppName,
			Audience: servertest.Audience, RequireVerification: requireVerification})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	authz, lax := newAuthz(true), newAuthz(false)
	tenant, other := uuid.NewString(), uuid.NewString()

	tok := func(c any) string { return "Bearer " + env.Sign(t, c) }
	withRoles := func(roles []string, scope string) string {
		c := person(env, tenant, "", scope, true)
		c.Roles = roles
		return tok(c)
	}
	owner := tok(person(env, tenant, "owner", adminScope, true))
	admin := tok(person(env, tenant, "admin", adminScope, true))
	member := tok(person(env, tenant, "member", memberScope, true))
	unverifiedAdmin := tok(person(env, tenant, "admin", adminScope, false))
	tenantless := func(scope string) string {
		c := person(env, "", "", scope, true)
		c.Roles = nil
		return tok(c)
	}
	operator, platformOperator := tenantless("support:*"), tenantless("platform:operator")
	adminOperator := tok(person(env, tenant, "admin", adminScope+" support:*", true))
	service := tok(serviceAccess(env, "billing-worker", tenant, "billing:read billing:manage"))

	anyRole := auth.Access{TenantRoles: []string{}}
	adminOrOwner := auth.Access{TenantRoles: []string{"admin", "owner"}}
	ownerOnly := auth.Access{TenantRoles: []string{"owner"}}
	actor := auth.Access{Verified: true, Actor: true, PersonOnly: true}

	type want struct {
		kind   error // nil: allowed
		detail string
		tenant string
		role   string
		actor  *auth.Actor
	}
	tests := []struct {
		name  string
		authz *auth.Authorizer
		acc   auth.Access
		h     auth.Headers
		want  want
	}{
		// tenant context
		{"token tenant", authz, anyRole, auth.Headers{Authorization: owner}, want{tenant: tenant, role: "owner"}},
		{"matching X-Tenant-Id", authz, anyRole, auth.Headers{Authorization: owner, TenantID: tenant}, want{tenant: tenant, role: "owner"}},
		{"X-Tenant-Id mismatch", authz, anyRole, auth.Headers{Authorization: owner, TenantID: other}, want{kind: auth.ErrForbidden, detail: dTenantMismatch}},
		{"tenantless token, no header", authz, anyRole, auth.Headers{Authorization: tenantless(adminScope)}, want{kind: auth.ErrUnauthenticated, detail: dMissingTenant}},
		{"tenantless non-operator may not name a tenant", authz, anyRole, auth.Headers{Authorization: tenantless(adminScope), TenantID: tenant}, want{kind: auth.ErrUnauthenticated, detail: dMissingTenant}},
		{"namespace wildcard is no operator", authz, anyRole, auth.Headers{Authorization: tenantless("platform:*"), TenantID: tenant}, want{kind: auth.ErrUnauthenticated, detail: dMissingTenant}},
		{"operator names a tenant", authz, anyRole, auth.Headers{Authorization: operator, TenantID: tenant}, want{tenant: tenant, role: "viewer"}},
		{"platform operator names a tenant", authz, anyRole, auth.Headers{Authorization: platformOperator, TenantID: " " + tenant + " "}, want{tenant: tenant, role: "viewer"}},
		{"operator with a non-uuid tenant", authz, anyRole, auth.Headers{Authorization: operator, TenantID: "acme"}, want{kind: auth.ErrUnauthenticated, detail: dMissingTenant}},
		{"operator without a tenant", authz, anyRole, auth.Headers{Authorization: operator}, want{kind: auth.ErrUnauthenticated, detail: dMissingTenant}},
		{"unverified person", authz, anyRole, auth.Headers{Authorization: unverifiedAdmin}, want{kind: auth.ErrForbidden, detail: dVerification}},
		{"gate off", lax, anyRole, auth.Headers{Authorization: unverifiedAdmin}, want{tenant: tenant, role: "admin"}},
		{"service account in its tenant", authz, anyRole, auth.Headers{Authorization: service}, want{tenant: tenant, role: "owner"}},

		// role derivation (§18.5 note 32)
		{"roles admin is not escalated by billing:manage", authz, anyRole, auth.Headers{Authorization: admin}, want{tenant: tenant, role: "admin"}},
		{"admin may not request owner", authz, anyRole, auth.Headers{Authorization: admin, TenantRole: "owner"}, want{kind: auth.ErrForbidden, detail: dRoleExceeds}},
		{"admin is not owner", authz, ownerOnly, auth.Headers{Authorization: admin}, want{kind: auth.ErrForbidden, detail: dTenantPrivileges}},
		{"owner passes owner-only", authz, ownerOnly, auth.Headers{Authorization: owner}, want{tenant: tenant, role: "owner"}},
		{"member is viewer", authz, adminOrOwner, auth.Headers{Authorization: member}, want{kind: auth.ErrForbidden, detail: dTenantPrivileges}},
		{"member role", authz, anyRole, auth.Headers{Authorization: member}, want{tenant: tenant, role: "viewer"}},
		{"highest of roles", authz, anyRole, auth.Headers{Authorization: withRoles([]string{"viewer", "OWNER", "billing"}, "")}, want{tenant: tenant, role: "owner"}},
		{"no roles: billing:manage is owner", authz, anyRole, auth.Headers{Authorization: withRoles(nil, "billing:manage")}, want{tenant: tenant, role: "owner"}},
		{"no roles: billing:read is viewer", authz, anyRole, auth.Headers{Authorization: withRoles(nil, "billing:read")}, want{tenant: tenant, role: "viewer"}},
		{"no roles, no scopes: viewer", authz, anyRole, auth.Headers{Authorization: withRoles(nil, "")}, want{tenant: tenant, role: "viewer"}},
		{"roles viewer ignores billing:manage", authz, anyRole, auth.Headers{Authorization: withRoles([]string{"viewer"}, "billing:manage")}, want{tenant: tenant, role: "viewer"}},

		// X-Tenant-Role
		{"role lowered", authz, anyRole, auth.Headers{Authorization: owner, TenantRole: " Viewer "}, want{tenant: tenant, role: "viewer"}},
		{"lowered role misses the requirement", authz, adminOrOwner, auth.Headers{Authorization: owner, TenantRole: "viewer"}, want{kind: auth.ErrForbidden, detail: dTenantPrivileges}},
		{"role kept", authz, adminOrOwner, auth.Headers{Authorization: admin, TenantRole: "admin"}, want{tenant: tenant, role: "admin"}},
		{"role raised", authz, anyRole, auth.Headers{Authorization: member, TenantRole: "admin"}, want{kind: auth.ErrForbidden, detail: dRoleExceeds}},
		{"unknown role ignored", authz, anyRole, auth.Headers{Authorization: owner, TenantRole: "superuser"}, want{tenant: tenant, role: "owner"}},

		// actor (§1.6.4)
		{"tenant admin actor", authz, actor, auth.Headers{Authorization: admin}, want{tenant: tenant, role: "admin", actor: &auth.Actor{Kind: "tenant_admin", TenantID: tenant}}},
		{"tenant owner actor", authz, actor, auth.Headers{Authorization: owner}, want{tenant: tenant, role: "owner", actor: &auth.Actor{Kind: "tenant_admin", TenantID: tenant}}},
		{"member is no actor", authz, actor, auth.Headers{Authorization: member}, want{kind: auth.ErrForbidden, detail: dActorRequired}},
		{"admin of another tenant is no actor", authz, actor, auth.Headers{Authorization: admin, TenantID: other}, want{kind: auth.ErrForbidden, detail: dActorRequired}},
		{"admin lowered to viewer is no actor", authz, actor, auth.Headers{Authorization: admin, TenantRole: "viewer"}, want{kind: auth.ErrForbidden, detail: dActorRequired}},
		{"admin raising to owner is no actor", authz, actor, auth.Headers{Authorization: admin, TenantRole: "owner"}, want{kind: auth.ErrForbidden, detail: dActorRequired}},
		{"operator without override is no actor", authz, actor, auth.Headers{Authorization: operator, TenantID: tenant}, want{kind: auth.ErrForbidden, detail: dActorRequired}},
		{"operator override", authz, actor, auth.Headers{Authorization: operator, OperatorOverride: " TRUE ", OperatorReason: "  ticket 42  "}, want{actor: &auth.Actor{Kind: "platform_operator", Reason: "ticket 42"}}},
		{"platform operator override", authz, actor, auth.Headers{Authorization: platformOperator, OperatorOverride: "yes", OperatorReason: "audit"}, want{actor: &auth.Actor{Kind: "platform_operator", Reason: "audit"}}},
		{"override wins over tenant admin", authz, actor, auth.Headers{Authorization: adminOperator, OperatorOverride: "1", OperatorReason: "audit"}, want{tenant: tenant, actor: &auth.Actor{Kind: "platform_operator", Reason: "audit"}}},
		{"override needs a reason", authz, actor, auth.Headers{Authorization: operator, OperatorOverride: "on", OperatorReason: "   "}, want{kind: auth.ErrInvalid, detail: dOperatorReason}},
		{"override needs operator scope", authz, actor, auth.Headers{Authorization: admin, OperatorOverride: "true", OperatorReason: "audit"}, want{kind: auth.ErrForbidden, detail: dOperatorScope}},
		{"override needs the exact scope", authz, actor, auth.Headers{Authorization: tenantless("platform:*"), OperatorOverride: "true", OperatorReason: "audit"}, want{kind: auth.ErrForbidden, detail: dOperatorScope}},
		{"falsy override is no override", authz, actor, auth.Headers{Authorization: admin, OperatorOverride: "false"}, want{tenant: tenant, role: "admin", actor: &auth.Actor{Kind: "tenant_admin", TenantID: tenant}}},
		{"unverified admin is refused, not swallowed", authz, actor, auth.Headers{Authorization: unverifiedAdmin}, want{kind: auth.ErrForbidden, detail: dVerification}},
		{"service account is no actor", authz, actor, auth.Headers{Authorization: service}, want{kind: auth.ErrUnauthenticated, detail: dUserSubject}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := tt.authz.Authorize(context.Background(), tt.acc, tt.h)
			if tt.want.kind != nil {
				if !errors.Is(err, tt.want.kind) || err.Error() != tt.want.detail {
					t.Fatalf("err = %v, want %v %q", err, tt.want.kind, tt.want.detail)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v, want allowed", err)
			}
			if p.TenantID != tt.want.tenant || p.Role != tt.want.role {
				t.Errorf("tenant %q role %q, want %q %q", p.TenantID, p.Role, tt.want.tenant, tt.want.role)
			}
			switch {
			case tt.want.actor == nil && p.Actor != nil:
				t.Errorf("actor %+v, want none", *p.Actor)
			case tt.want.actor != nil && (p.Actor == nil || *p.Actor != *tt.want.actor):
				t.Errorf("actor %+v, want %+v", p.Actor, *tt.want.actor)
			}
		})
	}
}
