//! Places for archives being written: at most so many on the whole instance and so many per
//! person at once. A download asks for its place at once and is refused when none is free
//! (the person is told to wait); background work (data exports) waits for one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::domain::ids::UserId;

/// Why no place was free.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Busy {
    #[error("you already have {0} archive(s) being written; wait for one to finish")]
    Person(usize),
    #[error("the instance is writing as many archives as it may at once; try again in a minute")]
    Instance,
}

/// The places; share them behind an `Arc`.
#[derive(Debug)]
pub struct ArchiveSlots {
    per_person: usize,
    total: usize,
    taken: Mutex<Taken>,
    freed: Notify,
}

#[derive(Debug, Default)]
struct Taken {
    total: usize,
    by_person: HashMap<UserId, usize>,
}

/// A place held; dropping it frees the place.
#[derive(Debug)]
pub struct Slot {
    slots: Arc<ArchiveSlots>,
    owner: UserId,
}

impl ArchiveSlots {
    /// `per_person` places for each person, `total` on the whole instance (both at least 1).
    pub fn new(per_person: usize, total: usize) -> Arc<ArchiveSlots> {
        Arc::new(ArchiveSlots { per_person: per_person.max(1), total: total.max(1), taken: Mutex::default(), freed: Notify::new() })
    }

    /// A place for an archive of `owner`'s, now or not at all.
    pub fn claim(self: &Arc<Self>, owner: UserId) -> Result<Slot, Busy> {
        let mut taken = self.lock();
        let mine = taken.by_person.get(&owner).copied().unwrap_or(0);
        if mine >= self.per_person {
            return Err(Busy::Person(mine));
        }
        if taken.total >= self.total {
            return Err(Busy::Instance);
        }
        taken.total += 1;
        *taken.by_person.entry(owner).or_default() += 1;
        Ok(Slot { slots: self.clone(), owner })
    }

    /// A place for an archive of `owner`'s, waiting (in no particular order) until one is free.
    pub async fn wait_for(self: &Arc<Self>, owner: UserId) -> Slot {
        loop {
            // registered before trying, so a place freed in between is not missed
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if let Ok(slot) = self.claim(owner) {
                return slot;
            }
            freed.await;
        }
    }

    /// Archives being written now, on the whole instance.
    pub fn in_use(&self) -> usize {
        self.lock().total
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Taken> {
        self.taken.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut taken = self.slots.lock();
        taken.total -= 1;
        if let Some(mine) = taken.by_person.get_mut(&self.owner) {
            *mine -= 1;
            if *mine == 0 {
                taken.by_person.remove(&self.owner);
            }
        }
        drop(taken);
        self.slots.freed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_limited_per_person_and_in_all_and_come_back_when_dropped() {
        let slots = ArchiveSlots::new(2, 3);
        let (ada, bob, cy) = (UserId::generate(), UserId::generate(), UserId::generate());
        let a1 = slots.claim(ada).unwrap();
        let _a2 = slots.claim(ada).unwrap();
        assert_eq!(slots.claim(ada).unwrap_err(), Busy::Person(2));
        let _b1 = slots.claim(bob).unwrap();
        assert_eq!(slots.claim(cy).unwrap_err(), Busy::Instance, "three places in all");
        assert_eq!(slots.in_use(), 3);
        drop(a1);
        assert_eq!(slots.in_use(), 2);
        let _c1 = slots.claim(cy).expect("a dropped place is free again");
    }

    #[tokio::test]
    async fn waiting_for_a_place_ends_when_one_is_freed() {
        let slots = ArchiveSlots::new(1, 1);
        let ada = UserId::generate();
        let held = slots.claim(ada).unwrap();
        let waiting = tokio::spawn({
            let slots = slots.clone();
            async move { slots.wait_for(UserId::generate()).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(held);
        let got = tokio::time::timeout(std::time::Duration::from_secs(10), waiting).await.expect("not stuck").unwrap();
        assert_eq!(slots.in_use(), 1);
        drop(got);
        assert_eq!(slots.in_use(), 0);
    }
}
