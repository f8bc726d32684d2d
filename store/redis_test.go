package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"agentplane/store"
	"agentplane/store/storetest"
)

// incrWithTTL is the shape every Redis counter here takes (INCR and EXPIRE
// in one script, auth-and-keys.md §18.6 note 35): it must run on both.
var incrWithTTL = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n`)

func TestRedisOnEveryServer(t *testing.T) {
	storetest.ForEachRedis(t, func(t *testing.T, r *store.Redis, prefix string) {
		ctx := t.Context()
		if err := r.Check(ctx); err != nil {
			t.Fatalf("Check: %v", err)
		}
		key := prefix + "counter"
		for want := int64(1); want <= 3; want++ {
			n, err := incrWithTTL.Run(ctx, r, []string{key}, 60).Int64()
			if err != nil || n != want {
				t.Fatalf("script run %d = %d, %v", want, n, err)
			}
		}
		if ttl := r.TTL(ctx, key).Val(); ttl <= 0 || ttl > time.Minute {
			t.Errorf("TTL = %v, want (0, 1m]", ttl)
		}
		if want := strings.HasSuffix(t.Name(), "/miniredis"); r.Embedded() != want {
			t.Errorf("Embedded() = %v on %s, want %v", r.Embedded(), t.Name(), want)
		}
	})
}

func TestOpenRedisErrors(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := store.OpenRedis(ctx, "http://not-redis", time.Second); err == nil {
		t.Error("OpenRedis accepted an http:// URL")
	}
	_, err := store.OpenRedis(ctx, "redis://127.0.0.1:1/0", time.Second)
	if !errors.Is(err, store.ErrRedisUnreachable) {
		t.Errorf("OpenRedis on a closed port = %v, want ErrRedisUnreachable", err)
	}
	r, err := store.OpenRedis(ctx, "", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Embedded() || r.Location() != "in-process miniredis" {
		t.Errorf("empty URL: Embedded %v, Location %q", r.Embedded(), r.Location())
	}
	r.Close()
	if err := r.Check(ctx); !errors.Is(err, store.ErrRedisUnreachable) {
		t.Errorf("Check after Close = %v, want ErrRedisUnreachable", err)
	}
}
