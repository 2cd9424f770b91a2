//! When to poll next: the provider's hint when it gives one, else a growing interval, with
//! jitter so thousands of jobs do not poll in lockstep.

use std::time::Duration;

/// The first poll interval when the provider gives no hint.
pub const FIRST_POLL: Duration = Duration::from_secs(2);
/// The longest interval between polls.
pub const MAX_POLL: Duration = Duration::from_secs(30);

/// The delay before poll number `attempt` (0-based), honouring `hint` when present.
pub fn poll_delay(attempt: u32, hint: Option<Duration>) -> Duration {
    let base = match hint {
        Some(h) => h.clamp(Duration::from_millis(50), MAX_POLL),
        None => FIRST_POLL.mul_f64(1.5f64.powi(attempt.min(20) as i32)).min(MAX_POLL),
    };
    jitter(base)
}

/// The delay after the `errors`-th consecutive retryable error, honouring Retry-After.
pub fn error_delay(errors: u32, retry_after: Option<Duration>) -> Duration {
    match retry_after {
        Some(wait) => wait.min(Duration::from_secs(600)),
        None => jitter(Duration::from_secs(1).mul_f64(2f64.powi(errors.min(6) as i32)).min(Duration::from_secs(60))),
    }
}

/// ±20 % random spread.
fn jitter(d: Duration) -> Duration {
    let factor = 0.8 + rand::random::<f64>() * 0.4;
    d.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_grow_to_a_cap_and_hints_win() {
        assert!(poll_delay(0, None) <= FIRST_POLL.mul_f64(1.2));
        assert!(poll_delay(30, None) <= MAX_POLL.mul_f64(1.2));
        assert!(poll_delay(30, None) >= MAX_POLL.mul_f64(0.8));
        let hinted = poll_delay(10, Some(Duration::from_millis(500)));
        assert!(hinted >= Duration::from_millis(400) && hinted <= Duration::from_millis(600));
        assert_eq!(error_delay(3, Some(Duration::from_secs(7))), Duration::from_secs(7));
    }
}
