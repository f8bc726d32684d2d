package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrRateLimited is what every *RateLimitError unwraps to; the server maps it
// to 429 with a Retry-After header (spec: auth-and-keys.md §15).
var ErrRateLimited = errors.New("store: rate limit exceeded")

// RateLimitError is a refused quota: its name and how long to wait.
type RateLimitError struct {
	Quota      string
	RetryAfter time.Duration
}

// RetryAfterSeconds is the Retry-After header value: whole seconds, at least 1.
func (e *RateLimitError) RetryAfterSeconds() int { return redisSeconds(e.RetryAfter) }

// PublicDetail is the spec's verbatim 429 detail (auth-and-keys.md §15).
func (e *RateLimitError) PublicDetail() string {
	return fmt.Sprintf("Rate limit exceeded (%s). Retry after %ds.", e.Quota, e.RetryAfterSeconds())
}

func (e *RateLimitError) Error() string { return e.PublicDetail() }

// Unwrap makes errors.Is(err, ErrRateLimited) true.
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// Quota is a fixed-window quota: at most Limit hits per Window. Scope is a
// label for metrics and logs only (spec: auth-and-keys.md §15).
type Quota struct {
	Name   string
	Limit  int
	Window time.Duration
	Scope  string
}

// ConcurrencyQuota allows at most Limit leases held at once; a lease not
// refreshed for TTL is forgotten (spec: auth-and-keys.md §15).
type ConcurrencyQuota struct {
	Name  string
	Limit int
	TTL   time.Duration
	Scope string
}

// Decision is the limiter's answer. RetryAfter is set only when !Allowed.
type Decision struct {
	Allowed    bool
	RetryAfter time.Duration
	Limit      int
}

// Err is nil when the request is allowed, else a *RateLimitError naming quota.
func (d Decision) Err(quota string) error {
	if d.Allowed {
		return nil
	}
	return &RateLimitError{Quota: quota, RetryAfter: d.RetryAfter}
}

// Limiter is the Redis rate limiter shared by every replica (spec:
// auth-and-keys.md §15, §18.6 note 35). It fails open: when Redis errs the
// request is allowed and a warning is logged, at most once a minute per quota.
type Limiter struct {
	r    *Redis
	base string // <keyPrefix><RATE_LIMIT_KEY_PREFIX>
	log  *slog.Logger
	now  func() time.Time

	mu     sync.Mutex
	warned map[string]time.Time // quota name → last warning
}

// NewLimiter returns a limiter whose keys are keyPrefix+prefix+":quota:…" and
// "…:concurrency:…"; a blank prefix is "rate-limit" (RATE_LIMIT_KEY_PREFIX).
// Production passes keyPrefix ""; tests pass storetest's prefix. A nil r
// disables limiting (always allowed), as with no Redis in the reference.
func NewLimiter(r *Redis, prefix, keyPrefix string, log *slog.Logger) *Limiter {
	if strings.TrimSpace(prefix) == "" {
		prefix = "rate-limit"
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Limiter{r: r, base: keyPrefix + prefix, log: log, now: time.Now, warned: map[string]time.Time{}}
}

// Hit counts one request against q under the key parts (each part: empty →
// "unknown", spaces → "_"). A limit ≤ 0 always allows without touching Redis.
// The error is non-nil only when ctx ended; Redis failures fail open.
//
// The count and its TTL are read in one MULTI; a key without a TTL (the
// window's first hit, or a key left by a crash or made by hand) then gets
// one, so no counter lives forever (§18.6 note 35). Plain commands, not a
// Lua script: on the in-process miniredis a script costs about a
// millisecond, which every chat stream waited for before its first byte.
func (l *Limiter) Hit(ctx context.Context, q Quota, parts ...string) (Decision, error) {
	if q.Limit <= 0 || l.r == nil {
		return Decision{Allowed: true, Limit: q.Limit}, nil
	}
	var h hitCmds
	_, err := l.r.TxPipelined(ctx, func(p redis.Pipeliner) error {
		h = l.queueHit(ctx, p, q, parts)
		return nil
	})
	if err != nil {
		return l.failOpen(ctx, q.Name, q.Limit, err)
	}
	return l.finishHit(ctx, h, q)
}

// hitCmds are a hit's queued commands.
type hitCmds struct {
	key    string
	window int
	n      *redis.IntCmd
	ttl    *redis.DurationCmd
}

func (l *Limiter) queueHit(ctx context.Context, p redis.Pipeliner, q Quota, parts []string) hitCmds {
	h := hitCmds{key: l.key("quota", q.Name, parts), window: redisSeconds(q.Window)}
	h.n, h.ttl = p.Incr(ctx, h.key), p.TTL(ctx, h.key)
	return h
}

// finishHit gives a key without TTL its window and decides.
func (l *Limiter) finishHit(ctx context.Context, h hitCmds, q Quota) (Decision, error) {
	if h.ttl.Val() < 0 { // -1: no TTL yet
		if err := l.r.Expire(ctx, h.key, time.Duration(h.window)*time.Second).Err(); err != nil {
			return l.failOpen(ctx, q.Name, q.Limit, err)
		}
	}
	d := Decision{Allowed: h.n.Val() <= int64(q.Limit), Limit: q.Limit}
	if !d.Allowed {
		left := int64(h.ttl.Val() / time.Second)
		if left <= 0 {
			left = int64(h.window)
		}
		d.RetryAfter = time.Duration(max(left, 1)) * time.Second
	}
	return d, nil
}

// leaseReleaseScript gives a slot back and drops the key when nothing is held.
var leaseReleaseScript = redis.NewScript(`
local n = redis.call('DECR', KEYS[1])
if n <= 0 then redis.call('DEL', KEYS[1]) end
return n`)

// Acquire takes one of q.Limit concurrent slots under the key parts. When
// allowed, the returned Lease keeps the slot alive (EXPIRE ttl every
// max(ttl/2, 0.5 s)) until Release or until ctx ends; the Lease is nil when
// denied, when q.Limit ≤ 0 and when Redis fails (fail-open), and Release on a
// nil Lease does nothing. The error is non-nil only when ctx ended.
func (l *Limiter) Acquire(ctx context.Context, q ConcurrencyQuota, parts ...string) (*Lease, Decision, error) {
	if q.Limit <= 0 || l.r == nil {
		return nil, Decision{Allowed: true, Limit: q.Limit}, nil
	}
	// INCR and EXPIRE in one MULTI (plain commands, as in Hit); over the
	// limit the slot is given back, a second round trip on that path only
	var c leaseCmds
	_, err := l.r.TxPipelined(ctx, func(p redis.Pipeliner) error {
		c = l.queueAcquire(ctx, p, q, parts)
		return nil
	})
	if err != nil {
		d, err := l.failOpen(ctx, q.Name, q.Limit, err)
		return nil, d, err
	}
	return l.finishAcquire(ctx, c, q)
}

// Admit is Hit(q) and then Acquire(c) under the same key parts in one round
// trip, for a request that needs both (a stream: its per-minute quota and
// its concurrency slot). refusedBy names the quota that refused, "" when
// admitted; a slot taken for a request that q refuses is given back. A
// limit ≤ 0 disables its half.
func (l *Limiter) Admit(ctx context.Context, q Quota, c ConcurrencyQuota, parts ...string) (
	lease *Lease, d Decision, refusedBy string, err error) {
	if q.Limit <= 0 || c.Limit <= 0 || l.r == nil {
		if d, err = l.Hit(ctx, q, parts...); err != nil || !d.Allowed {
			return nil, d, q.Name, err
		}
		lease, d, err = l.Acquire(ctx, c, parts...)
		if err != nil || !d.Allowed {
			return nil, d, c.Name, err
		}
		return lease, d, "", nil
	}
	var h hitCmds
	var lc leaseCmds
	_, err = l.r.TxPipelined(ctx, func(p redis.Pipeliner) error {
		h, lc = l.queueHit(ctx, p, q, parts), l.queueAcquire(ctx, p, c, parts)
		return nil
	})
	if err != nil {
		d, err := l.failOpen(ctx, q.Name, q.Limit, err)
		return nil, d, "", err
	}
	if d, err = l.finishHit(ctx, h, q); err != nil || !d.Allowed {
		if rerr := l.r.Decr(context.WithoutCancel(ctx), lc.key).Err(); rerr != nil {
			l.warn(ctx, c.Name, "rate limiter could not give back a concurrency slot", rerr)
		}
		return nil, d, q.Name, err
	}
	lease, d, err = l.finishAcquire(ctx, lc, c)
	if err != nil || !d.Allowed {
		return nil, d, c.Name, err
	}
	return lease, d, "", nil
}

// leaseCmds are an acquire's queued commands.
type leaseCmds struct {
	key string
	ttl int
	n   *redis.IntCmd
}

func (l *Limiter) queueAcquire(ctx context.Context, p redis.Pipeliner, q ConcurrencyQuota, parts []string) leaseCmds {
	c := leaseCmds{key: l.key("concurrency", q.Name, parts), ttl: redisSeconds(q.TTL)}
	c.n = p.Incr(ctx, c.key)
	p.Expire(ctx, c.key, time.Duration(c.ttl)*time.Second)
	return c
}

// finishAcquire gives back a slot over the limit, or starts the lease.
func (l *Limiter) finishAcquire(ctx context.Context, c leaseCmds, q ConcurrencyQuota) (*Lease, Decision, error) {
	if c.n.Val() > int64(q.Limit) {
		var left *redis.DurationCmd
		_, err := l.r.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Decr(ctx, c.key)
			left = p.TTL(ctx, c.key)
			return nil
		})
		if err != nil {
			d, err := l.failOpen(ctx, q.Name, q.Limit, err)
			return nil, d, err
		}
		retry := int64(left.Val() / time.Second)
		if retry <= 0 {
			retry = int64(c.ttl)
		}
		return nil, Decision{Limit: q.Limit, RetryAfter: time.Duration(retry) * time.Second}, nil
	}
	ls := &Lease{l: l, quota: q.Name, key: c.key, ttl: time.Duration(c.ttl) * time.Second, ctx: ctx}
	ls.keepAlive(max(ls.ttl/2, 500*time.Millisecond))
	return ls, Decision{Allowed: true, Limit: q.Limit}, nil
}

// Lease is one held concurrency slot; give it back with Release.
type Lease struct {
	l     *Limiter
	quota string
	key   string
	ttl   time.Duration
	ctx   context.Context
	once  sync.Once
	err   error

	// The refresh is a timer, not a goroutine: a held slot (an open chat
	// stream) then costs no stack while it waits. mu is held through a
	// refresh, so after stopped is set none is running or will run.
	mu      sync.Mutex
	timer   *time.Timer
	stopped bool
	unwatch func() bool // stops watching ctx
}

// leaseReleaseTimeout bounds Release, which runs even after the request's ctx is cancelled.
const leaseReleaseTimeout = 2 * time.Second

// Release gives the slot back (DECR, and DEL when nothing is held). It is
// idempotent, works on a nil Lease, and still runs when ctx is cancelled (a
// client that hung up), bounded by a short timeout of its own.
func (ls *Lease) Release(ctx context.Context) error {
	if ls == nil {
		return nil
	}
	ls.once.Do(func() {
		ls.halt()
		ls.unwatch()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaseReleaseTimeout)
		defer cancel()
		if err := leaseReleaseScript.Run(ctx, ls.l.r, []string{ls.key}).Err(); err != nil {
			ls.err = fmt.Errorf("store: release %s lease: %w", ls.quota, err)
		}
	})
	return ls.err
}

// keepAlive refreshes the key's TTL every interval until Release or the
// lease's ctx ends.
func (ls *Lease) keepAlive(every time.Duration) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.timer = time.AfterFunc(every, func() { ls.refresh(every) })
	ls.unwatch = context.AfterFunc(ls.ctx, ls.halt)
}

// refresh puts the full TTL back and arms the next refresh.
func (ls *Lease) refresh(every time.Duration) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.stopped {
		return
	}
	ctx := ls.ctx
	rctx, cancel := context.WithTimeout(ctx, min(every, leaseReleaseTimeout))
	err := ls.l.r.Expire(rctx, ls.key, ls.ttl).Err()
	cancel()
	if err != nil && ctx.Err() == nil {
		ls.l.warn(ctx, ls.quota, "rate limiter could not refresh a concurrency lease", err)
	}
	ls.timer.Reset(every)
}

// halt stops the refreshes, waiting for one that is running.
func (ls *Lease) halt() {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.stopped = true
	ls.timer.Stop()
}

// key builds <keyPrefix><prefix>:<kind>:<name>:<part1>:<part2>… (spec §15).
func (l *Limiter) key(kind, name string, parts []string) string {
	var b strings.Builder
	b.WriteString(l.base)
	b.WriteString(":")
	b.WriteString(kind)
	b.WriteString(":")
	b.WriteString(name)
	for _, p := range parts {
		b.WriteString(":")
		if p == "" {
			p = "unknown"
		}
		b.WriteString(strings.ReplaceAll(p, " ", "_"))
	}
	return b.String()
}

// failOpen allows the request after a Redis error, unless ctx itself ended.
func (l *Limiter) failOpen(ctx context.Context, quota string, limit int, err error) (Decision, error) {
	if ctx.Err() != nil {
		return Decision{Limit: limit}, fmt.Errorf("store: rate limit %s: %w", quota, ctx.Err())
	}
	l.warn(ctx, quota, "rate limiter unavailable; allowing the request", err)
	return Decision{Allowed: true, Limit: limit}, nil
}

// limiterWarnEvery throttles the limiter's warnings, per quota name (§18.6 note 35).
const limiterWarnEvery = time.Minute

func (l *Limiter) warn(ctx context.Context, quota, msg string, err error) {
	now := l.now()
	l.mu.Lock()
	last, seen := l.warned[quota]
	if seen && now.Sub(last) < limiterWarnEvery {
		l.mu.Unlock()
		return
	}
	l.warned[quota] = now
	l.mu.Unlock()
	l.log.WarnContext(ctx, msg, "quota", quota, "error", err)
}

// redisSeconds rounds d up to whole seconds, at least 1: Redis TTLs and
// Retry-After are whole seconds, and EXPIRE 0 would delete the key.
func redisSeconds(d time.Duration) int {
	return max(int(math.Ceil(d.Seconds())), 1)
}
