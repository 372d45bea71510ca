-- Where this service is in the auth service's account events
-- (AccountEventService/WatchAccountEvents): the sequence of the last one
-- handled, 0 before the first. One row shared by every replica on this
-- database, advanced in the same transaction that acts on the event (a
-- deleted account's tasks are purged), so each event is acted on once and
-- a replica that was down resumes from here.
CREATE TABLE account_event_cursor (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    sequence BIGINT NOT NULL
);
INSERT INTO account_event_cursor (id, sequence) VALUES (1, 0);
