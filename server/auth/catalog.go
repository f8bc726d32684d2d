package auth

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"regexp"
	"time"

	"go.yaml.in/yaml/v3"
)

// builtinCatalog is the reference's catalog of the four service accounts
// (spec: auth-and-keys.md §13.1); SERVICE_ACCOUNT_CATALOG_PATH replaces it.
//
//go:embed service_accounts.yaml
var builtinCatalog []byte

// ErrCatalog means a service-account catalog is missing or invalid.
var ErrCatalog = errors.New("auth: invalid service-account catalog")

// ServiceAccount is one catalog entry.
type ServiceAccount struct {
	Account        string   `yaml:"account"`
	Description    string   `yaml:"description"`
	AllowedScopes  []string `yaml:"allowed_scopes"`
	RequiresTenant *bool    `yaml:"requires_tenant"` // default true
	DefaultTTL     int      `yaml:"default_ttl_minutes"`
	MaxTTL         int      `yaml:"max_ttl_minutes"`
}

// TenantRequired reports requires_tenant (default true).
func (a ServiceAccount) TenantRequired() bool { return a.RequiresTenant == nil || *a.RequiresTenant }

// Catalog is the validated set of service accounts, by slug.
type Catalog struct {
	accounts map[string]ServiceAccount
	maxTTL   time.Duration
}

var accountSlug = regexp.MustCompile(`^[a-z0-9\-]+$`)

// ParseCatalog reads and validates a catalog document (§13.1 rules).
func ParseCatalog(data []byte) (*Catalog, error) {
	var doc struct {
		ServiceAccounts []ServiceAccount `yaml:"service_accounts"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCatalog, err)
	}
	if len(doc.ServiceAccounts) == 0 {
		return nil, fmt.Errorf("%w: no service_accounts", ErrCatalog)
	}
	c := &Catalog{accounts: map[string]ServiceAccount{}}
	for i, a := range doc.ServiceAccounts {
		if err := a.validate(); err != nil {
			return nil, fmt.Errorf("%w: entry %d: %w", ErrCatalog, i+1, err)
		}
		if _, dup := c.accounts[a.Account]; dup {
			return nil, fmt.Errorf("%w: account %q is listed twice", ErrCatalog, a.Account)
		}
		c.accounts[a.Account] = a
		c.maxTTL = max(c.maxTTL, time.Duration(a.MaxTTL)*time.Minute)
	}
	return c, nil
}

func (a ServiceAccount) validate() error {
	switch {
	case len(a.Account) < 3 || len(a.Account) > 64 || !accountSlug.MatchString(a.Account):
		return fmt.Errorf("account %q must be 3-64 characters of a-z, 0-9 and -", a.Account)
	case len(a.Description) < 3:
		return fmt.Errorf("account %q: description must have at least 3 characters", a.Account)
	case len(a.AllowedScopes) == 0:
		return fmt.Errorf("account %q: allowed_scopes must list at least one scope", a.Account)
	case a.MaxTTL <= 0:
		return fmt.Errorf("account %q: max_ttl_minutes must be positive", a.Account)
	case a.DefaultTTL < 0 || a.DefaultTTL > a.MaxTTL:
		return fmt.Errorf("account %q: default_ttl_minutes must be positive and at most max_ttl_minutes", a.Account)
	}
	return nil
}

// LoadCatalog reads the catalog at path, or the built-in one when path is empty.
func LoadCatalog(path string) (*Catalog, error) {
	if path == "" {
		return ParseCatalog(builtinCatalog)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCatalog, err)
	}
	return ParseCatalog(data)
}

// Account returns the catalog entry of slug.
func (c *Catalog) Account(slug string) (ServiceAccount, bool) {
	a, ok := c.accounts[slug]
	return a, ok
}

// MaxTTL is the largest max_ttl_minutes of the catalog; key rotation keeps a
// retired key at least this long (auth-and-keys.md §18.1 note 2).
func (c *Catalog) MaxTTL() time.Duration { return c.maxTTL }
