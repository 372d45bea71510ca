//! All SQL of the task service: tasks and their tags, the NOTIFY that
//! tells other replicas about a change, and the cursor into the auth
//! service's account events with the purge of a deleted user's tasks. Each query is written once and runs
//! on SQLite and PostgreSQL; lists are keyset-paged on indexed (user, sort
//! key, id). Tasks go in and come out as the domain's parsed types.

use sqlx::{AnyPool, AssertSqlSafe, Row, any::AnyRow};

use crate::{
    error::Error,
    list_query::{Filter, ListQuery, SortKey},
    page_token::PageTokenKey,
    task::{Description, Priority, RequestId, Tags, Task, TaskId, TaskTitle, UserId},
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

/// A stored task. What the database holds was parsed on its way in, so it is
/// not checked again (see the `from_stored` constructors).
fn task_from_row(row: &AnyRow) -> Result<Task, Error> {
    let tags: String = row.try_get("tags")?;
    Ok(Task {
        id: TaskId::from_stored(row.try_get("id")?),
        user_id: UserId::new(row.try_get("user_id")?),
        title: TaskTitle::from_stored(row.try_get("title")?),
        description: Description::from_stored(row.try_get("description")?),
        completed: row.try_get::<i64, _>("completed")? != 0,
        priority: Priority::from_number(row.try_get("priority")?),
        tags: Tags::from_stored(
            serde_json::from_str(&tags)
                .map_err(|error| Error::internal(format!("stored tags: {error}")))?,
        ),
        due_time: row.try_get("due_time")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
        complete_time: row.try_get("complete_time")?,
        etag: row.try_get("etag")?,
    })
}

/// The text search matches against: title, description and tags, lower-cased
/// here rather than in SQL, because SQLite's LOWER() only knows ASCII.
fn search_text(task: &Task) -> String {
    format!(
        "{}\n{}\n{}",
        task.title.as_str(),
        task.description.as_str(),
        task.tags.as_slice().join(" ")
    )
    .to_lowercase()
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
    serde_json::to_string(task.tags.as_slice()).unwrap_or_else(|_| "[]".to_owned())
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

    /// The key page tokens are sealed with: made by the first replica to
    /// ask, then the same for all.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db page_token_key", otel.kind = "client"))]
    pub async fn page_token_key(&self) -> Result<PageTokenKey, Error> {
        sqlx::query(
            "INSERT INTO page_token_key (id, key) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
        )
        .bind(PageTokenKey::generate())
        .execute(&self.pool)
        .await?;
        let stored: String = sqlx::query_scalar("SELECT key FROM page_token_key WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        PageTokenKey::from_hex(&stored)
            .ok_or_else(|| Error::internal("the stored page token key is not 64 hex digits"))
    }

    /// Inserts `task` if its user has fewer than `max_tasks`. With a request
    /// id already used by this user, returns the task made the first time
    /// (`false`) instead of inserting (`true`), even at the limit.
    ///
    /// The count and the insert are one statement: on SQLite (one writer at
    /// a time) the limit is exact; on PostgreSQL concurrent creates of one
    /// user do not see each other's uncommitted rows, so they can pass it by
    /// at most the number in flight at once (bounded by the pool sizes).
    /// Exact would take a lock per user on every create for a limit that
    /// exists to stop runaway growth, not to count precisely.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db insert", otel.kind = "client"))]
    pub async fn insert(
        &self,
        task: &Task,
        request_id: Option<&RequestId>,
        max_tasks: u64,
    ) -> Result<(Task, bool), Error> {
        let request_id = request_id.map(RequestId::as_str);
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO tasks (id, user_id, title, description, completed, priority, tags, due_time, due_key,
                                create_time, update_time, complete_time, etag, search_text, request_id)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15
             WHERE (SELECT COUNT(*) FROM tasks WHERE user_id = $2) < $16",
        )
        .bind(task.id.as_str())
        .bind(task.user_id.as_str())
        .bind(task.title.as_str())
        .bind(task.description.as_str())
        .bind(task.completed)
        .bind(task.priority.number())
        .bind(tags_json(task))
        .bind(task.due_time)
        .bind(task.due_key())
        .bind(task.create_time)
        .bind(task.update_time)
        .bind(task.complete_time)
        .bind(&task.etag)
        .bind(search_text(task))
        .bind(request_id)
        .bind(i64::try_from(max_tasks).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await;
        let retry_of = |tx| async move {
            drop(tx);
            let row = sqlx::query(AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM tasks WHERE user_id = $1 AND request_id = $2"
            )))
            .bind(task.user_id.as_str())
            .bind(request_id)
            .fetch_optional(&self.pool)
            .await?;
            row.as_ref().map(task_from_row).transpose()
        };
        match inserted {
            Ok(done) if done.rows_affected() == 1 => {}
            // At the limit; a retry of a create that went through still gets its task.
            Ok(_) => {
                return match retry_of(tx).await? {
                    Some(existing) if request_id.is_some() => Ok((existing, false)),
                    _ => Err(Error::TooManyTasks(max_tasks)),
                };
            }
            Err(error)
                if service_runtime::database::is_unique_violation(&error)
                    && request_id.is_some() =>
            {
                // A retry: the unique (user_id, request_id) constraint caught it, no race.
                let existing = retry_of(tx).await?;
                return existing
                    .map(|existing| (existing, false))
                    .ok_or_else(|| Error::internal("a used request id names no task"));
            }
            Err(error) => return Err(error.into()),
        }
        replace_tags(&mut tx, task).await?;
        tx.commit().await?;
        Ok((task.clone(), true))
    }

    /// The user's task `id`, if it exists and is theirs.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db get", otel.kind = "client"))]
    pub async fn get(&self, user_id: &UserId, id: &TaskId) -> Result<Option<Task>, Error> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM tasks WHERE id = $1 AND user_id = $2"
        )))
        .bind(id.as_str())
        .bind(user_id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(task_from_row).transpose()
    }

    /// Writes `updated` over the stored task if it still has `expected_etag`;
    /// otherwise someone else changed it first and this write loses (ABORTED).
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db update", otel.kind = "client"))]
    pub async fn update(&self, updated: &Task, expected_etag: &str) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        let written = sqlx::query(
            "UPDATE tasks SET title = $1, description = $2, completed = $3, priority = $4, tags = $5,
                 due_time = $6, due_key = $7, update_time = $8, complete_time = $9, etag = $10, search_text = $11
             WHERE id = $12 AND user_id = $13 AND etag = $14",
        )
        .bind(updated.title.as_str())
        .bind(updated.description.as_str())
        .bind(updated.completed)
        .bind(updated.priority.number())
        .bind(tags_json(updated))
        .bind(updated.due_time)
        .bind(updated.due_key())
        .bind(updated.update_time)
        .bind(updated.complete_time)
        .bind(&updated.etag)
        .bind(search_text(updated))
        .bind(updated.id.as_str())
        .bind(updated.user_id.as_str())
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
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db delete", otel.kind = "client"))]
    pub async fn delete(
        &self,
        user_id: &UserId,
        id: &TaskId,
        expected_etag: Option<&str>,
    ) -> Result<(), Error> {
        let deleted = match expected_etag {
            Some(etag) => {
                sqlx::query("DELETE FROM tasks WHERE id = $1 AND user_id = $2 AND etag = $3")
                    .bind(id.as_str())
                    .bind(user_id.as_str())
                    .bind(etag)
                    .execute(&self.pool)
                    .await?
            }
            None => {
                sqlx::query("DELETE FROM tasks WHERE id = $1 AND user_id = $2")
                    .bind(id.as_str())
                    .bind(user_id.as_str())
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

    /// Sends `payload` to every replica listening on `channel` (PostgreSQL
    /// NOTIFY; delivered when the sending transaction commits, here at once).
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db notify", otel.kind = "client"))]
    pub async fn notify(&self, channel: &str, payload: &str) -> Result<(), Error> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel)
            .bind(payload)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The sequence of the last account event handled; 0 before the first.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db account_event_cursor", otel.kind = "client"))]
    pub async fn account_event_cursor(&self) -> Result<i64, Error> {
        Ok(
            sqlx::query_scalar("SELECT sequence FROM account_event_cursor WHERE id = 1")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Deletes every task of `user_id`, whose account was deleted by account
    /// event `sequence`, and moves the cursor to that event, in one
    /// transaction. `None` (and nothing deleted) when the cursor is at or
    /// past the event already: this replica or another one handled it.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db purge_user", otel.kind = "client"))]
    pub async fn purge_user(&self, user_id: &UserId, sequence: i64) -> Result<Option<u64>, Error> {
        let mut tx = self.pool.begin().await?;
        // The cursor first: its row lock makes a second replica handling the
        // same event wait here until the first commits, and then find it handled.
        if !claim_account_event(&mut tx, sequence).await? {
            return Ok(None);
        }
        // The tags too, explicitly, rather than leaning on the cascade.
        sqlx::query("DELETE FROM task_tags WHERE user_id = $1")
            .bind(user_id.as_str())
            .execute(&mut *tx)
            .await?;
        let deleted = sqlx::query("DELETE FROM tasks WHERE user_id = $1")
            .bind(user_id.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(Some(deleted))
    }

    /// Moves the cursor past account event `sequence` without acting on it
    /// (a kind this version does not know); false if it was there already.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db skip_account_event", otel.kind = "client"))]
    pub async fn skip_account_event(&self, sequence: i64) -> Result<bool, Error> {
        let mut tx = self.pool.begin().await?;
        let claimed = claim_account_event(&mut tx, sequence).await?;
        tx.commit().await?;
        Ok(claimed)
    }

    /// Up to `limit` of the user's tasks that match `query`, in its order
    /// from where its page starts, plus how many match in all.
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(otel.name = "db list", otel.kind = "client"))]
    pub async fn list(
        &self,
        user_id: &UserId,
        query: &ListQuery,
        limit: usize,
    ) -> Result<(Vec<Task>, i64), Error> {
        let ListQuery {
            filter,
            order,
            after,
            ..
        } = query;
        let column = order.field.column();
        // One round trip: every row of the page carries the number of all
        // matches (an uncorrelated subquery, computed once).
        let mut page = Sql::new(&format!(
            "SELECT {COLUMNS}, (SELECT COUNT(*) FROM tasks WHERE "
        ));
        push_filter(&mut page, user_id, filter);
        page.push(") AS total FROM tasks WHERE ");
        push_filter(&mut page, user_id, filter);
        if let Some(cursor) = after {
            // Strictly after the last (sort key, id) seen.
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
        page.push(" LIMIT ")
            .bind(Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
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

fn push_filter(sql: &mut Sql, user_id: &UserId, filter: &Filter) {
    sql.push("user_id = ")
        .bind(Value::Text(user_id.as_str().to_owned()));
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
        .bind(task.id.as_str())
        .execute(&mut **tx)
        .await?;
    for tag in task.tags.as_slice() {
        sqlx::query("INSERT INTO task_tags (task_id, user_id, tag) VALUES ($1, $2, $3)")
            .bind(task.id.as_str())
            .bind(task.user_id.as_str())
            .bind(tag)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Moves the account-event cursor to `sequence` if it is before it; says
/// whether it did (the event is this transaction's to act on).
async fn claim_account_event(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    sequence: i64,
) -> Result<bool, Error> {
    let claimed =
        sqlx::query("UPDATE account_event_cursor SET sequence = $1 WHERE id = 1 AND sequence < $1")
            .bind(sequence)
            .execute(&mut **tx)
            .await?
            .rows_affected();
    Ok(claimed == 1)
}
