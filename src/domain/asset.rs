//! Stored media: reference uploads, generated outputs and their posters, avatars, and the
//! archives of data exports.

use serde::{Deserialize, Serialize};

use super::ids::{AssetId, GenerationId, UserId};
use super::time::Timestamp;

/// What a stored file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetKind {
    /// A reference file a person uploaded (an image, video or audio file, cleaned of metadata).
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

/// A small asset's whole age file (encrypted like any), kept in the store with its record
/// instead of a file of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedMedia {
    pub asset: AssetId,
    pub file: Vec<u8>,
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
    /// Whether the file has an audio track (a video with sound, or an audio file); files stored
    /// before this was recorded read as without.
    pub has_sound: bool,
}

impl Asset {
    /// How a fetch of it reads in the audit log: what it is, of which generation, its type,
    /// and whether it was saved as a file (`attachment`) or viewed.
    pub fn download_detail(&self, attachment: bool) -> String {
        let what = match self.kind {
            AssetKind::Upload => "reference upload",
            AssetKind::Output => "output",
            AssetKind::Poster => "poster",
            AssetKind::Avatar => "profile picture",
            AssetKind::Export => "data export",
        };
        let of = self.generation.map(|g| format!(" of generation {g}")).unwrap_or_default();
        let how = if attachment { "saved as a file" } else { "viewed" };
        format!("{what}{of} ({}, {how})", self.content_type)
    }

    /// The file-name extension for its content type.
    pub fn extension(&self) -> &'static str {
        super::media_type::extension(&self.content_type)
    }

    pub fn is_video(&self) -> bool {
        self.content_type.starts_with("video/")
    }

    pub fn is_audio(&self) -> bool {
        self.content_type.starts_with("audio/")
    }

    /// Whether a generation may take this file as a reference (an input image, video or
    /// sound): a reference upload, or one of the person's earlier outputs.
    pub fn usable_as_reference(&self) -> bool {
        matches!(self.kind, AssetKind::Upload | AssetKind::Output)
    }

    /// An image a page may show in an `<img>` (a raster image served inline; never SVG).
    pub fn is_inline_image(&self) -> bool {
        self.content_type.starts_with("image/")
            && matches!(super::media_type::serving(&self.content_type), super::media_type::Serving::Inline(_))
    }

    /// What a page calls a file it offers only as a download (`None` for images, video and
    /// audio it shows): `"SVG file"` or `"File"`.
    pub fn download_only(&self) -> Option<&'static str> {
        match super::media_type::serving(&self.content_type) {
            super::media_type::Serving::Inline(_) => None,
            super::media_type::Serving::Attachment(super::media_type::SVG) => Some("SVG file"),
            super::media_type::Serving::Attachment(_) => Some("File"),
        }
    }

    /// How a page shows it: `"video"`, `"audio"` or `"image"`.
    pub fn shown_as(&self) -> &'static str {
        if self.is_video() {
            "video"
        } else if self.is_audio() {
            "audio"
        } else {
            "image"
        }
    }
}
