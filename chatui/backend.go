// Package chatui is the terminal chat of `agentplane chat` (DESIGN decision 5,
// spec: cli-config-ops.md §9): a bubbletea REPL and a plain pipe mode over a
// Backend that is either the in-process chat service (Local) or a remote
// server's HTTP API with resumable SSE streams (Remote). Only this package
// imports bubbletea, bubbles and lipgloss.
package chatui

import (
	"context"
	"iter"

	"agentplane/server/chat"
)

// Backend is what the REPL and pipe mode talk to; Local and Remote render
// the same events.
type Backend interface {
	Agents(ctx context.Context) ([]chat.AgentSummary, error)
	Tools(ctx context.Context) (chat.ToolsOverview, error)
	// Conversations lists the newest visible conversations first.
	Conversations(ctx context.Context, limit int) ([]chat.ConversationSummary, error)
	Conversation(ctx context.Context, id string) (chat.ConversationHistory, error)
	// Chat runs one blocking turn (--no-stream).
	Chat(ctx context.Context, t chat.Turn) (chat.Reply, error)
	// Stream runs one turn, yielding frames as the server sends them: chunks,
	// then the completion frame, or an error frame (Error set, IsComplete).
	// A failure before or outside the frames (the turn could not start, the
	// connection is lost for good) is yielded once as (chat.Frame{}, err).
	Stream(ctx context.Context, t chat.Turn) iter.Seq2[chat.Frame, error]
}

// conversationsShown is how many conversations /conversations lists.
const conversationsShown = 20
