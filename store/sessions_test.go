package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"agentplane/store"
	"agentplane/store/storetest"
)

func mkSession(t testing.TB, s *store.Store, userID, tenantID string, now time.Time) store.Session {
	t.Helper()
	sess := store.Session{ID: uuid.NewString(), UserID: userID, TenantID: tenantID, RefreshJTI: uuid.NewString()}
	if err := s.Sessions().Upsert(t.Context(), sess, now); err != nil {
		t.Fatal(err)
	}
	return sess
}

func ptr(t time.Time) *time.Time { return &t }

func TestSessionUpsert(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx, sessions := t.Context(), s.Sessions()
		u, tn := mkUser(t, s, "ivan@example.com"), mkTenant(t, s, "ivan")
		first := store.Session{ID: uuid.NewString(), UserID: u.ID, TenantID: tn.ID, RefreshJTI: "jti-1",
			Fingerprint: "fp-1", IPHash: "iphash-1", IPEncrypted: []byte("gAAAAA-1"), IPMasked: "10.0.0.*",
			UserAgent: "Mozilla/5.0 (Macintosh)", ClientPlatform: "macOS", ClientBrowser: "Safari", ClientDevice: "desktop",
			LocationCity: "Berlin", LocationRegion: "BE", LocationCountry: "DE"}
		if err := sessions.Upsert(ctx, first, at(1)); err != nil {
			t.Fatal(err)
		}
		got, err := sessions.Get(ctx, u.ID, first.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := first
		want.CreatedAt, want.UpdatedAt, want.LastSeenAt = at(1), at(1), ptr(at(1))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("created (-want +got):\n%s", diff)
		}

		if ok, err := sessions.Revoke(ctx, first.ID, "user_logout", at(2)); !ok || err != nil {
			t.Fatalf("Revoke = %v, %v; want true", ok, err)
		}
		if ok, err := sessions.Revoke(ctx, first.ID, "again", at(3)); ok || err != nil {
			t.Errorf("second Revoke = %v, %v; want false", ok, err)
		}
		if got, _ := sessions.Get(ctx, u.ID, first.ID); got.RevokedAt == nil || !got.RevokedAt.Equal(at(2)) || got.RevokedReason != "user_logout" {
			t.Errorf("revoked = %v %q, want %v user_logout", got.RevokedAt, got.RevokedReason, at(2))
		}

		// The refresh: new jti and client, no location found, IP unknown.
		second := store.Session{ID: first.ID, UserID: u.ID, TenantID: tn.ID, RefreshJTI: "jti-2", Fingerprint: "fp-2",
			UserAgent: "curl/8", ClientDevice: "desktop"}
		if err := sessions.Upsert(ctx, second, at(10)); err != nil {
			t.Fatal(err)
		}
		got, err = sessions.Get(ctx, u.ID, first.ID)
		if err != nil {
			t.Fatal(err)
		}
		want = second
		want.LocationCity, want.LocationRegion, want.LocationCountry = "Berlin", "BE", "DE" // kept
		want.CreatedAt, want.UpdatedAt, want.LastSeenAt = at(1), at(10), ptr(at(10))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("upserted again (-want +got):\n%s", diff)
		}

		// A new location replaces the whole old one.
		second.LocationCountry = "FR"
		if err := sessions.Upsert(ctx, second, at(11)); err != nil {
			t.Fatal(err)
		}
		if got, _ := sessions.Get(ctx, u.ID, first.ID); got.LocationCity != "" || got.LocationRegion != "" || got.LocationCountry != "FR" {
			t.Errorf("location = %q %q %q, want only FR", got.LocationCity, got.LocationRegion, got.LocationCountry)
		}

		other := store.Session{ID: uuid.NewString(), UserID: u.ID, TenantID: tn.ID, RefreshJTI: "jti-2"}
		wantConflict(t, sessions.Upsert(ctx, other, at(12)), "uq_user_sessions_refresh_jti")
	})
}

func TestSessionList(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx, sessions := t.Context(), s.Sessions()
		u, stranger := mkUser(t, s, "judy@example.com"), mkUser(t, s, "mallory@example.com")
		t1, t2 := mkTenant(t, s, "one"), mkTenant(t, s, "two")
		seen1 := mkSession(t, s, u.ID, t1.ID, at(1))
		seen3 := mkSession(t, s, u.ID, t2.ID, at(3))
		revoked := mkSession(t, s, u.ID, t1.ID, at(2))
		never := mkSession(t, s, u.ID, t1.ID, at(5)) // newest, but never seen: last
		mkSession(t, s, stranger.ID, t1.ID, at(9))
		if ok, err := sessions.Revoke(ctx, revoked.ID, "user_session_manual_revoke", at(4)); !ok || err != nil {
			t.Fatal(ok, err)
		}
		if _, err := s.ExecT(ctx, `UPDATE user_sessions SET last_seen_at = NULL WHERE id = $1`, never.ID); err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			name      string
			filter    store.SessionFilter
			want      []store.Session
			wantTotal int
		}{
			{"unrevoked", store.SessionFilter{}, []store.Session{seen3, seen1, never}, 3},
			{"with revoked", store.SessionFilter{IncludeRevoked: true}, []store.Session{seen3, revoked, seen1, never}, 4},
			{"tenant", store.SessionFilter{TenantID: t1.ID}, []store.Session{seen1, never}, 2},
			{"tenant with revoked", store.SessionFilter{TenantID: t1.ID, IncludeRevoked: true}, []store.Session{revoked, seen1, never}, 3},
			{"page", store.SessionFilter{Limit: 1, Offset: 1}, []store.Session{seen1}, 3},
			{"past the end", store.SessionFilter{Limit: 10, Offset: 10}, nil, 3},
			{"unknown tenant", store.SessionFilter{TenantID: uuid.NewString()}, nil, 0},
			{"tenant not a UUID", store.SessionFilter{TenantID: "one"}, nil, 0},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, total, err := sessions.ListForUser(ctx, u.ID, tc.filter)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(sessionIDs(tc.want), sessionIDs(got)); diff != "" || total != tc.wantTotal {
					t.Errorf("total %d, want %d; ids (-want +got):\n%s", total, tc.wantTotal, diff)
				}
			})
		}

		if _, err := sessions.Get(ctx, stranger.ID, seen1.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another user's session = %v, want ErrNotFound", err)
		}
		for _, id := range []string{uuid.NewString(), "not-a-uuid"} {
			if _, err := sessions.Get(ctx, u.ID, id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Get(%q) = %v, want ErrNotFound", id, err)
			}
		}
		if ok, err := sessions.Revoke(ctx, "not-a-uuid", "x", at(6)); ok || err != nil {
			t.Errorf("Revoke(non-UUID) = %v, %v; want false, nil", ok, err)
		}

		n, err := sessions.RevokeAllForUser(ctx, u.ID, "user_logout_all", at(7))
		if err != nil || n != 3 {
			t.Errorf("RevokeAllForUser = %d, %v; want 3", n, err)
		}
		if n, err := sessions.RevokeAllForUser(ctx, u.ID, "user_logout_all", at(8)); err != nil || n != 0 {
			t.Errorf("RevokeAllForUser again = %d, %v; want 0", n, err)
		}
		if got, _ := sessions.Get(ctx, u.ID, revoked.ID); got.RevokedReason != "user_session_manual_revoke" {
			t.Errorf("an already revoked session's reason became %q", got.RevokedReason)
		}
		if _, total, _ := sessions.ListForUser(ctx, stranger.ID, store.SessionFilter{}); total != 1 {
			t.Errorf("another user's sessions: %d unrevoked, want 1", total)
		}
	})
}

func sessionIDs(ss []store.Session) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.ID)
	}
	return out
}
