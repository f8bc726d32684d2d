package server_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// decode unmarshals a response body into generic JSON.
func decode(t testing.TB, rec *httptest.ResponseRecorder) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("body %q is not JSON: %v", rec.Body.String(), err)
	}
	return v
}

// jsonOf turns a Go literal into the generic form decode returns.
func jsonOf(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
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
