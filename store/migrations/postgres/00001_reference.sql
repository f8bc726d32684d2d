-- The reference schema (Postgres): exactly what the reference's Alembic head b9f552d26804
-- leaves (spec/agents-and-data.md §8; billing-and-status.md §2): its tables, column types and
-- order, defaults (timezone('utc', now()), BIGSERIAL), constraint and index names, quirks
-- included. A database the reference migrated to b9f552d26804 is adopted as being at this
-- version (store/adopt.go), so this file must never create anything that database lacks.
-- The Go port's fixes are 00002_go_fixes.sql; the Go tables are 00003_status_tables.sql.
-- Keep tables, column order, nullability and index names identical to
-- ../sqlite/00001_reference.sql (the store schema test compares them at every version).
--
-- Not reproduced: 636feb5dd51a's DROP CONSTRAINT uq_tenant_subscriptions_active (a constraint
-- no migration creates; it fails on a fresh database) and the reference chain's data steps
-- other than the plan seed (they only matter to databases that had data before them).

-- +goose Up
CREATE EXTENSION IF NOT EXISTS citext;

CREATE TYPE user_status AS ENUM ('pending', 'active', 'disabled', 'locked');

-- Tenants and identities --------------------------------------------------------------

CREATE TABLE tenant_accounts (
    id         UUID         NOT NULL,
    slug       VARCHAR(64)  NOT NULL,
    name       VARCHAR(128) NOT NULL,
    created_at TIMESTAMPTZ  NOT NULL DEFAULT timezone('utc', now()),
    CONSTRAINT pk_tenant_accounts PRIMARY KEY (id),
    CONSTRAINT uq_tenant_accounts_slug UNIQUE (slug)
);

CREATE TABLE users (
    id                      UUID        NOT NULL,
    email                   CITEXT      NOT NULL,
    password_hash           TEXT        NOT NULL,
    password_pepper_version VARCHAR(32) NOT NULL DEFAULT 'v1',
    status                  user_status NOT NULL DEFAULT 'pending',
    created_at              TIMESTAMPTZ NOT NULL DEFAULT timezone('utc', now()),
    updated_at              TIMESTAMPTZ NOT NULL DEFAULT timezone('utc', now()),
    email_verified_at       TIMESTAMPTZ NULL,
    CONSTRAINT pk_users PRIMARY KEY (id),
    CONSTRAINT uq_users_email UNIQUE (email)
);
CREATE INDEX ix_users_status ON users (status);

CREATE TABLE user_profiles (
    id            UUID         NOT NULL,
    user_id       UUID         NOT NULL,
    display_name  VARCHAR(128) NULL,
    given_name    VARCHAR(64)  NULL,
    family_name   VARCHAR(64)  NULL,
    avatar_url    VARCHAR(512) NULL,
    timezone      VARCHAR(64)  NULL,
    locale        VARCHAR(32)  NULL,
    metadata_json JSONB        NULL,
    created_at    TIMESTAMPTZ  NOT NULL DEFAULT timezone('utc', now()),
    updated_at    TIMESTAMPTZ  NOT NULL DEFAULT timezone('utc', now()),
    CONSTRAINT pk_user_profiles PRIMARY KEY (id),
    CONSTRAINT uq_user_profiles_user_id UNIQUE (user_id),
    CONSTRAINT fk_user_profiles_user_id_users FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE
);

CREATE TABLE tenant_user_memberships (
    id         UUID        NOT NULL,
    user_id    UUID        NOT NULL,
    tenant_id  UUID        NOT NULL,
    role       VARCHAR(32) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT timezone('utc', now()),
    CONSTRAINT pk_tenant_user_memberships PRIMARY KEY (id),
    CONSTRAINT uq_tenant_user_memberships_user_tenant UNIQUE (user_id, tenant_id),
    CONSTRAINT fk_tenant_user_memberships_user_id_users FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_tenant_user_memberships_tenant_id_tenant_accounts FOREIGN KEY (tenant_id)
        REFERENCES tenant_accounts (id) ON DELETE CASCADE
);
CREATE INDEX ix_tenant_user_memberships_tenant_role ON tenant_user_memberships (tenant_id, role);
CREATE INDEX ix_tenant_user_memberships_user ON tenant_user_memberships (user_id);

CREATE TABLE password_history (
    id                      UUID        NOT NULL,
    user_id                 UUID        NOT NULL,
    password_hash           TEXT        NOT NULL,
    password_pepper_version VARCHAR(32) NOT NULL,
    created_at              TIMESTAMPTZ NOT NULL DEFAULT timezone('utc', now()),
    CONSTRAINT pk_password_history PRIMARY KEY (id),
    CONSTRAINT fk_password_history_user_id_users FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX ix_password_history_user_created ON password_history (user_id, created_at);

CREATE TABLE user_login_events (
    id         UUID         NOT NULL,
    user_id    UUID         NOT NULL,
    tenant_id  UUID         NULL,
    ip_hash    VARCHAR(128) NOT NULL,
    user_agent VARCHAR(512) NULL,
    result     VARCHAR(16)  NOT NULL,
    reason     VARCHAR(128) NULL,
    created_at TIMESTAMPTZ  NOT NULL DEFAULT timezone('utc', now()),
    CONSTRAINT pk_user_login_events PRIMARY KEY (id),
    CONSTRAINT fk_user_login_events_user_id_users FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_user_login_events_tenant_id_tenant_accounts FOREIGN KEY (tenant_id)
        REFERENCES tenant_accounts (id) ON DELETE SET NULL
);
CREATE INDEX ix_user_login_events_user_created ON user_login_events (user_id, created_at);
CREATE INDEX ix_user_login_events_tenant_created ON user_login_events (tenant_id, created_at);

CREATE TABLE user_sessions (
    id               UUID         NOT NULL,
    user_id          UUID         NOT NULL,
    tenant_id        UUID         NOT NULL,
    refresh_jti      VARCHAR(64)  NOT NULL,
    fingerprint      VARCHAR(256) NULL,
    ip_hash          VARCHAR(128) NULL,
    ip_encrypted     BYTEA        NULL,
    ip_masked        VARCHAR(64)  NULL,
    user_agent       VARCHAR(512) NULL,
    client_platform  VARCHAR(64)  NULL,
    client_browser   VARCHAR(64)  NULL,
    client_device    VARCHAR(32)  NULL,
    location_city    VARCHAR(128) NULL,
    location_region  VARCHAR(128) NULL,
    location_country VARCHAR(64)  NULL,
    created_at       TIMESTAMPTZ  NOT NULL DEFAULT timezone('utc', now()),
    updated_at       TIMESTAMPTZ  NOT NULL DEFAULT timezone('utc', now()),
    last_seen_at     TIMESTAMPTZ  NULL,
    revoked_at       TIMESTAMPTZ  NULL,
    revoked_reason   VARCHAR(256) NULL,
    CONSTRAINT pk_user_sessions PRIMARY KEY (id),
    CONSTRAINT uq_user_sessions_refresh_jti UNIQUE (refresh_jti),
    CONSTRAINT fk_user_sessions_user_id_users FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_user_sessions_tenant_id_tenant_accounts FOREIGN KEY (tenant_id)
        REFERENCES tenant_accounts (id) ON DELETE CASCADE
);
CREATE INDEX ix_user_sessions_user_last_seen ON user_sessions (user_id, last_seen_at);
CREATE INDEX ix_user_sessions_tenant_last_seen ON user_sessions (tenant_id, last_seen_at);
CREATE INDEX ix_user_sessions_fingerprint ON user_sessions (user_id, fingerprint);
-- Redundant with uq_user_sessions_refresh_jti (§9 note 14); 00002 drops it.
CREATE UNIQUE INDEX ix_user_sessions_refresh_jti ON user_sessions (refresh_jti);

-- Refresh-token ledger for service accounts and human sessions (account = 'user:<uuid>').
-- tenant_id has no FK on purpose (§8.5).
CREATE TABLE service_account_tokens (
    id                 UUID         NOT NULL,
    account            VARCHAR(128) NOT NULL,
    tenant_id          UUID         NULL,
    scope_key          VARCHAR(256) NOT NULL,
    scopes             JSONB        NOT NULL,
    refresh_token_hash TEXT         NOT NULL,
    refresh_jti        VARCHAR(64)  NOT NULL,
    signing_kid        VARCHAR(64)  NOT NULL,
    fingerprint        VARCHAR(128) NULL,
    session_id         UUID         NULL,
    issued_at          TIMESTAMPTZ  NOT NULL,
    expires_at         TIMESTAMPTZ  NOT NULL,
    revoked_at         TIMESTAMPTZ  NULL,
    revoked_reason     VARCHAR(256) NULL,
    created_at         TIMESTAMPTZ  NOT NULL,
    updated_at         TIMESTAMPTZ  NOT NULL,
    CONSTRAINT pk_service_account_tokens PRIMARY KEY (id),
    CONSTRAINT uq_service_account_tokens_jti UNIQUE (refresh_jti),
    CONSTRAINT fk_service_account_tokens_session_id_user_sessions FOREIGN KEY (session_id)
        REFERENCES user_sessions (id) ON DELETE SET NULL
);
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
    id              UUID         NOT NULL,
    code            VARCHAR(64)  NOT NULL,
    name            VARCHAR(128) NOT NULL,
    "interval"      VARCHAR(16)  NOT NULL DEFAULT 'monthly',
    interval_count  INTEGER      NOT NULL DEFAULT 1,
    price_cents     INTEGER      NOT NULL,
    currency        VARCHAR(3)   NOT NULL DEFAULT 'USD',
    trial_days      INTEGER      NULL,
    seat_included   INTEGER      NULL,
    feature_toggles JSONB        NULL,
    is_active       BOOLEAN      NOT NULL DEFAULT true,
    created_at      TIMESTAMPTZ  NOT NULL DEFAULT timezone('utc', now()),
    updated_at      TIMESTAMPTZ  NOT NULL DEFAULT timezone('utc', now()),
    CONSTRAINT pk_billing_plans PRIMARY KEY (id),
    CONSTRAINT uq_billing_plans_code UNIQUE (code)
);

CREATE TABLE plan_features (
    id           BIGSERIAL    NOT NULL,
    plan_id      UUID         NOT NULL,
    feature_key  VARCHAR(64)  NOT NULL,
    display_name VARCHAR(128) NULL,
    description  TEXT         NULL,
    hard_limit   INTEGER      NULL,
    soft_limit   INTEGER      NULL,
    is_metered   BOOLEAN      NOT NULL DEFAULT false,
    created_at   TIMESTAMPTZ  NOT NULL DEFAULT timezone('utc', now()),
    CONSTRAINT pk_plan_features PRIMARY KEY (id),
    CONSTRAINT uq_plan_features_plan_feature UNIQUE (plan_id, feature_key),
    CONSTRAINT fk_plan_features_plan_id_billing_plans FOREIGN KEY (plan_id)
        REFERENCES billing_plans (id) ON DELETE CASCADE
);

CREATE TABLE tenant_subscriptions (
    id                        UUID         NOT NULL,
    tenant_id                 UUID         NOT NULL,
    plan_id                   UUID         NOT NULL,
    status                    VARCHAR(24)  NOT NULL DEFAULT 'active',
    auto_renew                BOOLEAN      NOT NULL DEFAULT true,
    billing_email             VARCHAR(256) NULL,
    processor                 VARCHAR(32)  NULL,
    processor_customer_id     VARCHAR(128) NULL,
    processor_subscription_id VARCHAR(128) NULL,
    starts_at                 TIMESTAMPTZ  NOT NULL DEFAULT timezone('utc', now()),
    current_period_start      TIMESTAMPTZ  NULL,
    current_period_end        TIMESTAMPTZ  NULL,
    trial_ends_at             TIMESTAMPTZ  NULL,
    cancel_at                 TIMESTAMPTZ  NULL,
    seat_count                INTEGER      NULL,
    metadata_json             JSONB        NULL,
    created_at                TIMESTAMPTZ  NOT NULL DEFAULT timezone('utc', now()),
    updated_at                TIMESTAMPTZ  NOT NULL DEFAULT timezone('utc', now()),
    CONSTRAINT pk_tenant_subscriptions PRIMARY KEY (id),
    CONSTRAINT fk_tenant_subscriptions_tenant_id_tenant_accounts FOREIGN KEY (tenant_id)
        REFERENCES tenant_accounts (id) ON DELETE CASCADE,
    CONSTRAINT fk_tenant_subscriptions_plan_id_billing_plans FOREIGN KEY (plan_id)
        REFERENCES billing_plans (id) ON DELETE RESTRICT
);
CREATE INDEX ix_tenant_subscriptions_tenant_status ON tenant_subscriptions (tenant_id, status);

CREATE TABLE subscription_invoices (
    id                  UUID         NOT NULL,
    subscription_id     UUID         NOT NULL,
    period_start        TIMESTAMPTZ  NOT NULL,
    period_end          TIMESTAMPTZ  NOT NULL,
    amount_cents        INTEGER      NOT NULL,
    currency            VARCHAR(3)   NOT NULL DEFAULT 'USD',
    status              VARCHAR(16)  NOT NULL DEFAULT 'draft',
    external_invoice_id VARCHAR(128) NULL,
    hosted_invoice_url  VARCHAR(256) NULL,
    created_at          TIMESTAMPTZ  NOT NULL DEFAULT timezone('utc', now()),
    CONSTRAINT pk_subscription_invoices PRIMARY KEY (id),
    CONSTRAINT fk_subscription_invoices_subscription_id_tenant_subscriptions FOREIGN KEY (subscription_id)
        REFERENCES tenant_subscriptions (id) ON DELETE CASCADE
);
CREATE INDEX ix_subscription_invoices_subscription_period
    ON subscription_invoices (subscription_id, period_start);

CREATE TABLE subscription_usage (
    id                UUID         NOT NULL,
    subscription_id   UUID         NOT NULL,
    feature_key       VARCHAR(64)  NOT NULL,
    unit              VARCHAR(32)  NOT NULL,
    period_start      TIMESTAMPTZ  NOT NULL,
    period_end        TIMESTAMPTZ  NOT NULL,
    quantity          INTEGER      NOT NULL,
    reported_at       TIMESTAMPTZ  NOT NULL DEFAULT timezone('utc', now()),
    external_event_id VARCHAR(128) NULL,
    CONSTRAINT pk_subscription_usage PRIMARY KEY (id),
    CONSTRAINT uq_subscription_usage_feature_period UNIQUE (subscription_id, feature_key, period_start),
    CONSTRAINT fk_subscription_usage_subscription_id_tenant_subscriptions FOREIGN KEY (subscription_id)
        REFERENCES tenant_subscriptions (id) ON DELETE CASCADE
);

-- Agents and conversations ------------------------------------------------------------

CREATE TABLE agent_conversations (
    id                      UUID         NOT NULL,
    conversation_key        VARCHAR(255) NOT NULL,
    tenant_id               UUID         NOT NULL,
    user_id                 UUID         NULL,
    agent_entrypoint        VARCHAR(64)  NOT NULL,
    active_agent            VARCHAR(64)  NULL,
    status                  VARCHAR(16)  NOT NULL DEFAULT 'active',
    message_count           INTEGER      NOT NULL DEFAULT 0,
    total_tokens_prompt     INTEGER      NOT NULL DEFAULT 0,
    total_tokens_completion INTEGER      NOT NULL DEFAULT 0,
    reasoning_tokens        INTEGER      NOT NULL DEFAULT 0,
    handoff_count           INTEGER      NOT NULL DEFAULT 0,
    source_channel          VARCHAR(32)  NULL,
    topic_hint              VARCHAR(256) NULL,
    last_message_at         TIMESTAMPTZ  NULL,
    last_run_id             VARCHAR(64)  NULL,
    client_version          VARCHAR(32)  NULL,
    created_at              TIMESTAMPTZ  NOT NULL DEFAULT timezone('utc', now()),
    updated_at              TIMESTAMPTZ  NOT NULL DEFAULT timezone('utc', now()),
    sdk_session_id          VARCHAR(255) NULL,
    session_cursor          VARCHAR(128) NULL,
    last_session_sync_at    TIMESTAMPTZ  NULL,
    CONSTRAINT pk_agent_conversations PRIMARY KEY (id),
    CONSTRAINT uq_agent_conversations_key UNIQUE (conversation_key),
    CONSTRAINT fk_agent_conversations_tenant_id_tenant_accounts FOREIGN KEY (tenant_id)
        REFERENCES tenant_accounts (id) ON DELETE CASCADE,
    CONSTRAINT fk_agent_conversations_user_id_users FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX ix_agent_conversations_tenant_updated ON agent_conversations (tenant_id, updated_at);
CREATE INDEX ix_agent_conversations_tenant_status ON agent_conversations (tenant_id, status);

CREATE TABLE agent_messages (
    id                     BIGSERIAL    NOT NULL,
    conversation_id        UUID         NOT NULL,
    position               INTEGER      NOT NULL,
    role                   VARCHAR(16)  NOT NULL,
    agent_type             VARCHAR(64)  NULL,
    content                JSONB        NOT NULL,
    tool_name              VARCHAR(128) NULL,
    tool_call_id           VARCHAR(64)  NULL,
    token_count_prompt     INTEGER      NULL,
    token_count_completion INTEGER      NULL,
    reasoning_tokens       INTEGER      NULL,
    latency_ms             INTEGER      NULL,
    content_checksum       VARCHAR(32)  NULL,
    run_id                 VARCHAR(64)  NULL,
    created_at             TIMESTAMPTZ  NOT NULL DEFAULT timezone('utc', now()),
    CONSTRAINT pk_agent_messages PRIMARY KEY (id),
    CONSTRAINT uq_agent_messages_conversation_position UNIQUE (conversation_id, position),
    CONSTRAINT fk_agent_messages_conversation_id_agent_conversations FOREIGN KEY (conversation_id)
        REFERENCES agent_conversations (id) ON DELETE CASCADE
);
CREATE INDEX ix_agent_messages_conversation_created ON agent_messages (conversation_id, created_at);

CREATE TABLE sdk_agent_sessions (
    session_id VARCHAR(255) NOT NULL,
    created_at TIMESTAMPTZ  NOT NULL DEFAULT timezone('utc', now()),
    updated_at TIMESTAMPTZ  NOT NULL DEFAULT timezone('utc', now()),
    CONSTRAINT pk_sdk_agent_sessions PRIMARY KEY (session_id)
);

CREATE TABLE sdk_agent_session_messages (
    id           BIGSERIAL    NOT NULL,
    session_id   VARCHAR(255) NOT NULL,
    message_data TEXT         NOT NULL,
    created_at   TIMESTAMPTZ  NOT NULL DEFAULT timezone('utc', now()),
    CONSTRAINT pk_sdk_agent_session_messages PRIMARY KEY (id),
    CONSTRAINT fk_sdk_agent_session_messages_session_id_sdk_agent_sessions FOREIGN KEY (session_id)
        REFERENCES sdk_agent_sessions (session_id) ON DELETE CASCADE
);
CREATE INDEX ix_sdk_agent_session_messages_session_time
    ON sdk_agent_session_messages (session_id, created_at);

-- Stripe webhook log ------------------------------------------------------------------

CREATE TABLE stripe_events (
    id                  UUID         NOT NULL,
    stripe_event_id     VARCHAR(64)  NOT NULL,
    event_type          VARCHAR(128) NOT NULL,
    payload             JSONB        NOT NULL,
    tenant_hint         VARCHAR(64)  NULL,
    stripe_created_at   TIMESTAMPTZ  NULL,
    received_at         TIMESTAMPTZ  NOT NULL DEFAULT timezone('utc', now()),
    processed_at        TIMESTAMPTZ  NULL,
    processing_outcome  VARCHAR(32)  NOT NULL DEFAULT 'received',
    processing_error    TEXT         NULL,
    processing_attempts INTEGER      NOT NULL DEFAULT 0,
    CONSTRAINT pk_stripe_events PRIMARY KEY (id),
    CONSTRAINT uq_stripe_events_stripe_event_id UNIQUE (stripe_event_id)
);
CREATE INDEX ix_stripe_events_type ON stripe_events (event_type);
CREATE INDEX ix_stripe_events_status ON stripe_events (processing_outcome);

-- status: pending / in_progress / failed / completed / dead_letter (Go).
CREATE TABLE stripe_event_dispatch (
    id              UUID        NOT NULL,
    stripe_event_id UUID        NOT NULL,
    handler         VARCHAR(64) NOT NULL,
    status          VARCHAR(32) NOT NULL DEFAULT 'pending',
    attempts        INTEGER     NOT NULL DEFAULT 0,
    last_attempt_at TIMESTAMPTZ NULL,
    next_retry_at   TIMESTAMPTZ NULL,
    last_error      TEXT        NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT timezone('utc', now()),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT timezone('utc', now()),
    CONSTRAINT pk_stripe_event_dispatch PRIMARY KEY (id),
    CONSTRAINT uq_stripe_event_dispatch_handler UNIQUE (stripe_event_id, handler),
    CONSTRAINT fk_stripe_event_dispatch_stripe_event_id_stripe_events FOREIGN KEY (stripe_event_id)
        REFERENCES stripe_events (id) ON DELETE CASCADE
);
CREATE INDEX ix_stripe_event_dispatch_handler_status
    ON stripe_event_dispatch (handler, status, next_retry_at);

-- Status alert subscriptions (tenant_id has no FK on purpose, §8.5) ---------------------

CREATE TABLE status_subscriptions (
    id                          UUID         NOT NULL,
    channel                     VARCHAR(16)  NOT NULL,
    target_hash                 VARCHAR(128) NOT NULL,
    target_masked               VARCHAR(512) NOT NULL,
    target_encrypted            BYTEA        NOT NULL,
    severity_filter             VARCHAR(16)  NOT NULL DEFAULT 'major',
    status                      VARCHAR(32)  NOT NULL DEFAULT 'pending_verification',
    tenant_id                   UUID         NULL,
    metadata_json               JSONB        NOT NULL DEFAULT '{}'::jsonb,
    created_by                  VARCHAR(64)  NOT NULL,
    verification_token_hash     VARCHAR(128) NULL,
    verification_expires_at     TIMESTAMPTZ  NULL,
    challenge_token_hash        VARCHAR(128) NULL,
    webhook_secret_encrypted    BYTEA        NULL,
    revoked_reason              TEXT         NULL,
    last_challenge_sent_at      TIMESTAMPTZ  NULL,
    created_at                  TIMESTAMPTZ  NOT NULL DEFAULT timezone('utc', now()),
    updated_at                  TIMESTAMPTZ  NOT NULL DEFAULT timezone('utc', now()),
    revoked_at                  TIMESTAMPTZ  NULL,
    unsubscribe_token_hash      VARCHAR(128) NULL,
    unsubscribe_token_encrypted BYTEA        NULL,
    CONSTRAINT pk_status_subscriptions PRIMARY KEY (id)
);
CREATE INDEX ix_status_subscriptions_target_hash ON status_subscriptions (target_hash);
CREATE INDEX ix_status_subscriptions_verification_hash ON status_subscriptions (verification_token_hash);
CREATE INDEX ix_status_subscriptions_challenge_hash ON status_subscriptions (challenge_token_hash);
CREATE INDEX ix_status_subscriptions_tenant_id ON status_subscriptions (tenant_id);
CREATE INDEX ix_status_subscriptions_unsubscribe_hash ON status_subscriptions (unsubscribe_token_hash);

-- Tenant settings ---------------------------------------------------------------------

CREATE TABLE tenant_settings (
    id                    UUID         NOT NULL,
    tenant_id             UUID         NOT NULL,
    billing_contacts_json JSONB        NOT NULL DEFAULT '[]'::jsonb,
    billing_webhook_url   VARCHAR(512) NULL,
    plan_metadata_json    JSONB        NOT NULL DEFAULT '{}'::jsonb,
    flags_json            JSONB        NOT NULL DEFAULT '{}'::jsonb,
    version               INTEGER      NOT NULL DEFAULT 1,
    created_at            TIMESTAMPTZ  NOT NULL DEFAULT timezone('utc', now()),
    updated_at            TIMESTAMPTZ  NOT NULL DEFAULT timezone('utc', now()),
    CONSTRAINT pk_tenant_settings PRIMARY KEY (id),
    CONSTRAINT uq_tenant_settings_tenant_id UNIQUE (tenant_id),
    CONSTRAINT fk_tenant_settings_tenant_id FOREIGN KEY (tenant_id)
        REFERENCES tenant_accounts (id) ON DELETE CASCADE
);

-- Seed (§8.4): the two reference plans, with fixed ids so both engines agree.
INSERT INTO billing_plans
    (id, code, name, "interval", interval_count, price_cents, currency,
     trial_days, seat_included, feature_toggles, is_active)
VALUES
    ('00000000-0000-4000-8000-000000000001', 'starter', 'Starter', 'monthly', 1, 0, 'USD',
     14, 1, '{"enable_web_search": false}', true),
    ('00000000-0000-4000-8000-000000000002', 'pro', 'Pro', 'monthly', 1, 9900, 'USD',
     14, 5, '{"enable_web_search": true}', true)
ON CONFLICT (code) DO NOTHING;

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
DROP TYPE user_status;
-- An adopted database's Alembic marker goes too: without these tables it would be a lie, and
-- the next `migrate up` must not adopt an empty database (adopt.go).
DROP TABLE IF EXISTS alembic_version;
-- The citext extension is left installed: other objects may use it.
