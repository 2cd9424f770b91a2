//! Who people are: accounts, sign-in and sessions, passwords, API tokens, one-time links, profiles.

pub mod accounts;
pub mod links;
pub mod oidc;
pub mod passwords;
pub mod preferences;
pub mod profile;
pub mod secrets;
pub mod sessions;
pub mod throttle;
pub mod tokens;
