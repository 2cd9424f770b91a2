//! Generations made from an earlier output (extend, edit, enhance): checking a submit's
//! source, the source and descendants a generation page links to, and the models that can
//! work on an output.

use crate::domain::asset::{Asset, AssetKind};
use crate::domain::catalog::{InputError, ModelSpec, Operation, ReferenceRole};
use crate::domain::generation::{GenState, Generation};
use crate::domain::ids::{AssetId, GenerationId};
use crate::domain::user::User;
use crate::services::ServiceResult;
use crate::services::state::AppState;
use crate::services::studio::{media, models};
use crate::store;

/// How many descendants a generation page lists.
const MADE_FROM_SHOWN: usize = 50;

/// A submit's source: the earlier generation and the video of it the job receives.
#[derive(Debug, Clone)]
pub struct Source {
    pub generation: GenerationId,
    pub video: Asset,
}

/// Checks that `model` works on an earlier output and that `id` is one of `user`'s succeeded
/// video generations; answers its video. Every refusal names the `source` field (422).
pub async fn source_of(
    state: &AppState,
    user: &User,
    model: &ModelSpec,
    id: GenerationId,
    references: &[(ReferenceRole, AssetId)],
) -> ServiceResult<Source> {
    if model.operation.is_none() {
        return Err(InputError::on(
            "source",
            format!("{} does not work on an earlier output: choose a model that extends, edits or enhances", model.id),
        )
        .into());
    }
    if references.iter().any(|(role, _)| *role == ReferenceRole::SourceVideo) {
        return Err(InputError::on("source", "give the video to work on once: as source or as a source_video reference, not both").into());
    }
    let owner = user.id;
    let generation = state
        .store
        .read(move |tx| store::generations::get(tx, id))
        .await?
        .filter(|g| g.owner == owner && g.deleted_at.is_none())
        .ok_or_else(|| InputError::on("source", format!("{id} is not one of your generations")))?;
    if generation.state != GenState::Succeeded {
        return Err(InputError::on(
            "source",
            format!("{id} has not succeeded ({}): only a finished video can be worked on", generation.state),
        )
        .into());
    }
    let video = media::assets(state, generation.outputs.clone())
        .await?
        .into_iter()
        .find(|a| a.owner == owner && a.kind == AssetKind::Output && a.content_type.starts_with("video/"))
        .ok_or_else(|| InputError::on("source", format!("{id} has no video to work on")))?;
    Ok(Source { generation: id, video })
}

/// A generation as a link: its id, model and state.
#[derive(Debug, Clone)]
pub struct Link {
    pub id: GenerationId,
    pub model: String,
    pub state: GenState,
}

impl Link {
    fn of(g: &Generation) -> Self {
        Link { id: g.id, model: g.made_with.as_ref().map_or_else(|| g.model.clone(), |w| w.label.clone()), state: g.state }
    }
}

/// Where a generation came from and what was made from it, as `viewer` may see them.
#[derive(Debug, Clone, Default)]
pub struct Lineage {
    /// The source's id, and its link when the viewer may still see it (a deleted source
    /// keeps its id so the page can say it is gone).
    pub source: Option<(GenerationId, Option<Link>)>,
    pub made_from: Vec<Link>,
}

/// The lineage of `g` as `viewer` sees it: only generations they may look at are linked.
pub async fn lineage(state: &AppState, viewer: &User, g: &Generation) -> ServiceResult<Lineage> {
    let (id, source, viewer) = (g.id, g.source, viewer.id);
    state
        .store
        .read(move |tx| {
            let visible = |g: &Generation| (g.owner == viewer || g.shared) && g.deleted_at.is_none();
            let source = match source {
                Some(s) => Some((s, store::generations::get(tx, s)?.filter(visible).as_ref().map(Link::of))),
                None => None,
            };
            let children = store::generations::made_from(tx, id, MADE_FROM_SHOWN)?;
            let made_from =
                store::generations::get_many(tx, &children)?.into_iter().flatten().filter(visible).map(|g| Link::of(&g)).collect();
            Ok::<_, store::StoreError>(Lineage { source, made_from })
        })
        .await
        .map_err(Into::into)
}

/// A model that can work on an output, as offered on the generation page.
#[derive(Debug, Clone)]
pub struct Offered {
    pub operation: Operation,
    pub model: String,
    pub label: String,
}

/// The models `user` may use on `g`'s output (none unless it is their own succeeded video),
/// grouped by operation in the order extend, edit, enhance.
pub async fn operations_on(state: &AppState, user: &User, g: &Generation) -> ServiceResult<Vec<Offered>> {
    if g.owner != user.id || g.state != GenState::Succeeded || g.kind != crate::domain::catalog::MediaKind::Video {
        return Ok(Vec::new());
    }
    let mut offered: Vec<Offered> = models::offers(state, user)
        .await?
        .into_iter()
        .filter(|o| o.usable())
        .filter_map(|o| o.spec.operation.map(|operation| Offered { operation, model: o.spec.id.clone(), label: o.spec.label.clone() }))
        .collect();
    offered.sort_by_key(|o| Operation::ALL.iter().position(|op| *op == o.operation));
    Ok(offered)
}
