package store

import (
	"context"
	"time"
)

// The SDK session memory of the agent loop (spec: agents-and-data.md §3.3,
// §6.4): one sdk_agent_sessions row per session id and one
// sdk_agent_session_messages row per Responses API input item. Session ids
// are the conversation's (a conversation key or its sdk_session_id), so
// callers reach a session only through a conversation they may see.
const (
	qSessionItems = `SELECT message_data FROM sdk_agent_session_messages
WHERE session_id = $1 ORDER BY created_at, id`
	qSessionEnsure = `INSERT INTO sdk_agent_sessions (session_id, created_at, updated_at) VALUES ($1, $2, $2)
ON CONFLICT (session_id) DO UPDATE SET updated_at = excluded.updated_at`
	qSessionAddItem = `INSERT INTO sdk_agent_session_messages (session_id, message_data, created_at)
VALUES ($1, $2, $3)`

	// qConversationsAgentUsage counts the tenant's conversations an agent
	// started or last answered, and when one last had a message (§9 note 12).
	qConversationsAgentUsage = `SELECT count(*), max(last_message_at) FROM agent_conversations
WHERE tenant_id = $1 AND (agent_entrypoint = $2 OR active_agent = $2)`
)

// SessionItems returns the stored input items (JSON texts) of session
// sessionID, oldest first; none for an unknown session.
func (c Conversations) SessionItems(ctx context.Context, sessionID string) ([]string, error) {
	rows, err := c.s.q.QueryContext(ctx, qSessionItems, sessionID)
	if err != nil {
		return nil, c.s.d.classify(err, "list session items")
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var item string
		if err := rows.Scan(&item); err != nil {
			return nil, c.s.d.classify(err, "list session items")
		}
		out = append(out, item)
	}
	return out, c.s.d.classify(rows.Err(), "list session items")
}

// AddSessionItems creates session sessionID when absent and appends items
// (JSON texts) in order, in one transaction (§3.3 step 4). Items get
// strictly increasing created_at from now, so their order survives any
// engine.
func (c Conversations) AddSessionItems(ctx context.Context, sessionID string, items []string, now time.Time) error {
	return c.s.InTx(ctx, func(tx *Store) error {
		d := tx.d
		if _, err := tx.q.ExecContext(ctx, qSessionEnsure, sessionID, d.timeArg(now)); err != nil {
			return d.classify(err, "create session")
		}
		for i, item := range items {
			at := now.Add(time.Duration(i) * time.Millisecond)
			if _, err := tx.q.ExecContext(ctx, qSessionAddItem, sessionID, item, d.timeArg(at)); err != nil {
				return d.classify(err, "add session item")
			}
		}
		return nil
	})
}

// AgentUsage counts the tenant's conversations that agent started or last
// answered and returns the time of the latest message among them (nil when
// none): the real values of the agent status endpoint (§9 note 12).
func (c Conversations) AgentUsage(ctx context.Context, tenantID, agent string) (int, *time.Time, error) {
	tenant, ok := canonicalID(tenantID)
	if !ok {
		return 0, nil, nil
	}
	var n int
	var last *time.Time
	err := c.s.q.QueryRowContext(ctx, qConversationsAgentUsage, tenant, agent).Scan(&n, c.s.d.scanNullTime(&last))
	return n, last, c.s.d.classify(err, "agent usage")
}
