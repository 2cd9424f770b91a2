//! The library's cards: one per generation, with its poster and what the lightbox shows.

use crate::domain::asset::Asset;
use crate::domain::time::Timestamp;
use crate::domain::user::User;
use crate::error::AppError;
use crate::i18n::Tr;
use crate::services::state::AppState;
use crate::services::studio::media;
use crate::services::studio::search::SearchItem;

use super::days;

/// One card of the grid.
pub struct Card {
    pub id: String,
    /// The generation's page.
    pub href: String,
    pub highlight: String,
    /// The prompt as plain text (the lightbox's caption).
    pub prompt: String,
    pub state: &'static str,
    pub model: String,
    pub created_rfc3339: String,
    pub created: crate::domain::time::Timestamp,
    /// The day it was made (`YYYY-MM-DD`, UTC): the grid's grouping.
    pub day: String,
    pub cost: u64,
    pub kept: bool,
    pub shared: bool,
    pub mine: bool,
    /// The poster or the image itself (signed); `None` shows a placeholder.
    pub thumb: Option<String>,
    /// The first output itself (signed), when it is a video or an image a browser shows: the
    /// lightbox fetches it only when opened (a recorded view), so the grid records none.
    pub media: Option<String>,
    /// A video's muted hover preview (a link whose fetches are not recorded).
    pub preview: Option<String>,
    pub is_video: bool,
    /// The output plays sound.
    pub has_sound: bool,
    /// Whole days until retention deletes it (`None`: kept, on hold, or kept forever).
    pub expires_in_days: Option<i64>,
}

/// The grid's cards: a poster (or the image itself) per generation, each filed under its day
/// as `tr`'s time zone has it.
pub async fn cards(state: &AppState, viewer: &User, items: Vec<SearchItem>, tr: &Tr) -> Result<Vec<Card>, AppError> {
    let poster_ids = items.iter().filter_map(|i| i.outputs.first().and_then(|a| a.poster)).collect();
    let posters = media::assets(state, poster_ids).await?;
    let now = Timestamp::now();
    Ok(items
        .into_iter()
        .map(|i| {
            let g = &i.generation;
            let first: Option<&Asset> = i.outputs.first();
            let poster = first.and_then(|a| a.poster).and_then(|p| posters.iter().find(|x| x.id == p));
            let thumb = first.and_then(|output| media::thumbnail_link(state, output, poster));
            let shown = first.filter(|a| a.is_video() || a.is_inline_image());
            Card {
                id: g.id.to_string(),
                href: state.urls().generation(g.id),
                highlight: i.highlight,
                prompt: g.prompt.clone(),
                state: g.state.as_str(),
                model: g.model.clone(),
                created_rfc3339: g.created_at.rfc3339(),
                created: g.created_at,
                day: days::key(g.created_at, tr),
                cost: g.cost,
                kept: g.kept,
                shared: g.shared,
                mine: g.owner == viewer.id,
                thumb,
                media: shown.map(|a| media::signed_path(state, a)),
                preview: first.filter(|a| a.is_video()).map(|a| media::signed_thumbnail_path(state, a)),
                is_video: first.is_some_and(Asset::is_video),
                has_sound: i.outputs.iter().any(|a| a.has_sound),
                expires_in_days: crate::services::privacy::retention::days_left(state, viewer, g, now),
            }
        })
        .collect())
}
