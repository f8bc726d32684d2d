package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"agentplane/config"
	"agentplane/mail"
	"agentplane/server/auth"
	"agentplane/server/servertest"
	"agentplane/store"
)

// Passwords that pass the policy (zxcvbn 4) and a few that do not.
const (
	goodPassword  = "Correct-Horse-Battery-42"
	otherPassword = "Tangerine!Violin!Orbit-77"
	thirdPassword = "Harbor^Pickle^Nimbus-63"
	wrongPassword = "Not-The-Password-99"
	chromeUA      = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)

// ownerScopes are the scopes of the owner and admin roles (auth-and-keys.md §14.1).
var ownerScopes = []string{"conversations:read", "conversations:write", "conversations:delete", "tools:read",
	"billing:read", "billing:manage", "support:read"}

// --- request helpers ---

type reqOpt func(*http.Request)

func withBearer(token string) reqOpt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

func withUA(ua string) reqOpt { return func(r *http.Request) { r.Header.Set("User-Agent", ua) } }

// fromIP sets the TCP peer; the addresses used are outside TRUSTED_PROXY_CIDRS,
// so they are the client IP.
func fromIP(ip string) reqOpt {
	return func(r *http.Request) { r.RemoteAddr = net.JoinHostPort(ip, "40000") }
}

// call serves one request: body is sent as is when a string, else as JSON.
func call(t testing.TB, env *servertest.Env, method, path string, body any, opts ...reqOpt) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = strings.NewReader(string(raw))
	}
	r := env.Request(method, path, rd)
	for _, o := range opts {
		o(r)
	}
	return env.Do(r)
}

func post(t testing.TB, env *servertest.Env, path string, body any, opts ...reqOpt) *httptest.ResponseRecorder {
	t.Helper()
	return call(t, env, http.MethodPost, path, body, opts...)
}

type obj = map[string]any

func decodeAs[T any](t testing.TB, rec *httptest.ResponseRecorder) T {
	t.Helper()
	return servertest.Decode[T](t, rec)
}

func jsonOf(t testing.TB, v any) any {
	t.Helper()
	return servertest.JSONOf(t, v)
}

func wantStatus(t testing.TB, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d; body %s", rec.Code, status, rec.Body.String())
	}
}

func wantBody(t testing.TB, rec *httptest.ResponseRecorder, want any) {
	t.Helper()
	if diff := cmp.Diff(jsonOf(t, want), servertest.DecodeJSON(t, rec)); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

// wantError checks the §1.3 envelope, with the challenge header of a bearer
// 401 when challenge is set (and its absence otherwise).
func wantError(t testing.TB, rec *httptest.ResponseRecorder, status int, detail string, challenge bool) {
	t.Helper()
	wantStatus(t, rec, status)
	var details any
	if challenge {
		details = obj{"WWW-Authenticate": "Bearer"}
	}
	wantBody(t, rec, obj{"success": false, "error": detail, "message": detail, "details": details})
	got := rec.Header().Get("WWW-Authenticate")
	if challenge && got != "Bearer" || !challenge && got != "" {
		t.Errorf("WWW-Authenticate = %q, challenge %v", got, challenge)
	}
	if ra := rec.Header().Get("Retry-After"); ra != "" {
		t.Errorf("Retry-After = %q on a %d", ra, status)
	}
}

// wantRateLimited checks a §1.7 quota refusal and returns Retry-After.
func wantRateLimited(t testing.TB, rec *httptest.ResponseRecorder, quota string) int {
	t.Helper()
	wantStatus(t, rec, http.StatusTooManyRequests)
	ra := rec.Header().Get("Retry-After")
	n, err := strconv.Atoi(ra)
	if err != nil || n < 1 || n > 3600 {
		t.Fatalf("Retry-After = %q, want 1..3600", ra)
	}
	detail := "Rate limit exceeded (" + quota + "). Retry after " + ra + "s."
	wantBody(t, rec, obj{"success": false, "error": detail, "message": detail, "details": obj{"Retry-After": ra}})
	return n
}

// item is the part of a §1.4 item the tests pin.
type item struct {
	Type string `json:"type"`
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
}

func wantValidation(t testing.TB, rec *httptest.ResponseRecorder, want ...item) {
	t.Helper()
	wantStatus(t, rec, http.StatusUnprocessableEntity)
	var body struct {
		Success bool   `json:"success"`
		Error   string `json:"error"`
		Message string `json:"message"`
		Details []item `json:"details"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", rec.Body.String(), err)
	}
	if body.Success || body.Error != "ValidationError" || body.Message != "Request validation failed." {
		t.Errorf("envelope %+v", body)
	}
	if diff := cmp.Diff(jsonOf(t, want), jsonOf(t, body.Details)); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
}

func wantResult(t testing.TB, rec *httptest.ResponseRecorder, status int, message string, data any) {
	t.Helper()
	wantStatus(t, rec, status)
	wantBody(t, rec, obj{"success": true, "message": message, "data": data})
}

// --- flow helpers ---

func login(t testing.TB, env *servertest.Env, email, password, tenant string, opts ...reqOpt) *httptest.ResponseRecorder {
	t.Helper()
	body := obj{"email": email, "password": password}
	if tenant != "" {
		body["tenant_id"] = tenant
	}
	return post(t, env, "/api/v1/auth/token", body, opts...)
}

func mustLogin(t testing.TB, env *servertest.Env, email, password, tenant string, opts ...reqOpt) auth.SessionResponse {
	t.Helper()
	rec := login(t, env, email, password, tenant, opts...)
	wantStatus(t, rec, http.StatusOK)
	return decodeAs[auth.SessionResponse](t, rec)
}

func refresh(t testing.TB, env *servertest.Env, token string, opts ...reqOpt) *httptest.ResponseRecorder {
	t.Helper()
	return post(t, env, "/api/v1/auth/refresh", obj{"refresh_token": token}, opts...)
}

// claimsOf decodes a JWT's payload (the signature is the server's business).
func claimsOf(t testing.TB, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a JWS", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func session(t testing.TB, env *servertest.Env, userID, id string) store.Session {
	t.Helper()
	s, err := env.Store.Sessions().Get(context.Background(), userID, id)
	if err != nil {
		t.Fatalf("session %s: %v", id, err)
	}
	return s
}

func user(t testing.TB, env *servertest.Env, id string) store.User {
	t.Helper()
	u, err := env.Store.Users().ByID(context.Background(), id)
	if err != nil {
		t.Fatalf("user %s: %v", id, err)
	}
	return u
}

// loginEvents are the user's audit rows as "result/reason", oldest first.
func loginEvents(t testing.TB, env *servertest.Env, userID string) []string {
	t.Helper()
	rows, err := env.Store.DB().QueryContext(context.Background(),
		`SELECT result, coalesce(reason, '') FROM user_login_events WHERE user_id = ? ORDER BY rowid`, userID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var result, reason string
		if err := rows.Scan(&result, &reason); err != nil {
			t.Fatal(err)
		}
		out = append(out, result+"/"+reason)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func countRows(t testing.TB, env *servertest.Env, table string) int {
	t.Helper()
	var n int
	if err := env.Store.DB().QueryRowContext(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func lastMail(t testing.TB, env *servertest.Env, to, category string) mail.Message {
	t.Helper()
	m, ok := env.Mail.Last(to)
	if !ok {
		t.Fatalf("no mail to %s", to)
	}
	if m.Category != category {
		t.Fatalf("last mail to %s is %q, want %q", to, m.Category, category)
	}
	return m
}

func mailsTo(env *servertest.Env, to string) int {
	n := 0
	for _, m := range env.Mail.Messages() {
		if strings.EqualFold(m.To, to) {
			n++
		}
	}
	return n
}

func uuidLike(t testing.TB, what string, s *string) string {
	t.Helper()
	if s == nil {
		t.Fatalf("%s is null", what)
	}
	if _, err := uuid.Parse(*s); err != nil {
		t.Fatalf("%s = %q: %v", what, *s, err)
	}
	return *s
}

// --- register ---

func TestRegister(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	ctx := context.Background()
	now := env.Clock.Now()
	rec := post(t, env, "/api/v1/auth/register", obj{
		"email": "  Alice@Example.COM ", "password": goodPassword, "tenant_name": "  Acme Corp!! ",
		"display_name": "Alice", "accept_terms": true,
	}, withUA(chromeUA))
	wantStatus(t, rec, http.StatusCreated)
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &fields); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"access_token", "refresh_token", "token_type", "expires_at", "refresh_expires_at", "kid",
		"refresh_kid", "scopes", "tenant_id", "user_id", "email_verified", "session_id", "tenant_slug"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("field %s missing", k)
		}
		delete(fields, k)
	}
	if len(fields) > 0 {
		t.Errorf("unexpected fields %v", fields)
	}
	resp := decodeAs[auth.RegisterResponse](t, rec)
	userID := uuidLike(t, "user_id", resp.UserID)
	tenantID := uuidLike(t, "tenant_id", resp.TenantID)
	sid := uuidLike(t, "session_id", resp.SessionID)
	cur, err := env.Manager.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	iat := now.Truncate(time.Second)
	s := env.Config.Settings
	want := auth.RegisterResponse{SessionResponse: auth.SessionResponse{
		AccessToken: resp.AccessToken, RefreshToken: resp.RefreshToken, TokenType: "bearer",
		ExpiresAt: iat.Add(s.AccessTokenTTL), RefreshExpiresAt: iat.Add(s.AuthRefreshTokenTTL),
		KID: cur.Keyset.Active.KID, RefreshKID: cur.Keyset.Active.KID, Scopes: ownerScopes, TenantID: &tenantID, UserID: &userID,
		EmailVerified: false, SessionID: &sid,
	}, TenantSlug: "acme-corp"}
	if diff := cmp.Diff(want, resp); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	access, refreshClaims := claimsOf(t, resp.AccessToken), claimsOf(t, resp.RefreshToken)
	for k, v := range map[string]any{"sub": "user:" + userID, "tenant_id": tenantID, "sid": sid, "token_use": "access",
		"email_verified": false, "scope": strings.Join(ownerScopes, " ")} {
		if access[k] != v {
			t.Errorf("access %s = %v, want %v", k, access[k], v)
		}
	}
	if refreshClaims["token_use"] != "refresh" || refreshClaims["sid"] != sid || refreshClaims["account"] != "user:"+userID {
		t.Errorf("refresh claims %v", refreshClaims)
	}

	// Side effects: user, tenant, owner membership, session, audit row, mail.
	u, err := env.Store.Users().ByEmail(ctx, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != userID || u.Email != "alice@example.com" || u.Status != "active" || u.PasswordVersion != "v3" || u.EmailVerifiedAt != nil {
		t.Errorf("user %+v", u)
	}
	tn, err := env.Store.Tenants().ByID(ctx, tenantID)
	if err != nil || tn.Slug != "acme-corp" || tn.Name != "Acme Corp!!" {
		t.Errorf("tenant %+v, %v", tn, err)
	}
	if m, err := env.Store.Tenants().Membership(ctx, userID, tenantID); err != nil || m.Role != "owner" {
		t.Errorf("membership %+v, %v", m, err)
	}
	if ss := session(t, env, userID, sid); ss.RevokedAt != nil || ss.ClientBrowser != "Chrome" {
		t.Errorf("session %+v", ss)
	}
	if diff := cmp.Diff([]string{"success/login"}, loginEvents(t, env, userID)); diff != "" {
		t.Errorf("login events (-want +got):\n%s", diff)
	}
	m := lastMail(t, env, "alice@example.com", mail.CategoryVerification)
	if !regexp.MustCompile(`^[0-9a-f]{32}\.[0-9a-f]{64}$`).MatchString(m.Token) ||
		m.Link != s.AppPublicURL+"/verify-email?token="+m.Token {
		t.Errorf("verification mail token %q link %q", m.Token, m.Link)
	}
	// The owner can use the session right away.
	wantStatus(t, call(t, env, http.MethodGet, "/api/v1/auth/me", nil, withBearer(resp.AccessToken)), http.StatusOK)
}

func TestRegisterSlug(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("ab", 29) + "c d" // the cut at 60 leaves a trailing "-", which is trimmed
	tests := []struct{ name, tenant, want string }{
		{"lowercased and dashed", "Acme, Inc.", "acme-inc"},
		{"runs collapse", "a  --  b", "a-b"},
		{"non-ASCII is a separator", "Ünïcode Café", "n-code-caf"},
		{"only symbols", "!!", "tenant"},
		{"cut to 60", long + "efg", strings.Repeat("ab", 29) + "c"},
		{"digits kept", "Team 42", "team-42"},
	}
	env := servertest.New(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := env.Register(t, "slug"+strconv.Itoa(i)+"@example.com", goodPassword, tt.tenant)
			if resp.TenantSlug != tt.want {
				t.Errorf("slug %q, want %q", resp.TenantSlug, tt.want)
			}
		})
	}
	t.Run("collision gets a suffix", func(t *testing.T) {
		first := env.Register(t, "c1@example.com", goodPassword, "Collide")
		second := env.Register(t, "c2@example.com", goodPassword, "Collide")
		if first.TenantSlug != "collide" || !regexp.MustCompile(`^collide-[0-9a-f]{4}$`).MatchString(second.TenantSlug) {
			t.Errorf("slugs %q, %q", first.TenantSlug, second.TenantSlug)
		}
		if *first.TenantID == *second.TenantID {
			t.Error("one tenant for two signups")
		}
	})
	t.Run("collision of a long name cuts the base to 55", func(t *testing.T) {
		name := strings.Repeat("x", 70)
		env.Register(t, "l1@example.com", goodPassword, name)
		second := env.Register(t, "l2@example.com", goodPassword, name)
		if !regexp.MustCompile(`^x{55}-[0-9a-f]{4}$`).MatchString(second.TenantSlug) {
			t.Errorf("slug %q", second.TenantSlug)
		}
	})
}

func TestRegisterErrors(t *testing.T) {
	t.Parallel()
	body := func(edit func(obj)) obj {
		b := obj{"email": "bob@example.com", "password": goodPassword, "tenant_name": "Bob Co", "accept_terms": true}
		if edit != nil {
			edit(b)
		}
		return b
	}
	tests := []struct {
		name string
		body any
		want []item
	}{
		{"password shorter than 14", body(func(b obj) { b["password"] = "Aa1!aa" }), []item{{"string_too_short",
			[]any{"body", "password"}, "String should have at least 14 characters"}}},
		{"one character category", body(func(b obj) { b["password"] = "abcdefghijklmnop" }), []item{{"value_error",
			[]any{"body", "password"}, "Value error, Password must include at least two categories (upper, lower, digit, symbol)."}}},
		{"weak by zxcvbn", body(func(b obj) { b["password"] = "Password123456" }), []item{{"value_error",
			[]any{"body", "password"}, "Value error, Password is too weak according to the current policy."}}},
		{"weak with the email as hint", body(func(b obj) { b["email"], b["password"] = "alice@example.com", "alice@example.com1A" }),
			[]item{{"value_error", []any{"body", "password"}, "Value error, Password is too weak according to the current policy."}}},
		{"terms not accepted", body(func(b obj) { b["accept_terms"] = false }), []item{{"value_error",
			[]any{"body", "accept_terms"}, "Value error, Terms of Service must be accepted to create an account."}}},
		{"terms missing", body(func(b obj) { delete(b, "accept_terms") }), []item{{"value_error",
			[]any{"body", "accept_terms"}, "Value error, Terms of Service must be accepted to create an account."}}},
		{"tenant name too long", body(func(b obj) { b["tenant_name"] = strings.Repeat("t", 129) }), []item{{"string_too_long",
			[]any{"body", "tenant_name"}, "String should have at most 128 characters"}}},
		{"tenant name too short", body(func(b obj) { b["tenant_name"] = "t" }), []item{{"string_too_short",
			[]any{"body", "tenant_name"}, "String should have at least 2 characters"}}},
		{"email too long", body(func(b obj) { b["email"] = strings.Repeat("e", 310) + "@example.com" }), []item{{"string_too_long",
			[]any{"body", "email"}, "String should have at most 320 characters"}}},
		{"malformed JSON", `{"email": "bob@example.com",`, []item{{"json_invalid", []any{"body", 28}, "JSON decode error"}}},
		{"not an object", `[]`, []item{{"dict_type", []any{"body"}, "Input should be a valid dictionary"}}},
	}
	env := servertest.New(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := post(t, env, "/api/v1/auth/register", tt.body)
			wantValidation(t, rec, tt.want...)
		})
	}
	if n := countRows(t, env, "users"); n != 0 {
		t.Errorf("%d users created by refused signups", n)
	}
	if n := len(env.Mail.Messages()); n != 0 {
		t.Errorf("%d mails sent by refused signups", n)
	}

	t.Run("duplicate email", func(t *testing.T) {
		env.Register(t, "dup@example.com", goodPassword, "Dup One")
		tenants := countRows(t, env, "tenant_accounts")
		for _, email := range []string{"dup@example.com", " DUP@Example.com "} {
			rec := post(t, env, "/api/v1/auth/register", obj{"email": email, "password": otherPassword,
				"tenant_name": "Dup Two", "accept_terms": true})
			wantError(t, rec, http.StatusConflict, "Email already registered.", false)
		}
		if n := countRows(t, env, "tenant_accounts"); n != tenants {
			t.Errorf("tenants %d, want %d: the failed signup left its tenant", n, tenants)
		}
	})
}

func TestRegisterDisabled(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, servertest.WithSettings(func(s *config.Settings) { s.AllowPublicSignup = false }))
	rec := post(t, env, "/api/v1/auth/register", obj{"email": "x@example.com", "password": goodPassword,
		"tenant_name": "X Co", "accept_terms": true})
	wantError(t, rec, http.StatusForbidden, "Public signup is disabled.", false)
	if n := countRows(t, env, "users"); n != 0 {
		t.Errorf("%d users", n)
	}
}

func TestRegisterQuota(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, servertest.WithSettings(func(s *config.Settings) { s.SignupRateLimitPerHour = 2 }))
	reg := func(i int, ip string) *httptest.ResponseRecorder {
		return post(t, env, "/api/v1/auth/register", obj{"email": "q" + strconv.Itoa(i) + "@example.com",
			"password": goodPassword, "tenant_name": "Quota Co", "accept_terms": true}, fromIP(ip))
	}
	// The quota is counted after validation: a 422 does not use it up.
	for range 3 {
		rec := post(t, env, "/api/v1/auth/register", obj{"email": "q0@example.com", "password": goodPassword,
			"tenant_name": "Quota Co"}, fromIP("203.0.113.10"))
		wantStatus(t, rec, http.StatusUnprocessableEntity)
	}
	wantStatus(t, reg(1, "203.0.113.10"), http.StatusCreated)
	wantStatus(t, reg(2, "203.0.113.10"), http.StatusCreated)
	// Retry-After is the window's remaining TTL in Redis, which a real
	// Redis counts down in real time while the test runs.
	if n := wantRateLimited(t, reg(3, "203.0.113.10"), "signup_per_hour"); n < 3540 || n > 3600 {
		t.Errorf("Retry-After %d, want the rest of the hour", n)
	}
	if _, err := env.Store.Users().ByEmail(context.Background(), "q3@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("refused signup created its user: %v", err)
	}
	// The quota is per client IP.
	wantStatus(t, reg(4, "198.51.100.10"), http.StatusCreated)
}

// --- login ---

func TestLogin(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	reg := env.Register(t, "carol@example.com", goodPassword, "Carol Co")
	userID, tenantID := *reg.UserID, *reg.TenantID

	t.Run("success", func(t *testing.T) {
		env.Clock.Advance(time.Minute)
		rec := login(t, env, " CAROL@example.com", goodPassword, "", withUA(chromeUA))
		wantStatus(t, rec, http.StatusOK)
		resp := decodeAs[auth.SessionResponse](t, rec)
		if *resp.UserID != userID || *resp.TenantID != tenantID || resp.TokenType != "bearer" ||
			*resp.SessionID == *reg.SessionID || resp.EmailVerified {
			t.Errorf("response %+v", resp)
		}
		if !resp.ExpiresAt.Equal(env.Clock.Now().Truncate(time.Second).Add(env.Config.Settings.AccessTokenTTL)) {
			t.Errorf("expires_at %v", resp.ExpiresAt)
		}
		ss := session(t, env, userID, *resp.SessionID)
		if ss.TenantID != tenantID || ss.ClientPlatform != "Windows" || ss.IPMasked != "192.0.2.*" {
			t.Errorf("session %+v", ss)
		}
		row, err := env.Store.RefreshTokens().ByJTI(context.Background(), claimsOf(t, resp.RefreshToken)["jti"].(string))
		if err != nil || row.SessionID != *resp.SessionID || row.Account != "user:"+userID || row.RevokedAt != nil {
			t.Errorf("refresh row %+v, %v", row, err)
		}
		if ev := loginEvents(t, env, userID); ev[len(ev)-1] != "success/login" {
			t.Errorf("events %v", ev)
		}
	})
	t.Run("tenant id given", func(t *testing.T) {
		resp := mustLogin(t, env, "carol@example.com", goodPassword, tenantID)
		if *resp.TenantID != tenantID {
			t.Errorf("tenant %s", *resp.TenantID)
		}
	})
	t.Run("empty tenant id is none", func(t *testing.T) {
		rec := post(t, env, "/api/v1/auth/token", obj{"email": "carol@example.com", "password": goodPassword, "tenant_id": ""})
		wantStatus(t, rec, http.StatusOK)
	})
	t.Run("wrong password", func(t *testing.T) {
		before := len(loginEvents(t, env, userID))
		rec := login(t, env, "carol@example.com", wrongPassword, "")
		wantError(t, rec, http.StatusUnauthorized, "Invalid email or password.", true)
		ev := loginEvents(t, env, userID)
		if len(ev) != before+1 || ev[len(ev)-1] != "failure/invalid_password" {
			t.Errorf("events %v", ev)
		}
		// one failure does not lock; a success clears the counter
		mustLogin(t, env, "carol@example.com", goodPassword, "")
	})
	t.Run("unknown email writes no event", func(t *testing.T) {
		before := countRows(t, env, "user_login_events")
		rec := login(t, env, "nobody@example.com", goodPassword, "")
		wantError(t, rec, http.StatusUnauthorized, "Invalid email or password.", true)
		if n := countRows(t, env, "user_login_events"); n != before {
			t.Errorf("login events %d, want %d", n, before)
		}
	})
	t.Run("password shorter than 8", func(t *testing.T) {
		rec := login(t, env, "carol@example.com", "short", "")
		wantValidation(t, rec, item{"string_too_short", []any{"body", "password"}, "String should have at least 8 characters"})
	})
	t.Run("not an email", func(t *testing.T) {
		rec := login(t, env, "carol", goodPassword, "")
		wantStatus(t, rec, http.StatusUnprocessableEntity)
	})
}

func TestLoginLockout(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	ctx := context.Background()
	reg := env.Register(t, "dave@example.com", goodPassword, "Dave Co")
	userID := *reg.UserID
	for i := 1; i < 5; i++ {
		wantError(t, login(t, env, "dave@example.com", wrongPassword, ""), http.StatusUnauthorized, "Invalid email or password.", true)
	}
	wantError(t, login(t, env, "dave@example.com", wrongPassword, ""), http.StatusLocked, "Account locked due to repeated failures.", false)
	if u := user(t, env, userID); u.Status != "locked" {
		t.Errorf("status %q, want locked", u.Status)
	}
	wantError(t, login(t, env, "dave@example.com", goodPassword, ""), http.StatusLocked, "Account is locked.", false)
	wantError(t, login(t, env, "dave@example.com", wrongPassword, ""), http.StatusLocked, "Account is locked.", false)
	// Refresh tokens are not revoked by the lock, but refresh refuses a locked user.
	wantError(t, refresh(t, env, reg.RefreshToken), http.StatusLocked, "Account is locked.", false)
	want := []string{"success/login", "failure/invalid_password", "failure/invalid_password", "failure/invalid_password",
		"failure/invalid_password", "failure/invalid_password", "locked/lockout_threshold", "locked/status_locked", "locked/status_locked"}
	if diff := cmp.Diff(want, loginEvents(t, env, userID)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}

	// The lock key expires (miniredis TTLs only move with FastForward, which
	// the store does not expose; dropping the key is what expiry does).
	if err := env.State.ClearUser(ctx, userID); err != nil {
		t.Fatal(err)
	}
	resp := mustLogin(t, env, "dave@example.com", goodPassword, "")
	if u := user(t, env, userID); u.Status != "active" {
		t.Errorf("status %q after the lock expired, want active", u.Status)
	}
	// The counter restarted: four failures do not lock again.
	for i := 1; i < 5; i++ {
		wantError(t, login(t, env, "dave@example.com", wrongPassword, ""), http.StatusUnauthorized, "Invalid email or password.", true)
	}
	wantStatus(t, refresh(t, env, resp.RefreshToken), http.StatusOK)
}

func TestLoginLockoutExpiredWhileLocked(t *testing.T) {
	t.Parallel()
	// A wrong password after the lock expired counts from zero and answers 401.
	env := servertest.New(t, servertest.WithSettings(func(s *config.Settings) { s.AuthLockoutThreshold = 2 }))
	reg := env.Register(t, "erin@example.com", goodPassword, "Erin Co")
	wantError(t, login(t, env, "erin@example.com", wrongPassword, ""), http.StatusUnauthorized, "Invalid email or password.", true)
	wantError(t, login(t, env, "erin@example.com", wrongPassword, ""), http.StatusLocked, "Account locked due to repeated failures.", false)
	if err := env.State.ClearUser(context.Background(), *reg.UserID); err != nil {
		t.Fatal(err)
	}
	wantError(t, login(t, env, "erin@example.com", wrongPassword, ""), http.StatusUnauthorized, "Invalid email or password.", true)
	if u := user(t, env, *reg.UserID); u.Status != "active" {
		t.Errorf("status %q", u.Status)
	}
}

func TestLoginIPThrottle(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, servertest.WithSettings(func(s *config.Settings) { s.AuthIPLockoutThreshold = 3 }))
	env.Register(t, "frank@example.com", goodPassword, "Frank Co")
	const throttled = "Too many login attempts from this network segment."
	for i := 0; i < 3; i++ { // unknown emails and wrong passwords both count
		email := "ghost" + strconv.Itoa(i) + "@example.com"
		if i == 2 {
			email = "frank@example.com"
		}
		wantError(t, login(t, env, email, wrongPassword, "", fromIP("203.0.113.7")), http.StatusUnauthorized, "Invalid email or password.", true)
	}
	tests := []struct {
		name, ip string
		status   int
	}{
		{"same address", "203.0.113.7", http.StatusTooManyRequests},
		{"same /24", "203.0.113.200", http.StatusTooManyRequests},
		{"other network", "198.51.100.7", http.StatusOK},
		{"IPv6", "2001:db8::1", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := login(t, env, "frank@example.com", goodPassword, "", fromIP(tt.ip))
			if tt.status == http.StatusTooManyRequests {
				wantError(t, rec, tt.status, throttled, false)
				return
			}
			wantStatus(t, rec, tt.status)
		})
	}
}

func TestLoginStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status, detail string
	}{
		{"disabled", "User is disabled."},
		{"pending", "User is pending."},
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			t.Parallel()
			env := servertest.New(t)
			u := env.SeedUser(t, servertest.UserSeed{Email: "s@example.com", Password: goodPassword, Status: tt.status})
			wantError(t, login(t, env, "s@example.com", goodPassword, ""), http.StatusForbidden, tt.detail, false)
			// A wrong password reveals nothing and is not counted toward the lockout.
			for i := 0; i < 6; i++ {
				wantError(t, login(t, env, "s@example.com", wrongPassword, ""), http.StatusUnauthorized, "Invalid email or password.", true)
			}
			if diff := cmp.Diff([]string{"failure/" + tt.status}, loginEvents(t, env, u.User.ID)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if got := user(t, env, u.User.ID).Status; got != tt.status {
				t.Errorf("status %q", got)
			}
		})
	}
}

func TestLoginTenants(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	multi := env.SeedUser(t, servertest.UserSeed{Email: "multi@example.com", Password: goodPassword,
		Members: []servertest.Member{{Role: "owner"}, {Role: "member"}}})
	other := env.SeedUser(t, servertest.UserSeed{Email: "other@example.com", Password: goodPassword})
	ctx := context.Background()
	lonely := store.User{ID: uuid.NewString(), Email: "lonely@example.com", Status: "active", PasswordVersion: "v3",
		CreatedAt: env.Clock.Now(), UpdatedAt: env.Clock.Now()}
	lonely.PasswordHash, _, _ = env.Hasher.Hash(ctx, goodPassword)
	if err := env.Store.Users().Create(ctx, lonely); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, email, tenant string
		status              int
		detail              string
		challenge           bool
		scopes              []string
	}{
		{"several tenants need one", "multi@example.com", "", http.StatusBadRequest, "Tenant context required for multi-tenant users.", false, nil},
		{"first tenant", "multi@example.com", multi.Tenants[0], http.StatusOK, "", false, ownerScopes},
		{"second tenant, member role", "multi@example.com", strings.ToUpper(multi.Tenants[1]), http.StatusOK, "", false,
			[]string{"conversations:read", "conversations:write", "tools:read"}},
		{"foreign tenant", "multi@example.com", other.Tenants[0], http.StatusUnauthorized, "User is not a member of the requested tenant.", true, nil},
		{"unknown tenant", "multi@example.com", uuid.NewString(), http.StatusUnauthorized, "User is not a member of the requested tenant.", true, nil},
		{"tenant id not a UUID", "multi@example.com", "acme", http.StatusUnauthorized, "Invalid tenant identifier supplied.", true, nil},
		{"no tenant at all", "lonely@example.com", "", http.StatusUnauthorized, "User is not assigned to any tenant.", true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := login(t, env, tt.email, goodPassword, tt.tenant)
			if tt.status != http.StatusOK {
				wantError(t, rec, tt.status, tt.detail, tt.challenge)
				return
			}
			wantStatus(t, rec, http.StatusOK)
			resp := decodeAs[auth.SessionResponse](t, rec)
			if !strings.EqualFold(*resp.TenantID, tt.tenant) || !cmp.Equal(resp.Scopes, tt.scopes) {
				t.Errorf("tenant %s scopes %v", *resp.TenantID, resp.Scopes)
			}
		})
	}
}

func TestLoginLegacyHash(t *testing.T) {
	t.Parallel()
	tests := []struct {
		version, input string
	}{
		{"v2", servertest.Pepper + ":" + goodPassword},
		{"v1", goodPassword},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			t.Parallel()
			env := servertest.New(t)
			ctx := context.Background()
			legacy, err := bcrypt.GenerateFromPassword([]byte(tt.input), 4)
			if err != nil {
				t.Fatal(err)
			}
			u := env.SeedUser(t, servertest.UserSeed{Email: "legacy@example.com", Hash: string(legacy), Version: tt.version})
			env.Clock.Advance(time.Minute) // the rehash's history row is the newer one
			if u.User.PasswordVersion != tt.version {
				t.Fatalf("seeded version %q", u.User.PasswordVersion)
			}
			wantError(t, login(t, env, "legacy@example.com", wrongPassword, ""), http.StatusUnauthorized, "Invalid email or password.", true)
			mustLogin(t, env, "legacy@example.com", goodPassword, "")
			after := user(t, env, u.User.ID)
			if after.PasswordVersion != "v3" || after.PasswordHash == string(legacy) {
				t.Fatalf("after login: version %q, hash changed %v", after.PasswordVersion, after.PasswordHash != string(legacy))
			}
			if ok, rehash, err := env.Hasher.Verify(ctx, goodPassword, after.PasswordHash); !ok || rehash || err != nil {
				t.Errorf("new hash: ok %v rehash %v err %v", ok, rehash, err)
			}
			hist, err := env.Store.Users().RecentPasswords(ctx, u.User.ID, 10)
			if err != nil || len(hist) != 2 || hist[0].Version != "v3" {
				t.Errorf("history %+v, %v", hist, err)
			}
			// The new hash logs in, and is not rewritten again.
			mustLogin(t, env, "legacy@example.com", goodPassword, "")
			if again := user(t, env, u.User.ID); again.PasswordHash != after.PasswordHash {
				t.Error("a v3 hash was rewritten on login")
			}
		})
	}
}

// --- logout, sessions, me ---

func TestLogout(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	reg := env.Register(t, "gina@example.com", goodPassword, "Gina Co")
	s2 := mustLogin(t, env, "gina@example.com", goodPassword, "")
	other := env.Register(t, "hank@example.com", goodPassword, "Hank Co")
	const path = "/api/v1/auth/logout"

	tests := []struct {
		name    string
		token   string
		status  int
		message string // success message, or the error detail
		revoked bool
	}{
		{"another user's token", other.RefreshToken, http.StatusForbidden, "Refresh token does not belong to the authenticated user.", false},
		{"access token", s2.AccessToken, http.StatusForbidden, "Token is not a refresh token.", false},
		{"garbage", "not-a-jwt", http.StatusForbidden, "Refresh token verification failed.", false},
		{"own token", s2.RefreshToken, http.StatusOK, "Session revoked successfully.", true},
		{"own token again", s2.RefreshToken, http.StatusOK, "Session already inactive.", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := post(t, env, path, obj{"refresh_token": tt.token}, withBearer(reg.AccessToken))
			if tt.status != http.StatusOK {
				wantError(t, rec, tt.status, tt.message, false)
				return
			}
			wantResult(t, rec, http.StatusOK, tt.message, obj{"revoked": tt.revoked})
		})
	}
	if ss := session(t, env, *reg.UserID, *s2.SessionID); ss.RevokedAt == nil || ss.RevokedReason != "user_logout" {
		t.Errorf("session %+v", ss)
	}
	wantError(t, refresh(t, env, s2.RefreshToken), http.StatusUnauthorized, "Refresh token has been revoked or expired.", false)
	// The other session, and the other user's, are untouched.
	wantStatus(t, refresh(t, env, reg.RefreshToken), http.StatusOK)
	wantStatus(t, refresh(t, env, other.RefreshToken), http.StatusOK)

	t.Run("no bearer", func(t *testing.T) {
		rec := post(t, env, path, obj{"refresh_token": reg.RefreshToken})
		wantError(t, rec, http.StatusUnauthorized, "Not authenticated", true)
	})
	t.Run("refresh token as bearer", func(t *testing.T) {
		rec := post(t, env, path, obj{"refresh_token": reg.RefreshToken}, withBearer(reg.RefreshToken))
		// A refresh token has no aud, so it fails verification as a bearer.
		wantError(t, rec, http.StatusUnauthorized, "Could not validate credentials", true)
	})
	t.Run("expired token is accepted", func(t *testing.T) { // last: it moves the clock a month
		s3 := mustLogin(t, env, "gina@example.com", goodPassword, "")
		env.Clock.Advance(env.Config.Settings.AuthRefreshTokenTTL + time.Minute)
		wantError(t, refresh(t, env, s3.RefreshToken), http.StatusUnauthorized, "Refresh token verification failed.", false)
		fresh := mustLogin(t, env, "gina@example.com", goodPassword, "")
		rec := post(t, env, path, obj{"refresh_token": s3.RefreshToken}, withBearer(fresh.AccessToken))
		wantResult(t, rec, http.StatusOK, "Session already inactive.", obj{"revoked": false})
	})
}

func TestLogoutAll(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	reg := env.Register(t, "ivy@example.com", goodPassword, "Ivy Co")
	s2 := mustLogin(t, env, "ivy@example.com", goodPassword, "")
	other := env.Register(t, "jack@example.com", goodPassword, "Jack Co")

	rec := post(t, env, "/api/v1/auth/logout/all", nil, withBearer(s2.AccessToken))
	wantResult(t, rec, http.StatusOK, "All sessions revoked successfully.", obj{"revoked": 2})
	for _, sid := range []string{*reg.SessionID, *s2.SessionID} {
		if ss := session(t, env, *reg.UserID, sid); ss.RevokedReason != "user_logout_all" {
			t.Errorf("session %s reason %q", sid, ss.RevokedReason)
		}
	}
	for _, tok := range []string{reg.RefreshToken, s2.RefreshToken} {
		wantError(t, refresh(t, env, tok), http.StatusUnauthorized, "Refresh token has been revoked or expired.", false)
	}
	wantStatus(t, refresh(t, env, other.RefreshToken), http.StatusOK)
	// Access tokens stay valid until they expire.
	rec = post(t, env, "/api/v1/auth/logout/all", nil, withBearer(reg.AccessToken))
	wantResult(t, rec, http.StatusOK, "No active sessions to revoke.", obj{"revoked": 0})
}

func TestSessions(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	seeded := env.SeedUser(t, servertest.UserSeed{Email: "kim@example.com", Password: goodPassword})
	userID, tenantID := seeded.User.ID, seeded.Tenants[0]
	first := mustLogin(t, env, "kim@example.com", goodPassword, "")
	env.Clock.Advance(time.Minute)
	second := mustLogin(t, env, "kim@example.com", goodPassword, "", fromIP("2001:db8:85a3::8a2e:370:7334"))
	env.Clock.Advance(time.Minute)
	third := mustLogin(t, env, "kim@example.com", goodPassword, "", fromIP("203.0.113.45"), withUA(chromeUA))
	at := env.Clock.Now().Truncate(time.Millisecond)
	foreign := env.Register(t, "lee@example.com", goodPassword, "Lee Co")

	list := func(t *testing.T, query string) auth.SessionList {
		t.Helper()
		rec := call(t, env, http.MethodGet, "/api/v1/auth/sessions"+query, nil, withBearer(third.AccessToken))
		wantStatus(t, rec, http.StatusOK)
		return decodeAs[auth.SessionList](t, rec)
	}
	ids := func(l auth.SessionList) []string {
		var out []string
		for _, s := range l.Sessions {
			out = append(out, s.ID)
		}
		return out
	}

	t.Run("fields", func(t *testing.T) {
		got := list(t, "")
		if got.Total != 3 || got.Limit != 20 || got.Offset != 0 {
			t.Errorf("page %d/%d/%d", got.Total, got.Limit, got.Offset)
		}
		if diff := cmp.Diff([]string{*third.SessionID, *second.SessionID, *first.SessionID}, ids(got)); diff != "" {
			t.Fatalf("order (-want +got):\n%s", diff)
		}
		item := got.Sessions[0]
		fp := ""
		if item.Fingerprint != nil {
			fp = *item.Fingerprint
		}
		str := func(s string) *string { return &s }
		want := auth.SessionItem{
			ID: *third.SessionID, TenantID: tenantID, CreatedAt: at, LastSeenAt: &at,
			IPAddressMasked: str("203.0.113.*"), Fingerprint: item.Fingerprint,
			Client:  auth.SessionClient{Platform: str("Windows"), Browser: str("Chrome"), Device: str("desktop"), UserAgent: str(chromeUA)},
			Current: true,
		}
		if diff := cmp.Diff(want, item); diff != "" {
			t.Errorf("item (-want +got):\n%s", diff)
		}
		if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(fp) || strings.Contains(fp, "203.0.113") {
			t.Errorf("fingerprint %q", fp)
		}
		v6 := got.Sessions[1]
		if v6.Current || v6.IPAddressMasked == nil || *v6.IPAddressMasked != "2001:0db8:85a3:0000:*:*:*:*" ||
			v6.Client.UserAgent != nil || v6.Client.Browser != nil || v6.Location != nil {
			t.Errorf("second item %+v", v6)
		}
		// location is null, not absent
		raw := call(t, env, http.MethodGet, "/api/v1/auth/sessions?limit=1", nil, withBearer(third.AccessToken)).Body.String()
		if !strings.Contains(raw, `"location":null`) || !strings.Contains(raw, `"revoked_at":null`) {
			t.Errorf("body %s", raw)
		}
	})
	t.Run("limit and offset", func(t *testing.T) {
		got := list(t, "?limit=1&offset=1")
		if got.Total != 3 || got.Limit != 1 || got.Offset != 1 || !cmp.Equal(ids(got), []string{*second.SessionID}) {
			t.Errorf("page %+v", got)
		}
		if got := list(t, "?offset=5"); got.Total != 3 || len(got.Sessions) != 0 {
			t.Errorf("past the end %+v", got)
		}
	})
	t.Run("tenant filter", func(t *testing.T) {
		if got := list(t, "?tenant_id="+tenantID); got.Total != 3 {
			t.Errorf("own tenant total %d", got.Total)
		}
		if got := list(t, "?tenant_id="+*foreign.TenantID); got.Total != 0 || got.Sessions == nil {
			t.Errorf("foreign tenant %+v (sessions must be [], not null)", got)
		}
	})
	t.Run("bad queries", func(t *testing.T) {
		for _, q := range []string{"?limit=0", "?limit=101", "?offset=-1", "?tenant_id=acme", "?include_revoked=maybe"} {
			rec := call(t, env, http.MethodGet, "/api/v1/auth/sessions"+q, nil, withBearer(third.AccessToken))
			wantStatus(t, rec, http.StatusUnprocessableEntity)
		}
	})
	t.Run("delete", func(t *testing.T) {
		del := func(id string) *httptest.ResponseRecorder {
			return call(t, env, http.MethodDelete, "/api/v1/auth/sessions/"+id, nil, withBearer(third.AccessToken))
		}
		wantResult(t, del(*first.SessionID), http.StatusOK, "Session revoked successfully.", obj{"revoked": true})
		if ss := session(t, env, userID, *first.SessionID); ss.RevokedReason != "user_session_manual_revoke" {
			t.Errorf("reason %q", ss.RevokedReason)
		}
		wantError(t, refresh(t, env, first.RefreshToken), http.StatusUnauthorized, "Refresh token has been revoked or expired.", false)
		for name, id := range map[string]string{
			"already revoked": *first.SessionID, "foreign": *foreign.SessionID, "unknown": uuid.NewString(),
		} {
			t.Run(name, func(t *testing.T) {
				wantError(t, del(id), http.StatusNotFound, "Session not found or already revoked.", false)
			})
		}
		wantStatus(t, refresh(t, env, foreign.RefreshToken), http.StatusOK)
		rec := del("not-a-uuid")
		wantStatus(t, rec, http.StatusUnprocessableEntity)
		if items := decodeAs[struct{ Details []item }](t, rec).Details; len(items) != 1 || items[0].Type != "uuid_parsing" ||
			!cmp.Equal(items[0].Loc, []any{"path", "session_id"}) {
			t.Errorf("items %+v", items)
		}

		got := list(t, "")
		if got.Total != 2 || !cmp.Equal(ids(got), []string{*third.SessionID, *second.SessionID}) {
			t.Errorf("after delete %+v", ids(got))
		}
		got = list(t, "?include_revoked=true")
		if got.Total != 3 || got.Sessions[2].ID != *first.SessionID || got.Sessions[2].RevokedAt == nil {
			t.Errorf("include_revoked %+v", got)
		}
	})
}

func TestMe(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	reg := env.Register(t, "mia@example.com", goodPassword, "Mia Co")
	rec := call(t, env, http.MethodGet, "/api/v1/auth/me", nil, withBearer(reg.AccessToken))
	wantStatus(t, rec, http.StatusOK)
	payload := claimsOf(t, reg.AccessToken)
	wantBody(t, rec, obj{"success": true, "message": "User information retrieved successfully",
		"data": obj{"user_id": *reg.UserID, "token_payload": payload}})
	want := map[string]any{"sub": "user:" + *reg.UserID, "tenant_id": *reg.TenantID, "roles": []any{"owner"},
		"token_use": "access", "iss": servertest.AppName, "email_verified": false, "sid": *reg.SessionID}
	for k, v := range want {
		if !cmp.Equal(payload[k], v) {
			t.Errorf("claim %s = %v, want %v", k, payload[k], v)
		}
	}
	for _, k := range []string{"aud", "jti", "scope", "iat", "nbf", "exp"} {
		if _, ok := payload[k]; !ok {
			t.Errorf("claim %s missing", k)
		}
	}
	wantError(t, call(t, env, http.MethodGet, "/api/v1/auth/me", nil), http.StatusUnauthorized, "Not authenticated", true)
	wantError(t, call(t, env, http.MethodGet, "/api/v1/auth/me", nil, withBearer("junk")), http.StatusUnauthorized,
		"Could not validate credentials", true)
}
