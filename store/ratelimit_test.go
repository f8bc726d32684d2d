package store_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/redis/go-redis/v9"

	"agentplane/store"
	"agentplane/store/storetest"
)

// elapse makes d pass for every key under prefix, on any server: keys whose
// TTL runs out are deleted, the others keep what is left. It stands in for
// miniredis's FastForward, which a real server has no equivalent of.
func elapse(t *testing.T, r *store.Redis, prefix string, d time.Duration) {
	t.Helper()
	ctx := t.Context()
	iter := r.Scan(ctx, 0, prefix+"*", 500).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		ttl, err := r.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case ttl < 0: // no TTL (or gone): time does not touch it
		case ttl <= d:
			r.Del(ctx, key)
		default:
			r.PExpire(ctx, key, ttl-d)
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
}

// ttlWithin fails unless key's TTL is in (lo, hi].
func ttlWithin(t *testing.T, r *store.Redis, key string, lo, hi time.Duration) {
	t.Helper()
	ttl, err := r.TTL(t.Context(), key).Result()
	if err != nil || ttl <= lo || ttl > hi {
		t.Errorf("TTL(%s) = %v, %v; want in (%v, %v]", key, ttl, err, lo, hi)
	}
}

func mustExist(t *testing.T, r *store.Redis, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if n, err := r.Exists(t.Context(), k).Result(); err != nil || n != 1 {
			t.Errorf("key %q: exists %d, %v; want it", k, n, err)
		}
	}
}

func mustNotExist(t *testing.T, r *store.Redis, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if n, err := r.Exists(t.Context(), k).Result(); err != nil || n != 0 {
			t.Errorf("key %q: exists %d, %v; want it gone", k, n, err)
		}
	}
}

// keysUnder lists every key under prefix.
func keysUnder(t *testing.T, r *store.Redis, prefix string) []string {
	t.Helper()
	keys, err := r.Keys(t.Context(), prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestLimiterHitFixedWindow(t *testing.T) {
	storetest.ForEachRedis(t, func(t *testing.T, r *store.Redis, prefix string) {
		ctx := t.Context()
		l := store.NewLimiter(r, "", prefix, nil)
		q := store.Quota{Name: "chat_per_minute", Limit: 3, Window: time.Minute, Scope: "user"}
		key := prefix + "rate-limit:quota:chat_per_minute:tenant_1:unknown"
		for i := 1; i <= 3; i++ {
			d, err := l.Hit(ctx, q, "tenant 1", "")
			if err != nil || d != (store.Decision{Allowed: true, Limit: 3}) {
				t.Fatalf("hit %d = %+v, %v; want allowed", i, d, err)
			}
			if err := d.Err(q.Name); err != nil {
				t.Fatalf("hit %d: Err = %v", i, err)
			}
		}
		mustExist(t, r, key)
		ttlWithin(t, r, key, 0, time.Minute)

		elapse(t, r, prefix, 20*time.Second) // the window is fixed: hits do not extend it
		d, err := l.Hit(ctx, q, "tenant 1", "")
		if err != nil || d.Allowed || d.Limit != 3 {
			t.Fatalf("4th hit = %+v, %v; want refused", d, err)
		}
		if d.RetryAfter < 39*time.Second || d.RetryAfter > 40*time.Second {
			t.Errorf("RetryAfter = %v, want the 40 s left of the window", d.RetryAfter)
		}
		err = d.Err(q.Name)
		var rle *store.RateLimitError
		if !errors.Is(err, store.ErrRateLimited) || !errors.As(err, &rle) || rle.Quota != q.Name || rle.RetryAfter != d.RetryAfter {
			t.Fatalf("Err = %#v, want a *RateLimitError for %s", err, q.Name)
		}

		if d, _ := l.Hit(ctx, q, "tenant 2", ""); !d.Allowed {
			t.Error("another key part shares the counter")
		}
		elapse(t, r, prefix, 40*time.Second)
		mustNotExist(t, r, key)
		if d, err := l.Hit(ctx, q, "tenant 1", ""); err != nil || !d.Allowed {
			t.Errorf("first hit of a new window = %+v, %v; want allowed", d, err)
		}
		if n, _ := r.Get(ctx, key).Int(); n != 1 {
			t.Errorf("count in the new window = %d, want 1", n)
		}
	})
}

func TestRateLimitErrorText(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		after time.Duration
		want  string
		secs  int
	}{
		{37 * time.Second, "Rate limit exceeded (signup_per_hour). Retry after 37s.", 37},
		{1500 * time.Millisecond, "Rate limit exceeded (signup_per_hour). Retry after 2s.", 2},
		{0, "Rate limit exceeded (signup_per_hour). Retry after 1s.", 1},
	} {
		e := &store.RateLimitError{Quota: "signup_per_hour", RetryAfter: c.after}
		if e.Error() != c.want || e.PublicDetail() != c.want || e.RetryAfterSeconds() != c.secs {
			t.Errorf("%v: %q / %d, want %q / %d", c.after, e.Error(), e.RetryAfterSeconds(), c.want, c.secs)
		}
	}
}

func TestLimiterKeys(t *testing.T) {
	storetest.ForEachRedis(t, func(t *testing.T, r *store.Redis, prefix string) {
		ctx := t.Context()
		for _, c := range []struct {
			name, rlPrefix string
			parts          []string
			want           string
		}{
			{"default prefix", "", []string{"203.0.113.9"}, "rate-limit:quota:q1:203.0.113.9"},
			{"blank prefix", "  ", []string{"u1"}, "rate-limit:quota:q1:u1"},
			{"custom prefix", "rl", []string{"t1", "u1"}, "rl:quota:q1:t1:u1"},
			{"empty and spaced parts", "", []string{"", "a b  c"}, "rate-limit:quota:q1:unknown:a_b__c"},
			{"no parts", "", nil, "rate-limit:quota:q1"},
		} {
			t.Run(c.name, func(t *testing.T) {
				sub := prefix + strings.ReplaceAll(c.name, " ", "-") + ":"
				l := store.NewLimiter(r, c.rlPrefix, sub, nil)
				if _, err := l.Hit(ctx, store.Quota{Name: "q1", Limit: 5, Window: time.Hour}, c.parts...); err != nil {
					t.Fatal(err)
				}
				if got := keysUnder(t, r, sub); len(got) != 1 || got[0] != sub+c.want {
					t.Errorf("keys %q, want [%q]", got, sub+c.want)
				}
			})
		}
		l := store.NewLimiter(r, "", prefix, nil)
		lease, _, err := l.Acquire(ctx, store.ConcurrencyQuota{Name: "chat_stream_concurrency", Limit: 2, TTL: 300 * time.Second}, "t 1", "")
		if err != nil {
			t.Fatal(err)
		}
		defer lease.Release(ctx)
		mustExist(t, r, prefix+"rate-limit:concurrency:chat_stream_concurrency:t_1:unknown")
	})
}

func TestLimiterGivesTTLToKeyWithout(t *testing.T) {
	storetest.ForEachRedis(t, func(t *testing.T, r *store.Redis, prefix string) {
		ctx := t.Context()
		l := store.NewLimiter(r, "", prefix, nil)
		key := prefix + "rate-limit:quota:signup_per_hour:1.2.3.4"
		if err := r.Set(ctx, key, 20, 0).Err(); err != nil { // a counter that would never expire
			t.Fatal(err)
		}
		d, err := l.Hit(ctx, store.Quota{Name: "signup_per_hour", Limit: 20, Window: time.Hour}, "1.2.3.4")
		if err != nil || d.Allowed || d.RetryAfter != time.Hour {
			t.Errorf("Hit = %+v, %v; want refused, retry after the whole window", d, err)
		}
		ttlWithin(t, r, key, time.Hour-5*time.Second, time.Hour)
	})
}

func TestLimiterDisabled(t *testing.T) {
	storetest.ForEachRedis(t, func(t *testing.T, r *store.Redis, prefix string) {
		ctx := t.Context()
		var logs bytes.Buffer
		l := store.NewLimiter(r, "", prefix, slog.New(slog.NewTextHandler(&logs, nil)))
		for _, limit := range []int{0, -1} {
			for range 3 {
				d, err := l.Hit(ctx, store.Quota{Name: "q", Limit: limit, Window: time.Minute}, "x")
				if err != nil || !d.Allowed || d.Limit != limit {
					t.Errorf("limit %d: Hit = %+v, %v; want allowed", limit, d, err)
				}
				lease, d, err := l.Acquire(ctx, store.ConcurrencyQuota{Name: "c", Limit: limit, TTL: time.Minute}, "x")
				if err != nil || !d.Allowed || lease != nil {
					t.Errorf("limit %d: Acquire = %v, %+v, %v; want allowed without a lease", limit, lease, d, err)
				}
				if err := lease.Release(ctx); err != nil {
					t.Errorf("Release of a nil lease: %v", err)
				}
			}
		}
		if keys := keysUnder(t, r, prefix); len(keys) != 0 {
			t.Errorf("a disabled quota wrote %q", keys)
		}
		if logs.Len() != 0 {
			t.Errorf("logged %q", logs.String())
		}
		if d, err := store.NewLimiter(nil, "", prefix, nil).Hit(ctx, store.Quota{Name: "q", Limit: 1}); err != nil || !d.Allowed {
			t.Errorf("no Redis: Hit = %+v, %v; want allowed", d, err)
		}
	})
}

// syncBuffer is a log sink safe for the lease goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) count(sub string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Count(s.b.String(), sub)
}

func TestLimiterFailsOpen(t *testing.T) {
	r, err := store.OpenRedis(t.Context(), "", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r.Close() // every command now fails at once, without I/O
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		logs := &syncBuffer{}
		l := store.NewLimiter(r, "", "", slog.New(slog.NewTextHandler(logs, nil)))
		chat := store.Quota{Name: "chat_per_minute", Limit: 1, Window: time.Minute}
		for range 5 {
			if d, err := l.Hit(ctx, chat, "t", "u"); err != nil || !d.Allowed {
				t.Fatalf("Hit on a closed Redis = %+v, %v; want allowed", d, err)
			}
		}
		const warning = "rate limiter unavailable"
		if n := logs.count(warning); n != 1 {
			t.Errorf("%d warnings for 5 failures, want 1", n)
		}
		lease, d, err := l.Acquire(ctx, store.ConcurrencyQuota{Name: "stream", Limit: 1, TTL: time.Minute}, "t")
		if err != nil || !d.Allowed || lease != nil {
			t.Errorf("Acquire on a closed Redis = %v, %+v, %v; want allowed without a lease", lease, d, err)
		}
		if n := logs.count("quota=stream"); n != 1 {
			t.Errorf("another quota's failure logged %d times, want 1", n)
		}
		time.Sleep(59 * time.Second)
		l.Hit(ctx, chat, "t", "u")
		if n := logs.count(warning); n != 2 {
			t.Errorf("%d warnings within a minute, want 1 for chat and 1 for stream", n)
		}
		time.Sleep(time.Second)
		l.Hit(ctx, chat, "t", "u")
		if n := logs.count("quota=chat_per_minute"); n != 2 {
			t.Errorf("%d chat warnings after a minute, want 2", n)
		}

		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if d, err := l.Hit(cancelled, chat, "t", "u"); !errors.Is(err, context.Canceled) || d.Allowed {
			t.Errorf("Hit with a cancelled ctx = %+v, %v; want the ctx error", d, err)
		}
	})
}

func TestLimiterConcurrency(t *testing.T) {
	storetest.ForEachRedis(t, func(t *testing.T, r *store.Redis, prefix string) {
		ctx := t.Context()
		l := store.NewLimiter(r, "", prefix, nil)
		q := store.ConcurrencyQuota{Name: "billing_stream_concurrency", Limit: 2, TTL: 300 * time.Second, Scope: "tenant"}
		key := prefix + "rate-limit:concurrency:billing_stream_concurrency:t1"
		count := func() int {
			n, err := r.Get(ctx, key).Int()
			if errors.Is(err, redis.Nil) {
				return 0
			}
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		acquire := func(want bool) *store.Lease {
			t.Helper()
			lease, d, err := l.Acquire(ctx, q, "t1")
			if err != nil || d.Allowed != want || (lease != nil) != want {
				t.Fatalf("Acquire = %v, %+v, %v; want allowed %v", lease, d, err, want)
			}
			if !want && (d.RetryAfter <= 0 || d.RetryAfter > q.TTL || !errors.Is(d.Err(q.Name), store.ErrRateLimited)) {
				t.Errorf("refused: RetryAfter %v, Err %v", d.RetryAfter, d.Err(q.Name))
			}
			return lease
		}
		a, b := acquire(true), acquire(true)
		acquire(false)
		if n := count(); n != 2 {
			t.Errorf("count after a refusal = %d, want 2", n)
		}
		ttlWithin(t, r, key, q.TTL-5*time.Second, q.TTL)

		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if err := a.Release(cancelled); err != nil { // the client hung up: release still runs
			t.Fatal(err)
		}
		if err := a.Release(ctx); err != nil || count() != 1 {
			t.Errorf("second Release: %v, count %d; want idempotent, 1", err, count())
		}
		c := acquire(true)
		for _, ls := range []*store.Lease{b, c} {
			if err := ls.Release(ctx); err != nil {
				t.Fatal(err)
			}
		}
		mustNotExist(t, r, key)

		// A lease whose key expired (a crashed holder's slot gone) still releases cleanly.
		d := acquire(true)
		elapse(t, r, prefix, q.TTL)
		if err := d.Release(ctx); err != nil {
			t.Fatal(err)
		}
		mustNotExist(t, r, key)
	})
}

func TestLeaseRefreshesUntilReleased(t *testing.T) {
	storetest.ForEachRedis(t, func(t *testing.T, shared *store.Redis, prefix string) {
		synctest.Test(t, func(t *testing.T) {
			// A client of the bubble's own, so go-redis's timers use its fake
			// clock; over TCP, as the embedded server's in-memory connections
			// would start its goroutines inside the bubble.
			opts := shared.Options()
			opts.Dialer = nil
			r := &store.Redis{Client: redis.NewClient(opts)}
			defer r.Close()
			ctx := t.Context()
			l := store.NewLimiter(r, "", prefix, nil)
			q := store.ConcurrencyQuota{Name: "chat_stream_concurrency", Limit: 1, TTL: 4 * time.Second}
			key := prefix + "rate-limit:concurrency:chat_stream_concurrency:t:u"
			lease, _, err := l.Acquire(ctx, q, "t", "u")
			if err != nil || lease == nil {
				t.Fatalf("Acquire: %v, %v", lease, err)
			}
			for range 3 { // each ttl/2 the lease puts the full TTL back
				if err := r.PExpire(ctx, key, 2500*time.Millisecond).Err(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(2 * time.Second)
				synctest.Wait()
				ttlWithin(t, r, key, 3*time.Second, 4*time.Second)
			}
			if err := lease.Release(ctx); err != nil {
				t.Fatal(err)
			}
			if err := r.Set(ctx, key, 7, 0).Err(); err != nil { // would get a TTL if still refreshed
				t.Fatal(err)
			}
			time.Sleep(10 * time.Second)
			synctest.Wait()
			if ttl := r.TTL(ctx, key).Val(); ttl != -1 {
				t.Errorf("TTL after Release = %v: the lease still refreshes", ttl)
			}
			r.Del(ctx, key)

			// A lease whose ctx ends stops refreshing (else the bubble would not end).
			short, cancel := context.WithCancel(ctx)
			if _, _, err := l.Acquire(short, q, "t", "u"); err != nil {
				t.Fatal(err)
			}
			cancel()
			synctest.Wait()
			if err := r.Persist(ctx, key).Err(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Second)
			synctest.Wait()
			if ttl := r.TTL(ctx, key).Val(); ttl != -1 {
				t.Errorf("TTL after the lease's ctx ended = %v: still refreshed", ttl)
			}
			r.Del(ctx, key)
		})
	})
}

func BenchmarkLimiterHit(b *testing.B) {
	bench := func(b *testing.B, r *store.Redis, prefix string) {
		l := store.NewLimiter(r, "", prefix, nil)
		q := store.Quota{Name: "chat_per_minute", Limit: 1 << 30, Window: time.Minute}
		ctx := b.Context()
		b.ReportAllocs()
		for b.Loop() {
			if d, err := l.Hit(ctx, q, "tenant", "user"); err != nil || !d.Allowed {
				b.Fatalf("Hit = %+v, %v", d, err)
			}
		}
	}
	b.Run("miniredis", func(b *testing.B) {
		r, err := store.OpenRedis(b.Context(), "", 5*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { r.Close() })
		bench(b, r, "bench:")
	})
	b.Run("redis", func(b *testing.B) {
		if !storetest.RealRedis() {
			b.Skip(storetest.RedisEnv + " not set")
		}
		r, prefix := storetest.Redis(b)
		bench(b, r, prefix)
	})
}

func TestLimiterAdmit(t *testing.T) {
	storetest.ForEachRedis(t, func(t *testing.T, r *store.Redis, prefix string) {
		ctx := t.Context()
		l := store.NewLimiter(r, "", prefix, nil)
		q := store.Quota{Name: "chat_stream_per_minute", Limit: 3, Window: time.Minute, Scope: "user"}
		c := store.ConcurrencyQuota{Name: "chat_stream_concurrency", Limit: 1, TTL: 300 * time.Second, Scope: "user"}
		quotaKey := prefix + "rate-limit:quota:chat_stream_per_minute:t1:u1"
		leaseKey := prefix + "rate-limit:concurrency:chat_stream_concurrency:t1:u1"
		get := func(key string) int {
			n, err := r.Get(ctx, key).Int()
			if err != nil && !errors.Is(err, redis.Nil) {
				t.Fatal(err)
			}
			return n
		}
		admit := func(wantRefusedBy string) *store.Lease {
			t.Helper()
			lease, d, by, err := l.Admit(ctx, q, c, "t1", "u1")
			if err != nil || by != wantRefusedBy || d.Allowed != (by == "") || (lease != nil) != (by == "") {
				t.Fatalf("Admit = %v, %+v, %q, %v; want refused by %q", lease, d, by, err, wantRefusedBy)
			}
			if by != "" && (d.RetryAfter <= 0 || !errors.Is(d.Err(by), store.ErrRateLimited)) {
				t.Errorf("refusal %+v", d)
			}
			return lease
		}
		first := admit("")
		ttlWithin(t, r, quotaKey, q.Window-5*time.Second, q.Window)
		ttlWithin(t, r, leaseKey, c.TTL-5*time.Second, c.TTL)
		admit("chat_stream_concurrency") // the one slot is held
		if n, m := get(quotaKey), get(leaseKey); n != 2 || m != 1 {
			t.Errorf("after a concurrency refusal: quota %d, slots %d; want 2, 1", n, m)
		}
		if err := first.Release(ctx); err != nil {
			t.Fatal(err)
		}
		second := admit("")
		if err := second.Release(ctx); err != nil {
			t.Fatal(err)
		}
		admit("chat_stream_per_minute") // the fourth hit of the minute
		if m := get(leaseKey); m != 0 {
			t.Errorf("a request the quota refused holds %d slots, want 0", m)
		}
	})
}
