package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/openai/openai-go/v3/responses"
)

// responder calls the OpenAI Responses API (spec: agents-and-data.md §3.3)
// at OPENAI_BASE_URL; nil client means OPENAI_API_KEY is unset.
type responder struct {
	client *openai.Client
	// timeout bounds a blocking call, and the silence between two events of
	// a streamed one (whose whole length is bounded by streamCallTimeout)
	timeout time.Duration
}

func newResponder(key, baseURL string, hc *http.Client, timeout time.Duration) responder {
	if key == "" {
		return responder{}
	}
	opts := []option.RequestOption{option.WithAPIKey(key), option.WithHTTPClient(hc), option.WithMaxRetries(2)}
	if baseURL != "" {
		opts = append(opts, option.WithBaseURL(baseURL))
	}
	c := openai.NewClient(opts...)
	return responder{client: &c, timeout: timeout}
}

// modelOutput is what the loop needs of one Response.
type modelOutput struct {
	Items []json.RawMessage // output items, as sent (each is also a valid input item)
	Usage usage
}

// usage is token usage summed over a turn's model calls (§3.3 step 5).
type usage struct{ Input, Output, Reasoning int }

func (u *usage) add(o usage) {
	u.Input += o.Input
	u.Output += o.Output
	u.Reasoning += o.Reasoning
}

// Bounds of one model call: the default of Deps.ModelTimeout, and the
// whole length of a streamed call.
const (
	defaultModelTimeout = 2 * time.Minute
	streamCallTimeout   = 10 * time.Minute
)

// errModelSilent cancels a streamed call whose model stopped sending.
var errModelSilent = errors.New("chat: the model sent nothing for too long")

// deltaFunc receives the text deltas of a streamed model call; an error
// stops the call.
type deltaFunc func(delta string) error

// respond makes one model call for agent with input items: streamed when
// onDelta is set (it then sees each output_text delta), else blocking. The
// local conversation id is never sent (§9 note 4).
func (r responder) respond(ctx context.Context, agent *Agent, input []json.RawMessage, onDelta deltaFunc) (modelOutput, error) {
	if r.client == nil {
		return modelOutput{}, chatFailure(ErrNotConfigured, notConfiguredSummary, nil)
	}
	// The body is encoded here in one pass; openai-go sends it (auth,
	// retries, errors). Its params plus WithJSONSet would re-read and
	// rewrite the whole body once per field, history included.
	body, err := json.Marshal(modelRequest{Model: agent.Model, Instructions: agent.Instructions,
		Input: input, Tools: agent.tools, Stream: onDelta != nil})
	if err != nil {
		return modelOutput{}, chatFailure(ErrRun, "the conversation could not be encoded.", err)
	}
	opt := option.WithRequestBody("application/json", body)
	if onDelta != nil {
		ctx, cancel := context.WithTimeout(ctx, streamCallTimeout)
		defer cancel()
		return r.stream(ctx, opt, onDelta)
	}
	return r.blocking(ctx, opt)
}

// blocking makes one model call that answers with the whole response. It
// is a function of its own, never inlined, because openai-go's params value
// takes 6 KiB of its frame: in respond, that frame sat on the stack of every
// open stream while it waited for the model, and kept the goroutine's stack
// from shrinking below 32 KiB (measured: 43 KiB of stacks per idle stream).
//
//go:noinline
func (r responder) blocking(ctx context.Context, body option.RequestOption) (modelOutput, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	res, err := r.client.Responses.New(ctx, responses.ResponseNewParams{}, body)
	if err != nil {
		return modelOutput{}, providerFailure(err)
	}
	var out responseBody
	if err := json.Unmarshal([]byte(res.RawJSON()), &out); err != nil {
		return modelOutput{}, invalidResponse(err)
	}
	return out.output(), nil
}

// modelRequest is the body of a Responses API call (§3.3).
type modelRequest struct {
	Model        string            `json:"model"`
	Instructions string            `json:"instructions"`
	Input        []json.RawMessage `json:"input"`
	Tools        json.RawMessage   `json:"tools,omitempty"`
	Stream       bool              `json:"stream,omitempty"`
}

// stream makes one streamed model call: text deltas go to onDelta as they
// arrive; the output items and usage come from the final
// response.completed (or response.incomplete) event. openai-go builds,
// authenticates and retries the request; the events are read with its SSE
// decoder but decoded here, and only the few the loop needs: its typed
// stream decodes every event (each repeating the whole request) into a
// large union, which made up most of a turn's CPU time.
func (r responder) stream(ctx context.Context, body option.RequestOption, onDelta deltaFunc) (out modelOutput, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	silence := time.AfterFunc(r.timeout, func() { cancel(errModelSilent) })
	defer silence.Stop()
	defer func() {
		if err != nil && errors.Is(context.Cause(ctx), errModelSilent) {
			err = chatFailure(ErrProvider, "the model provider did not answer in time.", err)
		}
	}()
	var raw *http.Response
	if err := r.client.Post(ctx, "responses", nil, &raw, body); err != nil {
		return modelOutput{}, providerFailure(err)
	}
	events := ssestream.NewDecoder(raw)
	if events == nil {
		raw.Body.Close()
		return modelOutput{}, chatFailure(ErrProvider, "the model provider did not answer with an event stream.", nil)
	}
	defer events.Close()
	for events.Next() {
		silence.Reset(r.timeout)
		ev := events.Event()
		typ := ev.Type
		if typ == "" || typ == "message" { // a server that sends data lines only
			var t struct {
				Type string `json:"type"`
			}
			if err := json.Unmarshal(ev.Data, &t); err != nil {
				return modelOutput{}, invalidResponse(err)
			}
			typ = t.Type
		}
		switch typ {
		case "response.output_text.delta":
			var d struct {
				Delta string `json:"delta"`
			}
			if err := json.Unmarshal(ev.Data, &d); err != nil {
				return modelOutput{}, invalidResponse(err)
			}
			if err := onDelta(d.Delta); err != nil {
				return modelOutput{}, err
			}
		case "response.completed", "response.incomplete", "response.failed":
			var e struct {
				Response responseBody `json:"response"`
			}
			if err := json.Unmarshal(ev.Data, &e); err != nil {
				return modelOutput{}, invalidResponse(err)
			}
			drain(raw.Body)
			if typ == "response.failed" {
				return modelOutput{}, streamFailure(e.Response.Error.Code)
			}
			return e.Response.output(), nil
		case "error":
			var e struct {
				Code string `json:"code"`
			}
			_ = json.Unmarshal(ev.Data, &e)
			return modelOutput{}, streamFailure(e.Code)
		}
	}
	if err := events.Err(); err != nil {
		return modelOutput{}, providerFailure(err)
	}
	return modelOutput{}, chatFailure(ErrProvider, "the model provider's stream ended before the response was complete.", nil)
}

// drainWait bounds reading what follows a stream's last event.
const drainWait = 100 * time.Millisecond

// drain reads the rest of a finished stream (its end of body, at most
// 64 KiB or drainWait), so that its connection goes back to the pool
// instead of being closed for an unread body.
func drain(body io.ReadCloser) {
	stop := time.AfterFunc(drainWait, func() { body.Close() }) // unblocks the read
	defer stop.Stop()
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
}

// invalidResponse is a model answer that could not be read.
func invalidResponse(err error) error {
	return chatFailure(ErrProvider, "the model provider sent an invalid response.", err)
}

// responseBody is the part of a Response the loop reads.
type responseBody struct {
	Output []json.RawMessage `json:"output"`
	Error  struct {
		Code string `json:"code"`
	} `json:"error"`
	Usage *struct {
		InputTokens         int `json:"input_tokens"`
		OutputTokens        int `json:"output_tokens"`
		OutputTokensDetails struct {
			ReasoningTokens int `json:"reasoning_tokens"`
		} `json:"output_tokens_details"`
	} `json:"usage"`
}

func (b responseBody) output() modelOutput {
	out := modelOutput{Items: b.Output}
	if b.Usage != nil {
		out.Usage = usage{b.Usage.InputTokens, b.Usage.OutputTokens, b.Usage.OutputTokensDetails.ReasoningTokens}
	}
	return out
}

// streamFailure is a model call the provider reported failed mid-stream:
// its error code only, when it is a plain identifier.
func streamFailure(code string) error {
	s := "the model provider failed while streaming"
	if safeCode.MatchString(code) {
		s += " (" + code + ")"
	}
	return chatFailure(ErrProvider, s+".", nil)
}

// safeCode keeps an upstream error code only when it is a plain identifier.
var safeCode = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// providerFailure is the safe summary of a failed model call: the upstream
// status and code only (http-api.md §4 note 24).
func providerFailure(err error) error {
	var apiErr *openai.Error
	switch {
	case errors.As(err, &apiErr):
		s := fmt.Sprintf("the model provider answered HTTP %d", apiErr.StatusCode)
		if safeCode.MatchString(apiErr.Code) {
			s += " (" + apiErr.Code + ")"
		}
		return chatFailure(ErrProvider, s+".", err)
	case errors.Is(err, context.DeadlineExceeded):
		return chatFailure(ErrProvider, "the model provider did not answer in time.", err)
	case errors.Is(err, context.Canceled):
		return chatFailure(ErrRun, "the request was cancelled.", err)
	default:
		return chatFailure(ErrProvider, "the model provider could not be reached or sent an invalid response.", err)
	}
}

// toolDefinitions are the agent's function tools then its handoff tools,
// all strict (§4.2, §2).
func toolDefinitions(agent *Agent) []map[string]any {
	var out []map[string]any
	for _, t := range agent.Tools {
		out = append(out, map[string]any{"type": "function", "name": t.Name, "description": t.Description,
			"parameters": t.Parameters, "strict": true})
	}
	for _, target := range agent.targets {
		out = append(out, map[string]any{"type": "function", "name": handoffToolName(target.Name),
			"description": handoffDescription(target), "parameters": objectSchema(map[string]any{}), "strict": true})
	}
	return out
}
