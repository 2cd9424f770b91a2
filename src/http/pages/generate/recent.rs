//! The person's recent reference files (the uploads their latest generations took, and those
//! generations' outputs), offered on the form for reuse in any of the chosen model's reference
//! roles that takes their kind.

use crate::domain::catalog::{ModelSpec, ReferenceRole};
use crate::domain::ids::AssetId;
use crate::domain::user::User;
use crate::error::AppError;
use crate::services::state::AppState;
use crate::services::studio::{generations, media};

/// How many of the latest generations are looked through.
const GENERATIONS_LOOKED_AT: usize = 30;
/// How many uploads the form offers at most.
const MOST_OFFERED: usize = 8;

/// An earlier upload the form offers again.
pub struct RecentUpload {
    pub upload: String,
    /// Its signed URL, for the thumbnail or player.
    pub url: String,
    /// `image`, `video` or `audio`.
    pub shown_as: &'static str,
    /// The model's reference roles it may fill: (role, label).
    pub roles: Vec<(&'static str, String)>,
}

/// `user`'s uploads used in their latest generations, newest first, that `model` can take.
pub async fn recent_uploads(state: &AppState, user: &User, model: &ModelSpec, tr: &crate::i18n::Tr) -> Result<Vec<RecentUpload>, AppError> {
    let roles: Vec<ReferenceRole> = model.inputs.iter().map(|i| i.role).filter(|r| *r != ReferenceRole::SourceVideo).collect();
    if roles.is_empty() {
        return Ok(Vec::new());
    }
    let latest = generations::list(state, user.id, None, GENERATIONS_LOOKED_AT).await?;
    let mut ids: Vec<AssetId> = Vec::new();
    // newest first: each generation's outputs, then what it took
    for g in &latest {
        let took = g.references.iter().filter(|r| r.role != ReferenceRole::SourceVideo).map(|r| r.upload);
        for id in g.outputs.iter().copied().chain(took) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    let assets = media::assets(state, ids).await?;
    Ok(assets
        .iter()
        .filter(|a| a.owner == user.id && a.usable_as_reference())
        .filter_map(|a| {
            let fits: Vec<_> =
                roles.iter().filter(|r| r.media().as_str() == a.shown_as()).map(|r| (r.as_str(), tr.reference_role(*r))).collect();
            (!fits.is_empty()).then(|| RecentUpload {
                upload: a.id.to_string(),
                url: media::signed_path(state, a),
                shown_as: a.shown_as(),
                roles: fits,
            })
        })
        .take(MOST_OFFERED)
        .collect())
}
