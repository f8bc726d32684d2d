package tenants_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"agentplane/server/auth"
	"agentplane/server/servertest"
)

// TestTenantSettingsThroughTheServer runs the operations behind the real
// authorizer: an owner writes and reads, a member is refused, a service
// account of the tenant may read but not write (DESIGN decision 13).
func TestTenantSettingsThroughTheServer(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	owner := env.SeedUser(t, servertest.UserSeed{Email: "owner@example.com", Password: "Correct-Horse-Battery-9", Verified: true})
	tenant := owner.Tenants[0]
	token := func(role string) string {
		c := env.NewAccessClaims()
		c.Sub, c.TenantID, c.Roles, c.Scope = "user:"+owner.User.ID, tenant, []string{role}, strings.Join(auth.RoleScopes(role), " ")
		return env.Sign(t, c)
	}
	now := env.Clock.Now().Unix()
	service := env.Sign(t, auth.ServiceAccessClaims{
		Sub: "service-account:billing-worker", TenantID: tenant, Scope: "billing:manage billing:read", TokenUse: "access",
		Iss: servertest.AppName, Aud: servertest.Audience, JTI: "j1", Account: "billing-worker", Iat: now, Nbf: now, Exp: now + 600,
	})
	do := func(bearer, method, body string) (int, map[string]any) {
		t.Helper()
		var r *http.Request
		if body == "" {
			r = env.Request(method, "/api/v1/tenants/settings", nil)
		} else {
			r = env.JSONRequest(method, "/api/v1/tenants/settings", body)
		}
		r.Header.Set("Authorization", "Bearer "+bearer)
		rec := env.Do(r)
		return rec.Code, servertest.Decode[map[string]any](t, rec)
	}
	const update = `{"billing_contacts":[{"name":" Ada ","email":"ada@example.com"}],"billing_webhook_url":"https://hooks.example.com","plan_metadata":{"tier":"gold"},"flags":{"beta":true}}`

	if code, body := do(token("owner"), http.MethodPut, update); code != http.StatusOK || body["tenant_id"] != tenant {
		t.Fatalf("owner PUT = %d %v", code, body)
	}
	code, body := do(token("admin"), http.MethodGet, "")
	contacts, _ := body["billing_contacts"].([]any)
	if code != http.StatusOK || len(contacts) != 1 || body["billing_webhook_url"] != "https://hooks.example.com/" {
		t.Fatalf("admin GET = %d %v", code, body)
	}
	if c, _ := contacts[0].(map[string]any); c["name"] != "Ada" || c["notify_billing"] != true {
		t.Errorf("stored contact = %v, want the trimmed name and notify_billing true", c)
	}
	if code, body := do(token("member"), http.MethodGet, ""); code != http.StatusForbidden ||
		body["error"] != "Insufficient tenant privileges for this operation." {
		t.Errorf("member GET = %d %v", code, body)
	}
	if code, _ := do(service, http.MethodGet, ""); code != http.StatusOK {
		t.Errorf("service account GET = %d, want 200", code)
	}
	if code, body := do(service, http.MethodPut, update); code != http.StatusUnauthorized ||
		body["error"] != "Token subject must reference a user account." {
		t.Errorf("service account PUT = %d %v", code, body)
	}
}

// TestHTTPValidation sends bad bodies through the real server: each is a
// 422 whose items name the offending location (http-api.md §1.4).
func TestHTTPValidation(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	owner := env.SeedUser(t, servertest.UserSeed{Email: "v@example.com", Password: "Correct-Horse-Battery-9", Verified: true})
	claims := env.NewAccessClaims()
	claims.Sub, claims.TenantID = "user:"+owner.User.ID, owner.Tenants[0]
	bearer := "Bearer " + env.Sign(t, claims)
	tests := []struct {
		name, body, loc string // loc: the item's location, joined with dots
	}{
		{"unknown top-level key", `{"billing_contacts":[],"billing_webhook_url":null,"plan_metadata":{},"flags":{},"extra":1}`, "body.extra"},
		{"unknown contact key", `{"billing_contacts":[{"name":"A","email":"a@example.com","extra":1}],"billing_webhook_url":null,"plan_metadata":{},"flags":{}}`, "body.billing_contacts.0.extra"},
		{"bad email format", `{"billing_contacts":[{"name":"A","email":"not-an-email"}],"billing_webhook_url":null,"plan_metadata":{},"flags":{}}`, "body.billing_contacts.0.email"},
		{"empty name", `{"billing_contacts":[{"name":"","email":"a@example.com"}],"billing_webhook_url":null,"plan_metadata":{},"flags":{}}`, "body.billing_contacts.0.name"},
		{"long role", `{"billing_contacts":[{"name":"A","email":"a@example.com","role":"` + strings.Repeat("r", 65) + `"}],"billing_webhook_url":null,"plan_metadata":{},"flags":{}}`, "body.billing_contacts.0.role"},
		{"non-string plan_metadata value", `{"billing_contacts":[],"billing_webhook_url":null,"plan_metadata":{"seats":3},"flags":{}}`, "body.plan_metadata.seats"},
		{"non-boolean flag", `{"billing_contacts":[],"billing_webhook_url":null,"plan_metadata":{},"flags":{"beta":"yes"}}`, "body.flags.beta"},
		{"missing flags", `{"billing_contacts":[],"billing_webhook_url":null,"plan_metadata":{}}`, "body.flags"},
		{"missing webhook key", `{"billing_contacts":[],"plan_metadata":{},"flags":{}}`, "body.billing_webhook_url"},
		{"null contacts", `{"billing_contacts":null,"billing_webhook_url":null,"plan_metadata":{},"flags":{}}`, "body.billing_contacts"},
		{"long webhook", `{"billing_contacts":[],"billing_webhook_url":"https://e.com/` + strings.Repeat("a", 500) + `","plan_metadata":{},"flags":{}}`, "body.billing_webhook_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := env.JSONRequest(http.MethodPut, "/api/v1/tenants/settings", tt.body)
			r.Header.Set("Authorization", bearer)
			rec := env.Do(r)
			if rec.Code != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422; body %s", rec.Code, rec.Body)
			}
			got := servertest.Decode[struct {
				Details []struct {
					Loc []any `json:"loc"`
				} `json:"details"`
			}](t, rec)
			var locs []string
			for _, d := range got.Details {
				parts := make([]string, len(d.Loc))
				for i, p := range d.Loc {
					parts[i] = fmt.Sprint(p)
				}
				locs = append(locs, strings.Join(parts, "."))
			}
			if !slices.Contains(locs, tt.loc) {
				t.Errorf("item locations %q, want %s", locs, tt.loc)
			}
		})
	}
}
