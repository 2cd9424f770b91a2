//! Limits per personal API token, in memory (a restart forgives): requests per minute as a
//! token bucket keyed by token id, and generations submitted with the token that have not
//! finished yet. Browser sessions are not limited here. No store write per request.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::ApiConfig;
use crate::domain::auth::ApiToken;
use crate::domain::generation::Generation;
use crate::domain::ids::{GenerationId, TokenId};
use crate::domain::user::User;
use crate::services::privacy::audit::Context;
use crate::services::state::AppState;
use crate::services::studio::generations::NewGeneration;
use crate::services::{ServiceError, ServiceResult};
use crate::store;

/// The window the request limit is counted over.
pub const WINDOW: Duration = Duration::from_secs(60);
/// What a refused submit is told to wait: a job's end cannot be predicted, so a short hint.
pub const JOBS_RETRY_AFTER: Duration = Duration::from_secs(5);
/// Above this many tracked tokens, full (idle) buckets are swept.
const SWEEP_ABOVE: usize = 10_000;

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    RequestsPerMinute,
    ConcurrentJobs,
}

/// One token's bucket: how many requests it may still make, as of `at`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// One token's unfinished generations, and the submits in progress that reserved a slot.
#[derive(Debug, Default)]
struct Jobs {
    active: HashSet<GenerationId>,
    reserved: u32,
}

/// Every token's unfinished generations, shared with the job slots that count them.
type SharedJobs = Arc<Mutex<HashMap<TokenId, Jobs>>>;

/// The limiter kept in the app state.
pub struct RateLimits {
    config: ApiConfig,
    buckets: Mutex<HashMap<TokenId, Bucket>>,
    jobs: SharedJobs,
    /// Added to the monotonic clock: lets tests pass a window without sleeping.
    skipped_ms: AtomicU64,
}

impl RateLimits {
    pub fn new(config: ApiConfig) -> RateLimits {
        RateLimits { config, buckets: Mutex::default(), jobs: Arc::default(), skipped_ms: AtomicU64::new(0) }
    }

    /// The limiter's clock.
    pub fn now(&self) -> Instant {
        Instant::now() + Duration::from_millis(self.skipped_ms.load(Ordering::Relaxed))
    }

    /// Moves the limiter's clock forward (tests: a refill without a minute's sleep).
    pub fn skip(&self, by: Duration) {
        self.skipped_ms.fetch_add(u64::try_from(by.as_millis()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Counts one request of `token` (its own limit, else the instance's); refused with the
    /// wait when its bucket is empty.
    pub fn check_request(&self, token: &ApiToken) -> ServiceResult<()> {
        let limit = token.limits.requests_per_minute.unwrap_or(self.config.requests_per_minute);
        take(&mut self.buckets.lock().unwrap_or_else(|p| p.into_inner()), token.id, limit, self.now())
            .map_err(|retry_after| ServiceError::RateLimited { limit: Limit::RequestsPerMinute, allowed: limit, retry_after })
    }

    /// The unfinished generations `token` has, as far as this process knows.
    fn tracked(&self, token: TokenId) -> Vec<GenerationId> {
        let jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        jobs.get(&token).map(|j| j.active.iter().copied().collect()).unwrap_or_default()
    }

    /// Forgets finished generations, then reserves a job slot or refuses.
    fn reserve(&self, token: &ApiToken, finished: &[GenerationId]) -> ServiceResult<JobSlot> {
        let limit = token.limits.concurrent_jobs.unwrap_or(self.config.concurrent_jobs);
        let token = token.id;
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        let entry = jobs.entry(token).or_default();
        for id in finished {
            entry.active.remove(id);
        }
        if entry.active.len() + entry.reserved as usize >= limit as usize {
            return Err(ServiceError::RateLimited { limit: Limit::ConcurrentJobs, allowed: limit, retry_after: JOBS_RETRY_AFTER });
        }
        entry.reserved += 1;
        Ok(JobSlot { place: Some((self.jobs.clone(), token)), filled: false })
    }
}

/// Takes one request from `token`'s bucket (capacity `limit`, refilled over [`WINDOW`]), or
/// says how long until one is there.
fn take(buckets: &mut HashMap<TokenId, Bucket>, token: TokenId, limit: u32, now: Instant) -> Result<(), Duration> {
    let capacity = f64::from(limit);
    let per_second = capacity / WINDOW.as_secs_f64();
    if buckets.len() > SWEEP_ABOVE {
        buckets.retain(|_, b| b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * per_second < capacity);
    }
    let bucket = buckets.entry(token).or_insert(Bucket { tokens: capacity, at: now });
    let refilled = now.saturating_duration_since(bucket.at).as_secs_f64() * per_second;
    bucket.tokens = (bucket.tokens + refilled).min(capacity);
    bucket.at = now;
    if bucket.tokens >= 1.0 {
        bucket.tokens -= 1.0;
        return Ok(());
    }
    Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
}

/// A place for one generation: reserved among a token's unfinished generations, or
/// [`JobSlot::unlimited`] for a browser session. [`JobSlot::submit`] submits through it and
/// counts the generation against the token until it finishes; dropping it unused (a refused
/// submit) gives the place back.
pub struct JobSlot {
    /// The token's place; `None` when nothing is counted.
    place: Option<(SharedJobs, TokenId)>,
    filled: bool,
}

impl JobSlot {
    /// No place to count: a browser session's submits are not limited here.
    pub fn unlimited() -> JobSlot {
        JobSlot { place: None, filled: false }
    }

    /// Submits `request` as `user`'s generation and counts it in this place.
    pub async fn submit(self, state: &AppState, ctx: &Context, user: &User, request: NewGeneration) -> ServiceResult<Generation> {
        let g = crate::services::studio::generations::submit(state, ctx, user, request).await?;
        self.hold(g.id);
        Ok(g)
    }

    /// Counts `generation` against the token until it finishes.
    fn hold(mut self, generation: GenerationId) {
        if let Some((jobs, token)) = &self.place {
            let mut jobs = jobs.lock().unwrap_or_else(|p| p.into_inner());
            let entry = jobs.entry(*token).or_default();
            entry.reserved = entry.reserved.saturating_sub(1);
            entry.active.insert(generation);
        }
        self.filled = true;
    }
}

impl Drop for JobSlot {
    fn drop(&mut self) {
        if self.filled {
            return;
        }
        if let Some((jobs, token)) = &self.place {
            let mut jobs = jobs.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(entry) = jobs.get_mut(token) {
                entry.reserved = entry.reserved.saturating_sub(1);
            }
        }
    }
}

/// Reserves a job slot for a submit made with `token`, before anything is held or sent.
/// The generations the token is known to have started are looked up in the store, so one
/// that finished (however it ended) frees its place without relying on any event.
pub async fn reserve_job(state: &AppState, token: &ApiToken) -> ServiceResult<JobSlot> {
    let tracked = state.rate_limits.tracked(token.id);
    let finished = if tracked.is_empty() {
        Vec::new()
    } else {
        // a few rows (at most the token's limit), read on the calling thread: cheaper than a
        // trip to the blocking pool. An awaited job is in memory until its first change:
        // unfinished, though not stored.
        state.store.read_now(|tx| {
            let mut finished = Vec::new();
            for id in tracked {
                if state.lifecycle.is_awaited(id) {
                    continue;
                }
                if store::generations::get(tx, id)?.is_none_or(|g| g.state.is_terminal()) {
                    finished.push(id);
                }
            }
            Ok::<_, ServiceError>(finished)
        })?
    };
    state.rate_limits.reserve(token, &finished)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(rpm: u32, jobs: u32) -> RateLimits {
        RateLimits::new(ApiConfig { requests_per_minute: rpm, concurrent_jobs: jobs })
    }

    fn token(limits: crate::domain::auth::TokenLimits) -> ApiToken {
        ApiToken {
            id: TokenId::generate(),
            user: crate::domain::ids::UserId::generate(),
            name: "t".into(),
            created_at: crate::domain::time::Timestamp::now(),
            expires_at: None,
            last_used: None,
            revoked_at: None,
            prefix: "rv_test".into(),
            limits,
        }
    }

    #[test]
    fn a_bucket_empties_after_its_limit_and_refills_over_the_window() {
        let l = limits(3, 1);
        let (a, b) = (&token(Default::default()), &token(Default::default()));
        for _ in 0..3 {
            l.check_request(a).unwrap();
        }
        let Err(ServiceError::RateLimited { retry_after, allowed: 3, limit: Limit::RequestsPerMinute }) = l.check_request(a) else {
            panic!("the fourth request must be refused");
        };
        assert!(retry_after > Duration::from_secs(19) && retry_after <= Duration::from_secs(20), "{retry_after:?}");
        l.check_request(b).unwrap();
        l.skip(Duration::from_secs(20));
        l.check_request(a).unwrap();
        assert!(l.check_request(a).is_err());
        l.skip(WINDOW);
        for _ in 0..3 {
            l.check_request(a).unwrap();
        }
        assert!(l.check_request(a).is_err(), "a long pause refills to the limit, not beyond");
    }

    #[test]
    fn job_slots_are_reserved_held_and_given_back() {
        let l = limits(100, 2);
        let t = &token(Default::default());
        let first = l.reserve(t, &[]).unwrap();
        let second = l.reserve(t, &[]).unwrap();
        assert!(l.reserve(t, &[]).is_err(), "two reserved");
        drop(second);
        let g = GenerationId::generate();
        first.hold(g);
        let again = l.reserve(t, &[]).unwrap();
        assert!(l.reserve(t, &[]).is_err(), "one held, one reserved");
        drop(again);
        assert!(l.reserve(&token(Default::default()), &[]).is_ok(), "other tokens are unaffected");
        assert_eq!(l.tracked(t.id), vec![g]);
        let _a = l.reserve(t, &[g]).unwrap();
        let _b = l.reserve(t, &[]).unwrap();
        assert!(l.tracked(t.id).is_empty());
    }

    #[test]
    fn a_token_of_its_own_limits_uses_them_instead_of_the_defaults() {
        let l = limits(100, 100);
        let own = token(crate::domain::auth::TokenLimits { requests_per_minute: Some(2), concurrent_jobs: Some(1) });
        l.check_request(&own).unwrap();
        l.check_request(&own).unwrap();
        assert!(matches!(l.check_request(&own), Err(ServiceError::RateLimited { allowed: 2, .. })));
        let _slot = l.reserve(&own, &[]).unwrap();
        assert!(matches!(l.reserve(&own, &[]), Err(ServiceError::RateLimited { allowed: 1, .. })));
        let other = token(Default::default());
        for _ in 0..10 {
            l.check_request(&other).unwrap();
        }
    }
}
