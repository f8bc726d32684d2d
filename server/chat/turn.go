package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"
	"time"

	"agentplane/store"
)

// Turn is one chat request (spec: agents-and-data.md §3.1).
type Turn struct {
	Message        string
	ConversationID string // "" starts a new conversation
	AgentType      string // "" or unknown: triage
}

// Reply is the AgentChatResponse (http-api.md §2.4.1).
type Reply struct {
	Response        string         `json:"response"`
	ConversationID  string         `json:"conversation_id"`
	AgentUsed       string         `json:"agent_used"`
	HandoffOccurred bool           `json:"handoff_occurred"`
	Metadata        map[string]any `json:"metadata"`
}

// Chat runs one blocking turn for sc (§3.2 with the Go fixes): the user
// message is stored first and stays stored if the run fails; the reply, the
// session items, the usage and the session sync are stored together. A
// conversation the caller may not see is ErrConversationNotFound. sc.UserID
// is the person writing ("" for a service account, whose conversations
// belong to the tenant).
func (s *Service) Chat(ctx context.Context, sc Scope, t Turn) (Reply, error) {
	p, err := s.Begin(ctx, sc, t)
	if err != nil {
		return Reply{}, err
	}
	return p.Reply(ctx)
}

// Pending is a turn whose conversation is resolved (§3.2 steps 2-5); Reply
// or Stream runs it, once. Its user message is stored by Begin, or — when
// the conversation is known to be new or the caller's own — while the
// first model call is made, so that a stream's first chunk does not wait
// for a database write.
type Pending struct {
	s         *Service
	sc        Scope
	rawID     string // the id as the client sent it (or generated)
	key       string // the conversation's normalised key
	sessionID string
	entry     *Agent
	meta      store.AppendMeta
	userItem  json.RawMessage
	history   []string

	user     store.Message // stored by storeUser unless stored is set
	at       time.Time
	userOnce sync.Once // Do returns to every caller only once the write is done
	userErr  error
}

// Begin resolves the conversation and agent; the run has not started. A
// conversation the caller may not see is ErrConversationNotFound.
func (s *Service) Begin(ctx context.Context, sc Scope, t Turn) (*Pending, error) {
	rawID, known := t.ConversationID, true
	if rawID == "" { // a new conversation: nothing to look up
		_, rawID, _ = store.ConversationID("")
		known = false
	}
	_, key, err := store.ConversationID(rawID)
	if err != nil {
		return nil, err
	}
	entry := s.resolve(t.AgentType)
	p := &Pending{s: s, sc: sc, rawID: rawID, key: key, sessionID: key, entry: entry,
		user: store.Message{Role: "user", Content: t.Message}, at: s.now()}
	p.userItem, _ = json.Marshal(map[string]string{"role": "user", "content": t.Message})
	p.meta = store.AppendMeta{UserID: sc.UserID, AgentEntrypoint: entry.Key, SDKSessionID: key}
	if !known {
		return p, nil
	}
	convs := s.store.Conversations()
	st, err := convs.SessionState(ctx, sc.TenantID, sc.UserID, rawID)
	switch {
	case err == nil: // the caller's own conversation
		if st.SDKSessionID != "" {
			p.sessionID, p.meta.SDKSessionID = st.SDKSessionID, st.SDKSessionID
		}
	case errors.Is(err, store.ErrNotFound):
		// new, or someone else's: storing the message now tells which
		if err := p.storeUser(ctx); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	if p.history, err = convs.SessionItems(ctx, p.sessionID); err != nil {
		return nil, err
	}
	return p, nil
}

// storeUser stores the user message once; every call returns the outcome.
func (p *Pending) storeUser(ctx context.Context) error {
	p.userOnce.Do(func() {
		_, err := p.s.store.Conversations().Append(ctx, p.sc.TenantID, p.rawID, []store.Message{p.user}, p.meta, p.at)
		if errors.Is(err, store.ErrNotFound) {
			err = conversationNotFound(p.rawID, err)
		}
		p.userErr = err
	})
	return p.userErr
}

// storeUserAsync starts storing the user message beside the first model
// call; the write runs to its end even if ctx is cancelled, so the message
// stays stored as a failed turn's does.
func (p *Pending) storeUserAsync(ctx context.Context) {
	go func() { _ = p.storeUser(context.WithoutCancel(ctx)) }()
}

// ConversationID is the conversation's id as the client sees it.
func (p *Pending) ConversationID() string { return p.rawID }

// Reply runs the turn with blocking model calls and stores the reply.
func (p *Pending) Reply(ctx context.Context) (Reply, error) {
	p.storeUserAsync(ctx)
	res, err := p.s.run(ctx, caller{p.sc.TenantID, p.sc.UserID}, p.entry, p.history, p.userItem, nil)
	if uerr := p.storeUser(ctx); uerr != nil {
		return Reply{}, uerr
	}
	if err != nil {
		return Reply{}, err
	}
	if err := p.saveDetached(ctx, res, res.output); err != nil {
		return Reply{}, err
	}
	return Reply{Response: res.output, ConversationID: p.rawID, AgentUsed: res.agent.Key,
		HandoffOccurred: res.handoffs > 0,
		Metadata:        map[string]any{"model_used": p.entry.Model, "tools_available": p.s.tools.Names()}}, nil
}

// errStopped ends a model stream whose consumer stopped reading.
var errStopped = errors.New("chat: stream consumer stopped")

// saveTimeout bounds storing what a cancelled turn produced.
const saveTimeout = 10 * time.Second

// Stream runs the turn with streamed model calls (§3.4 with the Go fixes).
// It yields a chunk frame per text delta, tagged with the agent writing
// it, then — after the reply, session items and usage are stored — the
// completion frame naming the final agent. A failure is yielded once as
// (Frame{}, err) and ends the sequence. When the consumer stops early or
// ctx ends, the model call is cancelled and the text produced so far is
// stored as the reply.
func (p *Pending) Stream(ctx context.Context) iter.Seq2[Frame, error] {
	return func(yield func(Frame, error) bool) {
		stopped := false
		var text strings.Builder
		p.storeUserAsync(ctx)
		onDelta := func(a *Agent) deltaFunc {
			return func(d string) error {
				if text.Len() == 0 { // nothing is shown before the user message is stored
					if err := p.storeUser(ctx); err != nil {
						return err
					}
				}
				text.WriteString(d)
				if !yield(Frame{Chunk: d, ConversationID: p.rawID, AgentUsed: a.Key}, nil) {
					stopped = true
					return errStopped
				}
				return nil
			}
		}
		res, err := p.s.run(ctx, caller{p.sc.TenantID, p.sc.UserID}, p.entry, p.history, p.userItem, onDelta)
		if uerr := p.storeUser(ctx); uerr != nil {
			if !stopped {
				yield(Frame{}, uerr)
			}
			return
		}
		if err != nil {
			p.savePartial(ctx, res, text.String(), err)
			if !stopped {
				yield(Frame{}, err)
			}
			return
		}
		if err := p.saveDetached(ctx, res, text.String()); err != nil {
			if !stopped {
				yield(Frame{}, err)
			}
			return
		}
		yield(Frame{ConversationID: p.rawID, IsComplete: true, AgentUsed: res.agent.Key}, nil)
	}
}

// savePartial stores what a failed or abandoned stream produced: the text
// the client saw as the reply, and as model memory the finished items plus
// the unfinished message, so the next turn continues from what was said.
// A turn that produced nothing leaves the user message alone, as a failed
// blocking turn does.
func (p *Pending) savePartial(ctx context.Context, res runResult, text string, cause error) {
	if text == "" {
		return
	}
	if res.partial != "" {
		item, _ := json.Marshal(map[string]string{"role": "assistant", "content": res.partial})
		res.items = append(res.items, item)
	}
	if err := p.saveDetached(ctx, res, text); err != nil {
		p.s.log.ErrorContext(ctx, "storing a cut-short reply failed", "conversation_id", p.rawID, "error", err, "cause", cause)
	}
}

// saveDetached is save that runs to its end when ctx is cancelled: a reply
// the model has written is kept even if its client leaves at that moment.
func (p *Pending) saveDetached(ctx context.Context, res runResult, content string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
	defer cancel()
	return p.save(ctx, res, content)
}

// save stores the reply with content, the new session items, the usage
// and the session sync in one transaction (§3.2 steps 7-8, §3.3 step 4).
func (p *Pending) save(ctx context.Context, res runResult, content string) error {
	items := make([]string, 0, len(res.items)+1)
	items = append(items, string(p.userItem))
	for _, it := range res.items {
		items = append(items, string(it))
	}
	prompt, completion, reasoning, handoffs := res.usage.Input, res.usage.Output, res.usage.Reasoning, res.handoffs
	reply := store.Message{Role: "assistant", Content: content, AgentType: res.agent.Key,
		PromptTokens: &prompt, CompletionTokens: &completion, ReasoningTokens: &reasoning}
	meta := p.meta
	meta.ActiveAgent = res.agent.Key
	meta.PromptTokens, meta.CompletionTokens, meta.ReasoningTokens, meta.HandoffCount =
		&prompt, &completion, &reasoning, &handoffs
	now := p.s.now()
	err := p.s.store.InTx(ctx, func(tx *store.Store) error {
		c := tx.Conversations()
		if _, err := c.Append(ctx, p.sc.TenantID, p.rawID, []store.Message{reply}, meta, now); err != nil {
			return err
		}
		if err := c.AddSessionItems(ctx, p.sessionID, items, now); err != nil {
			return err
		}
		return c.SetSessionState(ctx, p.sc.TenantID, p.sc.UserID, p.rawID,
			store.SessionState{SDKSessionID: p.sessionID, LastSyncAt: &now})
	})
	if errors.Is(err, store.ErrNotFound) {
		return conversationNotFound(p.rawID, err) // deleted while the agent ran
	}
	return err
}

// resolve maps agent_type to an agent: absent or unknown is triage (§2).
func (s *Service) resolve(agentType string) *Agent {
	if a, ok := s.agents[agentType]; ok {
		return a
	}
	return s.agents[defaultAgent]
}

// runResult is the outcome of the agent loop (§3.3 step 5).
type runResult struct {
	output   string
	agent    *Agent // the agent that produced output
	handoffs int
	usage    usage
	items    []json.RawMessage // the new items, in order, without the user input
	partial  string            // streamed text of a model call that did not finish
}

// outputItem is the part of an output item the loop reads.
type outputItem struct {
	Type      string `json:"type"`
	Role      string `json:"role"`
	CallID    string `json:"call_id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
	Content   []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
}

// run is the agent loop of §3.3: at most maxTurns model calls; tool calls
// are executed and fed back; the first handoff of a response switches the
// agent. With onDelta set the model calls stream and onDelta(agent) gets
// the text deltas of the agent writing them. On failure the result holds
// what was finished, with partial the text of the call that was cut.
func (s *Service) run(ctx context.Context, who caller, agent *Agent, history []string, userItem json.RawMessage,
	onDelta func(*Agent) deltaFunc) (runResult, error) {
	input := make([]json.RawMessage, 0, len(history)+1)
	for _, h := range history {
		input = append(input, json.RawMessage(h))
	}
	input = append(input, userItem)
	res := runResult{agent: agent}
	add := func(item json.RawMessage) {
		input = append(input, item)
		res.items = append(res.items, item)
	}
	var partial strings.Builder
	for range maxTurns {
		var deltas deltaFunc
		if onDelta != nil {
			emit := onDelta(res.agent)
			partial.Reset()
			deltas = func(d string) error {
				partial.WriteString(d)
				return emit(d)
			}
		}
		out, err := s.model.respond(ctx, res.agent, input, deltas)
		if err != nil {
			res.partial = partial.String()
			return res, err
		}
		res.usage.add(out.Usage)
		parsed := make([]outputItem, len(out.Items))
		for i, raw := range out.Items {
			if err := json.Unmarshal(raw, &parsed[i]); err != nil { // before any is kept: calls stay paired
				return res, chatFailure(ErrProvider, "the model provider sent an invalid response.", err)
			}
		}
		var calls []outputItem
		var last *outputItem
		for i, it := range parsed {
			add(out.Items[i])
			switch it.Type {
			case "function_call":
				calls = append(calls, it)
			case "message":
				last = &it
			}
		}
		if len(calls) == 0 {
			if last != nil {
				var b strings.Builder
				for _, c := range last.Content {
					if c.Type == "output_text" {
						b.WriteString(c.Text)
					}
				}
				res.output = b.String()
			}
			return res, nil
		}
		var next *Agent
		for _, c := range calls {
			if target, ok := res.agent.handoffTarget(c.Name); ok {
				if next != nil {
					add(callOutput(c.CallID, "Multiple handoffs detected, ignoring this one."))
					continue
				}
				next = target
				handoff, _ := json.Marshal(map[string]string{"assistant": target.Name})
				add(callOutput(c.CallID, string(handoff)))
				continue
			}
			add(callOutput(c.CallID, s.runTool(ctx, who, res.agent, c)))
		}
		if next != nil {
			res.agent = next
			res.handoffs++
		}
	}
	return res, chatFailure(ErrRun, fmt.Sprintf("the agent exceeded %d turns.", maxTurns), nil)
}

// runTool executes one function call; a failure is the SDK's error text,
// never a failed run (§3.3).
func (s *Service) runTool(ctx context.Context, who caller, agent *Agent, c outputItem) string {
	for _, t := range agent.Tools {
		if t.Name == c.Name {
			out, err := t.Run(ctx, who, json.RawMessage(c.Arguments))
			if err != nil {
				return "An error occurred while running the tool. Please try again. Error: " + err.Error()
			}
			return out
		}
	}
	return fmt.Sprintf("Tool %s not found in agent %s", c.Name, agent.Name)
}

// callOutput is a function_call_output input item.
func callOutput(callID, output string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"type": "function_call_output", "call_id": callID, "output": output})
	return b
}
