package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// BillingContact is one entry of tenant_settings.billing_contacts_json
// (spec: agents-and-data.md §7.3).
type BillingContact struct {
	Name, Email   string
	Role, Phone   *string
	NotifyBilling bool
}

// TenantSettingsRow is a tenant_settings row with its JSON columns decoded.
type TenantSettingsRow struct {
	TenantID     string
	Contacts     []BillingContact
	WebhookURL   *string
	PlanMetadata map[string]string
	Flags        map[string]bool
	Version      int
	UpdatedAt    *time.Time
}

// TenantSettings reads and writes tenant_settings.
type TenantSettings struct{ s *Store }

// TenantSettings returns the tenant settings repository bound to s.
func (s *Store) TenantSettings() TenantSettings { return TenantSettings{s} }

const (
	qTenantSettingsGet = `SELECT tenant_id, billing_contacts_json, billing_webhook_url, plan_metadata_json, flags_json,
    version, updated_at
FROM tenant_settings WHERE tenant_id = $1`

	// qTenantSettingsUpsert inserts version 1 or replaces the four settings
	// columns and bumps the version (§7.3).
	qTenantSettingsUpsert = `INSERT INTO tenant_settings (id, tenant_id, billing_contacts_json, billing_webhook_url,
    plan_metadata_json, flags_json, version, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7)
ON CONFLICT (tenant_id) DO UPDATE SET
    billing_contacts_json = excluded.billing_contacts_json,
    billing_webhook_url = excluded.billing_webhook_url,
    plan_metadata_json = excluded.plan_metadata_json,
    flags_json = excluded.flags_json,
    version = tenant_settings.version + 1,
    updated_at = excluded.updated_at
RETURNING version, updated_at`
)

// storedContact is the JSON form of a contact: exactly name, email, role,
// phone and notify_billing (a missing notify_billing reads as true).
type storedContact struct {
	Name          string  `json:"name"`
	Email         string  `json:"email"`
	Role          *string `json:"role"`
	Phone         *string `json:"phone"`
	NotifyBilling *bool   `json:"notify_billing"`
}

// Get returns the settings of tenantID; ok is false when the tenant has no
// row (also when tenantID is not a UUID).
func (r TenantSettings) Get(ctx context.Context, tenantID string) (row TenantSettingsRow, ok bool, err error) {
	id, valid := canonicalID(tenantID)
	if !valid {
		return TenantSettingsRow{}, false, nil
	}
	var contacts, meta, flags []byte
	var updated time.Time
	err = r.s.q.QueryRowContext(ctx, qTenantSettingsGet, id).Scan(&row.TenantID, &contacts, &row.WebhookURL,
		&meta, &flags, &row.Version, r.s.d.scanTime(&updated))
	if err = r.s.d.classify(err, "get tenant settings"); err != nil {
		if errors.Is(err, ErrNotFound) {
			return TenantSettingsRow{}, false, nil
		}
		return TenantSettingsRow{}, false, err
	}
	row.UpdatedAt = &updated
	if row.Contacts, err = decodeContacts(contacts); err != nil {
		return TenantSettingsRow{}, false, fmt.Errorf("get tenant settings: contacts: %w", err)
	}
	row.PlanMetadata = map[string]string{}
	if err = json.Unmarshal(meta, &row.PlanMetadata); err != nil {
		return TenantSettingsRow{}, false, fmt.Errorf("get tenant settings: plan metadata: %w", err)
	}
	row.Flags = map[string]bool{}
	if err = json.Unmarshal(flags, &row.Flags); err != nil {
		return TenantSettingsRow{}, false, fmt.Errorf("get tenant settings: flags: %w", err)
	}
	return row, true, nil
}

// Upsert stores set for set.TenantID in one statement: version 1 when new,
// else the four settings columns replaced and version+1; updated_at = now.
// It returns the stored row. A tenant that does not exist (or an id that is
// not a UUID) is ErrNotFound.
func (r TenantSettings) Upsert(ctx context.Context, set TenantSettingsRow, now time.Time) (TenantSettingsRow, error) {
	const what = "upsert tenant settings"
	id, ok := canonicalID(set.TenantID)
	if !ok {
		return TenantSettingsRow{}, notFound(what)
	}
	contacts := make([]storedContact, len(set.Contacts))
	for i, c := range set.Contacts {
		contacts[i] = storedContact{Name: c.Name, Email: c.Email, Role: optPtr(c.Role), Phone: optPtr(c.Phone),
			NotifyBilling: &c.NotifyBilling}
	}
	meta, flags := set.PlanMetadata, set.Flags
	if meta == nil {
		meta = map[string]string{}
	}
	if flags == nil {
		flags = map[string]bool{}
	}
	cj, err := json.Marshal(contacts)
	if err != nil {
		return TenantSettingsRow{}, fmt.Errorf("%s: %w", what, err)
	}
	mj, err := json.Marshal(meta)
	if err != nil {
		return TenantSettingsRow{}, fmt.Errorf("%s: %w", what, err)
	}
	fj, err := json.Marshal(flags)
	if err != nil {
		return TenantSettingsRow{}, fmt.Errorf("%s: %w", what, err)
	}
	var updated time.Time
	out := TenantSettingsRow{TenantID: id, WebhookURL: set.WebhookURL, PlanMetadata: meta, Flags: flags}
	err = r.s.q.QueryRowContext(ctx, qTenantSettingsUpsert, uuid.NewString(), id, string(cj), set.WebhookURL,
		string(mj), string(fj), r.s.d.timeArg(now)).Scan(&out.Version, r.s.d.scanTime(&updated))
	if err = r.s.d.classify(err, what); err != nil { // an unknown tenant is a foreign-key miss: ErrNotFound
		return TenantSettingsRow{}, err
	}
	out.UpdatedAt = &updated
	out.Contacts = make([]BillingContact, len(contacts))
	for i, c := range contacts {
		out.Contacts[i] = BillingContact{Name: c.Name, Email: c.Email, Role: c.Role, Phone: c.Phone, NotifyBilling: *c.NotifyBilling}
	}
	return out, nil
}

// decodeContacts reads billing_contacts_json: notify_billing defaults to
// true, empty role/phone read as nil.
func decodeContacts(raw []byte) ([]BillingContact, error) {
	var stored []storedContact
	if err := json.Unmarshal(raw, &stored); err != nil {
		return nil, err
	}
	out := make([]BillingContact, len(stored))
	for i, c := range stored {
		out[i] = BillingContact{Name: c.Name, Email: c.Email, Role: optPtr(c.Role), Phone: optPtr(c.Phone),
			NotifyBilling: c.NotifyBilling == nil || *c.NotifyBilling}
	}
	return out, nil
}

// optPtr maps a pointer to "" to nil.
func optPtr(s *string) *string {
	if s == nil || *s == "" {
		return nil
	}
	return s
}
