-- Every attempt of a webhook delivery, newest last (the last 20), as a JSON array: when, the
-- answer's status code, latency and outcome, and the error. Written by the attempt's own update.
ALTER TABLE webhook_deliveries ADD COLUMN attempt_log TEXT NOT NULL DEFAULT '[]';
