package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

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
	rawID := t.ConversationID
	if rawID == "" {
		_, rawID, _ = store.ConversationID("")
	}
	_, key, err := store.ConversationID(rawID)
	if err != nil {
		return Reply{}, err
	}
	convs := s.store.Conversations()
	sessionID := key
	if st, err := convs.SessionState(ctx, sc.TenantID, sc.UserID, rawID); err == nil && st.SDKSessionID != "" {
		sessionID = st.SDKSessionID
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Reply{}, err
	}
	entry := s.resolve(t.AgentType)

	meta := store.AppendMeta{UserID: sc.UserID, AgentEntrypoint: entry.Key, SDKSessionID: sessionID}
	user := store.Message{Role: "user", Content: t.Message}
	if _, err := convs.Append(ctx, sc.TenantID, rawID, []store.Message{user}, meta, s.now()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Reply{}, conversationNotFound(rawID, err)
		}
		return Reply{}, err
	}

	history, err := convs.SessionItems(ctx, sessionID)
	if err != nil {
		return Reply{}, err
	}
	userItem, _ := json.Marshal(map[string]string{"role": "user", "content": t.Message})
	res, err := s.run(ctx, caller{sc.TenantID, sc.UserID}, entry, history, userItem)
	if err != nil {
		return Reply{}, err
	}

	items := make([]string, 0, len(res.items)+1)
	items = append(items, string(userItem))
	for _, it := range res.items {
		items = append(items, string(it))
	}
	prompt, completion, reasoning, handoffs := res.usage.Input, res.usage.Output, res.usage.Reasoning, res.handoffs
	reply := store.Message{Role: "assistant", Content: res.output, AgentType: res.agent.Key,
		PromptTokens: &prompt, CompletionTokens: &completion, ReasoningTokens: &reasoning}
	meta.ActiveAgent = res.agent.Key
	meta.PromptTokens, meta.CompletionTokens, meta.ReasoningTokens, meta.HandoffCount =
		&prompt, &completion, &reasoning, &handoffs
	now := s.now()
	err = s.store.InTx(ctx, func(tx *store.Store) error {
		c := tx.Conversations()
		if _, err := c.Append(ctx, sc.TenantID, rawID, []store.Message{reply}, meta, now); err != nil {
			return err
		}
		if err := c.AddSessionItems(ctx, sessionID, items, now); err != nil {
			return err
		}
		return c.SetSessionState(ctx, sc.TenantID, sc.UserID, rawID, store.SessionState{SDKSessionID: sessionID, LastSyncAt: &now})
	})
	if errors.Is(err, store.ErrNotFound) {
		return Reply{}, conversationNotFound(rawID, err) // deleted while the agent ran
	}
	if err != nil {
		return Reply{}, err
	}
	return Reply{Response: res.output, ConversationID: rawID, AgentUsed: res.agent.Key,
		HandoffOccurred: res.handoffs > 0,
		Metadata:        map[string]any{"model_used": entry.Model, "tools_available": s.tools.Names()}}, nil
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
// agent.
func (s *Service) run(ctx context.Context, who caller, agent *Agent, history []string, userItem json.RawMessage) (runResult, error) {
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
	for range maxTurns {
		out, err := s.model.respond(ctx, res.agent, input)
		if err != nil {
			return runResult{}, err
		}
		res.usage.add(out.Usage)
		var calls []outputItem
		var last *outputItem
		for _, raw := range out.Items {
			var it outputItem
			if err := json.Unmarshal(raw, &it); err != nil {
				return runResult{}, chatFailure(ErrProvider, "the model provider sent an invalid response.", err)
			}
			add(raw)
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
	return runResult{}, chatFailure(ErrRun, fmt.Sprintf("the agent exceeded %d turns.", maxTurns), nil)
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
