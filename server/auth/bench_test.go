package auth_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"agentplane/server/servertest"
)

// BenchmarkRefresh is one token refresh through the whole handler: verify,
// rotate, reload the user, sign two tokens, record the session (SQLite).
// bench/authload measures the same over HTTP against a separate process.
//
// cpu-ns/op is the process's user+system CPU time per refresh, which other
// load on the machine inflates far less than ns/op (wall time): compare
// builds with it (benchstat -col /cpu-ns/op, or by eye over -count runs).
func BenchmarkRefresh(b *testing.B) {
	env := servertest.New(b, servertest.WithoutLogs())
	session := env.Register(b, "bench@example.com", "Correct-Horse-Battery-9", "Bench")
	token := session.RefreshToken
	b.ReportAllocs()
	cpu0 := processCPU(b)
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
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

// processCPU is the user+system CPU time this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
