// Package tenants serves tenant settings (spec: agents-and-data.md §7).
package tenants // service.go (Deps, New) · api.go (Register) · errors.go

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"agentplane/store"
)

// maxContacts and maxWebhookURL are the limits of spec agents-and-data.md §7.2.
const (
	maxContacts   = 10
	maxWebhookURL = 512
)

// emailPattern is the service's email check (§7.2), applied after trimming.
var emailPattern = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

// Deps is everything the tenants area uses; cmd/serve.go fills it.
type Deps struct {
	Store *store.Store
	Now   func() time.Time
}

// Service reads and replaces tenant settings. It knows nothing of HTTP.
type Service struct {
	store *store.Store
	now   func() time.Time
}

// New returns the service; Store is required, Now defaults to time.Now.
func New(d Deps) (*Service, error) {
	if d.Store == nil {
		return nil, errors.New("tenants: Deps.Store is required")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{store: d.Store, now: d.Now}, nil
}

// Contact is one billing contact.
type Contact struct {
	Name, Email   string
	Role, Phone   *string
	NotifyBilling bool
}

// Settings is a tenant's settings document (TenantSettingsResponse, §7.2).
// UpdatedAt is nil and Version 0 while the tenant has never saved any.
type Settings struct {
	TenantID     string
	Contacts     []Contact
	WebhookURL   *string
	PlanMetadata map[string]string
	Flags        map[string]bool
	Version      int
	UpdatedAt    *time.Time
}

// Update is the full replacement a PUT carries (TenantSettingsUpdateRequest).
type Update struct {
	Contacts     []Contact
	WebhookURL   *string
	PlanMetadata map[string]string
	Flags        map[string]bool
}

// Get returns the settings of tenantID, or the defaults ([], null, {}, {},
// null) when it has none. A tenant id that is not a UUID is ErrInvalid.
func (s *Service) Get(ctx context.Context, tenantID string) (Settings, error) {
	id, err := parseTenant(tenantID)
	if err != nil {
		return Settings{}, err
	}
	row, ok, err := s.store.TenantSettings().Get(ctx, id)
	if err != nil {
		return Settings{}, fmt.Errorf("tenants: get settings: %w", err)
	}
	if !ok {
		return Settings{TenantID: id, Contacts: []Contact{}, PlanMetadata: map[string]string{},
			Flags: map[string]bool{}}, nil
	}
	return fromRow(row), nil
}

// Update normalises u (§7.2), replaces the tenant's settings and returns the
// stored snapshot. Failed checks are ErrInvalid with the spec's message; an
// unknown tenant is ErrNotFound.
func (s *Service) Update(ctx context.Context, tenantID string, u Update) (Settings, error) {
	id, err := parseTenant(tenantID)
	if err != nil {
		return Settings{}, err
	}
	row, err := normalise(u)
	if err != nil {
		return Settings{}, err
	}
	row.TenantID = id
	row, err = s.store.TenantSettings().Upsert(ctx, row, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return Settings{}, &publicError{err: fmt.Errorf("%w (%v)", ErrNotFound, err), detail: detailTenantNotFound}
	}
	if err != nil {
		return Settings{}, fmt.Errorf("tenants: update settings: %w", err)
	}
	return fromRow(row), nil
}

func parseTenant(tenantID string) (string, error) {
	u, err := uuid.Parse(strings.TrimSpace(tenantID))
	if err != nil {
		return "", invalid(detailTenantID)
	}
	return u.String(), nil
}

// normalise applies the service rules of §7.2 in the reference's order:
// contact count, then each contact, then the webhook URL.
func normalise(u Update) (store.TenantSettingsRow, error) {
	if len(u.Contacts) > maxContacts {
		return store.TenantSettingsRow{}, invalid(detailTooManyContacts)
	}
	row := store.TenantSettingsRow{Contacts: make([]store.BillingContact, 0, len(u.Contacts))}
	for _, c := range u.Contacts {
		name, email := strings.TrimSpace(c.Name), strings.TrimSpace(c.Email)
		if name == "" {
			return store.TenantSettingsRow{}, invalid(detailContactName)
		}
		if !emailPattern.MatchString(email) {
			return store.TenantSettingsRow{}, invalid(detailContactEmail)
		}
		row.Contacts = append(row.Contacts, store.BillingContact{Name: name, Email: email,
			Role: trimmedOrNil(c.Role), Phone: trimmedOrNil(c.Phone), NotifyBilling: c.NotifyBilling})
	}
	hook, err := normaliseWebhook(u.WebhookURL)
	if err != nil {
		return store.TenantSettingsRow{}, err
	}
	row.WebhookURL = hook
	row.PlanMetadata = make(map[string]string, len(u.PlanMetadata))
	for _, k := range sortedKeys(u.PlanMetadata) {
		if key := strings.TrimSpace(k); key != "" {
			row.PlanMetadata[key] = strings.TrimSpace(u.PlanMetadata[k])
		}
	}
	row.Flags = make(map[string]bool, len(u.Flags))
	for _, k := range sortedKeys(u.Flags) {
		if key := strings.TrimSpace(k); key != "" {
			row.Flags[key] = u.Flags[k]
		}
	}
	return row, nil
}

// normaliseWebhook trims the URL (empty → nil), requires an http(s) scheme
// and a host, lower-cases both and gives a bare host the path "/".
func normaliseWebhook(raw *string) (*string, error) {
	s := trimmedOrNil(raw)
	if s == nil {
		return nil, nil
	}
	u, err := url.Parse(*s)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return nil, invalid(detailWebhookURL)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, invalid(detailWebhookURL)
	}
	u.Host = strings.ToLower(u.Host)
	if u.Path == "" && u.RawPath == "" && !u.ForceQuery && u.Opaque == "" {
		u.Path = "/"
	}
	out := u.String()
	if len(out) > maxWebhookURL {
		return nil, invalid(detailWebhookTooLong)
	}
	return &out, nil
}

func trimmedOrNil(s *string) *string {
	if s == nil {
		return nil
	}
	t := strings.TrimSpace(*s)
	if t == "" {
		return nil
	}
	return &t
}

// sortedKeys makes the "last trimmed key wins" rule deterministic.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func fromRow(row store.TenantSettingsRow) Settings {
	out := Settings{TenantID: row.TenantID, Contacts: make([]Contact, len(row.Contacts)), WebhookURL: row.WebhookURL,
		PlanMetadata: row.PlanMetadata, Flags: row.Flags, Version: row.Version, UpdatedAt: row.UpdatedAt}
	for i, c := range row.Contacts {
		out.Contacts[i] = Contact(c)
	}
	if out.PlanMetadata == nil {
		out.PlanMetadata = map[string]string{}
	}
	if out.Flags == nil {
		out.Flags = map[string]bool{}
	}
	return out
}
