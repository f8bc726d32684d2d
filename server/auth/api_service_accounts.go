package auth

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"agentplane/store"
)

// IssueBody is the ServiceAccountIssueRequest body; exported because the
// browser request embeds it and huma only flattens exported embedded types.
type IssueBody struct {
	_               struct{} `additionalProperties:"true"`
	Account         string   `json:"account" maxLength:"64"`
	Scopes          []string `json:"scopes" maxItems:"32"`
	TenantID        *string  `json:"tenant_id,omitempty" nullable:"true" maxLength:"64"`
	LifetimeMinutes *int     `json:"lifetime_minutes,omitempty" nullable:"true"`
	Fingerprint     *string  `json:"fingerprint,omitempty" nullable:"true" maxLength:"128"`
	Force           bool     `json:"force,omitempty"`
}

func (b IssueBody) request() IssueRequest {
	r := IssueRequest{Account: b.Account, Scopes: b.Scopes, LifetimeMinutes: b.LifetimeMinutes, Force: b.Force}
	if b.TenantID != nil {
		r.TenantID = *b.TenantID
	}
	if b.Fingerprint != nil {
		r.Fingerprint = *b.Fingerprint
	}
	return r
}

type issueInput struct {
	Authorization string `header:"Authorization" required:"true"`
	VaultPayload  string `header:"X-Vault-Payload"`
	Body          IssueBody
}

type browserIssueInput struct {
	Body struct {
		IssueBody
		Reason string `json:"reason" minLength:"10" maxLength:"512"`
	}
}

type serviceTokenOutput struct{ Body ServiceToken }

type listTokensInput struct {
	Account       string `query:"account" maxLength:"128"`
	Fingerprint   string `query:"fingerprint" maxLength:"128"`
	Status        string `query:"status" enum:"active,revoked,all" default:"active"`
	TenantID      string `query:"tenant_id" format:"uuid"`
	IncludeGlobal bool   `query:"include_global"`
	Limit         int    `query:"limit" minimum:"1" maximum:"100" default:"20"`
	Offset        int    `query:"offset" minimum:"0" default:"0"`
}

type listTokensOutput struct{ Body TokenList }

type revokeTokenInput struct {
	JTI  string `path:"jti" maxLength:"64"`
	Body struct {
		_      struct{} `additionalProperties:"true"`
		Reason *string  `json:"reason,omitempty" nullable:"true" maxLength:"256"`
	}
}

// RegisterServiceAccounts adds the service-account operations (spec:
// http-api.md §2.3.15-2.3.18).
func RegisterServiceAccounts(api huma.API, svc *Service) {
	h := handlers{svc}
	tags := []string{"Service accounts"}
	huma.Register(api, huma.Operation{OperationID: "issue-service-account-token", Method: http.MethodPost,
		Path: "/api/v1/auth/service-accounts/issue", Tags: tags, DefaultStatus: http.StatusCreated,
		Summary: "Issue a service-account refresh token (Vault-signed request)"}, h.issueServiceToken)
	huma.Register(api, huma.Operation{OperationID: "browser-issue-service-account-token", Method: http.MethodPost,
		Path: "/api/v1/auth/service-accounts/browser-issue", Tags: tags, DefaultStatus: http.StatusCreated,
		Summary: "Issue a service-account refresh token as a tenant admin or operator", Security: bearer}, h.browserIssue)
	huma.Register(api, huma.Operation{OperationID: "list-service-account-tokens", Method: http.MethodGet,
		Path: "/api/v1/auth/service-accounts/tokens", Tags: tags, Summary: "List service-account tokens", Security: bearer}, h.listTokens)
	huma.Register(api, huma.Operation{OperationID: "revoke-service-account-token", Method: http.MethodPost,
		Path: "/api/v1/auth/service-accounts/tokens/{jti}/revoke", Tags: tags, Summary: "Revoke a service-account token",
		Security: bearer}, h.revokeToken)
}

func (h handlers) issueServiceToken(ctx context.Context, in *issueInput) (*serviceTokenOutput, error) {
	tok, err := h.svc.IssueHeadless(ctx, in.Authorization, in.VaultPayload, in.Body.request())
	return &serviceTokenOutput{Body: tok}, err
}

func (h handlers) browserIssue(ctx context.Context, in *browserIssueInput) (*serviceTokenOutput, error) {
	tok, err := h.svc.IssueFromBrowser(ctx, principal(ctx), BrowserIssueRequest{IssueRequest: in.Body.request(), Reason: in.Body.Reason})
	return &serviceTokenOutput{Body: tok}, err
}

func (h handlers) listTokens(ctx context.Context, in *listTokensInput) (*listTokensOutput, error) {
	list, err := h.svc.ListServiceTokens(ctx, principal(ctx), store.TokenFilter{
		AccountContains: in.Account, Fingerprint: in.Fingerprint, Status: in.Status, TenantID: in.TenantID,
		IncludeGlobal: in.IncludeGlobal, Limit: in.Limit, Offset: in.Offset,
	})
	return &listTokensOutput{Body: list}, err
}

func (h handlers) revokeToken(ctx context.Context, in *revokeTokenInput) (*resultOutput, error) {
	reason := ""
	if in.Body.Reason != nil {
		reason = *in.Body.Reason
	}
	res, err := h.svc.RevokeServiceToken(ctx, principal(ctx), in.JTI, reason)
	return &resultOutput{Body: res}, err
}
