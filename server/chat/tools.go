package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"agentplane/store"
)

// caller is who a tool runs for: search_conversations sees only this
// tenant's (and user's) conversations (agents-and-data.md §9 note 1).
type caller struct{ tenantID, userID string }

// Tool is one function tool of the registry (spec: agents-and-data.md §4).
type Tool struct {
	Name, Category, Description string
	// Audience (§4.1): core tools go to every agent; otherwise the agent's
	// key must be in Agents or one of its capabilities in Capabilities.
	Core                 bool
	Agents, Capabilities []string
	// Parameters is the strict JSON schema sent to the model.
	Parameters map[string]any
	// Run executes a call with the model's JSON arguments; its error becomes
	// the SDK's error text, never a failed turn.
	Run func(ctx context.Context, who caller, args json.RawMessage) (string, error)
}

// Tools is the tool registry, in registration order.
type Tools struct{ list []*Tool }

// register adds t, replacing a tool of the same name in place (§4.1).
func (r *Tools) register(t *Tool) {
	if i := slices.IndexFunc(r.list, func(x *Tool) bool { return x.Name == t.Name }); i >= 0 {
		r.list[i] = t
		return
	}
	r.list = append(r.list, t)
}

// Names are the tool names in registration order.
func (r *Tools) Names() []string {
	out := make([]string, len(r.list))
	for i, t := range r.list {
		out[i] = t.Name
	}
	return out
}

// Categories are the categories in first-registration order.
func (r *Tools) Categories() []string {
	var out []string
	for _, t := range r.list {
		if !slices.Contains(out, t.Category) {
			out = append(out, t.Category)
		}
	}
	return out
}

// forAgent selects the tools of an agent (§4.1 get_tools_for_agent with
// include_core).
func (r *Tools) forAgent(key string, capabilities []string) []*Tool {
	key = strings.ToLower(strings.TrimSpace(key))
	var out []*Tool
	for _, t := range r.list {
		if t.Core || slices.Contains(t.Agents, key) ||
			slices.ContainsFunc(capabilities, func(c string) bool {
				return slices.Contains(t.Capabilities, strings.ToLower(strings.TrimSpace(c)))
			}) {
			out = append(out, t)
		}
	}
	return out
}

// objectSchema is a strict object schema: every property required, no
// others (§4.2).
func objectSchema(props map[string]any) map[string]any {
	required := make([]string, 0, len(props))
	for k := range props {
		required = append(required, k)
	}
	slices.Sort(required)
	return map[string]any{"type": "object", "properties": props, "required": required, "additionalProperties": false}
}

// newTools registers the startup tools in the reference's order (§4.1).
func newTools(tavily *Tavily, convs func() store.Conversations, now func() time.Time) *Tools {
	r := &Tools{}
	r.register(&Tool{
		Name: "tavily_search_tool", Category: "web_search",
		Description: "Search the web using Tavily API for current information. Use this tool for real-time " +
			"information, current events, facts and up-to-date data.",
		Agents: []string{"data_analyst", "triage"}, Capabilities: []string{"web_search"},
		Parameters: objectSchema(map[string]any{
			"query":          map[string]any{"type": "string", "description": "The search query to execute"},
			"max_results":    map[string]any{"type": "integer", "description": "Maximum number of search results (1-20, default: 5)"},
			"search_depth":   map[string]any{"type": "string", "enum": []string{"basic", "advanced"}, "description": "Search depth"},
			"include_answer": map[string]any{"type": "boolean", "description": "Whether to include an AI-generated answer"},
			"topic":          map[string]any{"type": "string", "enum": []string{"general", "news"}, "description": "Search topic"},
		}),
		Run: func(ctx context.Context, _ caller, args json.RawMessage) (string, error) {
			q := SearchQuery{MaxResults: 5, SearchDepth: "basic", IncludeAnswer: true, Topic: "general"}
			if err := json.Unmarshal(args, &q); err != nil {
				return "", fmt.Errorf("invalid arguments: %w", err)
			}
			return tavily.Search(ctx, q), nil
		},
	})
	r.register(&Tool{
		Name: "get_current_time", Category: "utility", Core: true, Capabilities: []string{"general"},
		Description: "Return the current UTC timestamp.",
		Parameters:  objectSchema(map[string]any{}),
		Run: func(context.Context, caller, json.RawMessage) (string, error) {
			return now().UTC().Format("2006-01-02 15:04:05 UTC"), nil
		},
	})
	r.register(&Tool{
		Name: "search_conversations", Category: "conversation", Core: true,
		Capabilities: []string{"conversation", "search"},
		Description:  "Search cached conversations for a query string.",
		Parameters:   objectSchema(map[string]any{"query": map[string]any{"type": "string"}}),
		Run: func(ctx context.Context, who caller, args json.RawMessage) (string, error) {
			var in struct {
				Query string `json:"query"`
			}
			if err := json.Unmarshal(args, &in); err != nil {
				return "", fmt.Errorf("invalid arguments: %w", err)
			}
			hits, err := convs().Search(ctx, who.tenantID, who.userID, in.Query, 0)
			if err != nil {
				return "", err
			}
			return formatSearch(hits), nil
		},
	})
	return r
}

// formatSearch is the search_conversations tool's text (§4.2).
func formatSearch(hits []store.SearchHit) string {
	if len(hits) == 0 {
		return "No conversations contained the requested text."
	}
	lines := make([]string, 0, 5)
	for _, h := range hits[:min(5, len(hits))] {
		lines = append(lines, h.Key+": "+h.Preview)
	}
	return fmt.Sprintf("Found %d matching conversations:\n", len(hits)) + strings.Join(lines, "\n")
}
