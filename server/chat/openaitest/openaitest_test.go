package openaitest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// requestBody is testdata/request-basic.json with "stream" set as asked (edited
// as text, so that its keys keep their order).
func requestBody(t *testing.T, stream bool) []byte {
	t.Helper()
	b := fixture(t, "request-basic.json")
	if !stream {
		b = bytes.Replace(b, []byte(`"stream": true`), []byte(`"stream": false`), 1)
	}
	return b
}

// post sends body to s at path with key as the bearer token ("" = no
// Authorization header).
func post(ctx context.Context, s *Server, path, key string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return s.Client().Do(req)
}

// call posts body with the right key and reads the whole answer.
func call(t *testing.T, s *Server, path string, body []byte) (*http.Response, []byte) {
	t.Helper()
	resp, err := post(t.Context(), s, path, s.Key(), body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

type frame struct {
	Event string
	Data  []byte
}

// parseSSE splits raw into frames, requiring the API's exact framing:
// "event: <type>\ndata: <json>\n\n" with the JSON's type equal to the event
// name and sequence_number counting from 0. When validJSON is false the data
// of the last frame may be anything.
func parseSSE(t *testing.T, raw []byte, validJSON bool) []frame {
	t.Helper()
	if !bytes.HasSuffix(raw, []byte("\n\n")) {
		t.Fatalf("stream does not end with a blank line: %q", tail(raw))
	}
	var frames []frame
	chunks := strings.Split(strings.TrimSuffix(string(raw), "\n\n"), "\n\n")
	for i, c := range chunks {
		event, data, ok := strings.Cut(c, "\n")
		if !ok || !strings.HasPrefix(event, "event: ") || !strings.HasPrefix(data, "data: ") || strings.Contains(data, "\n") {
			t.Fatalf("frame %d is not \"event: …\\ndata: …\": %q", i, c)
		}
		f := frame{Event: strings.TrimPrefix(event, "event: "), Data: []byte(strings.TrimPrefix(data, "data: "))}
		frames = append(frames, f)
		if !validJSON && i == len(chunks)-1 {
			break
		}
		var head struct {
			Type           string `json:"type"`
			SequenceNumber *int   `json:"sequence_number"`
		}
		if err := json.Unmarshal(f.Data, &head); err != nil {
			t.Fatalf("frame %d: data is not JSON: %v", i, err)
		}
		if head.Type != f.Event || head.SequenceNumber == nil || *head.SequenceNumber != i {
			t.Fatalf("frame %d: event %q, type %q, sequence_number %v", i, f.Event, head.Type, head.SequenceNumber)
		}
	}
	return frames
}

func tail(b []byte) []byte { return b[max(0, len(b)-80):] }

func types(frames []frame) []string {
	out := make([]string, len(frames))
	for i, f := range frames {
		out[i] = f.Event
	}
	return out
}

// collapse drops repeats of the same event type in a row, so streams whose
// texts split into different numbers of deltas compare equal.
func collapse(ts []string) []string { return slices.Compact(slices.Clone(ts)) }

// shape describes a JSON value's structure: object keys in order, array
// elements, and the kind of every scalar.
func shape(t *testing.T, raw []byte) string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var b strings.Builder
	var walk func()
	walk = func() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("shape: %v", err)
		}
		switch v := tok.(type) {
		case json.Delim:
			b.WriteString(v.String())
			for dec.More() {
				if v == '{' {
					key, _ := dec.Token()
					fmt.Fprintf(&b, "%s:", key)
				}
				walk()
				b.WriteString(",")
			}
			end, _ := dec.Token()
			b.WriteString(end.(json.Delim).String())
		case nil:
			b.WriteString("null")
		default:
			fmt.Fprintf(&b, "%T", v)
		}
	}
	walk()
	return b.String()
}

// shapes maps each event type of a fixture stream to the shape of its first
// event of that type.
func shapes(t *testing.T, frames []frame) map[string]string {
	out := map[string]string{}
	for _, f := range frames {
		if _, ok := out[f.Event]; !ok {
			out[f.Event] = shape(t, f.Data)
		}
	}
	return out
}

type wireItem struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Status    string `json:"status"`
	Arguments string `json:"arguments"`
	CallID    string `json:"call_id"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	Content   []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
}

type wireResponse struct {
	ID          string          `json:"id"`
	Object      string          `json:"object"`
	CreatedAt   int64           `json:"created_at"`
	CompletedAt *int64          `json:"completed_at"`
	Status      string          `json:"status"`
	Model       string          `json:"model"`
	Error       *responseError  `json:"error"`
	Output      []wireItem      `json:"output"`
	Usage       *usage          `json:"usage"`
	Temperature json.RawMessage `json:"temperature"`
}

type wireEvent struct {
	Type        string        `json:"type"`
	Delta       string        `json:"delta"`
	Obfuscation *string       `json:"obfuscation"`
	OutputIndex int           `json:"output_index"`
	Item        *wireItem     `json:"item"`
	Response    *wireResponse `json:"response"`
}

func decode[T any](t *testing.T, raw []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %s: %v", tail(raw), err)
	}
	return v
}

// fixtureTurn rebuilds the turn behind a recorded answer: its ids and times,
// the deltas and obfuscation of its stream (streamed) or split's (not), so
// that rendering it again must give the recorded bytes.
func fixtureTurn(t *testing.T, request string, final wireResponse, reply Reply, deltas []wireEvent) *turn {
	echo, tools, _ := parseRequest(fixture(t, request))
	tr := &turn{echo: echo, tools: tools, respID: final.ID, createdAt: final.CreatedAt}
	if final.CompletedAt != nil {
		tr.completedAt = *final.CompletedAt
	}
	var obf []string
	for i, it := range reply.items {
		ti := turnItem{id: fmt.Sprintf("unused_%d", i), chunks: split(it.text + it.arguments)}
		if i < len(final.Output) {
			ti = turnItem{id: final.Output[i].ID, callID: final.Output[i].CallID, chunks: split(it.text + it.arguments)}
		}
		if deltas != nil {
			ti.chunks = nil
			for _, d := range deltas {
				if d.OutputIndex == i {
					ti.chunks = append(ti.chunks, d.Delta)
				}
			}
		}
		tr.items = append(tr.items, ti)
	}
	for _, d := range deltas {
		obf = append(obf, *d.Obfuscation)
	}
	tr.obfuscate = func(string) string {
		if len(obf) == 0 {
			return "unused"
		}
		o := obf[0]
		obf = obf[1:]
		return o
	}
	return tr
}

// replyOf is the Reply that answers with final's output and usage.
func replyOf(final wireResponse) Reply {
	var parts []Reply
	for _, it := range final.Output {
		if it.Type == "function_call" {
			parts = append(parts, FunctionCall(it.Name, it.Arguments))
		} else {
			parts = append(parts, Text(it.Content[0].Text, Usage{}))
		}
	}
	u := final.Usage
	return Combine(parts...).WithUsage(Usage{InputTokens: u.InputTokens, CachedTokens: u.InputTokensDetails.CachedTokens,
		OutputTokens: u.OutputTokens, ReasoningTokens: u.OutputTokensDetails.ReasoningTokens})
}

// TestRecordedBytes renders the recorded answers from their own ids, times and
// deltas and requires the recorded bytes: field order, number formats,
// indentation and SSE framing are the API's.
func TestRecordedBytes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ request, answer string }{
		{"request-with-tool-output.json", "text-nonstream.json"},
		{"request-basic.json", "function-call-nonstream.json"},
	} {
		t.Run(tc.answer, func(t *testing.T) {
			t.Parallel()
			want := fixture(t, tc.answer)
			final := decode[wireResponse](t, want)
			reply := replyOf(final)
			if got := fixtureTurn(t, tc.request, final, reply, nil).body(reply); !bytes.Equal(got, want) {
				t.Errorf("body differs from %s (-want +got):\n%s", tc.answer, cmp.Diff(string(want), string(got)))
			}
		})
	}
	for _, tc := range []struct {
		request, answer string
		fail            bool
	}{
		{"request-with-tool-output.json", "text-stream.sse", false},
		{"request-basic.json", "function-call-stream.sse", false},
		{"request-basic.json", "failed-stream.sse", true},
	} {
		t.Run(tc.answer, func(t *testing.T) {
			t.Parallel()
			want := fixture(t, tc.answer)
			frames := parseSSE(t, want, true)
			var deltas []wireEvent
			for _, f := range frames {
				if strings.HasSuffix(f.Event, ".delta") {
					deltas = append(deltas, decode[wireEvent](t, f.Data))
				}
			}
			final := *decode[wireEvent](t, frames[len(frames)-1].Data).Response
			reply := FailStream(2)
			if !tc.fail {
				reply = replyOf(final)
			}
			tr := fixtureTurn(t, tc.request, final, reply, deltas)
			got := tr.frames(tr.streamEvents(reply))
			for i, f := range bytes.SplitAfter(want, []byte("\n\n"))[:len(frames)] {
				if i >= len(got) || !bytes.Equal(got[i], f) {
					var g []byte
					if i < len(got) {
						g = got[i]
					}
					t.Fatalf("frame %d differs from %s (-want +got):\n%s", i, tc.answer, cmp.Diff(string(f), string(g)))
				}
			}
			if len(got) != len(frames) {
				t.Errorf("%d frames, want %d", len(got), len(frames))
			}
		})
	}
}

// TestReplies runs every kind of successful answer over HTTP, streamed and
// not, and compares its shape with the recording of the same kind.
func TestReplies(t *testing.T) {
	t.Parallel()
	const text = "Go 1.0 shipped on March 28, 2012 (see https://go.dev/blog/go1) — ünïcode & <tags> too."
	const args = `{"query":"Go first release","max_results":5,"search_depth":"basic","include_answer":true,"topic":"general"}`
	type want struct{ typ, text, name, args string }
	for _, tc := range []struct {
		name      string
		reply     Reply
		stream    string // the recorded stream of the same kind
		nonstream string
		want      want
		usage     Usage
	}{
		{"text", Text(text, Usage{InputTokens: 10, CachedTokens: 2, OutputTokens: 5, ReasoningTokens: 1}),
			"text-stream.sse", "text-nonstream.json", want{typ: "message", text: text},
			Usage{InputTokens: 10, CachedTokens: 2, OutputTokens: 5, ReasoningTokens: 1}},
		{"function call", FunctionCall("tavily_search_tool", args), "function-call-stream.sse",
			"function-call-nonstream.json", want{typ: "function_call", name: "tavily_search_tool", args: args}, callUsage},
		{"handoff", Handoff("code_assistant"), "function-call-stream.sse", "function-call-nonstream.json",
			want{typ: "function_call", name: "transfer_to_code_assistant", args: "{}"}, callUsage},
		{"handoff by display name", Handoff("Data Analyst").WithUsage(Usage{InputTokens: 7, OutputTokens: 3}),
			"function-call-stream.sse", "function-call-nonstream.json",
			want{typ: "function_call", name: "transfer_to_data_analyst", args: "{}"}, Usage{InputTokens: 7, OutputTokens: 3}},
	} {
		check := func(t *testing.T, r wireResponse) {
			t.Helper()
			if r.Status != "completed" || r.Object != "response" || !strings.HasPrefix(r.ID, "resp_") || len(r.ID) != 55 ||
				r.CompletedAt == nil || r.Model != "gpt-4.1-2025-04-14" {
				t.Errorf("response %+v", r)
			}
			if len(r.Output) != 1 {
				t.Fatalf("output %+v, want one item", r.Output)
			}
			it := r.Output[0]
			got := want{typ: it.Type, name: it.Name, args: it.Arguments}
			if it.Type == "message" {
				got.text = it.Content[0].Text
			} else if !strings.HasPrefix(it.CallID, "call_") || !strings.HasPrefix(it.ID, "fc_") {
				t.Errorf("function call ids %q, %q", it.ID, it.CallID)
			}
			if got != tc.want {
				t.Errorf("output item %+v, want %+v", got, tc.want)
			}
			u := tc.usage
			wantUsage := usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, TotalTokens: u.InputTokens + u.OutputTokens}
			wantUsage.InputTokensDetails.CachedTokens = u.CachedTokens
			wantUsage.OutputTokensDetails.ReasoningTokens = u.ReasoningTokens
			if diff := cmp.Diff(&wantUsage, r.Usage); diff != "" {
				t.Errorf("usage (-want +got):\n%s", diff)
			}
		}
		t.Run(tc.name+"/nonstream", func(t *testing.T) {
			t.Parallel()
			s := New(t)
			s.Enqueue(tc.reply)
			resp, body := call(t, s, "/responses", requestBody(t, false))
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, Content-Type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			if got, want := shape(t, body), shape(t, fixture(t, tc.nonstream)); got != want {
				t.Errorf("body shape differs from %s:\n%s", tc.nonstream, cmp.Diff(want, got))
			}
			if !bytes.HasSuffix(body, []byte("}\n")) || !bytes.Contains(body, []byte("\n  \"object\": \"response\",\n")) {
				t.Errorf("body is not indented as the API's: %s", body)
			}
			check(t, decode[wireResponse](t, body))
		})
		t.Run(tc.name+"/stream", func(t *testing.T) {
			t.Parallel()
			s := New(t)
			s.Enqueue(tc.reply)
			resp, body := call(t, s, "/v1/responses", requestBody(t, true))
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
				t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			frames := parseSSE(t, body, true)
			recorded := parseSSE(t, fixture(t, tc.stream), true)
			if diff := cmp.Diff(collapse(types(recorded)), collapse(types(frames))); diff != "" {
				t.Errorf("event order differs from %s (-want +got):\n%s", tc.stream, diff)
			}
			wantShapes := shapes(t, recorded)
			var joined string
			var deltas int
			for i, f := range frames {
				if got := shape(t, f.Data); got != wantShapes[f.Event] {
					t.Errorf("frame %d (%s) shape differs from %s:\n%s", i, f.Event, tc.stream, cmp.Diff(wantShapes[f.Event], got))
				}
				if e := decode[wireEvent](t, f.Data); strings.HasSuffix(e.Type, ".delta") {
					joined += e.Delta
					deltas++
					if e.Obfuscation == nil || utf8.RuneCountInString(e.Delta+*e.Obfuscation) < 16 {
						t.Errorf("frame %d: obfuscation %v does not pad %q to 16", i, e.Obfuscation, e.Delta)
					}
				}
			}
			if joined != tc.want.text+tc.want.args {
				t.Errorf("deltas join to %q, want %q", joined, tc.want.text+tc.want.args)
			}
			if len(joined) > 4 && deltas < 3 {
				t.Errorf("%d deltas for %q, want several", deltas, joined)
			}
			check(t, *decode[wireEvent](t, frames[len(frames)-1].Data).Response)
		})
	}
}

// TestCombine answers one call with two handoffs, as the agent loop must
// handle (spec: agents-and-data.md §3.3: only the first is honoured).
func TestCombine(t *testing.T) {
	t.Parallel()
	s := New(t)
	reply := Combine(Handoff("code_assistant"), Text("and some text", Usage{InputTokens: 1, OutputTokens: 2}), Handoff("data_analyst"))
	s.Enqueue(reply, reply)
	_, body := call(t, s, "/responses", requestBody(t, false))
	r := decode[wireResponse](t, body)
	var got []string
	for _, it := range r.Output {
		got = append(got, it.Type+":"+it.Name)
	}
	want := []string{"function_call:transfer_to_code_assistant", "message:", "function_call:transfer_to_data_analyst"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if r.Output[0].CallID == r.Output[2].CallID || r.Usage.TotalTokens != 2*(412+41)+3 {
		t.Errorf("call ids %q, %q; usage %+v", r.Output[0].CallID, r.Output[2].CallID, r.Usage)
	}

	_, body = call(t, s, "/responses", requestBody(t, true))
	var added []int
	for _, f := range parseSSE(t, body, true) {
		if e := decode[wireEvent](t, f.Data); e.Type == "response.output_item.added" {
			added = append(added, e.OutputIndex)
		}
	}
	if !slices.Equal(added, []int{0, 1, 2}) {
		t.Errorf("output_item.added indexes %v", added)
	}
}

func TestObfuscationOff(t *testing.T) {
	t.Parallel()
	s := New(t)
	s.Enqueue(Text("no padding here", Usage{}))
	_, body := call(t, s, "/responses", []byte(`{"model":"gpt-4.1","input":"hi","stream":true,"stream_options":{"include_obfuscation":false}}`))
	if bytes.Contains(body, []byte("obfuscation")) {
		t.Errorf("obfuscation sent although turned off: %s", body)
	}
}

// TestEcho: the Response repeats the request's settings, as the API does.
func TestEcho(t *testing.T) {
	t.Parallel()
	s := New(t)
	s.Enqueue(Text("ok", Usage{}))
	_, body := call(t, s, "/responses", []byte(`{"model":"gpt-4.1-mini","input":"hi","temperature":0.2,"instructions":"Be <brief> & kind."}`))
	r := decode[wireResponse](t, body)
	if r.Model != "gpt-4.1-mini" || string(r.Temperature) != "0.2" || !bytes.Contains(body, []byte(`"instructions": "Be <brief> & kind."`)) {
		t.Errorf("echo: model %q, temperature %s, body %s", r.Model, r.Temperature, body)
	}
}

func TestError(t *testing.T) {
	t.Parallel()
	rateLimit := fixture(t, "error-response.json")
	for _, tc := range []struct {
		name   string
		reply  Reply
		status int
		body   []byte
		retry  string
	}{
		{"rate limit", Error(http.StatusTooManyRequests, rateLimit), 429, rateLimit, "false"},
		{"recorded 429 by default", Error(http.StatusTooManyRequests, nil), 429, rateLimit, "false"},
		{"recorded 401 by default", Error(http.StatusUnauthorized, nil), 401, fixture(t, "error-response-401.json"), "false"},
		{"retryable", Error(http.StatusServiceUnavailable, []byte(`{"error":{}}`)).WithHeader("x-should-retry", "true"),
			503, []byte(`{"error":{}}`), "true"},
	} {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tc.name, stream), func(t *testing.T) {
				t.Parallel()
				s := New(t)
				s.Enqueue(tc.reply)
				resp, body := call(t, s, "/responses", requestBody(t, stream))
				if resp.StatusCode != tc.status || !bytes.Equal(body, tc.body) || resp.Header.Get("x-should-retry") != tc.retry ||
					resp.Header.Get("Content-Type") != "application/json" {
					t.Errorf("status %d, x-should-retry %q, body %s", resp.StatusCode, resp.Header.Get("x-should-retry"), body)
				}
			})
		}
	}
	t.Run("generic body", func(t *testing.T) {
		t.Parallel()
		s := New(t)
		s.Enqueue(Error(http.StatusInternalServerError, nil))
		_, body := call(t, s, "/responses", requestBody(t, false))
		if got, want := shape(t, body), "{error:{message:string,type:string,param:null,code:null,},}"; got != want {
			t.Errorf("envelope shape %s, want %s", got, want)
		}
	})
}

func TestFailStream(t *testing.T) {
	t.Parallel()
	recorded := types(parseSSE(t, fixture(t, "failed-stream.sse"), true))
	for _, tc := range []struct {
		name  string
		reply Reply
		want  []string
	}{
		{"as recorded", FailStream(2), recorded},
		{"mid text", FailStream(5), []string{"response.created", "response.in_progress", "response.output_item.added",
			"response.content_part.added", "response.output_text.delta", "response.failed"}},
		{"at once", FailStream(-1), []string{"response.failed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := New(t)
			s.Enqueue(tc.reply)
			resp, body := call(t, s, "/responses", requestBody(t, true))
			frames := parseSSE(t, body, true)
			if resp.StatusCode != http.StatusOK || !slices.Equal(types(frames), tc.want) {
				t.Fatalf("status %d, events %v, want %v", resp.StatusCode, types(frames), tc.want)
			}
			r := decode[wireEvent](t, frames[len(frames)-1].Data).Response
			if r.Status != "failed" || r.Error == nil || r.Error.Code != "server_error" || r.Usage != nil {
				t.Errorf("failed response %+v", r)
			}
		})
	}
	t.Run("never past the last item", func(t *testing.T) {
		t.Parallel()
		s := New(t)
		s.Enqueue(FunctionCall("get_current_time", "{}").FailAfter(1000))
		_, body := call(t, s, "/responses", requestBody(t, true))
		frames := parseSSE(t, body, true)
		got := types(frames)[len(frames)-2:]
		if !slices.Equal(got, []string{"response.output_item.done", "response.failed"}) {
			t.Fatalf("stream ends with %v", got)
		}
		if r := decode[wireEvent](t, frames[len(frames)-1].Data).Response; len(r.Output) != 1 {
			t.Errorf("failed output %+v, want the finished call", r.Output)
		}
	})
	t.Run("nonstream", func(t *testing.T) {
		t.Parallel()
		s := New(t)
		s.Enqueue(FailStream(2))
		resp, body := call(t, s, "/responses", requestBody(t, false))
		if resp.StatusCode != http.StatusInternalServerError || !bytes.Contains(body, []byte(`"type": "server_error"`)) {
			t.Errorf("status %d: %s", resp.StatusCode, body)
		}
	})
}

func TestMalformed(t *testing.T) {
	t.Parallel()
	s := New(t)
	s.Enqueue(Malformed(), Malformed())
	_, body := call(t, s, "/responses", requestBody(t, true))
	frames := parseSSE(t, body, false)
	if want := []string{"response.created", "response.in_progress", "response.output_text.delta"}; !slices.Equal(types(frames), want) {
		t.Fatalf("events %v, want %v", types(frames), want)
	}
	if json.Valid(frames[2].Data) {
		t.Errorf("last data line is valid JSON: %s", frames[2].Data)
	}
	resp, body := call(t, s, "/responses", requestBody(t, false))
	if resp.StatusCode != http.StatusOK || json.Valid(body) {
		t.Errorf("nonstream: status %d, valid JSON %v", resp.StatusCode, json.Valid(body))
	}
}

// wantAbandoned waits for the Server to report an abandoned answer on ended.
func wantAbandoned(t *testing.T, ended <-chan struct{}) {
	t.Helper()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the answer's request ended and the Server did not report it")
	}
}

func TestHang(t *testing.T) {
	t.Parallel()
	t.Run("until the client gives up", func(t *testing.T) {
		t.Parallel()
		ended := make(chan struct{}, 1)
		s := New(t, NotifyAbandoned(ended))
		s.Enqueue(Hang())
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		if _, err := post(ctx, s, "/responses", s.Key(), requestBody(t, true)); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v, want a deadline", err)
		}
		wantAbandoned(t, ended)
	})
	for _, tc := range []struct {
		name  string
		opts  []Option
		reply Reply
		lines int // read before the client leaves
	}{
		{"mid stream until cancel", nil, Text("a stalled answer", Usage{}).HangAfter(5), 5 * 3}, // five frames of three lines
		{"a stream the client leaves before its end", []Option{Pace(time.Minute)},
			Text("an answer that never stalls", Usage{}), 1}, // it leaves between two frames
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ended := make(chan struct{}, 1)
			s := New(t, append(tc.opts, NotifyAbandoned(ended))...)
			s.Enqueue(tc.reply)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			resp, err := post(ctx, s, "/responses", s.Key(), requestBody(t, true))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			for range tc.lines {
				if _, err := br.ReadString('\n'); err != nil {
					t.Fatal(err)
				}
			}
			cancel()
			wantAbandoned(t, ended)
		})
	}
	t.Run("until the server closes", func(t *testing.T) {
		t.Parallel()
		var br *bufio.Reader
		t.Run("server", func(t *testing.T) {
			s := New(t)
			s.Enqueue(Text("a stalled answer", Usage{}).HangAfter(1))
			resp, err := post(context.Background(), s, "/responses", s.Key(), requestBody(t, true))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { resp.Body.Close() })
			br = bufio.NewReader(resp.Body)
			if _, err := br.ReadString('\n'); err != nil {
				t.Fatal(err)
			}
		}) // its cleanup closes the server: that must not wait for the stalled answer
		if _, err := io.ReadAll(br); err == nil {
			t.Error("the stalled stream ended cleanly at close, want a broken connection")
		}
	})
}

func TestDelay(t *testing.T) {
	t.Parallel()
	const d = 30 * time.Millisecond
	s := New(t, Delay(d))
	s.Enqueue(Text("late", Usage{}))
	start := time.Now()
	resp, err := post(t.Context(), s, "/responses", s.Key(), requestBody(t, true))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := time.Since(start); got < d {
		t.Errorf("first byte after %v, want at least %v", got, d)
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	invalid := fixture(t, "error-response-401.json")
	for _, tc := range []struct {
		name, key string
		opts      []Option
		status    int
	}{
		{"default key", DefaultKey, nil, http.StatusOK},
		{"no key", "", nil, http.StatusUnauthorized},
		{"wrong key", "sk-wrong", nil, http.StatusUnauthorized},
		{"configured key", "sk-custom", []Option{WithKey("sk-custom")}, http.StatusOK},
		{"default key when another is configured", DefaultKey, []Option{WithKey("sk-custom")}, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := New(t, tc.opts...)
			s.Enqueue(Text("hi", Usage{}))
			resp, err := post(t.Context(), s, "/responses", tc.key, requestBody(t, false))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status == http.StatusUnauthorized && (!bytes.Equal(body, invalid) || s.Pending() != 1) {
				t.Errorf("401 body %s, %d pending replies (want the recorded body, the reply kept)", body, s.Pending())
			}
			if len(s.Requests()) != 1 {
				t.Errorf("%d requests recorded, want 1", len(s.Requests()))
			}
		})
	}
}

func TestRequests(t *testing.T) {
	t.Parallel()
	s := New(t)
	s.Enqueue(Text("one", Usage{}), Text("two", Usage{}))
	bodies := [][]byte{requestBody(t, false), fixture(t, "request-with-tool-output.json")}
	call(t, s, "/responses", bodies[0])
	call(t, s, "/v1/responses", bodies[1])
	got := s.Requests()
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2", len(got))
	}
	for i, path := range []string{"/responses", "/v1/responses"} {
		r := got[i]
		if r.Method != http.MethodPost || r.Path != path || r.Header.Get("Authorization") != "Bearer "+DefaultKey ||
			r.Body["model"] != "gpt-4.1-2025-04-14" || !bytes.Equal(r.Raw, bodies[i]) {
			t.Errorf("request %d: %s %s, Authorization %q, model %v", i, r.Method, r.Path, r.Header.Get("Authorization"), r.Body["model"])
		}
	}
	input := got[1].Body["input"].([]any)
	if last := input[len(input)-1].(map[string]any); last["call_id"] != "call_ohMElZTE0hUwWCxWRlvZSUqg" {
		t.Errorf("last input item %v", last)
	}
	got[0].Header.Set("Authorization", "changed")
	if s.Requests()[0].Header.Get("Authorization") == "changed" {
		t.Error("Requests shares headers with the Server")
	}
}

func TestConcurrentCalls(t *testing.T) {
	t.Parallel()
	const n = 16
	s := New(t)
	for i := range n {
		s.Enqueue(Text(fmt.Sprintf("answer %d", i), Usage{}))
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, err := post(t.Context(), s, "/responses", s.Key(), requestBody(t, i%2 == 0))
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			_, _ = io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("status %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	if len(s.Requests()) != n || s.Pending() != 0 {
		t.Errorf("%d requests, %d pending", len(s.Requests()), s.Pending())
	}
}

func TestUnscripted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, method, path string
		body               []byte
		status             int
		message            string
	}{
		{"empty queue", http.MethodPost, "/responses", []byte(`{"input":"hi"}`), http.StatusInternalServerError, "Enqueue"},
		{"unknown path", http.MethodPost, "/v1/chat/completions", []byte(`{}`), http.StatusNotFound, "Invalid URL (POST /v1/chat/completions)"},
		{"wrong method", http.MethodGet, "/v1/responses", nil, http.StatusNotFound, "Invalid URL (GET /v1/responses)"},
		{"not JSON", http.MethodPost, "/responses", []byte(`{"input":`), http.StatusBadRequest, "could not parse the JSON body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := New(t)
			req, err := http.NewRequestWithContext(t.Context(), tc.method, s.URL()+tc.path, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+s.Key())
			resp, err := s.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			e := decode[struct {
				Error struct{ Message, Type string }
			}](t, body)
			if resp.StatusCode != tc.status || !strings.Contains(e.Error.Message, tc.message) {
				t.Errorf("status %d, message %q; want %d and %q", resp.StatusCode, e.Error.Message, tc.status, tc.message)
			}
			if tc.status == http.StatusInternalServerError &&
				(!strings.Contains(e.Error.Message, t.Name()) || resp.Header.Get("x-should-retry") != "false") {
				t.Errorf("empty-queue answer names no test or lets the client retry: %q", e.Error.Message)
			}
		})
	}
}

func TestSplit(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"", "Hi", "Go was announced publicly by Google on November 10, 2009.",
		`{"query":"Go first public release","max_results":5}`, "ünïcode 🙂 text\nwith  two spaces", "12345678",
	} {
		chunks := split(s)
		if strings.Join(chunks, "") != s {
			t.Errorf("split(%q) = %q does not join back", s, chunks)
		}
		for _, c := range chunks {
			if c == "" || !utf8.ValidString(c) {
				t.Errorf("split(%q) has chunk %q", s, c)
			}
		}
	}
	want := []string{"Go", " was", " announced", " on", " ", "200", "9", "."}
	if got := split("Go was announced on 2009."); !slices.Equal(got, want) {
		t.Errorf("split = %q, want %q", got, want)
	}
}

func TestAlways(t *testing.T) {
	t.Parallel()
	s := Start(Always(Text("again", Usage{})))
	defer s.Close()
	s.Enqueue(Text("queued first", Usage{}))
	for i, want := range []string{"queued first", "again", "again"} {
		_, body := call(t, s, "/responses", requestBody(t, false))
		if !bytes.Contains(body, []byte(`"text": "`+want+`"`)) {
			t.Errorf("call %d: body %s, want the text %q", i+1, body, want)
		}
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("Always recorded %d requests; a load tool's model keeps none", n)
	}
}

func TestPace(t *testing.T) {
	t.Parallel()
	const pace = 5 * time.Millisecond
	s := New(t, Pace(pace))
	s.Enqueue(Text("paced", Usage{}))
	start := time.Now()
	_, body := call(t, s, "/responses", requestBody(t, true))
	n := bytes.Count(body, []byte("\nevent: ")) + 1
	if took := time.Since(start); took < time.Duration(n-1)*pace {
		t.Errorf("%d events in %s; Pace(%s) spaces them", n, took, pace)
	}
}

// TestTLS: a TLS Server answers streams over HTTP/2, and its CertPEM is
// what a client outside the process needs to trust it.
func TestTLS(t *testing.T) {
	s := New(t, TLS(), Always(Text("Hello over HTTP/2.", Usage{})))
	resp, b := call(t, s, "/v1/responses", requestBody(t, true))
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		t.Fatalf("status %d over %s, want 200 over HTTP/2", resp.StatusCode, resp.Proto)
	}
	if !bytes.Contains(b, []byte("Hello")) {
		t.Errorf("stream has no text delta: %s", b)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CertPEM()) {
		t.Fatal("CertPEM holds no certificate")
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	resp, err := c.Post(s.URL()+"/v1/responses", "application/json", bytes.NewReader(requestBody(t, false)))
	if err != nil {
		t.Fatalf("a client trusting only CertPEM: %v", err)
	}
	resp.Body.Close()
	if plain := New(t); plain.CertPEM() != nil {
		t.Error("a plain HTTP Server has a certificate")
	}
}
