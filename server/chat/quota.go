package chat

import (
	"context"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"agentplane/server/auth"
	"agentplane/store"
)

// quotaChat is the blocking chat's fixed window per tenant and caller
// (spec: http-api.md §1.7; agents-and-data.md §5.4).
func quotaChat(limit int) store.Quota {
	return store.Quota{Name: "chat_per_minute", Limit: limit, Window: time.Minute, Scope: "user"}
}

// chatQuota is the operation middleware that counts a chat request and
// refuses it with 429 and Retry-After before any work is done; it runs after
// the authorizer, so the caller is known.
func (h handlers) chatQuota(api huma.API) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		if err := h.svc.allowChat(ctx.Context()); err != nil {
			_ = huma.WriteErr(api, ctx, 500, "", err) // the error hook maps it to 429
			return
		}
		next(ctx)
	}
}

func (s *Service) allowChat(ctx context.Context) error {
	if s.limiter == nil {
		return nil
	}
	tenant, caller := "unknown", "unknown"
	if p, ok := auth.PrincipalFrom(ctx); ok {
		if p.TenantID != "" {
			tenant = p.TenantID
		}
		caller = p.UserID
		if caller == "" {
			caller = "service-account:" + p.ServiceAccount
		}
	}
	q := quotaChat(s.chatPerMinute)
	d, err := s.limiter.Hit(ctx, q, tenant, caller)
	if err != nil {
		return err
	}
	if err := d.Err(q.Name); err != nil {
		if s.rateLimitHits != nil {
			s.rateLimitHits(q.Name, q.Scope)
		}
		return err
	}
	return nil
}
