//! The account events other services follow (`AccountEventService`): an
//! outbox table written in the same transaction as the change it records
//! (today only a deleted account), and the stream that serves it. The auth
//! service knows nothing of tasks; the task service follows this stream and
//! purges a deleted user's tasks itself.
//!
//! A watch sends every event after the caller's cursor, oldest first, in
//! bounded batches, then each new one as it is appended. This process wakes
//! its watchers when it appends, and each watcher also reads the table every
//! few seconds, so events appended by another replica on a shared PostgreSQL
//! database arrive too. Sequences become visible in commit order (see
//! migration 0005), so reading "after N" never skips one.
//!
//! Events are kept for good, one small row per deleted account, so a
//! follower that was down for a long time still catches up from its cursor.

use std::{sync::Arc, time::Duration};

use tokio::sync::{Semaphore, mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;

use crate::{error::Error, store::Store};

/// Events read from the table at once.
const BATCH: i64 = 100;
/// Events queued for one watcher's connection; a watcher that reads no
/// faster waits here (HTTP/2 flow control), nothing piles up in memory.
const QUEUE: usize = 16;
/// How often a watcher looks for events another replica appended.
const POLL: Duration = Duration::from_secs(2);
/// Watches open at once on this replica: one per following replica of
/// another service is the normal load; more are refused.
const MAX_WATCHERS: usize = 16;
/// When a refused watcher should try again.
const WATCHER_RETRY: Duration = Duration::from_secs(5);

/// What happened to an account; stored by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountEventKind {
    /// The account is gone: drop everything kept for it.
    AccountDeleted,
}

impl AccountEventKind {
    /// The name kept in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccountDeleted => "account_deleted",
        }
    }

    /// The kind stored as `name`; `None` for a name this version does not know.
    pub fn from_stored(name: &str) -> Option<Self> {
        [Self::AccountDeleted]
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

/// One event of the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountEvent {
    /// Its place in the order: increasing, without gaps between commits.
    pub sequence: i64,
    /// `None` for a kind written by a newer version: still sent, so a
    /// follower moves its cursor past it.
    pub kind: Option<AccountEventKind>,
    pub user_id: String,
    /// Seconds since the Unix epoch.
    pub create_time: i64,
}

/// How much a watch reads, queues and waits.
#[derive(Clone, Copy, Debug)]
struct WatchLimits {
    batch: i64,
    queue: usize,
    poll: Duration,
}

/// The outbox's readers: the watches, their wake-up, and their cap.
#[derive(Clone, Debug)]
pub struct AccountEvents {
    store: Store,
    /// The latest sequence this process appended; watchers wait for changes.
    appended: Arc<watch::Sender<i64>>,
    watchers: Arc<Semaphore>,
    limits: WatchLimits,
}

impl AccountEvents {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            appended: Arc::new(watch::Sender::new(0)),
            watchers: Arc::new(Semaphore::new(MAX_WATCHERS)),
            limits: WatchLimits {
                batch: BATCH,
                queue: QUEUE,
                poll: POLL,
            },
        }
    }

    /// Wakes this process's watchers: event `sequence` has been committed.
    pub fn appended(&self, sequence: i64) {
        self.appended
            .send_modify(|latest| *latest = (*latest).max(sequence));
    }

    /// Every event after `after`, then each new one, until the receiver is
    /// dropped (the caller hung up). A negative `after` is INVALID_ARGUMENT;
    /// past `MAX_WATCHERS` open watches, RESOURCE_EXHAUSTED. A database
    /// failure ends the stream with its error; the follower resumes from
    /// its cursor.
    pub fn watch(&self, after: i64) -> Result<ReceiverStream<Result<AccountEvent, Error>>, Error> {
        if after < 0 {
            return Err(Error::invalid(
                "after",
                "must not be negative; 0 sends every event",
            ));
        }
        let permit = Arc::clone(&self.watchers)
            .try_acquire_owned()
            .map_err(|_| Error::TooManyWatchers {
                retry_after: WATCHER_RETRY,
            })?;
        let (sender, receiver) = mpsc::channel(self.limits.queue);
        let mut appended = self.appended.subscribe();
        let store = self.store.clone();
        let limits = self.limits;
        tokio::spawn(async move {
            // The watcher's place is held until it ends.
            let _permit = permit;
            let mut cursor = after;
            let mut woken_by_appends = true;
            loop {
                // Marked seen before reading: an append during the read wakes us again.
                appended.borrow_and_update();
                let batch = match store.account_events_after(cursor, limits.batch).await {
                    Ok(batch) => batch,
                    Err(error) => {
                        let _ = sender.send(Err(error)).await;
                        return;
                    }
                };
                let full = i64::try_from(batch.len()).unwrap_or(i64::MAX) >= limits.batch;
                for event in batch {
                    cursor = event.sequence;
                    // Waits while the watcher's queue is full; fails once it hung up.
                    if sender.send(Ok(event)).await.is_err() {
                        return;
                    }
                }
                if full {
                    continue;
                }
                tokio::select! {
                    () = sender.closed() => return,
                    changed = appended.changed(), if woken_by_appends => {
                        // The accounts are gone (the server is stopping): poll only.
                        woken_by_appends = changed.is_ok();
                    }
                    () = tokio::time::sleep(limits.poll) => {}
                }
            }
        });
        Ok(ReceiverStream::new(receiver))
    }
}

#[cfg(test)]
mod tests {
    use service_runtime::database::Database;
    use testkit::TestDatabase;
    use tokio_stream::StreamExt;

    use super::*;

    async fn store() -> (Store, TestDatabase) {
        let (store, _, database) = store_and_pool().await;
        (store, database)
    }

    async fn store_and_pool() -> (Store, sqlx::AnyPool, TestDatabase) {
        let database = TestDatabase::create().await;
        let opened = Database::open(&database.url, &crate::MIGRATIONS)
            .await
            .unwrap();
        (Store::new(opened.pool.clone()), opened.pool, database)
    }

    async fn insert_user(store: &Store, id: &str) {
        let user = crate::user::User {
            id: id.to_owned(),
            email: format!("{id}@example.com"),
            create_time: 0,
            email_verified: false,
        };
        store.insert_user(&user, "not a real hash").await.unwrap();
    }

    async fn next(stream: &mut ReceiverStream<Result<AccountEvent, Error>>) -> AccountEvent {
        tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("an event within 5 s")
            .expect("the stream is open")
            .expect("an event, not an error")
    }

    /// Many more events than a batch arrive in order, each once, and a watch
    /// that has caught up waits for the next without polling it first.
    #[tokio::test]
    async fn a_watch_reads_every_event_in_batches_then_waits_for_new_ones() {
        let (store, _database) = store().await;
        for n in 0..7 {
            let user = format!("user-{n}");
            insert_user(&store, &user).await;
            store.delete_account(&user, &[], 1000 + n).await.unwrap();
        }
        let mut events = AccountEvents::new(store.clone());
        events.limits = WatchLimits {
            batch: 3,
            queue: 2,
            // Longer than the test: only the in-process wake-up can deliver.
            poll: Duration::from_secs(3600),
        };
        let mut stream = events.watch(2).unwrap();
        for sequence in 3..=7 {
            let event = next(&mut stream).await;
            assert_eq!(event.sequence, sequence);
            assert_eq!(event.kind, Some(AccountEventKind::AccountDeleted));
            assert_eq!(event.user_id, format!("user-{}", sequence - 1));
        }
        insert_user(&store, "late").await;
        let appended = store
            .delete_account("late", &[], 2000)
            .await
            .unwrap()
            .unwrap();
        events.appended(appended.sequence);
        assert_eq!(next(&mut stream).await.sequence, 8);
    }

    /// Deletions committing at once (on PostgreSQL, on several pool
    /// connections) each get their own sequence, with no gap between them:
    /// each appender waits for the one before it to commit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_deletions_get_consecutive_sequences() {
        let (store, pool, _database) = store_and_pool().await;
        let users: Vec<String> = (0..20).map(|n| format!("user-{n}")).collect();
        for user in &users {
            insert_user(&store, user).await;
        }
        // Every connection open before the deletions start, so they overlap
        // instead of waiting in turn for connections being made.
        let warm = futures::future::join_all((0..8).map(|_| pool.acquire())).await;
        drop(warm);
        let start = Arc::new(tokio::sync::Barrier::new(users.len()));
        let deletions: Vec<_> = users
            .iter()
            .map(|user| {
                let store = store.clone();
                let user = user.clone();
                let start = Arc::clone(&start);
                tokio::spawn(async move {
                    start.wait().await;
                    store.delete_account(&user, &[], 1000).await
                })
            })
            .collect();
        let mut sequences = Vec::new();
        for deletion in deletions {
            let event = deletion.await.unwrap().unwrap().expect("the user existed");
            sequences.push(event.sequence);
        }
        sequences.sort_unstable();
        assert_eq!(sequences, (1..=20).collect::<Vec<i64>>());
        let stored = store.account_events_after(0, 100).await.unwrap();
        assert_eq!(stored.len(), 20);
        // Deleting a deleted account appends nothing.
        assert_eq!(
            store.delete_account("user-0", &[], 1000).await.unwrap(),
            None
        );
        assert_eq!(store.account_events_after(20, 100).await.unwrap(), []);
    }

    #[tokio::test]
    async fn watchers_past_the_limit_are_refused_and_a_closed_watch_frees_its_place() {
        let (store, _database) = store().await;
        let events = AccountEvents::new(store);
        let open: Vec<_> = (0..MAX_WATCHERS)
            .map(|_| events.watch(0).unwrap())
            .collect();
        assert!(matches!(
            events.watch(0),
            Err(Error::TooManyWatchers { .. })
        ));
        drop(open);
        testkit::eventually(Duration::from_secs(5), "a freed place", || async {
            events.watch(0).ok()
        })
        .await;
    }

    #[test]
    fn kinds_are_read_back_from_their_stored_names() {
        let kind = AccountEventKind::AccountDeleted;
        assert_eq!(AccountEventKind::from_stored(kind.as_str()), Some(kind));
        assert_eq!(AccountEventKind::from_stored("account_renamed"), None);
    }
}
