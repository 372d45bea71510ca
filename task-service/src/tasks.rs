//! What the task service does, independent of gRPC: each user's create, get,
//! list, update, delete and watch, over the parsed types of `task` and
//! `list_query`. Every committed change is published to the user's watchers
//! here. `grpc.rs` translates requests into these calls.

use std::sync::Arc;

use tokio_stream::{Stream, StreamExt};

use crate::{
    auth_layer::{TokenValidator, VerifiedUser},
    error::Error,
    events::{Change, Events, Kind},
    list_query::ListQuery,
    page_token::PageTokenKey,
    store::Store,
    task::{NewTask, RequestId, Task, TaskId, TaskPatch, UserId, now_micros},
    watch_slots::WatchSlots,
};

/// One page of a list.
#[derive(Debug)]
pub struct Page {
    pub tasks: Vec<Task>,
    /// Empty on the last page.
    pub next_page_token: String,
    /// How many tasks match the query on all pages.
    pub total_size: i64,
}

/// The task service's state and operations.
#[derive(Debug)]
pub struct Tasks {
    store: Store,
    events: Events,
    /// Watches re-check their session with it.
    validator: TokenValidator,
    limits: Limits,
    watch_slots: WatchSlots,
    page_token_key: PageTokenKey,
}

/// How much one user may hold and open.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_tasks_per_user: u64,
    pub max_watches_per_user: usize,
}

impl Tasks {
    pub fn new(
        store: Store,
        events: Events,
        validator: TokenValidator,
        limits: Limits,
        page_token_key: PageTokenKey,
    ) -> Self {
        Self {
            store,
            events,
            validator,
            limits,
            watch_slots: WatchSlots::new(limits.max_watches_per_user),
            page_token_key,
        }
    }

    /// What ListTasks page tokens are sealed with.
    pub fn page_token_key(&self) -> &PageTokenKey {
        &self.page_token_key
    }

    /// Makes `user`'s new task. With a `request_id` this user has used
    /// before, returns the task made then instead, and nothing is published.
    /// A user at `TASK_MAX_PER_USER` tasks gets RESOURCE_EXHAUSTED.
    pub async fn create(
        &self,
        user: UserId,
        new: NewTask,
        request_id: Option<RequestId>,
    ) -> Result<Task, Error> {
        let task = Task::new(user, new, now_micros());
        let (task, created) = self
            .store
            .insert(&task, request_id.as_ref(), self.limits.max_tasks_per_user)
            .await?;
        if created {
            self.events.publish(Kind::Created, &task).await;
        }
        Ok(task)
    }

    /// The user's task `id`; someone else's is NOT_FOUND, as a missing one.
    pub async fn get(&self, user: &UserId, id: &TaskId) -> Result<Task, Error> {
        self.store.get(user, id).await?.ok_or(Error::NotFound)
    }

    pub async fn list(&self, user: &UserId, query: &ListQuery) -> Result<Page, Error> {
        // One row more than the page tells whether another page follows.
        let (mut tasks, total_size) = self
            .store
            .list(user, query, query.page_size.saturating_add(1))
            .await?;
        let more = tasks.len() > query.page_size;
        tasks.truncate(query.page_size);
        let next_page_token = match tasks.last() {
            Some(last) if more => query.next_page_token(last),
            _ => String::new(),
        };
        Ok(Page {
            tasks,
            next_page_token,
            total_size,
        })
    }

    /// Applies `patch` to the user's task. A patch with an etag the task no
    /// longer has is ABORTED, and so is the loser of two concurrent updates.
    pub async fn update(&self, user: &UserId, patch: TaskPatch) -> Result<Task, Error> {
        let current = self.get(user, &patch.id).await?;
        if patch
            .etag
            .as_ref()
            .is_some_and(|etag| *etag != current.etag)
        {
            return Err(Error::EtagMismatch);
        }
        let next = current.apply(patch, now_micros());
        // Conditional on the etag read above: of two concurrent updates, one wins.
        self.store.update(&next, &current.etag).await?;
        self.events.publish(Kind::Updated, &next).await;
        Ok(next)
    }

    /// Deletes the user's task `id`; with an `etag`, only while the task
    /// still has it (otherwise ABORTED).
    pub async fn delete(
        &self,
        user: &UserId,
        id: &TaskId,
        etag: Option<&str>,
    ) -> Result<(), Error> {
        // Read first, so a missing task is NOT_FOUND even with an etag: the
        // conditional delete alone cannot tell missing from changed.
        let current = self.get(user, id).await?;
        if etag.is_some_and(|etag| etag != current.etag) {
            return Err(Error::EtagMismatch);
        }
        self.store.delete(user, id, etag).await?;
        self.events.publish(Kind::Deleted, &current).await;
        Ok(())
    }

    /// The caller's changes from now on, until their session ends. Past
    /// `WATCH_MAX_STREAMS_PER_USER` open on this replica: RESOURCE_EXHAUSTED.
    pub fn watch(
        &self,
        user: VerifiedUser,
    ) -> Result<impl Stream<Item = Result<Arc<Change>, Error>> + Send + 'static, Error> {
        let slot = self
            .watch_slots
            .acquire(&UserId::new(user.user_id.clone()))?;
        // The slot lives as long as the stream: tonic drops the stream when
        // the client cancels or the call ends, and that frees it.
        Ok(self
            .events
            .watch(user, self.validator.clone())
            .map(move |change| {
                let _held = &slot;
                change
            }))
    }
}
