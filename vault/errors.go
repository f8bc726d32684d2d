package vault

import "errors"

// ErrNotConfigured means VAULT_ADDR or VAULT_TOKEN is missing (spec: auth-and-keys.md
// §13.3 step 4 "Vault client not configured.", §13.4 step 3).
var ErrNotConfigured = errors.New("vault: Transit client is not configured")

// ErrSignFailed is wrapped by every Sign failure (spec: auth-and-keys.md §13.4 step 3,
// cli-config-ops.md §3.1).
var ErrSignFailed = errors.New("vault: transit sign failed")

// SignError is a failed Sign. Its text is the reference CLI's ("Vault sign failed
// (<status>): <body>", "Vault sign response missing signature.").
type SignError struct {
	Detail string
	Err    error
}

func (e *SignError) Error() string {
	if e.Err != nil {
		return e.Detail + ": " + e.Err.Error()
	}
	return e.Detail
}

// Unwrap makes errors.Is hold for ErrSignFailed and for the cause.
func (e *SignError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrSignFailed, e.Err}
	}
	return []error{ErrSignFailed}
}

// ErrVerifyFailed is wrapped by every Verify failure other than a signature Vault
// judged invalid, which is (false, nil) (spec: auth-and-keys.md §13.3 step 4).
var ErrVerifyFailed = errors.New("vault: transit verify failed")

// VerifyError is a failed verification call: Vault unreachable, an error status or an
// answer without data.valid. Reason is short and safe to show; Err is the cause, if any.
type VerifyError struct {
	Reason string
	Err    error
}

func (e *VerifyError) Error() string {
	if e.Err != nil {
		return "vault: transit verify failed: " + e.Reason + ": " + e.Err.Error()
	}
	return "vault: transit verify failed: " + e.Reason
}

// Unwrap makes errors.Is hold for ErrVerifyFailed and for the cause.
func (e *VerifyError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrVerifyFailed, e.Err}
	}
	return []error{ErrVerifyFailed}
}

// PublicDetail is the 401 detail of spec auth-and-keys.md §13.3 step 4.
func (e *VerifyError) PublicDetail() string { return "Vault verification failed: " + e.Reason }
