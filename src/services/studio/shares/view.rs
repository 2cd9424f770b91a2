//! What a share link shows to someone without an account: opening it (expiry, revocation, the
//! instance switch, its password), recording each view, and the signed media links of its
//! outputs, which stop working the moment the link does.

use std::time::{Duration, Instant};

use crate::domain::audit::{AuditAction, ClientInfo};
use crate::domain::generation::{GenState, Generation};
use crate::domain::ids::{BoardId, GenerationId, ShareId, UserId};
use crate::domain::retention::truncate_address;
use crate::domain::share::{Liveness, ShareLink, ShareTarget};
use crate::domain::time::Timestamp;
use crate::domain::user::User;
use crate::services::identity::secrets;
use crate::services::identity::throttle::Throttle;
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::services::studio::media;
use crate::services::{ServiceError, ServiceResult};
use crate::store::{self, Commit};
use crate::vault::signed_url::SignedQuery;

/// Views of one link counted per hour before it answers "too many".
const VIEWS_PER_LINK: u32 = 2_000;
/// Views from one network (the truncated address) per hour.
const VIEWS_PER_NETWORK: u32 = 300;
/// Wrong passwords per link per hour, and per network.
const PASSWORDS_PER_LINK: u32 = 20;
const PASSWORDS_PER_NETWORK: u32 = 10;
/// How long a correct password opens the link in that browser (never past the link's expiry).
pub const UNLOCK_TTL: Duration = Duration::from_secs(12 * 3600);

/// The in-memory limits on views and password attempts (a restart forgives).
pub struct ShareLimits {
    views: Throttle,
    passwords: Throttle,
}

impl Default for ShareLimits {
    fn default() -> Self {
        ShareLimits {
            views: Throttle::new(VIEWS_PER_LINK, VIEWS_PER_NETWORK),
            passwords: Throttle::new(PASSWORDS_PER_LINK, PASSWORDS_PER_NETWORK),
        }
    }
}

/// Why a shared page is not shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareRefusal {
    #[error("There is no share link at this address.")]
    Unknown,
    #[error("This share link has expired. Ask the person who shared it for a new one.")]
    Expired,
    #[error("This share link was revoked by the person who shared it.")]
    Revoked,
    #[error("Share links are turned off on this server.")]
    Disabled,
    #[error("This share link is protected by a password.")]
    NeedsPassword,
    #[error("The password is not correct.")]
    WrongPassword,
    #[error("Too many attempts; try again in {} minutes.", .0.as_secs().div_ceil(60).max(1))]
    Throttled(Duration),
    #[error("{0}")]
    Service(String),
}

impl From<ServiceError> for ShareRefusal {
    fn from(e: ServiceError) -> Self {
        ShareRefusal::Service(e.to_string())
    }
}

impl From<crate::store::StoreError> for ShareRefusal {
    fn from(e: crate::store::StoreError) -> Self {
        ShareRefusal::Service(e.to_string())
    }
}

/// One output as the shared page shows it.
#[derive(Debug, Clone)]
pub struct SharedFile {
    /// A signed link that shows it inline.
    pub view: String,
    /// A signed link that saves it, when the sharer allowed downloads.
    pub download: Option<String>,
    /// A signed link to its poster frame or thumbnail, if it has one.
    pub poster: Option<String>,
    /// `image`, `video` or `audio` (anything else is offered as a file).
    pub shown_as: &'static str,
}

/// One generation as the shared page shows it: its outputs, and its prompt if the sharer chose.
#[derive(Debug, Clone)]
pub struct SharedItem {
    pub prompt: Option<String>,
    pub files: Vec<SharedFile>,
}

/// A shared page's content.
#[derive(Debug, Clone)]
pub struct SharedPage {
    pub link: ShareLink,
    pub items: Vec<SharedItem>,
}

/// Finds the link behind a URL's secret and checks that it may be shown now.
fn find_live(state: &AppState, secret: &str) -> Result<ShareLink, ShareRefusal> {
    if !secrets::looks_valid(secret) {
        return Err(ShareRefusal::Unknown);
    }
    let hash = secrets::hash(secret);
    let link = state.store.read_now(|tx| store::shares::find_by_hash(tx, &hash))?.ok_or(ShareRefusal::Unknown)?;
    check_usable(state, &link)?;
    Ok(link)
}

/// Whether a link may be used now: not revoked or expired, its maker's account active (a
/// link lives with it: disabled or restricted by an admin, the link stops), sharing on.
fn check_usable(state: &AppState, link: &ShareLink) -> Result<(), ShareRefusal> {
    match link.liveness(Timestamp::now()) {
        Liveness::Revoked => return Err(ShareRefusal::Revoked),
        Liveness::Expired => return Err(ShareRefusal::Expired),
        Liveness::Live => {}
    }
    let maker = link.created_by;
    let (maker, settings) =
        state.store.read_now(|tx| Ok::<_, crate::store::StoreError>((store::users::get(tx, maker)?, store::shares::settings(tx)?)))?;
    if !maker.is_some_and(|m| !m.disabled && !m.frozen) {
        return Err(ShareRefusal::Revoked);
    }
    if !settings.enabled {
        return Err(ShareRefusal::Disabled);
    }
    Ok(())
}

/// The subject a browser's unlock cookie is signed for.
fn unlock_subject(id: ShareId) -> String {
    format!("share-unlock:{id}")
}

/// The name of the cookie that remembers a correct password for one link.
pub fn unlock_cookie_name(link: &ShareLink) -> String {
    format!("rv_share_{}", link.id)
}

/// Opens a shared page: checks the link, its password proof (the unlock cookie's value),
/// the view limits, records the view (audited, with the network only), and signs its media.
pub async fn open(state: &AppState, client: &ClientInfo, secret: &str, unlock: Option<&str>) -> Result<SharedPage, ShareRefusal> {
    let link = find_live(state, secret)?;
    if link.has_password() {
        let proof = unlock.and_then(|v| SignedQuery::parse(v).ok()).ok_or(ShareRefusal::NeedsPassword)?;
        let now = Timestamp::now().millis() / 1000;
        state.signer.verify(&unlock_subject(link.id), "", &proof, now).map_err(|_| ShareRefusal::NeedsPassword)?;
    }
    let network = client.address.as_deref().and_then(truncate_address);
    let limits = &state.share_limits;
    let reservation = limits
        .views
        .reserve(&link.id.to_string(), network.as_deref(), Instant::now())
        .map_err(|refusal| ShareRefusal::Throttled(refusal.retry_after))?;
    // every view counts against the limits: settle it as spent
    reservation.failed();
    record_view(state, &link, network).await?;
    let items = items(state, &link).await?;
    Ok(SharedPage { link, items })
}

/// Checks a password for a link; on success returns the unlock cookie's value (the link is
/// then open in that browser for [`UNLOCK_TTL`], never past its expiry).
pub async fn unlock(state: &AppState, client: &ClientInfo, secret: &str, password: &str) -> Result<(ShareLink, String), ShareRefusal> {
    let link = find_live(state, secret)?;
    let Some(hash) = link.password_hash.as_deref() else {
        return Ok((link.clone(), String::new()));
    };
    let network = client.address.as_deref().and_then(truncate_address);
    let reservation = state
        .share_limits
        .passwords
        .reserve(&link.id.to_string(), network.as_deref(), Instant::now())
        .map_err(|refusal| ShareRefusal::Throttled(refusal.retry_after))?;
    let password: String = password.chars().take(crate::domain::share::MAX_PASSWORD_LEN).collect();
    if !state.passwords.verify(client.address.as_deref(), &password, Some(hash)).await? {
        reservation.failed();
        return Err(ShareRefusal::WrongPassword);
    }
    state.share_limits.passwords.succeeded(reservation);
    let until = Timestamp::now().plus(UNLOCK_TTL).min(link.expires_at);
    let value = state.signer.sign(&unlock_subject(link.id), "", until.millis() / 1000);
    Ok((link, value))
}

/// Counts the view on the link and records it in the audit log, with the network the visitor
/// came from (never the full address) and no browser details.
async fn record_view(state: &AppState, link: &ShareLink, network: Option<String>) -> ServiceResult<()> {
    let id = link.id;
    let ctx = Context::anonymous(None, ClientInfo { address: network, user_agent: None });
    state
        .store
        .write_with(Commit::Advisory, move |tx| {
            let Some(mut link) = store::shares::get(tx, id)? else { return Ok(()) };
            link.views += 1;
            link.last_viewed_at = Some(Timestamp::now());
            store::shares::put(tx, &link)?;
            audit::record(tx, &ctx, AuditAction::ShareViewed, Some(id.to_string()), Some(link.target.label()))?;
            Ok::<_, ServiceError>(())
        })
        .await
}

/// The generations a link shows: its generation, or its board's items, finished ones only.
async fn generations(state: &AppState, link: &ShareLink) -> ServiceResult<Vec<Generation>> {
    let ids = match link.target {
        ShareTarget::Generation(id) => vec![id],
        ShareTarget::Board(board) => board_items(state, board, link.created_by).await?,
    };
    let found =
        state.store.read(move |tx| ids.into_iter().map(|id| store::generations::get(tx, id)).collect::<Result<Vec<_>, _>>()).await?;
    Ok(found.into_iter().flatten().filter(|g| g.deleted_at.is_none() && g.state == GenState::Succeeded).collect())
}

async fn items(state: &AppState, link: &ShareLink) -> ServiceResult<Vec<SharedItem>> {
    let expires = Timestamp::now().plus(media::URL_TTL).min(link.expires_at);
    let mut items = Vec::new();
    for g in generations(state, link).await? {
        let outputs = media::assets(state, g.outputs.clone()).await?;
        let posters = media::assets(state, outputs.iter().filter_map(|a| a.poster).collect()).await?;
        let files = outputs
            .iter()
            .map(|a| SharedFile {
                view: media::signed_shared_path(state, link.id, a, expires, false),
                download: link.allow_download.then(|| media::signed_shared_path(state, link.id, a, expires, true)),
                poster: a
                    .poster
                    .and_then(|p| posters.iter().find(|x| x.id == p))
                    .map(|p| media::signed_shared_path(state, link.id, p, expires, false)),
                shown_as: a.shown_as(),
            })
            .collect();
        items.push(SharedItem { prompt: link.show_prompt.then(|| g.prompt.clone()), files });
    }
    Ok(items)
}

/// Checks, at each media fetch through a share link, that the link still works (not revoked,
/// not expired, sharing on) and allows what is asked (`download`).
pub(crate) fn check_media_use(state: &AppState, share: ShareId, download: bool) -> Result<(), media::MediaAccessError> {
    let link =
        state.store.read_now(|tx| store::shares::get(tx, share)).map_err(ServiceError::from)?.ok_or(media::MediaAccessError::Invalid)?;
    match check_usable(state, &link) {
        Ok(()) if download && !link.allow_download => Err(media::MediaAccessError::Invalid),
        Ok(()) => Ok(()),
        Err(ShareRefusal::Service(detail)) => Err(ServiceError::Internal(detail).into()),
        Err(_) => Err(media::MediaAccessError::Expired),
    }
}

/// The ids of a board's items, in order, for a link `maker` made: none once the maker no
/// longer edits the board (a link made by an editor lives with their right to share it).
async fn board_items(state: &AppState, board: BoardId, maker: UserId) -> ServiceResult<Vec<GenerationId>> {
    state
        .store
        .read(move |tx| {
            if !store::boards::role(tx, board, maker)?.is_some_and(|r| r.can_edit()) {
                return Ok(Vec::new());
            }
            Ok::<_, ServiceError>(store::boards::items(tx, board)?.into_iter().map(|i| i.generation).collect())
        })
        .await
}

/// Checks that `user` may share `board`: its editors (a viewer gets 403, a stranger 404).
pub(super) async fn board_role_for_sharing(state: &AppState, user: &User, board: BoardId) -> ServiceResult<()> {
    if crate::services::studio::boards::role(state, user, board).await?.can_edit() { Ok(()) } else { Err(ServiceError::NotEditor) }
}
