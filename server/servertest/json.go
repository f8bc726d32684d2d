package servertest

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
)

// Decode unmarshals a response body into T, failing the test when it is not JSON.
func Decode[T any](tb testing.TB, rec *httptest.ResponseRecorder) T {
	tb.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		tb.Fatalf("body %q is not JSON: %v", rec.Body.String(), err)
	}
	return v
}

// JSONOf turns a Go literal into the generic form decoding a body gives, for
// comparisons with cmp.Diff.
func JSONOf(tb testing.TB, v any) any {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		tb.Fatal(err)
	}
	return out
}
