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
	window := redisSeconds(q.Window)
	key := l.key("quota", q.Name, parts)
	var n *redis.IntCmd
	var ttl *redis.DurationCmd
	_, err := l.r.TxPipelined(ctx, func(p redis.Pipeliner) error {
		n, ttl = p.Incr(ctx, key), p.TTL(ctx, key)
		return nil
	})
	if err == nil && ttl.Val() < 0 { // -1: no TTL yet
		err = l.r.Expire(ctx, key, time.Duration(window)*time.Second).Err()
	}
	if err != nil {
		return l.failOpen(ctx, q.Name, q.Limit, err)
	}
	d := Decision{Allowed: n.Val() <= int64(q.Limit), Limit: q.Limit}
	if !d.Allowed {
		left := int64(ttl.Val() / time.Second)
		if left <= 0 {
			left = int64(window)
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
	ttl := redisSeconds(q.TTL)
	key := l.key("concurrency", q.Name, parts)
	// INCR and EXPIRE in one MULTI (plain commands, as in Hit); over the
	// limit the slot is given back, a second round trip on that path only
	var n *redis.IntCmd
	_, err := l.r.TxPipelined(ctx, func(p redis.Pipeliner) error {
		n = p.Incr(ctx, key)
		p.Expire(ctx, key, time.Duration(ttl)*time.Second)
		return nil
	})
	var left *redis.DurationCmd
	if err == nil && n.Val() > int64(q.Limit) {
		_, err = l.r.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Decr(ctx, key)
			left = p.TTL(ctx, key)
			return nil
		})
	}
	if err != nil {
		d, err := l.failOpen(ctx, q.Name, q.Limit, err)
		return nil, d, err
	}
	if left != nil {
		retry := int64(left.Val() / time.Second)
		if retry <= 0 {
			retry = int64(ttl)
		}
		return nil, Decision{Limit: q.Limit, RetryAfter: time.Duration(retry) * time.Second}, nil
	}
	ls := &Lease{l: l, quota: q.Name, key: key, ttl: time.Duration(ttl) * time.Second,
		stop: make(chan struct{}), done: make(chan struct{})}
	go ls.keepAlive(ctx, max(ls.ttl/2, 500*time.Millisecond))
	return ls, Decision{Allowed: true, Limit: q.Limit}, nil
}

// Lease is one held concurrency slot; give it back with Release.
type Lease struct {
	l     *Limiter
	quota string
	key   string
	ttl   time.Duration
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
	err   error
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
		close(ls.stop)
		<-ls.done
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaseReleaseTimeout)
		defer cancel()
		if err := leaseReleaseScript.Run(ctx, ls.l.r, []string{ls.key}).Err(); err != nil {
			ls.err = fmt.Errorf("store: release %s lease: %w", ls.quota, err)
		}
	})
	return ls.err
}

// keepAlive refreshes the key's TTL every interval until Release or ctx ends.
func (ls *Lease) keepAlive(ctx context.Context, every time.Duration) {
	defer close(ls.done)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ls.stop:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
			rctx, cancel := context.WithTimeout(ctx, min(every, leaseReleaseTimeout))
			err := ls.l.r.Expire(rctx, ls.key, ls.ttl).Err()
			cancel()
			if err != nil && ctx.Err() == nil {
				ls.l.warn(ctx, ls.quota, "rate limiter could not refresh a concurrency lease", err)
			}
		}
	}
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
