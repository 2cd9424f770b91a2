//! Where media live — the data directory's disk or an S3-compatible bucket — and the progress
//! of a move between the two (`reelvault media migrate`), as the store keeps them.

use serde::{Deserialize, Serialize};

use super::time::Timestamp;

/// A media backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaBackend {
    Local,
    S3,
}

impl MediaBackend {
    /// `"local"` or `"s3"`, as in the config and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            MediaBackend::Local => "local",
            MediaBackend::S3 => "s3",
        }
    }

    pub fn other(self) -> MediaBackend {
        match self {
            MediaBackend::Local => MediaBackend::S3,
            MediaBackend::S3 => MediaBackend::Local,
        }
    }
}

impl std::str::FromStr for MediaBackend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "local" => Ok(MediaBackend::Local),
            "s3" => Ok(MediaBackend::S3),
            other => Err(format!("unknown media backend {other:?}: expected \"local\" or \"s3\"")),
        }
    }
}

impl std::fmt::Display for MediaBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A move of media to another backend that has not finished: where to, and how far the copy
/// of recorded assets got (assets are copied in id order; `after` is the last one done).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaMigration {
    pub to: MediaBackend,
    pub started_at: Timestamp,
    pub after: Option<String>,
    pub copied: u64,
    pub bytes: u64,
}

impl MediaMigration {
    pub fn start(to: MediaBackend) -> MediaMigration {
        MediaMigration { to, started_at: Timestamp::now(), after: None, copied: 0, bytes: 0 }
    }
}
