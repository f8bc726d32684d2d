package auth

import (
	"context"
	"time"

	"agentplane/store"
)

// Quotas of the auth area (spec: auth-and-keys.md §15).
func quotaSignup(limit int) store.Quota {
	return store.Quota{Name: "signup_per_hour", Limit: limit, Window: time.Hour, Scope: "ip"}
}

func quotaEmailVerifyUser(limit int) store.Quota {
	return store.Quota{Name: "email_verify_user", Limit: limit, Window: time.Hour, Scope: "user"}
}

func quotaEmailVerifyIP(limit int) store.Quota {
	return store.Quota{Name: "email_verify_ip", Limit: limit, Window: time.Hour, Scope: "ip"}
}

func quotaResetEmail(limit int) store.Quota {
	return store.Quota{Name: "password_reset_email", Limit: limit, Window: time.Hour, Scope: "email"}
}

func quotaResetIP(limit int) store.Quota {
	return store.Quota{Name: "password_reset_ip", Limit: limit, Window: time.Hour, Scope: "ip"}
}

// hit counts one request against q and returns the 429 error when it is
// over the limit; limiter failures fail open inside the limiter.
func (s *Service) hit(ctx context.Context, q store.Quota, parts ...string) error {
	d, err := s.d.Limiter.Hit(ctx, q, parts...)
	if err != nil {
		return err
	}
	if err := d.Err(q.Name); err != nil {
		s.d.Metrics.RateLimitHits.WithLabelValues(q.Name, q.Scope).Inc()
		return err
	}
	return nil
}
