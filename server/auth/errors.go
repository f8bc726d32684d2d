package auth

import "errors"

// Error kinds: every failure of this area wraps exactly one; server/errors.go
// maps each kind to its HTTP status (spec: http-api.md §2.3). The detail a
// client sees is the error's PublicDetail, the reference's text.
var (
	// ErrUnauthenticated is a 401 that carries WWW-Authenticate: Bearer.
	ErrUnauthenticated = errors.New("auth: not authenticated")
	// ErrUnauthorized is a 401 without the challenge header (refresh, logins of another kind).
	ErrUnauthorized = errors.New("auth: unauthorized")
	ErrForbidden    = errors.New("auth: forbidden")
	ErrInvalid      = errors.New("auth: invalid request")
	ErrNotFound     = errors.New("auth: not found")
	ErrConflict     = errors.New("auth: conflict")
	ErrLocked       = errors.New("auth: locked")
	ErrThrottled    = errors.New("auth: too many attempts") // 429 without Retry-After
	ErrUnavailable  = errors.New("auth: unavailable")
	ErrUpstream     = errors.New("auth: upstream failure")
)

// Error is a failure with the detail the client is shown.
type Error struct {
	kind   error
	detail string
}

func (e *Error) Error() string        { return e.detail }
func (e *Error) Unwrap() error        { return e.kind }
func (e *Error) PublicDetail() string { return e.detail }

// fail returns an error of kind with the client-facing detail.
func fail(kind error, detail string) error { return &Error{kind: kind, detail: detail} }

// Details of the bearer checks (spec: http-api.md §1.5-1.6; auth-and-keys.md §18.1 note 9).
const (
	msgNotAuthenticated   = "Not authenticated"
	msgInvalidCredentials = "Invalid authentication credentials"
	msgCouldNotValidate   = "Could not validate credentials"
	msgAccessRequired     = "Access token required."
	msgUserSubject        = "Token subject must reference a user account."
	msgInsufficientScopes = "Insufficient scopes for this operation."
	msgVerificationNeeded = "Email verification required."
	msgTenantMismatch     = "Tenant mismatch between token and X-Tenant-Id header."
	msgMissingTenant      = "Authenticated token is missing tenant context."
	msgRoleExceeds        = "Requested tenant role exceeds privileges granted by token."
	msgInsufficientTenant = "Insufficient tenant privileges for this operation."
	msgOperatorScope      = "Platform operator scope (support:*) required for override."
	msgOperatorReason     = "X-Operator-Reason header is required when X-Operator-Override is true."
	msgActorRequired      = "Tenant admin privileges required or set X-Operator-Override header to act as operator."
	msgUnknownOperation   = "Operation has no authorization rule."
)
