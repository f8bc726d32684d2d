package chat_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"agentplane/config"
	"agentplane/server/chat/openaitest"
	"agentplane/server/servertest"
)

// BenchmarkChatStreamFirstChunk is one streamed turn through the real HTTP
// stack against an in-process model that answers at once: the time to the
// first chunk frame is the relay's own cost (auth, quota and lease, storing
// the user message, the model call's setup). bench/chatload measures the
// same from outside the process, at 1 and 200 concurrent streams.
func BenchmarkChatStreamFirstChunk(b *testing.B) {
	fake := openaitest.New(b, openaitest.Always(openaitest.Text("A short answer in a few deltas.", openaitest.Usage{})))
	env := servertest.New(b, servertest.WithOpenAI(fake.URL(), fake.Key()), servertest.WithoutLogs(),
		servertest.WithSettings(func(s *config.Settings) {
			s.ChatStreamRateLimitPerMinute, s.ChatStreamConcurrentLimit = 1e9, 1e9
		}))
	alice := person(b, env, newTenant(b, env), "member")
	srv := live(b, env)
	c := srv.Client()
	var first, headers float64
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/chat/stream", strings.NewReader(`{"message":"Hi"}`))
		req.Host = servertest.Host
		req.Header.Set("Authorization", "Bearer "+alice.token)
		req.Header.Set("Content-Type", "application/json")
		start := b.Elapsed()
		resp, err := c.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("stream: %v %v", err, resp)
		}
		headers += float64(b.Elapsed() - start)
		r := bufio.NewReader(resp.Body)
		line, _ := r.ReadSlice('\n')
		if !bytes.HasPrefix(line, []byte(`data: {"chunk":"`)) {
			b.Fatalf("first line %q", line)
		}
		first += float64(b.Elapsed() - start)
		_, _ = io.Copy(io.Discard, r)
		resp.Body.Close()
	}
	b.ReportMetric(first/float64(b.N)/1e3, "µs-first-chunk/op")
	b.ReportMetric(headers/float64(b.N)/1e3, "µs-headers/op")
}
