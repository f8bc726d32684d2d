package store_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"agentplane/store"
	"agentplane/store/storetest"
)

// token returns an unsaved refresh token issued at issued, valid for an hour.
func token(account, tenantID, scopeKey string, issued time.Time) store.RefreshToken {
	return store.RefreshToken{JTI: uuid.NewString(), Account: account, TenantID: tenantID, ScopeKey: scopeKey,
		Scopes: []string{"conversations:read"}, Hash: "hmac", SigningKID: "kid-1",
		IssuedAt: issued, ExpiresAt: issued.Add(time.Hour)}
}

func mkToken(t testing.TB, s *store.Store, tok store.RefreshToken) store.RefreshToken {
	t.Helper()
	if err := s.RefreshTokens().Insert(t.Context(), tok, tok.IssuedAt); err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestRefreshTokenInsertAndByJTI(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx, tokens := t.Context(), s.RefreshTokens()
		u, tn := mkUser(t, s, "ken@example.com"), mkTenant(t, s, "ken")
		sess := mkSession(t, s, u.ID, tn.ID, t0)
		human := store.RefreshToken{JTI: uuid.NewString(), Account: "user:" + u.ID, TenantID: tn.ID,
			ScopeKey: "conversations:read conversations:write", Scopes: []string{"conversations:read", "conversations:write"},
			Hash: "0123abcd", SigningKID: "kid-7", Fingerprint: "fp", SessionID: sess.ID, IssuedAt: at(1), ExpiresAt: at(3600)}
		global := store.RefreshToken{JTI: uuid.NewString(), Account: "analytics-batch", ScopeKey: "",
			Hash: "h", SigningKID: "legacy-hs256", IssuedAt: at(2), ExpiresAt: at(7200)}
		for _, tok := range []store.RefreshToken{human, global} {
			if err := tokens.Insert(ctx, tok, tok.IssuedAt); err != nil {
				t.Fatal(err)
			}
		}
		global.Scopes = []string{} // nil is stored as []
		for _, want := range []store.RefreshToken{human, global} {
			got, err := tokens.ByJTI(ctx, want.JTI)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ByJTI (-want +got):\n%s", diff)
			}
		}
		dup := token("other", "", "x", t0)
		dup.JTI = human.JTI
		var ce *store.ConstraintError // id = refresh_jti: either unique rule may refuse it first
		if err := tokens.Insert(ctx, dup, t0); !errors.As(err, &ce) || !errors.Is(err, store.ErrConflict) ||
			ce.Constraint != "pk_service_account_tokens" && ce.Constraint != "uq_service_account_tokens_jti" {
			t.Errorf("duplicate jti = %v, want ErrConflict", err)
		}
		for _, jti := range []string{uuid.NewString(), "not-a-uuid"} {
			if _, err := tokens.ByJTI(ctx, jti); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("ByJTI(%q) = %v, want ErrNotFound", jti, err)
			}
		}
		// A revoked or expired row is still returned by ByJTI.
		if _, err := tokens.Rotate(ctx, human.JTI, at(10)); err != nil {
			t.Fatal(err)
		}
		if got, err := tokens.ByJTI(ctx, human.JTI); err != nil || got.RevokedAt == nil || got.RevokedReason != "rotated" {
			t.Errorf("ByJTI(rotated) = %+v, %v", got, err)
		}
	})
}

func TestRotate(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx, tokens := t.Context(), s.RefreshTokens()
		u, tn := mkUser(t, s, "leo@example.com"), mkTenant(t, s, "leo")
		tok := mkToken(t, s, token("user:"+u.ID, tn.ID, "conversations:read", t0))

		got, err := tokens.Rotate(ctx, tok.JTI, at(60))
		if err != nil {
			t.Fatal(err)
		}
		want := tok
		want.RevokedAt, want.RevokedReason = ptr(at(60)), "rotated"
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Rotate (-want +got):\n%s", diff)
		}
		if _, err := tokens.Rotate(ctx, tok.JTI, at(61)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second Rotate = %v, want ErrNotFound", err)
		}

		expiring := mkToken(t, s, token("user:"+u.ID, tn.ID, "conversations:read", t0))
		tests := []struct {
			name string
			jti  string
			now  time.Time
		}{
			{"at expiry", expiring.JTI, expiring.ExpiresAt},
			{"after expiry", expiring.JTI, expiring.ExpiresAt.Add(time.Millisecond)},
			{"unknown", uuid.NewString(), t0},
		}
		for _, tc := range tests {
			if _, err := tokens.Rotate(ctx, tc.jti, tc.now); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: Rotate = %v, want ErrNotFound", tc.name, err)
			}
		}
		if got, _ := tokens.ByJTI(ctx, expiring.JTI); got.RevokedAt != nil {
			t.Errorf("an expired token was revoked by Rotate: %+v", got)
		}
		if _, err := tokens.Rotate(ctx, expiring.JTI, expiring.ExpiresAt.Add(-time.Millisecond)); err != nil {
			t.Errorf("Rotate a millisecond before expiry = %v", err)
		}
	})
}

func TestRotateConcurrent(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		u, tn := mkUser(t, s, "mia@example.com"), mkTenant(t, s, "mia")
		tok := mkToken(t, s, token("user:"+u.ID, tn.ID, "conversations:read", t0))
		const n = 20
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { _, errs[i] = s.RefreshTokens().Rotate(t.Context(), tok.JTI, at(1)) })
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, store.ErrNotFound):
				t.Errorf("Rotate = %v, want nil or ErrNotFound", err)
			}
		}
		if won != 1 {
			t.Errorf("%d of %d concurrent rotations succeeded, want exactly 1", won, n)
		}
	})
}

func TestServiceAccountSingleActive(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		tn := mkTenant(t, s, "nina")
		u := mkUser(t, s, "nina@example.com")
		tests := []struct {
			name, account, tenant string
			replaces              bool
		}{
			{"tenant service account", "analytics-batch", tn.ID, true},
			{"global service account", "analytics-batch", "", true},
			{"human tokens are never replaced", "user:" + u.ID, tn.ID, false},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				old := mkToken(t, s, token(tc.account, tc.tenant, "billing:read", at(1)))
				otherScopes := mkToken(t, s, token(tc.account, tc.tenant, "billing:read billing:write", at(1)))
				next := token(tc.account, tc.tenant, "billing:read", at(2))
				err := s.InTx(ctx, func(tx *store.Store) error {
					return tx.RefreshTokens().Insert(ctx, next, at(2))
				})
				if err != nil {
					t.Fatal(err)
				}
				got, err := s.RefreshTokens().ByJTI(ctx, old.JTI)
				if err != nil {
					t.Fatal(err)
				}
				if replaced := got.RevokedAt != nil; replaced != tc.replaces || (replaced && (got.RevokedReason != "replaced" || !got.RevokedAt.Equal(at(2)))) {
					t.Errorf("old token after a new one: revoked %v (%q), want replaced=%v", got.RevokedAt, got.RevokedReason, tc.replaces)
				}
				for _, jti := range []string{next.JTI, otherScopes.JTI} {
					if got, err := s.RefreshTokens().ByJTI(ctx, jti); err != nil || got.RevokedAt != nil {
						t.Errorf("token %s = %+v, %v; want active", jti, got, err)
					}
				}
				active, err := s.RefreshTokens().ActiveServiceAccount(ctx, tc.account, tc.tenant, "billing:read", at(3))
				if err != nil || active.JTI != next.JTI {
					t.Errorf("ActiveServiceAccount = %s, %v; want the new token %s", active.JTI, err, next.JTI)
				}
			})
		}
	})
}

func TestRefreshTokenRevocation(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx, tokens := t.Context(), s.RefreshTokens()
		u, other := mkUser(t, s, "olga@example.com"), mkUser(t, s, "pete@example.com")
		tn := mkTenant(t, s, "olga")
		sessA, sessB := mkSession(t, s, u.ID, tn.ID, t0), mkSession(t, s, u.ID, tn.ID, t0)
		account := "user:" + u.ID
		var inA []store.RefreshToken
		for i := range 3 {
			tok := token(account, tn.ID, "conversations:read", at(i))
			tok.SessionID = sessA.ID
			inA = append(inA, mkToken(t, s, tok))
		}
		inB := token(account, tn.ID, "conversations:read", at(5))
		inB.SessionID = sessB.ID
		mkToken(t, s, inB)
		theirs := mkToken(t, s, token("user:"+other.ID, tn.ID, "conversations:read", t0))

		if ok, err := tokens.Revoke(ctx, inA[0].JTI, "user_logout", at(10)); !ok || err != nil {
			t.Fatalf("Revoke = %v, %v; want true", ok, err)
		}
		if ok, err := tokens.Revoke(ctx, inA[0].JTI, "tenant_admin_manual_revoke", at(11)); ok || err != nil {
			t.Errorf("Revoke of a revoked token = %v, %v; want false", ok, err)
		}
		if ok, err := tokens.Revoke(ctx, uuid.NewString(), "x", at(11)); ok || err != nil {
			t.Errorf("Revoke of an unknown token = %v, %v; want false", ok, err)
		}
		if got, _ := tokens.ByJTI(ctx, inA[0].JTI); got.RevokedReason != "user_logout" || !got.RevokedAt.Equal(at(10)) {
			t.Errorf("first revocation overwritten: %v %q", got.RevokedAt, got.RevokedReason)
		}

		if n, err := tokens.RevokeSession(ctx, sessA.ID, "refresh_reuse_detected", at(12)); err != nil || n != 2 {
			t.Errorf("RevokeSession = %d, %v; want the 2 unrevoked tokens of the session", n, err)
		}
		if n, err := tokens.RevokeSession(ctx, "not-a-uuid", "x", at(12)); err != nil || n != 0 {
			t.Errorf("RevokeSession(non-UUID) = %d, %v; want 0", n, err)
		}
		if got, _ := tokens.ByJTI(ctx, inB.JTI); got.RevokedAt != nil {
			t.Error("RevokeSession revoked another session's token")
		}
		if n, err := tokens.RevokeAccount(ctx, account, "user_logout_all", at(13)); err != nil || n != 1 {
			t.Errorf("RevokeAccount = %d, %v; want 1 (the other session's token)", n, err)
		}
		if n, err := tokens.RevokeAccount(ctx, account, "user_logout_all", at(14)); err != nil || n != 0 {
			t.Errorf("RevokeAccount again = %d, %v; want 0", n, err)
		}
		if got, _ := tokens.ByJTI(ctx, theirs.JTI); got.RevokedAt != nil {
			t.Error("RevokeAccount revoked another account's token")
		}
	})
}

func TestActiveServiceAccount(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx, tokens := t.Context(), s.RefreshTokens()
		tn := mkTenant(t, s, "quinn")
		tok := mkToken(t, s, token("ci-bot", tn.ID, "tools:run", t0))
		tests := []struct {
			name, account, tenant, scopeKey string
			now                             time.Time
			found                           bool
		}{
			{"match", "ci-bot", tn.ID, "tools:run", at(1), true},
			{"upper-case tenant id", "ci-bot", strings.ToUpper(tn.ID), "tools:run", at(1), true},
			{"expired", "ci-bot", tn.ID, "tools:run", tok.ExpiresAt, false},
			{"other tenant", "ci-bot", uuid.NewString(), "tools:run", at(1), false},
			{"global", "ci-bot", "", "tools:run", at(1), false},
			{"tenant not a UUID", "ci-bot", "quinn", "tools:run", at(1), false},
			{"other scopes", "ci-bot", tn.ID, "tools:run tools:read", at(1), false},
			{"other account", "cd-bot", tn.ID, "tools:run", at(1), false},
		}
		for _, tc := range tests {
			got, err := tokens.ActiveServiceAccount(ctx, tc.account, tc.tenant, tc.scopeKey, tc.now)
			switch {
			case tc.found && (err != nil || got.JTI != tok.JTI):
				t.Errorf("%s: = %s, %v; want %s", tc.name, got.JTI, err, tok.JTI)
			case !tc.found && !errors.Is(err, store.ErrNotFound):
				t.Errorf("%s: = %s, %v; want ErrNotFound", tc.name, got.JTI, err)
			}
		}
		if _, err := tokens.Revoke(ctx, tok.JTI, "tenant_admin_manual_revoke", at(2)); err != nil {
			t.Fatal(err)
		}
		if _, err := tokens.ActiveServiceAccount(ctx, "ci-bot", tn.ID, "tools:run", at(3)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("revoked: = %v, want ErrNotFound", err)
		}
	})
}

func TestRefreshTokenList(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		u := mkUser(t, s, "rita@example.com")
		a, b := mkTenant(t, s, "a"), mkTenant(t, s, "b")
		now := at(100)
		withFP := func(tok store.RefreshToken, fp string) store.RefreshToken { tok.Fingerprint = fp; return tok }
		// issued at increasing times, so the newest-first order is the reverse of this list
		aBot := mkToken(t, s, withFP(token("Analytics-Bot", a.ID, "x", at(1)), "fp-1"))
		bBot := mkToken(t, s, token("analytics-bot", b.ID, "x", at(2)))
		global := mkToken(t, s, token("ops_100%", "", "x", at(3)))
		human := mkToken(t, s, withFP(token("user:"+u.ID, a.ID, "y", at(4)), "fp-1"))
		revoked := mkToken(t, s, token("revoked-bot", a.ID, "x", at(5)))
		expired := token("old-bot", a.ID, "x", at(6))
		expired.ExpiresAt = at(50)
		mkToken(t, s, expired)
		if _, err := s.RefreshTokens().Revoke(ctx, revoked.JTI, "tenant_admin_manual_revoke", at(7)); err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			name   string
			filter store.TokenFilter
			want   []store.RefreshToken
			total  int
		}{
			{"default is active, every tenant", store.TokenFilter{}, []store.RefreshToken{human, global, bBot, aBot}, 4},
			{"all", store.TokenFilter{Status: "all"}, []store.RefreshToken{expired, revoked, human, global, bBot, aBot}, 6},
			{"revoked", store.TokenFilter{Status: "revoked"}, []store.RefreshToken{revoked}, 1},
			{"tenant", store.TokenFilter{TenantID: a.ID}, []store.RefreshToken{human, aBot}, 2},
			{"tenant and global", store.TokenFilter{TenantID: a.ID, IncludeGlobal: true}, []store.RefreshToken{human, global, aBot}, 3},
			{"global alone lists all", store.TokenFilter{IncludeGlobal: true}, []store.RefreshToken{human, global, bBot, aBot}, 4},
			{"service accounts only", store.TokenFilter{TenantID: a.ID, ServiceAccountsOnly: true, Status: "all"}, []store.RefreshToken{expired, revoked, aBot}, 3},
			{"account substring, any case", store.TokenFilter{AccountContains: "TICS-b"}, []store.RefreshToken{bBot, aBot}, 2},
			{"account wildcards are literal", store.TokenFilter{AccountContains: "_100%"}, []store.RefreshToken{global}, 1},
			{"account underscore is literal", store.TokenFilter{AccountContains: "s_b"}, nil, 0},
			{"fingerprint", store.TokenFilter{Fingerprint: "fp-1"}, []store.RefreshToken{human, aBot}, 2},
			{"fingerprint is exact", store.TokenFilter{Fingerprint: "FP-1"}, nil, 0},
			{"page", store.TokenFilter{Status: "all", Limit: 2, Offset: 1}, []store.RefreshToken{revoked, human}, 6},
			{"unknown tenant", store.TokenFilter{TenantID: uuid.NewString()}, nil, 0},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, total, err := s.RefreshTokens().List(ctx, tc.filter, now)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(jtis(tc.want), jtis(got)); diff != "" || total != tc.total {
					t.Errorf("total %d, want %d; jtis (-want +got):\n%s", total, tc.total, diff)
				}
			})
		}
		if _, _, err := s.RefreshTokens().List(ctx, store.TokenFilter{Status: "expired"}, now); err == nil {
			t.Error("an unknown status was accepted")
		}
	})
}

func jtis(ts []store.RefreshToken) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.JTI)
	}
	return out
}

// BenchmarkRotate measures the refresh write path of POST /auth/refresh
// (spec: auth-and-keys.md §8.4, §18.2 note 13): in one transaction, rotate
// the presented token, upsert the session, insert the new token.
func BenchmarkRotate(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchmarkRotate(b, storetest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchmarkRotate(b, storetest.Postgres(b)) })
}

func benchmarkRotate(b *testing.B, s *store.Store) {
	u, tn := mkUser(b, s, "bench@example.com"), mkTenant(b, s, "bench")
	type chain struct {
		sess store.Session
		tok  store.RefreshToken
	}
	// One session and token chain per RunParallel goroutine, made up front.
	n := runtime.GOMAXPROCS(0)
	chains := make(chan chain, n)
	for range n {
		c := chain{sess: mkSession(b, s, u.ID, tn.ID, t0), tok: token("user:"+u.ID, tn.ID, "conversations:read conversations:write", t0)}
		c.tok.SessionID, c.tok.ExpiresAt = c.sess.ID, t0.Add(24*time.Hour)
		mkToken(b, s, c.tok)
		chains <- c
	}
	now := at(1)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx, c := b.Context(), <-chains
		for pb.Next() {
			next := c.tok
			next.JTI, next.IssuedAt = uuid.NewString(), now
			c.sess.RefreshJTI, c.sess.UserAgent = next.JTI, "Mozilla/5.0 (bench)"
			err := s.InTx(ctx, func(tx *store.Store) error {
				if _, err := tx.RefreshTokens().Rotate(ctx, c.tok.JTI, now); err != nil {
					return err
				}
				if err := tx.Sessions().Upsert(ctx, c.sess, now); err != nil {
					return err
				}
				return tx.RefreshTokens().Insert(ctx, next, now)
			})
			if err != nil {
				b.Error(err) // a fast failure proves nothing
				return
			}
			c.tok = next
		}
	})
}

// RotateTo writes a refresh's rotation, session and next token together, or
// nothing when the token is not an active one of the account.
func TestRotateTo(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx, tokens := t.Context(), s.RefreshTokens()
		u, tn := mkUser(t, s, "rosa@example.com"), mkTenant(t, s, "rosa")
		account := "user:" + u.ID
		sess := mkSession(t, s, u.ID, tn.ID, t0)
		tok := token(account, tn.ID, "conversations:read", t0)
		tok.SessionID = sess.ID
		mkToken(t, s, tok)

		rotate := func(jti, account string, now time.Time) (store.Session, store.RefreshToken, error) {
			next := token("user:"+u.ID, tn.ID, "conversations:read", now)
			next.SessionID, next.Fingerprint = sess.ID, "fp-2"
			upd := sess
			upd.RefreshJTI, upd.UserAgent, upd.IPMasked = next.JTI, "agent/2", "203.0.113.0"
			return upd, next, tokens.RotateTo(ctx, jti, account, upd, next, now)
		}

		for _, tc := range []struct {
			name, jti, account string
			now                time.Time
		}{
			{"another account", tok.JTI, "user:" + uuid.NewString(), at(10)},
			{"unknown token", uuid.NewString(), account, at(10)},
			{"expired", tok.JTI, account, tok.ExpiresAt},
		} {
			_, next, err := rotate(tc.jti, tc.account, tc.now)
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: RotateTo = %v, want ErrNotFound", tc.name, err)
			}
			if _, err := tokens.ByJTI(ctx, next.JTI); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: the next token was stored (%v)", tc.name, err)
			}
		}
		if got, _ := tokens.ByJTI(ctx, tok.JTI); got.RevokedAt != nil {
			t.Fatalf("a refused RotateTo revoked the token: %+v", got)
		}

		upd, next, err := rotate(tok.JTI, account, at(60))
		if err != nil {
			t.Fatal(err)
		}
		old, _ := tokens.ByJTI(ctx, tok.JTI)
		if old.RevokedAt == nil || !old.RevokedAt.Equal(at(60)) || old.RevokedReason != "rotated" {
			t.Errorf("rotated token = %+v, want revoked at %v, rotated", old, at(60))
		}
		stored, err := tokens.ByJTI(ctx, next.JTI)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(next, stored); diff != "" {
			t.Errorf("next token (-want +got):\n%s", diff)
		}
		gotSess, err := s.Sessions().Get(ctx, u.ID, sess.ID)
		if err != nil {
			t.Fatal(err)
		}
		if gotSess.RefreshJTI != upd.RefreshJTI || gotSess.UserAgent != "agent/2" || gotSess.IPMasked != "203.0.113.0" ||
			gotSess.LastSeenAt == nil || !gotSess.LastSeenAt.Equal(at(60)) {
			t.Errorf("session after RotateTo = %+v", gotSess)
		}
		if _, _, err := rotate(tok.JTI, account, at(61)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second RotateTo of one token = %v, want ErrNotFound", err)
		}
	})
}

// ForRefresh reads what ByJTI, Users.ByID and Tenants.Membership read, in one
// query.
func TestForRefresh(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx, tokens := t.Context(), s.RefreshTokens()
		u, tn, other := mkUser(t, s, "mia@example.com"), mkTenant(t, s, "mia"), mkTenant(t, s, "elsewhere")
		if err := s.Tenants().AddMember(ctx, store.Membership{ID: uuid.NewString(), UserID: u.ID, TenantID: tn.ID,
			Role: "owner", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		tok := mkToken(t, s, token("user:"+u.ID, tn.ID, "conversations:read", t0))
		for _, tc := range []struct {
			name, user, tenant string
			wantUser           bool
		}{
			{"member", u.ID, tn.ID, true},
			{"member, upper-case user id", strings.ToUpper(u.ID), tn.ID, true},
			{"not a member", u.ID, other.ID, true},
			{"unknown tenant", u.ID, uuid.NewString(), true},
			{"unknown user", uuid.NewString(), tn.ID, false},
			{"user id not a UUID", "user-7", tn.ID, false},
			{"tenant id not a UUID", u.ID, "tenant-7", true},
			{"no tenant id", u.ID, "", true},
		} {
			got, err := tokens.ForRefresh(ctx, tok.JTI, tc.user, tc.tenant)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			wantTok, _ := tokens.ByJTI(ctx, tok.JTI)
			wantUser, uerr := s.Users().ByID(ctx, tc.user)
			if (uerr == nil) != tc.wantUser || got.UserFound != tc.wantUser {
				t.Fatalf("%s: UserFound %v, ByID error %v; want found %v", tc.name, got.UserFound, uerr, tc.wantUser)
			}
			wantM, merr := s.Tenants().Membership(ctx, tc.user, tc.tenant)
			if merr != nil && !errors.Is(merr, store.ErrNotFound) {
				t.Fatal(merr)
			}
			want := store.RefreshRead{Token: wantTok, User: wantUser, UserFound: tc.wantUser, Membership: wantM, Member: merr == nil}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.name, diff)
			}
		}
		if _, err := tokens.ForRefresh(ctx, uuid.NewString(), u.ID, tn.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown token: %v, want ErrNotFound", err)
		}
		// A point read is not watched for cancellation (pointRow): it
		// answers even for a caller that has gone.
		gone, cancel := context.WithCancel(ctx)
		cancel()
		if got, err := tokens.ForRefresh(gone, tok.JTI, u.ID, tn.ID); err != nil || got.Token.JTI != tok.JTI || !got.Member {
			t.Errorf("cancelled caller: %+v, %v", got, err)
		}
		if got, err := tokens.ByJTI(gone, tok.JTI); err != nil || got.JTI != tok.JTI {
			t.Errorf("cancelled caller, ByJTI: %+v, %v", got, err)
		}
	})
}

// RotateTo records the session as Sessions.Upsert does, whether the session
// is there (revoked or not, given a new location or none) or not. Outside a
// transaction on Postgres RotateTo is one statement, inside one it takes
// the SQLite path: both are checked.
func TestRotateToRecordsTheSessionAsUpsert(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		u, tn := mkUser(t, s, "lena@example.com"), mkTenant(t, s, "lena")
		account := "user:" + u.ID
		before := store.Session{UserID: u.ID, TenantID: tn.ID, Fingerprint: "fp-1", IPHash: "h-1",
			IPEncrypted: []byte("enc-1"), IPMasked: "10.0.0.*", UserAgent: "agent/1", ClientPlatform: "macOS",
			ClientBrowser: "Safari", ClientDevice: "desktop", LocationCity: "Berlin", LocationRegion: "BE", LocationCountry: "DE"}
		plain := store.Session{UserID: u.ID, TenantID: tn.ID, Fingerprint: "fp-2", IPHash: "h-2",
			IPEncrypted: []byte("enc-2"), IPMasked: "203.0.113.*", UserAgent: "agent/2", ClientPlatform: "Linux",
			ClientBrowser: "Firefox", ClientDevice: "mobile"}
		located := plain
		located.LocationCity, located.LocationRegion, located.LocationCountry = "Lyon", "ARA", "FR"
		for _, tc := range []struct {
			name            string
			exists, revoked bool
			req             store.Session
		}{
			{"there, no new location", true, false, plain},
			{"there, a new location", true, false, located},
			{"revoked", true, true, plain},
			{"not there", false, false, located},
		} {
			for _, inTx := range []bool{false, true} {
				// Two sessions alike: RotateTo records the first, Upsert the second.
				var got [2]store.Session
				var nextJTI string
				for i := range got {
					id := uuid.NewString()
					if tc.exists {
						b := before
						b.ID, b.RefreshJTI = id, uuid.NewString()
						if err := s.Sessions().Upsert(ctx, b, at(1)); err != nil {
							t.Fatal(err)
						}
						if tc.revoked {
							if _, err := s.Sessions().Revoke(ctx, id, "logout", at(2)); err != nil {
								t.Fatal(err)
							}
						}
					}
					req := tc.req
					req.ID, req.RefreshJTI = id, uuid.NewString()
					if i == 0 {
						old := token(account, tn.ID, "conversations:read", at(3))
						mkToken(t, s, old)
						next := token(account, tn.ID, "conversations:read", at(4))
						next.SessionID, req.RefreshJTI, nextJTI = id, next.JTI, next.JTI
						rotate := func(st *store.Store) error {
							return st.RefreshTokens().RotateTo(ctx, old.JTI, account, req, next, at(4))
						}
						var err error
						if inTx {
							err = s.InTx(ctx, rotate)
						} else {
							err = rotate(s)
						}
						if err != nil {
							t.Fatalf("%s: RotateTo: %v", tc.name, err)
						}
					} else if err := s.Sessions().Upsert(ctx, req, at(4)); err != nil {
						t.Fatal(err)
					}
					sess, err := s.Sessions().Get(ctx, u.ID, id)
					if err != nil {
						t.Fatalf("%s: %v", tc.name, err)
					}
					got[i] = sess
				}
				if got[0].RefreshJTI != nextJTI {
					t.Errorf("%s (in a transaction: %v): refresh_jti %s, want the next token's %s", tc.name, inTx, got[0].RefreshJTI, nextJTI)
				}
				for i := range got {
					got[i].ID, got[i].RefreshJTI = "", ""
				}
				if diff := cmp.Diff(got[1], got[0]); diff != "" {
					t.Errorf("%s (in a transaction: %v): RotateTo's session differs from Upsert's (-upsert +rotate):\n%s", tc.name, inTx, diff)
				}
			}
		}
	})
}
