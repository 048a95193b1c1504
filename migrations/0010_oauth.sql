-- OAuth2 clients (client credentials grant) and the keys that sign their access tokens.
CREATE TABLE oauth_clients (
    id                         TEXT PRIMARY KEY,
    tenant_id                  TEXT NOT NULL,
    environment                TEXT NOT NULL,
    name                       TEXT NOT NULL,
    scopes                     TEXT NOT NULL,
    secret_hash                TEXT NOT NULL UNIQUE,
    secret_last4               TEXT NOT NULL,
    previous_secret_hash       TEXT,
    previous_secret_expires_at TIMESTAMPTZ,
    metadata                   TEXT NOT NULL DEFAULT '{}',
    created_at                 TIMESTAMPTZ NOT NULL,
    secret_rotated_at          TIMESTAMPTZ,
    deleted_at                 TIMESTAMPTZ
);
CREATE INDEX oauth_clients_tenant ON oauth_clients (tenant_id, environment, id);
-- Not a tenant's: the server's own keys. The private half is sealed with ROCKETFIN_SECRET_KEY.
CREATE TABLE signing_keys (
    id              TEXT PRIMARY KEY,
    algorithm       TEXT NOT NULL,
    public_jwk      TEXT NOT NULL,
    private_sealed  TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    signs_until     TIMESTAMPTZ NOT NULL,
    published_until TIMESTAMPTZ NOT NULL
);
