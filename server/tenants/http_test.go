package tenants_test

import (
	"net/http"
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
