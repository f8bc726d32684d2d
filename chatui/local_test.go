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
		check("empty database", "", "", chat.Scope{}, `the database has no tenant yet: sign up first (POST /api/v1/auth/register on "agentplane serve" creates one), then run chat again`)

		acme := store.Tenant{ID: uuid.NewString(), Slug: "acme", Name: "Acme", CreatedAt: now}
		if err := s.Tenants().Create(ctx, acme); err != nil {
			t.Fatal(err)
		}
		check("the only tenant", "", "", chat.Scope{TenantID: acme.ID}, "")
		other := store.Tenant{ID: uuid.NewString(), Slug: "other", Name: "Other", CreatedAt: now}
		if err := s.Tenants().Create(ctx, other); err != nil {
			t.Fatal(err)
		}
		check("two tenants", "", "", chat.Scope{}, `several tenants and none has the slug "default": choose one with --tenant <uuid|slug>`)
		def := store.Tenant{ID: uuid.NewString(), Slug: DefaultTenant, Name: "Default", CreatedAt: now}
		if err := s.Tenants().Create(ctx, def); err != nil {
			t.Fatal(err)
		}
		check("the default tenant", "", "", chat.Scope{TenantID: def.ID}, "")
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
