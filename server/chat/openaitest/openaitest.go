// Package openaitest is an in-process OpenAI Responses API for tests: an
// httptest server that answers POST /responses (and /v1/responses) with
// scripted replies in the real wire format — JSON bodies and SSE streams
// shaped like the recorded traffic in testdata/ (field order, framing, event
// order, sequence numbers) — checks the bearer key and records every request.
// It imports no OpenAI SDK, so any client, openai-go included, talks to it
// through its base URL (spec: agents-and-data.md §3.3, DESIGN decision 2).
//
// Each model call consumes one Reply queued with Enqueue; a call with nothing
// queued gets a 500 that names the test and the missing Enqueue.
package openaitest

import (
	"bytes"
	"context"
	_ "embed" // the recorded 401 and 429 bodies
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// DefaultKey is the API key a Server expects unless WithKey says otherwise.
const DefaultKey = "sk-openaitest-key"

// DefaultModel is the model a Response names when the request names none.
const DefaultModel = "gpt-4.1-2025-04-14"

// The recorded error bodies: a wrong or missing key, and a rate limit.
var (
	//go:embed testdata/error-response-401.json
	invalidKeyBody string
	//go:embed testdata/error-response.json
	rateLimitBody string
)

// failStreamText is the text whose stream FailStream cuts; use
// Text(…).FailAfter(n) when a test needs to know the partial text.
const failStreamText = "This answer was cut short: the model failed while writing it."

// Server is a fake OpenAI Responses API. It is safe for concurrent use.
type Server struct {
	srv      *httptest.Server
	name     string // the test's name, for the empty-queue message
	key      string
	delay    time.Duration
	pace     time.Duration
	done     chan struct{} // closed at cleanup: hanging handlers abort
	hangDone chan<- struct{}
	onDelta  func(raw []byte, took time.Duration)
	tls      bool

	mu       sync.Mutex
	queue    []Reply
	requests []Request
	always   *Reply // see Always
	lastRaw  []byte // the last request body, recorded even with Always
	conns    atomic.Int64
}

// Conns is how many connections clients have opened to the Server: a client
// that reuses its connections opens one per concurrent call.
func (s *Server) Conns() int { return int(s.conns.Load()) }

// Option configures a Server in New.
type Option func(*Server)

// WithKey sets the API key the Server expects in "Authorization: Bearer <key>".
func WithKey(key string) Option { return func(s *Server) { s.key = key } }

// Delay makes the Server wait d before the first byte of every answer, so a
// relay's own time to first byte can be measured against a known model one.
// Use it only in tests that measure time.
func Delay(d time.Duration) Option { return func(s *Server) { s.delay = d } }

// Pace makes the Server wait d between two events of a streamed answer, as
// a model writing a long reply does (load tools; tests that measure time).
func Pace(d time.Duration) Option { return func(s *Server) { s.pace = d } }

// OnFirstDelta makes the Server call fn once per streamed answer, when the
// event with its first text delta has been flushed, with the request body
// and the time since the request reached its handler: the model's own time
// to first delta, which a load tool subtracts from what a client of a relay
// saw to get the relay's share.
func OnFirstDelta(fn func(raw []byte, took time.Duration)) Option {
	return func(s *Server) { s.onDelta = fn }
}

// NotifyAbandoned makes the Server send on ch (without blocking) each time
// a request ends before its answer does (during the Delay, a hang, a pause
// or the stream): the client gave up on the model call.
func NotifyAbandoned(ch chan<- struct{}) Option { return func(s *Server) { s.hangDone = ch } }

// TLS makes the Server speak HTTPS with HTTP/2, as OpenAI's API does, on a
// certificate of its own: Client trusts it, and a client in another process
// can be given CertPEM (as SSL_CERT_FILE, say).
func TLS() Option { return func(s *Server) { s.tls = true } }

// New starts a Server; it is closed in tb.Cleanup, which also ends any answer
// still hanging.
func New(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s := start(tb.Name(), opts)
	tb.Cleanup(s.Close)
	return s
}

// Start starts a Server outside a test — a load tool's model (with Always);
// stop it with Close.
func Start(opts ...Option) *Server { return start("openaitest.Start", opts) }

func start(name string, opts []Option) *Server {
	s := &Server{name: name, key: DefaultKey, done: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Config.ConnState = func(c net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	if s.tls {
		s.srv.EnableHTTP2 = true
		s.srv.StartTLS()
	} else {
		s.srv.Start()
	}
	return s
}

// CertPEM is the certificate of a TLS Server in PEM (nil without TLS).
func (s *Server) CertPEM() []byte {
	c := s.srv.Certificate()
	if c == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// Close ends hanging answers and stops the Server.
func (s *Server) Close() {
	close(s.done) // first, so that Close does not wait on a Hang
	s.srv.Close()
}

// LastBody is the body of the last request the Server answered (kept even
// with Always), e.g. for a load tool to replay it.
func (s *Server) LastBody() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastRaw
}

// Always makes the Server answer r to every call that finds the queue
// empty, instead of a 500, and stop recording requests: a model for load
// tools, which make more calls than a test could queue.
func Always(r Reply) Option { return func(s *Server) { s.always = &r } }

// URL is the base URL to use as OPENAI_BASE_URL: the Server answers both
// <URL>/responses and <URL>/v1/responses.
func (s *Server) URL() string { return s.srv.URL }

// Key is the API key the Server expects.
func (s *Server) Key() string { return s.key }

// Client is an HTTP client for the Server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Enqueue scripts the next model calls: each call, in arrival order, consumes
// one reply.
func (s *Server) Enqueue(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, replies...)
}

// Pending counts the enqueued replies no call has consumed yet.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// Request is one request the Server received, whatever its answer.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   map[string]any // the decoded JSON body; nil when it is not a JSON object
	Raw    []byte         // the body as sent
}

// Requests returns every request received so far, oldest first. Treat Body
// and Raw as read-only.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.Header = r.Header.Clone()
		out[i] = r
	}
	return out
}

// Usage is the token usage a Response reports; total_tokens is
// InputTokens+OutputTokens.
type Usage struct {
	InputTokens     int
	CachedTokens    int // input_tokens_details.cached_tokens
	OutputTokens    int
	ReasoningTokens int // output_tokens_details.reasoning_tokens
}

// callUsage is the usage of FunctionCall and Handoff replies (the recorded
// function call's).
var callUsage = Usage{InputTokens: 412, OutputTokens: 41}

type replyKind int

const (
	kindOutput replyKind = iota
	kindError
	kindHang
	kindMalformed
)

type cutMode int

const (
	cutNone cutMode = iota
	cutFail
	cutHang
)

// Reply is the scripted answer to one model call. Build it with Text,
// FunctionCall, Handoff, Combine, Error, FailStream, Hang or Malformed.
type Reply struct {
	kind   replyKind
	items  []item // kindOutput: the Response's output, in order
	usage  Usage
	status int    // kindError
	body   []byte // kindError
	cut    cutMode
	cutAt  int
	header http.Header
	// pause: a streamed answer waits after pauseAt events until pause is closed
	pause   <-chan struct{}
	pauseAt int
}

// item is one output item: an assistant message, or a function call when name
// is set.
type item struct {
	text      string
	name      string
	arguments string
}

func (i item) call() bool { return i.name != "" }

// Text answers with one assistant message holding text: a Response like
// testdata/text-nonstream.json, or with "stream": true the events of
// testdata/text-stream.sse, the text split over several
// response.output_text.delta events.
func Text(text string, usage Usage) Reply {
	return Reply{items: []item{{text: text}}, usage: usage}
}

// FunctionCall answers with one function_call output item (a fresh call_id)
// calling name with argumentsJSON, like testdata/function-call-nonstream.json
// or, streamed, testdata/function-call-stream.sse with the arguments split
// over response.function_call_arguments.delta events. It reports 412 input
// and 41 output tokens unless WithUsage says otherwise.
func FunctionCall(name, argumentsJSON string) Reply {
	return Reply{items: []item{{name: name, arguments: argumentsJSON}}, usage: callUsage}
}

// Handoff answers with the handoff call to agent:
// FunctionCall("transfer_to_<agent>", "{}"), agent lower-cased with every
// non-alphanumeric character replaced by "_", so both "code_assistant" and
// "Code Assistant" give transfer_to_code_assistant (spec: agents-and-data.md §2).
func Handoff(agent string) Reply {
	name := strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return '_'
	}, agent)
	return FunctionCall("transfer_to_"+name, "{}")
}

// Combine answers with one Response whose output holds the output items of
// parts (Text, FunctionCall or Handoff replies) in order — parallel tool calls,
// two handoffs, or text followed by a call. Its usage is the sum of theirs.
func Combine(parts ...Reply) Reply {
	var r Reply
	for _, p := range parts {
		r.items = append(r.items, p.items...)
		r.usage.InputTokens += p.usage.InputTokens
		r.usage.CachedTokens += p.usage.CachedTokens
		r.usage.OutputTokens += p.usage.OutputTokens
		r.usage.ReasoningTokens += p.usage.ReasoningTokens
	}
	return r
}

// Error answers with HTTP status and body (an error envelope such as
// testdata/error-response.json), streamed or not, as the real API does before a
// stream starts. A nil body is the recorded one for 401 and 429 and an
// ErrorBody naming the status otherwise. The answer carries
// "x-should-retry: false" so that a retrying client (openai-go retries 408,
// 409, 429 and 5xx) does not consume the next reply; WithHeader overrides it.
func Error(status int, body []byte) Reply {
	if body == nil {
		switch status {
		case http.StatusUnauthorized:
			body = []byte(invalidKeyBody)
		case http.StatusTooManyRequests:
			body = []byte(rateLimitBody)
		default:
			typ := "invalid_request_error"
			if status >= 500 {
				typ = "server_error"
			}
			body = ErrorBody(fmt.Sprintf("openaitest: scripted %d %s", status, http.StatusText(status)), typ, "")
		}
	}
	return Reply{kind: kindError, status: status, body: body}.WithHeader("x-should-retry", "false")
}

// FailStream answers a stream with the events of a text reply cut after
// afterEvents events and a response.failed event (code "server_error"), like
// testdata/failed-stream.sse, which is FailStream(2). A request without
// "stream": true gets a 500 server_error envelope instead.
func FailStream(afterEvents int) Reply {
	return Text(failStreamText, Usage{}).FailAfter(afterEvents)
}

// Hang never answers: the handler waits until the request's context ends (the
// client gave up or timed out) or the Server closes.
func Hang() Reply { return Reply{kind: kindHang} }

// Malformed answers a stream with response.created and response.in_progress
// followed by an event whose data line is not JSON, then ends the stream;
// without "stream": true the body is truncated JSON.
func Malformed() Reply { return Reply{kind: kindMalformed, items: []item{{}}} }

// WithUsage returns r reporting usage u.
func (r Reply) WithUsage(u Usage) Reply {
	r.usage = u
	return r
}

// WithHeader returns r with an extra response header (for instance
// retry-after, or x-should-retry: true to let a client retry an Error).
func (r Reply) WithHeader(key, value string) Reply {
	h := http.Header{}
	maps.Copy(h, r.header)
	h.Set(key, value)
	r.header = h
	return r
}

// FailAfter returns r, streamed, cut after its first n events (at most all but
// response.completed) and ended by a response.failed event; a request without
// "stream": true gets a 500 server_error envelope.
func (r Reply) FailAfter(n int) Reply {
	r.cut, r.cutAt = cutFail, max(n, 0)
	return r
}

// HangAfter returns r, streamed, stopped after its first n events (at most all
// but response.completed) with the connection left open until the request's
// context ends — a model that stalls mid-answer; a request without
// "stream": true hangs like Hang.
func (r Reply) HangAfter(n int) Reply {
	r.cut, r.cutAt = cutHang, max(n, 0)
	return r
}

// PauseAfter returns r, streamed, that stops after its first n events until
// release is closed and then sends the rest — a model that is still writing
// while a test looks at the stream. If the request ends first, the answer is
// abandoned as with HangAfter.
func (r Reply) PauseAfter(n int, release <-chan struct{}) Reply {
	r.pause, r.pauseAt = release, max(n, 0)
	return r
}

// ErrorBody is an error envelope as the API writes it:
// {"error": {"message", "type", "param": null, "code"}}, indented; an empty
// code is null.
func ErrorBody(message, typ, code string) []byte {
	type apiError struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	}
	e := apiError{Message: message, Type: typ}
	if code != "" {
		e.Code = &code
	}
	return encode(struct {
		Error apiError `json:"error"`
	}{e}, true)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	raw, _ := io.ReadAll(r.Body)
	body, n := s.record(r, raw)
	w.Header().Set("x-request-id", "req_"+randomHex(32))
	w.Header().Set("openai-version", "2020-10-01")
	switch {
	case r.Header.Get("Authorization") != "Bearer "+s.key:
		writeJSON(w, start, http.StatusUnauthorized, []byte(invalidKeyBody))
		return
	case r.Method != http.MethodPost || (r.URL.Path != "/responses" && r.URL.Path != "/v1/responses"):
		msg := fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path)
		writeJSON(w, start, http.StatusNotFound, ErrorBody(msg, "invalid_request_error", ""))
		return
	case body == nil:
		writeJSON(w, start, http.StatusBadRequest, ErrorBody("We could not parse the JSON body of your request. "+
			"(HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON "+
			"payload, but what was sent was not valid JSON.)", "invalid_request_error", ""))
		return
	}
	reply, ok := s.next()
	if !ok {
		msg := fmt.Sprintf("openaitest: %s: no reply enqueued for request %d (%s %s); "+
			"call Server.Enqueue with one Reply per model call", s.name, n, r.Method, r.URL.Path)
		w.Header().Set("x-should-retry", "false")
		writeJSON(w, start, http.StatusInternalServerError, ErrorBody(msg, "server_error", ""))
		return
	}
	if !s.wait(r.Context(), s.delay) {
		s.abandoned()
		return
	}
	maps.Copy(w.Header(), reply.header)
	t := newTurn(raw, reply, start)
	if stream, _ := body["stream"].(bool); stream {
		s.stream(w, r, start, reply, t, raw)
	} else {
		s.respond(w, r, start, reply, t)
	}
}

// record stores the request and returns its decoded body and its number (1-based).
func (s *Server) record(r *http.Request, raw []byte) (map[string]any, int) {
	var body map[string]any
	if json.Unmarshal(raw, &body) != nil {
		body = nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastRaw = raw
	if s.always != nil {
		return body, 0
	}
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body, Raw: raw})
	return body, len(s.requests)
}

func (s *Server) next() (Reply, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		if s.always != nil {
			return *s.always, true
		}
		return Reply{}, false
	}
	r := s.queue[0]
	s.queue = s.queue[1:]
	return r, true
}

// respond answers a request without "stream": true.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, start time.Time, reply Reply, t *turn) {
	switch {
	case reply.kind == kindError:
		writeJSON(w, start, reply.status, reply.body)
	case reply.kind == kindHang || reply.cut == cutHang:
		s.hang(r.Context())
	case reply.kind == kindMalformed:
		b := t.body(reply)
		writeJSON(w, start, http.StatusOK, b[:len(b)/2])
	case reply.cut == cutFail:
		w.Header().Set("x-should-retry", "false")
		writeJSON(w, start, http.StatusInternalServerError,
			ErrorBody("The model failed to generate a response.", "server_error", "server_error"))
	default:
		writeJSON(w, start, http.StatusOK, t.body(reply))
	}
}

// stream answers a request with "stream": true.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, start time.Time, reply Reply, t *turn, raw []byte) {
	var frames [][]byte
	switch reply.kind {
	case kindError:
		writeJSON(w, start, reply.status, reply.body)
		return
	case kindHang:
		s.hang(r.Context())
		return
	case kindMalformed:
		frames = t.frames(t.events(reply)[:2])
		frames = append(frames, []byte("event: response.output_text.delta\n"+
			`data: {"type":"response.output_text.delta","content_index":0,"delta":"Hel`+"\n\n"))
	default:
		frames = t.frames(t.streamEvents(reply))
	}
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("openai-processing-ms", processingMS(start))
	w.WriteHeader(http.StatusOK)
	// The client can go at any frame, however quickly they are written:
	// each way out before the last is an abandoned answer.
	if !s.send(w, r, start, reply, frames, raw) {
		s.abandoned()
		return
	}
	if reply.cut == cutHang {
		s.hang(r.Context())
	}
}

// send writes the frames of a streamed reply, pausing and pacing them as
// told; false means the client went before the last.
func (s *Server) send(w http.ResponseWriter, r *http.Request, start time.Time, reply Reply, frames [][]byte, raw []byte) bool {
	ctx := r.Context()
	rc := http.NewResponseController(w)
	if rc.Flush() != nil {
		return false
	}
	delta := s.onDelta != nil
	for i, f := range frames {
		if ctx.Err() != nil || reply.pause != nil && i == reply.pauseAt && !s.paused(ctx, reply.pause) ||
			i > 0 && !s.wait(ctx, s.pace) {
			return false
		}
		if _, err := w.Write(f); err != nil || rc.Flush() != nil {
			return false
		}
		if delta && bytes.Contains(f, []byte("response.output_text.delta")) {
			s.onDelta(raw, time.Since(start))
			delta = false
		}
	}
	return true
}

// paused waits for release (true) or the request's end (false).
func (s *Server) paused(ctx context.Context, release <-chan struct{}) bool {
	select {
	case <-release:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		panic(http.ErrAbortHandler)
	}
}

// abandoned reports an answer whose request ended.
func (s *Server) abandoned() {
	if s.hangDone != nil {
		select {
		case s.hangDone <- struct{}{}:
		default:
		}
	}
}

// hang waits for the request's end; at the Server's close it aborts the
// connection, so the client sees an error rather than an empty 200.
func (s *Server) hang(ctx context.Context) {
	select {
	case <-ctx.Done():
		s.abandoned()
	case <-s.done:
		panic(http.ErrAbortHandler)
	}
}

// wait sleeps d unless the request ends first (false) or the Server closes.
func (s *Server) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		panic(http.ErrAbortHandler)
	}
}

func writeJSON(w http.ResponseWriter, start time.Time, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("openai-processing-ms", processingMS(start))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func processingMS(start time.Time) string {
	return strconv.FormatInt(time.Since(start).Milliseconds(), 10)
}

// turn holds what one answer generates: the ids, times and delta chunks, and
// the request fields the Response repeats.
type turn struct {
	echo        map[string]json.RawMessage
	tools       []json.RawMessage
	respID      string
	createdAt   int64
	completedAt int64
	items       []turnItem
	obfuscate   func(delta string) string // nil: no obfuscation field
}

type turnItem struct {
	id, callID string
	chunks     []string // the deltas of the text or the arguments
}

func newTurn(raw []byte, r Reply, created time.Time) *turn {
	echo, tools, obfuscate := parseRequest(raw)
	t := &turn{echo: echo, tools: tools, respID: "resp_" + randomHex(50),
		createdAt: created.Unix(), completedAt: time.Now().Unix()}
	if obfuscate {
		t.obfuscate = obfuscation
	}
	for _, it := range r.items {
		ti := turnItem{id: "msg_" + randomHex(50), chunks: split(it.text)}
		if it.call() {
			ti = turnItem{id: "fc_" + randomHex(50), callID: "call_" + randomAlnum(24), chunks: split(it.arguments)}
		}
		t.items = append(t.items, ti)
	}
	return t
}

// echoed are the request fields a Response repeats (tools aside).
var echoed = []string{"background", "frequency_penalty", "instructions", "max_output_tokens", "max_tool_calls",
	"metadata", "model", "parallel_tool_calls", "presence_penalty", "previous_response_id", "prompt_cache_key",
	"prompt_cache_retention", "reasoning", "safety_identifier", "store", "temperature", "text", "tool_choice",
	"top_logprobs", "top_p", "truncation", "user"}

// parseRequest returns the request fields to echo, its tools in the order of
// keys a Response uses, and whether deltas carry obfuscation.
func parseRequest(raw []byte) (map[string]json.RawMessage, []json.RawMessage, bool) {
	var req map[string]json.RawMessage
	_ = json.Unmarshal(raw, &req)
	echo := map[string]json.RawMessage{}
	for _, k := range echoed {
		if v, ok := req[k]; ok && string(v) != "null" {
			echo[k] = v
		}
	}
	var tools []json.RawMessage
	var list []json.RawMessage
	_ = json.Unmarshal(req["tools"], &list)
	for _, tool := range list {
		tools = append(tools, normalTool(tool))
	}
	var opts struct {
		IncludeObfuscation *bool `json:"include_obfuscation"`
	}
	_ = json.Unmarshal(req["stream_options"], &opts)
	return echo, tools, opts.IncludeObfuscation == nil || *opts.IncludeObfuscation
}

// normalTool writes a function tool as a Response lists it: type,
// description, name, parameters, strict.
func normalTool(raw json.RawMessage) json.RawMessage {
	var f map[string]json.RawMessage
	if json.Unmarshal(raw, &f) != nil || string(f["type"]) != `"function"` {
		return raw
	}
	if f["strict"] == nil {
		f["strict"] = json.RawMessage("true")
	}
	return encode(struct {
		Type        json.RawMessage `json:"type"`
		Description json.RawMessage `json:"description"`
		Name        json.RawMessage `json:"name"`
		Parameters  json.RawMessage `json:"parameters"`
		Strict      json.RawMessage `json:"strict"`
	}{f["type"], f["description"], f["name"], f["parameters"], f["strict"]}, false)
}

// The wire types. Field order is the order the API writes.
type (
	response struct {
		ID                   string            `json:"id"`
		Object               string            `json:"object"`
		CreatedAt            int64             `json:"created_at"`
		Status               string            `json:"status"`
		Background           json.RawMessage   `json:"background"`
		Billing              *billing          `json:"billing,omitempty"`
		CompletedAt          *int64            `json:"completed_at"`
		Error                *responseError    `json:"error"`
		FrequencyPenalty     json.RawMessage   `json:"frequency_penalty"`
		IncompleteDetails    json.RawMessage   `json:"incomplete_details"`
		Instructions         json.RawMessage   `json:"instructions"`
		MaxOutputTokens      json.RawMessage   `json:"max_output_tokens"`
		MaxToolCalls         json.RawMessage   `json:"max_tool_calls"`
		Model                json.RawMessage   `json:"model"`
		Moderation           json.RawMessage   `json:"moderation"`
		Output               []outputItem      `json:"output"`
		ParallelToolCalls    json.RawMessage   `json:"parallel_tool_calls"`
		PresencePenalty      json.RawMessage   `json:"presence_penalty"`
		PreviousResponseID   json.RawMessage   `json:"previous_response_id"`
		PromptCacheKey       json.RawMessage   `json:"prompt_cache_key"`
		PromptCacheRetention json.RawMessage   `json:"prompt_cache_retention"`
		Reasoning            json.RawMessage   `json:"reasoning"`
		SafetyIdentifier     json.RawMessage   `json:"safety_identifier"`
		ServiceTier          string            `json:"service_tier"`
		Store                json.RawMessage   `json:"store"`
		Temperature          json.RawMessage   `json:"temperature"`
		Text                 json.RawMessage   `json:"text"`
		ToolChoice           json.RawMessage   `json:"tool_choice"`
		Tools                []json.RawMessage `json:"tools"`
		TopLogprobs          json.RawMessage   `json:"top_logprobs"`
		TopP                 json.RawMessage   `json:"top_p"`
		Truncation           json.RawMessage   `json:"truncation"`
		Usage                *usage            `json:"usage"`
		User                 json.RawMessage   `json:"user"`
		Metadata             json.RawMessage   `json:"metadata"`
	}
	billing struct {
		Payer string `json:"payer"`
	}
	responseError struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	usage struct {
		InputTokens        int `json:"input_tokens"`
		InputTokensDetails struct {
			CachedTokens int `json:"cached_tokens"`
		} `json:"input_tokens_details"`
		OutputTokens        int `json:"output_tokens"`
		OutputTokensDetails struct {
			ReasoningTokens int `json:"reasoning_tokens"`
		} `json:"output_tokens_details"`
		TotalTokens int `json:"total_tokens"`
	}
	// outputItem is a message (content, role) or a function_call (arguments,
	// call_id, name).
	outputItem struct {
		ID        string  `json:"id"`
		Type      string  `json:"type"`
		Status    string  `json:"status"`
		Content   *[]part `json:"content,omitempty"`
		Role      string  `json:"role,omitempty"`
		Arguments *string `json:"arguments,omitempty"`
		CallID    string  `json:"call_id,omitempty"`
		Name      string  `json:"name,omitempty"`
	}
	part struct {
		Type        string   `json:"type"`
		Annotations []string `json:"annotations"`
		Logprobs    []string `json:"logprobs"`
		Text        string   `json:"text"`
	}
	// event is any streaming event: the API writes type first, then the other
	// fields in alphabetical order.
	event struct {
		Type           string      `json:"type"`
		Arguments      *string     `json:"arguments,omitempty"`
		ContentIndex   *int        `json:"content_index,omitempty"`
		Delta          *string     `json:"delta,omitempty"`
		Item           *outputItem `json:"item,omitempty"`
		ItemID         string      `json:"item_id,omitempty"`
		Logprobs       *[]string   `json:"logprobs,omitempty"`
		Obfuscation    *string     `json:"obfuscation,omitempty"`
		OutputIndex    *int        `json:"output_index,omitempty"`
		Part           *part       `json:"part,omitempty"`
		Response       *response   `json:"response,omitempty"`
		SequenceNumber int         `json:"sequence_number"`
		Text           *string     `json:"text,omitempty"`
	}
)

// response is the Response object in state status ("in_progress",
// "completed" or "failed") with output.
func (t *turn) response(status string, output []outputItem, u Usage) *response {
	get := func(key, fallback string) json.RawMessage {
		if v, ok := t.echo[key]; ok {
			return v
		}
		return json.RawMessage(fallback)
	}
	tools := t.tools
	if tools == nil {
		tools = []json.RawMessage{}
	}
	if output == nil {
		output = []outputItem{}
	}
	resp := &response{ID: t.respID, Object: "response", CreatedAt: t.createdAt, Status: status,
		Background: get("background", "false"), FrequencyPenalty: get("frequency_penalty", "0.0"),
		IncompleteDetails: json.RawMessage("null"), Instructions: get("instructions", "null"),
		MaxOutputTokens: get("max_output_tokens", "null"), MaxToolCalls: get("max_tool_calls", "null"),
		Model: get("model", strconv.Quote(DefaultModel)), Moderation: json.RawMessage("null"), Output: output,
		ParallelToolCalls: get("parallel_tool_calls", "true"), PresencePenalty: get("presence_penalty", "0.0"),
		PreviousResponseID: get("previous_response_id", "null"), PromptCacheKey: get("prompt_cache_key", "null"),
		PromptCacheRetention: get("prompt_cache_retention", `"in_memory"`),
		Reasoning:            get("reasoning", `{"effort":null,"summary":null}`),
		SafetyIdentifier:     get("safety_identifier", "null"), ServiceTier: "auto", Store: get("store", "true"),
		Temperature: get("temperature", "1.0"), Text: get("text", `{"format":{"type":"text"},"verbosity":"medium"}`),
		ToolChoice: get("tool_choice", `"auto"`), Tools: tools, TopLogprobs: get("top_logprobs", "0"),
		TopP: get("top_p", "1.0"), Truncation: get("truncation", `"disabled"`), User: get("user", "null"),
		Metadata: get("metadata", "{}")}
	switch status {
	case "completed":
		resp.CompletedAt, resp.ServiceTier = &t.completedAt, "default"
		resp.Usage = &usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens,
			TotalTokens: u.InputTokens + u.OutputTokens}
		resp.Usage.InputTokensDetails.CachedTokens = u.CachedTokens
		resp.Usage.OutputTokensDetails.ReasoningTokens = u.ReasoningTokens
	case "failed":
		resp.Error = &responseError{Code: "server_error", Message: "The model failed to generate a response."}
	}
	return resp
}

// item is output item i of r, as added (in progress) or done.
func (t *turn) item(r Reply, i int, done bool) outputItem {
	it, ti := r.items[i], t.items[i]
	status := "in_progress"
	if done {
		status = "completed"
	}
	if it.call() {
		args := ""
		if done {
			args = it.arguments
		}
		return outputItem{ID: ti.id, Type: "function_call", Status: status, Arguments: &args, CallID: ti.callID, Name: it.name}
	}
	content := []part{}
	if done {
		content = append(content, textPart(it.text))
	}
	return outputItem{ID: ti.id, Type: "message", Status: status, Content: &content, Role: "assistant"}
}

func textPart(text string) part {
	return part{Type: "output_text", Annotations: []string{}, Logprobs: []string{}, Text: text}
}

// body is the non-streaming Response: completed, with billing, indented.
func (t *turn) body(r Reply) []byte {
	out := make([]outputItem, len(r.items))
	for i := range r.items {
		out[i] = t.item(r, i, true)
	}
	resp := t.response("completed", out, r.usage)
	resp.Billing = &billing{Payer: "developer"}
	return encode(resp, true)
}

// events is the whole stream of r, from response.created to
// response.completed; sequence numbers are set by frames.
func (t *turn) events(r Reply) []event {
	evs := []event{
		{Type: "response.created", Response: t.response("in_progress", nil, r.usage)},
		{Type: "response.in_progress", Response: t.response("in_progress", nil, r.usage)},
	}
	var done []outputItem
	for i, it := range r.items {
		added, finished := t.item(r, i, false), t.item(r, i, true)
		evs = append(evs, event{Type: "response.output_item.added", Item: &added, OutputIndex: ptr(i)})
		if it.call() {
			evs = append(evs, t.callEvents(i, it)...)
		} else {
			evs = append(evs, t.textEvents(i, it)...)
		}
		evs = append(evs, event{Type: "response.output_item.done", Item: &finished, OutputIndex: ptr(i)})
		done = append(done, finished)
	}
	return append(evs, event{Type: "response.completed", Response: t.response("completed", done, r.usage)})
}

// streamEvents is events(r) with r's cut applied: the first events, then
// response.failed for FailAfter, nothing more for HangAfter.
func (t *turn) streamEvents(r Reply) []event {
	evs := t.events(r)
	if r.cut == cutNone {
		return evs
	}
	evs = evs[:min(r.cutAt, len(evs)-1)]
	if r.cut == cutHang {
		return evs
	}
	var done []outputItem
	for _, e := range evs {
		if e.Type == "response.output_item.done" {
			done = append(done, *e.Item)
		}
	}
	return append(evs, event{Type: "response.failed", Response: t.response("failed", done, r.usage)})
}

func (t *turn) textEvents(i int, it item) []event {
	id := t.items[i].id
	empty, full := textPart(""), textPart(it.text)
	evs := []event{{Type: "response.content_part.added", ContentIndex: ptr(0), ItemID: id, OutputIndex: ptr(i), Part: &empty}}
	for _, c := range t.items[i].chunks {
		evs = append(evs, event{Type: "response.output_text.delta", ContentIndex: ptr(0), Delta: ptr(c), ItemID: id,
			Logprobs: &[]string{}, Obfuscation: t.obfuscation(c), OutputIndex: ptr(i)})
	}
	return append(evs,
		event{Type: "response.output_text.done", ContentIndex: ptr(0), ItemID: id, Logprobs: &[]string{},
			OutputIndex: ptr(i), Text: ptr(it.text)},
		event{Type: "response.content_part.done", ContentIndex: ptr(0), ItemID: id, OutputIndex: ptr(i), Part: &full})
}

func (t *turn) callEvents(i int, it item) []event {
	id := t.items[i].id
	var evs []event
	for _, c := range t.items[i].chunks {
		evs = append(evs, event{Type: "response.function_call_arguments.delta", Delta: ptr(c), ItemID: id,
			Obfuscation: t.obfuscation(c), OutputIndex: ptr(i)})
	}
	return append(evs, event{Type: "response.function_call_arguments.done", Arguments: ptr(it.arguments),
		ItemID: id, OutputIndex: ptr(i)})
}

func (t *turn) obfuscation(delta string) *string {
	if t.obfuscate == nil {
		return nil
	}
	return ptr(t.obfuscate(delta))
}

// frames numbers the events from 0 and writes each as the API does:
// "event: <type>\ndata: <json>\n\n".
func (t *turn) frames(evs []event) [][]byte {
	out := make([][]byte, len(evs))
	for i, e := range evs {
		e.SequenceNumber = i
		out[i] = fmt.Appendf(nil, "event: %s\ndata: %s\n\n", e.Type, encode(e, false))
	}
	return out
}

// encode writes v as the API does: no HTML escaping, compact or indented by
// two spaces with a final newline. Only this package's types reach it.
func encode(v any, indent bool) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("openaitest: encode %T: %v", v, err))
	}
	if indent {
		return b.Bytes()
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// split cuts s into token-like deltas as the model streams them: a word with
// its leading space, up to three digits, a space, or up to three other
// characters. Joined, they give s back.
func split(s string) []string {
	var out []string
	for s != "" {
		n := chunkLen(s)
		out = append(out, s[:n])
		s = s[n:]
	}
	return out
}

func chunkLen(s string) int {
	const (
		letter = iota
		digit
		space
		other
	)
	class := func(r rune) int {
		switch {
		case unicode.IsLetter(r):
			return letter
		case unicode.IsDigit(r):
			return digit
		case unicode.IsSpace(r):
			return space
		}
		return other
	}
	i := 0
	if len(s) > 1 && s[0] == ' ' {
		if next, _ := utf8.DecodeRuneInString(s[1:]); class(next) == letter {
			i = 1 // a space opens the word after it
		}
	}
	first, size := utf8.DecodeRuneInString(s[i:])
	c, count := class(first), 1
	i += size
	for i < len(s) && c != space && (c == letter || count < 3) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if class(r) != c {
			break
		}
		i += size
		count++
	}
	return i
}

// obfuscation pads a delta to 16 characters with random ones (at least one),
// as the captured streams do.
func obfuscation(delta string) string {
	return randomAlnum(max(16-utf8.RuneCountInString(delta), 1))
}

func randomHex(n int) string {
	const hex = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = hex[rand.IntN(len(hex))]
	}
	return string(b)
}

func randomAlnum(n int) string {
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[rand.IntN(len(alnum))]
	}
	return string(b)
}

func ptr[T any](v T) *T { return &v }
