-- The outbox of account events that other services follow
-- (AccountEventService/WatchAccountEvents): one small row per deleted
-- account, written in the transaction that deletes it. Rows are kept, so a
-- follower that was down for a long time still catches up from its cursor.
--
-- `sequence` is assigned as MAX + 1 inside the writing transaction, not by an
-- engine's auto-increment: two writers then collide on the primary key and
-- the later one retries, so sequences become visible in commit order and a
-- follower reading "after N" never skips a row that commits late. For the
-- same reason rows must never be deleted down to an empty table (that would
-- reuse sequences).
CREATE TABLE account_events (
    sequence    BIGINT PRIMARY KEY,
    kind        TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    create_time BIGINT NOT NULL
);
