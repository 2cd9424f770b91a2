//! Signed, time-limited media URLs, and opening stored media for streaming.

use std::time::Duration;

use crate::domain::asset::{Asset, AssetKind};
use crate::domain::audit::{AuditAction, ClientInfo};
use crate::domain::generation::Generation;
use crate::domain::ids::{AssetId, ShareId};
use crate::domain::time::Timestamp;
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::services::{ServiceError, ServiceResult};
use crate::store::{self, Commit};
use crate::vault::media::{MediaError, MediaStream};
use crate::vault::signed_url::{SignatureError, SignedQuery};

/// How long a signed media URL works.
pub const URL_TTL: Duration = Duration::from_secs(3600);

/// The signed path of an asset for its owner (`/media/<id>?exp=…&kid=…&sig=…`).
pub fn signed_path(state: &AppState, asset: &Asset) -> String {
    signed_path_until(state, asset, Timestamp::now().plus(URL_TTL))
}

/// [`signed_path`] with a link that works until `expires` (to the second).
pub fn signed_path_until(state: &AppState, asset: &Asset, expires: Timestamp) -> String {
    let query = state.signer.sign(&signed_subject(asset.id, LinkUse::File), &asset.owner.to_string(), expires.millis() / 1000);
    format!("/media/{}?{query}", asset.id)
}

/// What a signed link was issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkUse {
    /// The file, to view or save: every fetch is recorded.
    File,
    /// A preview in a grid: an image shown as its own thumbnail (a small image gets no poster:
    /// see [`crate::engine::posters::OWN_THUMBNAIL_MAX`]), or a video playing muted while the
    /// pointer rests on its card. Not recorded, as posters are not; opening the item (the
    /// lightbox, its page) uses an ordinary link, which is.
    Thumbnail,
    /// Issued by a share link's page: works only while that link does (checked at each
    /// fetch), saves the file only if the sharer allowed it; not recorded (the page's view is).
    Shared(ShareId),
}

/// The query flag of a thumbnail link.
const THUMBNAIL_FLAG: &str = "thumb=1";

/// What a link's signature covers besides the person: the asset, and for a thumbnail link that
/// it is one (so an ordinary link cannot be made a thumbnail link by adding the flag), for a
/// shared one the share link it was issued through.
fn signed_subject(id: AssetId, link: LinkUse) -> String {
    match link {
        LinkUse::File => id.to_string(),
        LinkUse::Thumbnail => format!("{id}#thumbnail"),
        LinkUse::Shared(share) => format!("{id}#share:{share}"),
    }
}

/// A media link issued through share link `share` (`/media/<id>?share=<link>&…`), working until
/// `expires`; with `download`, one that saves the file.
pub fn signed_shared_path(state: &AppState, share: ShareId, asset: &Asset, expires: Timestamp, download: bool) -> String {
    let query = state.signer.sign(&signed_subject(asset.id, LinkUse::Shared(share)), &asset.owner.to_string(), expires.millis() / 1000);
    let save = if download { "&download=1" } else { "" };
    format!("/media/{}?share={share}&{query}{save}", asset.id)
}

/// What a grid shows for an output: its poster, else an image itself through a thumbnail link;
/// `None` (a placeholder) for a video without a poster, audio or a file offered as a download.
pub fn thumbnail_link(state: &AppState, output: &Asset, poster: Option<&Asset>) -> Option<String> {
    match poster {
        Some(poster) => Some(signed_path(state, poster)),
        None => output.is_inline_image().then(|| signed_thumbnail_path(state, output)),
    }
}

/// The signed path of an image shown as its own thumbnail, or of a video's muted preview in a
/// grid (see [`LinkUse::Thumbnail`]).
pub fn signed_thumbnail_path(state: &AppState, asset: &Asset) -> String {
    let expires = Timestamp::now().plus(URL_TTL).millis() / 1000;
    let query = state.signer.sign(&signed_subject(asset.id, LinkUse::Thumbnail), &asset.owner.to_string(), expires);
    format!("/media/{}?{THUMBNAIL_FLAG}&{query}", asset.id)
}

/// Why a media request is refused.
#[derive(Debug, thiserror::Error)]
pub enum MediaAccessError {
    #[error("This link has expired. Reload the page for a fresh one.")]
    Expired,
    #[error("This link is not valid.")]
    Invalid,
    #[error("The requested range is outside the file ({len} bytes).")]
    Range { len: u64 },
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// Checks a signed URL; returns the asset, the key that decrypts it and what the link was
/// issued for.
pub async fn authorize(state: &AppState, id: AssetId, query: &str) -> Result<(Asset, age::x25519::Identity, LinkUse), MediaAccessError> {
    let signed = SignedQuery::parse(query).map_err(|_| MediaAccessError::Invalid)?;
    let share = shared_through(query)?;
    let link = match share {
        Some(share) => LinkUse::Shared(share),
        None if query.split('&').any(|p| p == THUMBNAIL_FLAG) => LinkUse::Thumbnail,
        None => LinkUse::File,
    };
    let asset =
        state.store.read(move |tx| store::assets::get(tx, id)).await.map_err(ServiceError::from)?.ok_or(MediaAccessError::Invalid)?;
    let now = Timestamp::now().millis() / 1000;
    state.signer.verify(&signed_subject(asset.id, link), &asset.owner.to_string(), &signed, now).map_err(|e| match e {
        SignatureError::Expired => MediaAccessError::Expired,
        _ => MediaAccessError::Invalid,
    })?;
    if let Some(share) = share {
        let download = query.split('&').any(|p| p == "download=1");
        crate::services::studio::shares::view::check_media_use(state, share, download)?;
    }
    let identity = identity_of(state, &asset).await?;
    Ok((asset, identity, link))
}

/// The share link a media link was issued through (`share=<id>`), if any; a malformed or
/// repeated one is refused.
fn shared_through(query: &str) -> Result<Option<ShareId>, MediaAccessError> {
    let mut found = None;
    for value in query.split('&').filter_map(|p| p.strip_prefix("share=")) {
        if found.is_some() {
            return Err(MediaAccessError::Invalid);
        }
        found = Some(value.parse().map_err(|_| MediaAccessError::Invalid)?);
    }
    Ok(found)
}

/// The key that decrypts an asset, for handing it to its owner without a signed link (the
/// caller has checked that the person asking owns it).
pub async fn identity_of(state: &AppState, asset: &Asset) -> Result<age::x25519::Identity, MediaAccessError> {
    Ok(state.keyring.identity(&state.store, asset.owner).await.map_err(|e| ServiceError::Internal(e.to_string()))?)
}

/// A stored file, decrypted whole (an output image, to hand back inline).
pub async fn read_all(state: &AppState, asset: &Asset) -> ServiceResult<Vec<u8>> {
    let bytes = crate::vault::read_whole(&state.media, &state.keyring, &state.store, asset).await.map_err(|e| match e {
        MediaError::Unavailable(reason) => ServiceError::MediaUnavailable(reason),
        other => ServiceError::Internal(format!("reading media: {other}")),
    })?;
    Ok(bytes.to_vec())
}

/// Records that `client` fetched an authorized asset (`media.downloaded`). The actor is the
/// person the signed link was issued for (links name the asset's owner); the target is the
/// asset, the detail what it is and whether it was saved as a file. Posters (the library
/// grid's thumbnails, derived from outputs) are not recorded: every page of the grid would
/// otherwise cost a durable write per card.
pub async fn record_download(state: &AppState, asset: &Asset, client: ClientInfo, attachment: bool) -> ServiceResult<()> {
    if asset.kind == AssetKind::Poster {
        return Ok(());
    }
    let (owner, id) = (asset.owner, asset.id);
    // a person's own export has its own action, so exports are easy to find in the log
    let action = if asset.kind == AssetKind::Export { AuditAction::ExportDownloaded } else { AuditAction::MediaDownloaded };
    let detail = asset.download_detail(attachment);
    // durable within a second (the settler), not before the bytes go out: an fsync per
    // fetch would cost more than the fetch of a small image
    state
        .store
        .write_with(Commit::Advisory, move |tx| {
            let email = store::users::get(tx, owner)?.map(|u| u.email.to_string()).unwrap_or_default();
            let ctx = Context::user(owner, &email, client);
            audit::record(tx, &ctx, action, Some(id.to_string()), Some(detail))
        })
        .await?;
    Ok(())
}

/// Opens `range` (inclusive bounds, or the whole file) of an authorized asset.
pub async fn open(
    state: &AppState,
    asset: &Asset,
    identity: age::x25519::Identity,
    range: Option<(u64, u64)>,
) -> Result<(u64, MediaStream), MediaAccessError> {
    state.media.read_range(&asset.id.to_string(), identity, range).await.map_err(media_error)
}

/// The plaintext length of an authorized asset.
pub async fn length(state: &AppState, asset: &Asset, identity: age::x25519::Identity) -> Result<u64, MediaAccessError> {
    state.media.plaintext_len(&asset.id.to_string(), identity).await.map_err(media_error)
}

fn media_error(e: MediaError) -> MediaAccessError {
    match e {
        MediaError::RangeNotSatisfiable { len } => MediaAccessError::Range { len },
        MediaError::Unavailable(reason) => MediaAccessError::Service(ServiceError::MediaUnavailable(reason)),
        other => MediaAccessError::Service(ServiceError::Internal(format!("reading media: {other}"))),
    }
}

/// Asset records by id, in order (missing ones skipped): point lookups, on this thread.
pub async fn assets(state: &AppState, ids: Vec<AssetId>) -> ServiceResult<Vec<Asset>> {
    Ok(state.store.read_now(|tx| {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(a) = store::assets::get(tx, id)? {
                out.push(a);
            }
        }
        Ok::<_, crate::store::StoreError>(out)
    })?)
}

/// A file name people recognise (see [`file_name`]).
pub async fn download_name(state: &AppState, asset: &Asset) -> String {
    let generation = match asset.generation {
        Some(id) => state.store.read(move |tx| store::generations::get(tx, id)).await.ok().flatten(),
        None => None,
    };
    file_name(asset, generation.as_ref())
}

/// A file name people recognise, made of ASCII letters, digits, dashes and a dot: an output
/// is `<model>-<first words of the prompt>-<id tail>.<ext>` (given its `generation`), an
/// upload `reference-<id tail>.<ext>`, an avatar `avatar-<id tail>.<ext>`, and an export
/// `reelvault-export-<YYYY-MM-DD>.zip`.
pub fn file_name(asset: &Asset, generation: Option<&Generation>) -> String {
    let tail = asset.id.to_string().to_lowercase();
    let tail = &tail[tail.len() - 6..];
    let stem = match (asset.kind, generation) {
        (AssetKind::Export, _) => {
            let day = asset.created_at.rfc3339();
            return format!("reelvault-export-{}.zip", day.get(..10).unwrap_or("undated"));
        }
        (AssetKind::Avatar, _) => "avatar".to_string(),
        (_, Some(g)) => format!("{}-{}", g.model, slug(&g.prompt, 40)),
        (_, None) => "reference".to_string(),
    };
    format!("{}-{tail}.{}", stem.trim_end_matches('-'), asset.extension())
}

/// Lower-case ASCII letters and digits joined by single dashes, at most `max` characters.
fn slug(text: &str, max: usize) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= max {
            break;
        }
    }
    out.trim_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::UserId;

    #[test]
    fn file_names_say_what_the_file_is() {
        let mut asset = Asset {
            id: "01JZ8Q3W6V2N5K7M9P0R4T6Y8A".parse().unwrap(),
            owner: UserId::generate(),
            kind: AssetKind::Export,
            content_type: "application/zip".into(),
            bytes: 1,
            sha256: String::new(),
            width: None,
            height: None,
            generation: None,
            created_at: Timestamp(1_767_225_600_000), // 2026-01-01T00:00:00Z
            poster: None,
            has_sound: false,
        };
        assert_eq!(file_name(&asset, None), "reelvault-export-2026-01-01.zip");
        (asset.kind, asset.content_type) = (AssetKind::Avatar, "image/png".into());
        assert_eq!(file_name(&asset, None), "avatar-4t6y8a.png");
        asset.kind = AssetKind::Upload;
        assert_eq!(file_name(&asset, None), "reference-4t6y8a.png");
    }

    #[test]
    fn slugs_are_safe_file_name_parts() {
        assert_eq!(slug("A red kite, over \"green\" hills!", 40), "a-red-kite-over-green-hills");
        assert_eq!(slug("../../etc/passwd", 40), "etc-passwd");
        assert_eq!(slug("日本語", 40), "");
        assert!(slug(&"word ".repeat(50), 40).len() <= 41);
    }
}
