//! reelvault: a self-hosted, single-binary studio for AI video and image generation.
//! `main.rs` parses the command line and calls [`cli::main`]; tests call [`app::build`].

#![warn(clippy::unwrap_used)]

pub mod admin_socket;
pub mod app;
pub mod blocking;
pub mod cli;
pub mod config;
pub mod domain;
pub mod engine;
pub mod error;
pub mod http;
pub mod i18n;
pub mod lifecycle;
pub mod memory;
pub mod metrics;
pub mod own_thread;
pub mod providers;
pub mod scheduler;
pub mod search;
pub mod services;
pub mod store;
pub mod systemd;
pub mod telemetry;
pub mod turns;
pub mod urls;
pub mod vault;
pub mod worker_thread;
pub mod workers;

#[cfg(test)]
mod architecture;
