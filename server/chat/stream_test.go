package chat_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"agentplane/config"
	"agentplane/server/chat"
	"agentplane/server/chat/openaitest"
	"agentplane/server/servertest"
)

// frame is a decoded SSE data frame.
type frame struct {
	ID             int     `json:"-"`
	Chunk          string  `json:"chunk"`
	ConversationID string  `json:"conversation_id"`
	IsComplete     bool    `json:"is_complete"`
	AgentUsed      *string `json:"agent_used"`
	Error          *string `json:"error"`
}

// sseStream reads a live text/event-stream response segment by segment.
type sseStream struct {
	t    *testing.T
	resp *http.Response
	r    *bufio.Reader
}

// next returns the next raw segment (without its blank line); io.EOF at the end.
func (s *sseStream) next() (string, error) {
	var b strings.Builder
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			if err == io.EOF && b.Len() == 0 && line == "" {
				return "", io.EOF
			}
			return b.String() + line, err
		}
		if line == "\n" {
			return strings.TrimSuffix(b.String(), "\n"), nil
		}
		b.WriteString(line)
	}
}

// frame returns the next data frame, skipping comments; ok false at the end.
func (s *sseStream) frame() (frame, string, bool) {
	s.t.Helper()
	for {
		seg, err := s.next()
		if err == io.EOF {
			return frame{}, "", false
		}
		if err != nil {
			s.t.Fatalf("reading the stream: %v (segment %q)", err, seg)
		}
		if strings.HasPrefix(seg, ": ") {
			continue
		}
		return decodeSegment(s.t, seg), seg, true
	}
}

// decodeSegment parses "id: n\ndata: {…}" or "data: {…}".
func decodeSegment(t *testing.T, seg string) frame {
	t.Helper()
	var f frame
	data := seg
	if rest, ok := strings.CutPrefix(seg, "id: "); ok {
		idText, d, _ := strings.Cut(rest, "\n")
		id, err := strconv.Atoi(idText)
		if err != nil {
			t.Fatalf("bad id line in %q", seg)
		}
		f.ID, data = id, d
	}
	payload, ok := strings.CutPrefix(data, "data: ")
	if !ok || strings.Contains(payload, "\n") {
		t.Fatalf("segment %q is not one data line", seg)
	}
	if err := json.Unmarshal([]byte(payload), &f); err != nil {
		t.Fatalf("frame %q: %v", payload, err)
	}
	return f
}

// live serves env on a real listener, for tests that read a stream as it is
// written or hang up mid-stream.
func live(t testing.TB, env *servertest.Env) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(env.Handler)
	t.Cleanup(srv.Close)
	return srv
}

// open starts a streaming request as c.
func (c caller) open(t *testing.T, srv *httptest.Server, method, path, body string, header map[string]string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = servertest.Host
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return &sseStream{t: t, resp: resp, r: bufio.NewReader(resp.Body)}
}

func (c caller) stream(t *testing.T, body string, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := c.env.JSONRequest(http.MethodPost, "/api/v1/chat/stream", body)
	r.Header.Set("Authorization", "Bearer "+c.token)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	return c.env.Do(r)
}

// segments splits a finished stream body on blank lines.
func segments(t *testing.T, body string) []string {
	t.Helper()
	if !strings.HasSuffix(body, "\n\n") {
		t.Fatalf("stream body does not end with a blank line: %q", body)
	}
	return strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n")
}

var dataLine = regexp.MustCompile(`^data: \{.*\}$`)

func TestChatStreamFraming(t *testing.T) {
	t.Parallel()
	env, fake := newEnv(t)
	alice := person(t, env, newTenant(t, env), "member")
	const text = "Streaming <works> & \"quotes\", ünïcode\nand lines."
	fake.Enqueue(openaitest.Text(text, openaitest.Usage{InputTokens: 20, OutputTokens: 12}))
	rec := alice.stream(t, `{"message":"Hi","agent_type":"code_assistant","conversation_id":"thread-s"}`, nil)
	mustStatus(t, rec, http.StatusOK)
	for k, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
		"Connection": "keep-alive"} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if got := rec.Header().Get("Access-Control-Allow-Origin"); got == "*" {
		t.Error("the stream bypasses the CORS policy with a wildcard origin")
	}
	segs := segments(t, rec.Body.String())
	var got strings.Builder
	for i, seg := range segs {
		if !dataLine.MatchString(seg) {
			t.Fatalf("segment %d %q is not `data: {…}`", i, seg)
		}
		f := decodeSegment(t, seg)
		if f.ConversationID != "thread-s" || f.AgentUsed == nil || *f.AgentUsed != "code_assistant" || f.Error != nil {
			t.Errorf("frame %d: %+v", i, f)
		}
		if last := i == len(segs)-1; f.IsComplete != last {
			t.Errorf("frame %d is_complete %v", i, f.IsComplete)
		}
		got.WriteString(f.Chunk)
	}
	if len(segs) < 3 || got.String() != text {
		t.Errorf("%d frames, text %q; want several chunks of %q", len(segs), got.String(), text)
	}
	first := strings.TrimPrefix(segs[0], "data: ")
	wantPrefix := `{"chunk":`
	if !strings.HasPrefix(first, wantPrefix) || !strings.HasSuffix(first, `,"conversation_id":"thread-s","is_complete":false,"agent_used":"code_assistant"}`) {
		t.Errorf("chunk frame %s: want the reference's compact field order", first)
	}
	if strings.Contains(rec.Body.String(), `\u003c`) || strings.Contains(rec.Body.String(), `\u00fc`) {
		t.Errorf("HTML characters are escaped; the reference writes them raw: %s", rec.Body.String())
	}
	if d := cmp.Diff(`data: {"chunk":"","conversation_id":"thread-s","is_complete":true,"agent_used":"code_assistant"}`,
		segs[len(segs)-1]); d != "" {
		t.Errorf("completion frame (-want +got):\n%s", d)
	}

	h := servertest.Decode[history](t, alice.do(http.MethodGet, "/api/v1/conversations/thread-s", ""))
	if len(h.Messages) != 2 || h.Messages[1].Role != "assistant" || h.Messages[1].Content != text {
		t.Errorf("stored messages %+v; want the streamed reply", h.Messages)
	}
	conv, _, err := env.Store.Conversations().Get(t.Context(), alice.tenant, "", "thread-s")
	if err != nil || conv.TotalPromptTokens != 20 || conv.TotalCompletionTokens != 12 {
		t.Errorf("usage %+v, %v", conv, err)
	}
	req := fake.Requests()[0]
	if req.Body["stream"] != true {
		t.Errorf("model request stream = %v, want true", req.Body["stream"])
	}
}

func TestChatStreamHandoffAndMemory(t *testing.T) {
	t.Parallel()
	env, fake := newEnv(t)
	alice := person(t, env, newTenant(t, env), "member")
	fake.Enqueue(openaitest.Handoff("code_assistant"),
		openaitest.Text("Use a goroutine.", openaitest.Usage{InputTokens: 30, OutputTokens: 5}))
	rec := alice.stream(t, `{"message":"How do I run things concurrently in Go?","conversation_id":"thread-h"}`, nil)
	mustStatus(t, rec, http.StatusOK)
	segs := segments(t, rec.Body.String())
	last := decodeSegment(t, segs[len(segs)-1])
	if !last.IsComplete || last.AgentUsed == nil || *last.AgentUsed != "code_assistant" {
		t.Errorf("completion %+v; want the agent that answered", last)
	}
	for _, seg := range segs[:len(segs)-1] {
		if f := decodeSegment(t, seg); *f.AgentUsed != "code_assistant" {
			t.Errorf("chunk %+v written by code_assistant is tagged otherwise", f)
		}
	}
	// the stored turn is the model's memory on the next (blocking) turn
	fake.Enqueue(openaitest.Text("Yes.", openaitest.Usage{}))
	mustStatus(t, alice.chat(t, map[string]any{"message": "Really?", "conversation_id": "thread-h"}), http.StatusOK)
	in := inputItems(t, fake.Requests()[2])
	if len(in) != 5 || in[0]["role"] != "user" || in[1]["type"] != "function_call" ||
		in[2]["type"] != "function_call_output" || in[3]["role"] != "assistant" || in[4]["content"] != "Really?" {
		t.Errorf("the next turn's input does not hold the streamed turn: %v", in)
	}
}

func TestChatStreamErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		noKey   bool
		reply   openaitest.Reply
		wantErr string
		// the client saw text before the error, which is stored as the reply
		partial bool
	}{
		{name: "provider error", reply: openaitest.Error(http.StatusInternalServerError, nil),
			wantErr: "Error processing chat request: the model provider answered HTTP 500"},
		{name: "missing key", noKey: true, wantErr: "Error processing chat request: the model provider is not configured: set OPENAI_API_KEY"},
		{name: "failed mid-stream", reply: openaitest.Text("Partial answer that the model never finished.", openaitest.Usage{}).FailAfter(6),
			wantErr: "Error processing chat request: the model provider failed while streaming (server_error).", partial: true},
		{name: "malformed event", reply: openaitest.Malformed(),
			wantErr: "Error processing chat request: the model provider sent an invalid response."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env, fake := newEnv(t)
			if tc.noKey {
				env = servertest.New(t)
			} else {
				fake.Enqueue(tc.reply)
			}
			alice := person(t, env, newTenant(t, env), "member")
			rec := alice.stream(t, `{"message":"Hi"}`, nil)
			mustStatus(t, rec, http.StatusOK)
			segs := segments(t, rec.Body.String())
			last := segs[len(segs)-1]
			var chunks strings.Builder
			for _, seg := range segs[:len(segs)-1] {
				chunks.WriteString(decodeSegment(t, seg).Chunk)
			}
			f := decodeSegment(t, last)
			if f.Error == nil || !strings.HasPrefix(*f.Error, tc.wantErr) || !f.IsComplete || f.Chunk != "" {
				t.Fatalf("last frame %s; want an error frame starting %q", last, tc.wantErr)
			}
			if _, err := uuid.Parse(f.ConversationID); err != nil {
				t.Errorf("error frame conversation_id %q; want the generated id", f.ConversationID)
			}
			wantWire := `data: {"error": "` + *f.Error + `", "conversation_id": "` + f.ConversationID +
				`", "is_complete": true, "chunk": ""}`
			if last != wantWire {
				t.Errorf("error frame\n%s\nwant the reference's separators\n%s", last, wantWire)
			}
			_, msgs, err := env.Store.Conversations().Get(t.Context(), alice.tenant, "", f.ConversationID)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case !tc.partial && len(msgs) != 1:
				t.Errorf("stored %+v; want the user message alone", msgs)
			case tc.partial && (len(msgs) != 2 || msgs[1].Content != chunks.String() || chunks.Len() == 0):
				t.Errorf("stored %+v; want the text sent before the failure (%q)", msgs, chunks.String())
			}
		})
	}
}

func TestChatStreamBadInputIsJSON(t *testing.T) {
	t.Parallel()
	env, fake := newEnv(t)
	tenant := newTenant(t, env)
	alice, bob := person(t, env, tenant, "member"), person(t, env, newTenant(t, env), "member")
	// bob's conversation is foreign to alice
	fake.Enqueue(openaitest.Text("yours", openaitest.Usage{}))
	mustStatus(t, bob.stream(t, `{"message":"mine","conversation_id":"bobs"}`, nil), http.StatusOK)
	tests := []struct {
		name, body string
		status     int
	}{
		{"empty message", `{"message":""}`, http.StatusUnprocessableEntity},
		{"oversized message", `{"message":"` + strings.Repeat("a", 32769) + `"}`, http.StatusUnprocessableEntity},
		{"malformed JSON", `{"message":`, http.StatusUnprocessableEntity},
		{"foreign conversation", `{"message":"hi","conversation_id":"bobs"}`, http.StatusNotFound},
	}
	for _, tc := range tests {
		rec := alice.stream(t, tc.body, nil)
		if rec.Code != tc.status || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/") {
			t.Errorf("%s: %d %s %s; want %d JSON", tc.name, rec.Code, rec.Header().Get("Content-Type"), rec.Body.String(), tc.status)
		}
	}
}

func TestChatStreamPing(t *testing.T) {
	t.Parallel()
	fake := openaitest.New(t)
	env := servertest.New(t, servertest.WithOpenAI(fake.URL(), fake.Key()), servertest.WithStreamPing(20*time.Millisecond))
	alice := person(t, env, newTenant(t, env), "member")
	release := make(chan struct{})
	fake.Enqueue(openaitest.Text("after a pause", openaitest.Usage{}).PauseAfter(2, release))
	s := alice.open(t, live(t, env), http.MethodPost, "/api/v1/chat/stream", `{"message":"Hi"}`, nil)
	seg, err := s.next()
	if err != nil || seg != ": ping" {
		t.Fatalf("first segment %q, %v; want a ping while the model is silent", seg, err)
	}
	close(release)
	var text strings.Builder
	for {
		f, _, ok := s.frame()
		if !ok {
			break
		}
		text.WriteString(f.Chunk)
	}
	if text.String() != "after a pause" {
		t.Errorf("text %q", text.String())
	}
}

// TestChatStreamClientGone: a client that hangs up cancels the model call,
// the text it was sent is stored, and its concurrency slot is free again.
func TestChatStreamClientGone(t *testing.T) {
	t.Parallel()
	abandoned := make(chan struct{}, 1)
	fake := openaitest.New(t, openaitest.NotifyAbandoned(abandoned))
	env := servertest.New(t, servertest.WithOpenAI(fake.URL(), fake.Key()),
		servertest.WithSettings(func(s *config.Settings) { s.ChatStreamConcurrentLimit = 1 }))
	alice := person(t, env, newTenant(t, env), "member")
	srv := live(t, env)
	fake.Enqueue(openaitest.Text("One two three four five six seven eight nine ten.", openaitest.Usage{}).HangAfter(7))
	s := alice.open(t, srv, http.MethodPost, "/api/v1/chat/stream", `{"message":"Count","conversation_id":"gone"}`, nil)
	f, _, ok := s.frame()
	if !ok || f.Chunk == "" {
		t.Fatalf("first frame %+v", f)
	}
	// a second stream while the first holds the only slot
	second := alice.stream(t, `{"message":"again"}`, nil)
	mustStatus(t, second, http.StatusTooManyRequests)
	if e := servertest.Decode[envelope](t, second); !strings.Contains(e.Message, "chat_stream_concurrency") {
		t.Errorf("429 message %q", e.Message)
	}
	seen := f.Chunk
	for len(seen) < 5 { // read what was sent before the model stalled
		f, _, _ := s.frame()
		seen += f.Chunk
	}
	s.resp.Body.Close()
	select {
	case <-abandoned:
	case <-time.After(10 * time.Second):
		t.Fatal("the model call was not cancelled when the client left")
	}
	// the partial reply is stored and the slot released; wait for the
	// handler to finish without sleeping blindly
	deadline := time.Now().Add(10 * time.Second)
	fake.Enqueue(openaitest.Text("ok", openaitest.Usage{}))
	for {
		rec := alice.stream(t, `{"message":"after","conversation_id":"other"}`, nil)
		if rec.Code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the slot was not released: %d %s", rec.Code, rec.Body.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, msgs, err := env.Store.Conversations().Get(t.Context(), alice.tenant, "", "gone")
	if err != nil || len(msgs) != 2 || !strings.HasPrefix(msgs[1].Content, seen) {
		t.Errorf("stored %+v, %v; want the partial reply starting %q", msgs, err, seen)
	}
}

func TestChatStreamQuota(t *testing.T) {
	t.Parallel()
	fake := openaitest.New(t)
	env := servertest.New(t, servertest.WithOpenAI(fake.URL(), fake.Key()),
		servertest.WithSettings(func(s *config.Settings) { s.ChatStreamRateLimitPerMinute = 1 }))
	alice := person(t, env, newTenant(t, env), "member")
	fake.Enqueue(openaitest.Text("one", openaitest.Usage{}))
	mustStatus(t, alice.stream(t, `{"message":"1"}`, nil), http.StatusOK)
	rec := alice.stream(t, `{"message":"2"}`, nil)
	mustStatus(t, rec, http.StatusTooManyRequests)
	e := servertest.Decode[envelope](t, rec)
	if !strings.HasPrefix(e.Message, "Rate limit exceeded (chat_stream_per_minute). Retry after ") || rec.Header().Get("Retry-After") == "" {
		t.Errorf("429 %+v headers %v", e, rec.Header())
	}
	if fake.Pending() != 0 || len(fake.Requests()) != 1 {
		t.Errorf("the refused stream reached the model")
	}
}

// readAll reads frames to the end of the stream.
func (s *sseStream) readAll() []frame {
	s.t.Helper()
	var out []frame
	for {
		f, _, ok := s.frame()
		if !ok {
			return out
		}
		out = append(out, f)
	}
}

func TestChatStreamResume(t *testing.T) {
	t.Parallel()
	env, fake := newEnv(t)
	alice := person(t, env, newTenant(t, env), "member")
	srv := live(t, env)
	release := make(chan struct{})
	const text = "Every frame of this answer reaches the client that comes back."
	fake.Enqueue(openaitest.Handoff("data_analyst"),
		openaitest.Text(text, openaitest.Usage{InputTokens: 7, OutputTokens: 9}).PauseAfter(8, release))
	s := alice.open(t, srv, http.MethodPost, "/api/v1/chat/stream", `{"message":"Hi","conversation_id":"resume-me"}`,
		map[string]string{"Last-Event-ID": "0"})
	var seen []frame
	for len(seen) < 3 {
		f, seg, ok := s.frame()
		if !ok {
			t.Fatal("the stream ended early")
		}
		if f.ID != len(seen)+1 || !strings.HasPrefix(seg, "id: "+strconv.Itoa(f.ID)+"\ndata: ") {
			t.Fatalf("segment %q: want id %d before data", seg, len(seen)+1)
		}
		seen = append(seen, f)
	}
	s.resp.Body.Close() // the connection drops mid-answer; the model is still writing

	r := alice.open(t, srv, http.MethodGet, "/api/v1/chat/stream/resume-me", "", map[string]string{"Last-Event-ID": "3"})
	if r.resp.StatusCode != http.StatusOK || r.resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("resume answered %d %s", r.resp.StatusCode, r.resp.Header.Get("Content-Type"))
	}
	// the resume has answered (it read the log while the model is paused):
	// now the model goes on, and the resume must follow the live turn
	close(release)
	rest := r.readAll()
	all := append(seen, rest...)
	var got strings.Builder
	for i, f := range all {
		if f.ID != i+1 {
			t.Fatalf("frame %d has id %d: a frame was lost or repeated", i+1, f.ID)
		}
		got.WriteString(f.Chunk)
	}
	last := all[len(all)-1]
	if got.String() != text || !last.IsComplete || last.AgentUsed == nil || *last.AgentUsed != "data_analyst" {
		t.Errorf("text %q, last %+v", got.String(), last)
	}
	h := servertest.Decode[history](t, alice.do(http.MethodGet, "/api/v1/conversations/resume-me", ""))
	if len(h.Messages) != 2 || h.Messages[1].Content != text {
		t.Errorf("stored %+v; the turn must finish although its first client left", h.Messages)
	}

	// an ended turn replays from any id, and from 0 in full
	again := alice.open(t, srv, http.MethodGet, "/api/v1/chat/stream/resume-me", "", map[string]string{"Last-Event-ID": "0"}).readAll()
	if len(again) != len(all) {
		t.Errorf("full replay has %d frames, want %d", len(again), len(all))
	}
	tail := alice.open(t, srv, http.MethodGet, "/api/v1/chat/stream/resume-me", "",
		map[string]string{"Last-Event-ID": strconv.Itoa(len(all) + 5)}).readAll()
	if len(tail) != 0 {
		t.Errorf("replay past the end sent %d frames", len(tail))
	}
	// deleting the conversation deletes its frames too
	mustStatus(t, alice.do(http.MethodDelete, "/api/v1/conversations/resume-me", ""), http.StatusNoContent)
	if n := env.Redis.Keys(t.Context(), "*chat:turn:*").Val(); len(n) != 0 {
		t.Errorf("frames left after delete: %v", n)
	}
}

func TestChatStreamResumeRefusals(t *testing.T) {
	t.Parallel()
	env, fake := newEnv(t)
	tenant := newTenant(t, env)
	alice, carol := person(t, env, tenant, "member"), person(t, env, tenant, "member")
	admin := person(t, env, tenant, "admin")
	mallory := person(t, env, newTenant(t, env), "owner")
	fake.Enqueue(openaitest.Text("resumable", openaitest.Usage{}), openaitest.Text("plain", openaitest.Usage{}))
	mustStatus(t, alice.stream(t, `{"message":"1","conversation_id":"alices"}`, map[string]string{"Last-Event-ID": "0"}), http.StatusOK)
	plain := alice.stream(t, `{"message":"2","conversation_id":"plain"}`, map[string]string{"Last-Event-ID": "7"})
	mustStatus(t, plain, http.StatusOK)
	if strings.Contains(plain.Body.String(), "id: ") {
		t.Errorf("a stream that did not opt in with Last-Event-ID: 0 carries id lines: %s", plain.Body.String())
	}
	tests := []struct {
		name   string
		who    caller
		path   string
		lastID string
		status int
	}{
		{"owner", alice, "alices", "1", http.StatusOK},
		{"tenant admin", admin, "alices", "", http.StatusOK},
		{"another member", carol, "alices", "0", http.StatusNotFound},
		{"another tenant", mallory, "alices", "0", http.StatusNotFound},
		{"unknown conversation", alice, "nobody-knows", "0", http.StatusNotFound},
		{"not resumable", alice, "plain", "0", http.StatusNotFound},
		{"bad id", alice, "alices", "three", http.StatusUnprocessableEntity},
		{"negative id", alice, "alices", "-1", http.StatusUnprocessableEntity},
	}
	for _, tc := range tests {
		r := tc.who.env.Request(http.MethodGet, "/api/v1/chat/stream/"+tc.path, nil)
		r.Header.Set("Authorization", "Bearer "+tc.who.token)
		if tc.lastID != "" {
			r.Header.Set("Last-Event-ID", tc.lastID)
		}
		rec := env.Do(r)
		if rec.Code != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, rec.Code, rec.Body.String(), tc.status)
		}
		if tc.status == http.StatusNotFound && strings.Contains(rec.Body.String(), "resumable") != (tc.name == "not resumable") {
			t.Errorf("%s: %s; a foreign conversation must look unknown", tc.name, rec.Body.String())
		}
	}
}

// TestChatModelTimeouts: a model that never answers, or stalls mid-stream,
// ends the turn with the timeout error; what was streamed stays stored.
func TestChatModelTimeouts(t *testing.T) {
	t.Parallel()
	const want = "Error processing chat request: the model provider did not answer in time."
	newTimeoutEnv := func(t *testing.T) (*servertest.Env, *openaitest.Server, caller) {
		fake := openaitest.New(t)
		env := servertest.New(t, servertest.WithOpenAI(fake.URL(), fake.Key()),
			servertest.WithModelTimeout(200*time.Millisecond))
		return env, fake, person(t, env, newTenant(t, env), "member")
	}
	t.Run("blocking", func(t *testing.T) {
		t.Parallel()
		_, fake, alice := newTimeoutEnv(t)
		fake.Enqueue(openaitest.Hang())
		rec := alice.chat(t, map[string]any{"message": "Hi"})
		mustStatus(t, rec, http.StatusBadGateway)
		if e := servertest.Decode[envelope](t, rec); e.Message != want {
			t.Errorf("message %q, want %q", e.Message, want)
		}
	})
	t.Run("stream stalls", func(t *testing.T) {
		t.Parallel()
		env, fake, alice := newTimeoutEnv(t)
		fake.Enqueue(openaitest.Text("Half of an answer, then silence.", openaitest.Usage{}).HangAfter(7))
		rec := alice.stream(t, `{"message":"Hi","conversation_id":"stalled"}`, nil)
		mustStatus(t, rec, http.StatusOK)
		segs := segments(t, rec.Body.String())
		var sent strings.Builder
		for _, seg := range segs[:len(segs)-1] {
			sent.WriteString(decodeSegment(t, seg).Chunk)
		}
		if f := decodeSegment(t, segs[len(segs)-1]); f.Error == nil || *f.Error != want || sent.Len() == 0 {
			t.Fatalf("frames %q; want chunks, then the timeout error", segs)
		}
		_, msgs, err := env.Store.Conversations().Get(t.Context(), alice.tenant, "", "stalled")
		if err != nil || len(msgs) != 2 || msgs[1].Content != sent.String() {
			t.Errorf("stored %+v, %v; want the text sent before the stall", msgs, err)
		}
	})
}

// TestChatStreamReusesModelConnections: streamed model calls give their
// connection back, so a run of turns does not dial the model each time.
func TestChatStreamReusesModelConnections(t *testing.T) {
	t.Parallel()
	env, fake := newEnv(t)
	alice := person(t, env, newTenant(t, env), "member")
	srv := live(t, env)
	for range 5 {
		fake.Enqueue(openaitest.Text("Again.", openaitest.Usage{}))
		if frames := alice.open(t, srv, http.MethodPost, "/api/v1/chat/stream", `{"message":"Hi"}`, nil).readAll(); len(frames) == 0 || !frames[len(frames)-1].IsComplete {
			t.Fatalf("frames %+v", frames)
		}
	}
	if n := fake.Conns(); n != 1 {
		t.Errorf("5 sequential turns opened %d model connections, want 1", n)
	}
}

// TestChatStreamKeepsWhatWasSent: a consumer that goes away right after the
// last chunk still finds the whole reply stored, as does one that stops
// reading in the middle (with what it was sent).
func TestChatStreamKeepsWhatWasSent(t *testing.T) {
	t.Parallel()
	const text = "Every word of this answer was already on the screen."
	for _, tc := range []struct {
		name   string
		stopAt int // cancel after this many chunks; 0: after the last
	}{{"after the last chunk", 0}, {"mid-answer", 3}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env, fake := newEnv(t)
			alice := person(t, env, newTenant(t, env), "member")
			fake.Enqueue(openaitest.Text(text, openaitest.Usage{InputTokens: 5, OutputTokens: 9}))
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			sc := chat.Scope{TenantID: alice.tenant, UserID: alice.user}
			p, err := env.Chat.Begin(ctx, sc, chat.Turn{Message: "Say it", ConversationID: "kept"})
			if err != nil {
				t.Fatal(err)
			}
			var sent strings.Builder
			n := 0
			for f, err := range p.Stream(ctx) {
				if err != nil || f.IsComplete {
					break
				}
				sent.WriteString(f.Chunk)
				n++
				if n == tc.stopAt || tc.stopAt == 0 && sent.String() == text {
					cancel() // the client is gone
				}
				if n == tc.stopAt {
					break
				}
			}
			_, msgs, err := env.Store.Conversations().Get(t.Context(), alice.tenant, alice.user, "kept")
			if err != nil || len(msgs) != 2 || msgs[1].Content != sent.String() || sent.Len() == 0 {
				t.Errorf("stored %+v, %v; want the %q the client was sent", msgs, err, sent.String())
			}
		})
	}
}

// TestChatStreamOutlivesBodyReadTimeout: a stream runs past huma's 5 s
// body read deadline (which, left on the connection, used to cancel every
// longer stream) to its completion. It takes 5.5 s of wall time.
func TestChatStreamOutlivesBodyReadTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 5.5 s")
	}
	t.Parallel()
	env, fake := newEnv(t)
	alice := person(t, env, newTenant(t, env), "member")
	release := make(chan struct{})
	fake.Enqueue(openaitest.Text("Slow but whole.", openaitest.Usage{}).PauseAfter(5, release))
	time.AfterFunc(5500*time.Millisecond, func() { close(release) })
	frames := alice.open(t, live(t, env), http.MethodPost, "/api/v1/chat/stream", `{"message":"Take your time"}`, nil).readAll()
	if len(frames) == 0 || !frames[len(frames)-1].IsComplete || frames[len(frames)-1].Error != nil {
		t.Fatalf("frames %+v; want the stream to complete after 5.5 s", frames)
	}
}
