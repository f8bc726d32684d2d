package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"agentplane/store/storetest"
)

// result is one run of the command line.
type result struct {
	code           int
	stdout, stderr string
}

// runCmd runs args with only vars as the environment, in dir.
func runCmd(t testing.TB, ctx context.Context, dir string, vars map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	code := run(ctx, append(args, "--skip-env", "--quiet-env"), env{lookup: lookup, dir: dir}, strings.NewReader(""), &out, &errb)
	return result{code, out.String(), errb.String()}
}

// baseVars point every file the commands touch into dir.
func baseVars(dir string) map[string]string {
	return map[string]string{
		"DATABASE_URL":          "sqlite:///" + filepath.Join(dir, "test.db"),
		"AUTH_KEY_STORAGE_PATH": filepath.Join(dir, "keys", "keyset.json"),
	}
}

func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func TestHelpReadsNoSettings(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	lookup := func(k string) (string, bool) {
		t.Errorf("--help read %s from the environment", k)
		return "", false
	}
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}, {"keys"}, {"migrate", "status", "--help"}, {}} {
		if code := run(t.Context(), args, env{lookup: lookup, dir: t.TempDir()}, nil, &out, &errb); code != 0 {
			t.Errorf("%v: exit %d, stderr %s", args, code, errb.String())
		}
	}
	if !strings.Contains(out.String(), "serve") {
		t.Errorf("help does not list serve:\n%s", out.String())
	}
}

func TestBadInputGivesOneLineError(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.json")
	if err := os.WriteFile(corrupt, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := baseVars(dir)
	tests := []struct {
		name string
		vars map[string]string
		args []string
		want []string // substrings of the error line
	}{
		{"malformed port", with(base, "PORT", "80a"), []string{"serve"}, []string{"PORT", `"80a"`}},
		{"malformed bool", with(base, "DEBUG", "maybe"), []string{"migrate", "status"}, []string{"DEBUG"}},
		{"unsupported database url", with(base, "DATABASE_URL", "mysql://db/app"), []string{"migrate"}, []string{"DATABASE_URL"}},
		{"unreachable database", with(base, "DATABASE_URL", "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"),
			[]string{"migrate", "status"}, []string{"unreachable", "check DATABASE_URL"}},
		{"corrupt keyset", with(base, "AUTH_KEY_STORAGE_PATH", corrupt), []string{"keys", "jwks"}, []string{"Failed to read keyset file"}},
		{"unknown migration version", base, []string{"migrate", "up", "--to", "999"}, []string{"unknown migration version", "999"}},
		{"vault backend without vault", with(base, "AUTH_KEY_STORAGE_BACKEND", "secret-manager"), []string{"keys", "rotate"},
			[]string{"VAULT"}},
		{"production with defaults", with(base, "ENVIRONMENT", "production"), []string{"serve"},
			[]string{"Production environment cannot start with default secrets", "SECRET_KEY"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			r := runCmd(t, ctx, t.TempDir(), tt.vars, tt.args...)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1; stderr:\n%s", r.code, r.stderr)
			}
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "[ERROR] ") {
				t.Fatalf("stderr does not end in an [ERROR] line:\n%s", r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("error does not mention %q:\n%s", w, r.stderr)
				}
			}
			if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
				t.Errorf("stack trace in output:\n%s", r.stderr)
			}
		})
	}
}

func TestKeysRotateAndJWKS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	vars := baseVars(dir)
	type rotated struct {
		KID            string            `json:"kid"`
		PublicJWK      map[string]string `json:"public_jwk"`
		StorageBackend string            `json:"storage_backend"`
		Retired        []string          `json:"retired"`
	}
	rotate := func(args ...string) rotated {
		t.Helper()
		r := runCmd(t, t.Context(), dir, vars, append([]string{"keys", "rotate"}, args...)...)
		if r.code != 0 {
			t.Fatalf("keys rotate %v: exit %d: %s", args, r.code, r.stderr)
		}
		if !strings.Contains(r.stderr, "[SUCCESS] [auth]") {
			t.Errorf("no success line on stderr: %q", r.stderr)
		}
		var out rotated
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
		}
		return out
	}
	jwksKIDs := func() []string {
		t.Helper()
		r := runCmd(t, t.Context(), dir, vars, "keys", "jwks")
		if r.code != 0 {
			t.Fatalf("keys jwks: %s", r.stderr)
		}
		var doc struct {
			Keys []struct{ KID string } `json:"keys"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Fatalf("jwks is not JSON: %v", err)
		}
		var kids []string
		for _, k := range doc.Keys {
			kids = append(kids, k.KID)
		}
		return kids
	}
	if got := jwksKIDs(); len(got) != 0 {
		t.Fatalf("empty keyset prints keys %v", got)
	}
	first := rotate("--kid", "first")
	if first.KID != "first" || first.StorageBackend != "file" || first.PublicJWK["kty"] != "OKP" || len(first.Retired) != 0 {
		t.Fatalf("first rotation = %+v", first)
	}
	second := rotate()
	if second.KID == first.KID || !strings.HasPrefix(second.KID, "ed25519-") || fmt.Sprint(second.Retired) != "[first]" {
		t.Fatalf("second rotation = %+v, want a new kid and first retired", second)
	}
	if got := fmt.Sprint(jwksKIDs()); got != "["+second.KID+" first]" {
		t.Errorf("jwks kids = %s, want active then retired", got)
	}
	staged := rotate("--stage-next")
	if got := fmt.Sprint(jwksKIDs()); got != "["+second.KID+" "+staged.KID+" first]" {
		t.Errorf("jwks kids after --stage-next = %s", got)
	}
	promoted := rotate("--no-grace")
	if promoted.KID != staged.KID || fmt.Sprint(promoted.Retired) != "[first]" {
		t.Errorf("rotation after --stage-next = %+v, want %s promoted and %s discarded", promoted, staged.KID, second.KID)
	}
	info, err := os.Stat(vars["AUTH_KEY_STORAGE_PATH"])
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("keyset file mode = %v (%v), want 0600", info.Mode().Perm(), err)
	}
}

func TestMigrateCommands(t *testing.T) {
	t.Parallel()
	engines := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:///" + filepath.Join(t.TempDir(), "m.db") },
		"postgres": func(t *testing.T) string { return storetest.PostgresURL(t) },
	}
	for name, url := range engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			vars := with(baseVars(dir), "DATABASE_URL", url(t))
			step := func(want string, args ...string) string {
				t.Helper()
				r := runCmd(t, t.Context(), dir, vars, args...)
				if r.code != 0 {
					t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
				}
				if !strings.Contains(r.stdout, want) {
					t.Fatalf("%v: stdout lacks %q:\n%s", args, want, r.stdout)
				}
				return r.stdout
			}
			step("current: 0", "migrate", "version")
			step("pending", "migrate", "status")
			out := step("[SUCCESS] [migrate] applied 1 ", "migrate")
			if strings.Contains(out, "postgres://") && strings.Contains(out, "@") {
				t.Errorf("migrate printed a database URL: %s", out)
			}
			step("Schema is up to date.", "migrate", "up")
			latest := strings.Fields(strings.SplitN(step("latest:", "migrate", "version"), "latest: ", 2)[1])[0]
			step("current: "+latest, "migrate", "version")
			if status := step("applied", "migrate", "status"); strings.Contains(status, "pending") {
				t.Errorf("status after up still lists pending migrations:\n%s", status)
			}
			step("rolled back", "migrate", "down")
			step("rolled back 1 ", "migrate", "down", "--all")
			step("current: 0", "migrate", "version")
			step("Nothing to roll back.", "migrate", "down")
		})
	}
}

// freePort asks the kernel for a port that is free now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startServe runs serve in dir and waits until /health/ready answers 200.
func startServe(t testing.TB, dir string, vars map[string]string) (base string, stop func() result) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	port := freePort(t)
	done := make(chan result, 1)
	go func() { done <- runCmd(t, ctx, dir, vars, "serve", "--port", fmt.Sprint(port)) }()
	base = fmt.Sprintf("http://127.0.0.1:%d", port)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case r := <-done:
			cancel()
			t.Fatalf("serve exited with %d before it was ready:\n%s%s", r.code, r.stderr, r.stdout)
		default:
		}
		resp, err := client.Get(base + "/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		time.Sleep(5 * time.Millisecond) // polling a real server; no clock to fake
	}
	return base, func() result { cancel(); return <-done }
}

func TestServeStartsAndStopsCleanly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base, stop := startServe(t, dir, baseVars(dir))
	resp, err := http.Get(base + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Keys []map[string]any }
	json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if len(doc.Keys) != 1 {
		t.Errorf("first start published %d keys, want the 1 generated", len(doc.Keys))
	}
	r := stop()
	if r.code != 0 {
		t.Fatalf("serve exit %d after shutdown:\n%s", r.code, r.stderr)
	}
	for _, want := range []string{`"msg":"agentplane ready"`, `"msg":"agentplane stopped"`, "in-process Redis"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("log lacks %s:\n%s", want, r.stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "var", "dev-secrets.env")); err != nil {
		t.Errorf("development secrets not generated under var/: %v", err)
	}
}

// BenchmarkServeColdStart measures serve from start to the first 200 of
// /health/ready on a fresh SQLite database (migrations included), with the
// keyset generated beforehand, as the issue asks.
func BenchmarkServeColdStart(b *testing.B) {
	keyDir := b.TempDir()
	vars := baseVars(keyDir)
	if r := runCmd(b, context.Background(), keyDir, vars, "keys", "rotate"); r.code != 0 {
		b.Fatal(r.stderr)
	}
	for b.Loop() {
		dir := b.TempDir()
		v := with(vars, "DATABASE_URL", "sqlite:///"+filepath.Join(dir, "cold.db"))
		_, stop := startServe(b, dir, v)
		b.StopTimer()
		if r := stop(); r.code != 0 {
			b.Fatal(r.stderr)
		}
		b.StartTimer()
	}
}
