package auth_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"agentplane/server/auth"
	"agentplane/server/servertest"
	"agentplane/store"
)

const msgRevoked = "Refresh token has been revoked or expired."

func refreshRow(t testing.TB, env *servertest.Env, token string) store.RefreshToken {
	t.Helper()
	row, err := env.Store.RefreshTokens().ByJTI(context.Background(), claimsOf(t, token)["jti"].(string))
	if err != nil {
		t.Fatalf("refresh row: %v", err)
	}
	return row
}

func TestRefreshRotation(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	reg := env.Register(t, "nina@example.com", goodPassword, "Nina Co")
	env.Clock.Advance(10 * time.Minute)

	rec := refresh(t, env, reg.RefreshToken, withUA(chromeUA), fromIP("203.0.113.9"))
	wantStatus(t, rec, http.StatusOK)
	next := decodeAs[auth.SessionResponse](t, rec)
	if *next.SessionID != *reg.SessionID || *next.UserID != *reg.UserID || *next.TenantID != *reg.TenantID ||
		next.RefreshToken == reg.RefreshToken || next.AccessToken == reg.AccessToken {
		t.Errorf("rotated pair %+v", next)
	}
	now := env.Clock.Now().Truncate(time.Second)
	if !next.RefreshExpiresAt.Equal(now.Add(env.Config.Settings.AuthRefreshTokenTTL)) ||
		!next.ExpiresAt.Equal(now.Add(env.Config.Settings.AccessTokenTTL)) {
		t.Errorf("expiries %v %v", next.ExpiresAt, next.RefreshExpiresAt)
	}
	if old := refreshRow(t, env, reg.RefreshToken); old.RevokedAt == nil || old.RevokedReason != "rotated" {
		t.Errorf("old row %+v", old)
	}
	// The session follows the newest token and request.
	ss := session(t, env, *reg.UserID, *reg.SessionID)
	if ss.RefreshJTI != claimsOf(t, next.RefreshToken)["jti"] || ss.IPMasked != "203.0.113.*" || ss.ClientBrowser != "Chrome" ||
		ss.LastSeenAt == nil || !ss.LastSeenAt.Equal(env.Clock.Now().Truncate(time.Millisecond)) {
		t.Errorf("session %+v", ss)
	}
	wantError(t, refresh(t, env, reg.RefreshToken), http.StatusUnauthorized, msgRevoked, false)
	third := refresh(t, env, next.RefreshToken)
	wantStatus(t, third, http.StatusOK)
	wantStatus(t, call(t, env, http.MethodGet, "/api/v1/auth/me", nil,
		withBearer(decodeAs[auth.SessionResponse](t, third).AccessToken)), http.StatusOK)
}

// Refresh tokens' jtis are UUIDv7s (newRefreshJTI), so that the ledger's
// indexes on them grow at the right edge: each one issued sorts after the
// one before, whatever issued it.
func TestRefreshJTIsAreTimeOrdered(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	reg := env.Register(t, "olga@example.com", goodPassword, "Olga Co")
	rotated := decodeAs[auth.SessionResponse](t, refresh(t, env, reg.RefreshToken))
	logged := decodeAs[auth.SessionResponse](t, login(t, env, "olga@example.com", goodPassword, *reg.TenantID))
	service := saMustIssue(t, env, saBody("support-console", "", "support:*")).token()
	var prev string
	for i, token := range []string{reg.RefreshToken, rotated.RefreshToken, logged.RefreshToken, service} {
		jti, _ := claimsOf(t, token)["jti"].(string)
		id, err := uuid.Parse(jti)
		if err != nil || id.Version() != 7 || id.String() != jti {
			t.Fatalf("token %d: jti %q is not a canonical UUIDv7 (%v)", i, jti, err)
		}
		if jti <= prev {
			t.Errorf("token %d: jti %s does not sort after the one issued before it, %s", i, jti, prev)
		}
		prev = jti
	}
}

func TestRefreshReuse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		after  time.Duration
		family bool // the whole session is revoked
	}{
		{"at once", 0, false},
		{"within the grace", 29 * time.Second, false},
		{"at the grace", 30 * time.Second, false},
		{"just after the grace", 30*time.Second + time.Millisecond, true},
		{"after the grace", 31 * time.Second, true},
		{"long after", time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := servertest.New(t)
			reg := env.Register(t, "omar@example.com", goodPassword, "Omar Co")
			other := mustLogin(t, env, "omar@example.com", goodPassword, "") // another session of the user
			rec := refresh(t, env, reg.RefreshToken)
			wantStatus(t, rec, http.StatusOK)
			next := decodeAs[auth.SessionResponse](t, rec)

			env.Clock.Advance(tt.after)
			wantError(t, refresh(t, env, reg.RefreshToken), http.StatusUnauthorized, msgRevoked, false)
			ss := session(t, env, *reg.UserID, *reg.SessionID)
			if !tt.family {
				if ss.RevokedAt != nil {
					t.Errorf("session revoked (%s) by a reuse within the grace", ss.RevokedReason)
				}
				wantStatus(t, refresh(t, env, next.RefreshToken), http.StatusOK)
				return
			}
			if ss.RevokedAt == nil || ss.RevokedReason != "refresh_reuse_detected" {
				t.Errorf("session %+v, want revoked for reuse", ss)
			}
			if row := refreshRow(t, env, next.RefreshToken); row.RevokedReason != "refresh_reuse_detected" {
				t.Errorf("new token row %+v", row)
			}
			if row := refreshRow(t, env, reg.RefreshToken); row.RevokedReason != "rotated" {
				t.Errorf("reused token's reason %q, want rotated kept", row.RevokedReason)
			}
			wantError(t, refresh(t, env, next.RefreshToken), http.StatusUnauthorized, msgRevoked, false)
			// Only that session's family: the user's other session lives on.
			wantStatus(t, refresh(t, env, other.RefreshToken), http.StatusOK)
		})
	}
}

// TestRefreshConcurrent: of many refreshes racing with one token, exactly
// one wins, and the losers (within the grace) do not revoke its family.
func TestRefreshConcurrent(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	reg := env.Register(t, "pia@example.com", goodPassword, "Pia Co")
	const n = 50
	recs := make([]int, n)
	bodies := make([]string, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := env.JSONRequest(http.MethodPost, "/api/v1/auth/refresh", `{"refresh_token":"`+reg.RefreshToken+`"}`)
			<-start
			rec := env.Do(r)
			recs[i], bodies[i] = rec.Code, rec.Body.String()
		})
	}
	close(start)
	wg.Wait()
	var winner string
	counts := map[int]int{}
	for i, code := range recs {
		counts[code]++
		switch code {
		case http.StatusOK:
			winner = bodies[i]
		case http.StatusUnauthorized:
			if strings.TrimSpace(bodies[i]) != `{"success":false,"error":"`+msgRevoked+`","message":"`+msgRevoked+`","details":null}` {
				t.Errorf("loser body %s", bodies[i])
			}
		default:
			t.Errorf("status %d: %s", code, bodies[i])
		}
	}
	if counts[http.StatusOK] != 1 || counts[http.StatusUnauthorized] != n-1 {
		t.Fatalf("statuses %v, want one 200 and %d 401", counts, n-1)
	}
	var resp auth.SessionResponse
	if err := json.Unmarshal([]byte(winner), &resp); err != nil {
		t.Fatal(err)
	}
	if ss := session(t, env, *reg.UserID, *reg.SessionID); ss.RevokedAt != nil {
		t.Errorf("session revoked: %s", ss.RevokedReason)
	}
	wantStatus(t, refresh(t, env, resp.RefreshToken), http.StatusOK)
}

func TestRefreshErrors(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	reg := env.Register(t, "quinn@example.com", goodPassword, "Quinn Co")
	now := env.Clock.Now().Unix()
	// claims builds a refresh token's claims; edit removes or changes them.
	claims := func(edit func(map[string]any)) string {
		c := map[string]any{
			"sub": "user:" + *reg.UserID, "tenant_id": *reg.TenantID, "scope": "conversations:read", "token_use": "refresh",
			"iss": servertest.AppName, "email_verified": false, "jti": uuid.NewString(), "iat": now, "nbf": now,
			"exp": now + 3600, "account": "user:" + *reg.UserID, "sid": *reg.SessionID,
		}
		edit(c)
		return env.Sign(t, c)
	}
	tests := []struct {
		name, token, detail string
	}{
		{"access token", reg.AccessToken, "Token is not a refresh token."},
		{"garbage", "garbage", "Refresh token verification failed."},
		{"three garbage parts", "a.b.c", "Refresh token verification failed."},
		{"tampered", reg.RefreshToken[:len(reg.RefreshToken)-4] + "AAAA", "Refresh token verification failed."},
		{"expired beyond the leeway", claims(func(c map[string]any) { c["exp"] = now - 31 }), "Refresh token verification failed."},
		{"other issuer", claims(func(c map[string]any) { c["iss"] = "someone-else" }), "Refresh token verification failed."},
		{"subject not a user", claims(func(c map[string]any) { c["sub"] = "tenant:" + *reg.TenantID }), "Refresh token subject is malformed."},
		{"user id not a UUID", claims(func(c map[string]any) { c["sub"] = "user:42" }), "Refresh token subject is malformed."},
		{"no tenant", claims(func(c map[string]any) { delete(c, "tenant_id") }), "Refresh token missing tenant identifier."},
		{"no jti", claims(func(c map[string]any) { delete(c, "jti") }), "Refresh token missing jti claim."},
		{"never stored", claims(func(map[string]any) {}), msgRevoked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, refresh(t, env, tt.token), http.StatusUnauthorized, tt.detail, false)
		})
	}
	t.Run("empty", func(t *testing.T) {
		wantValidation(t, refresh(t, env, ""), item{"string_too_short", []any{"body", "refresh_token"},
			"String should have at least 1 character"})
	})
	t.Run("missing", func(t *testing.T) {
		wantValidation(t, post(t, env, "/api/v1/auth/refresh", obj{}), item{"missing", []any{"body", "refresh_token"}, "Field required"})
	})
	// None of the failures burned the real token.
	wantStatus(t, refresh(t, env, reg.RefreshToken), http.StatusOK)
}

func TestRefreshExpired(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	reg := env.Register(t, "ruth@example.com", goodPassword, "Ruth Co")
	other := mustLogin(t, env, "ruth@example.com", goodPassword, "")
	// Within the 30 s verification leeway the token verifies, but its row has expired.
	env.Clock.Advance(env.Config.Settings.AuthRefreshTokenTTL + time.Second)
	wantError(t, refresh(t, env, reg.RefreshToken), http.StatusUnauthorized, msgRevoked, false)
	env.Clock.Advance(time.Minute)
	wantError(t, refresh(t, env, other.RefreshToken), http.StatusUnauthorized, "Refresh token verification failed.", false)
}

func TestRefreshUserStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status, detail string
		code           int
	}{
		{"disabled", "User is disabled.", http.StatusForbidden},
		{"pending", "User is pending.", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			t.Parallel()
			env := servertest.New(t)
			ctx := context.Background()
			reg := env.Register(t, "sam@example.com", goodPassword, "Sam Co")
			if err := env.Store.Users().SetStatus(ctx, *reg.UserID, tt.status, env.Clock.Now()); err != nil {
				t.Fatal(err)
			}
			wantError(t, refresh(t, env, reg.RefreshToken), tt.code, tt.detail, false)
			if row := refreshRow(t, env, reg.RefreshToken); row.RevokedAt != nil {
				t.Fatalf("refused refresh burned the token: %+v", row)
			}
			// Re-enabled, the same token still refreshes.
			if err := env.Store.Users().SetStatus(ctx, *reg.UserID, "active", env.Clock.Now()); err != nil {
				t.Fatal(err)
			}
			wantStatus(t, refresh(t, env, reg.RefreshToken), http.StatusOK)
		})
	}
}

// A refresh for a user who is gone, or no longer a member of the token's
// tenant, is refused and burns nothing.
func TestRefreshUserOrMembershipGone(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, stmt, detail string }{
		{"not a member", `DELETE FROM tenant_user_memberships WHERE user_id = $1`, "User is not a member of the requested tenant."},
		{"unknown user", `DELETE FROM users WHERE id = $1`, "Unknown user."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := servertest.New(t)
			reg := env.Register(t, "kim@example.com", goodPassword, "Kim Co")
			if _, err := env.Store.DB().ExecContext(t.Context(), tc.stmt, *reg.UserID); err != nil {
				t.Fatal(err)
			}
			wantError(t, refresh(t, env, reg.RefreshToken), http.StatusUnauthorized, tc.detail, false)
			if row := refreshRow(t, env, reg.RefreshToken); row.RevokedAt != nil {
				t.Fatalf("refused refresh burned the token: %+v", row)
			}
		})
	}
}

func TestRefreshRecomputesClaims(t *testing.T) {
	t.Parallel()
	// Role, scopes and email_verified come from current data, not the old token.
	env := servertest.New(t)
	ctx := context.Background()
	reg := env.Register(t, "tess@example.com", goodPassword, "Tess Co")
	if err := env.Store.Users().MarkEmailVerified(ctx, *reg.UserID, env.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	rec := refresh(t, env, reg.RefreshToken)
	wantStatus(t, rec, http.StatusOK)
	resp := decodeAs[auth.SessionResponse](t, rec)
	if !resp.EmailVerified || claimsOf(t, resp.AccessToken)["email_verified"] != true {
		t.Errorf("email_verified not recomputed: %+v", resp)
	}
}

// A refresh token's ledger row vouches for it when its refresh_token_hash is
// the keyed hash of the exact token; otherwise the signature decides.
func TestRefreshLedgerHash(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	ctx := context.Background()
	setHash := func(t *testing.T, token, hash string) {
		t.Helper()
		_, err := env.Store.DB().ExecContext(ctx, `UPDATE service_account_tokens SET refresh_token_hash = $1 WHERE refresh_jti = $2`,
			hash, claimsOf(t, token)["jti"])
		if err != nil {
			t.Fatal(err)
		}
	}
	hmacOf := func(token string) string {
		m := hmac.New(sha256.New, []byte(env.Config.Settings.AuthRefreshPepper.Reveal()))
		m.Write([]byte(token))
		return hex.EncodeToString(m.Sum(nil))
	}
	unsigned := func(token string) string { // the same header and claims, a signature of zeros
		return token[:strings.LastIndexByte(token, '.')+1] + base64.RawURLEncoding.EncodeToString(make([]byte, 64))
	}

	t.Run("hash of another pepper: the signature decides", func(t *testing.T) {
		reg := env.Register(t, "uma@example.com", goodPassword, "Uma Co")
		setHash(t, reg.RefreshToken, hmacOf("a token hashed under an earlier pepper"))
		wantStatus(t, refresh(t, env, reg.RefreshToken), http.StatusOK)
	})
	t.Run("bad signature on a stored jti", func(t *testing.T) {
		reg := env.Register(t, "vera@example.com", goodPassword, "Vera Co")
		wantError(t, refresh(t, env, unsigned(reg.RefreshToken)), http.StatusUnauthorized, "Refresh token verification failed.", false)
		wantStatus(t, refresh(t, env, reg.RefreshToken), http.StatusOK)
	})
	t.Run("the ledger vouches for the exact string it hashed", func(t *testing.T) {
		reg := env.Register(t, "wren@example.com", goodPassword, "Wren Co")
		forged := unsigned(reg.RefreshToken)
		setHash(t, reg.RefreshToken, hmacOf(forged)) // only someone with database writes and the pepper can
		wantStatus(t, refresh(t, env, forged), http.StatusOK)
	})
}
