package auth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"agentplane/password"
)

type registerBody struct {
	_           struct{} `additionalProperties:"true"`
	Email       string   `json:"email" format:"email" maxLength:"320"`
	Password    string   `json:"password" minLength:"14" maxLength:"1024"`
	TenantName  string   `json:"tenant_name" minLength:"2" maxLength:"128"`
	DisplayName *string  `json:"display_name,omitempty" nullable:"true" maxLength:"128"`
	PlanCode    *string  `json:"plan_code,omitempty" nullable:"true" maxLength:"64"`
	TrialDays   *int     `json:"trial_days,omitempty" nullable:"true" minimum:"0" maximum:"365"`
	AcceptTerms bool     `json:"accept_terms,omitempty"`

	decoded bool // the body was a JSON object that decoded into this struct
}

// UnmarshalJSON records that the body decoded, so Resolve does not judge the
// zero value of a body that is not JSON (or not an object).
func (b *registerBody) UnmarshalJSON(data []byte) error {
	type plain registerBody
	if err := json.Unmarshal(data, (*plain)(b)); err != nil {
		return err
	}
	b.decoded = true
	return nil
}

type registerInput struct {
	UserAgent string `header:"User-Agent"`
	Body      registerBody
}

// Resolve applies the model-level rules: the password policy with the
// email as hint and the terms (http-api.md §2.3.8; 422 value_error, §1.4).
func (in *registerInput) Resolve(huma.Context) []error {
	if !in.Body.decoded {
		return nil // huma reports the undecodable body; the model rules need a model
	}
	var errs []error
	if len(in.Body.Password) >= 14 {
		if err := password.Check(in.Body.Password, in.Body.Email); err != nil {
			errs = append(errs, policyDetail("body.password", in.Body.Password, err))
		}
	}
	if !in.Body.AcceptTerms {
		errs = append(errs, &huma.ErrorDetail{Location: "body.accept_terms", Value: in.Body.AcceptTerms,
			Message: "Terms of Service must be accepted to create an account."})
	}
	return errs
}

func policyDetail(loc string, value any, err error) error {
	var pe *password.PolicyError
	if errors.As(err, &pe) {
		return &huma.ErrorDetail{Location: loc, Value: value, Message: pe.Message}
	}
	return &huma.ErrorDetail{Location: loc, Value: value, Message: err.Error()}
}

type registerOutput struct{ Body RegisterResponse }

type emailBody struct {
	_     struct{} `additionalProperties:"true"`
	Email string   `json:"email" format:"email" maxLength:"320"`
}

type forgotInput struct{ Body emailBody }

type tokenBody struct {
	_     struct{} `additionalProperties:"true"`
	Token string   `json:"token" minLength:"1" maxLength:"512"`
}

type verifyInput struct{ Body tokenBody }

type confirmBody struct {
	_           struct{} `additionalProperties:"true"`
	Token       string   `json:"token" minLength:"1" maxLength:"512"`
	NewPassword string   `json:"new_password" minLength:"14" maxLength:"1024"`
}

type confirmInput struct{ Body confirmBody }

// Resolve applies the policy at the model level (no hint), as the reference.
func (in *confirmInput) Resolve(huma.Context) []error {
	if len(in.Body.NewPassword) < 14 {
		return nil
	}
	if err := password.Check(in.Body.NewPassword); err != nil {
		return []error{policyDetail("body.new_password", in.Body.NewPassword, err)}
	}
	return nil
}

type changeInput struct {
	Body struct {
		_               struct{} `additionalProperties:"true"`
		CurrentPassword string   `json:"current_password" minLength:"8" maxLength:"1024"`
		NewPassword     string   `json:"new_password" minLength:"14" maxLength:"1024"`
	}
}

type adminResetInput struct {
	Body struct {
		_           struct{} `additionalProperties:"true"`
		UserID      string   `json:"user_id" format:"uuid"`
		NewPassword string   `json:"new_password" minLength:"14" maxLength:"1024"`
	}
}

type sendInput struct {
	UserAgent string `header:"User-Agent"`
}

// RegisterFlows adds signup and the email and password operations.
func RegisterFlows(api huma.API, svc *Service) {
	h := handlers{svc}
	tags := []string{"Auth"}
	huma.Register(api, huma.Operation{OperationID: "register", Method: http.MethodPost, Path: "/api/v1/auth/register",
		Tags: tags, Summary: "Create a tenant and its owner", DefaultStatus: http.StatusCreated}, h.register)
	huma.Register(api, huma.Operation{OperationID: "send-verification-email", Method: http.MethodPost, Path: "/api/v1/auth/email/send",
		Tags: tags, Summary: "Send the email verification link", DefaultStatus: http.StatusAccepted, Security: bearer}, h.sendVerification)
	huma.Register(api, huma.Operation{OperationID: "verify-email", Method: http.MethodPost, Path: "/api/v1/auth/email/verify",
		Tags: tags, Summary: "Verify an email address"}, h.verifyEmail)
	huma.Register(api, huma.Operation{OperationID: "forgot-password", Method: http.MethodPost, Path: "/api/v1/auth/password/forgot",
		Tags: tags, Summary: "Email a password reset link", DefaultStatus: http.StatusAccepted}, h.forgot)
	huma.Register(api, huma.Operation{OperationID: "confirm-password-reset", Method: http.MethodPost, Path: "/api/v1/auth/password/confirm",
		Tags: tags, Summary: "Set a new password with a reset token"}, h.confirm)
	huma.Register(api, huma.Operation{OperationID: "change-password", Method: http.MethodPost, Path: "/api/v1/auth/password/change",
		Tags: tags, Summary: "Change the caller's password", Security: bearer}, h.change)
	huma.Register(api, huma.Operation{OperationID: "admin-reset-password", Method: http.MethodPost, Path: "/api/v1/auth/password/reset",
		Tags: tags, Summary: "Reset a tenant member's password", Security: bearer}, h.adminReset)
}

func (h handlers) register(ctx context.Context, in *registerInput) (*registerOutput, error) {
	body := RegisterInput{Email: in.Body.Email, Password: in.Body.Password, TenantName: in.Body.TenantName}
	if in.Body.DisplayName != nil {
		body.DisplayName = *in.Body.DisplayName
	}
	resp, err := h.svc.Register(ctx, body, caller(ctx, in.UserAgent))
	return &registerOutput{Body: resp}, err
}

func (h handlers) sendVerification(ctx context.Context, in *sendInput) (*resultOutput, error) {
	res, err := h.svc.SendVerification(ctx, principal(ctx), caller(ctx, in.UserAgent))
	return &resultOutput{Body: res}, err
}

func (h handlers) verifyEmail(ctx context.Context, in *verifyInput) (*resultOutput, error) {
	res, err := h.svc.VerifyEmail(ctx, in.Body.Token)
	return &resultOutput{Body: res}, err
}

func (h handlers) forgot(ctx context.Context, in *forgotInput) (*resultOutput, error) {
	res, err := h.svc.ForgotPassword(ctx, in.Body.Email, caller(ctx, ""))
	return &resultOutput{Body: res}, err
}

func (h handlers) confirm(ctx context.Context, in *confirmInput) (*resultOutput, error) {
	res, err := h.svc.ConfirmPasswordReset(ctx, in.Body.Token, in.Body.NewPassword)
	return &resultOutput{Body: res}, err
}

func (h handlers) change(ctx context.Context, in *changeInput) (*resultOutput, error) {
	res, err := h.svc.ChangePassword(ctx, principal(ctx), in.Body.CurrentPassword, in.Body.NewPassword)
	return &resultOutput{Body: res}, err
}

func (h handlers) adminReset(ctx context.Context, in *adminResetInput) (*resultOutput, error) {
	res, err := h.svc.AdminResetPassword(ctx, principal(ctx), in.Body.UserID, in.Body.NewPassword)
	return &resultOutput{Body: res}, err
}
