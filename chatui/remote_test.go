package chatui

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"agentplane/server/chat"
)

// sseServer is a fake agentplane API: POST /api/v1/chat/stream sends the
// frames of script (cutting the connection after cutAfter of them when
// cutAfter > 0), and GET /api/v1/chat/stream/{id} resumes after
// Last-Event-ID, as DESIGN decision 14 says.
type sseServer struct {
	t        *testing.T
	frames   []chat.Frame
	cutAfter int
	resume   bool // answer resumes; else 404 in the envelope

	mu       sync.Mutex
	requests []seenRequest
}

type seenRequest struct {
	Method, Path, LastEventID, Auth string
	Body                            map[string]any
}

func (s *sseServer) start() *httptest.Server {
	srv := httptest.NewServer(s)
	s.t.Cleanup(srv.Close)
	return srv
}

func (s *sseServer) seen() []seenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seenRequest(nil), s.requests...)
}

func (s *sseServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := seenRequest{Method: r.Method, Path: r.URL.Path, LastEventID: r.Header.Get("Last-Event-ID"), Auth: r.Header.Get("Authorization")}
	if r.Method == http.MethodPost {
		if err := json.NewDecoder(r.Body).Decode(&req.Body); err != nil {
			s.t.Errorf("request body: %v", err)
		}
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	first := len(s.requests) == 1
	s.mu.Unlock()

	from := 0
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/chat/stream":
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v1/chat/stream/") && s.resume:
		from, _ = strconv.Atoi(req.LastEventID)
	default:
		writeEnvelope(w, http.StatusNotFound, "No resumable stream for this conversation.")
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprint(w, ": ping\n\n")
	for i, f := range s.frames[from:] {
		if first && s.cutAfter > 0 && i == s.cutAfter {
			// a half-written event, then the connection drops
			fmt.Fprint(w, "id: 99\ndata: {\"chu")
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		fmt.Fprintf(w, "id: %d\ndata: %s\n\n", from+i+1, f.Wire())
		w.(http.Flusher).Flush()
	}
}

func writeEnvelope(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"success":false,"error":%q,"message":%q,"details":null}`, http.StatusText(status), msg)
}

func collect(t *testing.T, r *Remote, turn chat.Turn) ([]chat.Frame, error) {
	t.Helper()
	var out []chat.Frame
	for f, err := range r.Stream(t.Context(), turn) {
		if err != nil {
			return out, err
		}
		out = append(out, f)
	}
	return out, nil
}

var script = []chat.Frame{
	{Chunk: "Let me ", ConversationID: "c1", AgentUsed: "triage"},
	{Chunk: "hand this ", ConversationID: "c1", AgentUsed: "code_assistant"},
	{Chunk: "over.", ConversationID: "c1", AgentUsed: "code_assistant"},
	{ConversationID: "c1", IsComplete: true, AgentUsed: "code_assistant"},
}

func numbered(fs []chat.Frame) []chat.Frame {
	out := make([]chat.Frame, len(fs))
	for i, f := range fs {
		f.ID = i + 1
		out[i] = f
	}
	return out
}

func TestRemoteStream(t *testing.T) {
	t.Parallel()
	s := &sseServer{t: t, frames: script}
	r, err := NewRemote(RemoteConfig{BaseURL: s.start().URL + "/", Session: Session{AccessToken: "tok"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := collect(t, r, chat.Turn{Message: "hi", AgentType: "triage"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(numbered(script), got); diff != "" {
		t.Errorf("frames (-want +got):\n%s", diff)
	}
	want := []seenRequest{{Method: "POST", Path: "/api/v1/chat/stream", LastEventID: "0", Auth: "Bearer tok",
		Body: map[string]any{"message": "hi", "conversation_id": nil, "agent_type": "triage"}}}
	if diff := cmp.Diff(want, s.seen()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestRemoteStreamResumesAfterDrop(t *testing.T) {
	t.Parallel()
	s := &sseServer{t: t, frames: script, cutAfter: 2, resume: true}
	r, err := NewRemote(RemoteConfig{BaseURL: s.start().URL, Session: Session{AccessToken: "tok"}, Backoff: []time.Duration{0}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := collect(t, r, chat.Turn{Message: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(numbered(script), got); diff != "" {
		t.Errorf("frames, each once (-want +got):\n%s", diff)
	}
	seen := s.seen()
	if len(seen) != 2 {
		t.Fatalf("requests %+v, want the stream and one resume", seen)
	}
	if diff := cmp.Diff(seenRequest{Method: "GET", Path: "/api/v1/chat/stream/c1", LastEventID: "2", Auth: "Bearer tok"}, seen[1]); diff != "" {
		t.Errorf("resume request (-want +got):\n%s", diff)
	}
}

func TestRemoteStreamResumeRefused(t *testing.T) {
	t.Parallel()
	s := &sseServer{t: t, frames: script, cutAfter: 1}
	r, err := NewRemote(RemoteConfig{BaseURL: s.start().URL, Backoff: []time.Duration{0}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := collect(t, r, chat.Turn{Message: "hi"})
	if len(got) != 1 || err == nil {
		t.Fatalf("got %v, %v; want one frame, then an error", got, err)
	}
	if want := "the reply stream was cut and the server cannot resume it: No resumable stream for this conversation. (HTTP 404)"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func TestRemoteErrorsShowTheEnvelopeMessage(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeEnvelope(w, http.StatusTooManyRequests, "Chat rate limit exceeded.")
	}))
	t.Cleanup(srv.Close)
	r, err := NewRemote(RemoteConfig{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = collect(t, r, chat.Turn{Message: "hi"})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 429 || err.Error() != "Chat rate limit exceeded. (HTTP 429)" {
		t.Errorf("stream error %v", err)
	}
	if _, err := r.Agents(t.Context()); err == nil || err.Error() != "Chat rate limit exceeded. (HTTP 429)" {
		t.Errorf("agents error %v", err)
	}
}

// TestRemoteRefreshesOn401: an expired access token is renewed once with
// the refresh token, the request retried, and the new session reported.
func TestRemoteRefreshesOn401(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		switch {
		case r.URL.Path == "/api/v1/auth/refresh":
			var body map[string]string
			json.NewDecoder(r.Body).Decode(&body)
			if body["refresh_token"] != "r1" {
				writeEnvelope(w, 401, "bad refresh")
				return
			}
			io.WriteString(w, `{"access_token":"a2","refresh_token":"r2","token_type":"bearer"}`)
		case r.Header.Get("Authorization") != "Bearer a2":
			writeEnvelope(w, 401, "Token has expired.")
		default:
			io.WriteString(w, `[{"name":"triage","status":"active","description":"d"}]`)
		}
	}))
	t.Cleanup(srv.Close)
	var saved Session
	r, err := NewRemote(RemoteConfig{BaseURL: srv.URL, Session: Session{AccessToken: "a1", RefreshToken: "r1"},
		OnRefresh: func(s Session) { saved = s }})
	if err != nil {
		t.Fatal(err)
	}
	agents, err := r.Agents(t.Context())
	if err != nil || len(agents) != 1 || agents[0].Name != "triage" {
		t.Fatalf("agents %v, %v", agents, err)
	}
	if want := (Session{AccessToken: "a2", RefreshToken: "r2"}); saved != want {
		t.Errorf("saved %+v, want %+v", saved, want)
	}
	want := []string{"GET /api/v1/agents Bearer a1", "POST /api/v1/auth/refresh Bearer a1", "GET /api/v1/agents Bearer a2"}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestRemoteCalls(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method + " " + r.URL.RequestURI() {
		case "POST /api/v1/auth/token":
			var body map[string]string
			json.NewDecoder(r.Body).Decode(&body)
			if body["email"] != "dev@example.com" || body["password"] != "pw-123456" {
				writeEnvelope(w, 401, "Invalid email or password.")
				return
			}
			io.WriteString(w, `{"access_token":"a","refresh_token":"r","token_type":"bearer"}`)
		case "POST /api/v1/chat":
			io.WriteString(w, `{"response":"done","conversation_id":"c9","agent_used":"data_analyst","handoff_occurred":true,"metadata":{}}`)
		case "GET /api/v1/conversations?limit=20":
			io.WriteString(w, `[{"conversation_id":"c9","message_count":2,"last_message":"done","created_at":"2026-01-02T03:04:05Z","updated_at":"2026-01-02T03:04:06Z"}]`)
		case "GET /api/v1/conversations/c9":
			io.WriteString(w, `{"conversation_id":"c9","messages":[{"role":"user","content":"q","timestamp":"2026-01-02T03:04:05Z"}],"created_at":"2026-01-02T03:04:05Z","updated_at":"2026-01-02T03:04:05Z","agent_context":{}}`)
		case "GET /api/v1/tools":
			io.WriteString(w, `{"total_tools":1,"tool_names":["web_search"],"categories":["search"]}`)
		default:
			writeEnvelope(w, 404, "Not Found")
		}
	}))
	t.Cleanup(srv.Close)
	ctx := t.Context()
	s, err := Login(ctx, srv.Client(), srv.URL, "dev@example.com", "pw-123456")
	if err != nil || s != (Session{AccessToken: "a", RefreshToken: "r"}) {
		t.Fatalf("Login = %+v, %v", s, err)
	}
	if _, err := Login(ctx, srv.Client(), srv.URL, "dev@example.com", "wrong"); err == nil ||
		!strings.HasPrefix(err.Error(), "Invalid email or password. (HTTP 401)") {
		t.Errorf("bad login: %v", err)
	}
	r, _ := NewRemote(RemoteConfig{BaseURL: srv.URL, Session: s})
	if rep, err := r.Chat(ctx, chat.Turn{Message: "q"}); err != nil || rep.AgentUsed != "data_analyst" || !rep.HandoffOccurred {
		t.Errorf("Chat = %+v, %v", rep, err)
	}
	if l, err := r.Conversations(ctx, 20); err != nil || len(l) != 1 || l[0].MessageCount != 2 {
		t.Errorf("Conversations = %+v, %v", l, err)
	}
	if h, err := r.Conversation(ctx, "c9"); err != nil || len(h.Messages) != 1 {
		t.Errorf("Conversation = %+v, %v", h, err)
	}
	if tl, err := r.Tools(ctx); err != nil || tl.TotalTools != 1 {
		t.Errorf("Tools = %+v, %v", tl, err)
	}
	if _, err := r.Conversation(ctx, "nope"); !isNotFound(err) {
		t.Errorf("unknown conversation: %v", err)
	}
}

// TestReadFramesIdle: a connection that goes silent is given up after the
// idle timeout (fake clock), so the stream can resume.
func TestReadFramesIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pr, pw := io.Pipe()
		defer pw.Close()
		r := &Remote{idle: time.Minute}
		go fmt.Fprintf(pw, "id: 1\ndata: %s\n\n: ping\n\n", script[0].Wire())
		var got []chat.Frame
		done, stopped, cut := r.readFrames(t.Context(), &http.Response{Body: pr}, func(f chat.Frame) bool {
			got = append(got, f)
			return true
		})
		if done || stopped || cut == nil || cut.Error() != "no data for 1m0s" {
			t.Errorf("readFrames = %v, %v, %v", done, stopped, cut)
		}
		if len(got) != 1 || got[0].ID != 1 {
			t.Errorf("frames %+v", got)
		}
	})
}

func TestReadSSE(t *testing.T) {
	t.Parallel()
	in := ": ping\n\nid: 3\ndata: a\ndata: b\n\nevent: message\r\ndata:c\r\n\r\n: ping\n\ndata: d\n"
	var got []sseEvent
	var end error
	for ev, err := range readSSE(strings.NewReader(in), func() {}) {
		if err != nil {
			end = err
			break
		}
		got = append(got, ev)
	}
	want := []sseEvent{{id: 3, data: "a\nb"}, {id: 3, data: "c"}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(sseEvent{})); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if end != io.EOF {
		t.Errorf("end %v, want EOF (the last event was not terminated)", end)
	}
}

func TestBaseURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"http://127.0.0.1:8000/": "http://127.0.0.1:8000", "https://api.example.com/x": "https://api.example.com/x"} {
		if got, err := BaseURL(in); err != nil || got != want {
			t.Errorf("BaseURL(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "127.0.0.1:8000", "ftp://x"} {
		if _, err := BaseURL(in); err == nil {
			t.Errorf("BaseURL(%q) accepted", in)
		}
	}
}
