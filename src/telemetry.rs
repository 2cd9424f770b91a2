//! Logging: tracing to stdout, one line per request (see `http::middleware`). Secrets are
//! never logged: handlers log route patterns, not paths, and no credential is a field.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; `RUST_LOG` overrides the configured level.
pub fn init(level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(format!("{level},actix_server=warn")));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_ansi(false).try_init();
}
