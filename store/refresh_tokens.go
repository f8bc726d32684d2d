package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// RefreshToken is a service_account_tokens row: the ledger of human and
// service-account refresh tokens (spec: auth-and-keys.md §8.2). Its id is
// its JTI. Empty TenantID, Fingerprint and SessionID are stored as NULL.
type RefreshToken struct {
	JTI, Account, TenantID, ScopeKey string
	Scopes                           []string
	Hash, SigningKID, Fingerprint    string
	SessionID                        string
	IssuedAt, ExpiresAt              time.Time
	RevokedAt                        *time.Time
	RevokedReason                    string
}

// TokenFilter narrows List (spec: auth-and-keys.md §13.7, §18.5 note 31).
// Status is "active" (the default when empty: unrevoked and unexpired),
// "revoked" or "all". An empty TenantID with IncludeGlobal false lists every
// tenant; Limit <= 0 means no limit.
type TokenFilter struct {
	AccountContains, Fingerprint, Status, TenantID string
	IncludeGlobal, ServiceAccountsOnly             bool
	Limit, Offset                                  int
}

// Token statuses of TokenFilter.
const (
	TokenStatusActive  = "active"
	TokenStatusRevoked = "revoked"
	TokenStatusAll     = "all"
)

// RefreshTokens reads and writes service_account_tokens.
type RefreshTokens struct{ s *Store }

// RefreshTokens returns the refresh-token repository bound to s.
func (s *Store) RefreshTokens() RefreshTokens { return RefreshTokens{s} }

const (
	refreshTokenColumns = `refresh_jti, account, tenant_id, scope_key, scopes, refresh_token_hash, signing_kid,
    fingerprint, session_id, issued_at, expires_at, revoked_at, revoked_reason`

	// $2 is the tenant, or NULL with $4 = 1 for tenant-less tokens, which are
	// one group here as in the partial unique index
	// uq_service_account_tokens_active_service_accounts. (A flag, not "$2 IS
	// NULL": Postgres cannot type a parameter only tested for NULL.)
	refreshTokensSameSet = `account = $1 AND (tenant_id = $2 OR ($4 = 1 AND tenant_id IS NULL)) AND scope_key = $3`

	qRefreshTokensReplace = `UPDATE service_account_tokens SET revoked_at = $5, revoked_reason = 'replaced', updated_at = $5
WHERE ` + refreshTokensSameSet + ` AND revoked_at IS NULL`
	refreshTokensInsertInto = `INSERT INTO service_account_tokens (id, account, tenant_id, scope_key, scopes,
    refresh_token_hash, refresh_jti, signing_kid, fingerprint, session_id, issued_at, expires_at,
    revoked_at, revoked_reason, created_at, updated_at)`
	qRefreshTokensInsert = refreshTokensInsertInto + `
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, NULL, $13, $13)`
	qRefreshTokensByJTI = `SELECT ` + refreshTokenColumns + ` FROM service_account_tokens WHERE refresh_jti = $1`

	// qRefreshTokensForRefresh is ByJTI with the user and its membership of
	// a tenant beside it (NULLs where there is none).
	qRefreshTokensForRefresh = `SELECT t.refresh_jti, t.account, t.tenant_id, t.scope_key, t.scopes, t.refresh_token_hash,
    t.signing_kid, t.fingerprint, t.session_id, t.issued_at, t.expires_at, t.revoked_at, t.revoked_reason,
    u.id, u.email, u.password_hash, u.password_pepper_version, u.status, u.created_at, u.updated_at,
    u.email_verified_at, m.id, m.role, m.created_at
FROM service_account_tokens t
LEFT JOIN users u ON u.id = $2
LEFT JOIN tenant_user_memberships m ON m.user_id = u.id AND m.tenant_id = $3
WHERE t.refresh_jti = $1`

	// qRefreshTokensRotate is the whole of a refresh's claim on its token: of
	// concurrent refreshes with one jti, exactly one gets the row (§18.2 note 13).
	qRefreshTokensRotate = `UPDATE service_account_tokens SET revoked_at = $2, revoked_reason = 'rotated', updated_at = $2
WHERE refresh_jti = $1 AND revoked_at IS NULL AND expires_at > $2
RETURNING ` + refreshTokenColumns
	// qRefreshTokensRotateFor is Rotate for one account, returning nothing.
	qRefreshTokensRotateFor = `UPDATE service_account_tokens SET revoked_at = $2, revoked_reason = 'rotated', updated_at = $2
    WHERE refresh_jti = $1 AND account = $3 AND revoked_at IS NULL AND expires_at > $2`

	// qRefreshTokensRotateTo is RotateTo on Postgres: Rotate (for one
	// account), Sessions.Upsert and Insert as one statement, the writes
	// made only when the rotation was. Data-modifying WITH parts always run
	// to completion, read or not.
	qRefreshTokensRotateTo = `WITH rotated AS (
    ` + qRefreshTokensRotateFor + `
    RETURNING 1
), sess AS (
    INSERT INTO user_sessions (` + sessionColumns + `)
    SELECT $4::uuid, $5::uuid, $6::uuid, $7::varchar, $8::varchar, $9::varchar, $10::bytea, $11::varchar,
        $12::varchar, $13::varchar, $14::varchar, $15::varchar, $16::varchar, $17::varchar, $18::varchar,
        $2::timestamptz, $2::timestamptz, $2::timestamptz, NULL, NULL
    WHERE EXISTS (SELECT 1 FROM rotated)
    ` + sessionsOnConflict + `
    RETURNING 1
), next AS (
    ` + refreshTokensInsertInto + `
    SELECT $19::uuid, $20::varchar, $21::uuid, $22::varchar, $23::jsonb, $24::text, $19::varchar, $25::varchar,
        $26::varchar, $27::uuid, $28::timestamptz, $29::timestamptz, NULL, NULL, $2::timestamptz, $2::timestamptz
    WHERE EXISTS (SELECT 1 FROM rotated)
    RETURNING 1
)
SELECT count(*) FROM rotated`
	qRefreshTokensRevoke = `UPDATE service_account_tokens SET revoked_at = $2, revoked_reason = $3, updated_at = $2
WHERE refresh_jti = $1 AND revoked_at IS NULL`
	qRefreshTokensRevokeAccount = `UPDATE service_account_tokens SET revoked_at = $2, revoked_reason = $3, updated_at = $2
WHERE account = $1 AND revoked_at IS NULL`
	qRefreshTokensRevokeSession = `UPDATE service_account_tokens SET revoked_at = $2, revoked_reason = $3, updated_at = $2
WHERE session_id = $1 AND revoked_at IS NULL`
	qRefreshTokensActiveServiceAccount = `SELECT ` + refreshTokenColumns + ` FROM service_account_tokens
WHERE ` + refreshTokensSameSet + ` AND revoked_at IS NULL AND expires_at > $5
ORDER BY issued_at DESC, id DESC LIMIT 1`

	// Each optional filter is a 0/1 flag and its value: $1/$2 the account's
	// lower-cased LIKE pattern, $3/$4 the fingerprint, $5 the status (0 all,
	// 1 active at $6, 2 revoked), $7/$8 the tenant, $9 1 = tenant-less rows
	// too, $10 1 = no "user:" rows.
	refreshTokensListWhere = ` FROM service_account_tokens
WHERE ($1 = 0 OR lower(account) LIKE $2 ESCAPE '\')
  AND ($3 = 0 OR fingerprint = $4)
  AND ($5 <> 1 OR (revoked_at IS NULL AND expires_at > $6))
  AND ($5 <> 2 OR revoked_at IS NOT NULL)
  AND ($7 = 0 OR tenant_id = $8 OR ($9 = 1 AND tenant_id IS NULL))
  AND ($10 = 0 OR account NOT LIKE 'user:%')`
	qRefreshTokensCount = `SELECT count(*)` + refreshTokensListWhere
	qRefreshTokensList  = `SELECT ` + refreshTokenColumns + refreshTokensListWhere + `
ORDER BY issued_at DESC, id DESC LIMIT $11 OFFSET $12`
)

// Insert stores t under id = refresh_jti = t.JTI (a UUID). For a service
// account (an account not starting with "user:") it first revokes, reason
// "replaced", the active token of the same account, tenant and scope set, so
// one stays active (spec: auth-and-keys.md §8.2 "Save"); both statements run
// in one transaction (the caller's, when it has one).
func (r RefreshTokens) Insert(ctx context.Context, t RefreshToken, now time.Time) error {
	scopes, err := json.Marshal(nonNil(t.Scopes))
	if err != nil {
		return fmt.Errorf("insert refresh token: %w", err)
	}
	return r.s.InTx(ctx, func(tx *Store) error {
		d := tx.d
		if !strings.HasPrefix(t.Account, "user:") {
			_, err := tx.q.ExecContext(ctx, qRefreshTokensReplace, t.Account, optText(t.TenantID), t.ScopeKey,
				flag(t.TenantID == ""), d.timeArg(now))
			if err != nil {
				return tx.conflict(err, "replace service-account token")
			}
		}
		_, err := tx.q.ExecContext(ctx, qRefreshTokensInsert, t.JTI, t.Account, optText(t.TenantID), t.ScopeKey,
			string(scopes), t.Hash, t.JTI, t.SigningKID, optText(t.Fingerprint), optText(t.SessionID),
			d.timeArg(t.IssuedAt), d.timeArg(t.ExpiresAt), d.timeArg(now))
		return tx.conflict(err, "insert refresh token")
	})
}

// ByJTI returns the token with jti whatever its state (revoked, expired),
// or ErrNotFound.
func (r RefreshTokens) ByJTI(ctx context.Context, jti string) (RefreshToken, error) {
	t, err := r.scan(r.s.pointRow(ctx, qRefreshTokensByJTI, jti))
	return t, r.s.d.classify(err, "get refresh token")
}

// RefreshRead is what a refresh reads (ForRefresh): its token's ledger row,
// and the user and membership the token acts for.
type RefreshRead struct {
	Token      RefreshToken
	User       User
	UserFound  bool // User is set
	Membership Membership
	Member     bool // Membership is set
}

// ForRefresh is ByJTI(jti), Users.ByID(userID) and Tenants.Membership(userID,
// tenantID) in one query: ErrNotFound when there is no such token;
// UserFound and Member tell the rest (ids that are not UUIDs match nothing).
func (r RefreshTokens) ForRefresh(ctx context.Context, jti, userID, tenantID string) (RefreshRead, error) {
	var user, tenant any // NULL matches no row
	if id, ok := canonicalID(userID); ok {
		user = id
	}
	if id, ok := canonicalID(tenantID); ok {
		tenant = id
	}
	d := r.s.d
	var rr RefreshRead
	var uCreated, uUpdated, mCreated *time.Time
	u := &rr.User
	t, err := r.scan(r.s.pointRow(ctx, qRefreshTokensForRefresh, jti, user, tenant),
		optString(&u.ID), optString(&u.Email), optString(&u.PasswordHash), optString(&u.PasswordVersion),
		optString(&u.Status), d.scanNullTime(&uCreated), d.scanNullTime(&uUpdated), d.scanNullTime(&u.EmailVerifiedAt),
		optString(&rr.Membership.ID), optString(&rr.Membership.Role), d.scanNullTime(&mCreated))
	if err != nil {
		return RefreshRead{}, d.classify(err, "get refresh token")
	}
	rr.Token = t
	if rr.UserFound = u.ID != "" && uCreated != nil && uUpdated != nil; rr.UserFound {
		u.CreatedAt, u.UpdatedAt = *uCreated, *uUpdated
	} else {
		rr.User = User{}
	}
	if rr.Member = rr.UserFound && rr.Membership.ID != "" && mCreated != nil; rr.Member {
		rr.Membership.UserID, rr.Membership.TenantID, rr.Membership.CreatedAt = u.ID, tenant.(string), *mCreated
	} else {
		rr.Membership = Membership{}
	}
	return rr, nil
}

// Rotate revokes the token with jti, reason "rotated", if it is unrevoked
// and unexpired at now, and returns it as revoked; otherwise ErrNotFound.
// It is one conditional UPDATE, so concurrent refreshes with one token get
// exactly one success (spec: auth-and-keys.md §18.2 note 13).
func (r RefreshTokens) Rotate(ctx context.Context, jti string, now time.Time) (RefreshToken, error) {
	t, err := r.scan(r.s.q.QueryRowContext(ctx, qRefreshTokensRotate, jti, r.s.d.timeArg(now)))
	return t, r.s.d.classify(err, "rotate refresh token")
}

// RotateTo is a refresh's writes, all or nothing: it rotates the token jti
// as Rotate does, if the token is account's, then records sess (as
// Sessions.Upsert) and inserts next, a person's token (as Insert). When jti
// is not an active token of account it is ErrNotFound and writes nothing.
// On Postgres it is one statement, without a transaction's round trips; on
// SQLite one transaction (the caller's, when it has one).
func (r RefreshTokens) RotateTo(ctx context.Context, jti, account string, sess Session, next RefreshToken, now time.Time) error {
	if !strings.HasPrefix(next.Account, "user:") {
		return fmt.Errorf("rotate refresh token: %q is not a person's account", next.Account)
	}
	if r.s.d.engine == SQLite || r.s.tx != nil {
		return r.s.InTx(ctx, func(tx *Store) error {
			res, err := tx.q.ExecContext(ctx, qRefreshTokensRotateFor, jti, tx.d.timeArg(now), account)
			n, err := tx.affected(res, err, "rotate refresh token")
			if err != nil {
				return err
			}
			if n == 0 {
				return notFound("rotate refresh token")
			}
			found, err := tx.Sessions().touch(ctx, sess, now)
			if err == nil && !found {
				err = tx.Sessions().Upsert(ctx, sess, now)
			}
			if err != nil {
				return err
			}
			return tx.RefreshTokens().Insert(ctx, next, now)
		})
	}
	scopes, err := json.Marshal(nonNil(next.Scopes))
	if err != nil {
		return fmt.Errorf("rotate refresh token: %w", err)
	}
	d := r.s.d
	var n int
	err = r.s.q.QueryRowContext(ctx, qRefreshTokensRotateTo, jti, d.timeArg(now), account,
		sess.ID, sess.UserID, sess.TenantID, sess.RefreshJTI, optText(sess.Fingerprint), optText(sess.IPHash),
		optBytes(sess.IPEncrypted), optText(sess.IPMasked), optText(sess.UserAgent), optText(sess.ClientPlatform),
		optText(sess.ClientBrowser), optText(sess.ClientDevice), optText(sess.LocationCity),
		optText(sess.LocationRegion), optText(sess.LocationCountry),
		next.JTI, next.Account, optText(next.TenantID), next.ScopeKey, string(scopes), next.Hash, next.SigningKID,
		optText(next.Fingerprint), optText(next.SessionID), d.timeArg(next.IssuedAt), d.timeArg(next.ExpiresAt)).Scan(&n)
	if err != nil {
		return r.s.conflict(err, "rotate refresh token")
	}
	if n == 0 {
		return notFound("rotate refresh token")
	}
	return nil
}

// Revoke revokes the token with jti if it is not already revoked (an earlier
// reason and time are kept, which reuse detection relies on); it reports
// whether it did.
func (r RefreshTokens) Revoke(ctx context.Context, jti, reason string, now time.Time) (bool, error) {
	res, err := r.s.q.ExecContext(ctx, qRefreshTokensRevoke, jti, r.s.d.timeArg(now), optText(reason))
	n, err := r.s.affected(res, err, "revoke refresh token")
	return n > 0, err
}

// RevokeAccount revokes every unrevoked token of account ("user:<id>" or a
// service-account slug) and returns how many (spec: auth-and-keys.md §8.2).
func (r RefreshTokens) RevokeAccount(ctx context.Context, account, reason string, now time.Time) (int, error) {
	res, err := r.s.q.ExecContext(ctx, qRefreshTokensRevokeAccount, account, r.s.d.timeArg(now), optText(reason))
	return r.s.affected(res, err, "revoke account tokens")
}

// RevokeSession revokes every unrevoked token of the session and returns how
// many (logout, reuse detection: spec auth-and-keys.md §8.8, §18.2 note 13).
func (r RefreshTokens) RevokeSession(ctx context.Context, sessionID, reason string, now time.Time) (int, error) {
	sessionID, ok := canonicalID(sessionID)
	if !ok {
		return 0, nil
	}
	res, err := r.s.q.ExecContext(ctx, qRefreshTokensRevokeSession, sessionID, r.s.d.timeArg(now), optText(reason))
	return r.s.affected(res, err, "revoke session tokens")
}

// ActiveServiceAccount returns the newest unrevoked, unexpired token of the
// account, tenant ("" = none) and scope set, for reuse at issuance (spec:
// auth-and-keys.md §13.2), or ErrNotFound.
func (r RefreshTokens) ActiveServiceAccount(ctx context.Context, account, tenantID, scopeKey string, now time.Time) (RefreshToken, error) {
	tenant, ok := optID(tenantID)
	if !ok {
		return RefreshToken{}, notFound("get active service-account token")
	}
	t, err := r.scan(r.s.q.QueryRowContext(ctx, qRefreshTokensActiveServiceAccount, account, tenant, scopeKey,
		flag(tenant == nil), r.s.d.timeArg(now)))
	return t, r.s.d.classify(err, "get active service-account token")
}

// List returns a page of tokens matching f, newest issued first, and how
// many match in all (spec: auth-and-keys.md §13.7, §18.5 note 31).
func (r RefreshTokens) List(ctx context.Context, f TokenFilter, now time.Time) ([]RefreshToken, int, error) {
	var status int
	switch f.Status {
	case TokenStatusAll:
		status = 0
	case TokenStatusActive, "":
		status = 1
	case TokenStatusRevoked:
		status = 2
	default:
		return nil, 0, fmt.Errorf("list refresh tokens: unknown status %q", f.Status)
	}
	tenant, ok := optID(f.TenantID)
	if !ok {
		return nil, 0, nil // nothing matches a tenant id that is not a UUID
	}
	pattern := "%" + likeEscaper.Replace(strings.ToLower(f.AccountContains)) + "%"
	args := []any{flag(f.AccountContains != ""), pattern, flag(f.Fingerprint != ""), f.Fingerprint,
		status, r.s.d.timeArg(now), flag(tenant != nil), tenant, flag(f.IncludeGlobal), flag(f.ServiceAccountsOnly)}
	var total int
	if err := r.s.q.QueryRowContext(ctx, qRefreshTokensCount, args...).Scan(&total); err != nil {
		return nil, 0, r.s.d.classify(err, "count refresh tokens")
	}
	limit, offset := page(f.Limit, f.Offset)
	rows, err := r.s.q.QueryContext(ctx, qRefreshTokensList, append(args, limit, offset)...)
	if err != nil {
		return nil, 0, r.s.d.classify(err, "list refresh tokens")
	}
	defer rows.Close()
	var out []RefreshToken
	for rows.Next() {
		t, err := r.scan(rows)
		if err != nil {
			return nil, 0, r.s.d.classify(err, "list refresh tokens")
		}
		out = append(out, t)
	}
	return out, total, r.s.d.classify(rows.Err(), "list refresh tokens")
}

// scan reads the refreshTokenColumns of row, then its columns after them
// into extra.
func (r RefreshTokens) scan(row interface{ Scan(...any) error }, extra ...any) (t RefreshToken, err error) {
	d := r.s.d
	var scopes []byte
	err = row.Scan(append([]any{&t.JTI, &t.Account, optString(&t.TenantID), &t.ScopeKey, &scopes, &t.Hash, &t.SigningKID,
		optString(&t.Fingerprint), optString(&t.SessionID), d.scanTime(&t.IssuedAt), d.scanTime(&t.ExpiresAt),
		d.scanNullTime(&t.RevokedAt), optString(&t.RevokedReason)}, extra...)...)
	if err == nil {
		if err = json.Unmarshal(scopes, &t.Scopes); err != nil {
			err = fmt.Errorf("store: scopes of refresh token %s: %w", t.JTI, err)
		}
	}
	return t, err
}

// likeEscaper escapes LIKE's wildcards (and the escape character) in a
// substring searched with ESCAPE '\'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// flag is a bool as the 0/1 both engines compare with.
func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
