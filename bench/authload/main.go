// Command authload measures the auth endpoints of a running `agentplane serve`
// from the outside: refresh-token rotation throughput (requests/s, latency and
// requests per CPU-second of the server process) and bcrypt-bound login
// throughput with the latency of /health measured alongside.
//
// It starts the server as a child process on a free port with a fresh
// temporary directory (SQLite under it, or a fresh Postgres database that is
// dropped afterwards), waits for /health/ready, runs one scenario and prints
// one line per run plus a summary:
//
//	go build -o /tmp/agentplane-bench . && go run ./bench/authload -bin /tmp/agentplane-bench -scenario refresh -conns 64
//	go run ./bench/authload -bin /tmp/agentplane-bench -scenario login -db postgres
//
// With -target-url it drives a server it did not start, for a comparison on
// the same machine: each worker POSTs its token to the URL (in a header with
// -target-header, else as {"refresh_token": …}) and goes on with the token
// the answer carries in -target-token-field; -target-tokens names a file of
// initial tokens, one a line, and -target-pid the process whose CPU time is
// counted. For example, a PocketBase auth record's refresh:
//
//	go run ./bench/authload -target-url http://127.0.0.1:8090/api/collections/users/auth-refresh \
//	    -target-tokens tokens.txt -target-header Authorization -target-token-field token -target-pid $PID
//
// Several -bin (comma-separated), or -bin with -target-url, are compared
// interleaved: every server is started and warmed up first, then each run
// goes to each in turn, so that the machine's slow and fast spells fall on
// all of them alike, and the summary gives each one's rate relative to the
// first (the median of the per-run ratios). Each run starts with the next
// contender, and only once every server is idle and the kernel has written
// back the page cache the runs dirtied (agentplane rotates and records
// every refresh; PocketBase logs every request, in the background).
// Without both, two copies of one binary compared with PocketBase in a
// fixed order measured 13% apart; with them, 0.1%:
//
//	go run ./bench/authload -bin /tmp/agentplane-a,/tmp/agentplane-b -runs 6 -duration 5s
//	go run ./bench/authload -bin /tmp/agentplane-bench -target-url … -target-pid $PID -runs 6
//
// The server's CPU time is read from /proc/<pid>/stat, so CPU figures need
// Linux; the load generator shares the machine with the server, which the
// figures include.
package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"agentplane/bench/benchserver"
)

// maxShownErrors is how many failed requests a run prints in full.
const maxShownErrors = 5

type options struct {
	bin      string
	scenario string
	db       string
	pg       string
	redis    string
	conns    int
	duration time.Duration
	warmup   time.Duration
	runs     int
	settle   time.Duration
	interval time.Duration
	logLevel string
	keep     bool

	// a server started elsewhere (-target-url)
	targetURL, targetTokens, targetHeader, targetField string
	targetPID                                          int
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "", "agentplane binary to run, or several comma-separated to compare (default: go build the module in the working directory into a temp dir)")
	flag.StringVar(&o.scenario, "scenario", "refresh", "refresh or login")
	flag.StringVar(&o.db, "db", "sqlite", "sqlite (a file in the temp dir) or postgres (a fresh database on -pg, dropped after)")
	flag.StringVar(&o.pg, "pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "Postgres server URL used to create and drop the database with -db postgres")
	flag.StringVar(&o.redis, "redis", "", "REDIS_URL for the server (empty: its in-process miniredis)")
	flag.IntVar(&o.conns, "conns", 0, "concurrent workers and keep-alive connections (default 64 for refresh, 20 for login)")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each measured run")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load before the first run (0 for none)")
	flag.IntVar(&o.runs, "runs", 1, "measured runs against the same server")
	flag.DurationVar(&o.settle, "settle", time.Second, "before each measured run, wait for every server to be idle, write the page cache back (sync) and pause this long (0: none of it)")
	flag.DurationVar(&o.interval, "health-interval", 50*time.Millisecond, "login scenario: interval between GET /health probes")
	flag.StringVar(&o.logLevel, "log-level", "", "LOG_LEVEL for the server (empty: its default); the log goes to a file in the temp dir")
	flag.BoolVar(&o.keep, "keep", false, "keep the temp dir (server log, SQLite file) and print its path")
	flag.StringVar(&o.targetURL, "target-url", "", "refresh against this URL of a running server (with -bin: compared with agentplane)")
	flag.StringVar(&o.targetTokens, "target-tokens", "", "with -target-url: file of initial tokens, one a line (worker i takes line i mod n)")
	flag.StringVar(&o.targetHeader, "target-header", "", "with -target-url: send the token in this header with no body (empty: JSON body {\"refresh_token\": token})")
	flag.StringVar(&o.targetField, "target-token-field", "refresh_token", "with -target-url: JSON field of the answer holding the next token")
	flag.IntVar(&o.targetPID, "target-pid", 0, "with -target-url: pid of the server, for its CPU time (0: not counted)")
	flag.Parse()
	if o.conns == 0 {
		o.conns = 64
		if o.scenario == "login" {
			o.conns = 20
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	run := run
	if o.targetURL != "" || strings.Contains(o.bin, ",") {
		run = compare
	}
	err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "authload:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) (err error) {
	if err := o.check(); err != nil {
		return err
	}
	srv, stop, err := start(ctx, o, o.bin)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, stop()) }()
	if o.scenario == "refresh" {
		c, err := refreshContender(ctx, o, srv, fmt.Sprintf("refresh %s conns=%d", o.db, o.conns))
		if err != nil {
			return err
		}
		return runs(ctx, o, []contender{c}, "req", nil)
	}
	return loginScenario(ctx, o, srv)
}

func (o options) check() error {
	switch {
	case o.scenario != "refresh" && o.scenario != "login":
		return fmt.Errorf("-scenario %q: use refresh or login", o.scenario)
	case o.conns < 1 || o.runs < 1 || o.duration <= 0:
		return errors.New("-conns, -runs and -duration must be positive")
	}
	return nil
}

// start starts agentplane (bin, or a fresh build when empty) on a new
// database; stop stops it and drops the database.
func start(ctx context.Context, o options, bin string) (srv *server, stop func() error, err error) {
	bs, err := benchserver.Start(ctx, benchserver.Options{Bin: bin, DB: o.db, PG: o.pg, Redis: o.redis,
		LogLevel: o.logLevel, Keep: o.keep, Name: "authload"})
	if err != nil {
		return nil, nil, err
	}
	srv = &server{pid: bs.PID(), base: bs.Base}
	fmt.Printf("server pid %d at %s (%s, %s)\n", srv.pid, srv.base, o.db, cmp.Or(bin, "built here"))
	return srv, func() error { return bs.Stop(o.keep) }, nil
}

// compare runs the refresh scenario on every -bin and on -target-url,
// interleaved.
func compare(ctx context.Context, o options) (err error) {
	if err := o.check(); err != nil {
		return err
	}
	if o.scenario != "refresh" {
		return errors.New("several -bin or -target-url: only -scenario refresh")
	}
	var cs []contender
	if o.bin != "" || o.targetURL == "" {
		for bin := range strings.SplitSeq(o.bin, ",") {
			srv, stop, err := start(ctx, o, bin)
			if err != nil {
				return err
			}
			defer func() { err = errors.Join(err, stop()) }()
			c, err := refreshContender(ctx, o, srv, fmt.Sprintf("refresh %s conns=%d %s", o.db, o.conns, filepath.Base(cmp.Or(bin, "built"))))
			if err != nil {
				return err
			}
			cs = append(cs, c)
		}
	}
	if o.targetURL != "" {
		c, err := targetContender(o)
		if err != nil {
			return err
		}
		cs = append(cs, c)
	}
	return runs(ctx, o, cs, "req", nil)
}

// contender is one server under load and the work that loads it.
type contender struct {
	label string
	srv   *server
	work  workFunc
}

// targetContender refreshes the tokens of -target-tokens at -target-url.
func targetContender(o options) (contender, error) {
	b, err := os.ReadFile(o.targetTokens)
	if err != nil {
		return contender{}, fmt.Errorf("-target-tokens: %w", err)
	}
	tokens := strings.Fields(string(b))
	if len(tokens) == 0 {
		return contender{}, fmt.Errorf("-target-tokens %s: no tokens", o.targetTokens)
	}
	chains := make([]string, o.conns)
	for i := range chains {
		chains[i] = tokens[i%len(tokens)]
	}
	srv := &server{pid: o.targetPID, base: o.targetURL}
	fmt.Printf("target %s, pid %d, %d tokens\n", o.targetURL, o.targetPID, len(tokens))
	return contender{fmt.Sprintf("refresh target conns=%d", o.conns), srv, refreshWork(o, o.targetURL, o.targetHeader, cmp.Or(o.targetField, "refresh_token"), chains)}, nil
}

// server is the measured server: started here (cmd set) or elsewhere
// (-target-url); pid 0 means its CPU time is unknown.
type server struct {
	pid  int
	base string // http://127.0.0.1:port
}

// cpuSeconds is the server process's user+system CPU time so far.
func (s *server) cpuSeconds() (float64, error) {
	if s.pid == 0 {
		return 0, errors.New("server pid unknown")
	}
	return benchserver.CPUSecondsOf(s.pid)
}

type user struct {
	email, password string
	refresh         string // the latest refresh token of its one session
}

// register signs up n users, at most 8 at a time (bcrypt bounds the server anyway).
func register(ctx context.Context, base string, n int) ([]user, error) {
	id := benchserver.RandomHex(4)
	users := make([]user, n)
	c := benchserver.Client(8)
	defer c.CloseIdleConnections()
	errs := make([]error, n)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range users {
		users[i] = user{email: fmt.Sprintf("authload-%s-%d@example.com", id, i), password: "Quartz-Lantern-" + benchserver.RandomHex(8)}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			s, err := benchserver.Register(ctx, c, base, users[i].email, users[i].password, fmt.Sprintf("Authload %s %d", id, i))
			errs[i], users[i].refresh = err, s.RefreshToken
		})
	}
	wg.Wait()
	return users, errors.Join(errs...)
}

// result is one measured run.
type result struct {
	ok, errs int
	elapsed  time.Duration
	cpu      float64 // server CPU seconds, or < 0 when unknown
	lat      []time.Duration
	health   []time.Duration // login scenario only
	shown    []string
}

func (r result) perSecond() float64 { return float64(r.ok) / r.elapsed.Seconds() }

func (r result) perCPU() string {
	if r.cpu <= 0 {
		return "n/a"
	}
	return num(float64(r.ok) / r.cpu)
}

// errLog collects a run's errors, keeping the first few.
type errLog struct {
	mu    sync.Mutex
	n     int
	shown []string
}

func (e *errLog) add(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	if len(e.shown) < maxShownErrors {
		e.shown = append(e.shown, err.Error())
	}
}

// errStopped is the work of a worker that stopped in an earlier run: it
// counts neither as a request nor as an error.
var errStopped = errors.New("worker stopped")

// workFunc does one request on worker w: its latency, whether the worker
// goes on, and its error.
type workFunc func(ctx context.Context, w int) (lat time.Duration, more bool, err error)

// measure runs work on conns workers for d, between two readings of the
// server's CPU time. Requests in flight at the end are completed, never
// cancelled: a refresh cancelled after the server committed its rotation would
// leave the worker holding a revoked token.
func measure(ctx context.Context, srv *server, conns int, d time.Duration, work workFunc) result {
	lats := make([][]time.Duration, conns)
	var el errLog
	var ok atomic.Int64
	cpu0, cpuErr0 := srv.cpuSeconds()
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for w := range conns {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(end) {
				lat, more, err := work(ctx, w)
				switch {
				case err != nil && ctx.Err() != nil: // interrupted
				case errors.Is(err, errStopped):
				case err != nil:
					el.add(err)
				default:
					ok.Add(1)
					lats[w] = append(lats[w], lat)
				}
				if !more {
					return
				}
			}
		})
	}
	wg.Wait()
	r := result{ok: int(ok.Load()), errs: el.n, elapsed: time.Since(start), cpu: -1, shown: el.shown}
	if cpu1, err := srv.cpuSeconds(); err == nil && cpuErr0 == nil {
		r.cpu = cpu1 - cpu0
	}
	r.lat = slices.Concat(lats...)
	slices.Sort(r.lat)
	return r
}

// refreshContender registers a user per worker on srv, each then
// refreshing the chain of its one session.
func refreshContender(ctx context.Context, o options, srv *server, label string) (contender, error) {
	t0 := time.Now()
	users, err := register(ctx, srv.base, o.conns)
	if err != nil {
		return contender{}, err
	}
	fmt.Printf("registered %d users in %.1fs\n", len(users), time.Since(t0).Seconds())
	chains := make([]string, len(users))
	for i, u := range users {
		chains[i] = u.refresh
	}
	return contender{label, srv, refreshWork(o, srv.base+"/api/v1/auth/refresh", "", "refresh_token", chains)}, nil
}

// refreshWork refreshes chains[w] on worker w (the token in header, or in
// a JSON body when header is "") and keeps the token answered in field.
// A worker whose refresh failed stops: its chain's state is unknown then
// (rotated or not), and retrying could trip reuse detection.
func refreshWork(o options, u, header, field string, chains []string) workFunc {
	c := benchserver.Client(o.conns)
	dead := make([]bool, len(chains))
	return func(ctx context.Context, w int) (time.Duration, bool, error) {
		if dead[w] {
			return 0, false, errStopped
		}
		t := time.Now()
		next, err := refreshOnce(ctx, c, u, chains[w], header, field)
		lat := time.Since(t)
		if err != nil {
			if ctx.Err() == nil {
				dead[w] = true
				return 0, false, fmt.Errorf("worker %d: %w", w, err)
			}
			return 0, false, err
		}
		chains[w] = next
		return lat, true, nil
	}
}

// refreshOnce POSTs token (in header, or as a JSON body when header is "")
// and returns the answer's field.
func refreshOnce(ctx context.Context, c *http.Client, u, token, header, field string) (string, error) {
	var body io.Reader
	if header == "" {
		b, err := json.Marshal(map[string]string{"refresh_token": token})
		if err != nil {
			return "", err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, body)
	if err != nil {
		return "", err
	}
	if header != "" {
		req.Header.Set(header, token)
	} else {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "authload/1")
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return "", fmt.Errorf("POST %s: status %d: %s", u, resp.StatusCode, bytes.TrimSpace(msg))
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if next := stringField(b, field); next != "" {
		return next, nil
	}
	return "", fmt.Errorf("POST %s: no %q in the answer", u, field)
}

// stringField is the string value of a top-level field of the JSON object b:
// a plain scan first (tokens need no escapes; it keeps the load generator's
// own CPU low), decoding b only when that finds nothing plain.
func stringField(b []byte, field string) string {
	key := []byte(`"` + field + `":"`)
	if i := bytes.Index(b, key); i >= 0 && bytes.Count(b, key) == 1 {
		v := b[i+len(key):]
		if j := bytes.IndexByte(v, '"'); j > 0 && bytes.IndexByte(v[:j], '\\') < 0 {
			return string(v[:j])
		}
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return ""
	}
	next, _ := m[field].(string)
	return next
}

func loginScenario(ctx context.Context, o options, srv *server) error {
	users, err := register(ctx, srv.base, 1)
	if err != nil {
		return err
	}
	c := benchserver.Client(o.conns)
	defer c.CloseIdleConnections()
	u := srv.base + "/api/v1/auth/token"
	body := map[string]string{"email": users[0].email, "password": users[0].password}
	work := func(ctx context.Context, _ int) (time.Duration, bool, error) {
		t := time.Now()
		err := benchserver.Post(ctx, c, u, body, nil, http.StatusOK)
		return time.Since(t), true, err
	}
	label := fmt.Sprintf("login %s conns=%d", o.db, o.conns)
	return runs(ctx, o, []contender{{label, srv, work}}, "logins", func(ctx context.Context) []time.Duration {
		return probeHealth(ctx, srv.base, o.interval)
	})
}

// probeHealth GETs /health every interval on its own connection until ctx ends.
func probeHealth(ctx context.Context, base string, interval time.Duration) []time.Duration {
	c := benchserver.Client(1)
	defer c.CloseIdleConnections()
	var lats []time.Duration
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			slices.Sort(lats)
			return lats
		case <-tick.C:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/health", nil)
		if err != nil {
			continue
		}
		t := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			continue // only the end of the run cancels it
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			lats = append(lats, time.Since(t))
		}
	}
}

// runs warms every contender up, then does the measured runs, each run
// going to every contender in turn, printing a line for each and
// summaries; probe (login only) runs beside each measured run.
func runs(ctx context.Context, o options, cs []contender, unit string,
	probe func(context.Context) []time.Duration,
) error {
	if o.warmup > 0 {
		for _, c := range cs {
			r := measure(ctx, c.srv, o.conns, o.warmup, c.work)
			if r.errs > 0 {
				fmt.Printf("%s warm-up: %d errors, first: %s\n", c.label, r.errs, strings.Join(r.shown, "\n  "))
			}
		}
	}
	all := make([][]result, len(cs))
	for run := range o.runs {
		// Each run starts with the next contender, so that each follows
		// every other equally often: whatever settle does not catch of a
		// server's work after its run falls on all of them alike.
		for k := range cs {
			i := (run + k) % len(cs)
			c := cs[i]
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err := settle(ctx, o.settle, cs); err != nil {
				return err
			}
			var health []time.Duration
			pctx, pcancel := context.WithCancel(ctx)
			var pwg sync.WaitGroup
			if probe != nil {
				pwg.Go(func() { health = probe(pctx) })
			}
			r := measure(ctx, c.srv, o.conns, o.duration, c.work)
			pcancel()
			pwg.Wait()
			r.health = health
			all[i] = append(all[i], r)
			printRun(c.label, unit, o.duration, r)
		}
	}
	for i, c := range cs {
		printSummary(c.label, unit, all[i])
	}
	for i, c := range cs[1:] {
		fmt.Printf("%s: %.3f × %s (median of the per-run ratios of req/s)\n", c.label, medianRatio(all[i+1], all[0]), cs[0].label)
	}
	return nil
}

// settle waits, before a run, until every server is idle (at most a
// minute): a server may go on working after its run (PocketBase writes its
// request log in the background and caught up for some 15 s after a 30 s
// run, at half a core), which the next run would otherwise pay for. It
// then writes the page cache back (sync) and pauses d.
func settle(ctx context.Context, d time.Duration, cs []contender) error {
	if d <= 0 {
		return nil
	}
	deadline := time.Now().Add(time.Minute)
	for busy := true; busy && time.Now().Before(deadline); {
		before := cpuOf(cs)
		if err := sleep(ctx, idleProbe); err != nil {
			return err
		}
		busy = cpuOf(cs)-before > idleCPU*idleProbe.Seconds()
	}
	syscall.Sync()
	return sleep(ctx, d)
}

// sleep waits d, or until ctx ends (its error).
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// A server is idle when it used less than idleCPU of a core over idleProbe.
const (
	idleProbe = 500 * time.Millisecond
	idleCPU   = 0.05
)

// cpuOf is the CPU seconds the servers of cs have used so far, as far as
// they can be read.
func cpuOf(cs []contender) float64 {
	var sum float64
	for _, c := range cs {
		if s, err := c.srv.cpuSeconds(); err == nil {
			sum += s
		}
	}
	return sum
}

// medianRatio is the median over runs of a's rate divided by b's.
func medianRatio(a, b []result) float64 {
	ratios := make([]float64, len(a))
	for i := range a {
		ratios[i] = a[i].perSecond() / b[i].perSecond()
	}
	slices.Sort(ratios)
	if n := len(ratios); n%2 == 0 {
		return (ratios[n/2-1] + ratios[n/2]) / 2
	}
	return ratios[len(ratios)/2]
}

func printRun(label, unit string, d time.Duration, r result) {
	fmt.Printf("%s %.1fs: %s %s/s, p50 %s p99 %s, %s %s per server CPU-second (errors %d)\n",
		label, d.Seconds(), num(r.perSecond()), unit, ms(benchserver.Percentile(r.lat, 50)), ms(benchserver.Percentile(r.lat, 99)), r.perCPU(), unit, r.errs)
	if r.health != nil {
		fmt.Printf("  /health while logging in: n=%d p50 %s p99 %s max %s\n",
			len(r.health), ms(benchserver.Percentile(r.health, 50)), ms(benchserver.Percentile(r.health, 99)), ms(benchserver.Percentile(r.health, 100)))
	}
	for _, s := range r.shown {
		fmt.Println("  error:", s)
	}
}

func printSummary(label, unit string, all []result) {
	var ok, errs int
	var elapsed time.Duration
	var cpu float64
	cpuKnown := true
	var lat, health []time.Duration
	rates := make([]float64, len(all))
	for i, r := range all {
		ok, errs, elapsed, cpu = ok+r.ok, errs+r.errs, elapsed+r.elapsed, cpu+r.cpu
		lat, health = append(lat, r.lat...), append(health, r.health...)
		rates[i] = r.perSecond()
		cpuKnown = cpuKnown && r.cpu >= 0
	}
	slices.Sort(lat)
	slices.Sort(health)
	if !cpuKnown {
		cpu = -1
	}
	sum := result{ok: ok, errs: errs, elapsed: elapsed, cpu: cpu, lat: lat}
	fmt.Printf("summary %s, %d runs: %s %s/s (runs %s–%s), p50 %s p99 %s, %s %s per server CPU-second (errors %d)\n",
		label, len(all), num(sum.perSecond()), unit, num(slices.Min(rates)), num(slices.Max(rates)),
		ms(benchserver.Percentile(lat, 50)), ms(benchserver.Percentile(lat, 99)), sum.perCPU(), unit, errs)
	if len(health) > 0 {
		fmt.Printf("summary /health while logging in: n=%d p50 %s p99 %s max %s\n",
			len(health), ms(benchserver.Percentile(health, 50)), ms(benchserver.Percentile(health, 99)), ms(benchserver.Percentile(health, 100)))
	}
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + "ms"
}

// num formats a rate: whole numbers from 100 up, one decimal below.
func num(f float64) string {
	if f >= 100 {
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	return strconv.FormatFloat(f, 'f', 1, 64)
}
