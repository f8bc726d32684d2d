package chat

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"agentplane/server/auth"
)

// Request and response bodies; unknown body fields are ignored, as the
// reference's pydantic models do.

type chatBody struct {
	_              struct{}       `additionalProperties:"true"`
	Message        string         `json:"message" minLength:"1" maxLength:"32768"`
	ConversationID *string        `json:"conversation_id,omitempty" nullable:"true" maxLength:"255"`
	AgentType      *string        `json:"agent_type,omitempty" nullable:"true"`
	Context        map[string]any `json:"context,omitempty" nullable:"true" doc:"Accepted and ignored."`
}

type chatInput struct{ Body chatBody }

type chatOutput struct{ Body Reply }

type agentsOutput struct{ Body []AgentSummary }

type agentStatusInput struct {
	Name string `path:"agent_name"`
}

type agentStatusOutput struct{ Body AgentStatus }

type toolsOutput struct{ Body ToolsOverview }

type listConversationsInput struct {
	Limit  int `query:"limit" minimum:"1" maximum:"100" doc:"Page size; absent: every conversation"`
	Offset int `query:"offset" minimum:"0"`
}

type listConversationsOutput struct{ Body []ConversationSummary }

type conversationInput struct {
	ID string `path:"conversation_id"`
}

type conversationOutput struct{ Body ConversationHistory }

// Register adds the chat, agent, tool and conversation operations (spec:
// http-api.md §2.4.1, §2.5). Access to each is decided by auth.Policy.
func Register(api huma.API, svc *Service) {
	h := handlers{svc}
	huma.Register(api, huma.Operation{
		OperationID: "chat", Method: http.MethodPost, Path: "/api/v1/chat", Tags: []string{"Chat"},
		Summary: "Chat with an agent", DefaultStatus: http.StatusOK,
		Middlewares: huma.Middlewares{h.chatQuota(api)},
	}, h.chat)
	registerStreams(api, h)
	huma.Register(api, huma.Operation{
		OperationID: "list-agents", Method: http.MethodGet, Path: "/api/v1/agents", Tags: []string{"Agents"},
		Summary: "List agents", DefaultStatus: http.StatusOK,
	}, h.listAgents)
	huma.Register(api, huma.Operation{
		OperationID: "get-agent-status", Method: http.MethodGet, Path: "/api/v1/agents/{agent_name}/status",
		Tags: []string{"Agents"}, Summary: "Get an agent's status", DefaultStatus: http.StatusOK,
	}, h.agentStatus)
	huma.Register(api, huma.Operation{
		OperationID: "list-tools", Method: http.MethodGet, Path: "/api/v1/tools", Tags: []string{"Tools"},
		Summary: "List tools", DefaultStatus: http.StatusOK,
	}, h.listTools)
	huma.Register(api, huma.Operation{
		OperationID: "list-conversations", Method: http.MethodGet, Path: "/api/v1/conversations",
		Tags: []string{"Conversations"}, Summary: "List conversations", DefaultStatus: http.StatusOK,
	}, h.listConversations)
	huma.Register(api, huma.Operation{
		OperationID: "get-conversation", Method: http.MethodGet, Path: "/api/v1/conversations/{conversation_id}",
		Tags: []string{"Conversations"}, Summary: "Get a conversation's history", DefaultStatus: http.StatusOK,
	}, h.getConversation)
	huma.Register(api, huma.Operation{
		OperationID: "delete-conversation", Method: http.MethodDelete,
		Path: "/api/v1/conversations/{conversation_id}", Tags: []string{"Conversations"},
		Summary: "Delete a conversation", DefaultStatus: http.StatusNoContent,
	}, h.deleteConversation)
}

type handlers struct{ svc *Service }

func (h handlers) chat(ctx context.Context, in *chatInput) (*chatOutput, error) {
	r, err := h.svc.Chat(ctx, writer(ctx), Turn{Message: in.Body.Message, ConversationID: deref(in.Body.ConversationID),
		AgentType: deref(in.Body.AgentType)})
	return &chatOutput{r}, err
}

func (h handlers) listAgents(context.Context, *struct{}) (*agentsOutput, error) {
	return &agentsOutput{h.svc.Agents()}, nil
}

func (h handlers) agentStatus(ctx context.Context, in *agentStatusInput) (*agentStatusOutput, error) {
	st, err := h.svc.AgentStatus(ctx, reader(ctx).TenantID, in.Name)
	return &agentStatusOutput{st}, err
}

func (h handlers) listTools(context.Context, *struct{}) (*toolsOutput, error) {
	return &toolsOutput{h.svc.ToolsOverview()}, nil
}

func (h handlers) listConversations(ctx context.Context, in *listConversationsInput) (*listConversationsOutput, error) {
	list, err := h.svc.Conversations(ctx, reader(ctx), in.Limit, in.Offset)
	return &listConversationsOutput{list}, err
}

func (h handlers) getConversation(ctx context.Context, in *conversationInput) (*conversationOutput, error) {
	c, err := h.svc.Conversation(ctx, reader(ctx), in.ID)
	return &conversationOutput{c}, err
}

func (h handlers) deleteConversation(ctx context.Context, in *conversationInput) (*struct{}, error) {
	return nil, h.svc.DeleteConversation(ctx, reader(ctx), in.ID)
}

// writer is the scope a turn writes under: a person writes their own
// conversations; a service account the tenant's (user NULL).
func writer(ctx context.Context) Scope {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return Scope{} // matches nothing
	}
	return Scope{TenantID: p.TenantID, UserID: p.UserID}
}

// reader is the scope a caller reads and deletes in: the tenant for service
// accounts, tenant admins and owners and holders of conversations:*; else
// the caller's own conversations (agents-and-data.md §9 note 1).
func reader(ctx context.Context) Scope {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return Scope{} // matches nothing
	}
	sc := Scope{TenantID: p.TenantID, UserID: p.UserID}
	if p.ServiceAccount != "" || p.Role == "admin" || p.Role == "owner" ||
		auth.HasScope(p.Scopes, "conversations:*") {
		sc.UserID = ""
	}
	return sc
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
