package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// ErrInvalidConversationID means a client's conversation id is longer than
// the 255 characters conversation_key holds (spec: agents-and-data.md §6.2;
// the reference fails with a 500, the port answers 422).
var ErrInvalidConversationID = errors.New("store: invalid conversation id")

// Message is an agent_messages row (spec: agents-and-data.md §6.1, §8.3).
// Role is user, assistant or system; Content is the text (stored as
// {"text": Content}); empty AgentType and nil token counts are NULL.
// Position is 0-based and set by Append.
type Message struct {
	Role, Content, AgentType                        string
	Position                                        int
	PromptTokens, CompletionTokens, ReasoningTokens *int
	CreatedAt                                       time.Time
}

// Conversation is an agent_conversations row. Empty UserID, ActiveAgent,
// SourceChannel, TopicHint, SDKSessionID and SessionCursor are NULL.
// LastMessage is the first 120 characters of the last message's text (the
// ConversationSummary's last_message, §5.2), "" without messages.
type Conversation struct {
	ID, Key, TenantID, UserID                                 string
	AgentEntrypoint, ActiveAgent, SourceChannel, TopicHint    string
	MessageCount, HandoffCount                                int
	TotalPromptTokens, TotalCompletionTokens, ReasoningTokens int
	SDKSessionID, SessionCursor                               string
	LastSessionSyncAt, LastMessageAt                          *time.Time
	CreatedAt, UpdatedAt                                      time.Time
	LastMessage                                               string
}

// AppendMeta is the metadata of one Append (spec: agents-and-data.md §6.1).
// AgentEntrypoint is required. TenantID, when set, must equal Append's
// tenant. UserID stamps a new conversation and scopes an existing one ("" =
// a service account or admin acting for the tenant). Empty strings leave the
// stored value; the counters are this turn's and are added to the totals.
type AppendMeta struct {
	TenantID, UserID, AgentEntrypoint, ActiveAgent, SourceChannel, TopicHint string
	SDKSessionID                                                             string
	HandoffCount, PromptTokens, CompletionTokens, ReasoningTokens            *int
}

// SessionState is the conversation's link to its SDK session (§6.1); the
// three columns are written verbatim, "" and nil as NULL.
type SessionState struct {
	SDKSessionID, Cursor string
	LastSyncAt           *time.Time
}

// SearchHit is one conversation matching a search (§6.5).
type SearchHit struct{ Key, Preview string }

// Conversations reads and writes agent_conversations, their agent_messages
// and, on delete, their SDK session rows. Every method is scoped to a tenant
// and, when userID is not "", to that user: a conversation of another tenant
// or user behaves exactly like an unknown id (spec: agents-and-data.md §9
// notes 1 and 2). userID "" is the tenant-wide view of admins and service
// accounts.
type Conversations struct{ s *Store }

// Conversations returns the conversations repository bound to s.
func (s *Store) Conversations() Conversations { return Conversations{s} }

const (
	conversationColumns = `id, conversation_key, tenant_id, user_id, agent_entrypoint, active_agent, source_channel,
    topic_hint, message_count, handoff_count, total_tokens_prompt, total_tokens_completion, reasoning_tokens,
    sdk_session_id, session_cursor, last_session_sync_at, last_message_at, created_at, updated_at`

	// conversationsVisible scopes by-id statements: $1 tenant, $2 1 = only
	// user $3's conversations, $4 the conversation id.
	conversationsVisible = `tenant_id = $1 AND ($2 = 0 OR user_id = $3) AND id = $4`

	// qConversationsSelect needs the dialect's message text (messageText) for
	// %[1]s: it adds the first 120 characters of the last message.
	qConversationsSelect = `SELECT ` + conversationColumns + `,
    (SELECT substr(%[1]s, 1, 120) FROM agent_messages m
     WHERE m.conversation_id = agent_conversations.id AND m.position = agent_conversations.message_count - 1)
FROM agent_conversations`
	qConversationsGet  = qConversationsSelect + ` WHERE ` + conversationsVisible
	qConversationsList = qConversationsSelect + `
WHERE tenant_id = $1 AND ($2 = 0 OR user_id = $3) AND message_count > 0
ORDER BY updated_at DESC, id LIMIT $4 OFFSET $5`
	qConversationsCount = `SELECT count(*) FROM agent_conversations
WHERE tenant_id = $1 AND ($2 = 0 OR user_id = $3) AND message_count > 0`
	qConversationsMessages = `SELECT m.position, m.role, m.agent_type, m.content, m.token_count_prompt,
    m.token_count_completion, m.reasoning_tokens, m.created_at
FROM agent_messages m JOIN agent_conversations c ON c.id = m.conversation_id
WHERE c.tenant_id = $1 AND c.id = $2 AND m.position < $3
ORDER BY m.position`

	// qConversationsSearch (with messageText for %[1]s): the first message of
	// each visible conversation whose text contains the lower-cased LIKE
	// pattern $4, newest conversation first; 121 characters tell whether the
	// preview is cut.
	qConversationsSearch = `SELECT conversation_key, preview FROM (
    SELECT c.conversation_key, c.updated_at, c.id, substr(%[1]s, 1, 121) AS preview,
        ROW_NUMBER() OVER (PARTITION BY m.conversation_id ORDER BY m.position) AS rn
    FROM agent_conversations c JOIN agent_messages m ON m.conversation_id = c.id
    WHERE c.tenant_id = $1 AND ($2 = 0 OR c.user_id = $3) AND lower(%[1]s) LIKE $4 ESCAPE '\'
) hits WHERE rn = 1
ORDER BY updated_at DESC, id LIMIT $5`

	// qConversationsLock (plus the dialect's forUpdate) holds the row for the
	// rest of Append's transaction.
	qConversationsLock   = `SELECT ` + conversationColumns + ` FROM agent_conversations WHERE id = $1 AND tenant_id = $2`
	qConversationsInsert = `INSERT INTO agent_conversations (id, conversation_key, tenant_id, user_id, agent_entrypoint,
    active_agent, source_channel, topic_hint, message_count, handoff_count, total_tokens_prompt,
    total_tokens_completion, reasoning_tokens, sdk_session_id, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, 0, 0, 0, 0, $9, $10, $10)
ON CONFLICT DO NOTHING`
	// qConversationsAppended adds the counters rather than overwriting them
	// as the reference does (§6.3 step 3): the port records each turn's real
	// usage and handoffs (§3.6, §9 note 6), so the totals are sums.
	qConversationsAppended = `UPDATE agent_conversations SET message_count = message_count + $3, last_message_at = $4,
    updated_at = $5, agent_entrypoint = $6, active_agent = COALESCE($7, active_agent),
    source_channel = COALESCE($8, source_channel), topic_hint = COALESCE($9, topic_hint),
    sdk_session_id = COALESCE($10, sdk_session_id), handoff_count = handoff_count + $11,
    total_tokens_prompt = total_tokens_prompt + $12, total_tokens_completion = total_tokens_completion + $13,
    reasoning_tokens = reasoning_tokens + $14
WHERE id = $1 AND tenant_id = $2
RETURNING ` + conversationColumns
	// qConversationsAddMessage runs only after qConversationsLock found the
	// conversation under the tenant, in the same transaction.
	qConversationsAddMessage = `INSERT INTO agent_messages (conversation_id, position, role, agent_type, content,
    token_count_prompt, token_count_completion, reasoning_tokens, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`

	qConversationsLockVisible = `SELECT id FROM agent_conversations WHERE ` + conversationsVisible
	// qConversationsDeleteSessions drops the SDK session of the conversation,
	// by sdk_session_id and by the conversation key (the session id of a
	// turn that never synced), §9 note 5.
	qConversationsDeleteSessions = `DELETE FROM sdk_agent_sessions WHERE session_id IN (
    SELECT sdk_session_id FROM agent_conversations WHERE tenant_id = $1 AND id = $2 AND sdk_session_id IS NOT NULL
    UNION
    SELECT conversation_key FROM agent_conversations WHERE tenant_id = $1 AND id = $2)`
	qConversationsDelete = `DELETE FROM agent_conversations WHERE tenant_id = $1 AND id = $2`

	qConversationsSessionState = `SELECT sdk_session_id, session_cursor, last_session_sync_at
FROM agent_conversations WHERE ` + conversationsVisible
	qConversationsSetSessionState = `UPDATE agent_conversations
SET sdk_session_id = $5, session_cursor = $6, last_session_sync_at = $7
WHERE ` + conversationsVisible
)

// conversationNamespace is UUIDv5(NAMESPACE_URL, "anything-agents:conversation"),
// the namespace of ids derived from non-UUID conversation ids (§6.2).
var conversationNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("anything-agents:conversation"))

// ConversationID maps a client's conversation id to the row id and the
// conversation_key (spec: agents-and-data.md §6.2): a UUID (in any form
// Python's uuid.UUID reads) is itself, lower-case, for both; any other id
// keeps its text as the key and gets UUIDv5(conversationNamespace, raw);
// "" is a new random UUIDv4. More than 255 characters is
// ErrInvalidConversationID.
func ConversationID(raw string) (id, key string, err error) {
	if raw == "" {
		u := uuid.NewString()
		return u, u, nil
	}
	if utf8.RuneCountInString(raw) > 255 {
		return "", "", fmt.Errorf("%w: longer than 255 characters", ErrInvalidConversationID)
	}
	if u, ok := pythonUUID(raw); ok {
		return u, u, nil
	}
	return uuid.NewSHA1(conversationNamespace, []byte(raw)).String(), raw, nil
}

// pythonUUID parses s as Python's uuid.UUID(s) does: every "urn:" and
// "uuid:" removed, braces trimmed from both ends, every hyphen removed, then
// 32 hex digits. (int()'s leniency for spaces and underscores is not copied.)
func pythonUUID(s string) (string, bool) {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "urn:", ""), "uuid:", "")
	s = strings.ReplaceAll(strings.Trim(s, "{}"), "-", "")
	if len(s) != 32 {
		return "", false
	}
	u, err := uuid.Parse(s) // 32 characters: hex digits only
	if err != nil {
		return "", false
	}
	return u.String(), true
}

// convScope turns a tenant and optional user into the $1..$3 of
// conversationsVisible; ok is false when either is not a UUID, which
// matches nothing.
func convScope(tenantID, userID string) (args []any, ok bool) {
	tenant, okT := canonicalID(tenantID)
	user, okU := optID(userID)
	return []any{tenant, flag(user != nil), user}, okT && okU
}

// convVisible resolves a client's conversation id within a tenant and user
// scope into the $1..$4 of conversationsVisible. A malformed tenant or user
// is ErrNotFound; an over-long id ErrInvalidConversationID.
func convVisible(what, tenantID, userID, raw string) ([]any, error) {
	if raw == "" {
		return nil, notFound(what)
	}
	id, _, err := ConversationID(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	args, ok := convScope(tenantID, userID)
	if !ok {
		return nil, notFound(what)
	}
	return append(args, id), nil
}

// Append adds msgs, in order, to the tenant's conversation with the client
// id key, creating it when absent ("" creates a new one; its key is in the
// result), and returns the conversation as updated (spec: agents-and-data.md
// §6.3, without the reference's fallback to the "default" tenant). The whole
// batch is one transaction holding the conversation's row, so a turn's user
// message and reply get consecutive positions even under concurrent turns.
// A conversation of another tenant, or of another user when meta.UserID is
// set (including one with no user), is ErrNotFound and is left untouched.
// A message without CreatedAt is stamped now.
func (c Conversations) Append(ctx context.Context, tenantID, key string, msgs []Message, meta AppendMeta, now time.Time) (Conversation, error) {
	const what = "append to conversation"
	id, key, err := ConversationID(key)
	if err != nil {
		return Conversation{}, fmt.Errorf("%s: %w", what, err)
	}
	tenant, okT := canonicalID(tenantID)
	user, okU := optID(meta.UserID)
	if !okT || !okU {
		return Conversation{}, notFound(what)
	}
	if metaTenant, _ := canonicalID(meta.TenantID); meta.TenantID != "" && metaTenant != tenant {
		return Conversation{}, fmt.Errorf("%s: metadata tenant %q is not the tenant %s", what, meta.TenantID, tenant)
	}
	if meta.AgentEntrypoint == "" {
		return Conversation{}, fmt.Errorf("%s: no agent entrypoint", what)
	}
	if len(msgs) == 0 {
		return Conversation{}, fmt.Errorf("%s: no messages", what)
	}
	contents := make([]string, len(msgs))
	for i, m := range msgs {
		switch m.Role {
		case "user", "assistant", "system":
		default:
			return Conversation{}, fmt.Errorf("%s: unknown role %q", what, m.Role)
		}
		if contents[i], err = messageJSON(m.Content); err != nil {
			return Conversation{}, fmt.Errorf("%s: %w", what, err)
		}
	}

	var out Conversation
	err = c.s.InTx(ctx, func(tx *Store) error {
		d, r := tx.d, Conversations{tx}
		conv, err := r.lock(ctx, id, tenant)
		if errors.Is(err, ErrNotFound) {
			// Absent under this tenant: create it. Nothing is inserted when
			// the id or key exists already, under this tenant (a concurrent
			// first turn, now committed) or another one (found by neither).
			_, err = tx.q.ExecContext(ctx, qConversationsInsert, id, key, tenant, user, meta.AgentEntrypoint,
				optText(meta.ActiveAgent), optText(meta.SourceChannel), optText(meta.TopicHint),
				optText(meta.SDKSessionID), d.timeArg(now))
			if err != nil {
				return tx.conflict(err, "create conversation")
			}
			conv, err = r.lock(ctx, id, tenant)
		}
		if err != nil {
			return err
		}
		if u, scoped := user.(string); scoped && conv.UserID != u {
			return notFound(what)
		}
		last := now
		for i, m := range msgs {
			at := m.CreatedAt
			if at.IsZero() {
				at = now
			}
			last = at
			_, err := tx.q.ExecContext(ctx, qConversationsAddMessage, id, conv.MessageCount+i, m.Role,
				optText(m.AgentType), contents[i], intArg(m.PromptTokens), intArg(m.CompletionTokens),
				intArg(m.ReasoningTokens), d.timeArg(at))
			if err != nil {
				return tx.conflict(err, "add message")
			}
		}
		out, err = r.scan(tx.q.QueryRowContext(ctx, qConversationsAppended, id, tenant, len(msgs), d.timeArg(last),
			d.timeArg(now), meta.AgentEntrypoint, optText(meta.ActiveAgent), optText(meta.SourceChannel),
			optText(meta.TopicHint), optText(meta.SDKSessionID), orZero(meta.HandoffCount), orZero(meta.PromptTokens),
			orZero(meta.CompletionTokens), orZero(meta.ReasoningTokens)))
		if err != nil {
			return d.classify(err, what)
		}
		out.LastMessage = firstChars(msgs[len(msgs)-1].Content, 120)
		return nil
	})
	return out, err
}

// lock reads the tenant's conversation id, holding its row until the
// transaction ends; ErrNotFound when the tenant has no such conversation.
func (c Conversations) lock(ctx context.Context, id, tenant string) (Conversation, error) {
	conv, err := c.scan(c.s.q.QueryRowContext(ctx, qConversationsLock+c.s.d.forUpdate(), id, tenant))
	return conv, c.s.d.classify(err, "lock conversation")
}

// Get returns the conversation with the client id key and its messages in
// order, or ErrNotFound when it is not visible (userID "" = any user of the
// tenant). A conversation without messages is returned as is; the caller
// decides whether that is "not found" (§5.2).
func (c Conversations) Get(ctx context.Context, tenantID, userID, key string) (Conversation, []Message, error) {
	const what = "get conversation"
	args, err := convVisible(what, tenantID, userID, key)
	if err != nil {
		return Conversation{}, nil, err
	}
	d := c.s.d
	conv, err := c.scanRow(c.s.q.QueryRowContext(ctx, fmt.Sprintf(qConversationsGet, d.messageText("m.content")), args...), true)
	if err != nil {
		return Conversation{}, nil, d.classify(err, what)
	}
	// Messages are append-only with dense positions, so reading those below
	// the count just read is a consistent view without a transaction.
	rows, err := c.s.q.QueryContext(ctx, qConversationsMessages, conv.TenantID, conv.ID, conv.MessageCount)
	if err != nil {
		return Conversation{}, nil, d.classify(err, "list messages")
	}
	defer rows.Close()
	msgs := []Message{}
	for rows.Next() {
		var m Message
		var content []byte
		if err := rows.Scan(&m.Position, &m.Role, optString(&m.AgentType), &content, nullIntScanner{&m.PromptTokens},
			nullIntScanner{&m.CompletionTokens}, nullIntScanner{&m.ReasoningTokens}, d.scanTime(&m.CreatedAt)); err != nil {
			return Conversation{}, nil, d.classify(err, "list messages")
		}
		m.Content = messageText(content)
		msgs = append(msgs, m)
	}
	return conv, msgs, d.classify(rows.Err(), "list messages")
}

// List returns a page of the visible conversations that have messages,
// most recently updated first, and how many there are in all (§5.2, §9
// note 11). limit <= 0 is no limit.
func (c Conversations) List(ctx context.Context, tenantID, userID string, limit, offset int) ([]Conversation, int, error) {
	args, ok := convScope(tenantID, userID)
	if !ok {
		return nil, 0, nil
	}
	d := c.s.d
	var total int
	if err := c.s.q.QueryRowContext(ctx, qConversationsCount, args...).Scan(&total); err != nil {
		return nil, 0, d.classify(err, "count conversations")
	}
	l, o := page(limit, offset)
	rows, err := c.s.q.QueryContext(ctx, fmt.Sprintf(qConversationsList, d.messageText("m.content")), append(args, l, o)...)
	if err != nil {
		return nil, 0, d.classify(err, "list conversations")
	}
	defer rows.Close()
	var out []Conversation
	for rows.Next() {
		conv, err := c.scanRow(rows, true)
		if err != nil {
			return nil, 0, d.classify(err, "list conversations")
		}
		out = append(out, conv)
	}
	return out, total, d.classify(rows.Err(), "list conversations")
}

// Search returns, for each visible conversation with a message whose text
// contains query (case-insensitively), the key and a preview of its first
// such message: 120 characters, plus "..." when the text is longer (§6.5);
// most recently updated first, at most limit (<= 0: no limit). Case folding
// is the engine's lower(): full Unicode on Postgres with a UTF-8 locale,
// ASCII only on SQLite.
func (c Conversations) Search(ctx context.Context, tenantID, userID, query string, limit int) ([]SearchHit, error) {
	args, ok := convScope(tenantID, userID)
	if !ok {
		return nil, nil
	}
	d := c.s.d
	l, _ := page(limit, 0)
	pattern := "%" + likeEscaper.Replace(strings.ToLower(query)) + "%"
	rows, err := c.s.q.QueryContext(ctx, fmt.Sprintf(qConversationsSearch, d.messageText("m.content")),
		append(args, pattern, l)...)
	if err != nil {
		return nil, d.classify(err, "search conversations")
	}
	defer rows.Close()
	var out []SearchHit
	for rows.Next() {
		var h SearchHit
		if err := rows.Scan(&h.Key, optString(&h.Preview)); err != nil {
			return nil, d.classify(err, "search conversations")
		}
		if utf8.RuneCountInString(h.Preview) > 120 {
			h.Preview = firstChars(h.Preview, 120) + "..."
		}
		out = append(out, h)
	}
	return out, d.classify(rows.Err(), "search conversations")
}

// Delete deletes the visible conversation with the client id key, its
// messages (by cascade) and its SDK session and items, in one transaction
// (§9 note 5); it reports whether there was one. An invisible conversation
// is not touched and reports false.
func (c Conversations) Delete(ctx context.Context, tenantID, userID, key string) (bool, error) {
	const what = "delete conversation"
	args, err := convVisible(what, tenantID, userID, key)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	deleted := false
	err = c.s.InTx(ctx, func(tx *Store) error {
		var id string
		err := tx.q.QueryRowContext(ctx, qConversationsLockVisible+tx.d.forUpdate(), args...).Scan(&id)
		if err != nil {
			if err = tx.d.classify(err, what); errors.Is(err, ErrNotFound) {
				return nil
			}
			return err
		}
		if _, err := tx.q.ExecContext(ctx, qConversationsDeleteSessions, args[0], id); err != nil {
			return tx.d.classify(err, "delete conversation session")
		}
		res, err := tx.q.ExecContext(ctx, qConversationsDelete, args[0], id)
		n, err := tx.affected(res, err, what)
		deleted = n > 0
		return err
	})
	return deleted, err
}

// SessionState returns the visible conversation's SDK session state, or
// ErrNotFound (spec: agents-and-data.md §6.1).
func (c Conversations) SessionState(ctx context.Context, tenantID, userID, key string) (SessionState, error) {
	const what = "get conversation session state"
	args, err := convVisible(what, tenantID, userID, key)
	if err != nil {
		return SessionState{}, err
	}
	var st SessionState
	err = c.s.q.QueryRowContext(ctx, qConversationsSessionState, args...).
		Scan(optString(&st.SDKSessionID), optString(&st.Cursor), c.s.d.scanNullTime(&st.LastSyncAt))
	return st, c.s.d.classify(err, what)
}

// SetSessionState writes the three session columns of the visible
// conversation verbatim, "" and nil as NULL (§6.3 upsert_session_state);
// ErrNotFound when there is no such conversation.
func (c Conversations) SetSessionState(ctx context.Context, tenantID, userID, key string, st SessionState) error {
	const what = "set conversation session state"
	args, err := convVisible(what, tenantID, userID, key)
	if err != nil {
		return err
	}
	res, err := c.s.q.ExecContext(ctx, qConversationsSetSessionState, append(args, optText(st.SDKSessionID),
		optText(st.Cursor), c.s.d.nullTimeArg(st.LastSyncAt))...)
	return c.s.oneRow(res, err, what)
}

// scan reads conversationColumns.
func (c Conversations) scan(r interface{ Scan(...any) error }) (Conversation, error) {
	return c.scanRow(r, false)
}

// scanRow reads conversationColumns, plus the last message's preview when
// withLast (qConversationsSelect).
func (c Conversations) scanRow(r interface{ Scan(...any) error }, withLast bool) (conv Conversation, err error) {
	d := c.s.d
	dst := []any{&conv.ID, &conv.Key, &conv.TenantID, optString(&conv.UserID), &conv.AgentEntrypoint,
		optString(&conv.ActiveAgent), optString(&conv.SourceChannel), optString(&conv.TopicHint),
		&conv.MessageCount, &conv.HandoffCount, &conv.TotalPromptTokens, &conv.TotalCompletionTokens,
		&conv.ReasoningTokens, optString(&conv.SDKSessionID), optString(&conv.SessionCursor),
		d.scanNullTime(&conv.LastSessionSyncAt), d.scanNullTime(&conv.LastMessageAt), d.scanTime(&conv.CreatedAt),
		d.scanTime(&conv.UpdatedAt)}
	if withLast {
		dst = append(dst, optString(&conv.LastMessage))
	}
	err = r.Scan(dst...)
	return conv, err
}

// forUpdate is the row-lock clause of a SELECT whose row the transaction
// goes on to write: Postgres locks the row; SQLite has no such clause and
// needs none, its immediate transaction already holding the one write lock.
func (d dialect) forUpdate() string {
	if d.engine == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// messageText is the SQL text of the message content in col, as Get reads
// it: content.text, else the JSON value itself (a JSON string unquoted).
func (d dialect) messageText(col string) string {
	if d.engine == Postgres {
		return "COALESCE(" + col + "->>'text', " + col + " #>> '{}')"
	}
	return "COALESCE(json_extract(" + col + ", '$.text'), json_extract(" + col + ", '$'))"
}

// messageJSON is the stored content of a message: {"text": text}.
func messageJSON(text string) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(struct {
		Text string `json:"text"`
	}{text}); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// messageText reads stored content as the reference's get_messages does
// (§6.3): the object's "text" when it is a string, a JSON string as is,
// anything else as its JSON text.
func messageText(raw []byte) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if t, ok := x["text"].(string); ok {
			return t
		}
	}
	return string(raw)
}

// firstChars is the first n characters of s.
func firstChars(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// intArg stores nil as NULL.
func intArg(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

// orZero is an optional counter to add: nil adds 0.
func orZero(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// nullIntScanner reads a nullable integer column; NULL reads as nil.
type nullIntScanner struct{ dst **int }

func (s nullIntScanner) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*s.dst = nil
	case int64:
		n := int(v)
		*s.dst = &n
	case int32:
		n := int(v)
		*s.dst = &n
	default:
		return fmt.Errorf("store: cannot read %T as an integer", src)
	}
	return nil
}
