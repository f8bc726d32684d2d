package chatui

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"agentplane/server/chat"
)

// Options configure the REPL (spec: cli-config-ops.md §9).
type Options struct {
	Agent          string // the agent of the first turn; "" is triage
	ConversationID string // continue this conversation; "" starts a new one
	NoStream       bool   // use the blocking path
	Target         string // where the chat runs, for the header
}

// Model is the REPL screen: a transcript above an input line. View is pure;
// every call to the Backend runs in a tea.Cmd.
type Model struct {
	// ctx bounds the Backend calls the Cmds make; a tea.Cmd has no context
	// of its own, so the model carries the program's.
	ctx     context.Context
	backend Backend
	opts    Options
	keys    keyMap
	styles  styles

	agent   string   // the agent the next turn asks for
	convID  string   // "" until the first reply of a new conversation
	agents  []string // known agent keys, once listed
	listed  []string // ids of the last /conversations, for /resume N
	entries []entry
	turn    *turn // the running turn; nil when idle
	seq     int   // turns started, to ignore a finished turn's messages

	input         textinput.Model
	view          viewport.Model
	width, height int
}

type entryKind int

const (
	entryUser entryKind = iota
	entryReply
	entryHandoff
	entryInfo
	entryError
)

// entry is one block of the transcript.
type entry struct {
	kind  entryKind
	agent string // entryReply: who wrote it
	text  string
	done  bool // entryReply: complete
}

// turn is the state of the running turn.
type turn struct {
	seq       int
	cancel    context.CancelFunc
	cancelled bool
	agent     string // the agent writing the reply so far
	reply     int    // index of its entry
}

// New builds the REPL over b; ctx ends every call it makes.
func New(ctx context.Context, b Backend, o Options) Model {
	in := textinput.New()
	in.Prompt = "› "
	in.Placeholder = "Ask something, or /help"
	st := in.Styles()
	st.Cursor.Blink = false
	in.SetStyles(st)
	in.Focus()
	m := Model{ctx: ctx, backend: b, opts: o, keys: defaultKeys(), styles: defaultStyles(),
		agent: agentOrDefault(o.Agent), convID: o.ConversationID, input: in, view: viewport.New()}
	m.view.KeyMap = viewport.KeyMap{} // scrolling is ours (pgup/pgdn); other keys are typing
	m.addInfo("agentplane chat: type a message and press enter; /help lists the commands.")
	return m
}

// ConversationID is the conversation the REPL is in ("" if none yet).
func (m Model) ConversationID() string { return m.convID }

// Init lists the agents and, for --conversation, shows the history.
func (m Model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.fetchAgents(false)}
	if m.convID != "" {
		cmds = append(cmds, m.fetchHistory(m.convID, historyStart))
	}
	return tea.Batch(cmds...)
}

// SetSize lays the screen out for a terminal of w×h cells.
func (m *Model) SetSize(w, h int) {
	m.width, m.height = w, h
	m.input.SetWidth(max(w-lipgloss.Width(m.input.Prompt)-1, 1))
	m.view.SetWidth(w)
	m.view.SetHeight(max(h-3, 1)) // header, input and footer lines
	m.sync()
}

// Update delegates each message to its handler.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.SetSize(msg.Width, msg.Height)
		return m, nil
	case tea.KeyPressMsg:
		return m.onKey(msg)
	case frameMsg:
		return m.onFrame(msg)
	case replyMsg:
		return m.onReply(msg)
	case agentsMsg:
		return m.onAgents(msg), nil
	case toolsMsg:
		return m.onTools(msg), nil
	case conversationsMsg:
		return m.onConversations(msg), nil
	case historyMsg:
		return m.onHistory(msg), nil
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	return m, cmd
}

// View draws the header, the transcript, the input line and the keys.
func (m Model) View() tea.View {
	conv := m.convID
	if conv == "" {
		conv = "new"
	}
	header := "agentplane chat · " + m.opts.Target + " · agent " + m.agent + " · conversation " + conv
	if m.turn != nil {
		header += " · replying…"
	}
	if m.width > 0 {
		header = truncate(header, m.width)
	}
	v := tea.NewView(lipgloss.JoinVertical(lipgloss.Left,
		m.styles.header.Render(header),
		m.view.View(),
		m.input.View(),
		m.styles.footer.Render(truncate(m.keys.help(), max(m.width, 1))),
	))
	v.AltScreen = true
	return v
}

func truncate(s string, w int) string {
	r := []rune(s)
	if w > 0 && len(r) > w {
		return string(r[:w-1]) + "…"
	}
	return s
}

func (m Model) onKey(k tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch {
	case key.Matches(k, m.keys.Quit):
		return m.quit()
	case key.Matches(k, m.keys.Cancel):
		if m.turn != nil && !m.turn.cancelled {
			m.turn.cancelled = true
			m.turn.cancel()
		}
		return m, nil
	case key.Matches(k, m.keys.PageUp):
		m.view.PageUp()
		return m, nil
	case key.Matches(k, m.keys.PageDown):
		m.view.PageDown()
		return m, nil
	case key.Matches(k, m.keys.Send):
		text := strings.TrimSpace(m.input.Value())
		m.input.Reset()
		return m.submit(text)
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(k)
	return m, cmd
}

func (m Model) quit() (tea.Model, tea.Cmd) {
	if m.turn != nil {
		m.turn.cancel()
	}
	return m, tea.Quit
}

// submit handles one entered line: a command or a message.
func (m Model) submit(text string) (tea.Model, tea.Cmd) {
	switch {
	case text == "":
		return m, nil
	case strings.HasPrefix(text, "/"):
		return m.command(text)
	case m.turn != nil:
		m.addError("a reply is still coming: wait for it, or press esc to stop it")
		return m, nil
	}
	return m.startTurn(text)
}

const helpText = `commands:
  /agent <key>      ask this agent next (triage, code_assistant, data_analyst)
  /agents           list the agents
  /tools            list the tools
  /new              start a new conversation
  /conversations    list recent conversations
  /resume <id|N>    continue a conversation (N: its number in /conversations)
  /history          show this conversation's messages
  /quit             leave (ctrl+c)`

// command runs a slash command; its errors keep the REPL alive.
func (m Model) command(text string) (tea.Model, tea.Cmd) {
	name, arg, _ := strings.Cut(text, " ")
	arg = strings.TrimSpace(arg)
	if name == "/quit" || name == "/exit" {
		return m.quit()
	}
	if m.turn != nil && name != "/help" {
		m.addError("a reply is still coming: wait for it, or press esc to stop it")
		return m, nil
	}
	switch name {
	case "/help":
		m.addInfo(helpText)
	case "/agent":
		switch {
		case arg == "":
			m.addInfo("agent: " + m.agent + m.agentChoices())
		case len(m.agents) > 0 && !slices.Contains(m.agents, arg):
			m.addError("unknown agent " + strconv.Quote(arg) + m.agentChoices())
		default:
			m.agent = arg
			m.addInfo("agent: " + arg + " answers the next message")
		}
	case "/agents":
		return m, m.fetchAgents(true)
	case "/tools":
		return m, m.fetchTools()
	case "/new":
		m.convID = ""
		m.addInfo("new conversation: the next message starts it")
	case "/conversations":
		return m, m.fetchConversations()
	case "/resume":
		id := arg
		if n, err := strconv.Atoi(arg); err == nil && n >= 1 && n <= len(m.listed) {
			id = m.listed[n-1]
		}
		if id == "" {
			m.addError("usage: /resume <conversation id>, or /resume N after /conversations")
			return m, nil
		}
		return m, m.fetchHistory(id, historyResume)
	case "/history":
		if m.convID == "" {
			m.addInfo("no conversation yet: send a message, or /resume one")
			return m, nil
		}
		return m, m.fetchHistory(m.convID, historyShow)
	default:
		m.addError("unknown command " + name + ": /help lists them")
	}
	return m, nil
}

func (m Model) agentChoices() string {
	if len(m.agents) == 0 {
		return ""
	}
	return " (one of: " + strings.Join(m.agents, ", ") + ")"
}

// startTurn sends text to the current agent and conversation.
func (m Model) startTurn(text string) (tea.Model, tea.Cmd) {
	m.entries = append(m.entries, entry{kind: entryUser, text: text},
		entry{kind: entryReply, agent: m.agent})
	m.seq++
	ctx, cancel := context.WithCancel(m.ctx)
	m.turn = &turn{seq: m.seq, cancel: cancel, agent: m.agent, reply: len(m.entries) - 1}
	m.sync()
	t := chat.Turn{Message: text, ConversationID: m.convID, AgentType: m.agent}
	if m.opts.NoStream {
		seq, b := m.seq, m.backend
		return m, func() tea.Msg {
			defer cancel()
			r, err := b.Chat(ctx, t)
			return replyMsg{seq: seq, reply: r, err: err}
		}
	}
	next, stop := iter.Pull2(m.backend.Stream(ctx, t))
	return m, pull(m.seq, next, stop, cancel)
}

// frameMsg is one pulled frame; end: the stream is over (err, the final
// frame, or no more frames).
type frameMsg struct {
	seq   int
	frame chat.Frame
	err   error
	end   bool
	next  func() (chat.Frame, error, bool)
	stop  func()
	done  context.CancelFunc
}

// replyMsg is a blocking turn's outcome.
type replyMsg struct {
	seq   int
	reply chat.Reply
	err   error
}

// pull waits for the next frame of a stream; the stream is stopped in the
// same Cmd that sees its end, so next and stop never run at the same time.
func pull(seq int, next func() (chat.Frame, error, bool), stop func(), done context.CancelFunc) tea.Cmd {
	return func() tea.Msg {
		f, err, ok := next()
		end := !ok || err != nil || f.IsComplete || f.Error != ""
		if end {
			stop()
			done()
		}
		return frameMsg{seq: seq, frame: f, err: err, end: end, next: next, stop: stop, done: done}
	}
}

func (m Model) onFrame(msg frameMsg) (tea.Model, tea.Cmd) {
	if m.turn == nil || msg.seq != m.turn.seq {
		return m, nil
	}
	f := msg.frame
	switch {
	case msg.err != nil:
		m.failTurn(msg.err)
		return m, nil
	case !msg.end && f == (chat.Frame{}):
		return m, pull(msg.seq, msg.next, msg.stop, msg.done)
	}
	if f.ConversationID != "" {
		m.convID = f.ConversationID
	}
	if f.AgentUsed != "" && f.AgentUsed != m.turn.agent {
		m.handoff(f.AgentUsed)
	}
	if f.Chunk != "" {
		m.entries[m.turn.reply].text += f.Chunk
	}
	if f.Error != "" {
		m.failTurn(errors.New(f.Error))
		return m, nil
	}
	if msg.end {
		m.endTurn()
		return m, nil
	}
	m.sync()
	return m, pull(msg.seq, msg.next, msg.stop, msg.done)
}

func (m Model) onReply(msg replyMsg) (tea.Model, tea.Cmd) {
	if m.turn == nil || msg.seq != m.turn.seq {
		return m, nil
	}
	if msg.err != nil {
		m.failTurn(msg.err)
		return m, nil
	}
	r := msg.reply
	m.convID = r.ConversationID
	if r.AgentUsed != "" && r.AgentUsed != m.turn.agent {
		m.handoff(r.AgentUsed)
	}
	m.entries[m.turn.reply].text = r.Response
	m.endTurn()
	return m, nil
}

// handoff records that agent took over the reply: a handoff line, and a new
// reply block unless the previous agent wrote nothing yet.
func (m *Model) handoff(agent string) {
	line := entry{kind: entryHandoff, text: "handoff: " + m.turn.agent + " → " + agent}
	reply := entry{kind: entryReply, agent: agent}
	if prev := &m.entries[m.turn.reply]; prev.text == "" {
		*prev = line
	} else {
		prev.done = true
		m.entries = append(m.entries, line)
	}
	m.entries = append(m.entries, reply)
	m.turn.reply, m.turn.agent = len(m.entries)-1, agent
}

// endTurn marks the reply complete and returns to idle.
func (m *Model) endTurn() {
	m.entries[m.turn.reply].done = true
	m.turn = nil
	m.sync()
}

// failTurn shows err (or that the user stopped the reply) and returns to idle.
func (m *Model) failTurn(err error) {
	reply := &m.entries[m.turn.reply]
	if reply.text == "" {
		m.entries = slices.Delete(m.entries, m.turn.reply, m.turn.reply+1)
	} else {
		reply.done = true
	}
	if m.turn.cancelled && errors.Is(err, context.Canceled) {
		m.turn = nil
		m.addInfo("stopped")
		return
	}
	m.turn = nil
	m.addError(err.Error())
}

// The replies to the listing Cmds.
type (
	agentsMsg struct {
		list []chat.AgentSummary
		err  error
		show bool // print them (else only remember the keys)
	}
	toolsMsg struct {
		tools chat.ToolsOverview
		err   error
	}
	conversationsMsg struct {
		list []chat.ConversationSummary
		err  error
	}
	historyMsg struct {
		id   string
		h    chat.ConversationHistory
		err  error
		mode historyMode
	}
)

// historyMode is why a history was fetched.
type historyMode int

const (
	historyShow   historyMode = iota // /history
	historyResume                    // /resume: switch to it
	historyStart                     // --conversation: switch to it; none yet is fine
)

func (m Model) fetchAgents(show bool) tea.Cmd {
	ctx, b := m.ctx, m.backend
	return func() tea.Msg { l, err := b.Agents(ctx); return agentsMsg{l, err, show} }
}

func (m Model) fetchTools() tea.Cmd {
	ctx, b := m.ctx, m.backend
	return func() tea.Msg { t, err := b.Tools(ctx); return toolsMsg{t, err} }
}

func (m Model) fetchConversations() tea.Cmd {
	ctx, b := m.ctx, m.backend
	return func() tea.Msg { l, err := b.Conversations(ctx, conversationsShown); return conversationsMsg{l, err} }
}

func (m Model) fetchHistory(id string, mode historyMode) tea.Cmd {
	ctx, b := m.ctx, m.backend
	return func() tea.Msg { h, err := b.Conversation(ctx, id); return historyMsg{id, h, err, mode} }
}

func (m Model) onAgents(msg agentsMsg) Model {
	if msg.err != nil {
		if msg.show {
			m.addError(msg.err.Error())
		}
		return m
	}
	m.agents = nil
	var b strings.Builder
	b.WriteString("agents:")
	for _, a := range msg.list {
		m.agents = append(m.agents, a.Name)
		fmt.Fprintf(&b, "\n  %-16s %s", a.Name, a.Description)
	}
	if msg.show {
		m.addInfo(b.String())
	}
	return m
}

func (m Model) onTools(msg toolsMsg) Model {
	if msg.err != nil {
		m.addError(msg.err.Error())
		return m
	}
	m.addInfo(fmt.Sprintf("tools (%d): %s\ncategories: %s", msg.tools.TotalTools,
		strings.Join(msg.tools.ToolNames, ", "), strings.Join(msg.tools.Categories, ", ")))
	return m
}

func (m Model) onConversations(msg conversationsMsg) Model {
	if msg.err != nil {
		m.addError(msg.err.Error())
		return m
	}
	if len(msg.list) == 0 {
		m.addInfo("no conversations yet")
		return m
	}
	m.listed = nil
	var b strings.Builder
	b.WriteString("conversations (newest first; /resume N continues one):")
	for i, c := range msg.list {
		m.listed = append(m.listed, c.ConversationID)
		fmt.Fprintf(&b, "\n  %2d. %s  %s  %d messages  %s", i+1, c.ConversationID,
			c.UpdatedAt.Format("2006-01-02 15:04"), c.MessageCount, truncate(oneLine(c.LastMessage), 40))
	}
	m.addInfo(b.String())
	return m
}

func (m Model) onHistory(msg historyMsg) Model {
	if msg.err != nil {
		if msg.mode == historyStart && (errors.Is(msg.err, chat.ErrConversationNotFound) || isNotFound(msg.err)) {
			m.addInfo("conversation " + msg.id + " has no messages yet: the next message starts it")
			return m
		}
		m.addError(msg.err.Error())
		return m
	}
	if msg.mode != historyShow {
		m.convID = msg.id
		m.addInfo("conversation " + msg.id + ":")
	}
	for _, h := range msg.h.Messages {
		if h.Role == "user" {
			m.entries = append(m.entries, entry{kind: entryUser, text: h.Content})
		} else {
			m.entries = append(m.entries, entry{kind: entryReply, agent: h.Role, text: h.Content, done: true})
		}
	}
	m.sync()
	return m
}

func isNotFound(err error) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func (m *Model) addInfo(text string) {
	m.entries = append(m.entries, entry{kind: entryInfo, text: text})
	m.sync()
}

func (m *Model) addError(text string) {
	m.entries = append(m.entries, entry{kind: entryError, text: "[ERROR] " + text})
	m.sync()
}

// sync renders the transcript into the viewport, following the end unless
// the user scrolled up.
func (m *Model) sync() {
	follow := m.view.AtBottom() || m.view.TotalLineCount() == 0
	m.view.SetContent(m.transcript())
	if follow {
		m.view.GotoBottom()
	}
}

// transcript renders every entry, wrapped to the width.
func (m Model) transcript() string {
	w := m.width
	wrap := func(s string, indent int) string {
		if w <= indent {
			return s
		}
		return lipgloss.Wrap(s, w-indent, " ")
	}
	blocks := make([]string, 0, len(m.entries))
	for _, e := range m.entries {
		switch e.kind {
		case entryUser:
			blocks = append(blocks, m.styles.user.Render("you")+"\n"+wrap(e.text, 0))
		case entryReply:
			text := e.text
			if !e.done {
				text += "▍"
			}
			blocks = append(blocks, m.styles.agent.Render(e.agent)+"\n"+wrap(text, 0))
		case entryHandoff:
			blocks = append(blocks, m.styles.handoff.Render("↪ "+e.text))
		case entryInfo:
			blocks = append(blocks, m.styles.info.Render(wrap(e.text, 0)))
		case entryError:
			blocks = append(blocks, m.styles.err.Render(wrap(e.text, 0)))
		}
	}
	return strings.Join(blocks, "\n\n")
}
