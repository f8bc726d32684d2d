// Package benchserver runs `agentplane serve` as a child process for the load
// tools under bench/: a fresh temporary directory (SQLite under it, or a fresh
// Postgres database dropped afterwards), a free port, readiness, and the
// child's CPU time and resident memory read from /proc (Linux).
package benchserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// clockTicks is sysconf(_SC_CLK_TCK), 100 on every Linux this runs on; /proc
// reports utime and stime in these ticks.
const clockTicks = 100

// Options say which server to start.
type Options struct {
	Bin      string   // agentplane binary; "" builds the module in the working directory
	DB       string   // "sqlite" (a file in the temp dir) or "postgres" (a fresh database on PG)
	PG       string   // Postgres server URL used to create and drop the database
	Redis    string   // REDIS_URL ("" is the child's in-process miniredis)
	LogLevel string   // LOG_LEVEL, "" for the default
	Env      []string // more KEY=value settings for the child
	Keep     bool     // keep the temp dir (its path is printed)
	Name     string   // the tool's name, for temp dirs and database names
}

// Server is the running child.
type Server struct {
	Base string // http://127.0.0.1:port
	Dir  string // the temp dir (server.log, keys, SQLite file)
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	drop func() error
}

// Start prepares the temp dir and database, starts the child and waits until
// /health/ready answers 200.
func Start(ctx context.Context, o Options) (srv *Server, err error) {
	if o.DB != "sqlite" && o.DB != "postgres" {
		return nil, fmt.Errorf("-db %q: use sqlite or postgres", o.DB)
	}
	dir, err := os.MkdirTemp("", o.Name+"-")
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, log: filepath.Join(dir, "server.log"), done: make(chan struct{}), drop: func() error { return nil }}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.cleanup(o.Keep))
		}
	}()
	if o.Bin == "" {
		if o.Bin, err = build(ctx, dir); err != nil {
			return nil, err
		}
	}
	dbURL := "sqlite:///" + filepath.Join(dir, "agentplane.db")
	if o.DB == "postgres" {
		if dbURL, s.drop, err = createDatabase(ctx, o.PG, o.Name); err != nil {
			return nil, err
		}
	}
	if err := s.start(o, dbURL); err != nil {
		return nil, err
	}
	if err := s.waitReady(ctx, 90*time.Second); err != nil {
		return nil, errors.Join(err, s.stop())
	}
	return s, nil
}

// Stop interrupts the child, waits for it (killing it after 20 s) and
// removes the temp dir and database.
func (s *Server) Stop(keep bool) error {
	return errors.Join(s.stop(), s.cleanup(keep))
}

// PID is the child's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

func (s *Server) cleanup(keep bool) error {
	err := s.drop()
	if keep {
		fmt.Println("kept", s.Dir)
		return err
	}
	return errors.Join(err, os.RemoveAll(s.Dir))
}

// build compiles the module in the working directory into dir.
func build(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "agentplane")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "agentplane")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build agentplane (run from the module, or pass -bin): %w", err)
	}
	return bin, nil
}

// createDatabase creates a fresh database on the server at admin and returns
// its URL and a func that drops it.
func createDatabase(ctx context.Context, admin, tool string) (string, func() error, error) {
	u, err := url.Parse(admin)
	if err != nil {
		return "", nil, fmt.Errorf("-pg: %w", err)
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", nil, fmt.Errorf("connect to -pg %s: %w", u.Redacted(), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	name := tool + "_" + RandomHex(6)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	u.Path = "/" + name
	drop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		return nil
	}
	return u.String(), drop, nil
}

func (s *Server) start(o Options, dbURL string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	logFile, err := os.Create(s.log)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child holds its own descriptor
	env := append(os.Environ(),
		"DATABASE_URL="+dbURL,
		"REDIS_URL="+o.Redis,
		"AUTO_RUN_MIGRATIONS=true",
		"AUTH_KEY_STORAGE_PATH="+filepath.Join(s.Dir, "keys", "keyset.json"),
		"ALLOWED_HOSTS=127.0.0.1,localhost",
		"ALLOW_PUBLIC_SIGNUP=true",
		"SIGNUP_RATE_LIMIT_PER_HOUR=0",
		"AUTH_IP_LOCKOUT_THRESHOLD=1000000",
		"AUTH_LOCKOUT_THRESHOLD=1000000",
	)
	if o.LogLevel != "" {
		env = append(env, "LOG_LEVEL="+o.LogLevel)
	}
	env = append(env, o.Env...)
	cmd := exec.Command(o.Bin, "serve", "--host", "127.0.0.1", "--port", strconv.Itoa(port))
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = s.Dir, env, logFile, logFile
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s serve: %w", o.Bin, err)
	}
	s.cmd, s.Base = cmd, "http://127.0.0.1:"+strconv.Itoa(port)
	go func() { _ = cmd.Wait(); close(s.done) }()
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	c := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := c.Get(s.Base + "/health/ready")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				c.CloseIdleConnections()
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("the server exited before it was ready:\n%s", s.LogTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server was not ready after %s:\n%s", limit, s.LogTail())
		}
	}
}

// stop interrupts the server and waits for it, killing it after 20 s.
func (s *Server) stop() error {
	if s.cmd == nil {
		return nil
	}
	select {
	case <-s.done:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
		return nil
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		return errors.New("the server did not stop within 20 s of SIGINT; killed it")
	}
}

// LogTail is the last 20 lines the child logged.
func (s *Server) LogTail() string {
	b, _ := os.ReadFile(s.log)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}

// CPUSeconds is the child's user+system CPU time so far.
func (s *Server) CPUSeconds() (float64, error) { return CPUSecondsOf(s.PID()) }

// CPUSecondsOf is process pid's user+system CPU time so far.
func CPUSecondsOf(pid int) (float64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; the fields after it start with state (field 3).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("unexpected /proc/<pid>/stat format")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("unexpected /proc/<pid>/stat format")
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseUint(f[12], 10, 64) // field 15
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return float64(utime+stime) / clockTicks, nil
}

// RSS is the child's resident set size in bytes (VmRSS).
func (s *Server) RSS() (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(s.PID()) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmRSS in /proc/<pid>/status")
}

// Client is an HTTP client keeping up to conns connections alive.
func Client(conns int) *http.Client {
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			MaxConnsPerHost:     conns,
			MaxIdleConnsPerHost: conns,
			MaxIdleConns:        conns,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
	}
}

// Post sends a JSON body and decodes a JSON answer into out when the status
// is want.
func Post(ctx context.Context, c *http.Client, u string, body, out any, want int) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "agentplane-bench/1")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("POST %s: status %d: %s", u, resp.StatusCode, bytes.TrimSpace(msg))
	}
	if out != nil {
		err = json.NewDecoder(resp.Body).Decode(out)
	}
	_, _ = io.Copy(io.Discard, resp.Body) // drain so the connection is reused
	return err
}

// Session is the token pair of a signup or login.
type Session struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// Register signs up one user with its own tenant and returns its session.
func Register(ctx context.Context, c *http.Client, base, email, password, tenant string) (Session, error) {
	var s Session
	body := map[string]any{"email": email, "password": password, "tenant_name": tenant, "accept_terms": true}
	err := Post(ctx, c, base+"/api/v1/auth/register", body, &s, http.StatusCreated)
	if err == nil && (s.RefreshToken == "" || s.AccessToken == "") {
		err = errors.New("register: no tokens in the answer")
	}
	return s, err
}

// Percentile is the p-th percentile of sorted latencies (nearest rank); 0
// when there are none.
func Percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[min(max(i, 1), len(sorted))-1]
}

// RandomHex is n random bytes in hex.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
