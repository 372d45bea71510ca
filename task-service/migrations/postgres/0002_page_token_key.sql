-- The key that encrypts ListTasks page tokens (which hold a task's sort
-- value, a title under `order_by = "title"`). Made once by the first replica
-- to start and shared by all, so a token works on any of them.
CREATE TABLE page_token_key (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    key TEXT NOT NULL
);
