package store_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"agentplane/store"
	"agentplane/store/storetest"
)

// t0 is the fixed clock of the auth repository tests.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

func mkUser(t testing.TB, s *store.Store, email string) store.User {
	t.Helper()
	u := store.User{ID: uuid.NewString(), Email: email, PasswordHash: "hash-" + email, PasswordVersion: "v2",
		Status: "active", CreatedAt: t0, UpdatedAt: t0}
	if err := s.Users().Create(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func mkTenant(t testing.TB, s *store.Store, slug string) store.Tenant {
	t.Helper()
	tn := store.Tenant{ID: uuid.NewString(), Slug: slug, Name: "Tenant " + slug, CreatedAt: t0}
	if err := s.Tenants().Create(t.Context(), tn); err != nil {
		t.Fatal(err)
	}
	return tn
}

// wantConflict fails unless err is ErrConflict with a ConstraintError naming constraint.
func wantConflict(t *testing.T, err error, constraint string) {
	t.Helper()
	var ce *store.ConstraintError
	if !errors.Is(err, store.ErrConflict) || !errors.As(err, &ce) || ce.Constraint != constraint {
		t.Fatalf("err = %v, want ErrConflict on %s", err, constraint)
	}
}

func TestUsersCreateAndGet(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx, users := t.Context(), s.Users()
		verified := at(5)
		want := store.User{ID: uuid.NewString(), Email: "Alice@Example.com", PasswordHash: "$2b$12$x",
			PasswordVersion: "v1", Status: "pending", CreatedAt: at(1), UpdatedAt: at(2), EmailVerifiedAt: &verified}
		if err := users.Create(ctx, want); err != nil {
			t.Fatal(err)
		}
		got, err := users.ByID(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ByID (-want +got):\n%s", diff)
		}
		for _, email := range []string{"alice@example.com", "ALICE@EXAMPLE.COM", "Alice@Example.com"} {
			got, err := users.ByEmail(ctx, email)
			if err != nil || got.ID != want.ID {
				t.Errorf("ByEmail(%q) = %s, %v; want %s", email, got.ID, err, want.ID)
			}
		}
		dup := want
		dup.ID, dup.Email = uuid.NewString(), "aLiCe@example.COM"
		wantConflict(t, users.Create(ctx, dup), "uq_users_email")
		wantConflict(t, users.Create(ctx, store.User{ID: want.ID, Email: "other@example.com", PasswordHash: "h",
			CreatedAt: t0, UpdatedAt: t0}), "pk_users")

		defaults := store.User{ID: uuid.NewString(), Email: "d@example.com", PasswordHash: "h", CreatedAt: t0, UpdatedAt: t0}
		if err := users.Create(ctx, defaults); err != nil {
			t.Fatal(err)
		}
		if got, _ := users.ByID(ctx, strings.ToUpper(defaults.ID)); got.Status != "pending" || got.PasswordVersion != "v1" || got.EmailVerifiedAt != nil {
			t.Errorf("defaults = %+v, want pending, v1, unverified", got)
		}
	})
}

func TestUsersNotFound(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx, users := t.Context(), s.Users()
		mkUser(t, s, "bob@example.com")
		tests := []struct {
			name string
			call func() error
		}{
			{"ByEmail unknown", func() error { _, err := users.ByEmail(ctx, "nobody@example.com"); return err }},
			{"ByID unknown", func() error { _, err := users.ByID(ctx, uuid.NewString()); return err }},
			{"ByID not a UUID", func() error { _, err := users.ByID(ctx, "not-a-uuid"); return err }},
			{"ByID empty", func() error { _, err := users.ByID(ctx, ""); return err }},
			{"SetPassword unknown", func() error { return users.SetPassword(ctx, uuid.NewString(), "h", "v2", t0) }},
			{"SetPassword not a UUID", func() error { return users.SetPassword(ctx, "x", "h", "v2", t0) }},
			{"SetStatus unknown", func() error { return users.SetStatus(ctx, uuid.NewString(), "locked", t0) }},
			{"MarkEmailVerified unknown", func() error { return users.MarkEmailVerified(ctx, uuid.NewString(), t0) }},
			{"MarkEmailVerified not a UUID", func() error { return users.MarkEmailVerified(ctx, "1", t0) }},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if err := tc.call(); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("err = %v, want ErrNotFound", err)
				}
			})
		}
	})
}

func TestUsersUpdates(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx, users := t.Context(), s.Users()
		u := mkUser(t, s, "carol@example.com")
		if err := users.SetPassword(ctx, u.ID, "new-hash", "v2", at(10)); err != nil {
			t.Fatal(err)
		}
		if err := users.SetStatus(ctx, u.ID, "locked", at(20)); err != nil {
			t.Fatal(err)
		}
		got, err := users.ByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.PasswordHash != "new-hash" || got.PasswordVersion != "v2" || got.Status != "locked" ||
			!got.UpdatedAt.Equal(at(20)) || !got.CreatedAt.Equal(t0) {
			t.Errorf("after updates = %+v", got)
		}

		tests := []struct{ status, want string }{
			{"pending", "active"}, {"active", "active"}, {"disabled", "disabled"}, {"locked", "locked"},
		}
		for _, tc := range tests {
			t.Run(tc.status, func(t *testing.T) {
				u := mkUser(t, s, tc.status+"@verify.example")
				if err := users.SetStatus(ctx, u.ID, tc.status, at(1)); err != nil {
					t.Fatal(err)
				}
				if err := users.MarkEmailVerified(ctx, u.ID, at(30)); err != nil {
					t.Fatal(err)
				}
				got, err := users.ByID(ctx, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Status != tc.want || got.EmailVerifiedAt == nil || !got.EmailVerifiedAt.Equal(at(30)) || !got.UpdatedAt.Equal(at(30)) {
					t.Errorf("verified %s user = %+v, want status %s verified at %v", tc.status, got, tc.want, at(30))
				}
			})
		}
	})
}

func TestUsersProfileAndLoginEvents(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx, users := t.Context(), s.Users()
		u := mkUser(t, s, "dave@example.com")
		tn := mkTenant(t, s, "dave")
		if err := users.CreateProfile(ctx, uuid.NewString(), u.ID, "Dave", t0); err != nil {
			t.Fatal(err)
		}
		wantConflict(t, users.CreateProfile(ctx, uuid.NewString(), u.ID, "", t0), "uq_user_profiles_user_id")
		other := mkUser(t, s, "erin@example.com")
		if err := users.CreateProfile(ctx, uuid.NewString(), other.ID, "", t0); err != nil {
			t.Fatal(err)
		}
		var nullNames int
		if err := s.QueryRowT(ctx, `SELECT count(*) FROM user_profiles WHERE display_name IS NULL`).Scan(&nullNames); err != nil || nullNames != 1 {
			t.Errorf("profiles without a display name = %d, %v; want 1", nullNames, err)
		}

		events := []store.LoginEvent{
			{ID: uuid.NewString(), UserID: u.ID, TenantID: tn.ID, IPHash: "abc", UserAgent: "curl/8", Result: "success", Reason: "login", CreatedAt: at(1)},
			{ID: uuid.NewString(), UserID: u.ID, IPHash: "unknown", Result: "failure", Reason: "invalid_password", CreatedAt: at(2)},
		}
		for _, e := range events {
			if err := users.AddLoginEvent(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		var withTenant, bare int
		err := s.QueryRowT(ctx, `SELECT
			(SELECT count(*) FROM user_login_events WHERE tenant_id = $1 AND user_agent = 'curl/8' AND result = 'success'),
			(SELECT count(*) FROM user_login_events WHERE tenant_id IS NULL AND user_agent IS NULL AND reason = 'invalid_password')`,
			tn.ID).Scan(&withTenant, &bare)
		if err != nil || withTenant != 1 || bare != 1 {
			t.Errorf("login events: %d with tenant, %d without, %v; want 1 and 1", withTenant, bare, err)
		}
	})
}

func TestPasswordHistory(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx, users := t.Context(), s.Users()
		u := mkUser(t, s, "frank@example.com")
		other := mkUser(t, s, "grace@example.com")
		for i := range 5 {
			if err := users.AddPasswordHistory(ctx, uuid.NewString(), u.ID, "h"+string(rune('0'+i)), "v2", at(i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := users.AddPasswordHistory(ctx, uuid.NewString(), other.ID, "theirs", "v1", at(9)); err != nil {
			t.Fatal(err)
		}
		hashes := func(n int) []string {
			t.Helper()
			recs, err := users.RecentPasswords(ctx, u.ID, n)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, r := range recs {
				out = append(out, r.Hash)
			}
			return out
		}
		recent, err := users.RecentPasswords(ctx, u.ID, 1)
		if err != nil || len(recent) != 1 || recent[0] != (store.PasswordRecord{Hash: "h4", Version: "v2", CreatedAt: at(4)}) {
			t.Errorf("RecentPasswords(1) = %+v, %v", recent, err)
		}
		tests := []struct {
			name string
			trim int // -1: no trim
			n    int
			want []string
		}{
			{"newest three", -1, 3, []string{"h4", "h3", "h2"}},
			{"more than there are", -1, 10, []string{"h4", "h3", "h2", "h1", "h0"}},
			{"n zero", -1, 0, nil},
			{"n negative", -1, -2, nil},
			{"trim to two", 2, 10, []string{"h4", "h3"}},
			{"trim to more than left", 5, 10, []string{"h4", "h3"}},
			{"trim zero deletes all", 0, 10, nil},
		}
		for _, tc := range tests {
			if tc.trim >= 0 {
				if err := users.TrimPasswordHistory(ctx, u.ID, tc.trim); err != nil {
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff(tc.want, hashes(tc.n)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.name, diff)
			}
		}
		if recs, err := users.RecentPasswords(ctx, other.ID, 5); err != nil || len(recs) != 1 {
			t.Errorf("another user's history = %v, %v; want untouched", recs, err)
		}
	})
}

func TestTenants(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx, tenants := t.Context(), s.Tenants()
		acme := store.Tenant{ID: uuid.NewString(), Slug: "acme", Name: "Acme Inc", CreatedAt: at(3)}
		if err := tenants.Create(ctx, acme); err != nil {
			t.Fatal(err)
		}
		wantConflict(t, tenants.Create(ctx, store.Tenant{ID: uuid.NewString(), Slug: "acme", Name: "x", CreatedAt: t0}),
			"uq_tenant_accounts_slug")
		for slug, want := range map[string]bool{"acme": true, "acme-2": false, "": false} {
			if got, err := tenants.SlugTaken(ctx, slug); err != nil || got != want {
				t.Errorf("SlugTaken(%q) = %v, %v; want %v", slug, got, err, want)
			}
		}
		got, err := tenants.ByID(ctx, acme.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(acme, got); diff != "" {
			t.Errorf("ByID (-want +got):\n%s", diff)
		}
		for _, id := range []string{uuid.NewString(), "acme", ""} {
			if _, err := tenants.ByID(ctx, id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("ByID(%q) = %v, want ErrNotFound", id, err)
			}
		}
		if got, err := tenants.BySlug(ctx, "acme"); err != nil || !cmp.Equal(got, acme) {
			t.Errorf("BySlug(acme) = %+v, %v; want %+v", got, err, acme)
		}
		if _, err := tenants.BySlug(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("BySlug(nobody) = %v, want ErrNotFound", err)
		}
	})
}

func TestMemberships(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx, tenants := t.Context(), s.Tenants()
		u := mkUser(t, s, "heidi@example.com")
		a, b := mkTenant(t, s, "a"), mkTenant(t, s, "b")
		// added newest first, listed oldest first
		mb := store.Membership{ID: uuid.NewString(), UserID: u.ID, TenantID: b.ID, Role: "member", CreatedAt: at(2)}
		ma := store.Membership{ID: uuid.NewString(), UserID: u.ID, TenantID: a.ID, Role: "owner", CreatedAt: at(1)}
		for _, m := range []store.Membership{mb, ma} {
			if err := tenants.AddMember(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		wantConflict(t, tenants.AddMember(ctx, store.Membership{ID: uuid.NewString(), UserID: u.ID, TenantID: a.ID,
			Role: "admin", CreatedAt: t0}), "uq_tenant_user_memberships_user_tenant")

		all, err := tenants.MembershipsOf(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]store.Membership{ma, mb}, all); diff != "" {
			t.Errorf("MembershipsOf (-want +got):\n%s", diff)
		}
		if got, err := tenants.MembershipsOf(ctx, "nope"); err != nil || len(got) != 0 {
			t.Errorf("MembershipsOf(non-UUID) = %v, %v; want none", got, err)
		}
		got, err := tenants.Membership(ctx, u.ID, b.ID)
		if err != nil || got != mb {
			t.Errorf("Membership = %+v, %v; want %+v", got, err, mb)
		}
		stranger := mkTenant(t, s, "c")
		for _, ids := range [][2]string{{u.ID, stranger.ID}, {uuid.NewString(), a.ID}, {"x", a.ID}, {u.ID, "y"}} {
			if _, err := tenants.Membership(ctx, ids[0], ids[1]); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Membership(%q, %q) = %v, want ErrNotFound", ids[0], ids[1], err)
			}
		}
	})
}
