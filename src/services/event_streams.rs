//! Live event streams held per person: at most `limits.event_streams_per_person` at once,
//! each slot given back when its stream ends (finished, or its client went away).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::domain::ids::UserId;

/// The streams each person holds now.
#[derive(Debug)]
pub struct EventStreams {
    per_person: u32,
    held: Arc<Mutex<HashMap<UserId, u32>>>,
}

/// One open stream; dropping it frees the slot.
#[derive(Debug)]
pub struct StreamSlot {
    user: UserId,
    held: Arc<Mutex<HashMap<UserId, u32>>>,
}

impl EventStreams {
    /// At most `per_person` streams per person.
    pub fn new(per_person: u32) -> EventStreams {
        EventStreams { per_person, held: Arc::default() }
    }

    /// A slot for `user`, or `None` when they already hold as many streams as allowed.
    pub fn open(&self, user: UserId) -> Option<StreamSlot> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let count = held.entry(user).or_insert(0);
        if *count >= self.per_person {
            return None;
        }
        *count += 1;
        Some(StreamSlot { user, held: self.held.clone() })
    }

    /// How many streams `user` holds now.
    pub fn held_by(&self, user: UserId) -> u32 {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).get(&user).copied().unwrap_or(0)
    }

    /// The most one person may hold.
    pub fn per_person(&self) -> u32 {
        self.per_person
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = held.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_holds_at_most_the_limit_and_dropping_a_slot_frees_it() {
        let streams = EventStreams::new(2);
        let (me, other) = (UserId::generate(), UserId::generate());
        let first = streams.open(me).expect("first");
        let _second = streams.open(me).expect("second");
        assert!(streams.open(me).is_none());
        assert!(streams.open(other).is_some(), "another person has slots of their own");
        drop(first);
        assert_eq!(streams.held_by(me), 1);
        assert!(streams.open(me).is_some());
    }
}
