-- The reference schema (SQLite): the same tables, columns (in order), nullability and index
-- names as ../postgres/00001_reference.sql, which is exactly the reference's Alembic head
-- b9f552d26804 (the store schema test compares the engines at every version). Only Postgres
-- databases are ever adopted from the reference; this file mirrors it so that both engines
-- take the same steps (00002 applies the same fixes on both).
--
-- Type mapping: spec/agents-and-data.md §8.2 — uuid, timestamptz, json → TEXT;
-- citext → TEXT COLLATE NOCASE; bytes → BLOB; bool → INTEGER 0/1; bigserial → INTEGER
-- PRIMARY KEY AUTOINCREMENT; varchar(n) → TEXT CHECK (length(col) <= n); user_status → TEXT
-- CHECK (status IN (...)). JSON columns also CHECK (json_valid(col)), as JSONB validates.
--
-- Unique constraints are CREATE UNIQUE INDEX statements here (a UNIQUE table constraint
-- would become an unnamed sqlite_autoindex_*), so index names match Postgres.
-- Times are UTC text 'YYYY-MM-DDTHH:MM:SS.sssZ' (sorts as text); the app always writes them.
-- Foreign keys need PRAGMA foreign_keys = ON on every connection.

-- +goose Up

-- Tenants and identities --------------------------------------------------------------

CREATE TABLE tenant_accounts (
    id         TEXT NOT NULL,
    slug       TEXT NOT NULL CHECK (length(slug) <= 64),
    name       TEXT NOT NULL CHECK (length(name) <= 128),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT pk_tenant_accounts PRIMARY KEY (id)
);
CREATE UNIQUE INDEX uq_tenant_accounts_slug ON tenant_accounts (slug);

CREATE TABLE users (
    id                      TEXT NOT NULL,
    email                   TEXT NOT NULL COLLATE NOCASE,
    password_hash           TEXT NOT NULL,
    password_pepper_version TEXT NOT NULL DEFAULT 'v1' CHECK (length(password_pepper_version) <= 32),
    status                  TEXT NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'active', 'disabled', 'locked')),
    created_at              TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at              TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    email_verified_at       TEXT NULL,
    CONSTRAINT pk_users PRIMARY KEY (id)
);
-- Case-insensitive through the column's NOCASE collation (Postgres: CITEXT).
CREATE UNIQUE INDEX uq_users_email ON users (email);
CREATE INDEX ix_users_status ON users (status);

CREATE TABLE user_profiles (
    id            TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    display_name  TEXT NULL CHECK (length(display_name) <= 128),
    given_name    TEXT NULL CHECK (length(given_name) <= 64),
    family_name   TEXT NULL CHECK (length(family_name) <= 64),
    avatar_url    TEXT NULL CHECK (length(avatar_url) <= 512),
    timezone      TEXT NULL CHECK (length(timezone) <= 64),
    locale        TEXT NULL CHECK (length(locale) <= 32),
    metadata_json TEXT NULL CHECK (json_valid(metadata_json)),
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT pk_user_profiles PRIMARY KEY (id),
    CONSTRAINT fk_user_profiles_user_id_users FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX uq_user_profiles_user_id ON user_profiles (user_id);

CREATE TABLE tenant_user_memberships (
    id         TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    tenant_id  TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (length(role) <= 32),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT pk_tenant_user_memberships PRIMARY KEY (id),
    CONSTRAINT fk_tenant_user_memberships_user_id_users FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_tenant_user_memberships_tenant_id_tenant_accounts FOREIGN KEY (tenant_id)
        REFERENCES tenant_accounts (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX uq_tenant_user_memberships_user_tenant ON tenant_user_memberships (user_id, tenant_id);
CREATE INDEX ix_tenant_user_memberships_tenant_role ON tenant_user_memberships (tenant_id, role);
CREATE INDEX ix_tenant_user_memberships_user ON tenant_user_memberships (user_id);

CREATE TABLE password_history (
    id                      TEXT NOT NULL,
    user_id                 TEXT NOT NULL,
    password_hash           TEXT NOT NULL,
    password_pepper_version TEXT NOT NULL CHECK (length(password_pepper_version) <= 32),
    created_at              TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT pk_password_history PRIMARY KEY (id),
    CONSTRAINT fk_password_history_user_id_users FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX ix_password_history_user_created ON password_history (user_id, created_at);

CREATE TABLE user_login_events (
    id         TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    tenant_id  TEXT NULL,
    ip_hash    TEXT NOT NULL CHECK (length(ip_hash) <= 128),
    user_agent TEXT NULL CHECK (length(user_agent) <= 512),
    result     TEXT NOT NULL CHECK (length(result) <= 16),
    reason     TEXT NULL CHECK (length(reason) <= 128),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT pk_user_login_events PRIMARY KEY (id),
    CONSTRAINT fk_user_login_events_user_id_users FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_user_login_events_tenant_id_tenant_accounts FOREIGN KEY (tenant_id)
        REFERENCES tenant_accounts (id) ON DELETE SET NULL
);
CREATE INDEX ix_user_login_events_user_created ON user_login_events (user_id, created_at);
CREATE INDEX ix_user_login_events_tenant_created ON user_login_events (tenant_id, created_at);

CREATE TABLE user_sessions (
    id               TEXT NOT NULL,
    user_id          TEXT NOT NULL,
    tenant_id        TEXT NOT NULL,
    refresh_jti      TEXT NOT NULL CHECK (length(refresh_jti) <= 64),
    fingerprint      TEXT NULL CHECK (length(fingerprint) <= 256),
    ip_hash          TEXT NULL CHECK (length(ip_hash) <= 128),
    ip_encrypted     BLOB NULL,
    ip_masked        TEXT NULL CHECK (length(ip_masked) <= 64),
    user_agent       TEXT NULL CHECK (length(user_agent) <= 512),
    client_platform  TEXT NULL CHECK (length(client_platform) <= 64),
    client_browser   TEXT NULL CHECK (length(client_browser) <= 64),
    client_device    TEXT NULL CHECK (length(client_device) <= 32),
    location_city    TEXT NULL CHECK (length(location_city) <= 128),
    location_region  TEXT NULL CHECK (length(location_region) <= 128),
    location_country TEXT NULL CHECK (length(location_country) <= 64),
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    last_seen_at     TEXT NULL,
    revoked_at       TEXT NULL,
    revoked_reason   TEXT NULL CHECK (length(revoked_reason) <= 256),
    CONSTRAINT pk_user_sessions PRIMARY KEY (id),
    CONSTRAINT fk_user_sessions_user_id_users FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_user_sessions_tenant_id_tenant_accounts FOREIGN KEY (tenant_id)
        REFERENCES tenant_accounts (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX uq_user_sessions_refresh_jti ON user_sessions (refresh_jti);
CREATE INDEX ix_user_sessions_user_last_seen ON user_sessions (user_id, last_seen_at);
CREATE INDEX ix_user_sessions_tenant_last_seen ON user_sessions (tenant_id, last_seen_at);
CREATE INDEX ix_user_sessions_fingerprint ON user_sessions (user_id, fingerprint);
-- Redundant with uq_user_sessions_refresh_jti (§9 note 14); 00002 drops it.
CREATE UNIQUE INDEX ix_user_sessions_refresh_jti ON user_sessions (refresh_jti);

-- Refresh-token ledger for service accounts and human sessions (account = 'user:<uuid>').
-- tenant_id has no FK on purpose (§8.5).
CREATE TABLE service_account_tokens (
    id                 TEXT NOT NULL,
    account            TEXT NOT NULL CHECK (length(account) <= 128),
    tenant_id          TEXT NULL,
    scope_key          TEXT NOT NULL CHECK (length(scope_key) <= 256),
    scopes             TEXT NOT NULL CHECK (json_valid(scopes)),
    refresh_token_hash TEXT NOT NULL,
    refresh_jti        TEXT NOT NULL CHECK (length(refresh_jti) <= 64),
    signing_kid        TEXT NOT NULL CHECK (length(signing_kid) <= 64),
    fingerprint        TEXT NULL CHECK (length(fingerprint) <= 128),
    session_id         TEXT NULL,
    issued_at          TEXT NOT NULL,
    expires_at         TEXT NOT NULL,
    revoked_at         TEXT NULL,
    revoked_reason     TEXT NULL CHECK (length(revoked_reason) <= 256),
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    CONSTRAINT pk_service_account_tokens PRIMARY KEY (id),
    CONSTRAINT fk_service_account_tokens_session_id_user_sessions FOREIGN KEY (session_id)
        REFERENCES user_sessions (id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX uq_service_account_tokens_jti ON service_account_tokens (refresh_jti);
CREATE INDEX ix_service_account_tokens_tenant ON service_account_tokens (tenant_id);
CREATE INDEX ix_service_account_tokens_scope_key ON service_account_tokens (scope_key);
CREATE INDEX ix_service_account_tokens_session_id ON service_account_tokens (session_id);
-- One active token per service account, tenant and scope set; NULL tenant_ids never collide
-- here (§9 note 14), 00002 fixes that.
CREATE UNIQUE INDEX uq_service_account_tokens_active_service_accounts
    ON service_account_tokens (account, tenant_id, scope_key)
    WHERE revoked_at IS NULL AND account NOT LIKE 'user:%';

-- Billing -----------------------------------------------------------------------------

CREATE TABLE billing_plans (
    id              TEXT    NOT NULL,
    code            TEXT    NOT NULL CHECK (length(code) <= 64),
    name            TEXT    NOT NULL CHECK (length(name) <= 128),
    "interval"      TEXT    NOT NULL DEFAULT 'monthly' CHECK (length("interval") <= 16),
    interval_count  INTEGER NOT NULL DEFAULT 1,
    price_cents     INTEGER NOT NULL,
    currency        TEXT    NOT NULL DEFAULT 'USD' CHECK (length(currency) <= 3),
    trial_days      INTEGER NULL,
    seat_included   INTEGER NULL,
    feature_toggles TEXT    NULL CHECK (json_valid(feature_toggles)),
    is_active       INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at      TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at      TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT pk_billing_plans PRIMARY KEY (id)
);
CREATE UNIQUE INDEX uq_billing_plans_code ON billing_plans (code);

CREATE TABLE plan_features (
    id           INTEGER NOT NULL CONSTRAINT pk_plan_features PRIMARY KEY AUTOINCREMENT,
    plan_id      TEXT    NOT NULL,
    feature_key  TEXT    NOT NULL CHECK (length(feature_key) <= 64),
    display_name TEXT    NULL CHECK (length(display_name) <= 128),
    description  TEXT    NULL,
    hard_limit   INTEGER NULL,
    soft_limit   INTEGER NULL,
    is_metered   INTEGER NOT NULL DEFAULT 0 CHECK (is_metered IN (0, 1)),
    created_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT fk_plan_features_plan_id_billing_plans FOREIGN KEY (plan_id)
        REFERENCES billing_plans (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX uq_plan_features_plan_feature ON plan_features (plan_id, feature_key);

CREATE TABLE tenant_subscriptions (
    id                        TEXT    NOT NULL,
    tenant_id                 TEXT    NOT NULL,
    plan_id                   TEXT    NOT NULL,
    status                    TEXT    NOT NULL DEFAULT 'active' CHECK (length(status) <= 24),
    auto_renew                INTEGER NOT NULL DEFAULT 1 CHECK (auto_renew IN (0, 1)),
    billing_email             TEXT    NULL CHECK (length(billing_email) <= 256),
    processor                 TEXT    NULL CHECK (length(processor) <= 32),
    processor_customer_id     TEXT    NULL CHECK (length(processor_customer_id) <= 128),
    processor_subscription_id TEXT    NULL CHECK (length(processor_subscription_id) <= 128),
    starts_at                 TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    current_period_start      TEXT    NULL,
    current_period_end        TEXT    NULL,
    trial_ends_at             TEXT    NULL,
    cancel_at                 TEXT    NULL,
    seat_count                INTEGER NULL,
    metadata_json             TEXT    NULL CHECK (json_valid(metadata_json)),
    created_at                TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at                TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT pk_tenant_subscriptions PRIMARY KEY (id),
    CONSTRAINT fk_tenant_subscriptions_tenant_id_tenant_accounts FOREIGN KEY (tenant_id)
        REFERENCES tenant_accounts (id) ON DELETE CASCADE,
    CONSTRAINT fk_tenant_subscriptions_plan_id_billing_plans FOREIGN KEY (plan_id)
        REFERENCES billing_plans (id) ON DELETE RESTRICT
);
CREATE INDEX ix_tenant_subscriptions_tenant_status ON tenant_subscriptions (tenant_id, status);

-- hosted_invoice_url: the one column already in its fixed form here. The reference has
-- VARCHAR(256), which Postgres widens to TEXT in 00002 (billing-and-status.md note 12); the
-- equivalent CHECK (length <= 256) could only be dropped by rebuilding the table, and no SQLite
-- database is ever adopted from the reference, so it is simply never added.
CREATE TABLE subscription_invoices (
    id                  TEXT    NOT NULL,
    subscription_id     TEXT    NOT NULL,
    period_start        TEXT    NOT NULL,
    period_end          TEXT    NOT NULL,
    amount_cents        INTEGER NOT NULL,
    currency            TEXT    NOT NULL DEFAULT 'USD' CHECK (length(currency) <= 3),
    status              TEXT    NOT NULL DEFAULT 'draft' CHECK (length(status) <= 16),
    external_invoice_id TEXT    NULL CHECK (length(external_invoice_id) <= 128),
    hosted_invoice_url  TEXT    NULL,
    created_at          TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT pk_subscription_invoices PRIMARY KEY (id),
    CONSTRAINT fk_subscription_invoices_subscription_id_tenant_subscriptions FOREIGN KEY (subscription_id)
        REFERENCES tenant_subscriptions (id) ON DELETE CASCADE
);
CREATE INDEX ix_subscription_invoices_subscription_period
    ON subscription_invoices (subscription_id, period_start);

CREATE TABLE subscription_usage (
    id                TEXT    NOT NULL,
    subscription_id   TEXT    NOT NULL,
    feature_key       TEXT    NOT NULL CHECK (length(feature_key) <= 64),
    unit              TEXT    NOT NULL CHECK (length(unit) <= 32),
    period_start      TEXT    NOT NULL,
    period_end        TEXT    NOT NULL,
    quantity          INTEGER NOT NULL,
    reported_at       TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    external_event_id TEXT    NULL CHECK (length(external_event_id) <= 128),
    CONSTRAINT pk_subscription_usage PRIMARY KEY (id),
    CONSTRAINT fk_subscription_usage_subscription_id_tenant_subscriptions FOREIGN KEY (subscription_id)
        REFERENCES tenant_subscriptions (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX uq_subscription_usage_feature_period
    ON subscription_usage (subscription_id, feature_key, period_start);

-- Agents and conversations ------------------------------------------------------------

CREATE TABLE agent_conversations (
    id                      TEXT    NOT NULL,
    conversation_key        TEXT    NOT NULL CHECK (length(conversation_key) <= 255),
    tenant_id               TEXT    NOT NULL,
    user_id                 TEXT    NULL,
    agent_entrypoint        TEXT    NOT NULL CHECK (length(agent_entrypoint) <= 64),
    active_agent            TEXT    NULL CHECK (length(active_agent) <= 64),
    status                  TEXT    NOT NULL DEFAULT 'active' CHECK (length(status) <= 16),
    message_count           INTEGER NOT NULL DEFAULT 0,
    total_tokens_prompt     INTEGER NOT NULL DEFAULT 0,
    total_tokens_completion INTEGER NOT NULL DEFAULT 0,
    reasoning_tokens        INTEGER NOT NULL DEFAULT 0,
    handoff_count           INTEGER NOT NULL DEFAULT 0,
    source_channel          TEXT    NULL CHECK (length(source_channel) <= 32),
    topic_hint              TEXT    NULL CHECK (length(topic_hint) <= 256),
    last_message_at         TEXT    NULL,
    last_run_id             TEXT    NULL CHECK (length(last_run_id) <= 64),
    client_version          TEXT    NULL CHECK (length(client_version) <= 32),
    created_at              TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at              TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    sdk_session_id          TEXT    NULL CHECK (length(sdk_session_id) <= 255),
    session_cursor          TEXT    NULL CHECK (length(session_cursor) <= 128),
    last_session_sync_at    TEXT    NULL,
    CONSTRAINT pk_agent_conversations PRIMARY KEY (id),
    CONSTRAINT fk_agent_conversations_tenant_id_tenant_accounts FOREIGN KEY (tenant_id)
        REFERENCES tenant_accounts (id) ON DELETE CASCADE,
    CONSTRAINT fk_agent_conversations_user_id_users FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX uq_agent_conversations_key ON agent_conversations (conversation_key);
CREATE INDEX ix_agent_conversations_tenant_updated ON agent_conversations (tenant_id, updated_at);
CREATE INDEX ix_agent_conversations_tenant_status ON agent_conversations (tenant_id, status);

CREATE TABLE agent_messages (
    id                     INTEGER NOT NULL CONSTRAINT pk_agent_messages PRIMARY KEY AUTOINCREMENT,
    conversation_id        TEXT    NOT NULL,
    position               INTEGER NOT NULL,
    role                   TEXT    NOT NULL CHECK (length(role) <= 16),
    agent_type             TEXT    NULL CHECK (length(agent_type) <= 64),
    content                TEXT    NOT NULL CHECK (json_valid(content)),
    tool_name              TEXT    NULL CHECK (length(tool_name) <= 128),
    tool_call_id           TEXT    NULL CHECK (length(tool_call_id) <= 64),
    token_count_prompt     INTEGER NULL,
    token_count_completion INTEGER NULL,
    reasoning_tokens       INTEGER NULL,
    latency_ms             INTEGER NULL,
    content_checksum       TEXT    NULL CHECK (length(content_checksum) <= 32),
    run_id                 TEXT    NULL CHECK (length(run_id) <= 64),
    created_at             TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT fk_agent_messages_conversation_id_agent_conversations FOREIGN KEY (conversation_id)
        REFERENCES agent_conversations (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX uq_agent_messages_conversation_position ON agent_messages (conversation_id, position);
CREATE INDEX ix_agent_messages_conversation_created ON agent_messages (conversation_id, created_at);

CREATE TABLE sdk_agent_sessions (
    session_id TEXT NOT NULL CHECK (length(session_id) <= 255),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT pk_sdk_agent_sessions PRIMARY KEY (session_id)
);

CREATE TABLE sdk_agent_session_messages (
    id           INTEGER NOT NULL CONSTRAINT pk_sdk_agent_session_messages PRIMARY KEY AUTOINCREMENT,
    session_id   TEXT    NOT NULL CHECK (length(session_id) <= 255),
    message_data TEXT    NOT NULL,
    created_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT fk_sdk_agent_session_messages_session_id_sdk_agent_sessions FOREIGN KEY (session_id)
        REFERENCES sdk_agent_sessions (session_id) ON DELETE CASCADE
);
CREATE INDEX ix_sdk_agent_session_messages_session_time
    ON sdk_agent_session_messages (session_id, created_at);

-- Stripe webhook log ------------------------------------------------------------------

CREATE TABLE stripe_events (
    id                  TEXT    NOT NULL,
    stripe_event_id     TEXT    NOT NULL CHECK (length(stripe_event_id) <= 64),
    event_type          TEXT    NOT NULL CHECK (length(event_type) <= 128),
    payload             TEXT    NOT NULL CHECK (json_valid(payload)),
    tenant_hint         TEXT    NULL CHECK (length(tenant_hint) <= 64),
    stripe_created_at   TEXT    NULL,
    received_at         TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    processed_at        TEXT    NULL,
    processing_outcome  TEXT    NOT NULL DEFAULT 'received' CHECK (length(processing_outcome) <= 32),
    processing_error    TEXT    NULL,
    processing_attempts INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT pk_stripe_events PRIMARY KEY (id)
);
CREATE UNIQUE INDEX uq_stripe_events_stripe_event_id ON stripe_events (stripe_event_id);
CREATE INDEX ix_stripe_events_type ON stripe_events (event_type);
CREATE INDEX ix_stripe_events_status ON stripe_events (processing_outcome);

-- status: pending / in_progress / failed / completed / dead_letter (Go).
CREATE TABLE stripe_event_dispatch (
    id              TEXT    NOT NULL,
    stripe_event_id TEXT    NOT NULL,
    handler         TEXT    NOT NULL CHECK (length(handler) <= 64),
    status          TEXT    NOT NULL DEFAULT 'pending' CHECK (length(status) <= 32),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_attempt_at TEXT    NULL,
    next_retry_at   TEXT    NULL,
    last_error      TEXT    NULL,
    created_at      TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at      TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT pk_stripe_event_dispatch PRIMARY KEY (id),
    CONSTRAINT fk_stripe_event_dispatch_stripe_event_id_stripe_events FOREIGN KEY (stripe_event_id)
        REFERENCES stripe_events (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX uq_stripe_event_dispatch_handler ON stripe_event_dispatch (stripe_event_id, handler);
CREATE INDEX ix_stripe_event_dispatch_handler_status
    ON stripe_event_dispatch (handler, status, next_retry_at);

-- Status alert subscriptions (tenant_id has no FK on purpose, §8.5) ---------------------

CREATE TABLE status_subscriptions (
    id                          TEXT NOT NULL,
    channel                     TEXT NOT NULL CHECK (length(channel) <= 16),
    target_hash                 TEXT NOT NULL CHECK (length(target_hash) <= 128),
    target_masked               TEXT NOT NULL CHECK (length(target_masked) <= 512),
    target_encrypted            BLOB NOT NULL,
    severity_filter             TEXT NOT NULL DEFAULT 'major' CHECK (length(severity_filter) <= 16),
    status                      TEXT NOT NULL DEFAULT 'pending_verification' CHECK (length(status) <= 32),
    tenant_id                   TEXT NULL,
    metadata_json               TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata_json)),
    created_by                  TEXT NOT NULL CHECK (length(created_by) <= 64),
    verification_token_hash     TEXT NULL CHECK (length(verification_token_hash) <= 128),
    verification_expires_at     TEXT NULL,
    challenge_token_hash        TEXT NULL CHECK (length(challenge_token_hash) <= 128),
    webhook_secret_encrypted    BLOB NULL,
    revoked_reason              TEXT NULL,
    last_challenge_sent_at      TEXT NULL,
    created_at                  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at                  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    revoked_at                  TEXT NULL,
    unsubscribe_token_hash      TEXT NULL CHECK (length(unsubscribe_token_hash) <= 128),
    unsubscribe_token_encrypted BLOB NULL,
    CONSTRAINT pk_status_subscriptions PRIMARY KEY (id)
);
CREATE INDEX ix_status_subscriptions_target_hash ON status_subscriptions (target_hash);
CREATE INDEX ix_status_subscriptions_verification_hash ON status_subscriptions (verification_token_hash);
CREATE INDEX ix_status_subscriptions_challenge_hash ON status_subscriptions (challenge_token_hash);
CREATE INDEX ix_status_subscriptions_tenant_id ON status_subscriptions (tenant_id);
CREATE INDEX ix_status_subscriptions_unsubscribe_hash ON status_subscriptions (unsubscribe_token_hash);

-- Tenant settings ---------------------------------------------------------------------

CREATE TABLE tenant_settings (
    id                    TEXT    NOT NULL,
    tenant_id             TEXT    NOT NULL,
    billing_contacts_json TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(billing_contacts_json)),
    billing_webhook_url   TEXT    NULL CHECK (length(billing_webhook_url) <= 512),
    plan_metadata_json    TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(plan_metadata_json)),
    flags_json            TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(flags_json)),
    version               INTEGER NOT NULL DEFAULT 1,
    created_at            TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at            TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT pk_tenant_settings PRIMARY KEY (id),
    CONSTRAINT fk_tenant_settings_tenant_id FOREIGN KEY (tenant_id)
        REFERENCES tenant_accounts (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX uq_tenant_settings_tenant_id ON tenant_settings (tenant_id);

-- Seed (§8.4): the two reference plans, with fixed ids so both engines agree.
INSERT OR IGNORE INTO billing_plans
    (id, code, name, "interval", interval_count, price_cents, currency,
     trial_days, seat_included, feature_toggles, is_active)
VALUES
    ('00000000-0000-4000-8000-000000000001', 'starter', 'Starter', 'monthly', 1, 0, 'USD',
     14, 1, '{"enable_web_search": false}', 1),
    ('00000000-0000-4000-8000-000000000002', 'pro', 'Pro', 'monthly', 1, 9900, 'USD',
     14, 5, '{"enable_web_search": true}', 1);

-- +goose Down
DROP TABLE tenant_settings;
DROP TABLE status_subscriptions;
DROP TABLE stripe_event_dispatch;
DROP TABLE stripe_events;
DROP TABLE sdk_agent_session_messages;
DROP TABLE sdk_agent_sessions;
DROP TABLE agent_messages;
DROP TABLE agent_conversations;
DROP TABLE subscription_usage;
DROP TABLE subscription_invoices;
DROP TABLE tenant_subscriptions;
DROP TABLE plan_features;
DROP TABLE billing_plans;
DROP TABLE service_account_tokens;
DROP TABLE user_sessions;
DROP TABLE user_login_events;
DROP TABLE password_history;
DROP TABLE tenant_user_memberships;
DROP TABLE user_profiles;
DROP TABLE users;
DROP TABLE tenant_accounts;
