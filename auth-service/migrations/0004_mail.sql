-- Email verification and password reset through mail. Times are Unix seconds.
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;

-- The live code of each user for each purpose ('reset_password',
-- 'verify_email'): issuing a new one replaces the row, so only the latest
-- code works. Only a keyed hash of the code is kept (see code.rs).
-- `attempts` counts tries, right or wrong, and is raised before a try is
-- compared, so parallel guesses cannot get more than their share.
CREATE TABLE mail_codes (
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL,
    code_hash   TEXT NOT NULL,
    expire_time BIGINT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, purpose)
);
CREATE INDEX mail_codes_expire_time ON mail_codes (expire_time);

-- Mail waiting to be delivered: written in the same transaction as its
-- code, delivered by the sender task, deleted once delivered (the message
-- holds the code in clear, so it stays no longer than it must); a newer
-- code of the same purpose drops the mail of the older one. A sender
-- leases a row until `locked_until` under a `claim` of its own, so senders
-- of several replicas never deliver one message at the same time; a lease
-- that runs out (a sender that died) lets another sender take it.
CREATE TABLE mail_outbox (
    id                TEXT PRIMARY KEY,
    user_id           TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose           TEXT NOT NULL,
    recipient         TEXT NOT NULL,
    message           TEXT NOT NULL,
    create_time       BIGINT NOT NULL,
    expire_time       BIGINT NOT NULL,
    attempts          BIGINT NOT NULL DEFAULT 0,
    next_attempt_time BIGINT NOT NULL,
    locked_until      BIGINT NOT NULL DEFAULT 0,
    claim             TEXT NOT NULL DEFAULT ''
);
CREATE INDEX mail_outbox_next_attempt_time ON mail_outbox (next_attempt_time);
CREATE INDEX mail_outbox_user_id ON mail_outbox (user_id, purpose);
