use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

use super::*;

const QUICK: Duration = Duration::from_millis(10);

/// Polls `status` until `done` holds for the named worker (bounded).
async fn wait_until(supervisor: &Supervisor, name: &str, done: impl Fn(&WorkerStatus) -> bool) -> WorkerStatus {
    for _ in 0..500 {
        let found = supervisor.status().into_iter().find(|s| s.name == name).expect("registered");
        if done(&found) {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{name} never reached the expected state: {:?}", supervisor.status());
}

/// A body that waits for the stop signal.
async fn until_stopped(ctx: Context) -> WorkerResult {
    ctx.idle();
    ctx.stopped().await;
    Ok(())
}

#[tokio::test]
async fn a_failing_body_restarts_with_its_error_shown() {
    let supervisor = Supervisor::new();
    let starts = Arc::new(AtomicU32::new(0));
    let counted = starts.clone();
    supervisor.spawn(Worker::new("flaky").backoff(QUICK, QUICK), move |ctx| {
        let starts = counted.clone();
        async move {
            if starts.fetch_add(1, Ordering::SeqCst) < 2 {
                return Err("the disk is full".to_string());
            }
            ctx.ran();
            until_stopped(ctx).await
        }
    });
    let status = wait_until(&supervisor, "flaky", |s| s.state == Health::Idle).await;
    assert_eq!(status.restarts, 2);
    assert_eq!(status.last_error.as_deref(), Some("the disk is full"));
    assert!(status.last_run_at.is_some() && status.started_at.is_some());
    assert!(supervisor.shutdown(Duration::from_secs(5)).await.is_empty());
    assert_eq!(supervisor.status()[0].state, Health::Stopped);
}

#[tokio::test]
async fn a_panicking_body_is_caught_and_restarted() {
    let supervisor = Supervisor::new();
    let starts = Arc::new(AtomicU32::new(0));
    let counted = starts.clone();
    supervisor.spawn(Worker::new("brittle").backoff(QUICK, QUICK), move |ctx| {
        let starts = counted.clone();
        async move {
            if starts.fetch_add(1, Ordering::SeqCst) == 0 {
                panic!("an index out of bounds");
            }
            until_stopped(ctx).await
        }
    });
    let status = wait_until(&supervisor, "brittle", |s| s.restarts == 1 && s.state == Health::Idle).await;
    assert_eq!(status.last_error.as_deref(), Some("panicked: an index out of bounds"));
    supervisor.shutdown(Duration::from_secs(5)).await;
    assert_eq!(starts.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn shutdown_stops_the_last_registered_first_and_joins_each() {
    let supervisor = Supervisor::new();
    let (stopped, mut order) = mpsc::unbounded_channel();
    for name in ["store", "indexer", "scheduler"] {
        let stopped = stopped.clone();
        supervisor.spawn(Worker::new(name), move |ctx| {
            let stopped = stopped.clone();
            async move {
                ctx.stopped().await;
                // the next worker is asked only after this one has returned
                tokio::time::sleep(QUICK).await;
                let _ = stopped.send(name);
                Ok(())
            }
        });
    }
    assert!(supervisor.shutdown(Duration::from_secs(5)).await.is_empty());
    drop(stopped);
    let mut seen = Vec::new();
    while let Some(name) = order.recv().await {
        seen.push(name);
    }
    assert_eq!(seen, ["scheduler", "indexer", "store"]);
    assert!(supervisor.status().iter().all(|s| s.state == Health::Stopped));
    assert!(!supervisor.spawn(Worker::new("late"), until_stopped), "nothing starts after shutdown");
}

#[tokio::test]
async fn a_worker_that_ignores_the_stop_is_aborted_at_the_deadline() {
    let supervisor = Supervisor::new();
    supervisor.spawn(Worker::new("polite"), until_stopped);
    supervisor.spawn(Worker::new("stubborn"), |_ctx| async {
        std::future::pending::<()>().await;
        Ok(())
    });
    let aborted = supervisor.shutdown(Duration::from_millis(100)).await;
    assert_eq!(aborted, ["stubborn"]);
    let status = supervisor.status();
    assert_eq!(status[0].state, Health::Stopped, "{status:?}");
    assert_eq!(status[1].state, Health::Failed, "{status:?}");
    assert!(status[1].last_error.as_deref().is_some_and(|e| e.contains("aborted")));
}

#[tokio::test]
async fn a_grace_shorter_than_the_deadline_cuts_the_worker_off_sooner() {
    let supervisor = Supervisor::new();
    supervisor.spawn(Worker::new("sender").grace(Duration::from_millis(50)), |_ctx| async {
        std::future::pending::<()>().await;
        Ok(())
    });
    let started = tokio::time::Instant::now();
    assert_eq!(supervisor.shutdown(Duration::from_secs(600)).await, ["sender"]);
    assert!(started.elapsed() < Duration::from_secs(600));
}

#[tokio::test]
async fn status_lists_every_worker_and_a_finished_one_stays_stopped() {
    let supervisor = Supervisor::new();
    supervisor.spawn(Worker::new("resume"), |ctx| async move {
        ctx.ran();
        Ok(())
    });
    supervisor.spawn(Worker::new("loop"), until_stopped);
    assert!(!supervisor.spawn(Worker::new("loop"), until_stopped), "names are unique");
    let finished = wait_until(&supervisor, "resume", |s| s.state == Health::Stopped).await;
    assert_eq!((finished.restarts, finished.last_error), (0, None));
    assert!(finished.last_run_at.is_some());
    let waiting = wait_until(&supervisor, "loop", |s| s.state == Health::Idle).await;
    assert!(waiting.state.is_up() && waiting.last_run_at.is_none());
    assert_eq!(supervisor.status().iter().map(|s| s.name).collect::<Vec<_>>(), ["resume", "loop"]);
    supervisor.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn the_backoff_doubles_up_to_its_cap_and_a_stop_ends_the_wait() {
    let supervisor = Supervisor::new();
    supervisor.spawn(Worker::new("broken").backoff(QUICK, Duration::from_secs(3600)), |_ctx| async { Err("no".to_string()) });
    // after a few quick restarts the wait has doubled past what the test waits for
    wait_until(&supervisor, "broken", |s| s.restarts >= 3).await;
    assert!(supervisor.shutdown(Duration::from_secs(5)).await.is_empty(), "a stop interrupts the backoff");
    assert_eq!(supervisor.status()[0].state, Health::Stopped);
}

#[tokio::test]
async fn one_worker_can_be_stopped_ahead_of_the_others() {
    let supervisor = Supervisor::new();
    supervisor.spawn(Worker::new("first"), until_stopped);
    supervisor.spawn(Worker::new("door"), until_stopped);
    wait_until(&supervisor, "door", |s| s.state == Health::Idle).await;
    assert!(supervisor.stop("door", Duration::from_secs(5)).await);
    let status = supervisor.status();
    assert_eq!((status[0].state, status[1].state), (Health::Idle, Health::Stopped), "{status:?}");
    assert!(supervisor.stop("nobody", Duration::from_secs(5)).await);
    assert!(supervisor.shutdown(Duration::from_secs(5)).await.is_empty(), "a stopped worker is not stopped twice");
}
