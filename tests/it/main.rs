//! The integration tests: the app on 127.0.0.1:0 driven over real HTTP, and the real
//! binary driven as a process.

mod support;

mod admin;
mod assets;
mod audit;
mod backup;
mod bad_input;
mod binary;
mod browser;
mod cli;
mod connections;
mod crash;
mod csrf_and_headers;
mod generations;
mod install;
mod metrics;
mod migration;
mod provider_faults;
mod provider_gemini;
mod provider_runway;
mod proxy;
mod search;
mod search_index;
mod sessions;
mod setup;
mod sign_in;
mod systemd;
mod tokens;
mod uploads;
