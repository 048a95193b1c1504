-- Billing through Stripe: each tenant's Stripe customer and subscription
-- state, the Stripe events already processed (each is applied once), and
-- the invoices Stripe sent by webhook.

-- The *_at columns hold the creation time of the Stripe event that set the
-- value, so that events applied in any order leave the same state.
CREATE TABLE billing_accounts (
    tenant_id            TEXT PRIMARY KEY REFERENCES tenants (id),
    stripe_customer_id   TEXT NOT NULL UNIQUE,
    subscription_id      TEXT,
    subscription_status  TEXT,
    subscription_at      TIMESTAMPTZ,
    payment_failed_at    TIMESTAMPTZ,
    payment_succeeded_at TIMESTAMPTZ,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);

CREATE TABLE stripe_events (
    id           TEXT PRIMARY KEY,
    type         TEXT NOT NULL,
    tenant_id    TEXT,
    created      TIMESTAMPTZ NOT NULL,
    processed_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE invoices (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants (id),
    stripe_invoice_id  TEXT NOT NULL UNIQUE,
    subscription_id    TEXT,
    status             TEXT NOT NULL,
    period_start       TIMESTAMPTZ NOT NULL,
    period_end         TIMESTAMPTZ NOT NULL,
    amount_due         BIGINT NOT NULL,
    amount_paid        BIGINT NOT NULL,
    currency           TEXT NOT NULL,
    metered_quantity   BIGINT NOT NULL,
    hosted_invoice_url TEXT,
    event_at           TIMESTAMPTZ NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX invoices_by_tenant ON invoices (tenant_id, id);

-- Reconciliation joins usage events to their outbox row; the lag gauge
-- looks for the oldest unreported one.
CREATE INDEX outbox_by_usage_event ON outbox (usage_event_id);
CREATE INDEX outbox_unreported ON outbox (topic, state, created_at);
