//! The service manager's protocol (sd_notify): READY=1 once the store is migrated and the
//! port bound, STOPPING=1 at shutdown, and WATCHDOG=1 pings while the instance's own
//! `/readyz` answers. Every call is a no-op when not started by systemd (no `NOTIFY_SOCKET`,
//! no `WATCHDOG_USEC`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use sd_notify::NotifyState;

/// Tells systemd that start-up is complete.
pub fn ready() {
    send(&[NotifyState::Ready, NotifyState::Status("serving")]);
}

/// Tells systemd that a graceful stop has begun.
pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("stopping: finishing in-flight requests")]);
}

/// When systemd watches this process (`WatchdogSec=`), how often to probe and ping: half its
/// interval. The "systemd-watchdog" worker runs [`watch`] at that period.
pub fn watchdog_period() -> Option<Duration> {
    let interval = sd_notify::watchdog_enabled()?;
    tracing::info!(interval_ms = interval.as_millis() as u64, "systemd watchdog enabled");
    Some((interval / 2).max(Duration::from_millis(10)))
}

/// Tells systemd the service is alive (WATCHDOG=1).
pub fn ping_watchdog() {
    send(&[NotifyState::Watchdog]);
}

/// Every `period`, asks `ready_url` (over HTTP, as a client would: through the listener, a
/// worker and its blocking pool) and calls `ping` only when it answered 200 within
/// `answer_within`: a wedged instance (no worker, no store read answering) misses its pings
/// and systemd restarts it.
pub async fn watch(ready_url: String, period: Duration, answer_within: Duration, mut ping: impl FnMut() + Send) {
    let client = match reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).timeout(answer_within).build() {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "the watchdog's probe cannot start; systemd will restart the service");
            return;
        }
    };
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match client.get(&ready_url).send().await {
            Ok(answer) if answer.status().is_success() => ping(),
            Ok(answer) => tracing::error!(status = answer.status().as_u16(), "not ready: the watchdog is not pinged"),
            Err(e) => tracing::error!(error = %e, "the readiness probe did not answer: the watchdog is not pinged"),
        }
    }
}

/// `/readyz` at the listening address (a wildcard address is asked on loopback).
pub fn ready_url(listening: SocketAddr) -> String {
    let host = match listening.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/readyz", SocketAddr::new(host, listening.port()))
}

fn send(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_asks_the_listening_address_and_loopback_for_a_wildcard() {
        assert_eq!(ready_url("127.0.0.1:8080".parse().unwrap()), "http://127.0.0.1:8080/readyz");
        assert_eq!(ready_url("0.0.0.0:80".parse().unwrap()), "http://127.0.0.1:80/readyz");
        assert_eq!(ready_url("[::]:8080".parse().unwrap()), "http://[::1]:8080/readyz");
        assert_eq!(ready_url("[::1]:9".parse().unwrap()), "http://[::1]:9/readyz");
    }
}
