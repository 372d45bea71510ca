//! The cap on WatchTasks streams per user on this replica. Each open stream
//! holds a `WatchSlot`; dropping the stream (it ended, or the client went
//! away) drops the slot and frees it. One user's streams then cannot use up
//! a replica's memory and connections for everyone else.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use crate::{error::Error, task::UserId};

/// Open streams by user, and how many each may have.
#[derive(Debug)]
pub struct WatchSlots {
    max_per_user: usize,
    open: Arc<Mutex<HashMap<UserId, usize>>>,
}

impl WatchSlots {
    pub fn new(max_per_user: usize) -> Self {
        Self {
            max_per_user,
            open: Arc::default(),
        }
    }

    /// A slot for one more of `user`'s streams, or RESOURCE_EXHAUSTED when
    /// they have all theirs open.
    pub fn acquire(&self, user: &UserId) -> Result<WatchSlot, Error> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(user.clone()).or_default();
        if *count >= self.max_per_user {
            // A zero limit must not leave an empty entry behind.
            if *count == 0 {
                open.remove(user);
            }
            return Err(Error::TooManyWatches(self.max_per_user));
        }
        *count += 1;
        Ok(WatchSlot {
            user: user.clone(),
            open: Arc::clone(&self.open),
        })
    }
}

/// One open stream's place; freed on drop.
#[derive(Debug)]
pub struct WatchSlot {
    user: UserId,
    open: Arc<Mutex<HashMap<UserId, usize>>>,
}

impl Drop for WatchSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_per_user_and_freed_on_drop() {
        let slots = WatchSlots::new(2);
        let (ada, bob) = (UserId::new("ada".into()), UserId::new("bob".into()));
        let first = slots.acquire(&ada).unwrap();
        let _second = slots.acquire(&ada).unwrap();
        assert!(matches!(slots.acquire(&ada), Err(Error::TooManyWatches(2))));
        assert!(slots.acquire(&bob).is_ok(), "another user is not affected");
        drop(first);
        assert!(slots.acquire(&ada).is_ok());
    }
}
