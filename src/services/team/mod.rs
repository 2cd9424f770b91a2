//! Running the instance: admin commands, connections, credits, model policy, reconciliation of estimates against providers' reports, webhooks, backups, media checks and migrations, queued jobs and figures.

pub mod admin;
pub mod backup;
pub mod backup_media;
pub mod catalog;
pub mod connections;
pub mod credits;
pub mod discovery;
pub mod figures;
pub mod gc;
pub mod getting_started;
pub mod health;
pub mod jobs;
pub mod media_check;
pub mod media_migrate;
pub mod model_policy;
pub mod reconciliation;
pub mod spending;
pub mod usage;
pub mod webhook_delivery;
pub mod webhooks;
