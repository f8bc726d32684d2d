package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// User is a row of users (spec: auth-and-keys.md §2, §6.1). PasswordVersion
// is password_pepper_version ("v1" legacy, "v2" peppered).
type User struct {
	ID, Email, PasswordHash, PasswordVersion, Status string
	CreatedAt, UpdatedAt                             time.Time
	EmailVerifiedAt                                  *time.Time
}

// Tenant is a row of tenant_accounts.
type Tenant struct {
	ID, Slug, Name string
	CreatedAt      time.Time
}

// Membership is a row of tenant_user_memberships: a user's role in a tenant.
type Membership struct {
	ID, UserID, TenantID, Role string
	CreatedAt                  time.Time
}

// PasswordRecord is one password_history row (spec: auth-and-keys.md §6.3).
type PasswordRecord struct {
	Hash, Version string
	CreatedAt     time.Time
}

// LoginEvent is a user_login_events row (spec: auth-and-keys.md §7.4).
// Empty TenantID, UserAgent and Reason are stored as NULL.
type LoginEvent struct {
	ID, UserID, TenantID, IPHash, UserAgent, Result, Reason string
	CreatedAt                                               time.Time
}

// Users reads and writes users, their profiles, password history and login
// events. It is bound to the Store it came from (the pool or a transaction).
type Users struct{ s *Store }

// Users returns the users repository bound to s.
func (s *Store) Users() Users { return Users{s} }

const (
	userColumns = `id, email, password_hash, password_pepper_version, status, created_at, updated_at, email_verified_at`

	qUsersCreate = `INSERT INTO users (` + userColumns + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	qUsersByEmail = `SELECT ` + userColumns + ` FROM users WHERE email = $1`
	qUsersByID    = `SELECT ` + userColumns + ` FROM users WHERE id = $1`

	qUsersSetPassword = `UPDATE users SET password_hash = $2, password_pepper_version = $3, updated_at = $4
WHERE id = $1`
	qUsersSetStatus         = `UPDATE users SET status = $2, updated_at = $3 WHERE id = $1`
	qUsersMarkEmailVerified = `UPDATE users SET email_verified_at = $2, updated_at = $2,
    status = CASE WHEN status = 'pending' THEN 'active' ELSE status END
WHERE id = $1`

	qUsersCreateProfile = `INSERT INTO user_profiles (id, user_id, display_name, created_at, updated_at)
VALUES ($1, $2, $3, $4, $4)`

	qUsersAddPasswordHistory = `INSERT INTO password_history (id, user_id, password_hash, password_pepper_version, created_at)
VALUES ($1, $2, $3, $4, $5)`
	qUsersRecentPasswords = `SELECT password_hash, password_pepper_version, created_at FROM password_history
WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`
	qUsersTrimPasswordHistory = `DELETE FROM password_history WHERE user_id = $1 AND id NOT IN (
    SELECT id FROM password_history WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2)`
	qUsersClearPasswordHistory = `DELETE FROM password_history WHERE user_id = $1`

	qUsersAddLoginEvent = `INSERT INTO user_login_events (id, user_id, tenant_id, ip_hash, user_agent, result, reason, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
)

// Create inserts usr. A taken email (compared case-insensitively on both
// engines) is ErrConflict with a ConstraintError naming uq_users_email. An
// empty Status stores the column default, "pending".
func (u Users) Create(ctx context.Context, usr User) error {
	status := usr.Status
	if status == "" {
		status = "pending"
	}
	version := usr.PasswordVersion
	if version == "" {
		version = "v1"
	}
	d := u.s.d
	_, err := u.s.q.ExecContext(ctx, qUsersCreate, usr.ID, usr.Email, usr.PasswordHash, version, status,
		d.timeArg(usr.CreatedAt), d.timeArg(usr.UpdatedAt), d.nullTimeArg(usr.EmailVerifiedAt))
	return u.s.conflict(err, "create user")
}

// ByEmail returns the user with email, compared case-insensitively
// (CITEXT / COLLATE NOCASE), or ErrNotFound.
func (u Users) ByEmail(ctx context.Context, email string) (User, error) {
	return u.get(ctx, "get user by email", qUsersByEmail, email)
}

// ByID returns the user with id, or ErrNotFound (also when id is not a UUID).
func (u Users) ByID(ctx context.Context, id string) (User, error) {
	id, ok := canonicalID(id)
	if !ok {
		return User{}, notFound("get user")
	}
	return u.get(ctx, "get user", qUsersByID, id)
}

func (u Users) get(ctx context.Context, what, query string, arg string) (usr User, err error) {
	d := u.s.d
	err = u.s.q.QueryRowContext(ctx, query, arg).Scan(&usr.ID, &usr.Email, &usr.PasswordHash, &usr.PasswordVersion,
		&usr.Status, d.scanTime(&usr.CreatedAt), d.scanTime(&usr.UpdatedAt), d.scanNullTime(&usr.EmailVerifiedAt))
	return usr, d.classify(err, what)
}

// SetPassword stores a new hash and pepper version (spec: auth-and-keys.md
// §6.1); ErrNotFound when the user does not exist.
func (u Users) SetPassword(ctx context.Context, id, hash, version string, now time.Time) error {
	return u.update(ctx, "set password", qUsersSetPassword, id, hash, version, u.s.d.timeArg(now))
}

// SetStatus sets the user_status (pending, active, disabled, locked);
// ErrNotFound when the user does not exist.
func (u Users) SetStatus(ctx context.Context, id, status string, now time.Time) error {
	return u.update(ctx, "set user status", qUsersSetStatus, id, status, u.s.d.timeArg(now))
}

// MarkEmailVerified sets email_verified_at to now and promotes a pending
// user to active (spec: auth-and-keys.md §10.3); ErrNotFound when the user
// does not exist.
func (u Users) MarkEmailVerified(ctx context.Context, id string, now time.Time) error {
	return u.update(ctx, "mark email verified", qUsersMarkEmailVerified, id, u.s.d.timeArg(now))
}

// update runs a one-user UPDATE whose $1 is the id; no row is ErrNotFound.
func (u Users) update(ctx context.Context, what, query, id string, args ...any) error {
	id, ok := canonicalID(id)
	if !ok {
		return notFound(what)
	}
	res, err := u.s.q.ExecContext(ctx, query, append([]any{id}, args...)...)
	return u.s.oneRow(res, err, what)
}

// CreateProfile inserts the user's profile row (spec: auth-and-keys.md §9
// step 5); an empty displayName stores NULL. A second profile for the same
// user is ErrConflict naming uq_user_profiles_user_id.
func (u Users) CreateProfile(ctx context.Context, id, userID, displayName string, now time.Time) error {
	_, err := u.s.q.ExecContext(ctx, qUsersCreateProfile, id, userID, optText(displayName), u.s.d.timeArg(now))
	return u.s.conflict(err, "create user profile")
}

// AddPasswordHistory records a hash the user has had (spec: auth-and-keys.md §6.3).
func (u Users) AddPasswordHistory(ctx context.Context, id, userID, hash, version string, now time.Time) error {
	_, err := u.s.q.ExecContext(ctx, qUsersAddPasswordHistory, id, userID, hash, version, u.s.d.timeArg(now))
	return u.s.conflict(err, "add password history")
}

// RecentPasswords returns the user's newest n history rows, newest first;
// n <= 0 returns none (the history check is off).
func (u Users) RecentPasswords(ctx context.Context, userID string, n int) ([]PasswordRecord, error) {
	userID, ok := canonicalID(userID)
	if n <= 0 || !ok {
		return nil, nil
	}
	rows, err := u.s.q.QueryContext(ctx, qUsersRecentPasswords, userID, n)
	if err != nil {
		return nil, u.s.d.classify(err, "recent passwords")
	}
	defer rows.Close()
	var out []PasswordRecord
	for rows.Next() {
		var r PasswordRecord
		if err := rows.Scan(&r.Hash, &r.Version, u.s.d.scanTime(&r.CreatedAt)); err != nil {
			return nil, u.s.d.classify(err, "recent passwords")
		}
		out = append(out, r)
	}
	return out, u.s.d.classify(rows.Err(), "recent passwords")
}

// TrimPasswordHistory keeps the user's newest keep rows and deletes the rest;
// keep <= 0 deletes them all (spec: auth-and-keys.md §6.3).
func (u Users) TrimPasswordHistory(ctx context.Context, userID string, keep int) error {
	userID, ok := canonicalID(userID)
	if !ok {
		return nil
	}
	var err error
	if keep <= 0 {
		_, err = u.s.q.ExecContext(ctx, qUsersClearPasswordHistory, userID)
	} else {
		_, err = u.s.q.ExecContext(ctx, qUsersTrimPasswordHistory, userID, keep)
	}
	return u.s.d.classify(err, "trim password history")
}

// AddLoginEvent records a login attempt (spec: auth-and-keys.md §7.4).
func (u Users) AddLoginEvent(ctx context.Context, e LoginEvent) error {
	_, err := u.s.q.ExecContext(ctx, qUsersAddLoginEvent, e.ID, e.UserID, optText(e.TenantID), e.IPHash,
		optText(e.UserAgent), e.Result, optText(e.Reason), u.s.d.timeArg(e.CreatedAt))
	return u.s.conflict(err, "add login event")
}

// Tenants reads and writes tenant accounts and their memberships.
type Tenants struct{ s *Store }

// Tenants returns the tenants repository bound to s.
func (s *Store) Tenants() Tenants { return Tenants{s} }

const (
	qTenantsCreate    = `INSERT INTO tenant_accounts (id, slug, name, created_at) VALUES ($1, $2, $3, $4)`
	qTenantsSlugTaken = `SELECT EXISTS (SELECT 1 FROM tenant_accounts WHERE slug = $1)`
	qTenantsByID      = `SELECT id, slug, name, created_at FROM tenant_accounts WHERE id = $1`
	qTenantsBySlug    = `SELECT id, slug, name, created_at FROM tenant_accounts WHERE slug = $1`

	membershipColumns     = `id, user_id, tenant_id, role, created_at`
	qTenantsAddMember     = `INSERT INTO tenant_user_memberships (` + membershipColumns + `) VALUES ($1, $2, $3, $4, $5)`
	qTenantsMembershipsOf = `SELECT ` + membershipColumns + ` FROM tenant_user_memberships
WHERE user_id = $1 ORDER BY created_at, id`
	qTenantsMembership = `SELECT ` + membershipColumns + ` FROM tenant_user_memberships
WHERE user_id = $1 AND tenant_id = $2`
)

// Create inserts tn; a taken slug is ErrConflict with a ConstraintError
// naming uq_tenant_accounts_slug (spec: auth-and-keys.md §9 step 4).
func (t Tenants) Create(ctx context.Context, tn Tenant) error {
	_, err := t.s.q.ExecContext(ctx, qTenantsCreate, tn.ID, tn.Slug, tn.Name, t.s.d.timeArg(tn.CreatedAt))
	return t.s.conflict(err, "create tenant")
}

// SlugTaken reports whether a tenant already has slug.
func (t Tenants) SlugTaken(ctx context.Context, slug string) (bool, error) {
	var taken bool
	err := t.s.q.QueryRowContext(ctx, qTenantsSlugTaken, slug).Scan(&taken)
	return taken, t.s.d.classify(err, "check tenant slug")
}

// ByID returns the tenant with id, or ErrNotFound (also when id is not a UUID).
func (t Tenants) ByID(ctx context.Context, id string) (tn Tenant, err error) {
	id, ok := canonicalID(id)
	if !ok {
		return Tenant{}, notFound("get tenant")
	}
	err = t.s.q.QueryRowContext(ctx, qTenantsByID, id).Scan(&tn.ID, &tn.Slug, &tn.Name, t.s.d.scanTime(&tn.CreatedAt))
	return tn, t.s.d.classify(err, "get tenant")
}

// BySlug returns the tenant with slug, or ErrNotFound.
func (t Tenants) BySlug(ctx context.Context, slug string) (tn Tenant, err error) {
	err = t.s.q.QueryRowContext(ctx, qTenantsBySlug, slug).Scan(&tn.ID, &tn.Slug, &tn.Name, t.s.d.scanTime(&tn.CreatedAt))
	return tn, t.s.d.classify(err, "get tenant by slug")
}

// AddMember inserts m; the user already being a member is ErrConflict naming
// uq_tenant_user_memberships_user_tenant.
func (t Tenants) AddMember(ctx context.Context, m Membership) error {
	_, err := t.s.q.ExecContext(ctx, qTenantsAddMember, m.ID, m.UserID, m.TenantID, m.Role, t.s.d.timeArg(m.CreatedAt))
	return t.s.conflict(err, "add tenant member")
}

// MembershipsOf returns the user's memberships, oldest first.
func (t Tenants) MembershipsOf(ctx context.Context, userID string) ([]Membership, error) {
	userID, ok := canonicalID(userID)
	if !ok {
		return nil, nil
	}
	rows, err := t.s.q.QueryContext(ctx, qTenantsMembershipsOf, userID)
	if err != nil {
		return nil, t.s.d.classify(err, "list memberships")
	}
	defer rows.Close()
	var out []Membership
	for rows.Next() {
		m, err := t.scanMembership(rows)
		if err != nil {
			return nil, t.s.d.classify(err, "list memberships")
		}
		out = append(out, m)
	}
	return out, t.s.d.classify(rows.Err(), "list memberships")
}

// Membership returns the user's membership of the tenant, or ErrNotFound.
func (t Tenants) Membership(ctx context.Context, userID, tenantID string) (Membership, error) {
	userID, okU := canonicalID(userID)
	tenantID, okT := canonicalID(tenantID)
	if !okU || !okT {
		return Membership{}, notFound("get membership")
	}
	m, err := t.scanMembership(t.s.q.QueryRowContext(ctx, qTenantsMembership, userID, tenantID))
	return m, t.s.d.classify(err, "get membership")
}

func (t Tenants) scanMembership(r interface{ Scan(...any) error }) (m Membership, err error) {
	err = r.Scan(&m.ID, &m.UserID, &m.TenantID, &m.Role, t.s.d.scanTime(&m.CreatedAt))
	return m, err
}

// Helpers shared by the auth repositories (users.go, sessions.go, refresh_tokens.go).

// canonicalID parses a UUID in any form uuid.Parse accepts and returns its
// canonical lower-case text, the form the app stores; ok is false for
// anything else, which by-id lookups answer with ErrNotFound instead of a
// Postgres type error.
func canonicalID(id string) (string, bool) {
	u, err := uuid.Parse(id)
	if err != nil {
		return "", false
	}
	return u.String(), true
}

// optText stores "" as NULL.
func optText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// optBytes stores an empty slice as NULL.
func optBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// optTextScanner reads a nullable text column; NULL reads as "".
type optTextScanner struct{ dst *string }

func (s optTextScanner) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*s.dst = ""
	case string:
		*s.dst = v
	case []byte:
		*s.dst = string(v)
	default:
		return fmt.Errorf("store: cannot read %T as text", src)
	}
	return nil
}

func optString(dst *string) sql.Scanner { return optTextScanner{dst: dst} }

func notFound(what string) error { return fmt.Errorf("%s: %w", what, ErrNotFound) }

// oneRow classifies the result of a write that must touch exactly one row:
// zero rows is ErrNotFound.
func (s *Store) oneRow(res sql.Result, err error, what string) error {
	if err != nil {
		return s.conflict(err, what)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.d.classify(err, what)
	}
	if n == 0 {
		return notFound(what)
	}
	return nil
}

// affected returns how many rows a write touched.
func (s *Store) affected(res sql.Result, err error, what string) (int, error) {
	if err != nil {
		return 0, s.conflict(err, what)
	}
	n, err := res.RowsAffected()
	return int(n), s.d.classify(err, what)
}

// conflict is classify plus one constraint name on both engines: SQLite
// reports a unique violation by its columns ("users.email"), which is
// renamed to the index Postgres names (uq_users_email).
func (s *Store) conflict(err error, what string) error {
	err = s.d.classify(err, what)
	var ce *ConstraintError
	if errors.As(err, &ce) {
		if name, ok := authConstraint(sqliteColumns(ce.Constraint)); ok {
			ce.Constraint = name
		}
	}
	return err
}

// authConstraint names the constraint behind SQLite's column list of a
// unique violation on the auth tables.
func authConstraint(columns string) (string, bool) {
	switch columns {
	case "users.id":
		return "pk_users", true
	case "users.email":
		return "uq_users_email", true
	case "tenant_accounts.id":
		return "pk_tenant_accounts", true
	case "tenant_accounts.slug":
		return "uq_tenant_accounts_slug", true
	case "user_profiles.id":
		return "pk_user_profiles", true
	case "user_profiles.user_id":
		return "uq_user_profiles_user_id", true
	case "tenant_user_memberships.id":
		return "pk_tenant_user_memberships", true
	case "tenant_user_memberships.user_id, tenant_user_memberships.tenant_id":
		return "uq_tenant_user_memberships_user_tenant", true
	case "password_history.id":
		return "pk_password_history", true
	case "user_login_events.id":
		return "pk_user_login_events", true
	case "user_sessions.id":
		return "pk_user_sessions", true
	case "user_sessions.refresh_jti":
		return "uq_user_sessions_refresh_jti", true
	case "service_account_tokens.id":
		return "pk_service_account_tokens", true
	case "service_account_tokens.refresh_jti":
		return "uq_service_account_tokens_jti", true
	case "index 'uq_service_account_tokens_active_service_accounts'":
		return "uq_service_account_tokens_active_service_accounts", true
	}
	return "", false
}

// sqliteColumns extracts "t.a, t.b" from SQLite's
// "... UNIQUE constraint failed: t.a, t.b (2067)"; other text is returned as is.
func sqliteColumns(msg string) string {
	const marker = "constraint failed: "
	i := strings.LastIndex(msg, marker)
	if i < 0 {
		return msg
	}
	msg = msg[i+len(marker):]
	if j := strings.LastIndex(msg, " ("); j >= 0 {
		msg = msg[:j]
	}
	return msg
}
