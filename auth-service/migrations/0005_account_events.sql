-- The outbox of account events that other services follow
-- (AccountEventService/WatchAccountEvents): one small row per deleted
-- account, written in the transaction that deletes it. Rows are kept, so a
-- follower that was down for a long time still catches up from its cursor.
CREATE TABLE account_events (
    sequence    BIGINT PRIMARY KEY,
    kind        TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    create_time BIGINT NOT NULL
);

-- The last sequence handed out. Each appending transaction takes the next
-- one by updating this row, and holds the row's lock until it commits: the
-- next appender waits and reads the committed value. So sequences become
-- visible in commit order, without gaps, and a follower reading "after N"
-- never skips an event that commits late (an engine's sequence or
-- auto-increment would allow exactly that).
CREATE TABLE account_event_head (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    sequence BIGINT NOT NULL
);
INSERT INTO account_event_head (id, sequence) VALUES (1, 0);
