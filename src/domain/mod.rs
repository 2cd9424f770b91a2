//! Pure types and rules of the product: no actix, redb, tantivy or reqwest in here.

pub mod approval;
pub mod asset;
pub mod audit;
pub mod auth;
pub mod batch;
pub mod board;
pub mod cast;
pub mod catalog;
pub mod connection;
pub mod credits;
pub mod export;
pub mod generation;
pub mod ids;
pub mod media_type;
pub mod model_policy;
pub mod notify;
pub mod preferences;
pub mod preset;
pub mod privacy;
pub mod retention;
pub mod share;
pub mod spending;
pub mod standard_webhooks;
pub mod time;
pub mod user;
pub mod webhook;
