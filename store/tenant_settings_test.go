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

func TestTenantSettingsRoundTrip(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		tenant := uuid.NewString()
		at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		if _, err := s.ExecT(ctx, qInsertTenant, tenant, "acme", "Acme", s.TimeArgT(at)); err != nil {
			t.Fatal(err)
		}
		repo := s.TenantSettings()

		if _, ok, err := repo.Get(ctx, tenant); err != nil || ok {
			t.Fatalf("Get before write = ok %v, err %v; want no row", ok, err)
		}
		if _, ok, err := repo.Get(ctx, "not-a-uuid"); err != nil || ok {
			t.Fatalf("Get(not-a-uuid) = ok %v, err %v; want no row", ok, err)
		}

		role, hook := "Finance", "https://hooks.example.com/"
		first := store.TenantSettingsRow{
			TenantID: tenant,
			Contacts: []store.BillingContact{
				{Name: "Ada", Email: "ada@example.com", Role: &role, NotifyBilling: true},
				{Name: "Bob", Email: "bob@example.com", NotifyBilling: false},
			},
			WebhookURL:   &hook,
			PlanMetadata: map[string]string{"tier": "gold"},
			Flags:        map[string]bool{"beta": true, "legacy": false},
		}
		got, err := repo.Upsert(ctx, first, at)
		if err != nil {
			t.Fatal(err)
		}
		want := first
		want.Version, want.UpdatedAt = 1, &at
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("Upsert (-want +got):\n%s", d)
		}
		read, ok, err := repo.Get(ctx, tenant)
		if err != nil || !ok {
			t.Fatalf("Get = ok %v, err %v", ok, err)
		}
		if d := cmp.Diff(want, read); d != "" {
			t.Errorf("Get (-want +got):\n%s", d)
		}

		later := at.Add(time.Hour)
		second := store.TenantSettingsRow{TenantID: tenant, Contacts: []store.BillingContact{},
			PlanMetadata: map[string]string{}, Flags: map[string]bool{}}
		got, err = repo.Upsert(ctx, second, later)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != 2 || !got.UpdatedAt.Equal(later) {
			t.Errorf("second Upsert: version %d updated %v; want 2 at %v", got.Version, got.UpdatedAt, later)
		}
		read, _, err = repo.Get(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		want = second
		want.Version, want.UpdatedAt = 2, &later
		if d := cmp.Diff(want, read); d != "" {
			t.Errorf("Get after replace (-want +got):\n%s", d)
		}
	})
}

func TestTenantSettingsStoredContactDefaults(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		tenant := uuid.NewString()
		at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		if _, err := s.ExecT(ctx, qInsertTenant, tenant, "legacy", "Legacy", s.TimeArgT(at)); err != nil {
			t.Fatal(err)
		}
		// A row written by the reference: no notify_billing, empty role/phone.
		if _, err := s.ExecT(ctx, `INSERT INTO tenant_settings (id, tenant_id, billing_contacts_json, updated_at)
VALUES ($1, $2, $3, $4)`, uuid.NewString(), tenant, `[{"name":"Ada","email":"ada@example.com","role":"","phone":null}]`,
			s.TimeArgT(at)); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.TenantSettings().Get(ctx, tenant)
		if err != nil || !ok {
			t.Fatalf("Get = ok %v, err %v", ok, err)
		}
		want := store.TenantSettingsRow{TenantID: tenant,
			Contacts:     []store.BillingContact{{Name: "Ada", Email: "ada@example.com", NotifyBilling: true}},
			PlanMetadata: map[string]string{}, Flags: map[string]bool{}, Version: 1, UpdatedAt: &at}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("Get (-want +got):\n%s", d)
		}
	})
}

func TestTenantSettingsUnknownTenant(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, s *store.Store) {
		for _, id := range []string{uuid.NewString(), "not-a-uuid"} {
			_, err := s.TenantSettings().Upsert(t.Context(), store.TenantSettingsRow{TenantID: id}, time.Now())
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Upsert(%q) error = %v, want ErrNotFound", id, err)
			}
		}
	})
}
