//! Follows the auth service's account events (`AccountEventService/
//! WatchAccountEvents`, on the same `AUTH_URL` as token validation) and acts
//! on each. For a deleted account this replica first refuses the user's
//! tokens and ends their watches, then purges the user's tasks.
//!
//! The position in the stream (the cursor) lives in the task database and
//! moves in the transaction that purges, so:
//! - a replica that was down, or lost the stream, resumes from the cursor:
//!   an account deleted meanwhile is purged when it is back, none is missed;
//! - an event handled already (before a crash, or by another replica on the
//!   same database) deletes nothing when it comes again, and every replica
//!   still clears its own in-memory state for it;
//! - replicas sharing a database purge each account once between them.
//!
//! While the auth service is away, purges wait: the follower reconnects with
//! backoff, and says so in the log once per outage, not once per attempt.

use std::time::Duration;

use proto::auth::v1::{
    AccountEvent, WatchAccountEventsRequest, account_event,
    account_event_service_client::AccountEventServiceClient,
};
use rand::Rng;
use service_runtime::upstream::Upstream;

use crate::{auth_layer::TokenValidator, error::Error, events::Events, store::Store, task::UserId};

/// The first wait before reconnecting, doubled after each failure up to the longest.
const FIRST_RETRY: Duration = Duration::from_millis(200);
const LONGEST_RETRY: Duration = Duration::from_secs(5);

/// Why following stopped for a while.
#[derive(Debug, thiserror::Error)]
enum Interruption {
    #[error("the auth service: {0}")]
    Auth(tonic::Status),
    #[error("the auth service ended the stream")]
    Ended,
    #[error("the task database: {0}")]
    Database(Error),
}

/// The follower of one task service replica.
#[derive(Debug)]
pub struct Follower {
    client: AccountEventServiceClient<Upstream>,
    store: Store,
    events: Events,
    validator: TokenValidator,
    /// Whether the current interruption has been logged at warn level.
    interrupted: bool,
    retry: Duration,
}

impl Follower {
    /// A follower of the auth service's replicas of `auth`, acting on
    /// `store`, the watches of `events` and the answers of `validator`. It
    /// connects when run.
    pub fn new(auth: Upstream, store: Store, events: Events, validator: TokenValidator) -> Self {
        Self {
            client: AccountEventServiceClient::new(auth),
            store,
            events,
            validator,
            interrupted: false,
            retry: FIRST_RETRY,
        }
    }

    /// Follows the events for good; the caller drops (or aborts) it to stop.
    pub async fn run(mut self) {
        loop {
            let interruption = self.follow().await;
            if self.interrupted {
                tracing::debug!(error = %interruption, "still cannot follow account events; retrying");
            } else {
                tracing::warn!(
                    error = %interruption,
                    "cannot follow the auth service's account events; deleted accounts are purged once it works again (retrying with backoff)"
                );
                self.interrupted = true;
            }
            // Jittered, so replicas that lost the auth service together do
            // not come back in step.
            let wait = self.retry.mul_f64(rand::rng().random_range(0.5..=1.0));
            tokio::time::sleep(wait).await;
            self.retry = self.retry.saturating_mul(2).min(LONGEST_RETRY);
        }
    }

    /// Opens the stream from the stored cursor and handles its events until
    /// something interrupts it.
    async fn follow(&mut self) -> Interruption {
        let cursor = match self.store.account_event_cursor().await {
            Ok(cursor) => cursor,
            Err(error) => return Interruption::Database(error),
        };
        let request = WatchAccountEventsRequest { after: cursor };
        let mut stream = match self.client.watch_account_events(request).await {
            Ok(response) => response.into_inner(),
            Err(status) => return Interruption::Auth(status),
        };
        if self.interrupted {
            tracing::info!(cursor, "following the auth service's account events again");
        } else {
            tracing::debug!(cursor, "following the auth service's account events");
        }
        self.interrupted = false;
        self.retry = FIRST_RETRY;
        loop {
            let event = match stream.message().await {
                Ok(Some(response)) => response.event,
                Ok(None) => return Interruption::Ended,
                Err(status) => return Interruption::Auth(status),
            };
            // An answer without an event carries no sequence to move past.
            let Some(event) = event else { continue };
            if let Err(error) = self.handle(event).await {
                return Interruption::Database(error);
            }
        }
    }

    /// Acts on one event. A failure leaves the cursor before it, so the
    /// event comes again after the reconnection.
    async fn handle(&self, event: AccountEvent) -> Result<(), Error> {
        let sequence = event.sequence;
        match event.kind() {
            account_event::Kind::AccountDeleted => {
                let user = UserId::new(event.user_id);
                // This replica's own state first, whichever replica purges.
                self.validator.forget_user(user.as_str()).await;
                self.events.end_user(&user);
                match self.store.purge_user(&user, sequence).await? {
                    Some(tasks) => tracing::info!(
                        user_id = user.as_str(),
                        sequence,
                        tasks,
                        "account deleted: its tasks are purged"
                    ),
                    None => tracing::debug!(
                        user_id = user.as_str(),
                        sequence,
                        "account deletion handled already"
                    ),
                }
            }
            // A kind newer than this version: nothing to do but move past it.
            account_event::Kind::Unspecified => {
                self.store.skip_account_event(sequence).await?;
                tracing::debug!(sequence, "skipped an account event of an unknown kind");
            }
        }
        Ok(())
    }
}
