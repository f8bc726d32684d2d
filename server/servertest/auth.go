package servertest

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"agentplane/mail"
	"agentplane/server/auth"
	"agentplane/store"
)

// Mailbox is the Env's mail sender: it records every message the auth area
// sends, then hands it to the development log sender. Safe for concurrent use.
type Mailbox struct {
	next mail.Sender

	mu   sync.Mutex
	msgs []mail.Message
	err  error
}

// Send records m, or returns the error set by Fail without recording it.
func (b *Mailbox) Send(ctx context.Context, m mail.Message) error {
	b.mu.Lock()
	if err := b.err; err != nil {
		b.mu.Unlock()
		return err
	}
	b.msgs = append(b.msgs, m)
	b.mu.Unlock()
	if b.next == nil {
		return nil
	}
	return b.next.Send(ctx, m)
}

// Fail makes every later Send return err (a delivery failure); nil restores
// delivery.
func (b *Mailbox) Fail(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.err = err
}

// Messages returns a copy of every message delivered so far, oldest first.
func (b *Mailbox) Messages() []mail.Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]mail.Message(nil), b.msgs...)
}

// Last returns the newest message delivered to the address to (compared
// case-insensitively), and whether there is one.
func (b *Mailbox) Last(to string) (mail.Message, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := len(b.msgs) - 1; i >= 0; i-- {
		if strings.EqualFold(b.msgs[i].To, to) {
			return b.msgs[i], true
		}
	}
	return mail.Message{}, false
}

// Register signs up through POST /api/v1/auth/register (terms accepted) and
// returns the 201 body; any other answer fails the test.
func (e *Env) Register(tb testing.TB, email, password, tenant string) auth.RegisterResponse {
	tb.Helper()
	body, err := json.Marshal(map[string]any{
		"email": email, "password": password, "tenant_name": tenant, "accept_terms": true,
	})
	if err != nil {
		tb.Fatalf("servertest: register body: %v", err)
	}
	rec := e.Do(e.JSONRequest(http.MethodPost, "/api/v1/auth/register", string(body)))
	if rec.Code != http.StatusCreated {
		tb.Fatalf("servertest: register %s: status %d, body %s", email, rec.Code, rec.Body.String())
	}
	var resp auth.RegisterResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		tb.Fatalf("servertest: register %s: %v", email, err)
	}
	return resp
}

// Member is one membership of a seeded user: TenantID names an existing
// tenant, or is "" for a new tenant of the user's own.
type Member struct {
	TenantID string
	Role     string // default "owner"
}

// UserSeed describes a user SeedUser writes directly through the store,
// for the cases signup cannot make (legacy hashes, several tenants,
// disabled or pending users, chosen roles).
type UserSeed struct {
	Email    string
	Password string // hashed by Hasher (v3) when Hash is empty
	Hash     string // a ready password_hash, stored as is
	Version  string // password_pepper_version; "" is v3 for Password, the column default (v1) for Hash
	Status   string // default "active"
	Verified bool   // email_verified_at = the clock's now
	Members  []Member
}

// Seeded is what SeedUser wrote.
type Seeded struct {
	User    store.User
	Tenants []string // the tenant id of each Member, in order
}

// SeedUser inserts a user, its password-history row and its memberships
// (one new tenant with role owner when Members is empty) in one transaction.
func (e *Env) SeedUser(tb testing.TB, seed UserSeed) Seeded {
	tb.Helper()
	ctx := context.Background()
	now := e.Clock.Now()
	u := store.User{ID: uuid.NewString(), Email: strings.ToLower(strings.TrimSpace(seed.Email)),
		PasswordHash: seed.Hash, PasswordVersion: seed.Version, Status: seed.Status, CreatedAt: now, UpdatedAt: now}
	if u.Status == "" {
		u.Status = "active"
	}
	if seed.Verified {
		u.EmailVerifiedAt = &now
	}
	if u.PasswordHash == "" {
		hash, version, err := e.Hasher.Hash(ctx, seed.Password)
		if err != nil {
			tb.Fatalf("servertest: seed %s: hash: %v", seed.Email, err)
		}
		u.PasswordHash = hash
		if u.PasswordVersion == "" {
			u.PasswordVersion = version
		}
	}
	members := seed.Members
	if len(members) == 0 {
		members = []Member{{}}
	}
	out := Seeded{User: u}
	err := e.Store.InTx(ctx, func(tx *store.Store) error {
		if err := tx.Users().Create(ctx, u); err != nil {
			return err
		}
		if err := tx.Users().AddPasswordHistory(ctx, uuid.NewString(), u.ID, u.PasswordHash, u.PasswordVersion, now); err != nil {
			return err
		}
		for _, m := range members {
			tenant := m.TenantID
			if tenant == "" {
				tenant = uuid.NewString()
				slug := "seed-" + strings.ReplaceAll(tenant, "-", "")[:12]
				if err := tx.Tenants().Create(ctx, store.Tenant{ID: tenant, Slug: slug, Name: "Seed " + slug, CreatedAt: now}); err != nil {
					return err
				}
			}
			role := m.Role
			if role == "" {
				role = "owner"
			}
			if err := tx.Tenants().AddMember(ctx, store.Membership{ID: uuid.NewString(), UserID: u.ID,
				TenantID: tenant, Role: role, CreatedAt: now}); err != nil {
				return err
			}
			out.Tenants = append(out.Tenants, tenant)
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("servertest: seed %s: %v", seed.Email, err)
	}
	if out.User, err = e.Store.Users().ByID(ctx, u.ID); err != nil {
		tb.Fatalf("servertest: seed %s: %v", seed.Email, err)
	}
	return out
}
