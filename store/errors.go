package store

import "errors"

// Sentinel errors returned by the store; callers check them with errors.Is.
var (
	// ErrNotFound means the row asked for does not exist (or is not visible to the tenant).
	ErrNotFound = errors.New("store: not found")
	// ErrConflict means a unique constraint refused the write.
	ErrConflict = errors.New("store: conflict")
	// ErrBadURL means DATABASE_URL is not one of the supported forms.
	ErrBadURL = errors.New("store: unsupported DATABASE_URL")
	// ErrUnreachable means the database did not answer the connectivity check.
	ErrUnreachable = errors.New("store: database unreachable")
	// ErrUnknownVersion means a migration version asked for does not exist.
	ErrUnknownVersion = errors.New("store: unknown migration version")
)

// ConstraintError is a conflict with the name of the constraint that refused
// the write, so services can tell which unique rule was hit (a 409 per constraint).
type ConstraintError struct {
	Constraint string
	Err        error
}

func (e *ConstraintError) Error() string {
	return "store: constraint " + e.Constraint + " violated: " + e.Err.Error()
}

// Unwrap makes errors.Is(err, ErrConflict) true.
func (e *ConstraintError) Unwrap() []error { return []error{ErrConflict, e.Err} }
