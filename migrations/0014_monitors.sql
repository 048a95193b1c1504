-- Companies under watch: their data as of now (the scoring request the engine re-scores), the
-- alert thresholds, and the last decision. Decisions made for a monitor name it, the decision they
-- follow and what caused them.
CREATE TABLE monitors (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL,
    environment          TEXT NOT NULL,
    company_id           TEXT NOT NULL,
    company_name         TEXT NOT NULL DEFAULT '',
    request              TEXT NOT NULL,
    score_drop_points    INTEGER NOT NULL,
    grade_notches        INTEGER NOT NULL,
    status               TEXT NOT NULL,
    paused_reason        TEXT,
    alert_state          TEXT NOT NULL,
    last_decision_id     TEXT NOT NULL,
    score                INTEGER NOT NULL,
    pd_12m               DOUBLE PRECISION NOT NULL,
    grade                TEXT NOT NULL,
    recommendation       TEXT NOT NULL,
    language             TEXT NOT NULL DEFAULT 'en',
    metadata             TEXT NOT NULL DEFAULT '{}',
    last_evaluated_at    TIMESTAMPTZ NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL,
    deleted_at           TIMESTAMPTZ
);
CREATE INDEX monitors_tenant ON monitors (tenant_id, environment, id);
CREATE UNIQUE INDEX monitors_company ON monitors (tenant_id, environment, company_id) WHERE deleted_at IS NULL;
CREATE INDEX monitors_sweep ON monitors (status, id) WHERE deleted_at IS NULL;

ALTER TABLE decisions ADD COLUMN monitor_id TEXT;
ALTER TABLE decisions ADD COLUMN previous_decision_id TEXT;
ALTER TABLE decisions ADD COLUMN cause TEXT;
