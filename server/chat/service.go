// Package chat runs agent conversations: the agents and tool registries, the
// agent loop over the OpenAI Responses API, the service (plain Go, no HTTP)
// and its huma operations (spec: agents-and-data.md §1-§6). Only this
// package imports openai-go.
package chat

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"agentplane/config"
	"agentplane/store"
)

// Deps is everything the chat area uses; cmd/serve.go fills it.
type Deps struct {
	Store         *store.Store
	OpenAIAPIKey  config.Secret // OPENAI_API_KEY; unset: every turn fails with ErrNotConfigured
	OpenAIBaseURL string        // OPENAI_BASE_URL; "" is openai-go's default
	TavilyAPIKey  config.Secret // TAVILY_API_KEY; unset: the search tool says so
	TavilyBaseURL string        // TAVILY_BASE_URL
	// ModelTimeout bounds a blocking model call and the silence between two
	// events of a streamed one (which may run 10 minutes); 0 is 2 minutes.
	ModelTimeout time.Duration
	// ModelClient and TavilyClient default to clients with timeouts (Tavily
	// 30 seconds; the model's response headers 2 minutes).
	ModelClient, TavilyClient *http.Client
	Log                       *slog.Logger
	Now                       func() time.Time

	// Limiter counts chat_per_minute (CHAT_RATE_LIMIT_PER_MINUTE, ChatPerMinute;
	// ≤ 0 or a nil Limiter: no limit). RateLimitHits records a refusal
	// (rate_limit_hits_total).
	Limiter       *store.Limiter
	ChatPerMinute int
	RateLimitHits func(quota, scope string)

	// ChatStreamPerMinute (CHAT_STREAM_RATE_LIMIT_PER_MINUTE) and
	// ChatStreamConcurrent (CHAT_STREAM_CONCURRENT_LIMIT) limit streams per
	// tenant and caller; ≤ 0 disables either.
	ChatStreamPerMinute, ChatStreamConcurrent int
	// TurnLog keeps resumable streams' frames (required).
	TurnLog *store.TurnLog
	// StreamPing is the silence before a `: ping` comment; 0 is 15 s.
	StreamPing time.Duration
}

// Service is the chat area.
type Service struct {
	limiter                               *store.Limiter
	chatPerMinute                         int
	chatStreamPerMinute, streamConcurrent int
	rateLimitHits                         func(quota, scope string)
	turns                                 *store.TurnLog
	ping                                  time.Duration

	store  *store.Store
	tools  *Tools
	agents map[string]*Agent
	model  responder
	log    *slog.Logger
	now    func() time.Time
}

// maxTurns is the SDK's DEFAULT_MAX_TURNS (§3.3).
const maxTurns = 10

// New builds the service; Store is required.
func New(d Deps) (*Service, error) {
	if d.Store == nil || d.TurnLog == nil {
		return nil, errors.New("chat: Store and TurnLog are required")
	}
	if d.ModelTimeout <= 0 {
		d.ModelTimeout = defaultModelTimeout
	}
	if d.StreamPing <= 0 {
		d.StreamPing = defaultPing
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.ModelClient == nil {
		d.ModelClient = modelClient()
	}
	if d.TavilyClient == nil {
		d.TavilyClient = &http.Client{Timeout: 30 * time.Second}
	}
	s := &Service{store: d.Store, log: d.Log.With("logger", "chat"), now: d.Now,
		limiter: d.Limiter, chatPerMinute: d.ChatPerMinute, rateLimitHits: d.RateLimitHits,
		chatStreamPerMinute: d.ChatStreamPerMinute, streamConcurrent: d.ChatStreamConcurrent,
		turns: d.TurnLog, ping: d.StreamPing,
		model: newResponder(d.OpenAIAPIKey.Reveal(), d.OpenAIBaseURL, d.ModelClient, d.ModelTimeout)}
	tavily := &Tavily{BaseURL: d.TavilyBaseURL, Key: d.TavilyAPIKey.Reveal(), Client: d.TavilyClient}
	s.tools = newTools(tavily, d.Store.Conversations, d.Now)
	s.agents = newAgents(s.tools)
	return s, nil
}

// modelClient is the default model HTTP client: no overall timeout (a
// streamed answer may take minutes; respond bounds each call), a bounded
// wait for response headers, and enough idle connections that many
// concurrent streams reuse them instead of dialling each time.
func modelClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 2 * time.Minute
	t.MaxIdleConnsPerHost = 256
	// DefaultTransport's MaxIdleConns (100 in all) would cap the per-host
	// figure: past 100 streams, a call that ends closes its connection and
	// the next one dials (measured: a fourth of the turns at 200 streams).
	t.MaxIdleConns = 0
	// A connection keeps its write buffer while its stream runs, but only
	// the request is written: a large body goes past the buffer in the same
	// two writes whatever its size, so a small one saves 3 KiB per stream.
	t.WriteBufferSize = 1 << 10
	// The read buffer, too, is kept for the whole stream (HTTP/1.1), but
	// after the response headers it only stands between the body and the
	// SSE decoder, whose own buffer takes each read whole: 512 B instead of
	// 4 KiB keeps 3.5 KiB less per open stream.
	t.ReadBufferSize = 1 << 9
	return &http.Client{Transport: t}
}

// Scope is whose conversations an operation sees: a tenant and, when
// UserID is set, only that user's (agents-and-data.md §9 note 1).
type Scope struct{ TenantID, UserID string }

// AgentSummary is one entry of GET /agents (http-api.md §2.5.1).
type AgentSummary struct {
	Name        string `json:"name"`
	Status      string `json:"status" enum:"active,inactive,error"`
	Description string `json:"description"`
}

// Agents lists the agents sorted by key.
func (s *Service) Agents() []AgentSummary {
	out := []AgentSummary{}
	for _, k := range agentKeys(s.agents) {
		out = append(out, AgentSummary{Name: k, Status: "active",
			Description: "Agent specialised for " + spaced(k) + " tasks."})
	}
	return out
}

// AgentStatus is GET /agents/{agent_name}/status (http-api.md §2.5.2), from
// the tenant's conversations (§9 note 12).
type AgentStatus struct {
	Name               string     `json:"name"`
	Status             string     `json:"status" enum:"active,inactive,error"`
	LastUsed           *time.Time `json:"last_used"`
	TotalConversations int        `json:"total_conversations"`
}

// AgentStatus reports one agent's use within the tenant.
func (s *Service) AgentStatus(ctx context.Context, tenantID, name string) (AgentStatus, error) {
	if _, ok := s.agents[name]; !ok {
		return AgentStatus{}, agentNotFound(name)
	}
	n, last, err := s.store.Conversations().AgentUsage(ctx, tenantID, name)
	if err != nil {
		return AgentStatus{}, err
	}
	return AgentStatus{Name: name, Status: "active", LastUsed: last, TotalConversations: n}, nil
}

// ToolsOverview is GET /tools (http-api.md §2.5.3).
type ToolsOverview struct {
	TotalTools int      `json:"total_tools"`
	ToolNames  []string `json:"tool_names"`
	Categories []string `json:"categories"`
}

// ToolsOverview lists the registry.
func (s *Service) ToolsOverview() ToolsOverview {
	names := s.tools.Names()
	return ToolsOverview{TotalTools: len(names), ToolNames: names, Categories: s.tools.Categories()}
}

// ConversationSummary is one entry of GET /conversations (§5.2).
type ConversationSummary struct {
	ConversationID string    `json:"conversation_id"`
	MessageCount   int       `json:"message_count"`
	LastMessage    string    `json:"last_message"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Conversations lists the visible conversations, newest first; limit 0 is
// all of them (§9 note 11).
func (s *Service) Conversations(ctx context.Context, sc Scope, limit, offset int) ([]ConversationSummary, error) {
	convs, _, err := s.store.Conversations().List(ctx, sc.TenantID, sc.UserID, limit, offset)
	if err != nil {
		return nil, err
	}
	out := make([]ConversationSummary, 0, len(convs))
	for _, c := range convs {
		updated := c.UpdatedAt
		if c.LastMessageAt != nil {
			updated = *c.LastMessageAt
		}
		out = append(out, ConversationSummary{ConversationID: c.Key, MessageCount: c.MessageCount,
			LastMessage: c.LastMessage, CreatedAt: c.CreatedAt.UTC(), UpdatedAt: updated.UTC()})
	}
	return out, nil
}

// HistoryMessage is one message of a ConversationHistory.
type HistoryMessage struct {
	Role      string    `json:"role" enum:"user,assistant,system"`
	Content   string    `json:"content"`
	Timestamp time.Time `json:"timestamp"`
}

// ConversationHistory is GET /conversations/{conversation_id} (§5.2).
type ConversationHistory struct {
	ConversationID string           `json:"conversation_id"`
	Messages       []HistoryMessage `json:"messages"`
	CreatedAt      time.Time        `json:"created_at"`
	UpdatedAt      time.Time        `json:"updated_at"`
	AgentContext   map[string]any   `json:"agent_context"`
}

// Conversation returns the visible conversation id with its messages; an
// unknown, foreign or empty one is ErrConversationNotFound.
func (s *Service) Conversation(ctx context.Context, sc Scope, id string) (ConversationHistory, error) {
	_, msgs, err := s.store.Conversations().Get(ctx, sc.TenantID, sc.UserID, id)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalidConversationID) || err == nil && len(msgs) == 0 {
		return ConversationHistory{}, conversationNotFound(id, err)
	}
	if err != nil {
		return ConversationHistory{}, err
	}
	h := ConversationHistory{ConversationID: id, Messages: make([]HistoryMessage, len(msgs)),
		CreatedAt: msgs[0].CreatedAt.UTC(), UpdatedAt: msgs[len(msgs)-1].CreatedAt.UTC()}
	for i, m := range msgs {
		h.Messages[i] = HistoryMessage{Role: m.Role, Content: m.Content, Timestamp: m.CreatedAt.UTC()}
	}
	return h, nil
}

// DeleteConversation deletes the visible conversation id with its messages,
// SDK session and resumable frames; an unknown or foreign one is left
// alone, without error (§5.2, §9 notes 1 and 5).
func (s *Service) DeleteConversation(ctx context.Context, sc Scope, id string) error {
	deleted, err := s.store.Conversations().Delete(ctx, sc.TenantID, sc.UserID, id)
	if errors.Is(err, store.ErrInvalidConversationID) || err == nil && !deleted {
		return nil
	}
	if err != nil {
		return err
	}
	_, key, _ := store.ConversationID(id)
	return s.turns.Drop(ctx, sc.TenantID, key)
}

func spaced(key string) string {
	b := []byte(key)
	for i := range b {
		if b[i] == '_' {
			b[i] = ' '
		}
	}
	return string(b)
}
