-- Search matches tags too: the search text of existing tasks gains their tags
-- (new and updated tasks get them from the service, lower-cased in Rust;
-- SQLite's lower() here folds ASCII only, which covers tags written so far
-- in most cases and is corrected by the task's next update).
UPDATE tasks SET search_text = search_text || char(10) || lower(COALESCE(
    (SELECT group_concat(tag, ' ') FROM task_tags WHERE task_tags.task_id = tasks.id), ''));
