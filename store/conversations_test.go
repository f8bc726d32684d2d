package store_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"agentplane/store"
	"agentplane/store/storetest"
)

func TestConversationID(t *testing.T) {
	t.Parallel()
	const canon = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
	// Expected values computed with Python's uuid module, as the reference does.
	tests := []struct {
		name, raw, id, key string
	}{
		{"plain text", "hello", "6b58d8f0-91a5-5465-bfd4-5bdd87dd23f3", "hello"},
		{"text is case-sensitive", "Hello", "2e39a975-0b36-5f7d-8555-df80254ea8e9", "Hello"},
		{"hyphenated text", "my-thread", "cc528a2b-446f-532c-9843-88a03c00ba6d", "my-thread"},
		{"unicode text", "Ünïcode ✓", "2dc3e2ea-b9b7-56ae-b92f-ac831106ad41", "Ünïcode ✓"},
		{"32 characters, not hex", "not a uuid but 32 chars long!!!!", "2a8d96c5-5e78-54ed-b728-3d86ec512f54", "not a uuid but 32 chars long!!!!"},
		{"one digit short", "6ba7b810-9dad-11d1-80b4-00c04fd430c", "1d0435a4-714b-50af-97fa-2eb728dc336d", "6ba7b810-9dad-11d1-80b4-00c04fd430c"},
		{"canonical uuid", canon, canon, canon},
		{"upper-case uuid", strings.ToUpper(canon), canon, canon},
		{"braced urn", "{urn:uuid:6BA7B810-9DAD-11D1-80B4-00C04FD430C8}", canon, canon},
		{"urn", "urn:uuid:" + canon, canon, canon},
		{"double braces", "{{" + canon + "}}", canon, canon},
		{"bare hex", "6ba7b8109dad11d180b400c04fd430c8", canon, canon},
		{"hyphens anywhere", "6ba7-b810-9dad11d180b400c04fd430c8", canon, canon},
		{"255 characters", strings.Repeat("é", 255), "", strings.Repeat("é", 255)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id, key, err := store.ConversationID(tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			if tc.id != "" && id != tc.id || key != tc.key {
				t.Errorf("ConversationID(%q) = %s, %q; want %s, %q", tc.raw, id, key, tc.id, tc.key)
			}
			if _, err := uuid.Parse(id); err != nil {
				t.Errorf("id %q is not a UUID", id)
			}
		})
	}
	t.Run("empty is a new v4", func(t *testing.T) {
		t.Parallel()
		id, key, err := store.ConversationID("")
		if err != nil || id != key || uuid.MustParse(id).Version() != 4 {
			t.Errorf(`ConversationID("") = %s, %s, %v; want a new UUIDv4 as both`, id, key, err)
		}
		again, _, _ := store.ConversationID("")
		if again == id {
			t.Error("two empty ids mapped to the same conversation")
		}
	})
	t.Run("over 255 characters", func(t *testing.T) {
		t.Parallel()
		if _, _, err := store.ConversationID(strings.Repeat("x", 256)); !errors.Is(err, store.ErrInvalidConversationID) {
			t.Errorf("err = %v, want ErrInvalidConversationID", err)
		}
	})
}

func convInt(n int) *int { return &n }

// convTurn is a user message and its reply, as one chat turn appends them.
func convTurn(question, answer string) []store.Message {
	return []store.Message{
		{Role: "user", Content: question},
		{Role: "assistant", Content: answer, AgentType: "triage"},
	}
}

// convFixture is two tenants, with two users in A and one in B.
type convFixture struct {
	a, b         store.Tenant
	alice, carol store.User // tenant A
	bob          store.User // tenant B
}

func newConvFixture(t *testing.T, s *store.Store) convFixture {
	t.Helper()
	return convFixture{
		a: mkTenant(t, s, "tenant-a"), b: mkTenant(t, s, "tenant-b"),
		alice: mkUser(t, s, "alice@example.com"), carol: mkUser(t, s, "carol@example.com"),
		bob: mkUser(t, s, "bob@example.com"),
	}
}

func convAppendTurn(t *testing.T, s *store.Store, tenantID, userID, key, q, a string, sec int) store.Conversation {
	t.Helper()
	c, err := s.Conversations().Append(t.Context(), tenantID, key, convTurn(q, a),
		store.AppendMeta{UserID: userID, AgentEntrypoint: "triage", ActiveAgent: "triage"}, at(sec))
	if err != nil {
		t.Fatalf("append to %q: %v", key, err)
	}
	return c
}

func TestConversationsAppend(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx, convs, f := t.Context(), s.Conversations(), newConvFixture(t, s)
		msgs := []store.Message{
			{Role: "system", Content: "be brief"},
			{Role: "user", Content: `say "hi" <now> & go`, CreatedAt: at(1)},
			{Role: "assistant", Content: "hi", AgentType: "triage", PromptTokens: convInt(11), CompletionTokens: convInt(3),
				ReasoningTokens: convInt(1), CreatedAt: at(2)},
		}
		first, err := convs.Append(ctx, f.a.ID, "thread-1", msgs, store.AppendMeta{TenantID: f.a.ID, UserID: f.alice.ID,
			AgentEntrypoint: "triage", ActiveAgent: "triage", SourceChannel: "web", TopicHint: "greeting",
			SDKSessionID: "thread-1", HandoffCount: convInt(1), PromptTokens: convInt(11), CompletionTokens: convInt(3),
			ReasoningTokens: convInt(1)}, at(3))
		if err != nil {
			t.Fatal(err)
		}
		id, _, _ := store.ConversationID("thread-1")
		want := store.Conversation{ID: id, Key: "thread-1", TenantID: f.a.ID, UserID: f.alice.ID,
			AgentEntrypoint: "triage", ActiveAgent: "triage", SourceChannel: "web", TopicHint: "greeting",
			MessageCount: 3, HandoffCount: 1, TotalPromptTokens: 11, TotalCompletionTokens: 3, ReasoningTokens: 1,
			SDKSessionID: "thread-1", LastMessageAt: convTime(at(2)), CreatedAt: at(3), UpdatedAt: at(3), LastMessage: "hi"}
		if diff := cmp.Diff(want, first); diff != "" {
			t.Errorf("first Append (-want +got):\n%s", diff)
		}

		// A second turn: counters add, empty metadata keeps stored values,
		// the entrypoint is overwritten, the message without a time gets now.
		second, err := convs.Append(ctx, f.a.ID, "thread-1", []store.Message{
			{Role: "user", Content: "and again?"},
			{Role: "assistant", Content: strings.Repeat("ß", 130), AgentType: "code_assistant", PromptTokens: convInt(20)},
		}, store.AppendMeta{UserID: f.alice.ID, AgentEntrypoint: "code_assistant", HandoffCount: convInt(2),
			PromptTokens: convInt(20), CompletionTokens: convInt(5)}, at(10))
		if err != nil {
			t.Fatal(err)
		}
		want.MessageCount, want.HandoffCount, want.TotalPromptTokens, want.TotalCompletionTokens = 5, 3, 31, 8
		want.AgentEntrypoint, want.LastMessageAt, want.UpdatedAt = "code_assistant", convTime(at(10)), at(10)
		want.LastMessage = strings.Repeat("ß", 120)
		if diff := cmp.Diff(want, second); diff != "" {
			t.Errorf("second Append (-want +got):\n%s", diff)
		}

		got, history, err := convs.Get(ctx, f.a.ID, f.alice.ID, "thread-1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Get (-want +got):\n%s", diff)
		}
		wantHistory := []store.Message{
			{Role: "system", Content: "be brief", Position: 0, CreatedAt: at(3)},
			{Role: "user", Content: `say "hi" <now> & go`, Position: 1, CreatedAt: at(1)},
			{Role: "assistant", Content: "hi", AgentType: "triage", Position: 2, PromptTokens: convInt(11),
				CompletionTokens: convInt(3), ReasoningTokens: convInt(1), CreatedAt: at(2)},
			{Role: "user", Content: "and again?", Position: 3, CreatedAt: at(10)},
			{Role: "assistant", Content: strings.Repeat("ß", 130), AgentType: "code_assistant", Position: 4,
				PromptTokens: convInt(20), CreatedAt: at(10)},
		}
		if diff := cmp.Diff(wantHistory, history); diff != "" {
			t.Errorf("history (-want +got):\n%s", diff)
		}

		// Content is stored as {"text": ...}.
		var raw string
		if err := s.QueryRowT(ctx, "SELECT content FROM agent_messages WHERE conversation_id = $1 AND position = 1", id).
			Scan(&raw); err != nil {
			t.Fatal(err)
		}
		var content map[string]any
		if err := json.Unmarshal([]byte(raw), &content); err != nil ||
			!cmp.Equal(content, map[string]any{"text": `say "hi" <now> & go`}) {
			t.Errorf("stored content = %s (%v)", raw, err)
		}

		// A UUID id is stored under its canonical form and found by any form.
		u := uuid.New()
		c, err := convs.Append(ctx, f.a.ID, strings.ToUpper(u.String()), convTurn("q", "a"),
			store.AppendMeta{AgentEntrypoint: "triage"}, at(20))
		if err != nil || c.ID != u.String() || c.Key != u.String() || c.UserID != "" {
			t.Errorf("Append(upper-case UUID) = %+v, %v", c, err)
		}
		if _, _, err := convs.Get(ctx, f.a.ID, "", "{"+u.String()+"}"); err != nil {
			t.Errorf("Get(braced UUID): %v", err)
		}
		// An empty id starts a new conversation.
		fresh, err := convs.Append(ctx, f.a.ID, "", convTurn("q", "a"), store.AppendMeta{AgentEntrypoint: "triage"}, at(21))
		if err != nil || fresh.Key == "" || fresh.ID != fresh.Key || fresh.MessageCount != 2 {
			t.Errorf(`Append("") = %+v, %v`, fresh, err)
		}
	})
}

func convTime(v time.Time) *time.Time { return &v }

func TestConversationsAppendRejects(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx, convs, f := t.Context(), s.Conversations(), newConvFixture(t, s)
		meta := store.AppendMeta{AgentEntrypoint: "triage"}
		tests := []struct {
			name     string
			tenantID string
			key      string
			msgs     []store.Message
			meta     store.AppendMeta
			is       error
		}{
			{"over-long id", f.a.ID, strings.Repeat("x", 256), convTurn("q", "a"), meta, store.ErrInvalidConversationID},
			{"tenant not a uuid", "nope", "k", convTurn("q", "a"), meta, store.ErrNotFound},
			{"user not a uuid", f.a.ID, "k", convTurn("q", "a"), store.AppendMeta{AgentEntrypoint: "triage", UserID: "x"}, store.ErrNotFound},
			{"no messages", f.a.ID, "k", nil, meta, nil},
			{"unknown role", f.a.ID, "k", []store.Message{{Role: "tool", Content: "x"}}, meta, nil},
			{"no entrypoint", f.a.ID, "k", convTurn("q", "a"), store.AppendMeta{}, nil},
			{"other metadata tenant", f.a.ID, "k", convTurn("q", "a"), store.AppendMeta{AgentEntrypoint: "triage", TenantID: f.b.ID}, nil},
		}
		for _, tc := range tests {
			_, err := convs.Append(ctx, tc.tenantID, tc.key, tc.msgs, tc.meta, t0)
			if err == nil || tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("%s: err = %v, want %v", tc.name, err, tc.is)
			}
		}
		if _, n, err := convs.List(ctx, f.a.ID, "", 0, 0); err != nil || n != 0 {
			t.Errorf("rejected appends left %d conversations (%v)", n, err)
		}
	})
}

func TestConversationsTenantIsolation(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx, convs, f := t.Context(), s.Conversations(), newConvFixture(t, s)
		uuidKey := uuid.NewString()
		for _, key := range []string{"shared-name", uuidKey} {
			convAppendTurn(t, s, f.a.ID, f.alice.ID, key, "secret plans of A", "noted", 1)
			if err := convs.SetSessionState(ctx, f.a.ID, "", key, store.SessionState{SDKSessionID: key}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.ExecT(ctx, "INSERT INTO sdk_agent_sessions (session_id, created_at, updated_at) VALUES ($1, $2, $2)",
				key, s.TimeArgT(t0)); err != nil {
				t.Fatal(err)
			}
			// Tenant B, as a user and as the tenant-wide view, sees nothing.
			for _, user := range []string{f.bob.ID, ""} {
				if _, _, err := convs.Get(ctx, f.b.ID, user, key); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("B Get(%s) err = %v, want ErrNotFound", key, err)
				}
				if _, err := convs.SessionState(ctx, f.b.ID, user, key); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("B SessionState(%s) err = %v, want ErrNotFound", key, err)
				}
				if err := convs.SetSessionState(ctx, f.b.ID, user, key, store.SessionState{}); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("B SetSessionState(%s) err = %v, want ErrNotFound", key, err)
				}
				if _, err := convs.Append(ctx, f.b.ID, key, convTurn("hijack", "ok"),
					store.AppendMeta{UserID: user, AgentEntrypoint: "triage"}, at(5)); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("B Append(%s) err = %v, want ErrNotFound", key, err)
				}
				if ok, err := convs.Delete(ctx, f.b.ID, user, key); ok || err != nil {
					t.Errorf("B Delete(%s) = %v, %v; want false, nil", key, ok, err)
				}
				if list, n, err := convs.List(ctx, f.b.ID, user, 0, 0); len(list) != 0 || n != 0 || err != nil {
					t.Errorf("B List = %d of %d, %v", len(list), n, err)
				}
				if hits, err := convs.Search(ctx, f.b.ID, user, "secret", 0); len(hits) != 0 || err != nil {
					t.Errorf("B Search = %v, %v", hits, err)
				}
			}
			// A's conversation and session are untouched.
			c, msgs, err := convs.Get(ctx, f.a.ID, f.alice.ID, key)
			if err != nil || c.MessageCount != 2 || len(msgs) != 2 || c.SDKSessionID != key || c.UpdatedAt != at(1) {
				t.Errorf("A's conversation after B's attempts: %+v, %d messages, %v", c, len(msgs), err)
			}
			var sessions int
			if err := s.QueryRowT(ctx, "SELECT count(*) FROM sdk_agent_sessions WHERE session_id = $1", key).Scan(&sessions); err != nil || sessions != 1 {
				t.Errorf("A's SDK session rows = %d, %v", sessions, err)
			}
		}
		// Tenant ids that are not UUIDs match nothing.
		if _, _, err := convs.Get(ctx, "nope", "", "shared-name"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get with a malformed tenant: %v", err)
		}
		if list, n, err := convs.List(ctx, "nope", "", 0, 0); list != nil || n != 0 || err != nil {
			t.Errorf("List with a malformed tenant = %v, %d, %v", list, n, err)
		}
	})
}

func TestConversationsUserScope(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx, convs, f := t.Context(), s.Conversations(), newConvFixture(t, s)
		convAppendTurn(t, s, f.a.ID, f.alice.ID, "alice-1", "alpha question", "a", 1)
		convAppendTurn(t, s, f.a.ID, f.carol.ID, "carol-1", "alpha other", "c", 2)
		convAppendTurn(t, s, f.a.ID, "", "service-1", "alpha service", "s", 3) // a service account: no user

		keys := func(list []store.Conversation) []string {
			var out []string
			for _, c := range list {
				out = append(out, c.Key)
			}
			return out
		}
		hitKeys := func(hits []store.SearchHit) []string {
			var out []string
			for _, h := range hits {
				out = append(out, h.Key)
			}
			return out
		}
		for _, tc := range []struct {
			name, user string
			want       []string
		}{
			{"alice", f.alice.ID, []string{"alice-1"}},
			{"carol", f.carol.ID, []string{"carol-1"}},
			{"tenant-wide", "", []string{"service-1", "carol-1", "alice-1"}},
		} {
			list, n, err := convs.List(ctx, f.a.ID, tc.user, 0, 0)
			if err != nil || n != len(tc.want) || !cmp.Equal(keys(list), tc.want) {
				t.Errorf("%s: List = %v (%d), %v; want %v", tc.name, keys(list), n, err, tc.want)
			}
			hits, err := convs.Search(ctx, f.a.ID, tc.user, "alpha", 0)
			if err != nil || !cmp.Equal(hitKeys(hits), tc.want) {
				t.Errorf("%s: Search = %v, %v; want %v", tc.name, hitKeys(hits), err, tc.want)
			}
		}

		// Carol can neither read, continue nor delete Alice's conversation, nor
		// the service account's; the tenant-wide view can.
		for _, key := range []string{"alice-1", "service-1"} {
			if _, _, err := convs.Get(ctx, f.a.ID, f.carol.ID, key); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("carol Get(%s) err = %v, want ErrNotFound", key, err)
			}
			if _, err := convs.Append(ctx, f.a.ID, key, convTurn("mine now", "ok"),
				store.AppendMeta{UserID: f.carol.ID, AgentEntrypoint: "triage"}, at(9)); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("carol Append(%s) err = %v, want ErrNotFound", key, err)
			}
			if ok, err := convs.Delete(ctx, f.a.ID, f.carol.ID, key); ok || err != nil {
				t.Errorf("carol Delete(%s) = %v, %v", key, ok, err)
			}
			c, _, err := convs.Get(ctx, f.a.ID, "", key)
			if err != nil || c.MessageCount != 2 {
				t.Errorf("tenant-wide Get(%s) = %+v, %v", key, c, err)
			}
		}
		// The tenant-wide view may continue Alice's conversation; it stays hers.
		c, err := convs.Append(ctx, f.a.ID, "alice-1", convTurn("admin note", "ok"), store.AppendMeta{AgentEntrypoint: "triage"}, at(10))
		if err != nil || c.UserID != f.alice.ID || c.MessageCount != 4 {
			t.Errorf("tenant-wide Append = %+v, %v", c, err)
		}
		if ok, err := convs.Delete(ctx, f.a.ID, f.alice.ID, "alice-1"); !ok || err != nil {
			t.Errorf("alice Delete = %v, %v", ok, err)
		}
	})
}

func TestConversationsListPaging(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx, convs, f := t.Context(), s.Conversations(), newConvFixture(t, s)
		// c0..c4 updated at seconds 0..4, then c1 again at 10: newest first is
		// c1, c4, c3, c2, c0.
		for i := range 5 {
			convAppendTurn(t, s, f.a.ID, f.alice.ID, fmt.Sprintf("c%d", i), "q", fmt.Sprintf("answer %d", i), i)
		}
		convAppendTurn(t, s, f.a.ID, f.alice.ID, "c1", "q", "latest", 10)
		convAppendTurn(t, s, f.b.ID, f.bob.ID, "other-tenant", "q", "a", 20)
		// A conversation without messages (adopted data) is not listed.
		if _, err := s.ExecT(ctx, `INSERT INTO agent_conversations (id, conversation_key, tenant_id, agent_entrypoint,
            created_at, updated_at) VALUES ($1, 'empty', $2, 'triage', $3, $3)`, uuid.NewString(), f.a.ID, s.TimeArgT(at(30))); err != nil {
			t.Fatal(err)
		}

		type row struct {
			Key, Last string
			Count     int
		}
		page := func(limit, offset int) ([]row, int) {
			t.Helper()
			list, total, err := convs.List(ctx, f.a.ID, "", limit, offset)
			if err != nil {
				t.Fatal(err)
			}
			var out []row
			for _, c := range list {
				out = append(out, row{c.Key, c.LastMessage, c.MessageCount})
			}
			return out, total
		}
		all := []row{{"c1", "latest", 4}, {"c4", "answer 4", 2}, {"c3", "answer 3", 2}, {"c2", "answer 2", 2}, {"c0", "answer 0", 2}}
		for _, tc := range []struct {
			limit, offset int
			want          []row
		}{
			{0, 0, all},
			{2, 0, all[:2]},
			{2, 2, all[2:4]},
			{2, 4, all[4:]},
			{2, 5, nil},
			{100, -3, all},
		} {
			got, total := page(tc.limit, tc.offset)
			if total != 5 {
				t.Errorf("List(%d, %d) total = %d, want 5", tc.limit, tc.offset, total)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("List(%d, %d) (-want +got):\n%s", tc.limit, tc.offset, diff)
			}
		}
	})
}

func TestConversationsSearch(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx, convs, f := t.Context(), s.Conversations(), newConvFixture(t, s)
		long := "The Kubernetes cluster " + strings.Repeat("é", 120)
		convAppendTurn(t, s, f.a.ID, f.alice.ID, "older", "how do I scale KUBERNETES?", "use an HPA", 1)
		convAppendTurn(t, s, f.a.ID, f.alice.ID, "newer", "unrelated", long, 2)
		convAppendTurn(t, s, f.a.ID, f.alice.ID, "newer", "kubernetes again", "ok", 3) // a second match in "newer"
		convAppendTurn(t, s, f.a.ID, f.alice.ID, "wild", "100% sure_thing", "yes", 0)

		search := func(q string, limit int) []store.SearchHit {
			t.Helper()
			hits, err := convs.Search(ctx, f.a.ID, f.alice.ID, q, limit)
			if err != nil {
				t.Fatal(err)
			}
			return hits
		}
		want := []store.SearchHit{
			{Key: "newer", Preview: string([]rune(long)[:120]) + "..."}, // the first matching message only
			{Key: "older", Preview: "how do I scale KUBERNETES?"},
		}
		for _, q := range []string{"kubernetes", "KuBeRnEtEs"} {
			if diff := cmp.Diff(want, search(q, 0)); diff != "" {
				t.Errorf("Search(%q) (-want +got):\n%s", q, diff)
			}
		}
		if diff := cmp.Diff(want[:1], search("kubernetes", 1)); diff != "" {
			t.Errorf("Search with limit 1 (-want +got):\n%s", diff)
		}
		// LIKE's wildcards are literal.
		if diff := cmp.Diff([]store.SearchHit{{Key: "wild", Preview: "100% sure_thing"}}, search("0% sure_", 0)); diff != "" {
			t.Errorf("Search(wildcards) (-want +got):\n%s", diff)
		}
		if hits := search("s_re", 0); len(hits) != 0 {
			t.Errorf("Search(s_re) = %v, want none (_ is not a wildcard)", hits)
		}
		if hits := search("nothing like this", 0); len(hits) != 0 {
			t.Errorf("Search(no match) = %v", hits)
		}
	})
}

func TestConversationsDelete(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx, convs, f := t.Context(), s.Conversations(), newConvFixture(t, s)
		addSession := func(id string) {
			t.Helper()
			if _, err := s.ExecT(ctx, "INSERT INTO sdk_agent_sessions (session_id, created_at, updated_at) VALUES ($1, $2, $2)",
				id, s.TimeArgT(t0)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.ExecT(ctx, "INSERT INTO sdk_agent_session_messages (session_id, message_data, created_at) VALUES ($1, '{}', $2)",
				id, s.TimeArgT(t0)); err != nil {
				t.Fatal(err)
			}
		}
		countRows := func(q string, arg any) int {
			t.Helper()
			var n int
			if err := s.QueryRowT(ctx, q, arg).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}

		// "synced" has its own session id; "unsynced" only the fallback (its key).
		c := convAppendTurn(t, s, f.a.ID, f.alice.ID, "synced", "q", "a", 1)
		if err := convs.SetSessionState(ctx, f.a.ID, f.alice.ID, "synced", store.SessionState{SDKSessionID: "sess-1"}); err != nil {
			t.Fatal(err)
		}
		addSession("sess-1")
		convAppendTurn(t, s, f.a.ID, f.alice.ID, "unsynced", "q", "a", 1)
		addSession("unsynced")
		addSession("unrelated")

		if ok, err := convs.Delete(ctx, f.a.ID, f.alice.ID, "synced"); !ok || err != nil {
			t.Fatalf("Delete = %v, %v", ok, err)
		}
		if n := countRows("SELECT count(*) FROM agent_messages WHERE conversation_id = $1", c.ID); n != 0 {
			t.Errorf("%d messages left after delete", n)
		}
		for _, id := range []string{"sess-1", "synced"} {
			if n := countRows("SELECT count(*) FROM sdk_agent_session_messages WHERE session_id = $1", id); n != 0 {
				t.Errorf("%d session items of %s left", n, id)
			}
		}
		if _, _, err := convs.Get(ctx, f.a.ID, "", "synced"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get after delete: %v", err)
		}
		if ok, err := convs.Delete(ctx, f.a.ID, f.alice.ID, "synced"); ok || err != nil {
			t.Errorf("second Delete = %v, %v; want false, nil", ok, err)
		}

		if ok, err := convs.Delete(ctx, f.a.ID, "", "unsynced"); !ok || err != nil {
			t.Fatalf("Delete(unsynced) = %v, %v", ok, err)
		}
		if n := countRows("SELECT count(*) FROM sdk_agent_sessions WHERE session_id = $1", "unsynced"); n != 0 {
			t.Errorf("the fallback session was not deleted")
		}
		if n := countRows("SELECT count(*) FROM sdk_agent_session_messages WHERE session_id = $1", "unrelated"); n != 1 {
			t.Errorf("an unrelated session lost its items")
		}
		// Reusing the id starts afresh.
		again := convAppendTurn(t, s, f.a.ID, f.alice.ID, "synced", "new", "start", 5)
		if again.MessageCount != 2 || again.SDKSessionID != "" || again.CreatedAt != at(5) {
			t.Errorf("reused id = %+v", again)
		}
		if _, err := convs.Delete(ctx, f.a.ID, "", strings.Repeat("x", 256)); !errors.Is(err, store.ErrInvalidConversationID) {
			t.Errorf("Delete(over-long) err = %v", err)
		}
	})
}

func TestConversationsSessionState(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx, convs, f := t.Context(), s.Conversations(), newConvFixture(t, s)
		if err := convs.SetSessionState(ctx, f.a.ID, "", "missing", store.SessionState{}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SetSessionState(missing) err = %v, want ErrNotFound", err)
		}
		convAppendTurn(t, s, f.a.ID, f.alice.ID, "k", "q", "a", 1)
		want := store.SessionState{SDKSessionID: "k", Cursor: "cur-7", LastSyncAt: convTime(at(4))}
		if err := convs.SetSessionState(ctx, f.a.ID, f.alice.ID, "k", want); err != nil {
			t.Fatal(err)
		}
		got, err := convs.SessionState(ctx, f.a.ID, f.alice.ID, "k")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("SessionState (-want +got):\n%s", diff)
		}
		// Written verbatim: empty values clear the columns.
		if err := convs.SetSessionState(ctx, f.a.ID, "", "k", store.SessionState{}); err != nil {
			t.Fatal(err)
		}
		if got, err := convs.SessionState(ctx, f.a.ID, "", "k"); err != nil || got != (store.SessionState{}) {
			t.Errorf("cleared SessionState = %+v, %v", got, err)
		}
		if _, err := convs.SessionState(ctx, f.a.ID, f.carol.ID, "k"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another user's SessionState err = %v, want ErrNotFound", err)
		}
	})
}

// TestConversationsConcurrentAppend runs 20 turns on one new conversation at
// once: every turn's two messages land, with unique consecutive positions.
func TestConversationsConcurrentAppend(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx, convs, f := t.Context(), s.Conversations(), newConvFixture(t, s)
		const turns = 20
		var wg sync.WaitGroup
		errs := make(chan error, turns)
		for i := range turns {
			wg.Go(func() {
				_, err := convs.Append(ctx, f.a.ID, "busy", convTurn(fmt.Sprintf("q%d", i), fmt.Sprintf("a%d", i)),
					store.AppendMeta{UserID: f.alice.ID, AgentEntrypoint: "triage", PromptTokens: convInt(1)}, at(i))
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		c, msgs, err := convs.Get(ctx, f.a.ID, f.alice.ID, "busy")
		if err != nil {
			t.Fatal(err)
		}
		if c.MessageCount != 2*turns || len(msgs) != 2*turns || c.TotalPromptTokens != turns {
			t.Fatalf("count %d, %d messages, %d prompt tokens; want %d, %d, %d",
				c.MessageCount, len(msgs), c.TotalPromptTokens, 2*turns, 2*turns, turns)
		}
		seen := map[string]bool{}
		for i, m := range msgs {
			if m.Position != i {
				t.Errorf("message %d has position %d", i, m.Position)
			}
			seen[m.Content] = true
		}
		// Each turn's question is directly followed by its answer.
		for i := 0; i+1 < len(msgs); i += 2 {
			q, a := msgs[i], msgs[i+1]
			if q.Role != "user" || a.Role != "assistant" || "a"+strings.TrimPrefix(q.Content, "q") != a.Content {
				t.Errorf("positions %d, %d hold %s %q and %s %q", i, i+1, q.Role, q.Content, a.Role, a.Content)
			}
		}
		if len(seen) != 2*turns {
			t.Errorf("%d distinct messages, want %d", len(seen), 2*turns)
		}
	})
}
