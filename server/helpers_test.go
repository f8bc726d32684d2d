package server_test

import (
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"agentplane/server/servertest"
)

// decode unmarshals a response body into generic JSON.
func decode(t testing.TB, rec *httptest.ResponseRecorder) any {
	t.Helper()
	return servertest.Decode[any](t, rec)
}

// jsonOf turns a Go literal into the generic form decode returns.
func jsonOf(t testing.TB, v any) any {
	t.Helper()
	return servertest.JSONOf(t, v)
}

// envelope is the §1.3 body.
func envelope(detail string, details any) map[string]any {
	return map[string]any{"success": false, "error": detail, "message": detail, "details": details}
}

// validation is the §1.4 body.
func validation(items ...map[string]any) map[string]any {
	list := make([]any, len(items))
	for i, it := range items {
		list[i] = it
	}
	return map[string]any{"success": false, "error": "ValidationError", "message": "Request validation failed.", "details": list}
}

func checkBody(t testing.TB, rec *httptest.ResponseRecorder, want any, opts ...cmp.Option) {
	t.Helper()
	if diff := cmp.Diff(jsonOf(t, want), decode(t, rec), opts...); diff != "" {
		t.Errorf("body mismatch (-want +got):\n%s", diff)
	}
}
