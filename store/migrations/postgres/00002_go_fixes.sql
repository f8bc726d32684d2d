-- The Go port's fixes to the reference schema (spec/agents-and-data.md §9 note 14;
-- billing-and-status.md note 12). On an adopted reference database this is the first
-- migration that runs, so it must work on real data: the two new unique indexes are guarded
-- by checks that stop the migration with a message saying what to clean up. goose runs the
-- file in one transaction, so a refused migration changes nothing; fix the data and run
-- `agentplane migrate` again.
-- Same fixes, same index names as ../sqlite/00002_go_fixes.sql.

-- +goose Up

-- Guards: refuse, with the query that finds them, rows the new unique indexes would reject.
-- +goose StatementBegin
DO $$
DECLARE
    n       bigint;
    example text;
BEGIN
    SELECT count(*), min(tenant_id::text) INTO n, example FROM (
        SELECT tenant_id FROM tenant_subscriptions GROUP BY tenant_id HAVING count(*) > 1
    ) AS dup;
    IF n > 0 THEN
        RAISE EXCEPTION 'agentplane keeps one tenant_subscriptions row per tenant, but % tenant(s) have more than one (for example tenant %). Delete the extra rows, keeping the one each tenant really has (list them with: SELECT tenant_id, id, status, updated_at FROM tenant_subscriptions WHERE tenant_id IN (SELECT tenant_id FROM tenant_subscriptions GROUP BY tenant_id HAVING count(*) > 1) ORDER BY tenant_id, updated_at), then run agentplane migrate again', n, example;
    END IF;

    SELECT count(*), min(account) INTO n, example FROM (
        SELECT account FROM service_account_tokens
        WHERE revoked_at IS NULL AND account NOT LIKE 'user:%'
        GROUP BY account, COALESCE(tenant_id::text, ''), scope_key HAVING count(*) > 1
    ) AS dup;
    IF n > 0 THEN
        RAISE EXCEPTION 'agentplane allows one active refresh token per service account, tenant and scope set, but % such set(s) have more than one (for example account %). Revoke all but the newest of each (list them with: SELECT account, tenant_id, scope_key, id, issued_at FROM service_account_tokens WHERE revoked_at IS NULL AND account NOT LIKE ''user:%%'' ORDER BY account, tenant_id, scope_key, issued_at), then run agentplane migrate again', n, example;
    END IF;
END $$;
-- +goose StatementEnd

-- One subscription row per tenant (billing-and-status.md note 12); the code assumes it.
CREATE UNIQUE INDEX uq_tenant_subscriptions_tenant_id ON tenant_subscriptions (tenant_id);

-- The partial unique index also covers tokens without a tenant (§9 note 14): same name, an
-- expression that works on every Postgres version (no NULLS NOT DISTINCT).
DROP INDEX IF EXISTS uq_service_account_tokens_active_service_accounts;
CREATE UNIQUE INDEX uq_service_account_tokens_active_service_accounts
    ON service_account_tokens (account, (COALESCE(tenant_id::text, '')), scope_key)
    WHERE revoked_at IS NULL AND account NOT LIKE 'user:%';

-- user_sessions.refresh_jti had two unique structures (§9 note 14); the constraint
-- uq_user_sessions_refresh_jti stays.
DROP INDEX IF EXISTS ix_user_sessions_refresh_jti;

-- Stripe's hosted invoice URLs can exceed 256 characters (billing-and-status.md note 12).
-- varchar to text needs no table rewrite.
ALTER TABLE subscription_invoices ALTER COLUMN hosted_invoice_url TYPE TEXT;

-- Time defaults: timezone('utc', now()) is a naive UTC wall-clock time that a TIMESTAMPTZ
-- column reads in the session's TimeZone, so on a non-UTC session it is off by the offset.
-- now() is the instant itself. (The app writes every time from its clock; these are fallbacks.)
ALTER TABLE tenant_accounts
    ALTER COLUMN created_at SET DEFAULT now();
ALTER TABLE users
    ALTER COLUMN created_at SET DEFAULT now(),
    ALTER COLUMN updated_at SET DEFAULT now();
ALTER TABLE user_profiles
    ALTER COLUMN created_at SET DEFAULT now(),
    ALTER COLUMN updated_at SET DEFAULT now();
ALTER TABLE tenant_user_memberships
    ALTER COLUMN created_at SET DEFAULT now();
ALTER TABLE password_history
    ALTER COLUMN created_at SET DEFAULT now();
ALTER TABLE user_login_events
    ALTER COLUMN created_at SET DEFAULT now();
ALTER TABLE user_sessions
    ALTER COLUMN created_at SET DEFAULT now(),
    ALTER COLUMN updated_at SET DEFAULT now();
ALTER TABLE billing_plans
    ALTER COLUMN created_at SET DEFAULT now(),
    ALTER COLUMN updated_at SET DEFAULT now();
ALTER TABLE plan_features
    ALTER COLUMN created_at SET DEFAULT now();
ALTER TABLE tenant_subscriptions
    ALTER COLUMN starts_at SET DEFAULT now(),
    ALTER COLUMN created_at SET DEFAULT now(),
    ALTER COLUMN updated_at SET DEFAULT now();
ALTER TABLE subscription_invoices
    ALTER COLUMN created_at SET DEFAULT now();
ALTER TABLE subscription_usage
    ALTER COLUMN reported_at SET DEFAULT now();
ALTER TABLE agent_conversations
    ALTER COLUMN created_at SET DEFAULT now(),
    ALTER COLUMN updated_at SET DEFAULT now();
ALTER TABLE agent_messages
    ALTER COLUMN created_at SET DEFAULT now();
ALTER TABLE sdk_agent_sessions
    ALTER COLUMN created_at SET DEFAULT now(),
    ALTER COLUMN updated_at SET DEFAULT now();
ALTER TABLE sdk_agent_session_messages
    ALTER COLUMN created_at SET DEFAULT now();
ALTER TABLE stripe_events
    ALTER COLUMN received_at SET DEFAULT now();
ALTER TABLE stripe_event_dispatch
    ALTER COLUMN created_at SET DEFAULT now(),
    ALTER COLUMN updated_at SET DEFAULT now();
ALTER TABLE status_subscriptions
    ALTER COLUMN created_at SET DEFAULT now(),
    ALTER COLUMN updated_at SET DEFAULT now();
ALTER TABLE tenant_settings
    ALTER COLUMN created_at SET DEFAULT now(),
    ALTER COLUMN updated_at SET DEFAULT now();

-- +goose Down
ALTER TABLE tenant_accounts
    ALTER COLUMN created_at SET DEFAULT timezone('utc', now());
ALTER TABLE users
    ALTER COLUMN created_at SET DEFAULT timezone('utc', now()),
    ALTER COLUMN updated_at SET DEFAULT timezone('utc', now());
ALTER TABLE user_profiles
    ALTER COLUMN created_at SET DEFAULT timezone('utc', now()),
    ALTER COLUMN updated_at SET DEFAULT timezone('utc', now());
ALTER TABLE tenant_user_memberships
    ALTER COLUMN created_at SET DEFAULT timezone('utc', now());
ALTER TABLE password_history
    ALTER COLUMN created_at SET DEFAULT timezone('utc', now());
ALTER TABLE user_login_events
    ALTER COLUMN created_at SET DEFAULT timezone('utc', now());
ALTER TABLE user_sessions
    ALTER COLUMN created_at SET DEFAULT timezone('utc', now()),
    ALTER COLUMN updated_at SET DEFAULT timezone('utc', now());
ALTER TABLE billing_plans
    ALTER COLUMN created_at SET DEFAULT timezone('utc', now()),
    ALTER COLUMN updated_at SET DEFAULT timezone('utc', now());
ALTER TABLE plan_features
    ALTER COLUMN created_at SET DEFAULT timezone('utc', now());
ALTER TABLE tenant_subscriptions
    ALTER COLUMN starts_at SET DEFAULT timezone('utc', now()),
    ALTER COLUMN created_at SET DEFAULT timezone('utc', now()),
    ALTER COLUMN updated_at SET DEFAULT timezone('utc', now());
ALTER TABLE subscription_invoices
    ALTER COLUMN created_at SET DEFAULT timezone('utc', now());
ALTER TABLE subscription_usage
    ALTER COLUMN reported_at SET DEFAULT timezone('utc', now());
ALTER TABLE agent_conversations
    ALTER COLUMN created_at SET DEFAULT timezone('utc', now()),
    ALTER COLUMN updated_at SET DEFAULT timezone('utc', now());
ALTER TABLE agent_messages
    ALTER COLUMN created_at SET DEFAULT timezone('utc', now());
ALTER TABLE sdk_agent_sessions
    ALTER COLUMN created_at SET DEFAULT timezone('utc', now()),
    ALTER COLUMN updated_at SET DEFAULT timezone('utc', now());
ALTER TABLE sdk_agent_session_messages
    ALTER COLUMN created_at SET DEFAULT timezone('utc', now());
ALTER TABLE stripe_events
    ALTER COLUMN received_at SET DEFAULT timezone('utc', now());
ALTER TABLE stripe_event_dispatch
    ALTER COLUMN created_at SET DEFAULT timezone('utc', now()),
    ALTER COLUMN updated_at SET DEFAULT timezone('utc', now());
ALTER TABLE status_subscriptions
    ALTER COLUMN created_at SET DEFAULT timezone('utc', now()),
    ALTER COLUMN updated_at SET DEFAULT timezone('utc', now());
ALTER TABLE tenant_settings
    ALTER COLUMN created_at SET DEFAULT timezone('utc', now()),
    ALTER COLUMN updated_at SET DEFAULT timezone('utc', now());

ALTER TABLE subscription_invoices ALTER COLUMN hosted_invoice_url TYPE VARCHAR(256);

CREATE UNIQUE INDEX ix_user_sessions_refresh_jti ON user_sessions (refresh_jti);

DROP INDEX uq_service_account_tokens_active_service_accounts;
CREATE UNIQUE INDEX uq_service_account_tokens_active_service_accounts
    ON service_account_tokens (account, tenant_id, scope_key)
    WHERE revoked_at IS NULL AND account NOT LIKE 'user:%';

DROP INDEX uq_tenant_subscriptions_tenant_id;
