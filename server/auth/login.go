package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/google/uuid"

	"agentplane/keys"
	"agentplane/store"
)

// Login details (spec: http-api.md §2.3.1).
const (
	msgBadLogin        = "Invalid email or password."
	msgBadTenantID     = "Invalid tenant identifier supplied."
	msgNoTenant        = "User is not assigned to any tenant."
	msgNotMember       = "User is not a member of the requested tenant."
	msgTenantRequired  = "Tenant context required for multi-tenant users."
	msgAccountLocked   = "Account is locked."
	msgLockedNow       = "Account locked due to repeated failures."
	msgIPThrottled     = "Too many login attempts from this network segment."
	msgUserDisabled    = "User is disabled."
	msgUserPending     = "User is pending."
	msgUnknownUser     = "Unknown user."
	statusActive       = "active"
	statusLocked       = "locked"
	statusDisabled     = "disabled"
	statusPending      = "pending"
	loginResultSuccess = "success"
	loginResultFailure = "failure"
	loginResultLocked  = "locked"
)

// Caller is the network identity of a request (client IP resolved through
// the trusted proxies, and the User-Agent).
type Caller struct {
	IP        netip.Addr
	UserAgent string
}

func (c Caller) ip() string {
	if !c.IP.IsValid() {
		return ""
	}
	return c.IP.String()
}

// LoginInput is the body of POST /auth/token.
type LoginInput struct {
	Email, Password, TenantID string
}

// Login authenticates a person and opens a session (spec: auth-and-keys.md
// §7.1 with §18.3 note 18).
func (s *Service) Login(ctx context.Context, in LoginInput, c Caller) (SessionResponse, error) {
	ipTokens := store.IPTokens(c.ip())
	if blocked, err := s.d.State.IPBlocked(ctx, ipTokens); err != nil {
		return SessionResponse{}, err
	} else if blocked {
		return SessionResponse{}, fail(ErrThrottled, msgIPThrottled)
	}
	users := s.d.Store.Users()
	u, err := users.ByEmail(ctx, strings.ToLower(strings.TrimSpace(in.Email)))
	if errors.Is(err, store.ErrNotFound) {
		_ = s.d.Hasher.DummyVerify(ctx, in.Password) // same time as a real check
		s.failIP(ctx, ipTokens)
		return SessionResponse{}, fail(ErrUnauthenticated, msgBadLogin)
	}
	if err != nil {
		return SessionResponse{}, err
	}
	m, err := s.membership(ctx, u.ID, in.TenantID)
	if err != nil {
		return SessionResponse{}, err
	}
	client, err := NewClient(s.secrets, c.IP, c.UserAgent, s.now())
	if err != nil {
		return SessionResponse{}, err
	}
	if u.Status == statusLocked {
		if err := s.lockedCheck(ctx, u, m.TenantID, client); err != nil {
			return SessionResponse{}, err
		}
	}
	ok, rehash, err := s.d.Hasher.VerifyVersion(ctx, in.Password, u.PasswordHash, u.PasswordVersion)
	if err != nil {
		return SessionResponse{}, err
	}
	if !ok {
		return SessionResponse{}, s.wrongPassword(ctx, u, m.TenantID, client, ipTokens)
	}
	if err := s.statusCheck(ctx, u, m.TenantID, client); err != nil {
		return SessionResponse{}, err
	}
	if rehash {
		if err := s.setPassword(ctx, s.d.Store, u.ID, in.Password); err != nil {
			return SessionResponse{}, err
		}
	}
	if err := s.d.State.ClearUser(ctx, u.ID); err != nil {
		return SessionResponse{}, err
	}
	s.loginEvent(ctx, u.ID, m.TenantID, client, loginResultSuccess, "login")
	s.event(ctx, slog.LevelInfo, "auth.login", slog.String("result", "success"), slog.String("user_id", u.ID), slog.String("tenant_id", m.TenantID))
	p, err := s.signPair(ctx, u, m, uuid.NewString(), client)
	if err != nil {
		return SessionResponse{}, err
	}
	if err := s.d.Store.InTx(ctx, func(tx *store.Store) error { return s.record(ctx, tx, p) }); err != nil {
		return SessionResponse{}, err
	}
	return p.resp, nil
}

// membership resolves the tenant a login acts in (§7.1 step 3).
func (s *Service) membership(ctx context.Context, userID, tenantID string) (store.Membership, error) {
	tenantID = strings.TrimSpace(tenantID)
	if tenantID != "" {
		if _, err := uuid.Parse(tenantID); err != nil {
			return store.Membership{}, fail(ErrUnauthenticated, msgBadTenantID)
		}
	}
	all, err := s.d.Store.Tenants().MembershipsOf(ctx, userID)
	if err != nil {
		return store.Membership{}, err
	}
	switch {
	case len(all) == 0:
		return store.Membership{}, fail(ErrUnauthenticated, msgNoTenant)
	case tenantID != "":
		for _, m := range all {
			if strings.EqualFold(m.TenantID, tenantID) {
				return m, nil
			}
		}
		return store.Membership{}, fail(ErrUnauthenticated, msgNotMember)
	case len(all) > 1:
		return store.Membership{}, fail(ErrInvalid, msgTenantRequired)
	}
	return all[0], nil
}

// lockedCheck refuses a locked user while the lock lasts and unlocks one
// whose lock expired (§7.1 step 4).
func (s *Service) lockedCheck(ctx context.Context, u store.User, tenantID string, c Client) error {
	locked, err := s.d.State.UserLocked(ctx, u.ID)
	if err != nil {
		return err
	}
	if locked {
		s.loginEvent(ctx, u.ID, tenantID, c, loginResultLocked, "status_locked")
		return fail(ErrLocked, msgAccountLocked)
	}
	if err := s.d.Store.Users().SetStatus(ctx, u.ID, statusActive, s.now()); err != nil {
		return err
	}
	return s.d.State.ClearUser(ctx, u.ID)
}

// statusCheck refuses disabled and pending users (after the password, so a
// wrong guess learns nothing about the account; §18.3 note 18).
func (s *Service) statusCheck(ctx context.Context, u store.User, tenantID string, c Client) error {
	switch u.Status {
	case statusDisabled:
		s.loginEvent(ctx, u.ID, tenantID, c, loginResultFailure, "disabled")
		return fail(ErrForbidden, msgUserDisabled)
	case statusPending:
		s.loginEvent(ctx, u.ID, tenantID, c, loginResultFailure, "pending")
		return fail(ErrForbidden, msgUserPending)
	}
	return nil
}

// wrongPassword counts the failure per IP and per user, locking the user at
// the threshold (§7.2); disabled and pending users are not counted.
func (s *Service) wrongPassword(ctx context.Context, u store.User, tenantID string, c Client, ipTokens []string) error {
	s.failIP(ctx, ipTokens)
	if u.Status == statusDisabled || u.Status == statusPending {
		return fail(ErrUnauthenticated, msgBadLogin)
	}
	_, locked, err := s.d.State.FailUser(ctx, u.ID, s.cfg.AuthLockoutWindow, s.cfg.AuthLockoutDuration, s.cfg.AuthLockoutThreshold)
	if err != nil {
		return err
	}
	s.loginEvent(ctx, u.ID, tenantID, c, loginResultFailure, "invalid_password")
	if !locked {
		return fail(ErrUnauthenticated, msgBadLogin)
	}
	if err := s.d.Store.Users().SetStatus(ctx, u.ID, statusLocked, s.now()); err != nil {
		return err
	}
	s.loginEvent(ctx, u.ID, tenantID, c, loginResultLocked, "lockout_threshold")
	s.event(ctx, slog.LevelWarn, "auth.lockout", slog.String("user_id", u.ID))
	return fail(ErrLocked, msgLockedNow)
}

func (s *Service) failIP(ctx context.Context, tokens []string) {
	if len(tokens) == 0 {
		return
	}
	threshold := max(s.cfg.AuthIPLockoutThreshold, 1)
	window, block := max(s.cfg.AuthIPLockoutWindow, time.Second), max(s.cfg.AuthIPLockoutDuration, time.Second)
	if err := s.d.State.FailIP(ctx, tokens, threshold, window, block); err != nil {
		s.log.WarnContext(ctx, "login throttle not recorded", "error", err.Error())
	}
}

// loginEvent records an audit row; a failure to record is logged, not fatal.
func (s *Service) loginEvent(ctx context.Context, userID, tenantID string, c Client, result, reason string) {
	err := s.d.Store.Users().AddLoginEvent(ctx, store.LoginEvent{
		ID: uuid.NewString(), UserID: userID, TenantID: tenantID, IPHash: c.IPHash,
		UserAgent: c.UserAgent, Result: result, Reason: reason, CreatedAt: s.now(),
	})
	if err != nil {
		s.log.WarnContext(ctx, "login event not recorded", "error", err.Error())
	}
}

// setPassword stores a v3 hash of plain (a legacy hash upgraded at login).
func (s *Service) setPassword(ctx context.Context, st *store.Store, userID, plain string) error {
	hash, version, err := s.d.Hasher.Hash(ctx, plain)
	if err != nil {
		return err
	}
	return st.InTx(ctx, func(tx *store.Store) error { return s.storePassword(ctx, tx, userID, hash, version) })
}

// storePassword writes a new hash, records it in the history and trims the
// history to AUTH_PASSWORD_HISTORY_COUNT (§6.3).
func (s *Service) storePassword(ctx context.Context, tx *store.Store, userID, hash, version string) error {
	now, users := s.now(), tx.Users()
	if err := users.SetPassword(ctx, userID, hash, version, now); err != nil {
		return err
	}
	if err := users.AddPasswordHistory(ctx, uuid.NewString(), userID, hash, version, now); err != nil {
		return err
	}
	return users.TrimPasswordHistory(ctx, userID, s.cfg.AuthPasswordHistoryCount)
}

// pair is a signed access and refresh token of one session, not yet recorded.
type pair struct {
	resp    SessionResponse
	session store.Session
	refresh store.RefreshToken
}

// signPair signs an access and a refresh token for the membership (spec:
// §8.1 steps 1-3). It does no I/O but signing, so callers run it before
// their transaction: the transaction then holds only the writes.
func (s *Service) signPair(ctx context.Context, u store.User, m store.Membership, sid string, c Client) (pair, error) {
	jti, err := newRefreshJTI()
	if err != nil {
		return pair{}, err
	}
	iat := s.now().Unix()
	scopes := RoleScopes(m.Role)
	scope := strings.Join(scopes, " ")
	verified := u.EmailVerifiedAt != nil
	access := AccessClaims{
		Sub: "user:" + u.ID, TenantID: m.TenantID, Roles: []string{m.Role}, Scope: scope, TokenUse: "access",
		Iss: s.cfg.AppName, Aud: s.cfg.AuthAudience, JTI: uuid.NewString(), EmailVerified: verified, SID: sid,
		Iat: iat, Nbf: iat, Exp: iat + int64(s.cfg.AccessTokenTTL/time.Second),
	}
	refresh := refreshClaims{
		Sub: "user:" + u.ID, TenantID: m.TenantID, Scope: scope, TokenUse: "refresh", Iss: s.cfg.AppName,
		EmailVerified: verified, JTI: jti, Iat: iat, Nbf: iat,
		Exp: iat + int64(s.cfg.AuthRefreshTokenTTL/time.Second), Account: "user:" + u.ID, SID: sid,
	}
	accessToken, kid, err := s.d.Keys.Sign(ctx, access)
	if err != nil {
		return pair{}, err
	}
	refreshToken, refreshKID, err := s.d.Keys.Sign(ctx, refresh)
	if err != nil {
		return pair{}, err
	}
	issued, expires := time.Unix(iat, 0).UTC(), time.Unix(refresh.Exp, 0).UTC()
	tenant, user, session := m.TenantID, u.ID, sid
	return pair{
		resp: SessionResponse{
			AccessToken: accessToken, RefreshToken: refreshToken, TokenType: "bearer",
			ExpiresAt: time.Unix(access.Exp, 0).UTC(), RefreshExpiresAt: expires, KID: kid, RefreshKID: refreshKID,
			Scopes: scopes, TenantID: &tenant, UserID: &user, EmailVerified: verified, SessionID: &session,
		},
		session: store.Session{
			ID: sid, UserID: u.ID, TenantID: m.TenantID, RefreshJTI: refresh.JTI, Fingerprint: c.Fingerprint,
			IPHash: c.IPHash, IPEncrypted: c.IPEncrypted, IPMasked: c.IPMasked, UserAgent: c.UserAgent,
			ClientPlatform: c.Platform, ClientBrowser: c.Browser, ClientDevice: c.Device,
		},
		refresh: store.RefreshToken{
			JTI: refresh.JTI, Account: refresh.Account, TenantID: m.TenantID, ScopeKey: scope, Scopes: scopes,
			Hash: hashRefresh(s.refreshPepper, refreshToken), SigningKID: refreshKID, Fingerprint: c.Fingerprint,
			SessionID: sid, IssuedAt: issued, ExpiresAt: expires,
		},
	}, nil
}

// record writes the session and the refresh token of p on tx (§8.1 steps 4-5).
func (s *Service) record(ctx context.Context, tx *store.Store, p pair) error {
	now := s.now()
	if err := tx.Sessions().Upsert(ctx, p.session, now); err != nil {
		return err
	}
	return tx.RefreshTokens().Insert(ctx, p.refresh, now)
}

// verifyRefresh checks a refresh token's signature and claims (§8.4 steps 1-2).
func (s *Service) verifyRefresh(ctx context.Context, token string, allowExpired bool, kind error) (keys.Claims, error) {
	return s.verifyRefreshWith(ctx, token, allowExpired, kind, nil)
}

// verifyRefreshWith is verifyRefresh with a keys.VerifyOptions.Issued check.
func (s *Service) verifyRefreshWith(ctx context.Context, token string, allowExpired bool, kind error, issued func(keys.Claims) bool) (keys.Claims, error) {
	c, err := s.d.Keys.Verify(ctx, token, keys.VerifyOptions{Issuer: s.cfg.AppName, AllowExpired: allowExpired, Issued: issued})
	if err != nil {
		if errors.Is(err, keys.ErrInvalidToken) {
			return c, fail(kind, "Refresh token verification failed.")
		}
		return c, err
	}
	if c.TokenUse != "refresh" {
		return c, fail(kind, "Token is not a refresh token.")
	}
	return c, nil
}
