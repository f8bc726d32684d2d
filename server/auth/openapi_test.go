package auth_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"agentplane/server/servertest"
)

// TestOpenAPIDocumentsRequestBodies guards the request schemas clients are
// generated from: every field of a body must be documented (an embedded
// unexported struct once vanished from the browser-issue body).
func TestOpenAPIDocumentsRequestBodies(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	rec := env.Get("/openapi.json")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /openapi.json = %d", rec.Code)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody struct {
				Content map[string]struct {
					Schema struct {
						Ref string `json:"$ref"`
					} `json:"schema"`
				} `json:"content"`
			} `json:"requestBody"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any `json:"properties"`
				Required   []string       `json:"required"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path     string
		required []string
	}{
		{"/api/v1/auth/token", []string{"email", "password"}},
		{"/api/v1/auth/register", []string{"email", "password", "tenant_name"}},
		{"/api/v1/auth/service-accounts/issue", []string{"account", "scopes"}},
		{"/api/v1/auth/service-accounts/browser-issue", []string{"account", "scopes", "reason"}},
		{"/api/v1/auth/password/confirm", []string{"token", "new_password"}},
	}
	for _, tt := range tests {
		ref := doc.Paths[tt.path]["post"].RequestBody.Content["application/json"].Schema.Ref
		name := ref[len("#/components/schemas/"):]
		schema := doc.Components.Schemas[name]
		for _, f := range tt.required {
			if _, ok := schema.Properties[f]; !ok || !slices.Contains(schema.Required, f) {
				t.Errorf("%s: body schema %s lacks required field %q (properties %v, required %v)",
					tt.path, name, f, schema.Properties, schema.Required)
			}
		}
	}
}
