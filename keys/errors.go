package keys

import "errors"

// ErrNoActiveKey means the keyset has no active key with a private key, so nothing can be
// signed (spec: auth-and-keys.md §3.5; the text is the reference's).
var ErrNoActiveKey = errors.New("Active Ed25519 key is unavailable.")

// ErrInvalidKeyset means a keyset document does not follow schema v1 (spec: auth-and-keys.md §5.2).
var ErrInvalidKeyset = errors.New("keys: invalid keyset document")

// ErrKIDInUse means a rotation asked for a kid that the keyset already holds.
var ErrKIDInUse = errors.New("keys: kid is already used by a key of the keyset")

// ErrUnknownSigningKID means SignWith was given a kid that has no private key in the keyset.
var ErrUnknownSigningKID = errors.New("keys: no private key for this kid")

// Vault configuration errors (spec: cli-config-ops.md §3.2; the texts are the reference's).
var (
	ErrVaultNotConfigured = errors.New("Vault address/token are required when auth_key_storage_backend=secret-manager.")
	ErrVaultSecretName    = errors.New("auth_key_secret_name must be configured for secret-manager backend.")
)

// ErrInvalidToken is wrapped by every token verification failure; the reason is wrapped too,
// so both errors.Is(err, ErrInvalidToken) and errors.Is(err, ErrExpired) hold
// (spec: auth-and-keys.md §3.6, §18.1 notes 3 and 8).
var ErrInvalidToken = errors.New("keys: invalid token")

// Reasons a token is rejected; each is returned wrapped together with ErrInvalidToken.
var (
	ErrMalformedToken = errors.New("keys: token is not a well-formed compact JWS")
	ErrBadAlgorithm   = errors.New("keys: token algorithm is not EdDSA")
	ErrUnknownKID     = errors.New("keys: token kid is missing, unknown or expired")
	ErrBadSignature   = errors.New("keys: token signature does not verify")
	ErrMissingClaim   = errors.New("keys: token lacks a required claim (exp, iat)")
	ErrExpired        = errors.New("keys: token has expired")
	ErrNotYetValid    = errors.New("keys: token is not valid yet (nbf or iat in the future)")
	ErrBadIssuer      = errors.New("keys: token issuer does not match")
	ErrBadAudience    = errors.New("keys: token audience does not match")
)

// tokenError joins ErrInvalidToken with one reason. The values below are allocated once, so
// rejecting a token costs no allocation for the error itself.
type tokenError struct{ reason error }

func (e *tokenError) Error() string   { return e.reason.Error() }
func (e *tokenError) Unwrap() []error { return []error{ErrInvalidToken, e.reason} }

var (
	errMalformed    error = &tokenError{ErrMalformedToken}
	errBadAlgorithm error = &tokenError{ErrBadAlgorithm}
	errUnknownKID   error = &tokenError{ErrUnknownKID}
	errBadSignature error = &tokenError{ErrBadSignature}
	errMissingClaim error = &tokenError{ErrMissingClaim}
	errExpired      error = &tokenError{ErrExpired}
	errNotYetValid  error = &tokenError{ErrNotYetValid}
	errBadIssuer    error = &tokenError{ErrBadIssuer}
	errBadAudience  error = &tokenError{ErrBadAudience}
)
