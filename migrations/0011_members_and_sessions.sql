-- People: members bound to an OpenID Provider account on their first sign-in, invitations, the
-- finance role, and console sessions.
-- postgres only
ALTER TABLE members DROP CONSTRAINT members_role_check;
UPDATE members SET role = 'finance' WHERE role = 'viewer';
ALTER TABLE members ADD CONSTRAINT members_role_check CHECK (role IN ('owner', 'admin', 'developer', 'finance'));
-- end
-- sqlite only
CREATE TABLE members_new (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    email       TEXT NOT NULL,
    email_lower TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'finance')),
    created_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, email_lower)
);
INSERT INTO members_new SELECT id, tenant_id, email, email_lower, CASE role WHEN 'viewer' THEN 'finance' ELSE role END, created_at FROM members;
DROP TABLE members;
ALTER TABLE members_new RENAME TO members;
-- end
ALTER TABLE members ADD COLUMN oidc_issuer TEXT;
ALTER TABLE members ADD COLUMN oidc_subject TEXT;
ALTER TABLE members ADD COLUMN joined_at TIMESTAMPTZ;
ALTER TABLE members ADD COLUMN invited_by TEXT;
ALTER TABLE members ADD COLUMN invite_expires_at TIMESTAMPTZ;
CREATE INDEX members_email ON members (email_lower);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    tenant_id    TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    environment  TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    ended_at     TIMESTAMPTZ,
    client_ip    TEXT NOT NULL,
    user_agent   TEXT NOT NULL
);
CREATE INDEX sessions_member ON sessions (member_id);

-- One row per sign-in started: state (hashed), nonce and PKCE verifier, used once.
CREATE TABLE oidc_logins (
    state_hash    TEXT PRIMARY KEY,
    nonce         TEXT NOT NULL,
    code_verifier TEXT NOT NULL,
    return_to     TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    used_at       TIMESTAMPTZ
);
