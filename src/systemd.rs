//! The service manager's protocol (sd_notify): READY=1 once the store is migrated and the
//! port bound, STOPPING=1 at shutdown, and WATCHDOG=1 pings from the runtime. Every call is
//! a no-op when not started by systemd (no `NOTIFY_SOCKET`, no `WATCHDOG_USEC`).

use std::time::Duration;

use sd_notify::NotifyState;
use tokio::task::JoinHandle;

/// Tells systemd that start-up is complete.
pub fn ready() {
    send(&[NotifyState::Ready, NotifyState::Status("serving")]);
}

/// Tells systemd that a graceful stop has begun.
pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("stopping: finishing in-flight requests")]);
}

/// When systemd watches this process (`WatchdogSec=`), pings it at half the interval from a
/// task on the runtime: a stalled runtime misses its pings and systemd restarts the service.
pub fn spawn_watchdog() -> Option<JoinHandle<()>> {
    let interval = sd_notify::watchdog_enabled()?;
    let period = (interval / 2).max(Duration::from_millis(10));
    tracing::info!(interval_ms = interval.as_millis() as u64, "systemd watchdog enabled");
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            send(&[NotifyState::Watchdog]);
        }
    }))
}

fn send(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
}
