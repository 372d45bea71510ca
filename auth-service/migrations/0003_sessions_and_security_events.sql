-- What a user sees of their sessions (where and with what they were last
-- used) and of their account's history. Times are Unix seconds.
ALTER TABLE sessions ADD COLUMN last_use_time BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN client_address TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
UPDATE sessions SET last_use_time = create_time;

-- Ids are UUIDv7: in creation order, so pages go by id alone.
CREATE TABLE security_events (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind           TEXT NOT NULL,
    create_time    BIGINT NOT NULL,
    client_address TEXT NOT NULL,
    user_agent     TEXT NOT NULL
);
CREATE INDEX security_events_user_id ON security_events (user_id, id);
CREATE INDEX security_events_create_time ON security_events (create_time);
