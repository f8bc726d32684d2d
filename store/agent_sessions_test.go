package store_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"agentplane/store"
	"agentplane/store/storetest"
)

func TestConversationsSessionItems(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		c := s.Conversations()
		if items, err := c.SessionItems(t.Context(), "thread"); err != nil || len(items) != 0 {
			t.Fatalf("unknown session: %v, %v", items, err)
		}
		first := []string{`{"role":"user","content":"a"}`, `{"type":"message"}`}
		second := []string{`{"role":"user","content":"b"}`, `{"type":"function_call"}`, `{"type":"function_call_output"}`}
		if err := c.AddSessionItems(t.Context(), "thread", first, at(1)); err != nil {
			t.Fatal(err)
		}
		if err := c.AddSessionItems(t.Context(), "thread", second, at(2)); err != nil {
			t.Fatal(err)
		}
		items, err := c.SessionItems(t.Context(), "thread")
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(append(first, second...), items); d != "" {
			t.Errorf("items (-want +got):\n%s", d)
		}
	})
}

func TestConversationsAgentUsage(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		f := newConvFixture(t, s)
		c := s.Conversations()
		convAppendTurn(t, s, f.a.ID, f.alice.ID, "one", "q", "a", 10)
		_, err := c.Append(t.Context(), f.a.ID, "two", convTurn("q", "a"),
			store.AppendMeta{UserID: f.carol.ID, AgentEntrypoint: "triage", ActiveAgent: "code_assistant"}, at(20))
		if err != nil {
			t.Fatal(err)
		}
		convAppendTurn(t, s, f.b.ID, f.bob.ID, "three", "q", "a", 30)
		tests := []struct {
			tenant, agent string
			n, last       int
		}{
			{f.a.ID, "triage", 2, 20},
			{f.a.ID, "code_assistant", 1, 20},
			{f.a.ID, "data_analyst", 0, -1},
			{f.b.ID, "triage", 1, 30},
			{"not-a-uuid", "triage", 0, -1},
		}
		for _, tc := range tests {
			n, last, err := c.AgentUsage(t.Context(), tc.tenant, tc.agent)
			if err != nil {
				t.Fatal(err)
			}
			if n != tc.n || (tc.last < 0) != (last == nil) || last != nil && !last.Equal(at(tc.last)) {
				t.Errorf("AgentUsage(%s, %s) = %d, %v; want %d, at(%d)", tc.tenant, tc.agent, n, last, tc.n, tc.last)
			}
		}
	})
}
