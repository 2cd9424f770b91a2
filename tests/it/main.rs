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
mod deletion;
mod generations;
mod install;
mod library;
mod metrics;
mod migration;
mod models;
mod privacy;
mod provider_bfl;
mod provider_comfyui;
mod provider_fal;
mod provider_faults;
mod provider_gemini;
mod provider_kling;
mod provider_luma;
mod provider_luma_agents;
mod provider_minimax;
mod provider_openai_images;
mod provider_replicate;
mod provider_runway;
mod provider_stability;
mod proxy;
mod retention;
mod search;
mod search_index;
mod sessions;
mod setup;
mod sign_in;
mod systemd;
mod tokens;
mod uploads;
