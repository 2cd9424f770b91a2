//! The `[api]` (limits per API token) and `[webhooks]` (outbound completion events)
//! sections of the configuration: raw serde forms and their validation.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, duration, human_duration};

/// Limits on what one personal API token may do; browser sessions are not limited by them.
#[derive(Debug, Clone, Serialize)]
pub struct ApiConfig {
    /// Requests one token may make per minute (a bucket of this size refilling over a minute).
    pub requests_per_minute: u32,
    /// Generations submitted with one token that may be unfinished at once.
    pub concurrent_jobs: u32,
}

/// How completion events reach the URLs people register.
#[derive(Debug, Clone, Serialize)]
pub struct WebhooksConfig {
    /// Let webhook URLs reach loopback and private addresses (testing and on-premises
    /// receivers only: anyone who can register a webhook can then probe the local network).
    pub allow_private_network: bool,
    /// Cap on one delivery attempt.
    #[serde(serialize_with = "human_duration")]
    pub timeout: Duration,
    /// The first retry waits about this long; later ones wait 6, 30, 180, 720 … times as long.
    #[serde(serialize_with = "human_duration")]
    pub retry_base: Duration,
    /// Attempts (the first included) before a delivery is given up.
    pub max_attempts: u32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApi {
    requests_per_minute: Option<u32>,
    concurrent_jobs: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWebhooks {
    allow_private_network: Option<bool>,
    timeout: Option<String>,
    retry_base: Option<String>,
    max_attempts: Option<u32>,
}

pub(super) fn validate_api(raw: RawApi) -> Result<ApiConfig, ConfigError> {
    let api = ApiConfig { requests_per_minute: raw.requests_per_minute.unwrap_or(120), concurrent_jobs: raw.concurrent_jobs.unwrap_or(8) };
    if api.requests_per_minute == 0 || api.concurrent_jobs == 0 {
        return Err(ConfigError("api.requests_per_minute and api.concurrent_jobs must be at least 1".into()));
    }
    Ok(api)
}

pub(super) fn validate_webhooks(raw: RawWebhooks) -> Result<WebhooksConfig, ConfigError> {
    let hooks = WebhooksConfig {
        allow_private_network: raw.allow_private_network.unwrap_or(false),
        timeout: duration("webhooks.timeout", raw.timeout, "10s")?,
        retry_base: duration("webhooks.retry_base", raw.retry_base, "10s")?,
        max_attempts: raw.max_attempts.unwrap_or(8),
    };
    if hooks.timeout.is_zero() || hooks.retry_base.is_zero() {
        return Err(ConfigError("webhooks.timeout and webhooks.retry_base must be longer than 0".into()));
    }
    if !(1..=20).contains(&hooks.max_attempts) {
        return Err(ConfigError(format!("webhooks.max_attempts = {}: must be between 1 and 20", hooks.max_attempts)));
    }
    Ok(hooks)
}
