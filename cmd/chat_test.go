package cmd

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"agentplane/server/chat/openaitest"
	"agentplane/store"
)

// seedTenant migrates the SQLite database of vars and adds a tenant.
func seedTenant(t *testing.T, dir string, vars map[string]string, slug string) {
	t.Helper()
	st, err := store.Open(t.Context(), store.Options{URL: vars["DATABASE_URL"], Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m, err := st.Migrator()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := st.Tenants().Create(t.Context(), store.Tenant{ID: uuid.NewString(), Slug: slug, Name: slug, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

// TestChatPipeBinary runs the built binary as a shell pipe would:
// `echo "question" | agentplane chat --agent triage` prints the reply.
func TestChatPipeBinary(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "agentplane")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ai := openaitest.New(t)
	vars := with(baseVars(dir), "OPENAI_API_KEY", ai.Key(), "OPENAI_BASE_URL", ai.URL())
	seedTenant(t, dir, vars, "default")
	environ := []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	for k, v := range vars {
		environ = append(environ, k+"="+v)
	}
	chatRun := func(stdin string, args ...string) result {
		c := exec.CommandContext(t.Context(), bin, append([]string{"chat", "--skip-env", "--quiet-env"}, args...)...)
		c.Dir, c.Env, c.Stdin = dir, environ, strings.NewReader(stdin)
		var out, errb bytes.Buffer
		c.Stdout, c.Stderr = &out, &errb
		err := c.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return result{code, out.String(), errb.String()}
	}

	ai.Enqueue(openaitest.Text("SQLite is an embedded database.", openaitest.Usage{InputTokens: 10, OutputTokens: 6}))
	r := chatRun("what is sqlite?\n", "--agent", "triage")
	if r.code != 0 || r.stdout != "SQLite is an embedded database.\n" {
		t.Fatalf("exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
	}
	if !strings.HasPrefix(r.stderr, "[INFO] [chat] conversation ") || !strings.Contains(r.stderr, " · agent triage") {
		t.Errorf("stderr %q", r.stderr)
	}
	convID := strings.Fields(strings.TrimPrefix(r.stderr, "[INFO] [chat] conversation "))[0]

	// --json prints the stream's frames, one JSON object a line
	ai.Enqueue(openaitest.Text("It keeps one file.", openaitest.Usage{InputTokens: 20, OutputTokens: 5}))
	r = chatRun("", "--message", "and?", "--conversation", convID, "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	var text strings.Builder
	for i, line := range lines {
		var f struct {
			Chunk          string `json:"chunk"`
			ConversationID string `json:"conversation_id"`
			IsComplete     bool   `json:"is_complete"`
		}
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("line %d %q: %v", i, line, err)
		}
		if f.ConversationID != convID || f.IsComplete != (i == len(lines)-1) {
			t.Errorf("frame %d %q: want conversation %s, complete only last", i, line, convID)
		}
		text.WriteString(f.Chunk)
	}
	if text.String() != "It keeps one file." {
		t.Errorf("chunks make %q", text.String())
	}

	// a one-shot failure prints [ERROR] and exits 1
	noKey := environ[:0:0]
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "OPENAI_API_KEY=") {
			noKey = append(noKey, kv)
		}
	}
	c := exec.CommandContext(t.Context(), bin, "chat", "--skip-env", "--quiet-env", "--message", "hi")
	c.Dir, c.Env = dir, noKey
	out, err := c.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 ||
		!strings.Contains(string(out), "[ERROR] Error processing chat request: the model provider is not configured: set OPENAI_API_KEY") {
		t.Errorf("without a key: %v\n%s", err, out)
	}
}

func TestChatErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base := with(baseVars(dir), "AGENTPLANE_CONFIG_DIR", filepath.Join(dir, "config"))
	tests := []struct {
		name string
		vars map[string]string
		args []string
		want string
	}{
		{"unknown tenant", base, []string{"chat", "--tenant", "nope", "--message", "hi"},
			`[ERROR] no tenant "nope": pass --tenant with an existing tenant's id or slug` + "\n"},
		{"remote without a token", base, []string{"chat", "--api-url", "http://127.0.0.1:9", "--message", "hi"},
			"[ERROR] no token for http://127.0.0.1:9: pass --token (or set AGENTPLANE_TOKEN), or run `agentplane chat --api-url http://127.0.0.1:9` in a terminal once to log in\n"},
		{"tenant with api-url", base, []string{"chat", "--api-url", "http://127.0.0.1:9", "--tenant", "acme", "--message", "hi"},
			"[ERROR] --tenant and --user apply to in-process chat; with --api-url the token says who you are\n"},
		{"bad api-url", base, []string{"chat", "--api-url", "127.0.0.1:9", "--message", "hi"},
			`[ERROR] --api-url "127.0.0.1:9": want an http:// or https:// URL such as http://127.0.0.1:8000` + "\n"},
		{"unreachable server", with(base, "AGENTPLANE_TOKEN", "tok"), []string{"chat", "--api-url", "http://127.0.0.1:9", "--message", "hi"},
			"[ERROR] POST http://127.0.0.1:9/api/v1/chat/stream: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCmd(t, t.Context(), dir, tc.vars, tc.args...)
			if r.code != 1 || !strings.HasPrefix(r.stderr, tc.want) || r.stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want 1 and %q", r.code, r.stdout, r.stderr, tc.want)
			}
		})
	}
}

func TestChatHelpReadsNoSettings(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	lookup := func(k string) (string, bool) {
		t.Errorf("chat --help read %s from the environment", k)
		return "", false
	}
	if code := run(t.Context(), []string{"chat", "--help"}, env{lookup: lookup, dir: t.TempDir()}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, flag := range []string{"--agent", "--conversation", "--tenant", "--user", "--message", "--no-stream", "--json", "--api-url", "--token"} {
		if !strings.Contains(out.String(), flag) {
			t.Errorf("help does not list %s", flag)
		}
	}
}

// TestChatAgainstServe: remote mode streams a turn from a real server over
// SSE (resumable) and prints it as in-process mode does.
func TestChatAgainstServe(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ai := openaitest.New(t)
	vars := with(baseVars(dir), "OPENAI_API_KEY", ai.Key(), "OPENAI_BASE_URL", ai.URL(),
		"REQUIRE_EMAIL_VERIFICATION", "false", "AGENTPLANE_CONFIG_DIR", filepath.Join(dir, "config"))
	base, stop := startServe(t, dir, vars)
	defer stop()
	body := `{"email":"dev@example.com","password":"correct-Horse-battery-9","tenant_name":"Dev","display_name":"Dev","accept_terms":true}`
	resp, err := http.Post(base+"/api/v1/auth/register", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var session struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&session); err != nil || session.AccessToken == "" {
		t.Fatalf("register: %d %v", resp.StatusCode, err)
	}

	ai.Enqueue(openaitest.Text("Hello from the server.", openaitest.Usage{InputTokens: 5, OutputTokens: 4}))
	r := runCmd(t, t.Context(), dir, with(vars, "AGENTPLANE_TOKEN", session.AccessToken),
		"chat", "--api-url", base, "--message", "hi")
	if r.code != 0 || r.stdout != "Hello from the server.\n" || !strings.Contains(r.stderr, " · agent triage") {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	ai.Enqueue(openaitest.Text("Blocking works too.", openaitest.Usage{InputTokens: 5, OutputTokens: 4}))
	r = runCmd(t, t.Context(), dir, vars, "chat", "--api-url", base, "--token", session.AccessToken, "--no-stream", "--message", "and?")
	if r.code != 0 || r.stdout != "Blocking works too.\n" {
		t.Fatalf("no-stream: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	r = runCmd(t, t.Context(), dir, vars, "chat", "--api-url", base, "--token", "not-a-token", "--message", "hi")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "[ERROR] ") || !strings.Contains(r.stderr, "(HTTP 401)") {
		t.Errorf("bad token: exit %d, stderr %q", r.code, r.stderr)
	}
}
