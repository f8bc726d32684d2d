package server

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"

	"agentplane/server/auth"
	"agentplane/server/chat"
	"agentplane/server/ops"
	"agentplane/server/tenants"
	"agentplane/store"
)

// Envelope is the error body of spec http-api.md §1.3 (and, with a list in
// Details, the validation body of §1.4). Every error the API answers is one.
type Envelope struct {
	status  int
	headers http.Header
	cause   error // logged, never sent

	Success bool   `json:"success"`
	Detail  string `json:"error"` // a field named Error would clash with the Error method
	Message string `json:"message"`
	Details any    `json:"details"` // response headers, validation items, or null
}

// Error returns the detail.
func (e *Envelope) Error() string { return e.Message }

// GetStatus is the HTTP status (huma.StatusError).
func (e *Envelope) GetStatus() int { return e.status }

// GetHeaders are headers to set on the response (huma.HeadersError), e.g.
// WWW-Authenticate or Retry-After; they are also echoed in Details.
func (e *Envelope) GetHeaders() http.Header { return e.headers }

// Unwrap exposes the cause for logging.
func (e *Envelope) Unwrap() error { return e.cause }

// NewEnvelope builds an envelope whose error and message are detail and
// whose details are the given headers (or null).
func NewEnvelope(status int, detail string, headers http.Header) *Envelope {
	e := &Envelope{status: status, headers: headers, Detail: detail, Message: detail}
	if len(headers) > 0 {
		d := make(map[string]string, len(headers))
		for k, vs := range headers {
			if len(vs) > 0 {
				d[k] = vs[0] // not headers.Get(k): it canonicalises "WWW-Authenticate" and misses the key
			}
		}
		e.Details = d
	}
	return e
}

// PublicDetailer is implemented by domain errors that carry values for the
// client (e.g. "Conversation <id> not found"); the detail replaces the rule's.
type PublicDetailer interface{ PublicDetail() string }

// Rule maps one domain sentinel to an HTTP answer. Areas contribute their
// rules to the one table the server consults (STYLE §6: one mapping).
type Rule struct {
	Err     error
	Status  int
	Detail  string
	Headers http.Header
	// HeadersFor, when set, computes the headers from the error (Retry-After).
	HeadersFor func(error) http.Header
}

// bearerChallenge is the header of every bearer 401 (spec: http-api.md §1.3).
var bearerChallenge = http.Header{"WWW-Authenticate": {"Bearer"}}

// baseRules map the errors of the packages the server itself wires.
func baseRules() []Rule {
	return []Rule{
		{Err: ops.ErrNotReady, Status: http.StatusServiceUnavailable},
		{Err: ops.ErrMetricsAuth, Status: http.StatusUnauthorized, Detail: "Not authenticated", Headers: bearerChallenge},
		// auth kinds; the detail is the error's own (spec: http-api.md §2.3)
		{Err: auth.ErrUnauthenticated, Status: http.StatusUnauthorized, Headers: bearerChallenge},
		{Err: auth.ErrUnauthorized, Status: http.StatusUnauthorized},
		{Err: auth.ErrForbidden, Status: http.StatusForbidden},
		{Err: auth.ErrInvalid, Status: http.StatusBadRequest},
		{Err: auth.ErrNotFound, Status: http.StatusNotFound},
		{Err: auth.ErrConflict, Status: http.StatusConflict},
		{Err: auth.ErrLocked, Status: http.StatusLocked},
		{Err: auth.ErrThrottled, Status: http.StatusTooManyRequests},
		{Err: auth.ErrUnavailable, Status: http.StatusServiceUnavailable},
		{Err: auth.ErrUpstream, Status: http.StatusBadGateway},
		// chat (spec: http-api.md §2.4-2.5, §4 note 24); the detail is the error's own
		{Err: tenants.ErrInvalid, Status: http.StatusBadRequest},
		{Err: tenants.ErrNotFound, Status: http.StatusNotFound},
		{Err: chat.ErrConversationNotFound, Status: http.StatusNotFound},
		{Err: chat.ErrAgentNotFound, Status: http.StatusNotFound},
		{Err: chat.ErrNoResumableTurn, Status: http.StatusNotFound},
		{Err: chat.ErrNotConfigured, Status: http.StatusInternalServerError},
		{Err: chat.ErrProvider, Status: http.StatusBadGateway},
		{Err: chat.ErrRun, Status: http.StatusInternalServerError},
		{Err: store.ErrRateLimited, Status: http.StatusTooManyRequests, HeadersFor: retryAfter},
	}
}

// retryAfter is the Retry-After header of a rate-limit refusal (http-api.md §1.7).
func retryAfter(err error) http.Header {
	var rl *store.RateLimitError
	if !errors.As(err, &rl) {
		return nil
	}
	return http.Header{"Retry-After": {strconv.Itoa(rl.RetryAfterSeconds())}}
}

// errorHook is installed into huma's package-level constructors exactly once;
// huma offers no per-API hook. The rules it consults belong to the API that
// produced the error, found through the request context.
var installHook sync.Once

// InstallErrorHook installs the envelope into huma's error constructors
// (server.New does it). A test binary that also registers operations on a
// bare huma API (humatest) calls it first, in TestMain: the constructors
// are package globals, so installing them while another test registers
// operations is a data race.
func InstallErrorHook() { installErrorHook() }

func installErrorHook() {
	installHook.Do(func() {
		huma.NewErrorWithContext = func(ctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
			if ctx == nil {
				return toEnvelope(nil, status, msg, errs...)
			}
			sl := slotFrom(ctx.Context())
			var rules []Rule
			if sl != nil {
				rules = sl.rules
			}
			e := toEnvelope(rules, status, msg, errs...)
			// huma sets headers only from the handler's own error; a rule's
			// headers (WWW-Authenticate, Retry-After) are set here.
			for k, vs := range e.headers {
				for _, v := range vs {
					ctx.SetHeader(k, v)
				}
			}
			if sl != nil && e.status >= 500 && e.cause != nil {
				sl.cause = e.cause
			}
			return e
		}
		huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
			return toEnvelope(nil, status, msg, errs...)
		}
	})
}

// toEnvelope turns whatever huma or a handler produced into an envelope.
func toEnvelope(rules []Rule, status int, msg string, errs ...error) *Envelope {
	if status == http.StatusInternalServerError && len(errs) == 1 {
		return fromError(rules, errs[0])
	}
	if len(errs) > 0 && (status == http.StatusUnprocessableEntity || status == http.StatusBadRequest ||
		status == http.StatusUnsupportedMediaType) {
		return validation(errs)
	}
	if status == http.StatusBadRequest && msg == "request body is required" {
		return validationEnvelope([]Item{{Type: "missing", Loc: []any{"body"}, Msg: "Field required"}})
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return NewEnvelope(status, sentence(msg), nil)
}

// fromError maps a handler's error through the rules; an unknown error is a
// generic 500 whose cause is logged with the correlation id, never sent.
func fromError(rules []Rule, err error) *Envelope {
	var env *Envelope
	if errors.As(err, &env) {
		return env
	}
	for _, r := range rules {
		if errors.Is(err, r.Err) {
			detail := r.Detail
			var pd PublicDetailer
			if errors.As(err, &pd) {
				detail = pd.PublicDetail()
			}
			headers := r.Headers
			if r.HeadersFor != nil {
				headers = r.HeadersFor(err)
			}
			e := NewEnvelope(r.Status, detail, headers)
			e.cause = err
			return e
		}
	}
	e := NewEnvelope(http.StatusInternalServerError, "Internal Server Error", nil)
	e.cause = err
	return e
}

// sentence capitalises huma's lower-case messages ("request body is too
// large" → "Request body is too large").
func sentence(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
