package auth

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"agentplane/store"
)

// Result is the SuccessResponse body (spec: http-api.md §1.10).
type Result struct {
	Success bool   `json:"success"`
	Message string `json:"message"`
	Data    any    `json:"data"`
}

func ok(message string, data any) Result { return Result{Success: true, Message: message, Data: data} }

type revoked struct {
	Revoked any `json:"revoked"`
}

// Logout revokes the refresh token of one of the caller's sessions (spec:
// auth-and-keys.md §8.8).
func (s *Service) Logout(ctx context.Context, p *Principal, token string) (Result, error) {
	claims, err := s.verifyRefresh(ctx, token, true, ErrForbidden)
	if err != nil {
		return Result{}, err
	}
	userID, isUser := strings.CutPrefix(claims.Subject, "user:")
	if !isUser || userID == "" {
		return Result{}, fail(ErrForbidden, "Refresh token subject is malformed.")
	}
	if userID != p.UserID {
		return Result{}, fail(ErrForbidden, "Refresh token does not belong to the authenticated user.")
	}
	if claims.JTI == "" {
		return Result{}, fail(ErrForbidden, "Refresh token missing jti claim.")
	}
	now := s.now()
	row, err := s.d.Store.RefreshTokens().ByJTI(ctx, claims.JTI)
	if errors.Is(err, store.ErrNotFound) || err == nil && (row.RevokedAt != nil || !row.ExpiresAt.After(now)) {
		return ok("Session already inactive.", revoked{false}), nil
	}
	if err != nil {
		return Result{}, err
	}
	if row.Account != "user:"+p.UserID {
		return Result{}, fail(ErrForbidden, "Refresh token ownership mismatch.")
	}
	err = s.d.Store.InTx(ctx, func(tx *store.Store) error {
		if _, err := tx.RefreshTokens().Revoke(ctx, row.JTI, "user_logout", now); err != nil {
			return err
		}
		if row.SessionID == "" {
			return nil
		}
		_, err := tx.Sessions().Revoke(ctx, row.SessionID, "user_logout", now)
		return err
	})
	if err != nil {
		return Result{}, err
	}
	s.event(ctx, slog.LevelInfo, "auth.session_revoke", slog.String("user_id", p.UserID), slog.String("reason", "user_logout"))
	return ok("Session revoked successfully.", revoked{true}), nil
}

// LogoutAll revokes every refresh token and session of the caller.
func (s *Service) LogoutAll(ctx context.Context, p *Principal) (Result, error) {
	n, err := s.revokeAll(ctx, s.d.Store, p.UserID, "user_logout_all")
	if err != nil {
		return Result{}, err
	}
	msg := "All sessions revoked successfully."
	if n == 0 {
		msg = "No active sessions to revoke."
	}
	return ok(msg, revoked{n}), nil
}

// revokeAll is "revoke all sessions" of §8.8: every unrevoked refresh row of
// the user and every unrevoked session.
func (s *Service) revokeAll(ctx context.Context, st *store.Store, userID, reason string) (int, error) {
	now := s.now()
	var n int
	err := st.InTx(ctx, func(tx *store.Store) error {
		var err error
		if n, err = tx.RefreshTokens().RevokeAccount(ctx, "user:"+userID, reason, now); err != nil {
			return err
		}
		_, err = tx.Sessions().RevokeAllForUser(ctx, userID, reason, now)
		return err
	})
	return n, err
}

// SessionItem is UserSessionItem (spec: http-api.md §2.3.5).
type SessionItem struct {
	ID              string        `json:"id"`
	TenantID        string        `json:"tenant_id"`
	CreatedAt       time.Time     `json:"created_at"`
	LastSeenAt      *time.Time    `json:"last_seen_at"`
	RevokedAt       *time.Time    `json:"revoked_at"`
	IPAddressMasked *string       `json:"ip_address_masked"`
	Fingerprint     *string       `json:"fingerprint"`
	Client          SessionClient `json:"client"`
	Location        *Location     `json:"location"`
	Current         bool          `json:"current"`
}

// SessionClient is the user-agent summary of a session.
type SessionClient struct {
	Platform  *string `json:"platform"`
	Browser   *string `json:"browser"`
	Device    *string `json:"device"`
	UserAgent *string `json:"user_agent"`
}

// Location is a session's GeoIP location (always null: no provider).
type Location struct {
	City    *string `json:"city"`
	Region  *string `json:"region"`
	Country *string `json:"country"`
}

// SessionList is UserSessionListResponse.
type SessionList struct {
	Sessions []SessionItem `json:"sessions"`
	Total    int           `json:"total"`
	Limit    int           `json:"limit"`
	Offset   int           `json:"offset"`
}

// Sessions lists the caller's sessions.
func (s *Service) Sessions(ctx context.Context, p *Principal, f store.SessionFilter) (SessionList, error) {
	list, total, err := s.d.Store.Sessions().ListForUser(ctx, p.UserID, f)
	if err != nil {
		return SessionList{}, err
	}
	out := SessionList{Sessions: make([]SessionItem, 0, len(list)), Total: total, Limit: f.Limit, Offset: f.Offset}
	for _, ss := range list {
		item := SessionItem{
			ID: ss.ID, TenantID: ss.TenantID, CreatedAt: ss.CreatedAt, LastSeenAt: ss.LastSeenAt,
			RevokedAt: ss.RevokedAt, IPAddressMasked: opt(ss.IPMasked), Fingerprint: opt(ss.Fingerprint),
			Client: SessionClient{Platform: opt(ss.ClientPlatform), Browser: opt(ss.ClientBrowser),
				Device: opt(ss.ClientDevice), UserAgent: opt(ss.UserAgent)},
			Current: ss.ID == p.SessionID,
		}
		if ss.LocationCity != "" || ss.LocationRegion != "" || ss.LocationCountry != "" {
			item.Location = &Location{opt(ss.LocationCity), opt(ss.LocationRegion), opt(ss.LocationCountry)}
		}
		out.Sessions = append(out.Sessions, item)
	}
	return out, nil
}

// RevokeSession revokes one of the caller's sessions and its refresh token.
func (s *Service) RevokeSession(ctx context.Context, p *Principal, id string) (Result, error) {
	notFound := fail(ErrNotFound, "Session not found or already revoked.")
	ss, err := s.d.Store.Sessions().Get(ctx, p.UserID, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && ss.RevokedAt != nil {
		return Result{}, notFound
	}
	if err != nil {
		return Result{}, err
	}
	now := s.now()
	err = s.d.Store.InTx(ctx, func(tx *store.Store) error {
		if _, err := tx.RefreshTokens().RevokeSession(ctx, ss.ID, "user_session_manual_revoke", now); err != nil {
			return err
		}
		done, err := tx.Sessions().Revoke(ctx, ss.ID, "user_session_manual_revoke", now)
		if err == nil && !done {
			return notFound
		}
		return err
	})
	if err != nil {
		return Result{}, err
	}
	return ok("Session revoked successfully.", revoked{true}), nil
}

// Me returns the caller's id and token claims (spec: http-api.md §2.3.7).
func (s *Service) Me(p *Principal) (Result, error) {
	claims, err := p.Claims.Map()
	if err != nil {
		return Result{}, err
	}
	return ok("User information retrieved successfully", map[string]any{"user_id": p.UserID, "token_payload": claims}), nil
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
