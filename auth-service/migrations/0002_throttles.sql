-- Throttles of every kind (failed logins per email and address, per address,
-- per email; sign-ups per address; wrong current passwords per user) share
-- one table of fixed-window counters. Keys are built from parsed, bounded
-- values only (a normalised email, an IP address, a user id).
DROP TABLE login_attempts;

CREATE TABLE throttles (
    throttle_key TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    hits         BIGINT NOT NULL
);
CREATE INDEX throttles_window_start ON throttles (window_start);

-- The background sweep deletes by these.
CREATE INDEX sessions_expire_time ON sessions (expire_time);
CREATE INDEX refresh_tokens_create_time ON refresh_tokens (create_time);
