-- The Go port's fixes to the reference schema (spec/agents-and-data.md §9 note 14;
-- billing-and-status.md note 12): the same index changes as ../postgres/00002_go_fixes.sql,
-- with the same names. Two of the Postgres fixes have nothing to do here:
--   * hosted_invoice_url is already unbounded in 00001 (dropping its length CHECK would mean
--     rebuilding the table, and no SQLite database is ever adopted from the reference);
--   * the time defaults were never timezone('utc', now()) here: strftime(..., 'now') is UTC.
-- No guards either: SQLite databases are always new (00001 and 00002 run together), and should
-- a duplicate exist anyway, CREATE UNIQUE INDEX fails naming the table and column, and goose
-- rolls the whole file back.

-- +goose Up

-- One subscription row per tenant (billing-and-status.md note 12); the code assumes it.
CREATE UNIQUE INDEX uq_tenant_subscriptions_tenant_id ON tenant_subscriptions (tenant_id);

-- The partial unique index also covers tokens without a tenant (§9 note 14).
DROP INDEX uq_service_account_tokens_active_service_accounts;
CREATE UNIQUE INDEX uq_service_account_tokens_active_service_accounts
    ON service_account_tokens (account, COALESCE(tenant_id, ''), scope_key)
    WHERE revoked_at IS NULL AND account NOT LIKE 'user:%';

-- user_sessions.refresh_jti had two unique structures (§9 note 14); uq_user_sessions_refresh_jti
-- stays.
DROP INDEX ix_user_sessions_refresh_jti;

-- +goose Down
CREATE UNIQUE INDEX ix_user_sessions_refresh_jti ON user_sessions (refresh_jti);

DROP INDEX uq_service_account_tokens_active_service_accounts;
CREATE UNIQUE INDEX uq_service_account_tokens_active_service_accounts
    ON service_account_tokens (account, tenant_id, scope_key)
    WHERE revoked_at IS NULL AND account NOT LIKE 'user:%';

DROP INDEX uq_tenant_subscriptions_tenant_id;
