package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// AuthState is the auth area's Redis state: login lockout and IP throttle
// counters, one-time email tokens, Vault nonces and the service-account token
// cache. Keys are exactly the spec's catalogue (auth-and-keys.md §16), each
// behind the keyPrefix given to NewAuthState.
type AuthState struct {
	r      *Redis
	prefix string
}

// NewAuthState returns the auth state on r; production passes keyPrefix "",
// tests pass storetest's per-test prefix.
func NewAuthState(r *Redis, keyPrefix string) *AuthState {
	return &AuthState{r: r, prefix: keyPrefix}
}

func (a *AuthState) key(parts ...string) string {
	return a.prefix + "auth:" + strings.Join(parts, ":")
}

// --- per-user lockout (spec: auth-and-keys.md §7.2, §18.3 note 21) ---

// failUserScript: INCR the counter, EXPIRE it on every failure (a window
// sliding from the last failure), and at the threshold SET the lock key.
var failUserScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
if n >= tonumber(ARGV[3]) then
  redis.call('SET', KEYS[2], '1', 'EX', ARGV[2])
  return {n, 1}
end
return {n, 0}`)

// FailUser records one wrong password of userID: the failure counter lives
// window from this failure; once it reaches threshold the user is locked for
// lockFor (locked reports that this failure set the lock). Spec §7.2.
func (a *AuthState) FailUser(ctx context.Context, userID string, window, lockFor time.Duration, threshold int) (count int, locked bool, err error) {
	keys := []string{a.key("lockout", "counter", userID), a.key("lockout", "state", userID)}
	res, err := failUserScript.Run(ctx, a.r, keys, redisSeconds(window), redisSeconds(lockFor), threshold).Int64Slice()
	if err == nil && len(res) != 2 {
		err = fmt.Errorf("unexpected script reply %v", res)
	}
	if err != nil {
		return 0, false, fmt.Errorf("store: record login failure: %w", err)
	}
	return int(res[0]), res[1] == 1, nil
}

// UserLocked reports whether userID's lock key exists (spec §7.2).
func (a *AuthState) UserLocked(ctx context.Context, userID string) (bool, error) {
	n, err := a.r.Exists(ctx, a.key("lockout", "state", userID)).Result()
	if err != nil {
		return false, fmt.Errorf("store: check user lock: %w", err)
	}
	return n > 0, nil
}

// ClearUser deletes userID's failure counter and lock.
func (a *AuthState) ClearUser(ctx context.Context, userID string) error {
	if err := a.r.Del(ctx, a.key("lockout", "counter", userID), a.key("lockout", "state", userID)).Err(); err != nil {
		return fmt.Errorf("store: clear user lockout: %w", err)
	}
	return nil
}

// --- per-IP and /24 throttle (spec: auth-and-keys.md §7.3) ---

// IPTokens are the throttle keys of a client IP: an IPv6 address alone; an
// IPv4 address and its "a.b.c.0/24"; nothing for an unknown ("") IP.
func IPTokens(ip string) []string {
	if ip == "" {
		return nil
	}
	if strings.Contains(ip, ":") {
		return []string{ip}
	}
	if p := strings.Split(ip, "."); len(p) >= 3 {
		return []string{ip, p[0] + "." + p[1] + "." + p[2] + ".0/24"}
	}
	return []string{ip}
}

// IPBlocked reports whether any of the tokens is blocked.
func (a *AuthState) IPBlocked(ctx context.Context, tokens []string) (bool, error) {
	if len(tokens) == 0 {
		return false, nil
	}
	keys := make([]string, len(tokens))
	for i, t := range tokens {
		keys[i] = a.key("ip", "block", t)
	}
	n, err := a.r.Exists(ctx, keys...).Result()
	if err != nil {
		return false, fmt.Errorf("store: check ip block: %w", err)
	}
	return n > 0, nil
}

// failIPScript: INCR the counter; a new counter (or one found without a TTL)
// gets the window, fixed from the first failure; at the threshold SET the
// block and DEL the counter. Returns 1 when it blocked.
var failIPScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('TTL', KEYS[1]) == -1 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
if n >= tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'EX', ARGV[3])
  redis.call('DEL', KEYS[1])
  return 1
end
return 0`)

// FailIP records one login failure (unknown email or wrong password) for
// each token; a token reaching threshold within window is blocked for
// blockFor. Each token is updated atomically.
func (a *AuthState) FailIP(ctx context.Context, tokens []string, threshold int, window, blockFor time.Duration) error {
	for _, t := range tokens {
		keys := []string{a.key("ip", "counter", t), a.key("ip", "block", t)}
		if err := failIPScript.Run(ctx, a.r, keys, redisSeconds(window), max(threshold, 1), redisSeconds(blockFor)).Err(); err != nil {
			return fmt.Errorf("store: record ip failure: %w", err)
		}
	}
	return nil
}

// --- one-time email tokens (spec: auth-and-keys.md §10.1, §11.1, §18.4 note 23) ---

// Kinds of one-time token, the middle of their Redis keys.
const (
	TokenEmailVerify   = "emailverify"
	TokenPasswordReset = "pwdreset"
)

// errTokenKind means a token kind other than the two above.
var errTokenKind = errors.New("store: unknown one-time token kind")

// OneTimeToken is the stored half of an email-verification or password-reset
// token "<token_id>.<secret>"; only the secret's hash is kept.
type OneTimeToken struct {
	TokenID      string    `json:"token_id"`
	UserID       string    `json:"user_id"`
	Email        string    `json:"email"`
	HashedSecret string    `json:"hashed_secret"`
	CreatedAt    time.Time `json:"created_at"`
	ExpiresAt    time.Time `json:"expires_at"`
	Fingerprint  string    `json:"fingerprint"` // "" is stored as null
}

// MarshalJSON writes times in UTC and an empty fingerprint as null, as the reference.
func (t OneTimeToken) MarshalJSON() ([]byte, error) {
	type plain OneTimeToken
	t.CreatedAt, t.ExpiresAt = t.CreatedAt.UTC(), t.ExpiresAt.UTC()
	return json.Marshal(struct {
		plain
		Fingerprint *string `json:"fingerprint"`
	}{plain(t), jsonNullable(t.Fingerprint)})
}

func (a *AuthState) tokenKeys(kind, tokenID, userID string) (token, set string, err error) {
	if kind != TokenEmailVerify && kind != TokenPasswordReset {
		return "", "", fmt.Errorf("%w: %q", errTokenKind, kind)
	}
	return a.key(kind, tokenID), a.key(kind, "user", userID), nil
}

// SaveToken stores t under auth:<kind>:<token_id> for ttl and adds its id to
// the user's set auth:<kind>:user:<user_id>, whose TTL is raised to at least
// ttl, in one transaction. Earlier tokens of the user stay valid.
func (a *AuthState) SaveToken(ctx context.Context, kind string, t OneTimeToken, ttl time.Duration) error {
	tokenKey, setKey, err := a.tokenKeys(kind, t.TokenID, t.UserID)
	if err != nil {
		return err
	}
	body, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("store: encode %s token: %w", kind, err)
	}
	exp := time.Duration(redisSeconds(ttl)) * time.Second
	_, err = a.r.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, tokenKey, body, exp)
		p.SAdd(ctx, setKey, t.TokenID)
		p.ExpireNX(ctx, setKey, exp) // a new set: no TTL yet
		p.ExpireGT(ctx, setKey, exp) // an old one: only ever extended
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: save %s token: %w", kind, err)
	}
	return nil
}

// Token returns the stored token, or ErrNotFound once it expired or was used.
func (a *AuthState) Token(ctx context.Context, kind, tokenID string) (OneTimeToken, error) {
	tokenKey, _, err := a.tokenKeys(kind, tokenID, "")
	if err != nil {
		return OneTimeToken{}, err
	}
	body, err := a.r.Get(ctx, tokenKey).Bytes()
	if errors.Is(err, redis.Nil) {
		return OneTimeToken{}, ErrNotFound
	}
	if err != nil {
		return OneTimeToken{}, fmt.Errorf("store: get %s token: %w", kind, err)
	}
	var t OneTimeToken
	if err := json.Unmarshal(body, &t); err != nil {
		return OneTimeToken{}, fmt.Errorf("store: decode %s token: %w", kind, err)
	}
	return t, nil
}

// DeleteToken deletes one token and its id in the user's set; deleting a
// missing token is not an error.
func (a *AuthState) DeleteToken(ctx context.Context, kind, tokenID, userID string) error {
	tokenKey, setKey, err := a.tokenKeys(kind, tokenID, userID)
	if err != nil {
		return err
	}
	_, err = a.r.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, tokenKey)
		p.SRem(ctx, setKey, tokenID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delete %s token: %w", kind, err)
	}
	return nil
}

// DeleteUserTokens deletes every outstanding token of kind for userID and
// the user's set, and returns how many live tokens it deleted. The set is
// WATCHed, so a token saved meanwhile is deleted too (the transaction retries).
func (a *AuthState) DeleteUserTokens(ctx context.Context, kind, userID string) (int, error) {
	_, setKey, err := a.tokenKeys(kind, "", userID)
	if err != nil {
		return 0, err
	}
	var deleted int
	txn := func(tx *redis.Tx) error {
		ids, err := tx.SMembers(ctx, setKey).Result()
		if err != nil {
			return err
		}
		var del *redis.IntCmd
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			if len(ids) > 0 {
				keys := make([]string, len(ids))
				for i, id := range ids {
					keys[i] = a.key(kind, id)
				}
				del = p.Del(ctx, keys...)
			}
			p.Del(ctx, setKey)
			return nil
		})
		if err == nil && del != nil {
			deleted = int(del.Val())
		}
		return err
	}
	for range 10 {
		err = a.r.Watch(ctx, txn, setKey)
		if !errors.Is(err, redis.TxFailedErr) {
			break
		}
	}
	if err != nil {
		return 0, fmt.Errorf("store: delete %s tokens of user: %w", kind, err)
	}
	return deleted, nil
}

// --- Vault nonces (spec: auth-and-keys.md §13.3 step 5) ---

// maxNonceTTL caps how long a used Vault nonce is remembered (spec §13.3).
const maxNonceTTL = 300 * time.Second

// UseNonce marks a Vault payload nonce used for ttl (whole seconds, 1 s to
// 300 s) and reports whether it was fresh; false means a replay.
func (a *AuthState) UseNonce(ctx context.Context, nonce string, ttl time.Duration) (fresh bool, err error) {
	if nonce == "" {
		return false, errors.New("store: empty vault nonce")
	}
	exp := time.Duration(redisSeconds(min(ttl, maxNonceTTL))) * time.Second
	fresh, err = a.r.SetNX(ctx, a.key("nonce", nonce), 1, exp).Result()
	if err != nil {
		return false, fmt.Errorf("store: record vault nonce: %w", err)
	}
	return fresh, nil
}

// --- service-account token cache (spec: auth-and-keys.md §8.3, §18.2 note 12) ---

// CachedServiceToken is the metadata of a service account's active refresh
// token. It holds no token: a hit is rebuilt by re-signing (note 12).
type CachedServiceToken struct {
	JTI         string    `json:"jti"`
	Account     string    `json:"account"`
	TenantID    string    `json:"tenant_id"` // "" is stored as null
	Scopes      []string  `json:"scopes"`
	ExpiresAt   time.Time `json:"expires_at"`
	IssuedAt    time.Time `json:"issued_at"`
	Fingerprint string    `json:"fingerprint"` // "" is stored as null
	SigningKID  string    `json:"signing_kid"`
	SessionID   string    `json:"session_id"` // "" is stored as null
}

// MarshalJSON writes times in UTC and empty optional ids as null, as the reference.
func (t CachedServiceToken) MarshalJSON() ([]byte, error) {
	type plain CachedServiceToken
	t.ExpiresAt, t.IssuedAt = t.ExpiresAt.UTC(), t.IssuedAt.UTC()
	if t.Scopes == nil {
		t.Scopes = []string{}
	}
	return json.Marshal(struct {
		plain
		TenantID    *string `json:"tenant_id"`
		Fingerprint *string `json:"fingerprint"`
		SessionID   *string `json:"session_id"`
	}{plain(t), jsonNullable(t.TenantID), jsonNullable(t.Fingerprint), jsonNullable(t.SessionID)})
}

func (a *AuthState) serviceTokenKey(account, tenantID, scopeKey string) string {
	if tenantID == "" {
		tenantID = "global"
	}
	return a.key("refresh", account, tenantID, scopeKey)
}

// CacheServiceToken caches t under auth:refresh:<account>:<tenant or
// global>:<scopeKey> until it expires; an already expired t (less than a
// whole second left at now) is not written.
func (a *AuthState) CacheServiceToken(ctx context.Context, scopeKey string, t CachedServiceToken, now time.Time) error {
	ttl := t.ExpiresAt.Sub(now).Truncate(time.Second)
	if ttl <= 0 {
		return nil
	}
	body, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("store: encode service token cache: %w", err)
	}
	if err := a.r.Set(ctx, a.serviceTokenKey(t.Account, t.TenantID, scopeKey), body, ttl).Err(); err != nil {
		return fmt.Errorf("store: cache service token: %w", err)
	}
	return nil
}

// CachedServiceToken returns the cached token metadata, or ErrNotFound when
// none is cached; an entry that expired by now, or cannot be read, is deleted
// and reported as ErrNotFound.
func (a *AuthState) CachedServiceToken(ctx context.Context, account, tenantID, scopeKey string, now time.Time) (CachedServiceToken, error) {
	key := a.serviceTokenKey(account, tenantID, scopeKey)
	body, err := a.r.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return CachedServiceToken{}, ErrNotFound
	}
	if err != nil {
		return CachedServiceToken{}, fmt.Errorf("store: get cached service token: %w", err)
	}
	var t CachedServiceToken
	if json.Unmarshal(body, &t) != nil || !t.ExpiresAt.After(now) {
		if err := a.r.Del(ctx, key).Err(); err != nil {
			return CachedServiceToken{}, fmt.Errorf("store: drop stale service token cache: %w", err)
		}
		return CachedServiceToken{}, ErrNotFound
	}
	return t, nil
}

// ForgetServiceToken deletes the cache entry (after a revocation or replacement).
func (a *AuthState) ForgetServiceToken(ctx context.Context, account, tenantID, scopeKey string) error {
	if err := a.r.Del(ctx, a.serviceTokenKey(account, tenantID, scopeKey)).Err(); err != nil {
		return fmt.Errorf("store: forget cached service token: %w", err)
	}
	return nil
}

// jsonNullable is nil for "", so JSON has null where the reference writes None.
func jsonNullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
