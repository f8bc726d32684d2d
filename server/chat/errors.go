package chat

import (
	"errors"
	"fmt"
)

// Error kinds of the chat area; server/errors.go maps each to its HTTP
// answer. The client sees an error's PublicDetail, never its cause (spec:
// agents-and-data.md §9 note 7, http-api.md §4 note 24).
var (
	// ErrConversationNotFound: an unknown conversation, or one of another
	// tenant or user (404, agents-and-data.md §9 note 1).
	ErrConversationNotFound = errors.New("chat: conversation not found")
	// ErrAgentNotFound: no agent has that key (404).
	ErrAgentNotFound = errors.New("chat: agent not found")
	// ErrNoResumableTurn: the conversation has no resumable turn to resume
	// (none was started with Last-Event-ID: 0, or its frames expired; 404).
	ErrNoResumableTurn = errors.New("chat: no resumable turn")
	// ErrNotConfigured: OPENAI_API_KEY is not set (500).
	ErrNotConfigured = errors.New("chat: model provider not configured")
	// ErrProvider: the model provider failed, timed out or answered
	// something unreadable (502).
	ErrProvider = errors.New("chat: model provider failed")
	// ErrRun: the agent run itself failed, e.g. too many turns (500).
	ErrRun = errors.New("chat: agent run failed")
)

// chatErrorPrefix starts every chat failure's detail (http-api.md §2.4.1).
const chatErrorPrefix = "Error processing chat request: "

// Error is a failure of kind with the detail the client is shown and the
// cause that is only logged.
type Error struct {
	kind   error
	detail string
	cause  error
}

func (e *Error) Error() string {
	if e.cause == nil {
		return e.detail
	}
	return e.detail + ": " + e.cause.Error()
}

// Unwrap exposes the kind and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

// PublicDetail is the client-facing detail.
func (e *Error) PublicDetail() string { return e.detail }

func conversationNotFound(id string, cause error) error {
	return &Error{kind: ErrConversationNotFound, detail: fmt.Sprintf("Conversation %s not found", id), cause: cause}
}

func agentNotFound(name string) error {
	return &Error{kind: ErrAgentNotFound, detail: fmt.Sprintf("Agent '%s' not found", name)}
}

func noResumableTurn(id string) error {
	return &Error{kind: ErrNoResumableTurn, detail: fmt.Sprintf("Conversation %s has no resumable stream", id)}
}

// chatFailure is a failed turn: kind, the safe summary after the prefix,
// and the cause for the log.
func chatFailure(kind error, summary string, cause error) error {
	return &Error{kind: kind, detail: chatErrorPrefix + summary, cause: cause}
}

// notConfiguredSummary names the settings to set (DESIGN "Runtime defaults").
const notConfiguredSummary = "the model provider is not configured: set OPENAI_API_KEY " +
	"(and OPENAI_BASE_URL to use an OpenAI-compatible server)."
