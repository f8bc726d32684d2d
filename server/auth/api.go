package auth

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"agentplane/server/request"
	"agentplane/store"
)

// Request and response bodies; unknown body fields are ignored, as the
// reference's pydantic models do.

type loginBody struct {
	_        struct{} `additionalProperties:"true"`
	Email    string   `json:"email" format:"email" maxLength:"320"`
	Password string   `json:"password" minLength:"8" maxLength:"1024"`
	TenantID *string  `json:"tenant_id,omitempty" nullable:"true" maxLength:"64"`
}

type loginInput struct {
	UserAgent string `header:"User-Agent"`
	Body      loginBody
}

type refreshBody struct {
	_            struct{} `additionalProperties:"true"`
	RefreshToken string   `json:"refresh_token" minLength:"1" maxLength:"16384"`
}

type refreshInput struct {
	UserAgent string `header:"User-Agent"`
	Body      refreshBody
}

type logoutInput struct{ Body refreshBody }

type sessionOutput struct{ Body SessionResponse }

type resultOutput struct{ Body Result }

type listSessionsInput struct {
	IncludeRevoked bool   `query:"include_revoked"`
	Limit          int    `query:"limit" minimum:"1" maximum:"100" default:"20"`
	Offset         int    `query:"offset" minimum:"0" default:"0"`
	TenantID       string `query:"tenant_id" format:"uuid"`
}

type listSessionsOutput struct{ Body SessionList }

type sessionIDInput struct {
	SessionID string `path:"session_id" format:"uuid"`
}

// Register adds the auth operations (spec: http-api.md §2.3). Access to
// each is decided by Policy, enforced by the Authorizer middleware.
func Register(api huma.API, svc *Service) {
	h := handlers{svc}
	tags := []string{"Auth"}
	huma.Register(api, huma.Operation{OperationID: "login", Method: http.MethodPost, Path: "/api/v1/auth/token",
		Tags: tags, Summary: "Log in with email and password"}, h.login)
	huma.Register(api, huma.Operation{OperationID: "refresh-token", Method: http.MethodPost, Path: "/api/v1/auth/refresh",
		Tags: tags, Summary: "Rotate a refresh token (or exchange a service-account token)"}, h.refresh)
	huma.Register(api, huma.Operation{OperationID: "logout", Method: http.MethodPost, Path: "/api/v1/auth/logout",
		Tags: tags, Summary: "Revoke one session", Security: bearer}, h.logout)
	huma.Register(api, huma.Operation{OperationID: "logout-all", Method: http.MethodPost, Path: "/api/v1/auth/logout/all",
		Tags: tags, Summary: "Revoke every session", Security: bearer}, h.logoutAll)
	huma.Register(api, huma.Operation{OperationID: "list-sessions", Method: http.MethodGet, Path: "/api/v1/auth/sessions",
		Tags: tags, Summary: "List the caller's sessions", Security: bearer}, h.listSessions)
	huma.Register(api, huma.Operation{OperationID: "revoke-session", Method: http.MethodDelete, Path: "/api/v1/auth/sessions/{session_id}",
		Tags: tags, Summary: "Revoke one of the caller's sessions", Security: bearer}, h.revokeSession)
	huma.Register(api, huma.Operation{OperationID: "get-me", Method: http.MethodGet, Path: "/api/v1/auth/me",
		Tags: tags, Summary: "The caller's id and token claims", Security: bearer}, h.me)
}

// bearer documents the bearer requirement in the OpenAPI document.
var bearer = []map[string][]string{{"bearerAuth": {}}}

type handlers struct{ svc *Service }

func caller(ctx context.Context, userAgent string) Caller {
	ip, _ := request.ClientIP(ctx)
	return Caller{IP: ip, UserAgent: userAgent}
}

func principal(ctx context.Context) *Principal {
	p, _ := PrincipalFrom(ctx)
	return p
}

func (h handlers) login(ctx context.Context, in *loginInput) (*sessionOutput, error) {
	body := LoginInput{Email: in.Body.Email, Password: in.Body.Password}
	if in.Body.TenantID != nil {
		body.TenantID = *in.Body.TenantID
	}
	resp, err := h.svc.Login(ctx, body, caller(ctx, in.UserAgent))
	return &sessionOutput{Body: resp}, err
}

func (h handlers) refresh(ctx context.Context, in *refreshInput) (*sessionOutput, error) {
	resp, err := h.svc.Refresh(ctx, in.Body.RefreshToken, caller(ctx, in.UserAgent))
	return &sessionOutput{Body: resp}, err
}

func (h handlers) logout(ctx context.Context, in *logoutInput) (*resultOutput, error) {
	res, err := h.svc.Logout(ctx, principal(ctx), in.Body.RefreshToken)
	return &resultOutput{Body: res}, err
}

func (h handlers) logoutAll(ctx context.Context, _ *struct{}) (*resultOutput, error) {
	res, err := h.svc.LogoutAll(ctx, principal(ctx))
	return &resultOutput{Body: res}, err
}

func (h handlers) listSessions(ctx context.Context, in *listSessionsInput) (*listSessionsOutput, error) {
	list, err := h.svc.Sessions(ctx, principal(ctx), store.SessionFilter{
		TenantID: in.TenantID, IncludeRevoked: in.IncludeRevoked, Limit: in.Limit, Offset: in.Offset,
	})
	return &listSessionsOutput{Body: list}, err
}

func (h handlers) revokeSession(ctx context.Context, in *sessionIDInput) (*resultOutput, error) {
	res, err := h.svc.RevokeSession(ctx, principal(ctx), in.SessionID)
	return &resultOutput{Body: res}, err
}

func (h handlers) me(ctx context.Context, _ *struct{}) (*resultOutput, error) {
	res, err := h.svc.Me(principal(ctx))
	return &resultOutput{Body: res}, err
}
