-- Tenants, their members, and the API keys that authenticate them.
-- Portable SQL: the same file runs on PostgreSQL and on the embedded SQLite.

CREATE TABLE tenants (
    id                    TEXT PRIMARY KEY,
    name                  TEXT NOT NULL,
    country               TEXT NOT NULL,
    signup_email_lower    TEXT NOT NULL UNIQUE,
    status                TEXT NOT NULL CHECK (status IN ('trial', 'active', 'past_due', 'suspended', 'canceled')),
    plan                  TEXT NOT NULL,
    trial_ends_at         TIMESTAMPTZ NOT NULL,
    credits_remaining     BIGINT NOT NULL CHECK (credits_remaining >= 0),
    rate_limit_per_second DOUBLE PRECISION,
    rate_limit_burst      INTEGER,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL
);

CREATE TABLE members (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    email       TEXT NOT NULL,
    email_lower TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'viewer')),
    created_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, email_lower)
);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    environment  TEXT NOT NULL CHECK (environment IN ('sandbox', 'live')),
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    last4        TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    expires_at   TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ,
    rotated_from TEXT
);

CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, environment, id);
