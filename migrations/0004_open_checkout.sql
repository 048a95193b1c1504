-- The Checkout Session a tenant was last sent to, while it is open, so that
-- subscribing again (a second tab, a retry) returns it instead of opening
-- a second subscription on the same customer.
ALTER TABLE billing_accounts ADD COLUMN checkout_session_id TEXT;
ALTER TABLE billing_accounts ADD COLUMN checkout_url TEXT;
ALTER TABLE billing_accounts ADD COLUMN checkout_expires_at TIMESTAMPTZ;
