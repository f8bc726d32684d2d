package store_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"agentplane/store"
	"agentplane/store/storetest"
)

func TestAuthStateUserLockout(t *testing.T) {
	storetest.ForEachRedis(t, func(t *testing.T, r *store.Redis, prefix string) {
		ctx := t.Context()
		a := store.NewAuthState(r, prefix)
		counter, lock := prefix+"auth:lockout:counter:u1", prefix+"auth:lockout:state:u1"
		const window, lockFor = time.Hour, 30 * time.Minute
		for want := 1; want <= 2; want++ {
			n, locked, err := a.FailUser(ctx, "u1", window, lockFor, 3)
			if err != nil || n != want || locked {
				t.Fatalf("failure %d = %d, %v, %v; want %d, not locked", want, n, locked, err, want)
			}
		}
		ttlWithin(t, r, counter, window-5*time.Second, window)
		if locked, err := a.UserLocked(ctx, "u1"); err != nil || locked {
			t.Fatalf("UserLocked before the threshold = %v, %v", locked, err)
		}
		elapse(t, r, prefix, 50*time.Minute) // every failure restarts the window
		n, locked, err := a.FailUser(ctx, "u1", window, lockFor, 3)
		if err != nil || n != 3 || !locked {
			t.Fatalf("3rd failure = %d, %v, %v; want 3, locked", n, locked, err)
		}
		ttlWithin(t, r, counter, window-5*time.Second, window)
		ttlWithin(t, r, lock, lockFor-5*time.Second, lockFor)
		if v := r.Get(ctx, lock).Val(); v != "1" {
			t.Errorf("lock value %q, want 1", v)
		}
		if locked, err := a.UserLocked(ctx, "u1"); err != nil || !locked {
			t.Errorf("UserLocked = %v, %v; want locked", locked, err)
		}
		if locked, _ := a.UserLocked(ctx, "u2"); locked {
			t.Error("another user is locked")
		}
		elapse(t, r, prefix, lockFor)
		if locked, _ := a.UserLocked(ctx, "u1"); locked {
			t.Error("still locked after the lock duration")
		}

		a.FailUser(ctx, "u1", window, lockFor, 3) // counter 4: locked again
		if err := a.ClearUser(ctx, "u1"); err != nil {
			t.Fatal(err)
		}
		mustNotExist(t, r, counter, lock)
		if n, locked, _ := a.FailUser(ctx, "u1", window, lockFor, 3); n != 1 || locked {
			t.Errorf("failure after ClearUser = %d, %v; want 1, not locked", n, locked)
		}
	})
}

func TestIPTokens(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		ip   string
		want []string
	}{
		{"", nil},
		{"203.0.113.7", []string{"203.0.113.7", "203.0.113.0/24"}},
		{"2001:db8::1", []string{"2001:db8::1"}},
		{"::ffff:203.0.113.7", []string{"::ffff:203.0.113.7"}},
		{"10.1.2", []string{"10.1.2", "10.1.2.0/24"}},
		{"10.1", []string{"10.1"}},
		{"localhost", []string{"localhost"}},
	} {
		t.Run(c.ip, func(t *testing.T) {
			t.Parallel()
			if got := store.IPTokens(c.ip); !slices.Equal(got, c.want) || (got == nil) != (c.want == nil) {
				t.Errorf("IPTokens(%q) = %q, want %q", c.ip, got, c.want)
			}
		})
	}
}

func TestAuthStateIPThrottle(t *testing.T) {
	storetest.ForEachRedis(t, func(t *testing.T, r *store.Redis, prefix string) {
		ctx := t.Context()
		a := store.NewAuthState(r, prefix)
		const window, blockFor = 10 * time.Minute, 15 * time.Minute
		tokens := store.IPTokens("198.51.100.7")
		ipCounter, netCounter := prefix+"auth:ip:counter:198.51.100.7", prefix+"auth:ip:counter:198.51.100.0/24"
		if err := a.FailIP(ctx, tokens, 3, window, blockFor); err != nil {
			t.Fatal(err)
		}
		ttlWithin(t, r, ipCounter, window-5*time.Second, window)
		elapse(t, r, prefix, 5*time.Minute) // the window is fixed from the first failure
		if err := a.FailIP(ctx, store.IPTokens("198.51.100.8"), 3, window, blockFor); err != nil {
			t.Fatal(err)
		}
		ttlWithin(t, r, netCounter, 0, 5*time.Minute)
		if n := r.Get(ctx, netCounter).Val(); n != "2" {
			t.Errorf("/24 counter = %s, want 2", n)
		}
		for _, ip := range []string{"198.51.100.7", "198.51.100.200", ""} {
			if blocked, err := a.IPBlocked(ctx, store.IPTokens(ip)); err != nil || blocked {
				t.Errorf("IPBlocked(%q) before the threshold = %v, %v", ip, blocked, err)
			}
		}

		if err := a.FailIP(ctx, store.IPTokens("198.51.100.9"), 3, window, blockFor); err != nil {
			t.Fatal(err)
		}
		mustExist(t, r, prefix+"auth:ip:block:198.51.100.0/24")
		mustNotExist(t, r, netCounter, prefix+"auth:ip:block:198.51.100.7")
		ttlWithin(t, r, prefix+"auth:ip:block:198.51.100.0/24", blockFor-5*time.Second, blockFor)
		for ip, want := range map[string]bool{"198.51.100.7": true, "198.51.100.200": true, "198.51.101.7": false, "2001:db8::1": false} {
			if blocked, err := a.IPBlocked(ctx, store.IPTokens(ip)); err != nil || blocked != want {
				t.Errorf("IPBlocked(%q) = %v, %v; want %v", ip, blocked, err, want)
			}
		}

		// The single address reaches the threshold on its own too.
		a.FailIP(ctx, tokens, 3, window, blockFor)
		a.FailIP(ctx, tokens, 3, window, blockFor)
		mustExist(t, r, prefix+"auth:ip:block:198.51.100.7")
		mustNotExist(t, r, ipCounter)
		elapse(t, r, prefix, blockFor)
		if blocked, _ := a.IPBlocked(ctx, tokens); blocked {
			t.Error("still blocked after the block duration")
		}

		// A counter found without a TTL gets the window.
		r.Set(ctx, prefix+"auth:ip:counter:2001:db8::1", 1, 0)
		a.FailIP(ctx, store.IPTokens("2001:db8::1"), 50, window, blockFor)
		ttlWithin(t, r, prefix+"auth:ip:counter:2001:db8::1", window-5*time.Second, window)
	})
}

func TestAuthStateOneTimeTokens(t *testing.T) {
	created := time.Date(2026, 11, 6, 12, 0, 0, 123456000, time.UTC)
	token := func(id, user, fingerprint string) store.OneTimeToken {
		return store.OneTimeToken{TokenID: id, UserID: user, Email: user + "@example.com", HashedSecret: "ab12",
			CreatedAt: created, ExpiresAt: created.Add(30 * time.Minute), Fingerprint: fingerprint}
	}
	for _, kind := range []string{store.TokenPasswordReset, store.TokenEmailVerify} {
		t.Run(kind, func(t *testing.T) {
			storetest.ForEachRedis(t, func(t *testing.T, r *store.Redis, prefix string) {
				ctx := t.Context()
				a := store.NewAuthState(r, prefix)
				t1, t2, t3 := token("aaa1", "u1", "fp"), token("aaa2", "u1", ""), token("bbb1", "u2", "")
				set := prefix + "auth:" + kind + ":user:u1"
				for _, s := range []struct {
					t   store.OneTimeToken
					ttl time.Duration
				}{{t1, 30 * time.Minute}, {t2, 10 * time.Minute}, {t3, time.Hour}} {
					if err := a.SaveToken(ctx, kind, s.t, s.ttl); err != nil {
						t.Fatal(err)
					}
				}
				key := prefix + "auth:" + kind + ":aaa1"
				ttlWithin(t, r, key, 30*time.Minute-5*time.Second, 30*time.Minute)
				ttlWithin(t, r, prefix+"auth:"+kind+":aaa2", 10*time.Minute-5*time.Second, 10*time.Minute)
				ttlWithin(t, r, set, 30*time.Minute-5*time.Second, 30*time.Minute) // a shorter token never shortens it
				if ids := r.SMembers(ctx, set).Val(); !cmp.Equal(sorted(ids), []string{"aaa1", "aaa2"}) {
					t.Errorf("set %s = %q", set, ids)
				}

				var raw map[string]any
				if err := json.Unmarshal([]byte(r.Get(ctx, prefix+"auth:"+kind+":aaa2").Val()), &raw); err != nil {
					t.Fatal(err)
				}
				wantRaw := map[string]any{"token_id": "aaa2", "user_id": "u1", "email": "u1@example.com", "hashed_secret": "ab12",
					"created_at": "2026-11-06T12:00:00.123456Z", "expires_at": "2026-11-06T12:30:00.123456Z", "fingerprint": nil}
				if d := cmp.Diff(wantRaw, raw); d != "" {
					t.Errorf("stored JSON (-want +got):\n%s", d)
				}

				got, err := a.Token(ctx, kind, "aaa1")
				if err != nil || !cmp.Equal(got, t1) {
					t.Errorf("Token = %+v, %v; want %+v", got, err, t1)
				}
				other := store.TokenEmailVerify
				if kind == other {
					other = store.TokenPasswordReset
				}
				if _, err := a.Token(ctx, other, "aaa1"); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("Token of the other kind = %v, want ErrNotFound", err)
				}
				if _, err := a.Token(ctx, "session", "aaa1"); err == nil || errors.Is(err, store.ErrNotFound) {
					t.Errorf("Token of an unknown kind = %v, want an error", err)
				}

				if err := a.DeleteToken(ctx, kind, "aaa1", "u1"); err != nil {
					t.Fatal(err)
				}
				if _, err := a.Token(ctx, kind, "aaa1"); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("Token after DeleteToken = %v, want ErrNotFound", err)
				}
				if ids := r.SMembers(ctx, set).Val(); !cmp.Equal(ids, []string{"aaa2"}) {
					t.Errorf("set after DeleteToken = %q", ids)
				}

				a.SaveToken(ctx, kind, token("aaa3", "u1", ""), time.Hour)
				ttlWithin(t, r, set, time.Hour-5*time.Second, time.Hour) // a longer token extends it
				elapse(t, r, prefix, 10*time.Minute)                     // aaa2 expires; its id stays in the set
				n, err := a.DeleteUserTokens(ctx, kind, "u1")
				if err != nil || n != 1 {
					t.Errorf("DeleteUserTokens = %d, %v; want 1 live token deleted", n, err)
				}
				mustNotExist(t, r, set, prefix+"auth:"+kind+":aaa3")
				if _, err := a.Token(ctx, kind, "bbb1"); err != nil {
					t.Errorf("another user's token: %v", err)
				}
				if n, err := a.DeleteUserTokens(ctx, kind, "nobody"); err != nil || n != 0 {
					t.Errorf("DeleteUserTokens of a user without tokens = %d, %v", n, err)
				}
			})
		})
	}
}

func sorted(s []string) []string { slices.Sort(s); return s }

func TestAuthStateNonce(t *testing.T) {
	storetest.ForEachRedis(t, func(t *testing.T, r *store.Redis, prefix string) {
		ctx := t.Context()
		a := store.NewAuthState(r, prefix)
		for _, want := range []bool{true, false, false} {
			if fresh, err := a.UseNonce(ctx, "n-1", time.Hour); err != nil || fresh != want {
				t.Fatalf("UseNonce = %v, %v; want %v", fresh, err, want)
			}
		}
		ttlWithin(t, r, prefix+"auth:nonce:n-1", 295*time.Second, 300*time.Second) // capped at 300 s
		a.UseNonce(ctx, "n-2", 0)
		ttlWithin(t, r, prefix+"auth:nonce:n-2", 0, time.Second) // at least 1 s
		elapse(t, r, prefix, 300*time.Second)
		if fresh, _ := a.UseNonce(ctx, "n-1", time.Minute); !fresh {
			t.Error("nonce still remembered after its TTL")
		}
		if _, err := a.UseNonce(ctx, "", time.Minute); err == nil {
			t.Error("empty nonce accepted")
		}
	})
}

func TestAuthStateServiceTokenCache(t *testing.T) {
	storetest.ForEachRedis(t, func(t *testing.T, r *store.Redis, prefix string) {
		ctx := t.Context()
		a := store.NewAuthState(r, prefix)
		now := time.Date(2026, 11, 6, 12, 0, 0, 0, time.UTC)
		global := store.CachedServiceToken{JTI: "j1", Account: "ci-bot", Scopes: []string{"agents:read", "tools:read"},
			IssuedAt: now.Add(-time.Minute), ExpiresAt: now.Add(90 * time.Second), SigningKID: "k1"}
		tenant := global
		tenant.JTI, tenant.TenantID, tenant.Fingerprint, tenant.SessionID = "j2", "7f0c", "fp", "s1"
		scopeKey := "agents:read tools:read"
		for _, tok := range []store.CachedServiceToken{global, tenant} {
			if err := a.CacheServiceToken(ctx, scopeKey, tok, now); err != nil {
				t.Fatal(err)
			}
		}
		globalKey := prefix + "auth:refresh:ci-bot:global:agents:read tools:read"
		mustExist(t, r, globalKey, prefix+"auth:refresh:ci-bot:7f0c:agents:read tools:read")
		ttlWithin(t, r, globalKey, 85*time.Second, 90*time.Second)

		var raw map[string]any
		if err := json.Unmarshal([]byte(r.Get(ctx, globalKey).Val()), &raw); err != nil {
			t.Fatal(err)
		}
		wantRaw := map[string]any{"jti": "j1", "account": "ci-bot", "tenant_id": nil, "scopes": []any{"agents:read", "tools:read"},
			"expires_at": "2026-11-06T12:01:30Z", "issued_at": "2026-11-06T11:59:00Z", "fingerprint": nil,
			"signing_kid": "k1", "session_id": nil} // metadata only: no token (note 12)
		if d := cmp.Diff(wantRaw, raw); d != "" {
			t.Errorf("cached JSON (-want +got):\n%s", d)
		}

		for _, want := range []store.CachedServiceToken{global, tenant} {
			got, err := a.CachedServiceToken(ctx, "ci-bot", want.TenantID, scopeKey, now)
			if err != nil || !cmp.Equal(got, want) {
				t.Errorf("CachedServiceToken = %+v, %v; want %+v", got, err, want)
			}
		}
		if _, err := a.CachedServiceToken(ctx, "ci-bot", "", "agents:read", now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("other scope key: %v, want ErrNotFound", err)
		}
		// The clock says it expired before Redis dropped it: the read deletes it.
		if _, err := a.CachedServiceToken(ctx, "ci-bot", "", scopeKey, now.Add(90*time.Second)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("expired entry: %v, want ErrNotFound", err)
		}
		mustNotExist(t, r, globalKey)

		if err := a.ForgetServiceToken(ctx, "ci-bot", "7f0c", scopeKey); err != nil {
			t.Fatal(err)
		}
		if _, err := a.CachedServiceToken(ctx, "ci-bot", "7f0c", scopeKey, now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after Forget: %v, want ErrNotFound", err)
		}

		for _, left := range []time.Duration{0, -time.Minute, 999 * time.Millisecond} {
			stale := global
			stale.ExpiresAt = now.Add(left)
			if err := a.CacheServiceToken(ctx, scopeKey, stale, now); err != nil {
				t.Fatal(err)
			}
			mustNotExist(t, r, globalKey)
		}
	})
}
