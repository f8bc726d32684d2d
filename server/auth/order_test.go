package auth_test

import (
	"net/http"
	"testing"

	"agentplane/server/servertest"
)

// TestJSONSyntaxErrorBeforeAuthentication: the reference answers a JSON
// syntax error (422 json_invalid) before it looks at credentials
// (http-api.md §1.2 step 1); a well-formed body without credentials is 401.
func TestJSONSyntaxErrorBeforeAuthentication(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	tests := []struct {
		name, body string
		status     int
		detail     string
	}{
		{"malformed", `{"refresh_token": `, http.StatusUnprocessableEntity, "ValidationError"},
		{"well formed", `{"refresh_token": "x"}`, http.StatusUnauthorized, "Not authenticated"},
	}
	for _, tt := range tests {
		rec := env.Do(env.JSONRequest(http.MethodPost, "/api/v1/auth/logout", tt.body))
		got := servertest.Decode[map[string]any](t, rec)
		if rec.Code != tt.status || got["error"] != tt.detail {
			t.Errorf("%s: %d %v, want %d %q", tt.name, rec.Code, got["error"], tt.status, tt.detail)
		}
	}
}
