package tenants

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

var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// newService returns a service on a fresh SQLite store with one tenant.
func newService(t *testing.T) (*Service, string) {
	t.Helper()
	s := storetest.SQLite(t)
	tenant := uuid.NewString()
	if err := s.Tenants().Create(t.Context(), store.Tenant{ID: tenant, Slug: "acme", Name: "Acme", CreatedAt: testNow}); err != nil {
		t.Fatal(err)
	}
	svc, err := New(Deps{Store: s, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	return svc, tenant
}

func ptr[T any](v T) *T { return &v }

func TestNewRequiresStore(t *testing.T) {
	t.Parallel()
	if _, err := New(Deps{}); err == nil {
		t.Error("New(Deps{}) succeeded, want an error")
	}
}

func TestGetDefaults(t *testing.T) {
	t.Parallel()
	svc, tenant := newService(t)
	got, err := svc.Get(t.Context(), strings.ToUpper(tenant))
	if err != nil {
		t.Fatal(err)
	}
	want := Settings{TenantID: tenant, Contacts: []Contact{}, PlanMetadata: map[string]string{}, Flags: map[string]bool{}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Get (-want +got):\n%s", d)
	}
	// An unknown tenant reads as the defaults too (http-api.md §2.7.1).
	other := uuid.NewString()
	got, err = svc.Get(t.Context(), other)
	if err != nil || got.TenantID != other || got.UpdatedAt != nil {
		t.Errorf("Get(unknown) = %+v, %v; want defaults", got, err)
	}
}

func TestUpdateNormalises(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   Update
		want Settings
	}{{
		name: "empty document",
		in:   Update{},
		want: Settings{Contacts: []Contact{}, PlanMetadata: map[string]string{}, Flags: map[string]bool{}},
	}, {
		name: "contact fields trimmed, blank role and phone null",
		in: Update{Contacts: []Contact{
			{Name: "  Ada ", Email: " ada@example.com ", Role: ptr("  "), Phone: ptr(" +44 1 "), NotifyBilling: true},
			{Name: "Bob", Email: "bob@example.co.uk", Role: ptr(" CFO"), NotifyBilling: false},
		}},
		want: Settings{Contacts: []Contact{
			{Name: "Ada", Email: "ada@example.com", Phone: ptr("+44 1"), NotifyBilling: true},
			{Name: "Bob", Email: "bob@example.co.uk", Role: ptr("CFO")},
		}, PlanMetadata: map[string]string{}, Flags: map[string]bool{}},
	}, {
		name: "ten contacts allowed",
		in:   Update{Contacts: contacts(10)},
		want: Settings{Contacts: contacts(10), PlanMetadata: map[string]string{}, Flags: map[string]bool{}},
	}, {
		name: "bare host gets a trailing slash",
		in:   Update{WebhookURL: ptr("  HTTPS://Hooks.Example.com ")},
		want: Settings{Contacts: []Contact{}, WebhookURL: ptr("https://hooks.example.com/"),
			PlanMetadata: map[string]string{}, Flags: map[string]bool{}},
	}, {
		name: "path, query and port kept",
		in:   Update{WebhookURL: ptr("http://example.com:8080/hook?x=1")},
		want: Settings{Contacts: []Contact{}, WebhookURL: ptr("http://example.com:8080/hook?x=1"),
			PlanMetadata: map[string]string{}, Flags: map[string]bool{}},
	}, {
		name: "blank webhook is null",
		in:   Update{WebhookURL: ptr("   ")},
		want: Settings{Contacts: []Contact{}, PlanMetadata: map[string]string{}, Flags: map[string]bool{}},
	}, {
		name: "metadata and flags trimmed, empty keys dropped",
		in: Update{PlanMetadata: map[string]string{" tier ": " gold ", "  ": "dropped", "seats": ""},
			Flags: map[string]bool{" beta": true, "": true, "legacy ": false}},
		want: Settings{Contacts: []Contact{}, PlanMetadata: map[string]string{"tier": "gold", "seats": ""},
			Flags: map[string]bool{"beta": true, "legacy": false}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svc, tenant := newService(t)
			got, err := svc.Update(t.Context(), tenant, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.TenantID, want.Version, want.UpdatedAt = tenant, 1, &testNow
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("Update (-want +got):\n%s", d)
			}
			read, err := svc.Get(t.Context(), tenant)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, read); d != "" {
				t.Errorf("Get after Update (-want +got):\n%s", d)
			}
		})
	}
}

func contacts(n int) []Contact {
	out := make([]Contact, n)
	for i := range out {
		out[i] = Contact{Name: "C", Email: "c@example.com", NotifyBilling: true}
	}
	return out
}

func TestUpdateRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		tenant string // "" means the test tenant
		in     Update
		is     error
		detail string
	}{
		{"eleven contacts", "", Update{Contacts: contacts(11)}, ErrInvalid, "Maximum of 10 billing contacts supported."},
		{"count checked before contents", "", Update{Contacts: append(contacts(10), Contact{})}, ErrInvalid,
			"Maximum of 10 billing contacts supported."},
		{"blank name", "", Update{Contacts: []Contact{{Name: "   ", Email: "a@example.com"}}}, ErrInvalid,
			"Billing contacts require a name."},
		{"email without dot", "", Update{Contacts: []Contact{{Name: "A", Email: "a@localhost"}}}, ErrInvalid,
			"Billing contacts require a valid email."},
		{"email with space", "", Update{Contacts: []Contact{{Name: "A", Email: "a b@example.com"}}}, ErrInvalid,
			"Billing contacts require a valid email."},
		{"blank email", "", Update{Contacts: []Contact{{Name: "A", Email: "  "}}}, ErrInvalid,
			"Billing contacts require a valid email."},
		{"webhook without scheme", "", Update{WebhookURL: ptr("hooks.example.com/x")}, ErrInvalid,
			"Webhook URL must include http(s) scheme and host."},
		{"webhook ftp", "", Update{WebhookURL: ptr("ftp://example.com/")}, ErrInvalid,
			"Webhook URL must include http(s) scheme and host."},
		{"webhook without host", "", Update{WebhookURL: ptr("https:///path")}, ErrInvalid,
			"Webhook URL must include http(s) scheme and host."},
		{"webhook too long", "", Update{WebhookURL: ptr("https://example.com/" + strings.Repeat("a", 493))}, ErrInvalid,
			"Webhook URL must be at most 512 characters."},
		{"tenant not a UUID", "acme", Update{}, ErrInvalid, "Tenant identifier is not a valid UUID."},
		{"unknown tenant", uuid.NewString(), Update{}, ErrNotFound, "Tenant not found."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svc, tenant := newService(t)
			if tt.tenant != "" {
				tenant = tt.tenant
			}
			_, err := svc.Update(t.Context(), tenant, tt.in)
			if !errors.Is(err, tt.is) {
				t.Fatalf("Update error = %v, want %v", err, tt.is)
			}
			if errors.Is(err, store.ErrNotFound) {
				t.Errorf("Update error %v leaks store.ErrNotFound", err)
			}
			var pd interface{ PublicDetail() string }
			if !errors.As(err, &pd) || pd.PublicDetail() != tt.detail {
				t.Errorf("PublicDetail of %v, want %q", err, tt.detail)
			}
			if tt.tenant == "" { // nothing was stored
				if got, err := svc.Get(t.Context(), tenant); err != nil || got.UpdatedAt != nil {
					t.Errorf("Get after refused Update = %+v, %v; want defaults", got, err)
				}
			}
		})
	}
}

func TestUpdateBumpsVersion(t *testing.T) {
	t.Parallel()
	svc, tenant := newService(t)
	for want := 1; want <= 3; want++ {
		got, err := svc.Update(t.Context(), tenant, Update{Flags: map[string]bool{"n": want%2 == 0}})
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != want {
			t.Errorf("update %d: version %d", want, got.Version)
		}
	}
}
