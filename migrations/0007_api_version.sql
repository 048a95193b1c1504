-- The dated API version a tenant is pinned to (RocketFin-Version): the one current at its signup.
-- Tenants made before versions existed are pinned to the first.
ALTER TABLE tenants ADD COLUMN api_version TEXT NOT NULL DEFAULT '2026-11-30';
