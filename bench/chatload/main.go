// Command chatload measures the chat stream relay of a running `agentplane
// serve` from the outside, against a fake OpenAI Responses API
// (openaitest) in this process:
//
//   - ttfb: the relay's extra time to first chunk. Workers stream turns
//     through POST /api/v1/chat/stream; the same number of workers then
//     stream straight from the fake model. The overhead is the difference of
//     the two times to the first text delta (a `data:` chunk frame through
//     the relay, a response.output_text.delta event straight from the
//     model), at p50 and p99.
//
//   - idle: memory per idle open stream. It opens -streams streams whose
//     model call stalls before its first delta, waits until every stream
//     has its 200 and headers, and reads the server's resident memory
//     (VmRSS) before and after.
//
//     Each turn's message carries a tag the fake model sees, and the model
//     reports its own time from receiving that request to flushing its first
//     delta; the per-request overhead is the client's time to first chunk
//     minus the model's own, which takes the model's timer jitter out. It is
//     printed for the relay and for a plain client straight to the model
//     (the bare cost of an HTTP hop here).
//
//     go build -o /tmp/agentplane-bench . && go run ./bench/chatload -bin /tmp/agentplane-bench -scenario ttfb -conns 200
//     go run ./bench/chatload -bin /tmp/agentplane-bench -scenario idle -streams 10000
//
// The server runs as a child process (bench/benchserver) with high chat
// limits, so the quota and lease are checked on every stream but refuse
// none.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"agentplane/bench/benchserver"
	"agentplane/server/chat/openaitest"
)

type options struct {
	server   benchserver.Options
	scenario string
	conns    int
	streams  int
	duration time.Duration
	delay    time.Duration
	pace     time.Duration
	burst    bool
	hold     time.Duration
	http1    bool
}

func main() {
	var o options
	flag.StringVar(&o.server.Bin, "bin", "", "agentplane binary to run (default: go build the module in the working directory)")
	flag.StringVar(&o.scenario, "scenario", "ttfb", "ttfb or idle")
	flag.StringVar(&o.server.DB, "db", "sqlite", "sqlite or postgres (a fresh database on -pg, dropped after)")
	flag.StringVar(&o.server.PG, "pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "Postgres server URL for -db postgres")
	flag.StringVar(&o.server.Redis, "redis", "", "REDIS_URL for the server (empty: its in-process miniredis)")
	flag.IntVar(&o.conns, "conns", 1, "ttfb: concurrent streams")
	flag.IntVar(&o.streams, "streams", 10000, "idle: open streams")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "ttfb: length of each measured run (relay, then direct)")
	flag.DurationVar(&o.delay, "model-delay", 20*time.Millisecond, "the fake model's wait before its first byte")
	flag.DurationVar(&o.pace, "model-pace", 50*time.Millisecond, "the fake model's wait between two events (a reply then takes about a second)")
	flag.BoolVar(&o.http1, "model-http1", false, "serve the fake model over plain HTTP/1.1 (as many OpenAI-compatible servers do) instead of HTTPS with HTTP/2 (as OpenAI's API does)")
	flag.DurationVar(&o.hold, "hold", 0, "idle: keep the streams open this long after measuring (to profile the server)")
	flag.BoolVar(&o.burst, "burst", false, "ttfb: start every worker at once instead of spread over a reply's length")
	flag.StringVar(&o.server.LogLevel, "log-level", "WARNING", "the server's LOG_LEVEL")
	flag.BoolVar(&o.server.Keep, "keep", false, "keep the temp dir (server.log)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "chatload:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) (err error) {
	var reply openaitest.Reply
	switch o.scenario {
	case "ttfb":
		reply = openaitest.Text("The fake model answers in a handful of small text deltas.", openaitest.Usage{InputTokens: 50, OutputTokens: 12})
	case "idle":
		reply = openaitest.Text("never sent", openaitest.Usage{}).HangAfter(4) // stalls before its first delta
	default:
		return fmt.Errorf("-scenario %q: use ttfb or idle", o.scenario)
	}
	if o.conns < 1 || o.streams < 1 || o.duration <= 0 {
		return errors.New("-conns, -streams and -duration must be positive")
	}
	if err := raiseFileLimit(); err != nil {
		return err
	}
	mopts := []openaitest.Option{openaitest.Delay(o.delay), openaitest.Pace(o.pace), openaitest.Always(reply),
		openaitest.OnFirstDelta(modelTimes.record)}
	if !o.http1 {
		mopts = append(mopts, openaitest.TLS())
	}
	model := openaitest.Start(mopts...)
	defer model.Close()
	o.server.Name = "chatload"
	if !o.http1 {
		// The server trusts the model's certificate as it would a public one.
		cert, err := writeTemp("chatload-model-*.pem", model.CertPEM())
		if err != nil {
			return err
		}
		defer os.Remove(cert)
		o.server.Env = append(o.server.Env, "SSL_CERT_FILE="+cert)
	}
	o.server.Env = append(o.server.Env, "OPENAI_BASE_URL="+model.URL(), "OPENAI_API_KEY="+model.Key(),
		"REQUIRE_EMAIL_VERIFICATION=false",
		"CHAT_STREAM_RATE_LIMIT_PER_MINUTE=100000000", "CHAT_STREAM_CONCURRENT_LIMIT=100000000")
	srv, err := benchserver.Start(ctx, o.server)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, srv.Stop(o.server.Keep)) }()
	proto := "HTTPS and HTTP/2"
	if o.http1 {
		proto = "plain HTTP/1.1"
	}
	fmt.Printf("server pid %d at %s (%s, redis %q); model over %s, first byte after %s, events %s apart\n",
		srv.PID(), srv.Base, o.server.DB, o.server.Redis, proto, o.delay, o.pace)
	sess, err := benchserver.Register(ctx, benchserver.Client(1), srv.Base, "chatload-"+benchserver.RandomHex(4)+"@example.com",
		"Quartz-Lantern-"+benchserver.RandomHex(8), "Chatload")
	if err != nil {
		return err
	}
	if o.scenario == "idle" {
		return idle(ctx, o, srv, sess.AccessToken)
	}
	return ttfb(ctx, o, srv, sess.AccessToken, model)
}

// writeTemp writes b to a new temporary file named after pattern.
func writeTemp(pattern string, b []byte) (string, error) {
	f, err := os.CreateTemp("", pattern)
	if err != nil {
		return "", err
	}
	_, err = f.Write(b)
	return f.Name(), errors.Join(err, f.Close())
}

// raiseFileLimit lifts the soft open-files limit to the hard one: thousands
// of streams need two descriptors each here and two in the server, which
// inherits the limit.
//
// A hard limit below what 10,000 streams need (20,000 on some machines) is
// raised too where the process may (as root); otherwise some streams fail
// in the server, whose model call finds no descriptor.
func raiseFileLimit() error {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return err
	}
	if l.Max < wantFiles {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: wantFiles, Max: wantFiles}); err == nil {
			return nil
		}
	}
	l.Cur = l.Max
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
}

// wantFiles is the open-files limit chatload asks for: 10,000 streams take
// four descriptors each across the two processes, two in each.
const wantFiles = 1 << 16

// tagged finds the tag of a turn's message in a request body.
var tagged = regexp.MustCompile(`How fast is the relay\? #(\d+)`)

// modelTimes are the fake model's own times to first delta, by turn tag.
var modelTimes tagTimes

type tagTimes struct{ m sync.Map }

func (t *tagTimes) record(raw []byte, took time.Duration) {
	if m := tagged.FindSubmatch(raw); m != nil {
		t.m.Store(string(m[1]), took)
	}
}

func (t *tagTimes) take(tag string) (time.Duration, bool) {
	v, ok := t.m.LoadAndDelete(tag)
	if !ok {
		return 0, false
	}
	return v.(time.Duration), true
}

// streamRequest is a chat stream request, or with modelBody a streamed
// Responses API call to the model with that body; tag marks the turn's
// message in either.
func streamRequest(ctx context.Context, base, token string, modelBody []byte, tag string) (*http.Request, error) {
	msg := "How fast is the relay? #" + tag
	u, body := base+"/api/v1/chat/stream", []byte(`{"message":"`+msg+`","agent_type":"triage"}`)
	if modelBody != nil {
		u, body = base+"/responses", tagged.ReplaceAll(modelBody, []byte(msg))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	return req, nil
}

// firstChunk streams one turn and returns the time from sending the request
// to the line holding the first text delta; it reads the stream to its end.
func firstChunk(c *http.Client, req *http.Request, direct bool) (time.Duration, error) {
	marker := []byte(`data: {"chunk":"`)
	if direct {
		marker = []byte(`"type":"response.output_text.delta"`)
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
	}
	r := bufio.NewReader(resp.Body)
	var first time.Duration
	for {
		line, err := r.ReadSlice('\n')
		if first == 0 && bytes.Contains(line, marker) {
			first = time.Since(start)
		}
		if bytes.Contains(line, []byte(`"error"`)) && !direct {
			return 0, fmt.Errorf("error frame: %s", bytes.TrimSpace(line))
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return 0, err
		}
	}
	if first == 0 {
		return 0, errors.New("the stream had no text delta")
	}
	return first, nil
}

// load runs conns workers for d, each streaming one turn after another,
// and returns the times to first chunk and, for each, that time minus the
// model's own (see tagTimes). Worker i starts i/conns of a stream's length
// (about span) late, so turns arrive spread out as users' do, not in bursts
// of conns at once.
func load(ctx context.Context, c *http.Client, conns int, d, span time.Duration, base, token string, modelBody []byte) (all, extra []time.Duration, _ int, _ error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		mu    sync.Mutex
		fails atomic.Int64
		first atomic.Pointer[error]
		wg    sync.WaitGroup
	)
	for i := range conns {
		wg.Go(func() {
			var mine, mineExtra []time.Duration
			select {
			case <-time.After(span * time.Duration(i) / time.Duration(conns)):
			case <-ctx.Done():
			}
			for ctx.Err() == nil {
				tag := strconv.FormatInt(lastTag.Add(1), 10)
				req, err := streamRequest(context.WithoutCancel(ctx), base, token, modelBody, tag)
				if err == nil {
					var t time.Duration
					if t, err = firstChunk(c, req, modelBody != nil); err == nil {
						mine = append(mine, t)
						if own, ok := modelTimes.take(tag); ok {
							mineExtra = append(mineExtra, t-own)
						}
						continue
					}
				}
				fails.Add(1)
				first.CompareAndSwap(nil, &err)
			}
			mu.Lock()
			all, extra = append(all, mine...), append(extra, mineExtra...)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(all)
	slices.Sort(extra)
	var err error
	if p := first.Load(); p != nil {
		err = *p
	}
	return all, extra, int(fails.Load()), err
}

// lastTag numbers the turns of a run.
var lastTag atomic.Int64

func ttfb(ctx context.Context, o options, srv *benchserver.Server, token string, model *openaitest.Server) error {
	base := srv.Base
	span := o.delay + 20*o.pace // a reply's length: its first byte, then about 20 events
	if o.burst {
		span = 0
	}
	// Each path is warmed up with the client it is measured with, long
	// enough for every worker to start a turn, so neither run counts
	// connection set-up (the relay's to the model included).
	warm := span + time.Second
	relayC, directC := benchserver.Client(o.conns), benchserver.Client(o.conns)
	if !o.http1 {
		directC = model.Client()
	}
	defer relayC.CloseIdleConnections()
	defer directC.CloseIdleConnections()
	if _, _, _, err := load(ctx, relayC, o.conns, warm, span, base, token, nil); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	cpu0, _ := srv.CPUSeconds()
	relay, relayExtra, rf, rerr := load(ctx, relayC, o.conns, o.duration, span, base, token, nil)
	cpu1, cpuErr := srv.CPUSeconds()
	// straight to the model with the very request the relay sends it, so the
	// model's own work is the same in both runs
	body := model.LastBody()
	if _, _, _, err := load(ctx, directC, o.conns, warm, span, model.URL(), model.Key(), body); err != nil {
		return fmt.Errorf("warm-up of the direct path: %w", err)
	}
	direct, directExtra, df, derr := load(ctx, directC, o.conns, o.duration, span, model.URL(), model.Key(), body)
	if len(relay) == 0 || len(direct) == 0 {
		return fmt.Errorf("no successful streams (relay: %v; direct: %v)", rerr, derr)
	}
	fmt.Printf("ttfb conns=%d  relay: %d streams (%.0f/s, %d failed) p50 %s p99 %s  |  model direct: %d streams p50 %s p99 %s\n",
		o.conns, len(relay), float64(len(relay))/o.duration.Seconds(), rf, ms(benchserver.Percentile(relay, 50)), ms(benchserver.Percentile(relay, 99)),
		len(direct), ms(benchserver.Percentile(direct, 50)), ms(benchserver.Percentile(direct, 99)))
	fmt.Printf("relay overhead to first chunk: p50 %s  p99 %s\n",
		ms(benchserver.Percentile(relay, 50)-benchserver.Percentile(direct, 50)), ms(benchserver.Percentile(relay, 99)-benchserver.Percentile(direct, 99)))
	if len(relayExtra) > 0 && len(directExtra) > 0 {
		fmt.Printf("time to first chunk over the model's own, per turn: relay p50 %s p99 %s  |  plain client straight to the model p50 %s p99 %s\n",
			ms(benchserver.Percentile(relayExtra, 50)), ms(benchserver.Percentile(relayExtra, 99)),
			ms(benchserver.Percentile(directExtra, 50)), ms(benchserver.Percentile(directExtra, 99)))
	}
	if cpuErr == nil {
		fmt.Printf("server CPU: %.2f ms a streamed turn (%.0f%% of one core)\n",
			(cpu1-cpu0)*1000/float64(len(relay)), (cpu1-cpu0)*100/o.duration.Seconds())
	}
	if rf+df > 0 {
		fmt.Printf("failures: relay %d (%v), direct %d (%v)\n", rf, rerr, df, derr)
	}
	return nil
}

func idle(ctx context.Context, o options, srv *benchserver.Server, token string) error {
	before, err := srv.RSS()
	if err != nil {
		return err
	}
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: -1, DisableCompression: true}}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		open  atomic.Int64
		fails atomic.Int64
		wg    sync.WaitGroup
		sem   = make(chan struct{}, 64) // streams being opened at once
		bodys = make(chan io.Closer, o.streams)
	)
	start := time.Now()
	for range o.streams {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			req, err := streamRequest(ctx, srv.Base, token, nil, strconv.FormatInt(lastTag.Add(1), 10))
			if err != nil {
				fails.Add(1)
				return
			}
			resp, err := c.Do(req)
			if err != nil || resp.StatusCode != http.StatusOK {
				if err == nil {
					resp.Body.Close()
				}
				fails.Add(1)
				return
			}
			open.Add(1)
			bodys <- resp.Body
		})
	}
	wg.Wait()
	fmt.Printf("opened %d idle streams (%d failed) in %s\n", open.Load(), fails.Load(), time.Since(start).Round(time.Millisecond))
	time.Sleep(2 * time.Second) // let the server settle: pending GC, lazily grown buffers
	after, err := srv.RSS()
	if err != nil {
		return err
	}
	n := max(open.Load(), 1)
	fmt.Printf("server RSS: %s before, %s with %d idle streams: %s per stream; %s for 10,000\n",
		mib(before), mib(after), open.Load(), kib((after-before)/n), mib(before+(after-before)*10000/n))
	if o.hold > 0 {
		fmt.Printf("holding the streams open for %s\n", o.hold)
		time.Sleep(o.hold)
	}
	close(bodys)
	for b := range bodys {
		b.Close()
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond)) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func kib(b int64) string { return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10)) }
