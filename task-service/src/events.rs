//! The live change feed behind WatchTasks. Writers publish each change; every
//! watcher gets it through a bounded broadcast, so a slow watcher never holds
//! a writer back. On SQLite the feed is in-process; on PostgreSQL changes go
//! through LISTEN/NOTIFY, so every replica's watchers see every replica's writes.

use std::{sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};
use sqlx::postgres::PgListener;
use tokio::sync::broadcast;

use crate::{store::Store, task::Task};

const CHANNEL: &str = "task_events";
/// Events a watcher may fall behind by before it is told to start over.
const BUFFER: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    Created,
    Updated,
    Deleted,
}

/// One change to one user's task. For `Deleted`, `task` is `None`.
#[derive(Clone, Debug)]
pub struct Change {
    pub user_id: String,
    pub task_id: String,
    pub kind: Kind,
    pub task: Option<Task>,
}

/// What goes through NOTIFY: ids only, because payloads are limited to 8000
/// bytes; each listening replica reads the task itself.
#[derive(Serialize, Deserialize)]
struct Notice {
    user_id: String,
    task_id: String,
    kind: Kind,
}

/// The feed: publish changes, subscribe to them.
#[derive(Debug, Clone)]
pub struct Events {
    sender: broadcast::Sender<Arc<Change>>,
    /// With PostgreSQL, changes travel through NOTIFY (and come back through
    /// this replica's own listener too); without, straight to the broadcast.
    notify: Option<Store>,
    listener: Option<Arc<tokio::task::JoinHandle<()>>>,
}

impl Events {
    /// An in-process feed (SQLite: one process owns the database file).
    pub fn in_process() -> Self {
        let (sender, _) = broadcast::channel(BUFFER);
        Self {
            sender,
            notify: None,
            listener: None,
        }
    }

    /// A feed shared by every replica on the PostgreSQL database at `url`.
    pub async fn postgres(url: &str, store: Store) -> Result<Self, sqlx::Error> {
        let (sender, _) = broadcast::channel(BUFFER);
        let mut listener = PgListener::connect(url).await?;
        listener.listen(CHANNEL).await?;
        let task = tokio::spawn(relay(listener, store.clone(), sender.clone()));
        Ok(Self {
            sender,
            notify: Some(store),
            listener: Some(Arc::new(task)),
        })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.sender.subscribe()
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
                // No subscribers is not an error.
                let _ = self.sender.send(Arc::new(change));
            }
            Some(store) => {
                let notice = Notice {
                    user_id: task.user_id.clone(),
                    task_id: task.id.clone(),
                    kind,
                };
                let payload = serde_json::to_string(&notice).unwrap_or_default();
                if let Err(error) = store.notify(&payload).await {
                    tracing::warn!(%error, "cannot notify watchers of a change");
                }
            }
        }
    }

    /// Stops the PostgreSQL listener, if any.
    pub fn stop(&self) {
        if let Some(listener) = &self.listener {
            listener.abort();
        }
    }
}

/// Reads NOTIFY messages and hands each change, with its task, to this
/// replica's watchers. `PgListener` reconnects by itself after a failure.
async fn relay(mut listener: PgListener, store: Store, sender: broadcast::Sender<Arc<Change>>) {
    loop {
        let notification = match listener.recv().await {
            Ok(notification) => notification,
            Err(error) => {
                tracing::warn!(%error, "lost the task_events listener; reconnecting");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        let Ok(notice) = serde_json::from_str::<Notice>(notification.payload()) else {
            tracing::warn!("ignoring a malformed task_events notice");
            continue;
        };
        let task = match notice.kind {
            Kind::Deleted => None,
            Kind::Created | Kind::Updated => {
                match store.get(&notice.user_id, &notice.task_id).await {
                    Ok(Some(task)) => Some(task),
                    // Deleted since; its own notice follows.
                    Ok(None) => continue,
                    Err(error) => {
                        tracing::warn!(%error, "cannot read a changed task for its watchers");
                        continue;
                    }
                }
            }
        };
        let change = Change {
            user_id: notice.user_id,
            task_id: notice.task_id,
            kind: notice.kind,
            task,
        };
        let _ = sender.send(Arc::new(change));
    }
}
