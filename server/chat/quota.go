package chat

import (
	"context"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"agentplane/server/auth"
	"agentplane/store"
)

// The chat quotas per tenant and caller (spec: http-api.md §1.7;
// agents-and-data.md §5.4).
func quotaChat(limit int) store.Quota {
	return store.Quota{Name: "chat_per_minute", Limit: limit, Window: time.Minute, Scope: "user"}
}

func quotaChatStream(limit int) store.Quota {
	return store.Quota{Name: "chat_stream_per_minute", Limit: limit, Window: time.Minute, Scope: "user"}
}

func quotaChatStreamConcurrency(limit int) store.ConcurrencyQuota {
	return store.ConcurrencyQuota{Name: "chat_stream_concurrency", Limit: limit, TTL: 300 * time.Second, Scope: "user"}
}

// chatQuota is the operation middleware that counts a chat request and
// refuses it with 429 and Retry-After before any work is done; it runs after
// the authorizer, so the caller is known.
func (h handlers) chatQuota(api huma.API) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		if err := h.svc.hit(ctx.Context(), quotaChat(h.svc.chatPerMinute)); err != nil {
			_ = huma.WriteErr(api, ctx, 500, "", err) // the error hook maps it to 429
			return
		}
		next(ctx)
	}
}

// streamQuota counts a stream and takes a concurrency lease (one Redis
// round trip) that is held until the stream ends — next returns only then —
// client gone included; either refusal is a JSON 429 before the stream
// starts (§2.4.2).
func (h handlers) streamQuota(api huma.API) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		c := ctx.Context()
		// the lease's refresh must outlive a client that hangs up on a
		// resumable turn, which runs on; Release ends it
		lease, err := h.svc.admitStream(context.WithoutCancel(c))
		if err != nil {
			_ = huma.WriteErr(api, ctx, 500, "", err) // the error hook maps it to 429
			return
		}
		defer lease.Release(c) //nolint:errcheck // Release logs nothing; a lost lease expires with its TTL
		next(ctx)
	}
}

// callerParts are the key parts of a caller's quotas: tenant and user (or
// service account).
func callerParts(ctx context.Context) (tenant, caller string) {
	tenant, caller = "unknown", "unknown"
	if p, ok := auth.PrincipalFrom(ctx); ok {
		if p.TenantID != "" {
			tenant = p.TenantID
		}
		caller = p.UserID
		if caller == "" {
			caller = "service-account:" + p.ServiceAccount
		}
	}
	return tenant, caller
}

// hit counts one request against q; a refusal is a *store.RateLimitError.
func (s *Service) hit(ctx context.Context, q store.Quota) error {
	if s.limiter == nil {
		return nil
	}
	tenant, caller := callerParts(ctx)
	d, err := s.limiter.Hit(ctx, q, tenant, caller)
	if err != nil {
		return err
	}
	return s.refused(d, q.Name, q.Scope)
}

// admitStream counts a stream against chat_stream_per_minute and takes a
// chat_stream_concurrency slot; a refusal is a *store.RateLimitError.
func (s *Service) admitStream(ctx context.Context) (*store.Lease, error) {
	if s.limiter == nil {
		return nil, nil
	}
	tenant, caller := callerParts(ctx)
	q, c := quotaChatStream(s.chatStreamPerMinute), quotaChatStreamConcurrency(s.streamConcurrent)
	lease, d, by, err := s.limiter.Admit(ctx, q, c, tenant, caller)
	if err != nil {
		return nil, err
	}
	scope := q.Scope
	if by == c.Name {
		scope = c.Scope
	}
	return lease, s.refused(d, by, scope)
}

func (s *Service) refused(d store.Decision, name, scope string) error {
	err := d.Err(name)
	if err != nil && s.rateLimitHits != nil {
		s.rateLimitHits(name, scope)
	}
	return err
}
