package password

import "errors"

// ErrNoPepper means the hasher was built without AUTH_PASSWORD_PEPPER; the text is the
// reference's (spec: auth-and-keys.md §6.1).
var ErrNoPepper = errors.New("AUTH_PASSWORD_PEPPER must be configured for password hashing.")

// ErrBadCost means the bcrypt cost is outside bcrypt's range (4–31).
var ErrBadCost = errors.New("password: bcrypt cost out of range")

// ErrPolicy is wrapped by every *PolicyError: the password does not meet the policy.
var ErrPolicy = errors.New("password: does not meet the policy")

// PolicyError carries the policy message the client sees (spec: auth-and-keys.md §6.2,
// http-api.md §1.4: the same text is the 422 item's msg "Value error, <message>" and the
// 400 detail of the service-layer checks).
type PolicyError struct {
	Message string
}

func (e *PolicyError) Error() string { return e.Message }

// Unwrap makes errors.Is(err, ErrPolicy) hold.
func (e *PolicyError) Unwrap() error { return ErrPolicy }

// PublicDetail is the verbatim policy message.
func (e *PolicyError) PublicDetail() string { return e.Message }
