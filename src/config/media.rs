//! `[media]`: where encrypted media live — the local disk (the default) or an S3-compatible
//! object store (Garage, MinIO, Ceph RGW, AWS S3, R2, B2) — parsed and validated here.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use url::Url;

use super::{ConfigError, Secret, secret, size};

/// The default size of the cache of recent ciphertext blocks read from an object store.
pub const DEFAULT_MEDIA_CACHE: u64 = 64 * 1024 * 1024;

/// Where media files are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "backend", rename_all = "lowercase")]
#[allow(clippy::large_enum_variant)] // one value per process, read at start-up
pub enum MediaBackendConfig {
    /// `DATA/media/<shard>/<id>.age` on the local disk.
    #[default]
    Local,
    /// Objects `{prefix}{shard}/{id}.age` in a bucket of an S3-compatible store.
    S3(S3Config),
}

impl MediaBackendConfig {
    /// `"local"` or `"s3"`, as in the config.
    pub fn name(&self) -> &'static str {
        match self {
            MediaBackendConfig::Local => "local",
            MediaBackendConfig::S3(_) => "s3",
        }
    }
}

/// An S3-compatible bucket and the credentials to reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct S3Config {
    /// The store's base URL (`http://127.0.0.1:3900`, `https://s3.eu-west-1.amazonaws.com`).
    pub endpoint: Url,
    pub region: String,
    pub bucket: String,
    /// Put before every object key; empty, or ends with `/` (`"reelvault/"`).
    pub prefix: String,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    /// Path-style requests (`endpoint/bucket/key`), as Garage and MinIO want; off: the bucket
    /// is a host name (`bucket.endpoint/key`).
    pub path_style: bool,
    /// Let the endpoint be on loopback or a private network (an on-premises store).
    pub allow_private_network: bool,
    /// The most ciphertext kept in memory from recent reads (header and last blocks, ranges).
    #[serde(serialize_with = "super::values::human_size")]
    pub cache: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMedia {
    backend: Option<String>,
    endpoint: Option<String>,
    region: Option<String>,
    bucket: Option<String>,
    prefix: Option<String>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    secret_access_key_file: Option<PathBuf>,
    path_style: Option<bool>,
    allow_private_network: Option<bool>,
    cache: Option<String>,
}

pub(super) fn validate_media(raw: RawMedia) -> Result<MediaBackendConfig, ConfigError> {
    let backend = raw.backend.as_deref().map(str::trim).unwrap_or("local").to_ascii_lowercase();
    match backend.as_str() {
        "local" => {
            let s3_only = [raw.endpoint.is_some(), raw.bucket.is_some(), raw.access_key_id.is_some()];
            if s3_only.iter().any(|set| *set) {
                return Err(ConfigError("media: endpoint, bucket and access_key_id need backend = \"s3\"".into()));
            }
            Ok(MediaBackendConfig::Local)
        }
        "s3" => validate_s3(raw).map(MediaBackendConfig::S3),
        other => Err(ConfigError(format!("media.backend = {other:?}: expected \"local\" or \"s3\""))),
    }
}

fn required(key: &str, value: Option<String>) -> Result<String, ConfigError> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ConfigError(format!("media.{key} must be set when media.backend = \"s3\"")))
}

fn validate_s3(raw: RawMedia) -> Result<S3Config, ConfigError> {
    let endpoint_text = required("endpoint", raw.endpoint)?;
    let endpoint = Url::parse(&endpoint_text).map_err(|e| ConfigError(format!("media.endpoint = {endpoint_text:?}: {e}")))?;
    if !matches!(endpoint.scheme(), "http" | "https") || endpoint.host().is_none() {
        return Err(ConfigError(format!("media.endpoint = {endpoint_text:?}: expected an http or https URL")));
    }
    if endpoint.query().is_some() || endpoint.fragment().is_some() || !endpoint.username().is_empty() {
        return Err(ConfigError(format!("media.endpoint = {endpoint_text:?}: expected a base URL, without query or credentials")));
    }
    let bucket = required("bucket", raw.bucket)?;
    let bucket_ok =
        (3..=63).contains(&bucket.len()) && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if !bucket_ok {
        return Err(ConfigError(format!("media.bucket = {bucket:?}: a bucket name is 3 to 63 lower-case letters, digits, '-' or '.'")));
    }
    let prefix = raw.prefix.unwrap_or_default().trim().trim_start_matches('/').to_string();
    let prefix_ok = prefix.is_empty() || (prefix.ends_with('/') && !prefix.contains("//") && prefix.bytes().all(|b| b.is_ascii_graphic()));
    if !prefix_ok {
        return Err(ConfigError(format!(
            "media.prefix = {prefix:?}: expected empty or a path that ends with '/' (like \"reelvault/\"), without spaces or \"//\""
        )));
    }
    let access_key_id = required("access_key_id", raw.access_key_id)?;
    let secret_access_key = secret("media.secret_access_key", raw.secret_access_key, raw.secret_access_key_file)?
        .filter(|s| !s.expose().is_empty())
        .ok_or_else(|| ConfigError("media: set secret_access_key or secret_access_key_file when backend = \"s3\"".into()))?;
    let cache = match raw.cache {
        Some(text) => size("media.cache", &text)?,
        None => DEFAULT_MEDIA_CACHE,
    };
    Ok(S3Config {
        endpoint,
        region: raw.region.map(|r| r.trim().to_string()).filter(|r| !r.is_empty()).unwrap_or_else(|| "us-east-1".into()),
        bucket,
        prefix,
        access_key_id,
        secret_access_key,
        path_style: raw.path_style.unwrap_or(true),
        allow_private_network: raw.allow_private_network.unwrap_or(false),
        cache,
    })
}
