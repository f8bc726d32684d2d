-- The stored status page (DESIGN decision 12; spec/agents-and-data.md §8.3 "Go additions";
-- billing-and-status.md notes 23 and 30): components, incidents, their state history and the
-- alert fan-out queue. Go tables, not in the reference. Keep tables, column order, nullability
-- and index names identical to ../postgres/00003_status_tables.sql.

-- +goose Up
-- status: operational / degraded / maintenance / incident.
CREATE TABLE status_components (
    id          TEXT    NOT NULL,
    name        TEXT    NOT NULL CHECK (length(name) <= 128),
    description TEXT    NULL,
    owner       TEXT    NULL CHECK (length(owner) <= 128),
    status      TEXT    NOT NULL DEFAULT 'operational' CHECK (length(status) <= 16),
    position    INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT pk_status_components PRIMARY KEY (id)
);
CREATE UNIQUE INDEX uq_status_components_name ON status_components (name);

-- id is the API's incident_id; service names a status_components row (checked by the app).
-- state: investigating / identified / monitoring / resolved; severity: major / maintenance / minor.
CREATE TABLE status_incidents (
    id          TEXT NOT NULL CHECK (length(id) <= 128),
    service     TEXT NOT NULL CHECK (length(service) <= 128),
    impact      TEXT NOT NULL CHECK (length(impact) <= 512),
    state       TEXT NOT NULL DEFAULT 'investigating' CHECK (length(state) <= 16),
    severity    TEXT NOT NULL DEFAULT 'major' CHECK (length(severity) <= 16),
    occurred_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    resolved_at TEXT NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT pk_status_incidents PRIMARY KEY (id)
);
CREATE INDEX ix_status_incidents_occurred_at ON status_incidents (occurred_at);

CREATE TABLE status_incident_updates (
    id          INTEGER NOT NULL CONSTRAINT pk_status_incident_updates PRIMARY KEY AUTOINCREMENT,
    incident_id TEXT    NOT NULL CHECK (length(incident_id) <= 128),
    state       TEXT    NOT NULL CHECK (length(state) <= 16),
    note        TEXT    NULL,
    created_by  TEXT    NOT NULL CHECK (length(created_by) <= 64),
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT fk_status_incident_updates_incident_id_status_incidents FOREIGN KEY (incident_id)
        REFERENCES status_incidents (id) ON DELETE CASCADE
);
CREATE INDEX ix_status_incident_updates_incident_created
    ON status_incident_updates (incident_id, created_at);

-- Alert fan-out queue; status: pending / in_progress / sent / failed.
CREATE TABLE status_alert_deliveries (
    id              TEXT    NOT NULL,
    subscription_id TEXT    NOT NULL,
    incident_id     TEXT    NOT NULL CHECK (length(incident_id) <= 128),
    incident_state  TEXT    NOT NULL CHECK (length(incident_state) <= 16),
    status          TEXT    NOT NULL DEFAULT 'pending' CHECK (length(status) <= 16),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NULL,
    last_error      TEXT    NULL,
    created_at      TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at      TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT pk_status_alert_deliveries PRIMARY KEY (id),
    CONSTRAINT fk_status_alert_deliveries_subscription_id_status_subscriptions FOREIGN KEY (subscription_id)
        REFERENCES status_subscriptions (id) ON DELETE CASCADE,
    CONSTRAINT fk_status_alert_deliveries_incident_id_status_incidents FOREIGN KEY (incident_id)
        REFERENCES status_incidents (id) ON DELETE CASCADE
);
CREATE INDEX ix_status_alert_deliveries_status_next
    ON status_alert_deliveries (status, next_attempt_at);
CREATE INDEX ix_status_alert_deliveries_subscription_incident
    ON status_alert_deliveries (subscription_id, incident_id, created_at);

-- +goose Down
DROP TABLE status_alert_deliveries;
DROP TABLE status_incident_updates;
DROP TABLE status_incidents;
DROP TABLE status_components;
