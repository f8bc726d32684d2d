package chat_test

import (
	"net/http"
	"testing"

	"agentplane/config"
	"agentplane/server/chat/openaitest"
	"agentplane/server/servertest"
)

// TestChatRateLimit: chat_per_minute counts per tenant and caller; the
// request over the limit is a 429 with Retry-After before the model is
// called (spec: http-api.md §1.7).
func TestChatRateLimit(t *testing.T) {
	t.Parallel()
	env, fake := newEnv(t, servertest.WithSettings(func(s *config.Settings) { s.ChatRateLimitPerMinute = 2 }))
	tenant := newTenant(t, env)
	alice, bob := person(t, env, tenant, "member"), person(t, env, tenant, "member")
	fake.Enqueue(openaitest.Text("one", openaitest.Usage{}), openaitest.Text("two", openaitest.Usage{}),
		openaitest.Text("bob's", openaitest.Usage{}))

	for i := range 2 {
		if rec := alice.chat(t, map[string]any{"message": "hi"}); rec.Code != http.StatusOK {
			t.Fatalf("chat %d: status %d: %s", i+1, rec.Code, rec.Body)
		}
	}
	rec := alice.chat(t, map[string]any{"message": "hi"})
	got := servertest.Decode[map[string]any](t, rec)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" ||
		got["error"] != "Rate limit exceeded (chat_per_minute). Retry after "+rec.Header().Get("Retry-After")+"s." {
		t.Fatalf("third chat = %d %v (Retry-After %q)", rec.Code, got, rec.Header().Get("Retry-After"))
	}
	if n := len(fake.Requests()); n != 2 {
		t.Errorf("%d model calls, want 2: the refused request must not reach the model", n)
	}
	if rec := bob.chat(t, map[string]any{"message": "hi"}); rec.Code != http.StatusOK {
		t.Errorf("another user of the tenant: status %d, want 200 (the quota is per caller)", rec.Code)
	}
}
