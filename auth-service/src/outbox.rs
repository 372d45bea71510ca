//! The sender: delivers what waits in the mail outbox, so an RPC only ever
//! writes a row and never waits for (or fails with) a mail server. A
//! message that cannot be delivered now is tried again with exponential
//! backoff until its code expires, so a mail server that is down delays mail
//! and loses none; one that refuses a message for good (an unknown mailbox)
//! has it dropped. Each replica runs a sender; claims are leased in the
//! database, so two never deliver the same message at once.

use std::{
    sync::{Arc, Weak},
    time::Duration,
};

use tokio::sync::Notify;

use crate::{
    clock::Clock,
    error::Error,
    mail::{DeliveryError, Transport},
    store::Store,
};

/// How long a claim holds a message: well past the SMTP timeout, so a
/// delivery in progress is never taken over; a sender that died releases
/// its message after this.
const LEASE_SECONDS: i64 = 120;

/// How often the outbox is looked at when nothing wakes the sender: for
/// retries that fall due and for mail written by other replicas.
const POLL: Duration = Duration::from_secs(1);

/// The first retry's wait; it doubles with each failure up to the maximum.
const FIRST_RETRY_SECONDS: i64 = 1;
const MAX_RETRY_SECONDS: i64 = 300;

/// Delivers the outbox's mail.
#[derive(Debug)]
pub struct Sender {
    store: Store,
    transport: Transport,
    clock: Clock,
}

impl Sender {
    pub fn new(store: Store, transport: Transport, clock: Clock) -> Self {
        Self {
            store,
            transport,
            clock,
        }
    }

    /// Claims and delivers one message that is due; false when none is.
    pub async fn send_next(&self) -> Result<bool, Error> {
        let now = self.clock.now();
        let claim = uuid::Uuid::new_v4().to_string();
        let Some(mail) = self
            .store
            .claim_mail(now, now + LEASE_SECONDS, &claim)
            .await?
        else {
            return Ok(false);
        };
        if mail.expire_time <= now {
            tracing::warn!(
                mail_id = %mail.id,
                attempts = mail.attempts,
                "mail dropped: its code expired before it could be delivered"
            );
            self.store.delete_mail(&mail).await?;
            delivery("expired");
            return Ok(true);
        }
        match self
            .transport
            .deliver(&mail.id, &mail.recipient, &mail.message)
            .await
        {
            Ok(destination) => {
                // Deleted at once: the message holds its code in clear.
                self.store.delete_mail(&mail).await?;
                delivery("delivered");
                tracing::info!(mail_id = %mail.id, %destination, "mail delivered");
            }
            Err(DeliveryError::Permanent(error)) => {
                self.store.delete_mail(&mail).await?;
                delivery("refused");
                tracing::warn!(mail_id = %mail.id, %error, "mail refused for good; dropped");
            }
            Err(DeliveryError::Transient(error)) => {
                delivery("retried");
                let attempts = mail.attempts + 1;
                let wait = retry_wait(attempts);
                self.store
                    .postpone_mail(&mail, attempts, now + wait)
                    .await?;
                tracing::warn!(
                    mail_id = %mail.id,
                    attempts,
                    retry_in_seconds = wait,
                    %error,
                    "mail not delivered; it stays in the outbox and is tried again"
                );
            }
        }
        Ok(true)
    }
}

/// Counts one attempt's outcome.
fn delivery(outcome: &'static str) {
    metrics::counter!("mail_deliveries_total", "outcome" => outcome).increment(1);
}

/// The wait before attempt `attempts + 1`: 1 s, doubling, at most 5 min.
fn retry_wait(attempts: i64) -> i64 {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 16)).unwrap_or(16);
    (FIRST_RETRY_SECONDS << doublings).min(MAX_RETRY_SECONDS)
}

/// Runs the sender until it is dropped (the server has stopped): whatever is
/// due is delivered, then it waits for `wake` (new mail in this process) or
/// the poll interval. A failure (the database is away) is logged and tried
/// again at the next poll.
pub fn spawn(sender: Weak<Sender>, wake: Arc<Notify>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let Some(strong) = sender.upgrade() else {
                return;
            };
            let sent = strong.send_next().await;
            match sent {
                Ok(true) => continue,
                // Idle: nothing is due, and what waits is the backlog.
                Ok(false) => match strong.store.mail_backlog().await {
                    Ok(backlog) => metrics::gauge!("mail_outbox_backlog").set(backlog as f64),
                    Err(error) => tracing::warn!(%error, "cannot count the mail outbox"),
                },
                Err(error) => tracing::warn!(%error, "the mail outbox is unreachable; retrying"),
            }
            drop(strong);
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_five_minutes() {
        let waits: Vec<i64> = (1..=11).map(retry_wait).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(retry_wait(i64::MAX), 300);
        assert_eq!(retry_wait(0), 1);
    }
}
