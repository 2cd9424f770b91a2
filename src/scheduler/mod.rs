//! The internal scheduler, as four workers: the ticker enqueues a retention sweep at each time
//! the `[schedule]` cron expression names, the discovery ticker a refresh of the models
//! connections' APIs list (a minute after start, then daily), the spending ticker the monthly
//! allowance renewal (at start, then at each month's start in the spending zone) and the
//! approval expiry sweep (every few minutes), and the scheduler runs queued jobs one at a time,
//! never inside a request. Requests and the admin socket enqueue too (through
//! `state.jobs.scheduled`), data exports among them. At shutdown the ticker stops and the
//! scheduler finishes its job (or is cut off after a grace period; an export is cut off at
//! once): every job is crash-safe, the next run finishes it.

use std::time::Duration;

use crate::domain::time::Timestamp;
use crate::services::privacy::audit;
use crate::services::state::AppState;
use crate::services::studio::approvals;
use crate::services::team::jobs::{Consumer, Job, Queue};
use crate::services::team::{discovery, spending};
use crate::services::{privacy::export, privacy::retention};
use crate::workers::{Context, Worker, WorkerResult};

/// How long shutdown waits for a job in progress.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// The scheduler's workers, in the order they stop: the tickers, then the job runner.
pub const WORKERS: [&str; 4] = [TICKER, DISCOVERY_TICKER, SPENDING_TICKER, RUNNER];
const TICKER: &str = "retention-schedule";
const DISCOVERY_TICKER: &str = "catalog-discovery";
const SPENDING_TICKER: &str = "spending-schedule";

/// How often unanswered approval requests are checked for expiry (and the month for a change).
const SPENDING_EVERY: Duration = Duration::from_secs(5 * 60);

/// When the first discovery refresh runs after start, and how often after it.
const DISCOVERY_FIRST: Duration = Duration::from_secs(60);
const DISCOVERY_EVERY: Duration = Duration::from_secs(24 * 3600);
const RUNNER: &str = "scheduler";

/// Starts the scheduler (and the ticker, when a schedule is configured) under the app's
/// supervisor; does nothing when it already runs.
pub fn start(state: &AppState) {
    let Some(jobs) = state.jobs.scheduled.consumer() else { return };
    let worker = state.clone();
    state.workers.spawn(Worker::new(RUNNER).grace(STOP_GRACE), move |ctx| work(worker.clone(), jobs.clone(), ctx));
    if let Some(schedule) = state.config.schedule.retention_schedule() {
        let jobs = state.jobs.clone();
        state.workers.spawn(Worker::new(TICKER), move |ctx| tick(schedule.clone(), jobs.scheduled.clone(), ctx));
    }
    let jobs = state.jobs.clone();
    state.workers.spawn(Worker::new(DISCOVERY_TICKER), move |ctx| tick_discovery(jobs.scheduled.clone(), ctx));
    let ticker = state.clone();
    state.workers.spawn(Worker::new(SPENDING_TICKER), move |ctx| tick_spending(ticker.clone(), ctx));
}

/// Enqueues the allowance renewal at start (catching up a month missed while the server was
/// off) and again as each month starts in the spending zone, and the approval expiry sweep
/// every few minutes. The renewal is keyed by person and month, so extra runs grant nothing.
async fn tick_spending(state: AppState, ctx: Context) -> WorkerResult {
    ctx.idle();
    let mut renewed_month = None;
    loop {
        let now = Timestamp::now();
        let month = match spending::settings(&state).await {
            Ok(settings) => settings.month_of(now),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the spending settings; trying again shortly");
                if !ctx.sleep(SPENDING_EVERY).await {
                    break;
                }
                continue;
            }
        };
        if renewed_month != Some(month.key) {
            state.jobs.scheduled.enqueue(Job::RenewAllowances);
            renewed_month = Some(month.key);
        }
        state.jobs.scheduled.enqueue(Job::ExpireApprovals);
        ctx.ran();
        let to_month_end = Duration::from_millis(u64::try_from(month.end.millis() - now.millis()).unwrap_or(0));
        if !ctx.sleep(SPENDING_EVERY.min(to_month_end)).await {
            break;
        }
    }
    Ok(())
}

/// Enqueues a discovery refresh a minute after start, then daily.
async fn tick_discovery(jobs: Queue<Job>, ctx: Context) -> WorkerResult {
    ctx.idle();
    let mut wait = DISCOVERY_FIRST;
    while ctx.sleep(wait).await {
        jobs.enqueue(Job::Discover("daily"));
        ctx.ran();
        wait = DISCOVERY_EVERY;
    }
    Ok(())
}

/// Sleeps until each time the schedule names, then enqueues a sweep.
async fn tick(schedule: cron::Schedule, jobs: Queue<Job>, ctx: Context) -> WorkerResult {
    ctx.idle();
    while let Some(next) = schedule.upcoming(chrono::Utc).next() {
        let wait = (next - chrono::Utc::now()).to_std().unwrap_or_default();
        if !ctx.sleep(wait).await {
            break;
        }
        jobs.enqueue(Job::Retention("schedule"));
        ctx.ran();
    }
    Ok(())
}

/// Runs queued jobs one at a time until shutdown.
async fn work(state: AppState, jobs: Consumer<Job>, ctx: Context) -> WorkerResult {
    loop {
        ctx.idle();
        let job = tokio::select! {
            job = jobs.next() => match job { Some(job) => job, None => return Ok(()) },
            _ = ctx.stopped() => return Ok(()),
        };
        ctx.working();
        match job {
            Job::Retention(trigger) => {
                if let Err(e) = retention::run(&state, trigger, Timestamp::now()).await {
                    tracing::error!(error = %e, trigger, "retention sweep failed; the next run continues it");
                }
            }
            Job::Discover(trigger) => match discovery::refresh(&state, &audit::Context::system()).await {
                Ok(found) if found.failures.is_empty() => {}
                Ok(found) => tracing::warn!(trigger, failures = ?found.failures, "capability discovery failed; the discovered models stay"),
                Err(e) => tracing::error!(error = %e, trigger, "capability discovery could not store its models; the next run tries again"),
            },
            Job::RenewAllowances => match spending::renew(&state, Timestamp::now()).await {
                Ok(renewed) if !renewed.is_empty() => tracing::info!(people = renewed.len(), "monthly allowances granted"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "the allowance renewal failed; the next run tries again"),
            },
            Job::ExpireApprovals => match approvals::expire(&state, Timestamp::now()).await {
                Ok(0) => {}
                Ok(expired) => tracing::info!(expired, "unanswered approval requests expired"),
                Err(e) => tracing::error!(error = %e, "the approval expiry sweep failed; the next run tries again"),
            },
            // An export may take long: shutdown does not wait for it (it starts again at the next start).
            Job::Export(owner) => tokio::select! {
                outcome = export::run(&state, owner) => if let Err(e) = outcome {
                    tracing::error!(error = %e, user = %owner, "an export failed");
                },
                _ = ctx.stopped() => {
                    tracing::info!(user = %owner, "an export was stopped by the shutdown; it starts again at the next start");
                    return Ok(());
                }
            },
        }
        ctx.ran();
    }
}
