//! The live change feed behind WatchTasks. Writers publish each change; the
//! watchers of its user get it through a bounded broadcast of that user's own,
//! so a slow watcher never holds a writer back, a write wakes only its owner's
//! watchers, and one user's burst of changes cannot push another's watchers
//! behind. On SQLite the feed is in-process; on PostgreSQL changes go through
//! LISTEN/NOTIFY, so every replica's watchers see every replica's writes.
//! `Events::watch` is one watcher's stream, which ends when its session does,
//! or at once when the account is deleted (`Events::end_user`).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use serde::{Deserialize, Serialize};
use sqlx::postgres::PgListener;
use tokio::sync::{
    broadcast::{self, error::RecvError},
    mpsc,
};
use tokio_stream::{Stream, wrappers::ReceiverStream};

use crate::{
    auth_layer::{ACCOUNT_DELETED, TokenValidator, VerifiedUser},
    error::Error,
    store::Store,
    task::{Task, TaskId, UserId},
};

/// The PostgreSQL NOTIFY channel every replica listens on.
const CHANNEL: &str = "task_events";
/// Events a watcher may fall behind its user's changes by before it is told to start over.
const BUFFER: usize = 256;
/// How often a watch re-checks that its session is still live.
const WATCH_RECHECK: Duration = Duration::from_millis(500);
/// Events queued for one watcher's connection before it counts as slow.
const WATCH_QUEUE: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    Created,
    Updated,
    Deleted,
}

/// One change to one user's task. For `Deleted`, `task` is `None`.
#[derive(Clone, Debug)]
pub struct Change {
    pub user_id: UserId,
    pub task_id: TaskId,
    pub kind: Kind,
    pub task: Option<Task>,
}

/// What a user's watchers hear: a change to one of the user's tasks, or
/// that the account is gone.
#[derive(Clone, Debug)]
pub enum Feed {
    Change(Arc<Change>),
    AccountDeleted,
    /// Changes may have gone by unheard: the watcher must start over.
    Missed,
}

/// What goes through NOTIFY: ids only, because payloads are limited to 8000
/// bytes; each listening replica reads the task itself.
#[derive(Serialize, Deserialize)]
struct Notice {
    user_id: String,
    task_id: String,
    kind: Kind,
}

/// The broadcast channels of the users who have watchers, by user id. A
/// channel goes when its last watcher does.
#[derive(Debug, Default)]
struct Fanout {
    channels: Mutex<HashMap<UserId, broadcast::Sender<Feed>>>,
}

impl Fanout {
    fn channels(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, broadcast::Sender<Feed>>> {
        // Nothing panics while holding the lock, and the map stays valid if it did.
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn has_watchers(&self, user_id: &UserId) -> bool {
        self.channels().contains_key(user_id)
    }

    fn send(&self, user_id: &UserId, feed: Feed) {
        if let Some(sender) = self.channels().get(user_id) {
            // Its watchers may all have just gone; that is not an error.
            let _ = sender.send(feed);
        }
    }

    fn send_change(&self, change: Change) {
        let user_id = change.user_id.clone();
        self.send(&user_id, Feed::Change(Arc::new(change)));
    }

    /// Tells every watcher on this replica to start over.
    fn send_all_missed(&self) {
        for sender in self.channels().values() {
            let _ = sender.send(Feed::Missed);
        }
    }
}

/// One open WatchTasks stream, for the `task_watch_streams_open` gauge.
struct OpenWatch;

impl OpenWatch {
    fn count() -> Self {
        metrics::gauge!("task_watch_streams_open").increment(1.0);
        Self
    }
}

impl Drop for OpenWatch {
    fn drop(&mut self) {
        metrics::gauge!("task_watch_streams_open").decrement(1.0);
    }
}

/// One watcher's view of its user's changes.
#[derive(Debug)]
pub struct Subscription {
    receiver: broadcast::Receiver<Feed>,
    user_id: UserId,
    fanout: Arc<Fanout>,
}

impl Subscription {
    /// The next change (or the end of the account), or `Lagged` when this
    /// watcher fell too far behind.
    pub async fn recv(&mut self) -> Result<Feed, RecvError> {
        self.receiver.recv().await
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut channels = self.fanout.channels();
        // Our own receiver is still counted here: one means we were the last.
        if channels
            .get(&self.user_id)
            .is_some_and(|sender| sender.receiver_count() <= 1)
        {
            channels.remove(&self.user_id);
        }
    }
}

/// The feed: publish changes, subscribe to a user's.
#[derive(Debug, Clone)]
pub struct Events {
    fanout: Arc<Fanout>,
    /// With PostgreSQL, changes travel through NOTIFY (and come back through
    /// this replica's own listener too); without, straight to the watchers.
    notify: Option<Store>,
    listener: Option<Arc<tokio::task::JoinHandle<()>>>,
}

impl Events {
    /// An in-process feed (SQLite: one process owns the database file).
    pub fn in_process() -> Self {
        Self {
            fanout: Arc::default(),
            notify: None,
            listener: None,
        }
    }

    /// A feed shared by every replica on the PostgreSQL database at `url`.
    pub async fn postgres(url: &str, store: Store) -> Result<Self, sqlx::Error> {
        let fanout = Arc::<Fanout>::default();
        let mut listener = PgListener::connect(url).await?;
        listener.listen(CHANNEL).await?;
        let task = tokio::spawn(relay(listener, store.clone(), fanout.clone()));
        Ok(Self {
            fanout,
            notify: Some(store),
            listener: Some(Arc::new(task)),
        })
    }

    /// The changes to `user_id`'s tasks from now on.
    pub fn subscribe(&self, user_id: &UserId) -> Subscription {
        let receiver = self
            .fanout
            .channels()
            .entry(user_id.clone())
            .or_insert_with(|| broadcast::channel(BUFFER).0)
            .subscribe();
        Subscription {
            receiver,
            user_id: user_id.clone(),
            fanout: self.fanout.clone(),
        }
    }

    /// `user`'s changes from now on, as one watcher's stream. It ends with
    /// UNAUTHENTICATED once `validator` refuses the session (checked every
    /// `WATCH_RECHECK`) or at once when the account is deleted, and with
    /// ABORTED (`FellBehind`) when the watcher falls too far behind, with
    /// UNAVAILABLE (`ChangesMissed`) when changes may have gone by unheard; it
    /// ends quietly when the client goes away.
    pub fn watch(
        &self,
        user: VerifiedUser,
        validator: TokenValidator,
    ) -> impl Stream<Item = Result<Arc<Change>, Error>> + Send + 'static {
        // Subscribed before returning, so no change made after the call is missed.
        let mut changes = self.subscribe(&UserId::new(user.user_id.clone()));
        let (sender, receiver) = mpsc::channel(WATCH_QUEUE);
        tokio::spawn(async move {
            let _open = OpenWatch::count();
            let mut recheck = tokio::time::interval(WATCH_RECHECK);
            loop {
                let outcome: Result<Option<Arc<Change>>, Error> = tokio::select! {
                    () = sender.closed() => return,
                    change = changes.recv() => match change {
                        Ok(Feed::Change(change)) => Ok(Some(change)),
                        Ok(Feed::AccountDeleted) => Err(Error::unauthenticated(ACCOUNT_DELETED)),
                        Ok(Feed::Missed) => Err(Error::ChangesMissed),
                        Err(RecvError::Lagged(missed)) => {
                            metrics::counter!("task_watchers_dropped_total", "reason" => "slow").increment(1);
                            Err(Error::FellBehind(missed))
                        }
                        Err(RecvError::Closed) => return,
                    },
                    _ = recheck.tick() => match validator.validate(&user.access_token, None).await {
                        Err(error @ Error::Unauthenticated(_)) => Err(error),
                        // The auth service being briefly away does not end a watch.
                        _ => Ok(None),
                    },
                };
                match outcome {
                    Ok(None) => {}
                    Ok(Some(change)) => {
                        // A full queue waits here; meanwhile the broadcast
                        // buffer fills, and a watcher that stays behind is told so.
                        if sender.send(Ok(change)).await.is_err() {
                            return;
                        }
                    }
                    Err(error) => {
                        let _ = sender.send(Err(error)).await;
                        return;
                    }
                }
            }
        });
        ReceiverStream::new(receiver)
    }

    /// Publishes a change that has been committed. A failure to publish is
    /// logged, not returned: the write itself succeeded.
    pub async fn publish(&self, kind: Kind, task: &Task) {
        match &self.notify {
            None => {
                let change = Change {
                    user_id: task.user_id.clone(),
                    task_id: task.id.clone(),
                    kind,
                    task: (kind != Kind::Deleted).then(|| task.clone()),
                };
                self.fanout.send_change(change);
            }
            Some(store) => {
                let notice = Notice {
                    user_id: task.user_id.as_str().to_owned(),
                    task_id: task.id.as_str().to_owned(),
                    kind,
                };
                let payload = serde_json::to_string(&notice).unwrap_or_default();
                if let Err(error) = store.notify(CHANNEL, &payload).await {
                    tracing::warn!(%error, "cannot notify watchers of a change");
                }
            }
        }
    }

    /// Ends every watch of `user_id` on this replica with UNAUTHENTICATED
    /// ("the account was deleted"). Each replica does this for its own
    /// watchers as it learns of the deletion, so it does not go through NOTIFY.
    pub fn end_user(&self, user_id: &UserId) {
        self.fanout.send(user_id, Feed::AccountDeleted);
    }

    /// Stops the PostgreSQL listener, if any.
    pub fn stop(&self) {
        if let Some(listener) = &self.listener {
            listener.abort();
        }
    }
}

/// Reads NOTIFY messages and hands each change, with its task, to this
/// replica's watchers. A change whose task cannot be read, or any that went
/// by while the listener had lost its connection, cannot be passed on: the
/// watchers concerned are told to start over (UNAVAILABLE), so their clients
/// list again instead of missing it for good.
async fn relay(mut listener: PgListener, store: Store, fanout: Arc<Fanout>) {
    loop {
        let notification = match listener.try_recv().await {
            Ok(Some(notification)) => notification,
            // The connection is gone (Ok(None)), or reconnecting failed.
            Ok(None) | Err(_) => {
                listen_again(&mut listener, &fanout).await;
                continue;
            }
        };
        let Ok(notice) = serde_json::from_str::<Notice>(notification.payload()) else {
            tracing::warn!(channel = CHANNEL, "ignoring a malformed change notice");
            continue;
        };
        // Sent by a replica of this service from a task it had just written.
        let user_id = UserId::new(notice.user_id);
        let task_id = TaskId::from_stored(notice.task_id);
        // Most changes concern users with no watcher on this replica: no need to read their tasks.
        if !fanout.has_watchers(&user_id) {
            continue;
        }
        let task = match notice.kind {
            Kind::Deleted => None,
            Kind::Created | Kind::Updated => {
                match store.get(&user_id, &task_id).await {
                    Ok(Some(task)) => Some(task),
                    // Deleted since; its own notice follows.
                    Ok(None) => continue,
                    Err(error) => {
                        tracing::warn!(%error, "cannot read a changed task; its watchers start over");
                        fanout.send(&user_id, Feed::Missed);
                        continue;
                    }
                }
            }
        };
        let change = Change {
            user_id,
            task_id,
            kind: notice.kind,
            task,
        };
        fanout.send_change(change);
    }
}

/// After the listener lost its connection: connects and listens again
/// (retrying until the database answers), then tells every watcher here to
/// start over, since what was NOTIFYed meanwhile is gone. Only once it
/// listens again, so a client that reopens its watch and lists hears every
/// change made after its list.
async fn listen_again(listener: &mut PgListener, fanout: &Fanout) {
    tracing::warn!(
        channel = CHANNEL,
        "lost the change listener; listening again"
    );
    // Any statement through the listener reconnects it and re-issues its LISTEN.
    while let Err(error) = sqlx::query("SELECT 1").execute(&mut *listener).await {
        tracing::debug!(%error, channel = CHANNEL, "cannot listen yet; retrying");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    tracing::info!(
        channel = CHANNEL,
        "listening for changes again; this replica's watchers start over"
    );
    fanout.send_all_missed();
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::task::{Description, Priority, Tags, TaskTitle};

    fn user(id: &str) -> UserId {
        UserId::new(id.into())
    }

    async fn next_change(subscription: &mut Subscription) -> Arc<Change> {
        match subscription.recv().await.unwrap() {
            Feed::Change(change) => change,
            other => panic!("{other:?} instead of a change"),
        }
    }

    fn task(user_id: &str, id: &str) -> Task {
        Task {
            id: TaskId::from_stored(id.into()),
            user_id: user(user_id),
            title: TaskTitle::from_stored("a task".into()),
            description: Description::from_stored(String::new()),
            completed: false,
            priority: Priority::Medium,
            tags: Tags::default(),
            due_time: None,
            create_time: 0,
            update_time: 0,
            complete_time: None,
            etag: "e".into(),
        }
    }

    #[tokio::test]
    async fn a_watcher_gets_only_its_users_changes() {
        let events = Events::in_process();
        let mut ada = events.subscribe(&user("ada"));
        let mut bob = events.subscribe(&user("bob"));
        events.publish(Kind::Created, &task("bob", "b1")).await;
        events.publish(Kind::Created, &task("ada", "a1")).await;
        assert_eq!(next_change(&mut ada).await.task_id.as_str(), "a1");
        assert_eq!(next_change(&mut bob).await.task_id.as_str(), "b1");
        assert!(ada.receiver.is_empty(), "ada saw bob's change");
    }

    #[tokio::test]
    async fn another_users_burst_does_not_push_a_watcher_behind() {
        let events = Events::in_process();
        let mut ada = events.subscribe(&user("ada"));
        let _bob = events.subscribe(&user("bob"));
        for i in 0..BUFFER * 2 {
            events
                .publish(Kind::Created, &task("bob", &i.to_string()))
                .await;
        }
        events.publish(Kind::Created, &task("ada", "a1")).await;
        assert_eq!(next_change(&mut ada).await.task_id.as_str(), "a1");
    }

    #[tokio::test]
    async fn ending_a_user_reaches_only_that_users_watchers() {
        let events = Events::in_process();
        let mut ada = events.subscribe(&user("ada"));
        let mut bob = events.subscribe(&user("bob"));
        events.end_user(&user("ada"));
        events.publish(Kind::Created, &task("bob", "b1")).await;
        assert!(matches!(ada.recv().await, Ok(Feed::AccountDeleted)));
        assert_eq!(next_change(&mut bob).await.task_id.as_str(), "b1");
        // Nobody watching: nothing to end, quietly.
        events.end_user(&user("carol"));
    }

    /// Ended by the account event itself, not by the session re-check: the
    /// validator here can reach no auth service, so the re-check never refuses.
    #[tokio::test]
    async fn a_watch_of_a_deleted_account_ends_unauthenticated_at_once() {
        use tokio_stream::StreamExt;
        let events = Events::in_process();
        let validator = TokenValidator::new(
            crate::auth_upstream(&["http://127.0.0.1:9".to_owned()], None).unwrap(),
            Duration::from_secs(3600),
        );
        let ada = VerifiedUser {
            user_id: "ada".into(),
            session_id: "s".into(),
            access_token: "t".into(),
        };
        let mut watch = Box::pin(events.watch(ada, validator));
        events.end_user(&user("ada"));
        let ended = tokio::time::timeout(Duration::from_secs(5), watch.next())
            .await
            .expect("the watch went on")
            .expect("an error, not the end of the stream");
        assert!(
            matches!(&ended, Err(Error::Unauthenticated(message)) if message == ACCOUNT_DELETED),
            "{ended:?}"
        );
    }

    #[tokio::test]
    async fn a_users_channel_goes_with_its_last_watcher() {
        let events = Events::in_process();
        let first = events.subscribe(&user("ada"));
        let second = events.subscribe(&user("ada"));
        drop(first);
        assert!(events.fanout.has_watchers(&user("ada")));
        drop(second);
        assert!(!events.fanout.has_watchers(&user("ada")));
        // A change with nobody watching goes nowhere, quietly.
        events.publish(Kind::Updated, &task("ada", "a1")).await;
        let mut again = events.subscribe(&user("ada"));
        events.publish(Kind::Deleted, &task("ada", "a1")).await;
        let change = next_change(&mut again).await;
        assert_eq!((change.kind, change.task.is_none()), (Kind::Deleted, true));
    }
}
