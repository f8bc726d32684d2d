package chatui

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"agentplane/server/chat"
	"agentplane/store"
)

// Local is the in-process Backend: the chat service of this binary, on the
// local settings and store, acting as Scope (DESIGN decision 5).
type Local struct {
	Service *chat.Service
	Scope   chat.Scope
	Log     *slog.Logger // the causes of failed turns; nil: not logged
}

// Agents lists the agents.
func (l Local) Agents(context.Context) ([]chat.AgentSummary, error) { return l.Service.Agents(), nil }

// Tools lists the tool registry.
func (l Local) Tools(context.Context) (chat.ToolsOverview, error) {
	return l.Service.ToolsOverview(), nil
}

// Conversations lists the scope's newest conversations.
func (l Local) Conversations(ctx context.Context, limit int) ([]chat.ConversationSummary, error) {
	return l.Service.Conversations(ctx, l.Scope, limit, 0)
}

// Conversation returns one conversation's history.
func (l Local) Conversation(ctx context.Context, id string) (chat.ConversationHistory, error) {
	return l.Service.Conversation(ctx, l.Scope, id)
}

// Chat runs one blocking turn.
func (l Local) Chat(ctx context.Context, t chat.Turn) (chat.Reply, error) {
	return l.Service.Chat(ctx, l.Scope, t)
}

// Stream runs one turn and yields its frames as the server would send them:
// a failure after the user message is stored becomes the error frame (with
// the same public text), and its cause goes to Log.
func (l Local) Stream(ctx context.Context, t chat.Turn) iter.Seq2[chat.Frame, error] {
	return func(yield func(chat.Frame, error) bool) {
		p, err := l.Service.Begin(ctx, l.Scope, t)
		if err != nil {
			yield(chat.Frame{}, err)
			return
		}
		for f, err := range p.Stream(ctx) {
			if err != nil {
				if l.Log != nil && ctx.Err() == nil {
					l.Log.WarnContext(ctx, "chat turn failed", "conversation_id", p.ConversationID(), "error", err.Error())
				}
				if ctx.Err() != nil {
					yield(chat.Frame{}, ctx.Err())
					return
				}
				yield(chat.ErrorFrame(p.ConversationID(), err), nil)
				return
			}
			if !yield(f, nil) {
				return
			}
		}
	}
}

// DefaultTenant is the slug of the tenant in-process chat writes to when
// --tenant is not given; like the reference's conversation store it is
// hard-coded, and created as "Default Tenant" when missing
// (agents-and-data.md §6.3, cli-config-ops.md §9).
const DefaultTenant = "default"

// ResolveScope turns --tenant (UUID or slug) and --user (UUID or email) into
// the scope in-process chat acts as. Without a tenant it takes the tenant
// with slug "default", creating it if missing, so a fresh database works. A
// user must be a member of the tenant; without one the conversations belong
// to the tenant (as a service account's do).
func ResolveScope(ctx context.Context, st *store.Store, tenant, user string) (chat.Scope, error) {
	tn, err := resolveTenant(ctx, st.Tenants(), tenant)
	if err != nil {
		return chat.Scope{}, err
	}
	sc := chat.Scope{TenantID: tn.ID}
	if user == "" {
		return sc, nil
	}
	var u store.User
	if strings.Contains(user, "@") {
		u, err = st.Users().ByEmail(ctx, user)
	} else {
		u, err = st.Users().ByID(ctx, user)
	}
	if errors.Is(err, store.ErrNotFound) {
		return chat.Scope{}, fmt.Errorf("no user %q: pass --user with an existing user's id or email, or leave it out", user)
	}
	if err != nil {
		return chat.Scope{}, err
	}
	if _, err := st.Tenants().Membership(ctx, u.ID, tn.ID); errors.Is(err, store.ErrNotFound) {
		return chat.Scope{}, fmt.Errorf("user %s is not a member of tenant %s: pass the --tenant they belong to", u.Email, tn.Slug)
	} else if err != nil {
		return chat.Scope{}, err
	}
	sc.UserID = u.ID
	return sc, nil
}

func resolveTenant(ctx context.Context, tenants store.Tenants, ref string) (store.Tenant, error) {
	if ref != "" {
		tn, err := tenants.ByID(ctx, ref)
		if errors.Is(err, store.ErrNotFound) {
			tn, err = tenants.BySlug(ctx, ref)
		}
		if errors.Is(err, store.ErrNotFound) {
			return store.Tenant{}, fmt.Errorf("no tenant %q: pass --tenant with an existing tenant's id or slug", ref)
		}
		return tn, err
	}
	tn, err := tenants.BySlug(ctx, DefaultTenant)
	if !errors.Is(err, store.ErrNotFound) {
		return tn, err
	}
	tn = store.Tenant{ID: uuid.NewString(), Slug: DefaultTenant, Name: "Default Tenant", CreatedAt: time.Now().UTC()}
	if err := tenants.Create(ctx, tn); errors.Is(err, store.ErrConflict) {
		return tenants.BySlug(ctx, DefaultTenant) // created meanwhile
	} else if err != nil {
		return store.Tenant{}, err
	}
	return tn, nil
}
