package chatui

import (
	"context"
	"iter"
	"sync"

	"agentplane/server/chat"
)

// fakeBackend scripts a Backend: Stream yields frames (from the channel
// when set, so a test can pace them), then err.
type fakeBackend struct {
	frames  []chat.Frame
	live    chan chat.Frame
	err     error
	reply   chat.Reply
	convs   []chat.ConversationSummary
	history map[string]chat.ConversationHistory

	mu    sync.Mutex
	turns []chat.Turn
}

func (b *fakeBackend) Agents(context.Context) ([]chat.AgentSummary, error) {
	return []chat.AgentSummary{{Name: "code_assistant", Status: "active", Description: "Codes."},
		{Name: "data_analyst", Status: "active", Description: "Analyses."},
		{Name: "triage", Status: "active", Description: "Routes."}}, nil
}

func (b *fakeBackend) Tools(context.Context) (chat.ToolsOverview, error) {
	return chat.ToolsOverview{TotalTools: 2, ToolNames: []string{"get_current_time", "web_search"}, Categories: []string{"search", "utility"}}, nil
}

func (b *fakeBackend) Conversations(context.Context, int) ([]chat.ConversationSummary, error) {
	return b.convs, nil
}

func (b *fakeBackend) Conversation(_ context.Context, id string) (chat.ConversationHistory, error) {
	h, ok := b.history[id]
	if !ok {
		return h, &APIError{Status: 404, Message: "Conversation " + id + " not found (HTTP 404)"}
	}
	return h, nil
}

func (b *fakeBackend) record(t chat.Turn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.turns = append(b.turns, t)
}

func (b *fakeBackend) Turns() []chat.Turn {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]chat.Turn(nil), b.turns...)
}

func (b *fakeBackend) Chat(_ context.Context, t chat.Turn) (chat.Reply, error) {
	b.record(t)
	return b.reply, b.err
}

func (b *fakeBackend) Stream(ctx context.Context, t chat.Turn) iter.Seq2[chat.Frame, error] {
	b.record(t)
	return func(yield func(chat.Frame, error) bool) {
		for _, f := range b.frames {
			if !yield(f, nil) {
				return
			}
		}
		if b.live != nil {
			for {
				select {
				case <-ctx.Done():
					yield(chat.Frame{}, ctx.Err())
					return
				case f, ok := <-b.live:
					if !ok {
						return
					}
					if !yield(f, nil) {
						return
					}
				}
			}
		}
		if b.err != nil {
			yield(chat.Frame{}, b.err)
		}
	}
}
