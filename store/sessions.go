package store

import (
	"context"
	"math"
	"time"
)

// Session is a user_sessions row (spec: auth-and-keys.md §8.6). Empty
// strings and an empty IPEncrypted are stored as NULL.
type Session struct {
	ID, UserID, TenantID, RefreshJTI, Fingerprint, IPHash string
	IPEncrypted                                           []byte
	IPMasked, UserAgent                                   string
	ClientPlatform, ClientBrowser, ClientDevice           string
	LocationCity, LocationRegion, LocationCountry         string
	CreatedAt, UpdatedAt                                  time.Time
	LastSeenAt, RevokedAt                                 *time.Time
	RevokedReason                                         string
}

// SessionFilter narrows ListForUser (spec: auth-and-keys.md §8.8). An empty
// TenantID means every tenant; Limit <= 0 means no limit.
type SessionFilter struct {
	TenantID       string
	IncludeRevoked bool
	Limit, Offset  int
}

// Sessions reads and writes user_sessions.
type Sessions struct{ s *Store }

// Sessions returns the sessions repository bound to s.
func (s *Store) Sessions() Sessions { return Sessions{s} }

const (
	sessionColumns = `id, user_id, tenant_id, refresh_jti, fingerprint, ip_hash, ip_encrypted, ip_masked,
    user_agent, client_platform, client_browser, client_device, location_city, location_region,
    location_country, created_at, updated_at, last_seen_at, revoked_at, revoked_reason`

	// qSessionsUpsert creates the row when missing (created_at = now), then
	// refreshes everything the request tells (§8.6). Location is kept unless a
	// new one is given; revocation is cleared.
	qSessionsUpsert = `INSERT INTO user_sessions (` + sessionColumns + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $16, NULL, NULL)
` + sessionsOnConflict
	sessionsOnConflict = `ON CONFLICT (id) DO UPDATE SET
    refresh_jti = excluded.refresh_jti,
    fingerprint = excluded.fingerprint,
    ip_hash = excluded.ip_hash,
    ip_encrypted = excluded.ip_encrypted,
    ip_masked = excluded.ip_masked,
    user_agent = excluded.user_agent,
    client_platform = excluded.client_platform,
    client_browser = excluded.client_browser,
    client_device = excluded.client_device,
    location_city = CASE WHEN ` + sessionsNoNewLocation + ` THEN user_sessions.location_city ELSE excluded.location_city END,
    location_region = CASE WHEN ` + sessionsNoNewLocation + ` THEN user_sessions.location_region ELSE excluded.location_region END,
    location_country = CASE WHEN ` + sessionsNoNewLocation + ` THEN user_sessions.location_country ELSE excluded.location_country END,
    updated_at = excluded.updated_at,
    last_seen_at = excluded.last_seen_at,
    revoked_at = NULL,
    revoked_reason = NULL`
	sessionsNoNewLocation = `excluded.location_city IS NULL AND excluded.location_region IS NULL AND excluded.location_country IS NULL`

	// qSessionsTouch is the DO UPDATE of qSessionsUpsert as a plain UPDATE,
	// for a session that exists; qSessionsTouchLocated also sets a new
	// location.
	sessionsTouchSet = `UPDATE user_sessions SET refresh_jti = $2, fingerprint = $3, ip_hash = $4, ip_encrypted = $5,
    ip_masked = $6, user_agent = $7, client_platform = $8, client_browser = $9, client_device = $10,
    updated_at = $11, last_seen_at = $11, revoked_at = NULL, revoked_reason = NULL`
	qSessionsTouch        = sessionsTouchSet + ` WHERE id = $1`
	qSessionsTouchLocated = sessionsTouchSet + `, location_city = $12, location_region = $13, location_country = $14
WHERE id = $1`

	// $2: 1 = only tenant $3; $4: 1 = revoked sessions too. (Flags, not "$3
	// IS NULL": Postgres cannot type a parameter only tested for NULL.)
	sessionsListWhere = ` FROM user_sessions
WHERE user_id = $1 AND ($2 = 0 OR tenant_id = $3) AND ($4 = 1 OR revoked_at IS NULL)`
	qSessionsCount = `SELECT count(*)` + sessionsListWhere
	qSessionsList  = `SELECT ` + sessionColumns + sessionsListWhere + `
ORDER BY last_seen_at DESC NULLS LAST, created_at DESC, id DESC LIMIT $5 OFFSET $6`

	qSessionsGet    = `SELECT ` + sessionColumns + ` FROM user_sessions WHERE user_id = $1 AND id = $2`
	qSessionsRevoke = `UPDATE user_sessions SET revoked_at = $2, revoked_reason = $3, updated_at = $2
WHERE id = $1 AND revoked_at IS NULL`
	qSessionsRevokeAllForUser = `UPDATE user_sessions SET revoked_at = $2, revoked_reason = $3, updated_at = $2
WHERE user_id = $1 AND revoked_at IS NULL`
)

// Upsert records a login or refresh on the session sess.ID in one statement
// (spec: auth-and-keys.md §8.6): a new row gets created_at = now; an existing
// one keeps user, tenant and created_at, takes the new refresh jti,
// fingerprint, user agent, client and IP fields, keeps its location unless
// sess carries one, and is un-revoked. last_seen_at = updated_at = now.
func (ss Sessions) Upsert(ctx context.Context, sess Session, now time.Time) error {
	_, err := ss.s.q.ExecContext(ctx, qSessionsUpsert, sess.ID, sess.UserID, sess.TenantID, sess.RefreshJTI,
		optText(sess.Fingerprint), optText(sess.IPHash), optBytes(sess.IPEncrypted), optText(sess.IPMasked),
		optText(sess.UserAgent), optText(sess.ClientPlatform), optText(sess.ClientBrowser), optText(sess.ClientDevice),
		optText(sess.LocationCity), optText(sess.LocationRegion), optText(sess.LocationCountry), ss.s.d.timeArg(now))
	return ss.s.conflict(err, "upsert session")
}

// touch is Upsert for a session that exists, as one UPDATE: SQLite runs an
// upsert as an insert first, which checks the new row and probes the
// unique indexes before it turns into the update. It reports whether the
// session was there (when not, nothing is written).
func (ss Sessions) touch(ctx context.Context, sess Session, now time.Time) (bool, error) {
	args := []any{sess.ID, sess.RefreshJTI, optText(sess.Fingerprint), optText(sess.IPHash), optBytes(sess.IPEncrypted),
		optText(sess.IPMasked), optText(sess.UserAgent), optText(sess.ClientPlatform), optText(sess.ClientBrowser),
		optText(sess.ClientDevice), ss.s.d.timeArg(now)}
	query := qSessionsTouch
	if sess.LocationCity != "" || sess.LocationRegion != "" || sess.LocationCountry != "" {
		query = qSessionsTouchLocated
		args = append(args, optText(sess.LocationCity), optText(sess.LocationRegion), optText(sess.LocationCountry))
	}
	res, err := ss.s.q.ExecContext(ctx, query, args...)
	n, err := ss.s.affected(res, err, "update session")
	return n > 0, err
}

// ListForUser returns a page of the user's sessions, most recently seen
// first (never-seen last, then newest), and the number of sessions matching
// f (spec: auth-and-keys.md §8.8).
func (ss Sessions) ListForUser(ctx context.Context, userID string, f SessionFilter) ([]Session, int, error) {
	userID, ok := canonicalID(userID)
	tenant, okT := optID(f.TenantID)
	if !ok || !okT {
		return nil, 0, nil // nothing matches an id that is not a UUID
	}
	args := []any{userID, flag(tenant != nil), tenant, flag(f.IncludeRevoked)}
	var total int
	if err := ss.s.q.QueryRowContext(ctx, qSessionsCount, args...).Scan(&total); err != nil {
		return nil, 0, ss.s.d.classify(err, "count sessions")
	}
	limit, offset := page(f.Limit, f.Offset)
	rows, err := ss.s.q.QueryContext(ctx, qSessionsList, append(args, limit, offset)...)
	if err != nil {
		return nil, 0, ss.s.d.classify(err, "list sessions")
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		sess, err := ss.scan(rows)
		if err != nil {
			return nil, 0, ss.s.d.classify(err, "list sessions")
		}
		out = append(out, sess)
	}
	return out, total, ss.s.d.classify(rows.Err(), "list sessions")
}

// Get returns the user's session id, or ErrNotFound (also for another
// user's session and for ids that are not UUIDs).
func (ss Sessions) Get(ctx context.Context, userID, id string) (Session, error) {
	userID, okU := canonicalID(userID)
	id, okS := canonicalID(id)
	if !okU || !okS {
		return Session{}, notFound("get session")
	}
	sess, err := ss.scan(ss.s.q.QueryRowContext(ctx, qSessionsGet, userID, id))
	return sess, ss.s.d.classify(err, "get session")
}

// Revoke marks the session revoked if it is not already; it reports whether
// it did (spec: auth-and-keys.md §8.8).
func (ss Sessions) Revoke(ctx context.Context, id, reason string, now time.Time) (bool, error) {
	id, ok := canonicalID(id)
	if !ok {
		return false, nil
	}
	res, err := ss.s.q.ExecContext(ctx, qSessionsRevoke, id, ss.s.d.timeArg(now), optText(reason))
	n, err := ss.s.affected(res, err, "revoke session")
	return n > 0, err
}

// RevokeAllForUser marks every unrevoked session of the user revoked and
// returns how many it marked ("revoke all sessions", §8.8).
func (ss Sessions) RevokeAllForUser(ctx context.Context, userID, reason string, now time.Time) (int, error) {
	userID, ok := canonicalID(userID)
	if !ok {
		return 0, nil
	}
	res, err := ss.s.q.ExecContext(ctx, qSessionsRevokeAllForUser, userID, ss.s.d.timeArg(now), optText(reason))
	return ss.s.affected(res, err, "revoke sessions of user")
}

func (ss Sessions) scan(r interface{ Scan(...any) error }) (s Session, err error) {
	d := ss.s.d
	err = r.Scan(&s.ID, &s.UserID, &s.TenantID, &s.RefreshJTI, optString(&s.Fingerprint), optString(&s.IPHash),
		&s.IPEncrypted, optString(&s.IPMasked), optString(&s.UserAgent), optString(&s.ClientPlatform),
		optString(&s.ClientBrowser), optString(&s.ClientDevice), optString(&s.LocationCity),
		optString(&s.LocationRegion), optString(&s.LocationCountry), d.scanTime(&s.CreatedAt),
		d.scanTime(&s.UpdatedAt), d.scanNullTime(&s.LastSeenAt), d.scanNullTime(&s.RevokedAt),
		optString(&s.RevokedReason))
	return s, err
}

// optID is canonicalID for an optional value: "" is NULL (ok).
func optID(id string) (any, bool) {
	if id == "" {
		return nil, true
	}
	c, ok := canonicalID(id)
	return c, ok
}

// page turns a caller's limit and offset into SQL values: limit <= 0 is no
// limit, a negative offset is 0.
func page(limit, offset int) (int64, int64) {
	l := int64(limit)
	if limit <= 0 {
		l = math.MaxInt64
	}
	return l, int64(max(offset, 0))
}
