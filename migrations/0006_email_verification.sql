-- The signup email must be proven before live credits can be spent. Accounts made before this
-- check existed keep working: their email counts as verified when they were created.
ALTER TABLE tenants ADD COLUMN email_verified_at TIMESTAMPTZ;
UPDATE tenants SET email_verified_at = created_at;

-- One row per link sent: the token is stored as its SHA-256, used once, and expires.
CREATE TABLE email_verifications (
    token_hash  TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    email_lower TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ
);
CREATE INDEX email_verifications_tenant ON email_verifications (tenant_id, created_at);
