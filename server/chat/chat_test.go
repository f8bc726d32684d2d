package chat_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"agentplane/server/auth"
	"agentplane/server/chat/openaitest"
	"agentplane/server/servertest"
)

const allScopes = "conversations:read conversations:write conversations:delete tools:read"

// caller is one identity of a test: a person (user set) or a service account.
type caller struct {
	env    *servertest.Env
	token  string
	tenant string
	user   string
}

// newTenant seeds a tenant (with an owner) and returns its id.
func newTenant(t testing.TB, env *servertest.Env) string {
	t.Helper()
	return env.SeedUser(t, servertest.UserSeed{Email: uuid.NewString() + "@example.com", Password: "correct horse battery",
		Verified: true}).Tenants[0]
}

// person seeds a verified user with role in tenant and signs their token.
func person(t testing.TB, env *servertest.Env, tenant, role string) caller {
	t.Helper()
	u := env.SeedUser(t, servertest.UserSeed{Email: uuid.NewString() + "@example.com", Password: "correct horse battery",
		Verified: true, Members: []servertest.Member{{TenantID: tenant, Role: role}}})
	c := env.NewAccessClaims()
	c.Sub, c.TenantID, c.Roles, c.Scope = "user:"+u.User.ID, tenant, []string{role}, allScopes
	return caller{env: env, token: env.Sign(t, c), tenant: tenant, user: u.User.ID}
}

func serviceAccount(t *testing.T, env *servertest.Env, tenant string) caller {
	t.Helper()
	now := env.Clock.Now().Unix()
	c := auth.ServiceAccessClaims{Sub: "service-account:analytics-batch", TenantID: tenant, Scope: allScopes,
		TokenUse: "access", Iss: servertest.AppName, Aud: servertest.Audience, JTI: uuid.NewString(),
		Account: "analytics-batch", Iat: now, Nbf: now, Exp: now + 1800}
	return caller{env: env, token: env.Sign(t, c), tenant: tenant}
}

func (c caller) do(method, target, body string) *httptest.ResponseRecorder {
	var r *http.Request
	if body == "" {
		r = c.env.Request(method, target, nil)
	} else {
		r = c.env.JSONRequest(method, target, body)
	}
	r.Header.Set("Authorization", "Bearer "+c.token)
	return c.env.Do(r)
}

func (c caller) chat(t *testing.T, body any) *httptest.ResponseRecorder {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return c.do(http.MethodPost, "/api/v1/chat", string(b))
}

type reply struct {
	Response        string         `json:"response"`
	ConversationID  string         `json:"conversation_id"`
	AgentUsed       string         `json:"agent_used"`
	HandoffOccurred bool           `json:"handoff_occurred"`
	Metadata        map[string]any `json:"metadata"`
}

type envelope struct {
	Success bool   `json:"success"`
	Error   string `json:"error"`
	Message string `json:"message"`
	Details any    `json:"details"`
}

type history struct {
	ConversationID string `json:"conversation_id"`
	Messages       []struct {
		Role, Content, Timestamp string
	} `json:"messages"`
	AgentContext any `json:"agent_context"`
}

func mustStatus(t *testing.T, rec *httptest.ResponseRecorder, want int) {
	t.Helper()
	if rec.Code != want {
		t.Fatalf("status %d, want %d: %s", rec.Code, want, rec.Body.String())
	}
}

func newEnv(t *testing.T, opts ...servertest.Option) (*servertest.Env, *openaitest.Server) {
	t.Helper()
	fake := openaitest.New(t)
	env := servertest.New(t, append([]servertest.Option{servertest.WithOpenAI(fake.URL(), fake.Key())}, opts...)...)
	return env, fake
}

// inputItems are the input items of a model request.
func inputItems(t *testing.T, req openaitest.Request) []map[string]any {
	t.Helper()
	raw, ok := req.Body["input"].([]any)
	if !ok {
		t.Fatalf("request input is %T, want a list", req.Body["input"])
	}
	out := make([]map[string]any, len(raw))
	for i, it := range raw {
		out[i], _ = it.(map[string]any)
	}
	return out
}

func toolNames(req openaitest.Request) []string {
	var out []string
	tools, _ := req.Body["tools"].([]any)
	for _, t := range tools {
		m, _ := t.(map[string]any)
		out = append(out, fmt.Sprint(m["name"]))
	}
	return out
}

func TestChatPlainReplyAndMemory(t *testing.T) {
	t.Parallel()
	env, fake := newEnv(t)
	alice := person(t, env, newTenant(t, env), "member")
	fake.Enqueue(openaitest.Text("Hello there!", openaitest.Usage{InputTokens: 11, OutputTokens: 7, ReasoningTokens: 3}))

	rec := alice.chat(t, map[string]any{"message": "Hi", "context": map[string]any{"ignored": true}})
	mustStatus(t, rec, http.StatusOK)
	got := servertest.Decode[reply](t, rec)
	if _, err := uuid.Parse(got.ConversationID); err != nil {
		t.Fatalf("conversation_id %q is not a UUID", got.ConversationID)
	}
	want := reply{Response: "Hello there!", ConversationID: got.ConversationID, AgentUsed: "triage",
		Metadata: map[string]any{"model_used": "gpt-4.1-2025-04-14",
			"tools_available": []any{"tavily_search_tool", "get_current_time", "search_conversations"}}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("reply (-want +got):\n%s", d)
	}

	reqs := fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d model calls, want 1", len(reqs))
	}
	body := reqs[0].Body
	if body["model"] != "gpt-4.1-2025-04-14" || !strings.HasPrefix(fmt.Sprint(body["instructions"]), "# System context\n") ||
		!strings.HasSuffix(fmt.Sprint(body["instructions"]), "better suited to respond.") {
		t.Errorf("model %v, instructions %q", body["model"], body["instructions"])
	}
	if _, ok := body["conversation"]; ok {
		t.Error("the local conversation id was sent to OpenAI as conversation")
	}
	wantTools := []string{"tavily_search_tool", "get_current_time", "search_conversations",
		"transfer_to_code_assistant", "transfer_to_data_analyst"}
	if d := cmp.Diff(wantTools, toolNames(reqs[0])); d != "" {
		t.Errorf("tools (-want +got):\n%s", d)
	}
	handoff := map[string]any{"type": "function", "name": "transfer_to_code_assistant", "strict": true,
		"description": "Handoff to the Code Assistant agent to handle the request. Handles software engineering questions and code reviews.",
		"parameters": map[string]any{"type": "object", "properties": map[string]any{}, "required": []any{},
			"additionalProperties": false}}
	if d := cmp.Diff(handoff, body["tools"].([]any)[3]); d != "" {
		t.Errorf("handoff tool (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]map[string]any{{"role": "user", "content": "Hi"}}, inputItems(t, reqs[0])); d != "" {
		t.Errorf("input (-want +got):\n%s", d)
	}

	// Usage is recorded on the reply and the conversation's totals.
	conv, msgs, err := env.Store.Conversations().Get(t.Context(), alice.tenant, alice.user, got.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	if conv.TotalPromptTokens != 11 || conv.TotalCompletionTokens != 7 || conv.ReasoningTokens != 3 ||
		conv.UserID != alice.user || conv.ActiveAgent != "triage" || conv.AgentEntrypoint != "triage" {
		t.Errorf("conversation %+v", conv)
	}
	if len(msgs) != 2 || msgs[1].PromptTokens == nil || *msgs[1].PromptTokens != 11 || msgs[1].AgentType != "triage" {
		t.Fatalf("messages %+v", msgs)
	}

	// The second turn sees the first through the session memory.
	fake.Enqueue(openaitest.Text("Still here.", openaitest.Usage{InputTokens: 20, OutputTokens: 3}))
	mustStatus(t, alice.chat(t, map[string]any{"message": "Again", "conversation_id": got.ConversationID}), http.StatusOK)
	in := inputItems(t, fake.Requests()[1])
	if len(in) != 3 || in[0]["content"] != "Hi" || in[1]["type"] != "message" || in[2]["content"] != "Again" {
		t.Errorf("second turn input %v", in)
	}
	conv, _, err = env.Store.Conversations().Get(t.Context(), alice.tenant, "", got.ConversationID)
	if err != nil || conv.TotalPromptTokens != 31 || conv.MessageCount != 4 {
		t.Errorf("after two turns: %+v, %v", conv, err)
	}

	rec = alice.do(http.MethodGet, "/api/v1/conversations/"+got.ConversationID, "")
	mustStatus(t, rec, http.StatusOK)
	h := servertest.Decode[history](t, rec)
	var roles []string
	for _, m := range h.Messages {
		roles = append(roles, m.Role+":"+m.Content)
	}
	if d := cmp.Diff([]string{"user:Hi", "assistant:Hello there!", "user:Again", "assistant:Still here."}, roles); d != "" {
		t.Errorf("history (-want +got):\n%s", d)
	}
	if h.AgentContext != nil || h.ConversationID != got.ConversationID {
		t.Errorf("history %+v", h)
	}
}

func TestChatToolCallRoundTrip(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	tavily := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(b, &body)
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		want := map[string]any{"query": "go release", "max_results": 20.0, "search_depth": "advanced",
			"include_answer": true, "topic": "news", "include_raw_content": false, "include_images": false}
		if d := cmp.Diff(want, body); d != "" {
			t.Errorf("tavily body (-want +got):\n%s", d)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"answer":"Go 1.26 is out.","results":[{"title":"Go 1.26","url":"https://go.dev/doc/go1.26",
			"content":"Release notes.","score":0.987}],"response_time":1.5}`)
	}))
	t.Cleanup(tavily.Close)
	env, fake := newEnv(t, servertest.WithTavily(tavily.URL, "tvly-test"))
	alice := person(t, env, newTenant(t, env), "member")
	fake.Enqueue(
		openaitest.FunctionCall("tavily_search_tool",
			`{"query":"go release","max_results":50,"search_depth":"advanced","include_answer":true,"topic":"news"}`),
		openaitest.Text("Go 1.26 is out.", openaitest.Usage{InputTokens: 100, OutputTokens: 10}),
	)
	rec := alice.chat(t, map[string]any{"message": "What's new in Go?", "agent_type": "data_analyst"})
	mustStatus(t, rec, http.StatusOK)
	got := servertest.Decode[reply](t, rec)
	if got.Response != "Go 1.26 is out." || got.AgentUsed != "data_analyst" || got.HandoffOccurred {
		t.Errorf("reply %+v", got)
	}
	if d := cmp.Diff([]string{"POST /search Bearer tvly-test"}, seen); d != "" {
		t.Errorf("tavily calls (-want +got):\n%s", d)
	}
	reqs := fake.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d model calls, want 2", len(reqs))
	}
	in := inputItems(t, reqs[1])
	if len(in) != 3 || in[1]["type"] != "function_call" || in[2]["type"] != "function_call_output" ||
		in[2]["call_id"] != in[1]["call_id"] {
		t.Fatalf("second call input %v", in)
	}
	wantOut := "🔍 Web Search Results for: 'go release'\n" + strings.Repeat("=", 50) + "\n\n" +
		"📝 AI Summary:\nGo 1.26 is out.\n\n📚 Sources:\n" + strings.Repeat("-", 20) + "\n" +
		"1. Go 1.26\n   URL: https://go.dev/doc/go1.26\n   Relevance: 0.99\n   Content: Release notes.\n\n" +
		"⏱️ Search completed in 1.5 seconds\n"
	if d := cmp.Diff(wantOut, in[2]["output"]); d != "" {
		t.Errorf("tool output (-want +got):\n%s", d)
	}
	conv, _, err := env.Store.Conversations().Get(t.Context(), alice.tenant, "", got.ConversationID)
	if err != nil || conv.TotalPromptTokens != 412+100 || conv.TotalCompletionTokens != 41+10 {
		t.Errorf("usage over two model calls: %+v, %v", conv, err)
	}
}

func TestChatToolsWithoutKeys(t *testing.T) {
	t.Parallel()
	env, fake := newEnv(t)
	alice := person(t, env, newTenant(t, env), "member")
	fake.Enqueue(
		openaitest.Combine(
			openaitest.FunctionCall("tavily_search_tool",
				`{"query":"x","max_results":5,"search_depth":"basic","include_answer":true,"topic":"general"}`),
			openaitest.FunctionCall("get_current_time", `{}`),
			openaitest.FunctionCall("no_such_tool", `{}`),
		),
		openaitest.Text("Done.", openaitest.Usage{}),
	)
	mustStatus(t, alice.chat(t, map[string]any{"message": "time?"}), http.StatusOK)
	in := inputItems(t, fake.Requests()[1])
	var outputs []any
	for _, it := range in {
		if it["type"] == "function_call_output" {
			outputs = append(outputs, it["output"])
		}
	}
	want := []any{"Web search is not available. Tavily API key is not configured.",
		servertest.Start.Format("2006-01-02 15:04:05 UTC"), "Tool no_such_tool not found in agent Triage Assistant"}
	if d := cmp.Diff(want, outputs); d != "" {
		t.Errorf("tool outputs (-want +got):\n%s", d)
	}
}

func TestChatHandoff(t *testing.T) {
	t.Parallel()
	env, fake := newEnv(t)
	alice := person(t, env, newTenant(t, env), "member")
	fake.Enqueue(openaitest.Handoff("Code Assistant"),
		openaitest.Text("Use a table-driven test.", openaitest.Usage{InputTokens: 50, OutputTokens: 20}))
	rec := alice.chat(t, map[string]any{"message": "How do I test this Go code?"})
	mustStatus(t, rec, http.StatusOK)
	got := servertest.Decode[reply](t, rec)
	if got.Response != "Use a table-driven test." || got.AgentUsed != "code_assistant" || !got.HandoffOccurred {
		t.Errorf("reply %+v", got)
	}
	reqs := fake.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d model calls, want 2", len(reqs))
	}
	if !strings.HasPrefix(fmt.Sprint(reqs[1].Body["instructions"]), "You specialise in software engineering guidance.") {
		t.Errorf("second call instructions %q", reqs[1].Body["instructions"])
	}
	if d := cmp.Diff([]string{"get_current_time", "search_conversations"}, toolNames(reqs[1])); d != "" {
		t.Errorf("code assistant tools (-want +got):\n%s", d)
	}
	in := inputItems(t, reqs[1])
	if last := in[len(in)-1]; last["type"] != "function_call_output" || last["output"] != `{"assistant":"Code Assistant"}` {
		t.Errorf("handoff output item %v", last)
	}
	conv, msgs, err := env.Store.Conversations().Get(t.Context(), alice.tenant, "", got.ConversationID)
	if err != nil || conv.HandoffCount != 1 || conv.AgentEntrypoint != "triage" || conv.ActiveAgent != "code_assistant" ||
		msgs[1].AgentType != "code_assistant" {
		t.Errorf("conversation %+v, messages %+v, %v", conv, msgs, err)
	}

	// The status counts real conversations of the tenant.
	rec = alice.do(http.MethodGet, "/api/v1/agents/code_assistant/status", "")
	mustStatus(t, rec, http.StatusOK)
	st := servertest.Decode[map[string]any](t, rec)
	if st["total_conversations"] != 1.0 || st["last_used"] == nil || st["status"] != "active" || st["name"] != "code_assistant" {
		t.Errorf("status %v", st)
	}
	other := person(t, env, newTenant(t, env), "owner")
	rec = other.do(http.MethodGet, "/api/v1/agents/code_assistant/status", "")
	want := map[string]any{"name": "code_assistant", "status": "active", "last_used": nil, "total_conversations": 0.0}
	if d := cmp.Diff(want, servertest.Decode[map[string]any](t, rec)); d != "" {
		t.Errorf("other tenant's status (-want +got):\n%s", d)
	}
}

func TestChatMissingAPIKey(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	alice := person(t, env, newTenant(t, env), "member")
	rec := alice.chat(t, map[string]any{"message": "Hi", "conversation_id": "no-key-thread"})
	mustStatus(t, rec, http.StatusInternalServerError)
	e := servertest.Decode[envelope](t, rec)
	if !strings.HasPrefix(e.Message, "Error processing chat request: ") || !strings.Contains(e.Message, "OPENAI_API_KEY") ||
		!strings.Contains(e.Message, "OPENAI_BASE_URL") || e.Error != e.Message || e.Success {
		t.Errorf("envelope %+v", e)
	}
	_, msgs, err := env.Store.Conversations().Get(t.Context(), alice.tenant, alice.user, "no-key-thread")
	if err != nil || len(msgs) != 1 || msgs[0].Role != "user" {
		t.Errorf("messages %+v, %v; want the user message alone", msgs, err)
	}
}

func TestChatProviderFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		reply openaitest.Reply
		want  string
	}{
		{"server error", openaitest.Error(http.StatusInternalServerError, nil),
			"Error processing chat request: the model provider answered HTTP 500"},
		{"invalid key", openaitest.Error(http.StatusUnauthorized, nil),
			"Error processing chat request: the model provider answered HTTP 401 (invalid_api_key)."},
		{"malformed", openaitest.Malformed(),
			"Error processing chat request: the model provider could not be reached or sent an invalid response."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env, fake := newEnv(t)
			alice := person(t, env, newTenant(t, env), "member")
			fake.Enqueue(tc.reply)
			rec := alice.chat(t, map[string]any{"message": "Hi", "conversation_id": "thread-1"})
			mustStatus(t, rec, http.StatusBadGateway)
			e := servertest.Decode[envelope](t, rec)
			if !strings.HasPrefix(e.Message, tc.want) {
				t.Errorf("message %q, want prefix %q", e.Message, tc.want)
			}
			for _, secret := range []string{fake.URL(), fake.Key(), "127.0.0.1"} {
				if strings.Contains(rec.Body.String(), secret) {
					t.Errorf("the error leaks %q: %s", secret, rec.Body.String())
				}
			}
			_, msgs, err := env.Store.Conversations().Get(t.Context(), alice.tenant, alice.user, "thread-1")
			if err != nil || len(msgs) != 1 || msgs[0].Content != "Hi" {
				t.Errorf("messages %+v, %v; want the user message alone", msgs, err)
			}
		})
	}
}

func TestConversationTenantIsolation(t *testing.T) {
	t.Parallel()
	env, fake := newEnv(t)
	tenantA := newTenant(t, env)
	alice := person(t, env, tenantA, "member")
	fake.Enqueue(openaitest.Text("The secret plan is ready.", openaitest.Usage{}))
	mustStatus(t, alice.chat(t, map[string]any{"message": "secret plan", "conversation_id": "shared-thread"}),
		http.StatusOK)

	bob := person(t, env, newTenant(t, env), "owner")   // another tenant's owner
	carol := person(t, env, tenantA, "member")          // same tenant, another member
	adminA := person(t, env, tenantA, "admin")          // same tenant's admin
	robotB := serviceAccount(t, env, newTenant(t, env)) // another tenant's service account
	for _, c := range []caller{bob, carol, robotB} {
		rec := c.do(http.MethodGet, "/api/v1/conversations", "")
		mustStatus(t, rec, http.StatusOK)
		if strings.TrimSpace(rec.Body.String()) != "[]" {
			t.Errorf("list for an outsider: %s", rec.Body.String())
		}
		rec = c.do(http.MethodGet, "/api/v1/conversations/shared-thread", "")
		mustStatus(t, rec, http.StatusNotFound)
		if e := servertest.Decode[envelope](t, rec); e.Message != "Conversation shared-thread not found" {
			t.Errorf("get: %+v", e)
		}
		mustStatus(t, c.do(http.MethodDelete, "/api/v1/conversations/shared-thread", ""), http.StatusNoContent)
		rec = c.chat(t, map[string]any{"message": "let me in", "conversation_id": "shared-thread"})
		mustStatus(t, rec, http.StatusNotFound)
		if e := servertest.Decode[envelope](t, rec); e.Message != "Conversation shared-thread not found" {
			t.Errorf("chat: %+v", e)
		}
	}
	// The search tool sees only the caller's conversations.
	fake.Enqueue(openaitest.FunctionCall("search_conversations", `{"query":"SECRET"}`),
		openaitest.Text("Nothing.", openaitest.Usage{}))
	mustStatus(t, bob.chat(t, map[string]any{"message": "find it"}), http.StatusOK)
	in := inputItems(t, fake.Requests()[len(fake.Requests())-1])
	if out := in[len(in)-1]["output"]; out != "No conversations contained the requested text." {
		t.Errorf("search for tenant B: %v", out)
	}
	fake.Enqueue(openaitest.FunctionCall("search_conversations", `{"query":"SECRET"}`),
		openaitest.Text("Found.", openaitest.Usage{}))
	mustStatus(t, alice.chat(t, map[string]any{"message": "find it"}), http.StatusOK)
	in = inputItems(t, fake.Requests()[len(fake.Requests())-1])
	if out := fmt.Sprint(in[len(in)-1]["output"]); !strings.Contains(out, "shared-thread: secret plan") {
		t.Errorf("search for the owner: %v", out)
	}

	// Nothing was deleted; the tenant's admin sees it, the owner still has it.
	rec := adminA.do(http.MethodGet, "/api/v1/conversations?limit=10&offset=0", "")
	mustStatus(t, rec, http.StatusOK)
	list := servertest.Decode[[]map[string]any](t, rec)
	if len(list) != 2 {
		t.Fatalf("admin's list: %v", list)
	}
	var shared map[string]any
	for _, c := range list {
		if c["conversation_id"] == "shared-thread" {
			shared = c
		}
	}
	if shared == nil || shared["message_count"] != 2.0 || shared["last_message"] != "The secret plan is ready." {
		t.Errorf("shared-thread summary %v", shared)
	}
	mustStatus(t, alice.do(http.MethodGet, "/api/v1/conversations/shared-thread", ""), http.StatusOK)

	// The owner deletes it; it is gone, memory included.
	mustStatus(t, alice.do(http.MethodDelete, "/api/v1/conversations/shared-thread", ""), http.StatusNoContent)
	mustStatus(t, alice.do(http.MethodGet, "/api/v1/conversations/shared-thread", ""), http.StatusNotFound)
	items, err := env.Store.Conversations().SessionItems(t.Context(), "shared-thread")
	if err != nil || len(items) != 0 {
		t.Errorf("session items after delete: %v, %v", items, err)
	}
}

func TestChatServiceAccount(t *testing.T) {
	t.Parallel()
	env, fake := newEnv(t)
	tenant := newTenant(t, env)
	robot := serviceAccount(t, env, tenant)
	fake.Enqueue(openaitest.Text("Batch done.", openaitest.Usage{}))
	rec := robot.chat(t, map[string]any{"message": "run the batch"})
	mustStatus(t, rec, http.StatusOK)
	id := servertest.Decode[reply](t, rec).ConversationID
	conv, _, err := env.Store.Conversations().Get(t.Context(), tenant, "", id)
	if err != nil || conv.UserID != "" {
		t.Errorf("conversation %+v, %v; want user NULL", conv, err)
	}
	owner := person(t, env, tenant, "owner")
	mustStatus(t, owner.do(http.MethodGet, "/api/v1/conversations/"+id, ""), http.StatusOK)
	member := person(t, env, tenant, "member")
	mustStatus(t, member.do(http.MethodGet, "/api/v1/conversations/"+id, ""), http.StatusNotFound)
}

func TestCatalog(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	alice := person(t, env, newTenant(t, env), "member")
	tests := []struct {
		target string
		status int
		want   any
	}{
		{"/api/v1/agents", http.StatusOK, []any{
			map[string]any{"name": "code_assistant", "status": "active", "description": "Agent specialised for code assistant tasks."},
			map[string]any{"name": "data_analyst", "status": "active", "description": "Agent specialised for data analyst tasks."},
			map[string]any{"name": "triage", "status": "active", "description": "Agent specialised for triage tasks."},
		}},
		{"/api/v1/tools", http.StatusOK, map[string]any{"total_tools": 3.0,
			"tool_names": []any{"tavily_search_tool", "get_current_time", "search_conversations"},
			"categories": []any{"web_search", "utility", "conversation"}}},
		{"/api/v1/agents/triage/status", http.StatusOK,
			map[string]any{"name": "triage", "status": "active", "last_used": nil, "total_conversations": 0.0}},
		{"/api/v1/agents/wizard/status", http.StatusNotFound, map[string]any{"success": false,
			"error": "Agent 'wizard' not found", "message": "Agent 'wizard' not found", "details": nil}},
		{"/api/v1/conversations", http.StatusOK, []any{}},
		{"/api/v1/conversations/" + strings.Repeat("x", 300), http.StatusNotFound, map[string]any{"success": false,
			"error":   "Conversation " + strings.Repeat("x", 300) + " not found",
			"message": "Conversation " + strings.Repeat("x", 300) + " not found", "details": nil}},
	}
	for _, tc := range tests {
		t.Run(tc.target[:min(len(tc.target), 40)], func(t *testing.T) {
			t.Parallel()
			rec := alice.do(http.MethodGet, tc.target, "")
			mustStatus(t, rec, tc.status)
			if d := cmp.Diff(tc.want, servertest.DecodeJSON(t, rec)); d != "" {
				t.Errorf("body (-want +got):\n%s", d)
			}
		})
	}
}

func TestChatBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		body   map[string]any
		status int
		loc    string
	}{
		{"empty message", map[string]any{"message": ""}, http.StatusUnprocessableEntity, "message"},
		{"missing message", map[string]any{}, http.StatusUnprocessableEntity, "message"},
		{"message too long", map[string]any{"message": strings.Repeat("a", 32769)}, http.StatusUnprocessableEntity, "message"},
		{"conversation id too long", map[string]any{"message": "hi", "conversation_id": strings.Repeat("c", 256)},
			http.StatusUnprocessableEntity, "conversation_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env, fake := newEnv(t)
			alice := person(t, env, newTenant(t, env), "member")
			rec := alice.chat(t, tc.body)
			mustStatus(t, rec, tc.status)
			e := servertest.Decode[envelope](t, rec)
			if e.Error != "ValidationError" || !strings.Contains(fmt.Sprint(e.Details), tc.loc) {
				t.Errorf("envelope %+v", e)
			}
			if n := len(fake.Requests()); n != 0 {
				t.Errorf("%d model calls for a refused request", n)
			}
			if list, _, _ := env.Store.Conversations().List(t.Context(), alice.tenant, "", 0, 0); len(list) != 0 {
				t.Errorf("a refused request stored %v", list)
			}
		})
	}
	t.Run("longest message and id are accepted", func(t *testing.T) {
		t.Parallel()
		env, fake := newEnv(t)
		alice := person(t, env, newTenant(t, env), "member")
		fake.Enqueue(openaitest.Text("ok", openaitest.Usage{}))
		id := strings.Repeat("c", 255)
		rec := alice.chat(t, map[string]any{"message": strings.Repeat("a", 32768), "conversation_id": id})
		mustStatus(t, rec, http.StatusOK)
		if got := servertest.Decode[reply](t, rec).ConversationID; got != id {
			t.Errorf("conversation_id %q", got)
		}
	})
	for _, agent := range []any{"wizard", nil, ""} {
		t.Run(fmt.Sprintf("agent %v falls back to triage", agent), func(t *testing.T) {
			t.Parallel()
			env, fake := newEnv(t)
			alice := person(t, env, newTenant(t, env), "member")
			fake.Enqueue(openaitest.Text("ok", openaitest.Usage{}))
			rec := alice.chat(t, map[string]any{"message": "hi", "agent_type": agent, "conversation_id": nil})
			mustStatus(t, rec, http.StatusOK)
			if got := servertest.Decode[reply](t, rec); got.AgentUsed != "triage" {
				t.Errorf("agent_used %q", got.AgentUsed)
			}
			if ins := fmt.Sprint(fake.Requests()[0].Body["instructions"]); !strings.HasPrefix(ins, "# System context") {
				t.Errorf("instructions %q", ins)
			}
		})
	}
}
