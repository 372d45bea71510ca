//! All SQL of the task service. Each query is written once and runs on SQLite
//! and PostgreSQL; lists are keyset-paged on indexed (user, sort key, id).

use sqlx::{AnyPool, AssertSqlSafe, Row, any::AnyRow};

use crate::{
    error::Error,
    list_query::{Cursor, Filter, OrderBy, SortField, SortKey},
    task::{Priority, Task, new_etag},
};

// `completed` is read as a number: sqlx's `Any` driver cannot decode
// SQLite's BOOLEAN, and 0/1 reads the same from both engines.
const COLUMNS: &str = "id, user_id, title, description, CASE WHEN completed THEN 1 ELSE 0 END AS completed, \
                       priority, tags, due_time, create_time, update_time, complete_time, etag";

/// A value to bind into dynamically built SQL.
#[derive(Debug, Clone)]
enum Value {
    Integer(i64),
    Text(String),
    Bool(bool),
}

/// Dynamic SQL with `$N` placeholders. sqlx's `QueryBuilder` for the `Any`
/// driver writes `?` placeholders, which PostgreSQL rejects; both engines
/// accept `$N`, so this numbers them itself. Every value is bound, never spliced.
#[derive(Debug, Default)]
struct Sql {
    text: String,
    values: Vec<Value>,
}

impl Sql {
    fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            values: Vec::new(),
        }
    }

    fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    fn bind(&mut self, value: Value) -> &mut Self {
        self.values.push(value);
        self.text.push_str(&format!("${}", self.values.len()));
        self
    }

    async fn fetch_all(self, pool: &AnyPool) -> Result<Vec<AnyRow>, sqlx::Error> {
        let mut query = sqlx::query(AssertSqlSafe(self.text));
        for value in self.values {
            query = match value {
                Value::Integer(number) => query.bind(number),
                Value::Text(text) => query.bind(text),
                Value::Bool(flag) => query.bind(flag),
            };
        }
        query.fetch_all(pool).await
    }
}

fn task_from_row(row: &AnyRow) -> Result<Task, Error> {
    let tags: String = row.try_get("tags")?;
    Ok(Task {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        completed: row.try_get::<i64, _>("completed")? != 0,
        priority: Priority::from_number(row.try_get("priority")?),
        tags: serde_json::from_str(&tags)
            .map_err(|error| Error::Internal(format!("stored tags: {error}")))?,
        due_time: row.try_get("due_time")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
        complete_time: row.try_get("complete_time")?,
        etag: row.try_get("etag")?,
    })
}

/// The text search matches against: title and description, lower-cased
/// here rather than in SQL, because SQLite's LOWER() only knows ASCII.
fn search_text(task: &Task) -> String {
    format!("{}\n{}", task.title, task.description).to_lowercase()
}

/// `due_time`, or the largest value when there is none (see the migration).
fn due_key(task: &Task) -> i64 {
    task.due_time.unwrap_or(i64::MAX)
}

/// `%text%` for LIKE, with LIKE's own wildcards in `text` escaped.
fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

fn tags_json(task: &Task) -> String {
    serde_json::to_string(&task.tags).unwrap_or_else(|_| "[]".to_owned())
}

/// The task service's database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
}

impl Store {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// Inserts `task`. With a request id already used by this user, returns
    /// the task made the first time (`false`) instead of inserting (`true`).
    pub async fn insert(
        &self,
        task: &Task,
        request_id: Option<&str>,
    ) -> Result<(Task, bool), Error> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO tasks (id, user_id, title, description, completed, priority, tags, due_time, due_key,
                                create_time, update_time, complete_time, etag, search_text, request_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(&task.id)
        .bind(&task.user_id)
        .bind(&task.title)
        .bind(&task.description)
        .bind(task.completed)
        .bind(task.priority.number())
        .bind(tags_json(task))
        .bind(task.due_time)
        .bind(due_key(task))
        .bind(task.create_time)
        .bind(task.update_time)
        .bind(task.complete_time)
        .bind(&task.etag)
        .bind(search_text(task))
        .bind(request_id)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(error)
                if service_runtime::database::is_unique_violation(&error)
                    && request_id.is_some() =>
            {
                drop(tx);
                // A retry: the unique (user_id, request_id) constraint caught it, no race.
                let row = sqlx::query(AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM tasks WHERE user_id = $1 AND request_id = $2"
                )))
                .bind(&task.user_id)
                .bind(request_id)
                .fetch_one(&self.pool)
                .await?;
                return Ok((task_from_row(&row)?, false));
            }
            Err(error) => return Err(error.into()),
        }
        replace_tags(&mut tx, task).await?;
        tx.commit().await?;
        Ok((task.clone(), true))
    }

    /// The user's task `id`, if it exists and is theirs.
    pub async fn get(&self, user_id: &str, id: &str) -> Result<Option<Task>, Error> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM tasks WHERE id = $1 AND user_id = $2"
        )))
        .bind(id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(task_from_row).transpose()
    }

    /// Writes `updated` over the stored task if it still has `expected_etag`;
    /// otherwise someone else changed it first and this write loses (ABORTED).
    pub async fn update(&self, updated: &Task, expected_etag: &str) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        let written = sqlx::query(
            "UPDATE tasks SET title = $1, description = $2, completed = $3, priority = $4, tags = $5,
                 due_time = $6, due_key = $7, update_time = $8, complete_time = $9, etag = $10, search_text = $11
             WHERE id = $12 AND user_id = $13 AND etag = $14",
        )
        .bind(&updated.title)
        .bind(&updated.description)
        .bind(updated.completed)
        .bind(updated.priority.number())
        .bind(tags_json(updated))
        .bind(updated.due_time)
        .bind(due_key(updated))
        .bind(updated.update_time)
        .bind(updated.complete_time)
        .bind(&updated.etag)
        .bind(search_text(updated))
        .bind(&updated.id)
        .bind(&updated.user_id)
        .bind(expected_etag)
        .execute(&mut *tx)
        .await?;
        if written.rows_affected() == 0 {
            return Err(Error::EtagMismatch);
        }
        replace_tags(&mut tx, updated).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes the user's task `id`; with `expected_etag`, only while the
    /// task still has it (otherwise ABORTED).
    pub async fn delete(
        &self,
        user_id: &str,
        id: &str,
        expected_etag: Option<&str>,
    ) -> Result<(), Error> {
        let deleted = match expected_etag {
            Some(etag) => {
                sqlx::query("DELETE FROM tasks WHERE id = $1 AND user_id = $2 AND etag = $3")
                    .bind(id)
                    .bind(user_id)
                    .bind(etag)
                    .execute(&self.pool)
                    .await?
            }
            None => {
                sqlx::query("DELETE FROM tasks WHERE id = $1 AND user_id = $2")
                    .bind(id)
                    .bind(user_id)
                    .execute(&self.pool)
                    .await?
            }
        };
        match (deleted.rows_affected(), expected_etag) {
            (0, Some(_)) => Err(Error::EtagMismatch),
            (0, None) => Err(Error::NotFound),
            _ => Ok(()),
        }
    }

    /// Tells every replica's watchers (PostgreSQL NOTIFY) about a change.
    pub async fn notify(&self, channel_payload: &str) -> Result<(), Error> {
        sqlx::query("SELECT pg_notify('task_events', $1)")
            .bind(channel_payload)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// One page of the user's tasks matching `filter` in `order` after
    /// `cursor`, plus how many match in all.
    pub async fn list(
        &self,
        user_id: &str,
        filter: &Filter,
        order: &OrderBy,
        limit: i64,
        cursor: Option<&Cursor>,
    ) -> Result<(Vec<Task>, i64), Error> {
        let column = order.field.column();
        // One round trip: every row of the page carries the number of all
        // matches (an uncorrelated subquery, computed once).
        let mut page = Sql::new(&format!(
            "SELECT {COLUMNS}, (SELECT COUNT(*) FROM tasks WHERE "
        ));
        push_filter(&mut page, user_id, filter);
        page.push(") AS total FROM tasks WHERE ");
        push_filter(&mut page, user_id, filter);
        if let Some(cursor) = cursor {
            // Keyset paging: strictly after the last (sort key, id) seen. New
            // tasks never shift later pages, and no OFFSET scan is needed.
            let op = if order.descending { " < " } else { " > " };
            let key = match &cursor.key {
                SortKey::Number(number) => Value::Integer(*number),
                SortKey::Text(text) => Value::Text(text.clone()),
            };
            page.push(" AND (").push(column).push(op).bind(key.clone());
            page.push(" OR (").push(column).push(" = ").bind(key);
            page.push(" AND id")
                .push(op)
                .bind(Value::Text(cursor.id.clone()))
                .push("))");
        }
        let direction = if order.descending { " DESC" } else { " ASC" };
        page.push(" ORDER BY ")
            .push(column)
            .push(direction)
            .push(", id")
            .push(direction);
        page.push(" LIMIT ").bind(Value::Integer(limit));
        let rows = page.fetch_all(&self.pool).await?;
        let total: i64 = match rows.first() {
            Some(row) => row.try_get("total")?,
            // An empty page (no match, or past the last one) carries no count.
            None => {
                let mut count = Sql::new("SELECT COUNT(*) AS total FROM tasks WHERE ");
                push_filter(&mut count, user_id, filter);
                count
                    .fetch_all(&self.pool)
                    .await?
                    .first()
                    .map_or(Ok(0), |row| row.try_get("total"))?
            }
        };
        let tasks = rows.iter().map(task_from_row).collect::<Result<_, _>>()?;
        Ok((tasks, total))
    }
}

/// The sort value of `task` for `field`, for the next page's cursor.
pub fn sort_key(task: &Task, field: SortField) -> SortKey {
    match field {
        SortField::CreateTime => SortKey::Number(task.create_time),
        SortField::UpdateTime => SortKey::Number(task.update_time),
        SortField::DueTime => SortKey::Number(due_key(task)),
        SortField::Priority => SortKey::Number(task.priority.number()),
        SortField::Title => SortKey::Text(task.title.clone()),
    }
}

fn push_filter(sql: &mut Sql, user_id: &str, filter: &Filter) {
    sql.push("user_id = ").bind(Value::Text(user_id.to_owned()));
    if let Some(query) = &filter.query {
        sql.push(" AND search_text LIKE ")
            .bind(Value::Text(like_pattern(query)))
            .push(" ESCAPE '\\'");
    }
    if let Some(completed) = filter.completed {
        sql.push(" AND completed = ").bind(Value::Bool(completed));
    }
    if let Some(priority) = filter.priority {
        sql.push(" AND priority = ")
            .bind(Value::Integer(priority.number()));
    }
    for tag in filter.tags.as_slice() {
        sql.push(" AND EXISTS (SELECT 1 FROM task_tags WHERE task_tags.task_id = tasks.id AND task_tags.tag = ")
            .bind(Value::Text(tag.clone()))
            .push(")");
    }
}

async fn replace_tags(tx: &mut sqlx::Transaction<'_, sqlx::Any>, task: &Task) -> Result<(), Error> {
    sqlx::query("DELETE FROM task_tags WHERE task_id = $1")
        .bind(&task.id)
        .execute(&mut **tx)
        .await?;
    for tag in &task.tags {
        sqlx::query("INSERT INTO task_tags (task_id, user_id, tag) VALUES ($1, $2, $3)")
            .bind(&task.id)
            .bind(&task.user_id)
            .bind(tag)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// A new version of `task` written at `now`: a fresh etag and update time
/// (kept increasing even if the clock steps back).
pub fn next_version(mut task: Task, now: i64) -> Task {
    task.etag = new_etag();
    task.update_time = now.max(task.update_time + 1);
    task
}
