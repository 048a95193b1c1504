-- The scoring call: immutable decision records, usage events, idempotency
-- keys, consents, the outbox drained by workers, monthly spend counters and
-- shared rate-limit buckets.

ALTER TABLE tenants ADD COLUMN monthly_cap_amount BIGINT;
ALTER TABLE tenants ADD COLUMN monthly_cap_currency TEXT;

CREATE TABLE consents (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    environment  TEXT NOT NULL CHECK (environment IN ('sandbox', 'live')),
    company_id   TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    evidence     TEXT NOT NULL,
    key_id       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    withdrawn_at TIMESTAMPTZ
);
CREATE INDEX consents_by_company ON consents (tenant_id, environment, company_id, id);

-- A decision record is written once and never updated.
CREATE TABLE decisions (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id),
    environment    TEXT NOT NULL CHECK (environment IN ('sandbox', 'live')),
    key_id         TEXT NOT NULL,
    request_id     TEXT NOT NULL,
    company_id     TEXT NOT NULL,
    consent_id     TEXT,
    model_version  TEXT NOT NULL,
    score          INTEGER NOT NULL,
    pd_12m         DOUBLE PRECISION NOT NULL,
    grade          TEXT NOT NULL,
    recommendation TEXT NOT NULL,
    input          TEXT NOT NULL,
    input_sha256   TEXT NOT NULL,
    output         TEXT NOT NULL,
    latency_us     BIGINT NOT NULL,
    as_of          TIMESTAMPTZ NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX decisions_by_tenant ON decisions (tenant_id, environment, id);
CREATE INDEX decisions_by_company ON decisions (tenant_id, environment, company_id, id);

-- One usage event per charged (or, in the sandbox, counted) call.
CREATE TABLE usage_events (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    environment     TEXT NOT NULL CHECK (environment IN ('sandbox', 'live')),
    metric          TEXT NOT NULL,
    quantity        INTEGER NOT NULL,
    score_id        TEXT NOT NULL REFERENCES decisions (id),
    key_id          TEXT NOT NULL,
    request_id      TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    billing_state   TEXT NOT NULL,
    amount          BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    usage_date      TEXT NOT NULL,
    period          TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, environment, idempotency_key)
);
CREATE INDEX usage_by_period ON usage_events (tenant_id, environment, period, id);
CREATE INDEX usage_by_date ON usage_events (tenant_id, environment, usage_date);

CREATE TABLE idempotency_keys (
    tenant_id    TEXT NOT NULL,
    environment  TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    response     TEXT NOT NULL,
    score_id     TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, environment, key)
);
CREATE INDEX idempotency_expiry ON idempotency_keys (expires_at);

-- What the tenant spent in a calendar month (UTC), for the monthly cap.
CREATE TABLE monthly_spend (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    period    TEXT NOT NULL,
    amount    BIGINT NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (tenant_id, period)
);

-- Work for background workers, written in the same transaction as the
-- fact it reports (Stripe usage, webhooks).
CREATE TABLE outbox (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL,
    topic          TEXT NOT NULL,
    usage_event_id TEXT,
    payload        TEXT NOT NULL,
    state          TEXT NOT NULL,
    attempts       INTEGER NOT NULL,
    available_at   TIMESTAMPTZ NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    delivered_at   TIMESTAMPTZ,
    reference      TEXT,
    last_error     TEXT
);
CREATE INDEX outbox_pending ON outbox (state, topic, available_at);

-- Token buckets shared by replicas (ROCKETFIN_RATE_LIMIT_STORE=postgres).
CREATE TABLE rate_buckets (
    bucket     TEXT PRIMARY KEY,
    tokens     DOUBLE PRECISION NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
