//! Stored media: reference uploads, generated outputs and their posters, avatars, and the
//! archives of data exports.

use serde::{Deserialize, Serialize};

use super::ids::{AssetId, GenerationId, UserId};
use super::time::Timestamp;

/// What a stored file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetKind {
    /// A reference image a person uploaded (cleaned of metadata).
    Upload,
    /// A generated image or video.
    Output,
    /// A still for an output: an image's thumbnail or a video's poster frame.
    Poster,
    /// A person's profile picture (cleaned like every upload).
    Avatar,
    /// An "Export my data" archive (a ZIP), kept until the export expires.
    Export,
}

/// A media file's record; the bytes live encrypted in the vault.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Asset {
    pub id: AssetId,
    pub owner: UserId,
    pub kind: AssetKind,
    pub content_type: String,
    pub bytes: u64,
    /// SHA-256 of the plaintext, lower-case hex.
    pub sha256: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub generation: Option<GenerationId>,
    pub created_at: Timestamp,
    /// For an output: its thumbnail or poster frame.
    pub poster: Option<AssetId>,
}

impl Asset {
    /// The file-name extension for its content type.
    pub fn extension(&self) -> &'static str {
        match self.content_type.as_str() {
            "image/png" => "png",
            "image/jpeg" => "jpg",
            "image/webp" => "webp",
            "image/gif" => "gif",
            "image/avif" => "avif",
            "video/mp4" => "mp4",
            "video/webm" => "webm",
            "video/quicktime" => "mov",
            "application/zip" => "zip",
            _ => "bin",
        }
    }

    pub fn is_video(&self) -> bool {
        self.content_type.starts_with("video/")
    }
}
