package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"
	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"agentplane/chatui"
	"agentplane/config"
	"agentplane/server/chat"
	"agentplane/store"
)

// chatFlags are chat's flags (spec: cli-config-ops.md §9, DESIGN decision 5).
type chatFlags struct {
	agent, conversation, message string
	tenant, user                 string // in-process attribution
	apiURL, token                string // remote mode
	noStream, json, migrate      bool
}

// tokenEnv holds a remote access token when --token is not given.
const tokenEnv = "AGENTPLANE_TOKEN"

func newChatCmd(g *globals) *cobra.Command {
	var f chatFlags
	c := &cobra.Command{
		Use:   "chat",
		Short: "Chat with the agents in a terminal (in-process, or a server with --api-url)",
		Long: `chat is a terminal REPL for the agents. By default it runs in-process on the
local settings and store (no server needed); with --api-url it talks to a
server, with --token, $` + tokenEnv + `, a saved login, or a login prompt.

When stdin or stdout is not a terminal, or with --message or --json, it runs
one turn and prints the reply:

  echo "question" | agentplane chat --agent triage

REPL commands: /agent <key>, /agents, /tools, /new, /conversations,
/resume <id|N>, /history, /help, /quit.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runChat(c, g, f)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.agent, "agent", "triage", "agent to ask: triage, code_assistant or data_analyst")
	fl.StringVar(&f.conversation, "conversation", "", "continue this conversation (default: a new one)")
	fl.StringVar(&f.message, "message", "", "send this one message, print the reply and exit (default: stdin when it is not a terminal)")
	fl.BoolVar(&f.noStream, "no-stream", false, "use the blocking chat path")
	fl.BoolVar(&f.json, "json", false, "print the stream's JSON frames one per line (with --no-stream: the reply object)")
	fl.StringVar(&f.tenant, "tenant", "", `in-process: the tenant (uuid or slug; default the "default" tenant, or the only one)`)
	fl.StringVar(&f.user, "user", "", "in-process: the user writing (uuid or email; default none: the tenant's conversations)")
	fl.BoolVar(&f.migrate, "migrate", false, "in-process on Postgres: apply pending migrations first (SQLite is always migrated)")
	fl.StringVar(&f.apiURL, "api-url", "", "talk to the server at this URL instead of running in-process")
	fl.StringVar(&f.token, "token", "", "remote: access token (also $"+tokenEnv+"; default a saved login or a login prompt)")
	return c
}

// runChat picks the mode: the REPL on a terminal, else one piped turn.
func runChat(c *cobra.Command, g *globals, f chatFlags) error {
	ctx := c.Context()
	stdin, stdout, stderr := c.InOrStdin(), c.OutOrStdout(), c.ErrOrStderr()
	oneShot := c.Flags().Changed("message") || f.json || !isTerminal(stdin) || !isTerminal(stdout)
	if oneShot && !c.Flags().Changed("message") {
		if isTerminal(stdin) {
			return errors.New("no message: pass --message, or pipe the text on stdin")
		}
		b, err := io.ReadAll(stdin)
		if err != nil {
			return fmt.Errorf("read stdin: %w", err)
		}
		f.message = string(b)
	}

	var backend chatui.Backend
	var target string
	if f.apiURL != "" {
		if f.tenant != "" || f.user != "" {
			return errors.New("--tenant and --user apply to in-process chat; with --api-url the token says who you are")
		}
		r, err := remoteBackend(ctx, g, f, stdin, stderr)
		if err != nil {
			return err
		}
		backend, target = r, f.apiURL
	} else {
		logTo := io.Discard
		if oneShot {
			logTo = stderr
		}
		l, closeFn, err := localBackend(c, g, f, logTo)
		if err != nil {
			return err
		}
		defer closeFn()
		backend, target = l, "in-process"
	}

	if oneShot {
		return chatui.Pipe(ctx, backend, chatui.PipeOptions{
			Turn:     chat.Turn{Message: f.message, ConversationID: f.conversation, AgentType: f.agent},
			NoStream: f.noStream, JSON: f.json,
		}, stdout, stderr)
	}
	m := chatui.New(ctx, backend, chatui.Options{Agent: f.agent, ConversationID: f.conversation,
		NoStream: f.noStream, Target: target})
	final, err := tea.NewProgram(m, tea.WithContext(ctx), tea.WithInput(stdin), tea.WithOutput(stdout)).Run()
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		return err
	}
	if fm, ok := final.(chatui.Model); ok && fm.ConversationID() != "" {
		fmt.Fprintf(stdout, "Conversation %s: continue it with `agentplane chat --conversation %s`\n",
			fm.ConversationID(), fm.ConversationID())
	}
	return nil
}

// localBackend opens the store as serve does and resolves who is writing.
func localBackend(c *cobra.Command, g *globals, f chatFlags, logTo io.Writer) (chatui.Local, func(), error) {
	ctx := c.Context()
	s, err := g.load(c, loadOptions{})
	if err != nil {
		return chatui.Local{}, nil, err
	}
	if c.Flags().Changed("migrate") {
		s.AutoRunMigrations = f.migrate
	}
	log := chatLogger(s, logTo)
	st, err := openStore(ctx, s, g.env.dir, log)
	if err != nil {
		return chatui.Local{}, nil, err
	}
	closeFn := func() { st.Close() }
	fail := func(err error) (chatui.Local, func(), error) { closeFn(); return chatui.Local{}, nil, err }
	if err := migrateAtStart(ctx, s, st, log); err != nil {
		return fail(err)
	}
	// the turn log serves resumes over HTTP only, so an in-process Redis
	// does, whatever REDIS_URL says
	rd, err := store.OpenRedis(ctx, "", s.DatabaseHealthTimeout)
	if err != nil {
		return fail(err)
	}
	closeFn = func() { rd.Close(); st.Close() }
	svc, err := chat.New(chat.Deps{Store: st, OpenAIAPIKey: s.OpenAIAPIKey, OpenAIBaseURL: s.OpenAIBaseURL,
		TavilyAPIKey: s.TavilyAPIKey, TavilyBaseURL: s.TavilyBaseURL, Log: log, TurnLog: store.NewTurnLog(rd, "")})
	if err != nil {
		return fail(err)
	}
	sc, err := chatui.ResolveScope(ctx, st, f.tenant, f.user)
	if err != nil {
		return fail(err)
	}
	return chatui.Local{Service: svc, Scope: sc, Log: log}, closeFn, nil
}

// chatLogger logs warnings and errors only: chat's output is the reply.
func chatLogger(s config.Settings, w io.Writer) *slog.Logger {
	if s.LoggingSink == "none" || w == io.Discard {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: max(s.SlogLevel(), slog.LevelWarn)}))
}

// remoteBackend finds a token: --token, $AGENTPLANE_TOKEN, the saved login
// of that server, or (on a terminal only) a login prompt whose session is
// saved for next time.
func remoteBackend(ctx context.Context, g *globals, f chatFlags, stdin io.Reader, stderr io.Writer) (*chatui.Remote, error) {
	base, err := chatui.BaseURL(f.apiURL)
	if err != nil {
		return nil, err
	}
	cfg := chatui.RemoteConfig{BaseURL: base}
	if f.token == "" {
		f.token, _ = g.env.lookup(tokenEnv)
	}
	if f.token != "" {
		cfg.Session.AccessToken = f.token
		return chatui.NewRemote(cfg)
	}
	profiles, err := chatProfiles(g)
	if err != nil {
		return nil, err
	}
	pr, ok, err := profiles.Get(base)
	if err != nil {
		return nil, err
	}
	if !ok {
		if !isTerminal(stdin) {
			return nil, fmt.Errorf("no token for %s: pass --token (or set %s), or run `agentplane chat --api-url %s` in a terminal once to log in", base, tokenEnv, base)
		}
		if pr, err = promptLogin(ctx, base, stdin, stderr); err != nil {
			return nil, err
		}
		if err := profiles.Put(base, pr); err != nil {
			return nil, err
		}
		fmt.Fprintf(stderr, "[INFO] [auth] Logged in as %s; saved in %s\n", pr.Email, profiles.Path)
	}
	cfg.Session = pr.Session
	email := pr.Email
	cfg.OnRefresh = func(s chatui.Session) { _ = profiles.Put(base, chatui.Profile{Email: email, Session: s}) }
	return chatui.NewRemote(cfg)
}

// chatProfiles is the saved-logins file: $AGENTPLANE_CONFIG_DIR or the
// user's config directory, then agentplane/profiles.json.
func chatProfiles(g *globals) (chatui.Profiles, error) {
	dir, ok := g.env.lookup("AGENTPLANE_CONFIG_DIR")
	if !ok || dir == "" {
		base, err := os.UserConfigDir()
		if err != nil {
			return chatui.Profiles{}, fmt.Errorf("no config directory for saved logins (%w): pass --token or set AGENTPLANE_CONFIG_DIR", err)
		}
		dir = filepath.Join(base, "agentplane")
	}
	return chatui.Profiles{Path: filepath.Join(dir, "profiles.json")}, nil
}

// promptLogin asks for email and password and logs in (spec: http-api.md §2.2).
func promptLogin(ctx context.Context, base string, stdin io.Reader, stderr io.Writer) (chatui.Profile, error) {
	var email, password string
	form := huh.NewForm(huh.NewGroup(
		huh.NewInput().Title("Email for "+base).Value(&email).Validate(required("an email")),
		huh.NewInput().Title("Password").EchoMode(huh.EchoModePassword).Value(&password).Validate(required("a password")),
	)).WithInput(stdin).WithOutput(stderr)
	if err := form.RunWithContext(ctx); err != nil {
		return chatui.Profile{}, fmt.Errorf("login: %w", err)
	}
	s, err := chatui.Login(ctx, &http.Client{}, base, strings.TrimSpace(email), password)
	if err != nil {
		return chatui.Profile{}, fmt.Errorf("login: %w", err)
	}
	return chatui.Profile{Email: strings.TrimSpace(email), Session: s}, nil
}

func required(what string) func(string) error {
	return func(s string) error {
		if strings.TrimSpace(s) == "" {
			return errors.New("enter " + what)
		}
		return nil
	}
}

// isTerminal reports whether v is a terminal file.
func isTerminal(v any) bool {
	f, ok := v.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(f.Fd())
}
