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
