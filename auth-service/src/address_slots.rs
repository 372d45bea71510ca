//! Password checks in flight per client address. Hashing is the expensive
//! part of the service; one address may have only a few checks running or
//! waiting, so a flood from it is refused at once and cannot queue ahead of
//! everyone else. The map holds only addresses with checks in flight.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex, PoisonError},
};

/// The per-address counts.
#[derive(Clone, Debug)]
pub struct AddressSlots {
    in_flight: Arc<Mutex<HashMap<IpAddr, usize>>>,
    per_address: usize,
}

/// A slot held for one password check; dropping it frees the slot.
#[derive(Debug)]
pub struct Slot {
    slots: AddressSlots,
    address: IpAddr,
}

impl AddressSlots {
    pub fn new(per_address: usize) -> Self {
        Self {
            in_flight: Arc::default(),
            per_address: per_address.max(1),
        }
    }

    /// A slot for `address`, or `None` when it already has its share.
    pub fn try_take(&self, address: IpAddr) -> Option<Slot> {
        let address = address.to_canonical();
        let mut in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let count = in_flight.entry(address).or_insert(0);
        if *count >= self.per_address {
            return None;
        }
        *count += 1;
        Some(Slot {
            slots: self.clone(),
            address,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut in_flight = self
            .slots
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = in_flight.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                in_flight.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_gets_its_share_and_slots_come_back() {
        let slots = AddressSlots::new(2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = slots.try_take(a).unwrap();
        let second = slots.try_take(a).unwrap();
        assert!(slots.try_take(a).is_none());
        assert!(
            slots.try_take(b).is_some(),
            "another address is not affected"
        );
        drop(first);
        assert!(slots.try_take(a).is_some());
        drop(second);
        assert!(slots.in_flight.lock().unwrap().is_empty());
    }
}
