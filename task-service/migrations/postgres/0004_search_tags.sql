-- Search matches tags too: the search text of existing tasks gains their tags
-- (new and updated tasks get them from the service).
UPDATE tasks SET search_text = search_text || chr(10) || lower(COALESCE(
    (SELECT string_agg(tag, ' ') FROM task_tags WHERE task_tags.task_id = tasks.id), ''));
