-- Events (what happened to a tenant's monitored companies and endpoints), the webhook endpoints
-- that receive them, and one delivery per event and endpoint (its attempts run as River jobs).
CREATE TABLE events (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    environment TEXT NOT NULL,
    type        TEXT NOT NULL,
    company_id  TEXT,
    data        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX events_tenant ON events (tenant_id, environment, id);
CREATE INDEX events_tenant_type ON events (tenant_id, environment, type, id);
CREATE INDEX events_tenant_company ON events (tenant_id, environment, company_id, id);

CREATE TABLE webhook_endpoints (
    id                         TEXT PRIMARY KEY,
    tenant_id                  TEXT NOT NULL,
    environment                TEXT NOT NULL,
    url                        TEXT NOT NULL,
    description                TEXT NOT NULL DEFAULT '',
    events                     TEXT NOT NULL,
    status                     TEXT NOT NULL,
    disabled_reason            TEXT,
    secret_sealed              TEXT NOT NULL,
    secret_last4               TEXT NOT NULL,
    previous_secret_sealed     TEXT,
    previous_secret_expires_at TIMESTAMPTZ,
    failing_since              TIMESTAMPTZ,
    metadata                   TEXT NOT NULL DEFAULT '{}',
    created_at                 TIMESTAMPTZ NOT NULL,
    updated_at                 TIMESTAMPTZ NOT NULL,
    deleted_at                 TIMESTAMPTZ
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, environment, id);

CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    environment      TEXT NOT NULL,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id),
    event_id         TEXT NOT NULL REFERENCES events (id),
    event_type       TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ,
    last_attempt_at  TIMESTAMPTZ,
    last_status_code INTEGER,
    last_error       TEXT,
    last_latency_ms  INTEGER,
    created_at       TIMESTAMPTZ NOT NULL,
    delivered_at     TIMESTAMPTZ
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
