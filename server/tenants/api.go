package tenants

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"agentplane/server/auth"
)

// BillingContact is one contact of TenantSettingsResponse.
type BillingContact struct {
	Name          string  `json:"name"`
	Email         string  `json:"email"`
	Role          *string `json:"role" nullable:"true"`
	Phone         *string `json:"phone" nullable:"true"`
	NotifyBilling bool    `json:"notify_billing"`
}

// TenantSettingsResponse is the settings document (spec: agents-and-data.md §7.2).
type TenantSettingsResponse struct {
	TenantID          string            `json:"tenant_id"`
	BillingContacts   []BillingContact  `json:"billing_contacts" nullable:"false"`
	BillingWebhookURL *string           `json:"billing_webhook_url" nullable:"true"`
	PlanMetadata      map[string]string `json:"plan_metadata"`
	Flags             map[string]bool   `json:"flags"`
	UpdatedAt         *time.Time        `json:"updated_at" nullable:"true"`
}

// BillingContactInput is one contact of a PUT body; unknown keys are refused.
type BillingContactInput struct {
	Name          string  `json:"name" minLength:"1" maxLength:"128"`
	Email         string  `json:"email" format:"email"`
	Role          *string `json:"role,omitempty" maxLength:"64" nullable:"true"`
	Phone         *string `json:"phone,omitempty" maxLength:"64" nullable:"true"`
	NotifyBilling *bool   `json:"notify_billing,omitempty" default:"true"`
}

// TenantSettingsUpdateRequest is the PUT body: all four keys required,
// unknown keys refused (422 extra_forbidden).
type TenantSettingsUpdateRequest struct {
	BillingContacts   []BillingContactInput `json:"billing_contacts" nullable:"false"`
	BillingWebhookURL *string               `json:"billing_webhook_url" format:"uri" maxLength:"512" nullable:"true"`
	PlanMetadata      map[string]string     `json:"plan_metadata"`
	Flags             map[string]bool       `json:"flags"`
}

type updateInput struct {
	Body TenantSettingsUpdateRequest
}

type settingsOutput struct {
	Body TenantSettingsResponse
}

// tenantFunc returns the caller's tenant id; the Authorizer resolved it.
type tenantFunc func(context.Context) string

func principalTenant(ctx context.Context) string {
	if p, ok := auth.PrincipalFrom(ctx); ok {
		return p.TenantID
	}
	return ""
}

// Register adds the tenant settings operations (spec: http-api.md §2.7).
// The Authorizer enforces the roles (policy entries by operation id).
func Register(api huma.API, svc *Service) { register(api, svc, principalTenant) }

func register(api huma.API, svc *Service, tenant tenantFunc) {
	h := handlers{svc: svc, tenant: tenant}
	huma.Register(api, huma.Operation{
		OperationID: "get-tenant-settings", Method: http.MethodGet, Path: "/api/v1/tenants/settings",
		Tags: []string{"Tenants"}, Summary: "Get tenant settings", DefaultStatus: http.StatusOK,
	}, h.get)
	huma.Register(api, huma.Operation{
		OperationID: "update-tenant-settings", Method: http.MethodPut, Path: "/api/v1/tenants/settings",
		Tags: []string{"Tenants"}, Summary: "Replace tenant settings", DefaultStatus: http.StatusOK,
	}, h.update)
}

type handlers struct {
	svc    *Service
	tenant tenantFunc
}

func (h handlers) get(ctx context.Context, _ *struct{}) (*settingsOutput, error) {
	s, err := h.svc.Get(ctx, h.tenant(ctx))
	if err != nil {
		return nil, err
	}
	return &settingsOutput{Body: response(s)}, nil
}

func (h handlers) update(ctx context.Context, in *updateInput) (*settingsOutput, error) {
	s, err := h.svc.Update(ctx, h.tenant(ctx), in.Body.update())
	if err != nil {
		return nil, err
	}
	return &settingsOutput{Body: response(s)}, nil
}

// update maps the body to the service's Update; a missing notify_billing is true.
func (b TenantSettingsUpdateRequest) update() Update {
	u := Update{Contacts: make([]Contact, len(b.BillingContacts)), WebhookURL: b.BillingWebhookURL,
		PlanMetadata: b.PlanMetadata, Flags: b.Flags}
	for i, c := range b.BillingContacts {
		u.Contacts[i] = Contact{Name: c.Name, Email: c.Email, Role: c.Role, Phone: c.Phone,
			NotifyBilling: c.NotifyBilling == nil || *c.NotifyBilling}
	}
	return u
}

func response(s Settings) TenantSettingsResponse {
	out := TenantSettingsResponse{TenantID: s.TenantID, BillingContacts: make([]BillingContact, len(s.Contacts)),
		BillingWebhookURL: s.WebhookURL, PlanMetadata: s.PlanMetadata, Flags: s.Flags, UpdatedAt: s.UpdatedAt}
	for i, c := range s.Contacts {
		out.BillingContacts[i] = BillingContact(c)
	}
	return out
}
