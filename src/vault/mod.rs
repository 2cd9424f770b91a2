//! Keys and encrypted media: the instance master key, per-user keys wrapped to it, the
//! encrypted media files, signed media URLs, and the cleaning of uploaded images.

pub mod age_file;
pub mod keyring;
pub mod master_key;
pub mod media;
pub mod sealed;
pub mod signed_url;
pub mod uploads;
pub mod user_keys;
