//! Places for work one person may hold several of at once, up to a limit per person and one
//! in all: archives being written (a download asks for its place at once and is refused when
//! none is free; a data export waits for one) and live event streams.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::domain::ids::UserId;

/// Why no place was free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    /// The person holds this many already, their limit.
    Person(usize),
    /// Every place of the instance is taken.
    Instance,
}

/// The places; share them behind an `Arc`.
#[derive(Debug)]
pub struct Places {
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
pub struct Place {
    places: Arc<Places>,
    owner: UserId,
}

impl Places {
    /// `per_person` places for each person, `total` on the whole instance (both at least 1;
    /// `usize::MAX` for no limit in all).
    pub fn new(per_person: usize, total: usize) -> Arc<Places> {
        Arc::new(Places { per_person: per_person.max(1), total: total.max(1), taken: Mutex::default(), freed: Notify::new() })
    }

    /// A place for `owner`, now or not at all.
    pub fn claim(self: &Arc<Self>, owner: UserId) -> Result<Place, Busy> {
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
        Ok(Place { places: self.clone(), owner })
    }

    /// A place for `owner`, waiting (in no particular order) until one is free.
    pub async fn wait_for(self: &Arc<Self>, owner: UserId) -> Place {
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

    /// Places taken now, on the whole instance.
    pub fn in_use(&self) -> usize {
        self.lock().total
    }

    /// Places `owner` holds now.
    pub fn held_by(&self, owner: UserId) -> usize {
        self.lock().by_person.get(&owner).copied().unwrap_or(0)
    }

    /// The most one person may hold.
    pub fn per_person(&self) -> usize {
        self.per_person
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Taken> {
        self.taken.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut taken = self.places.lock();
        taken.total -= 1;
        if let Some(mine) = taken.by_person.get_mut(&self.owner) {
            *mine -= 1;
            if *mine == 0 {
                taken.by_person.remove(&self.owner);
            }
        }
        drop(taken);
        self.places.freed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_limited_per_person_and_in_all_and_come_back_when_dropped() {
        let slots = Places::new(2, 3);
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
        assert_eq!((slots.held_by(ada), slots.held_by(cy)), (1, 1));
    }

    #[tokio::test]
    async fn waiting_for_a_place_ends_when_one_is_freed() {
        let slots = Places::new(1, 1);
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
