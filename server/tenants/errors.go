package tenants

import "errors"

// Sentinel errors of the tenants area; server/errors.go maps them (400 and
// 404 with the PublicDetail of the wrapping error).
var (
	// ErrInvalid means the settings (or the tenant id) failed the service
	// validation of spec agents-and-data.md §7.2.
	ErrInvalid = errors.New("tenants: invalid settings")
	// ErrNotFound means the tenant does not exist.
	ErrNotFound = errors.New("tenants: tenant not found")
)

// publicError wraps a sentinel with the spec's verbatim detail.
type publicError struct {
	err    error
	detail string
}

func (e *publicError) Error() string        { return e.err.Error() + ": " + e.detail }
func (e *publicError) Unwrap() error        { return e.err }
func (e *publicError) PublicDetail() string { return e.detail }

func invalid(detail string) error { return &publicError{err: ErrInvalid, detail: detail} }

// Details of the 400s and 404 (spec: agents-and-data.md §7.2, §7.3).
const (
	detailTooManyContacts = "Maximum of 10 billing contacts supported."
	detailContactName     = "Billing contacts require a name."
	detailContactEmail    = "Billing contacts require a valid email."
	detailWebhookURL      = "Webhook URL must include http(s) scheme and host."
	detailWebhookTooLong  = "Webhook URL must be at most 512 characters."
	detailTenantID        = "Tenant identifier is not a valid UUID."
	detailTenantNotFound  = "Tenant not found."
)
