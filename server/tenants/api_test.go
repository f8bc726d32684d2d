package tenants

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/humatest"
	"github.com/google/go-cmp/cmp"
)

type testTenantKey struct{}

// newAPI registers the operations on a humatest API whose tiny middleware
// stands in for the Authorizer: it puts the X-Test-Tenant header in the
// context. (server/auth exports no way to build a Principal context.)
func newAPI(t *testing.T) (humatest.TestAPI, string) {
	t.Helper()
	svc, tenant := newService(t)
	cfg := huma.DefaultConfig("agentplane", "test")
	cfg.CreateHooks = nil
	_, api := humatest.New(t, cfg)
	api.UseMiddleware(func(ctx huma.Context, next func(huma.Context)) {
		next(huma.WithValue(ctx, testTenantKey{}, ctx.Header("X-Test-Tenant")))
	})
	register(api, svc, func(ctx context.Context) string {
		s, _ := ctx.Value(testTenantKey{}).(string)
		return s
	})
	return api, tenant
}

const validBody = `{
  "billing_contacts": [{"name": " Ada ", "email": "ada@example.com", "role": "", "phone": null}],
  "billing_webhook_url": "https://Hooks.Example.com",
  "plan_metadata": {"tier": " gold ", " ": "x"},
  "flags": {"beta": true}
}`

func TestHTTPValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, loc string // loc: the location, or text of the message
	}{
		{"unknown top-level key", `{"billing_contacts":[],"billing_webhook_url":null,"plan_metadata":{},"flags":{},"extra":1}`, "body.extra"},
		{"unknown contact key", `{"billing_contacts":[{"name":"A","email":"a@example.com","extra":1}],"billing_webhook_url":null,"plan_metadata":{},"flags":{}}`, "body.billing_contacts[0].extra"},
		{"bad email format", `{"billing_contacts":[{"name":"A","email":"not-an-email"}],"billing_webhook_url":null,"plan_metadata":{},"flags":{}}`, "body.billing_contacts[0].email"},
		{"empty name", `{"billing_contacts":[{"name":"","email":"a@example.com"}],"billing_webhook_url":null,"plan_metadata":{},"flags":{}}`, "body.billing_contacts[0].name"},
		{"long role", `{"billing_contacts":[{"name":"A","email":"a@example.com","role":"` + strings.Repeat("r", 65) + `"}],"billing_webhook_url":null,"plan_metadata":{},"flags":{}}`, "body.billing_contacts[0].role"},
		{"non-string plan_metadata value", `{"billing_contacts":[],"billing_webhook_url":null,"plan_metadata":{"seats":3},"flags":{}}`, "body.plan_metadata.seats"},
		{"non-boolean flag", `{"billing_contacts":[],"billing_webhook_url":null,"plan_metadata":{},"flags":{"beta":"yes"}}`, "body.flags.beta"},
		{"missing flags", `{"billing_contacts":[],"billing_webhook_url":null,"plan_metadata":{}}`, "required property flags"},
		{"missing webhook key", `{"billing_contacts":[],"plan_metadata":{},"flags":{}}`, "required property billing_webhook_url"},
		{"null contacts", `{"billing_contacts":null,"billing_webhook_url":null,"plan_metadata":{},"flags":{}}`, "body.billing_contacts"},
		{"long webhook", `{"billing_contacts":[],"billing_webhook_url":"https://e.com/` + strings.Repeat("a", 500) + `","plan_metadata":{},"flags":{}}`, "body.billing_webhook_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api, tenant := newAPI(t)
			resp := api.Put("/api/v1/tenants/settings", "X-Test-Tenant: "+tenant, strings.NewReader(tt.body))
			if resp.Code != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422; body %s", resp.Code, resp.Body)
			}
			var got huma.ErrorModel
			if err := json.Unmarshal(resp.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			var items []string // location and message: huma puts a missing key's name in the message
			for _, e := range got.Errors {
				items = append(items, e.Location+": "+e.Message)
			}
			if !strings.Contains(strings.Join(items, "\n"), tt.loc) {
				t.Errorf("errors %q, want one about %s", items, tt.loc)
			}
		})
	}
}

func TestHTTPRoundTrip(t *testing.T) {
	t.Parallel()
	api, tenant := newAPI(t)
	hdr := "X-Test-Tenant: " + tenant

	resp := api.Get("/api/v1/tenants/settings", hdr)
	if resp.Code != http.StatusOK {
		t.Fatalf("GET status %d: %s", resp.Code, resp.Body)
	}
	assertJSON(t, resp.Body.Bytes(), `{"tenant_id":"`+tenant+`","billing_contacts":[],"billing_webhook_url":null,
		"plan_metadata":{},"flags":{},"updated_at":null}`)

	want := `{"tenant_id":"` + tenant + `","billing_contacts":[{"name":"Ada","email":"ada@example.com","role":null,
		"phone":null,"notify_billing":true}],"billing_webhook_url":"https://hooks.example.com/",
		"plan_metadata":{"tier":"gold"},"flags":{"beta":true},"updated_at":"2026-11-25T12:00:00Z"}`
	resp = api.Put("/api/v1/tenants/settings", hdr, strings.NewReader(validBody))
	if resp.Code != http.StatusOK {
		t.Fatalf("PUT status %d: %s", resp.Code, resp.Body)
	}
	assertJSON(t, resp.Body.Bytes(), want)

	resp = api.Get("/api/v1/tenants/settings", hdr)
	if resp.Code != http.StatusOK {
		t.Fatalf("GET status %d: %s", resp.Code, resp.Body)
	}
	assertJSON(t, resp.Body.Bytes(), want)

	// Full replacement; notify_billing false is kept (not overwritten by the default).
	resp = api.Put("/api/v1/tenants/settings", hdr, strings.NewReader(`{"billing_contacts":[{"name":"Bob",
		"email":"bob@example.com","notify_billing":false}],"billing_webhook_url":null,"plan_metadata":{},"flags":{}}`))
	if resp.Code != http.StatusOK {
		t.Fatalf("second PUT status %d: %s", resp.Code, resp.Body)
	}
	assertJSON(t, resp.Body.Bytes(), `{"tenant_id":"`+tenant+`","billing_contacts":[{"name":"Bob","email":"bob@example.com",
		"role":null,"phone":null,"notify_billing":false}],"billing_webhook_url":null,"plan_metadata":{},"flags":{},
		"updated_at":"2026-11-25T12:00:00Z"}`)
}

func assertJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("response %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(w, g); d != "" {
		t.Errorf("body (-want +got):\n%s", d)
	}
}
