package chatui

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"agentplane/server/chat"
	"agentplane/store"
	"agentplane/store/storetest"
)

func TestResolveScope(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx, now := t.Context(), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		check := func(name, tenant, user string, want chat.Scope, wantErr string) {
			t.Helper()
			got, err := ResolveScope(ctx, s, tenant, user)
			if errText(err) != wantErr || got != want {
				t.Errorf("%s: ResolveScope(%q, %q) = %+v, %q; want %+v, %q", name, tenant, user, got, errText(err), want, wantErr)
			}
		}
		def, err := ResolveScope(ctx, s, "", "")
		created, terr := s.Tenants().BySlug(ctx, DefaultTenant)
		if err != nil || terr != nil || def.TenantID != created.ID || created.Name != "Default Tenant" {
			t.Fatalf("empty database: %+v, %v; tenant %+v, %v; want the default tenant created", def, err, created, terr)
		}
		check("the default tenant again", "", "", chat.Scope{TenantID: created.ID}, "")
		acme := store.Tenant{ID: uuid.NewString(), Slug: "acme", Name: "Acme", CreatedAt: now}
		other := store.Tenant{ID: uuid.NewString(), Slug: "other", Name: "Other", CreatedAt: now}
		for _, tn := range []store.Tenant{acme, other} {
			if err := s.Tenants().Create(ctx, tn); err != nil {
				t.Fatal(err)
			}
		}
		check("the default tenant among others", "", "", chat.Scope{TenantID: created.ID}, "")
		check("by slug", "acme", "", chat.Scope{TenantID: acme.ID}, "")
		check("by id", other.ID, "", chat.Scope{TenantID: other.ID}, "")
		check("unknown tenant", "nope", "", chat.Scope{}, `no tenant "nope": pass --tenant with an existing tenant's id or slug`)

		u := store.User{ID: uuid.NewString(), Email: "dev@example.com", PasswordHash: "x", PasswordVersion: "v2", Status: "active", CreatedAt: now, UpdatedAt: now}
		if err := s.Users().Create(ctx, u); err != nil {
			t.Fatal(err)
		}
		if err := s.Tenants().AddMember(ctx, store.Membership{ID: uuid.NewString(), UserID: u.ID, TenantID: acme.ID, Role: "owner", CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		check("user by email", "acme", "dev@example.com", chat.Scope{TenantID: acme.ID, UserID: u.ID}, "")
		check("user by id", "acme", u.ID, chat.Scope{TenantID: acme.ID, UserID: u.ID}, "")
		check("not a member", "other", u.ID, chat.Scope{}, "user dev@example.com is not a member of tenant other: pass the --tenant they belong to")
		check("unknown user", "acme", "who@example.com", chat.Scope{}, `no user "who@example.com": pass --user with an existing user's id or email, or leave it out`)
	})
}
