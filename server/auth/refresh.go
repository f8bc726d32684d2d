package auth

import (
	"context"
	"crypto/hmac"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"agentplane/keys"
	"agentplane/store"
)

// reuseGrace separates a concurrent-tab race from a stolen token: a rotated
// token presented again within it is only refused (§18.2 note 13).
const reuseGrace = 30 * time.Second

const msgRevoked = "Refresh token has been revoked or expired."

// Refresh rotates a person's refresh token, or exchanges a service
// account's for an access token (spec: auth-and-keys.md §8.4, §18.2 note 13,
// §18.5 note 33).
func (s *Service) Refresh(ctx context.Context, token string, c Caller) (SessionResponse, error) {
	var led ledgerRead
	claims, err := s.verifyRefreshWith(ctx, token, false, ErrUnauthorized, s.issued(ctx, token, &led))
	if err != nil {
		return SessionResponse{}, err
	}
	if strings.HasPrefix(claims.Subject, "service-account:") {
		return s.exchangeServiceToken(ctx, token, claims)
	}
	userID, ok := strings.CutPrefix(claims.Subject, "user:")
	if _, err := uuid.Parse(userID); !ok || err != nil {
		return SessionResponse{}, fail(ErrUnauthorized, "Refresh token subject is malformed.")
	}
	if claims.TenantID == "" {
		return SessionResponse{}, fail(ErrUnauthorized, "Refresh token missing tenant identifier.")
	}
	if claims.JTI == "" {
		return SessionResponse{}, fail(ErrUnauthorized, "Refresh token missing jti claim.")
	}
	sid := claims.SessionID
	if _, err := uuid.Parse(sid); err != nil {
		sid = uuid.NewString()
	}
	client, err := NewClient(s.secrets, c.IP, c.UserAgent, s.now())
	if err != nil {
		return SessionResponse{}, err
	}
	// A token that is no longer active answers as the reference orders it
	// (revoked before any user check); the rotation below stays the gate.
	if !led.done {
		led.load(ctx, s.d.Store.RefreshTokens(), claims)
	}
	row, err := led.read.Token, led.err
	if errors.Is(err, store.ErrNotFound) || err == nil && (row.RevokedAt != nil || !row.ExpiresAt.After(s.now())) {
		return SessionResponse{}, s.reuse(ctx, claims)
	} else if err != nil {
		return SessionResponse{}, err
	}
	// Everything but the writes happens before the transaction, which on
	// SQLite is the one writer: user checks and signing run in parallel, the
	// transaction holds only rotation and recording.
	u, m, err := s.refreshable(ctx, led.read)
	if err != nil {
		return SessionResponse{}, err
	}
	p, err := s.signPair(ctx, u, m, sid, client)
	if err != nil {
		return SessionResponse{}, err
	}
	// The rotation is the gate: of concurrent refreshes with one token one
	// rotates it; the others find it no longer active.
	err = s.d.Store.RefreshTokens().RotateTo(ctx, claims.JTI, claims.Subject, p.session, p.refresh, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return SessionResponse{}, s.reuse(ctx, claims)
	}
	if err != nil {
		return SessionResponse{}, err
	}
	return p.resp, nil
}

// ledgerRead is the ledger row of a refresh token, read while the token is
// verified (see issued), with the user and membership of a person's token.
type ledgerRead struct {
	read store.RefreshRead
	err  error
	done bool // read and err are set
}

// load reads the ledger row of the token with claims c: for a person's
// token with the user and membership it acts for, in the same query.
func (led *ledgerRead) load(ctx context.Context, tokens store.RefreshTokens, c keys.Claims) {
	if userID, ok := strings.CutPrefix(c.Subject, "user:"); ok {
		led.read, led.err = tokens.ForRefresh(ctx, c.JTI, userID, c.TenantID)
	} else {
		led.read.Token, led.err = tokens.ByJTI(ctx, c.JTI)
	}
	led.done = true
}

// issued is the keys.VerifyOptions.Issued check of a refresh: it reads the
// token's ledger row by jti into led (the read the refresh needs anyway;
// for a person's token with the user and membership it acts for) and
// vouches for the token when the row's refresh_token_hash is the token's,
// which spares the Ed25519 verification (a third of the signing work of a
// refresh). Why that is as strong as the signature:
//
//   - The hash is HMAC-SHA256 under AUTH_REFRESH_TOKEN_PEPPER of the exact
//     string we signed and recorded at issuance. An equal hash means the
//     presented string is that token: finding another string with the same
//     HMAC is a SHA-256 second preimage, out of reach even to someone who
//     knows the pepper. Its signature is one we made; checking it again
//     proves nothing new. The comparison is constant-time.
//   - Everything else is still checked first: alg, a kid naming a key still
//     trusted for verification (a key dropped by `keys rotate --no-grace`
//     still invalidates its tokens), every claim, token_use = refresh.
//   - Who could forge changes only from "holds the signing key" to "can write
//     rows to the database and knows the refresh pepper". Database write
//     access alone already takes over any account (a v1, unpeppered bcrypt
//     hash in users.password_hash is accepted at login), so this opens no new
//     way in. A read-only copy of the database (a backup) holds HMACs, not
//     tokens, and gives nothing.
//   - No row, an empty hash or a different one (a forged signature on a real
//     jti, a row hashed under an earlier pepper) vouches for nothing: the
//     signature then decides, and a forged token fails as before. A forger
//     costs us one indexed read instead of one signature check.
func (s *Service) issued(ctx context.Context, token string, led *ledgerRead) func(keys.Claims) bool {
	return func(c keys.Claims) bool {
		if c.TokenUse != "refresh" || c.JTI == "" {
			return false
		}
		led.load(ctx, s.d.Store.RefreshTokens(), c)
		hash := led.read.Token.Hash
		return led.err == nil && hash != "" && hmac.Equal([]byte(hash), []byte(hashRefresh(s.refreshPepper, token)))
	}
}

// reuse answers a refresh with a token that is no longer active; a token
// rotated more than reuseGrace ago is treated as stolen and its whole
// session family is revoked (§18.2 note 13).
func (s *Service) reuse(ctx context.Context, claims keys.Claims) error {
	now := s.now()
	row, err := s.d.Store.RefreshTokens().ByJTI(ctx, claims.JTI)
	if err != nil || row.RevokedAt == nil || row.RevokedReason != "rotated" || row.SessionID == "" ||
		sinceStored(now, *row.RevokedAt) <= reuseGrace {
		return fail(ErrUnauthorized, msgRevoked)
	}
	err = s.d.Store.InTx(ctx, func(tx *store.Store) error {
		if _, err := tx.RefreshTokens().RevokeSession(ctx, row.SessionID, "refresh_reuse_detected", now); err != nil {
			return err
		}
		_, err := tx.Sessions().Revoke(ctx, row.SessionID, "refresh_reuse_detected", now)
		return err
	})
	if err != nil {
		return err
	}
	s.event(ctx, slog.LevelWarn, "auth.refresh_reuse", slog.String("session_id", row.SessionID), slog.String("account", row.Account))
	return fail(ErrUnauthorized, msgRevoked)
}

// sinceStored is now minus a time read back from the database, both at the
// millisecond resolution SQLite stores: the stored time lost its sub-millisecond
// part, which would otherwise count as elapsed (a reuse exactly at the grace
// was judged to be after it).
func sinceStored(now, stored time.Time) time.Duration {
	return now.Truncate(time.Millisecond).Sub(stored.Truncate(time.Millisecond))
}

// refreshable applies the status rules of §7.1 step 4 (no password, no IP
// check) to the user and membership a refresh acts for, as read with its
// token.
func (s *Service) refreshable(ctx context.Context, r store.RefreshRead) (store.User, store.Membership, error) {
	u, m := r.User, r.Membership
	if !r.UserFound {
		return u, m, fail(ErrUnauthorized, msgUnknownUser)
	}
	if !r.Member {
		return u, m, fail(ErrUnauthorized, msgNotMember)
	}
	switch u.Status {
	case statusDisabled:
		return u, m, fail(ErrForbidden, msgUserDisabled)
	case statusPending:
		return u, m, fail(ErrForbidden, msgUserPending)
	case statusLocked:
		locked, err := s.d.State.UserLocked(ctx, u.ID)
		if err != nil {
			return u, m, err
		}
		if locked {
			return u, m, fail(ErrLocked, msgAccountLocked)
		}
	}
	return u, m, nil
}
