-- A client's string pairs (at most 50) on scores, consents and keys, as JSON text.
ALTER TABLE decisions ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE consents ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE api_keys ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
