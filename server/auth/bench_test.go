package auth_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"agentplane/server/servertest"
)

// BenchmarkRefresh is one token refresh through the whole handler: verify,
// rotate, reload the user, sign two tokens, record the session (SQLite).
// bench/authload measures the same over HTTP against a separate process.
func BenchmarkRefresh(b *testing.B) {
	env := servertest.New(b, servertest.WithoutLogs())
	session := env.Register(b, "bench@example.com", "Correct-Horse-Battery-9", "Bench")
	token := session.RefreshToken
	b.ReportAllocs()
	for b.Loop() {
		rec := env.Do(env.JSONRequest(http.MethodPost, "/api/v1/auth/refresh", `{"refresh_token":"`+token+`"}`))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		var out struct {
			RefreshToken string `json:"refresh_token"`
		}
		if err := json.NewDecoder(strings.NewReader(rec.Body.String())).Decode(&out); err != nil {
			b.Fatal(err)
		}
		token = out.RefreshToken
	}
}
