-- An API key holds at most the scopes of whoever made it: NULL is every scope (the signup's keys and
-- keys made by an owner-level credential); otherwise the space-separated scopes it holds.
ALTER TABLE api_keys ADD COLUMN scopes TEXT;
-- Sign-ins started are purged by age.
CREATE INDEX oidc_logins_created ON oidc_logins (created_at);
