package config

import (
	"errors"
	"strings"
)

// ErrEnvFile marks a problem with an env file: an explicit --env-file that does not exist, or a
// file that cannot be read or parsed. The error text names the file.
var ErrEnvFile = errors.New("config: env file")

// FieldError is one bad setting: the variable and what is wrong with it, including what is
// expected (e.g. `PORT: "80a" is not an integer`). Load joins one per problem, so callers can
// list them all or find them with errors.As.
type FieldError struct {
	Name    string // the environment variable, e.g. "PORT"
	Problem string // what is wrong and what is expected
}

func (e *FieldError) Error() string { return e.Name + ": " + e.Problem }

// GuardError is the production guard's refusal (spec: cli-config-ops.md §7.7). Its text is the
// spec's message verbatim.
type GuardError struct {
	Warnings []string
}

func (e *GuardError) Error() string {
	return "Production environment cannot start with default secrets. Fix the following: " +
		strings.Join(e.Warnings, "; ")
}

// BillingError is the startup refusal of ENABLE_BILLING=true without its Stripe settings
// (spec: cli-config-ops.md §8.1 step 5, billing-and-status.md §1.2). Its text is the spec's message.
type BillingError struct {
	Missing []string // variable names, in the spec's order
}

func (e *BillingError) Error() string {
	return "ENABLE_BILLING=true requires Stripe configuration. Set " + strings.Join(e.Missing, ", ") +
		" (see docs/billing/stripe-setup.md#startup-validation--troubleshooting)."
}
