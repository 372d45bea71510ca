-- Each user's tasks. Times are Unix microseconds.
CREATE TABLE tasks (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL,
    title         TEXT NOT NULL,
    description   TEXT NOT NULL,
    completed     BOOLEAN NOT NULL,
    priority      BIGINT NOT NULL,
    -- The tags as a JSON array, in the order given; task_tags serves the filter.
    tags          TEXT NOT NULL,
    due_time      BIGINT,
    -- due_time, or the largest BIGINT when there is none, so that keyset
    -- paging by due date compares plain values.
    due_key       BIGINT NOT NULL,
    create_time   BIGINT NOT NULL,
    update_time   BIGINT NOT NULL,
    complete_time BIGINT,
    etag          TEXT NOT NULL,
    -- Lower-cased title and description, for case-insensitive search.
    search_text   TEXT NOT NULL,
    request_id    TEXT,
    CONSTRAINT tasks_user_request_key UNIQUE (user_id, request_id)
);

-- One index per order_by, each serving one user's keyset pages.
CREATE INDEX tasks_user_create ON tasks (user_id, create_time, id);
CREATE INDEX tasks_user_update ON tasks (user_id, update_time, id);
CREATE INDEX tasks_user_due ON tasks (user_id, due_key, id);
CREATE INDEX tasks_user_priority ON tasks (user_id, priority, id);
CREATE INDEX tasks_user_title ON tasks (user_id, title, id);

CREATE TABLE task_tags (
    task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    tag     TEXT NOT NULL,
    PRIMARY KEY (task_id, tag)
);
CREATE INDEX task_tags_user_tag ON task_tags (user_id, tag);
