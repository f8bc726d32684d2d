package chatui

import (
	"bytes"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"
	"github.com/google/go-cmp/cmp"

	"agentplane/server/chat"
)

var enter = tea.KeyPressMsg{Code: tea.KeyEnter}

// newModel is a REPL at 80×24 over b, with Init's Cmds run.
func newModel(t *testing.T, b Backend, o Options) Model {
	t.Helper()
	if o.Target == "" {
		o.Target = "test"
	}
	m := New(t.Context(), b, o)
	m.SetSize(80, 24)
	return run(t, m, m.Init())
}

// run runs cmd and every Cmd that follows from it, one at a time, as the
// program would (batches in order).
func run(t *testing.T, m Model, cmd tea.Cmd) Model {
	t.Helper()
	queue := []tea.Cmd{cmd}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		msg := c()
		if batch, ok := msg.(tea.BatchMsg); ok {
			queue = append(queue, batch...)
			continue
		}
		if _, ok := msg.(tea.QuitMsg); ok {
			continue
		}
		next, more := m.Update(msg)
		m = next.(Model)
		queue = append(queue, more)
	}
	return m
}

// enterLine types line and presses enter; it returns the model and the Cmd
// the enter gave, not yet run.
func enterLine(t *testing.T, m Model, line string) (Model, tea.Cmd) {
	t.Helper()
	for _, r := range line {
		next, _ := m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
		m = next.(Model)
	}
	next, cmd := m.Update(enter)
	return next.(Model), cmd
}

func send(t *testing.T, m Model, line string) Model {
	t.Helper()
	m, cmd := enterLine(t, m, line)
	return run(t, m, cmd)
}

// transcript is the model's entries as "kind|agent|text" lines.
func transcriptOf(m Model) []string {
	kinds := map[entryKind]string{entryUser: "user", entryReply: "reply", entryHandoff: "handoff", entryInfo: "info", entryError: "error"}
	var out []string
	for _, e := range m.entries[1:] { // after the welcome line
		out = append(out, kinds[e.kind]+"|"+e.agent+"|"+e.text)
	}
	return out
}

func screen(m Model) []byte { return []byte(ansi.Strip(m.View().Content)) }

func TestModelStreamsAHandoff(t *testing.T) {
	t.Parallel()
	b := &fakeBackend{frames: script}
	m := send(t, newModel(t, b, Options{}), "fix my code")
	want := []string{
		"user||fix my code",
		"reply|triage|Let me ",
		"handoff||handoff: triage → code_assistant",
		"reply|code_assistant|hand this over.",
	}
	if diff := cmp.Diff(want, transcriptOf(m)); diff != "" {
		t.Errorf("transcript (-want +got):\n%s", diff)
	}
	if m.turn != nil || m.ConversationID() != "c1" {
		t.Errorf("turn %v, conversation %q; want idle in c1", m.turn, m.ConversationID())
	}
	if diff := cmp.Diff([]chat.Turn{{Message: "fix my code", AgentType: "triage"}}, b.Turns()); diff != "" {
		t.Errorf("turns (-want +got):\n%s", diff)
	}
	golden.RequireEqual(t, screen(m))

	// the next turn continues the conversation
	send(t, m, "thanks")
	if got := b.Turns()[1]; got.ConversationID != "c1" {
		t.Errorf("second turn %+v, want conversation c1", got)
	}
}

func TestModelBlockingReply(t *testing.T) {
	t.Parallel()
	b := &fakeBackend{reply: chat.Reply{Response: "42 rows.", ConversationID: "c2", AgentUsed: "data_analyst", HandoffOccurred: true}}
	m := send(t, newModel(t, b, Options{NoStream: true}), "count them")
	want := []string{"user||count them", "handoff||handoff: triage → data_analyst", "reply|data_analyst|42 rows."}
	if diff := cmp.Diff(want, transcriptOf(m)); diff != "" {
		t.Errorf("transcript (-want +got):\n%s", diff)
	}
	if m.ConversationID() != "c2" {
		t.Errorf("conversation %q", m.ConversationID())
	}
}

// TestModelErrorsKeepTheREPL: a failed turn prints [ERROR] and the next
// message is sent as usual.
func TestModelErrorsKeepTheREPL(t *testing.T) {
	t.Parallel()
	b := &fakeBackend{err: &APIError{Status: 500, Message: "Error processing chat request: the model provider is not configured (HTTP 500)"}}
	m := send(t, newModel(t, b, Options{}), "hello")
	b.err, b.frames = nil, script
	m = send(t, m, "again")
	want := []string{
		"user||hello",
		"error||[ERROR] Error processing chat request: the model provider is not configured (HTTP 500)",
		"user||again",
		"reply|triage|Let me ",
		"handoff||handoff: triage → code_assistant",
		"reply|code_assistant|hand this over.",
	}
	if diff := cmp.Diff(want, transcriptOf(m)); diff != "" {
		t.Errorf("transcript (-want +got):\n%s", diff)
	}
}

func TestModelErrorFrame(t *testing.T) {
	t.Parallel()
	b := &fakeBackend{frames: []chat.Frame{script[0], {ConversationID: "c1", IsComplete: true, Error: "Error processing chat request: boom"}}}
	m := send(t, newModel(t, b, Options{}), "hello")
	want := []string{"user||hello", "reply|triage|Let me ", "error||[ERROR] Error processing chat request: boom"}
	if diff := cmp.Diff(want, transcriptOf(m)); diff != "" {
		t.Errorf("transcript (-want +got):\n%s", diff)
	}
	if m.turn != nil {
		t.Error("the turn is still running")
	}
}

// TestModelEscStopsTheReply: esc cancels the running turn's context.
func TestModelEscStopsTheReply(t *testing.T) {
	t.Parallel()
	live := make(chan chat.Frame)
	b := &fakeBackend{live: live}
	m, pullCmd := enterLine(t, newModel(t, b, Options{}), "long question")
	next, _ := m.Update(tea.KeyPressMsg{Code: tea.KeyEscape})
	m = run(t, next.(Model), pullCmd)
	want := []string{"user||long question", "info||stopped"}
	if diff := cmp.Diff(want, transcriptOf(m)); diff != "" {
		t.Errorf("transcript (-want +got):\n%s", diff)
	}
	if m.turn != nil {
		t.Error("the turn is still running")
	}
}

func TestModelCommands(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 4, 5, 6, 0, 0, time.UTC)
	b := &fakeBackend{
		convs: []chat.ConversationSummary{{ConversationID: "c7", MessageCount: 2, LastMessage: "the\nanswer", UpdatedAt: at}},
		history: map[string]chat.ConversationHistory{"c7": {ConversationID: "c7", Messages: []chat.HistoryMessage{
			{Role: "user", Content: "question"}, {Role: "assistant", Content: "the answer"}}}},
	}
	m := newModel(t, b, Options{})
	for _, line := range []string{"/agent code_assistant", "/agent nobody", "/history", "/conversations", "/resume 1",
		"/tools", "/new", "/bogus", "/resume c8"} {
		m = send(t, m, line)
	}
	want := []string{
		"info||agent: code_assistant answers the next message",
		`error||[ERROR] unknown agent "nobody" (one of: code_assistant, data_analyst, triage)`,
		"info||no conversation yet: send a message, or /resume one",
		"info||conversations (newest first; /resume N continues one):\n   1. c7  2026-03-04 05:06  2 messages  the answer",
		"info||conversation c7:",
		"user||question",
		"reply|assistant|the answer",
		"info||tools (2): get_current_time, web_search\ncategories: search, utility",
		"info||new conversation: the next message starts it",
		"error||[ERROR] unknown command /bogus: /help lists them",
		"error||[ERROR] Conversation c8 not found (HTTP 404)",
	}
	if diff := cmp.Diff(want, transcriptOf(m)); diff != "" {
		t.Errorf("transcript (-want +got):\n%s", diff)
	}
	if m.agent != "code_assistant" || m.ConversationID() != "" {
		t.Errorf("agent %q conversation %q", m.agent, m.ConversationID())
	}
	if _, cmd := enterLine(t, m, "/quit"); cmd == nil || cmd() != tea.Quit() {
		t.Error("/quit does not quit")
	}
}

// TestModelStartsInAConversation: --conversation shows the history, or
// says the conversation is new.
func TestModelStartsInAConversation(t *testing.T) {
	t.Parallel()
	b := &fakeBackend{history: map[string]chat.ConversationHistory{"c7": {Messages: []chat.HistoryMessage{{Role: "user", Content: "q"}}}}}
	m := newModel(t, b, Options{ConversationID: "c7"})
	if diff := cmp.Diff([]string{"info||conversation c7:", "user||q"}, transcriptOf(m)); diff != "" {
		t.Errorf("known (-want +got):\n%s", diff)
	}
	m = newModel(t, b, Options{ConversationID: "fresh"})
	if diff := cmp.Diff([]string{"info||conversation fresh has no messages yet: the next message starts it"}, transcriptOf(m)); diff != "" {
		t.Errorf("new (-want +got):\n%s", diff)
	}
	if m.ConversationID() != "fresh" {
		t.Errorf("conversation %q", m.ConversationID())
	}
}

// TestREPLFlow drives the program as a terminal would: type, enter, wait
// for the streamed reply on screen, quit.
func TestREPLFlow(t *testing.T) {
	t.Parallel()
	live := make(chan chat.Frame)
	b := &fakeBackend{live: live}
	tm := teatest.NewTestModel(t, New(t.Context(), b, Options{Target: "test"}), teatest.WithInitialTermSize(80, 24))
	tm.Type("what is sqlite?")
	tm.Send(enter)
	teatest.WaitFor(t, tm.Output(), func(out []byte) bool { return bytes.Contains(out, []byte("replying")) })
	live <- chat.Frame{Chunk: "An embedded ", ConversationID: "c3", AgentUsed: "triage"}
	live <- chat.Frame{Chunk: "database.", ConversationID: "c3", AgentUsed: "triage"}
	live <- chat.Frame{ConversationID: "c3", IsComplete: true, AgentUsed: "triage"}
	teatest.WaitFor(t, tm.Output(), func(out []byte) bool { return bytes.Contains(out, []byte("database.")) })
	tm.Send(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl})
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(Model)
	want := []string{"user||what is sqlite?", "reply|triage|An embedded database."}
	if diff := cmp.Diff(want, transcriptOf(fm)); diff != "" {
		t.Errorf("transcript (-want +got):\n%s", diff)
	}
	golden.RequireEqual(t, screen(fm))
}
