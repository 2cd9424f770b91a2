//! The cast: named reference sets of a person or a board (create, change, delete, list), and
//! turning picked members into a generation's references for its model.

use crate::domain::asset::{Asset, AssetKind};
use crate::domain::audit::AuditAction;
use crate::domain::board::Owner;
use crate::domain::cast::{self, CastMember};
use crate::domain::catalog::{InputError, ReferenceRole};
use crate::domain::ids::{AssetId, CastId};
use crate::domain::time::Timestamp;
use crate::domain::user::User;
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::services::studio::generations::NewGeneration;
use crate::services::studio::ownership::{self, Access};
use crate::services::studio::{media, uploads};
use crate::services::{ServiceError, ServiceResult};
use crate::store;

/// What a create or an edit gives (on an edit, `None` leaves a field as it is).
#[derive(Debug, Clone, Default)]
pub struct CastInput {
    /// Who owns it (only on create; the caller when absent).
    pub owner: Option<Owner>,
    pub name: Option<String>,
    pub description: Option<String>,
    /// The caller's image uploads, in order.
    pub images: Option<Vec<AssetId>>,
    /// The caller's audio upload; `Some(None)` removes the voice.
    pub voice: Option<Option<AssetId>>,
}

/// One member with what the caller may do with it.
#[derive(Debug, Clone)]
pub struct Visible {
    pub member: CastMember,
    pub access: Access,
}

const WHAT: &str = "cast member";

/// Creates a cast member from the caller's uploads (images, and an optional voice clip);
/// audited as `cast.created`.
pub async fn create(state: &AppState, ctx: &Context, user: &User, input: CastInput) -> ServiceResult<CastMember> {
    crate::services::privacy::restriction::ensure_not_frozen(user)?;
    let owner = input.owner.unwrap_or(Owner::Person(user.id));
    ownership::ensure_can_change(state, user, owner, WHAT).await?;
    let (name, description) =
        cast::check_text(input.name.as_deref().unwrap_or_default(), input.description.as_deref().unwrap_or_default())?;
    let images = input.images.unwrap_or_default();
    let voice = input.voice.flatten();
    check_files(state, user, &images, voice, &[]).await?;
    let now = Timestamp::now();
    let member = CastMember {
        id: CastId::generate(),
        owner,
        created_by: user.id,
        name,
        description,
        images,
        voice,
        created_at: now,
        updated_at: now,
    };
    let (stored, ctx) = (member.clone(), ctx.clone());
    state
        .store
        .write(move |tx| {
            store::cast::put(tx, &stored, None)?;
            let detail = format!("cast member {:?}, {} images", stored.name, stored.images.len());
            audit::record(tx, &ctx, AuditAction::CastCreated, Some(stored.id.to_string()), Some(detail))
        })
        .await?;
    Ok(member)
}

/// Changes a member the caller may change (a board's viewer: 403).
pub async fn update(state: &AppState, user: &User, id: CastId, input: CastInput) -> ServiceResult<CastMember> {
    let current = get(state, user, id).await?;
    if !current.access.can_change() {
        return Err(ServiceError::NotEditor);
    }
    let old = current.member;
    let mut member = old.clone();
    let (name, description) =
        cast::check_text(input.name.as_deref().unwrap_or(&old.name), input.description.as_deref().unwrap_or(&old.description))?;
    (member.name, member.description) = (name, description);
    if let Some(images) = input.images {
        member.images = images;
    }
    if let Some(voice) = input.voice {
        member.voice = voice;
    }
    check_files(state, user, &member.images, member.voice, &old.files()).await?;
    member.updated_at = Timestamp::now();
    let stored = member.clone();
    state
        .store
        .write(move |tx| {
            // a concurrent delete wins: nothing is written back
            let Some(previous) = store::cast::get(tx, id)? else { return Err(ServiceError::NotFound(WHAT)) };
            store::cast::put(tx, &stored, Some(&previous)).map_err(ServiceError::from)
        })
        .await?;
    Ok(member)
}

/// Cleans and stores an image for a member the caller may change, and adds it at the end.
pub async fn add_image(state: &AppState, user: &User, id: CastId, bytes: Vec<u8>) -> ServiceResult<CastMember> {
    let current = get(state, user, id).await?;
    if !current.access.can_change() {
        return Err(ServiceError::NotEditor);
    }
    cast::check_image_count(current.member.images.len() + 1)?;
    let asset = uploads::upload(state, user, bytes).await?;
    if !asset.content_type.starts_with("image/") {
        return Err(InputError::on("file", "a cast member's image must be a PNG, JPEG or WebP image").into());
    }
    let mut images = current.member.images.clone();
    images.push(asset.id);
    update(state, user, id, CastInput { images: Some(images), ..CastInput::default() }).await
}

/// Deletes a member the caller may change; audited as `cast.deleted`. A member a preset uses
/// is kept: 409 naming the presets. Its files stop being held and follow the upload class.
pub async fn delete(state: &AppState, ctx: &Context, user: &User, id: CastId) -> ServiceResult<()> {
    let current = get(state, user, id).await?;
    if !current.access.can_change() {
        return Err(ServiceError::NotEditor);
    }
    let ctx = ctx.clone();
    state
        .store
        .write(move |tx| {
            let Some(member) = store::cast::get(tx, id)? else { return Err(ServiceError::NotFound(WHAT)) };
            let users = store::cast::used_by(tx, id)?;
            if !users.is_empty() {
                let mut names = Vec::new();
                for preset in users {
                    names.extend(store::presets::get(tx, preset)?.map(|p| format!("{:?}", p.name)));
                }
                return Err(in_use(&member.name, &names));
            }
            store::cast::remove(tx, &member)?;
            audit::record(tx, &ctx, AuditAction::CastDeleted, Some(id.to_string()), Some(format!("cast member {:?}", member.name)))?;
            Ok(())
        })
        .await
}

/// The refusal to delete a member that presets use.
fn in_use(name: &str, presets: &[String]) -> ServiceError {
    ServiceError::InUse(format!("the cast member {name:?} is used by the presets {}: remove it from them first", presets.join(", ")))
}

/// A member the caller may see (theirs, or a board's they are a member of).
pub async fn get(state: &AppState, user: &User, id: CastId) -> ServiceResult<Visible> {
    let member = state.store.read(move |tx| store::cast::get(tx, id)).await?.ok_or(ServiceError::NotFound(WHAT))?;
    let access = ownership::access(state, user, member.owner, WHAT).await?;
    Ok(Visible { member, access })
}

/// The caller's cast and that of every board they are a member of, oldest first within each.
pub async fn list(state: &AppState, user: &User) -> ServiceResult<Vec<Visible>> {
    let me = user.id;
    let (mine, boards) = state
        .store
        .read(move |tx| Ok::<_, ServiceError>((store::cast::list_for_owner(tx, Owner::Person(me))?, store::cast::boards(tx)?)))
        .await?;
    let mut out: Vec<Visible> = mine.into_iter().map(|member| Visible { member, access: Access::Change }).collect();
    for board in boards {
        let Ok(access) = ownership::access(state, user, Owner::Board(board), WHAT).await else { continue };
        let members = state.store.read(move |tx| store::cast::list_for_owner(tx, Owner::Board(board))).await?;
        out.extend(members.into_iter().map(|member| Visible { member, access }));
    }
    Ok(out)
}

/// Removes the presets and cast of boards that no longer exist (a deleted board's), so the
/// uploads they held follow the upload class again; returns how many went. Run by each
/// retention sweep.
pub async fn forget_deleted_boards(state: &AppState) -> ServiceResult<usize> {
    state
        .store
        .write(|tx| {
            let mut boards = store::presets::boards(tx)?;
            boards.extend(store::cast::boards(tx)?);
            boards.sort();
            boards.dedup();
            let mut removed = 0;
            for board in boards {
                if store::boards::get(tx, board)?.is_none() {
                    removed += store::presets::remove_all_for(tx, Owner::Board(board))?;
                    removed += store::cast::remove_all_for(tx, Owner::Board(board))?;
                }
            }
            Ok(removed)
        })
        .await
}

/// The picked members, in the order picked, each one the caller may use (else 404).
pub async fn picked(state: &AppState, user: &User, ids: &[CastId]) -> ServiceResult<Vec<CastMember>> {
    if ids.len() > cast::MAX_PICKED {
        return Err(InputError::on("cast", format!("pick at most {} cast members", cast::MAX_PICKED)).into());
    }
    let mut out: Vec<CastMember> = Vec::with_capacity(ids.len());
    for id in ids {
        if out.iter().any(|m| m.id == *id) {
            continue;
        }
        out.push(get(state, user, *id).await?.member);
    }
    Ok(out)
}

/// Adds the picked members' files to `request` as references of its model (see
/// [`cast::references`]); a model that takes no reference images refuses by name (422). Files
/// of a teammate's (a board's member made by someone else) are copied as the caller's.
pub async fn apply(state: &AppState, user: &User, request: &mut NewGeneration, ids: &[CastId]) -> ServiceResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let members = picked(state, user, ids).await?;
    let model = state.registry().model(&request.model).cloned().ok_or_else(|| ServiceError::UnknownModel(request.model.clone()))?;
    let references = cast::references(&model, &members, &request.references)?;
    let tags = cast::tags(&members, &references);
    let owned = own_copies(state, user, references).await?;
    // a copy takes the place of its original: the same order, so the same tag
    for ((_, upload), tag) in owned.iter().zip(tags) {
        if let Some(tag) = tag {
            request.tags.insert(*upload, tag);
        }
    }
    request.references.extend(owned);
    Ok(())
}

/// The references with every file that is not `user`'s replaced by a copy that is.
pub async fn own_copies(
    state: &AppState,
    user: &User,
    references: Vec<(ReferenceRole, AssetId)>,
) -> ServiceResult<Vec<(ReferenceRole, AssetId)>> {
    if references.is_empty() {
        return Ok(references);
    }
    let assets = media::assets(state, references.iter().map(|(_, id)| *id).collect()).await?;
    let mut out = Vec::with_capacity(references.len());
    for (role, id) in references {
        let asset = assets.iter().find(|a| a.id == id).ok_or(ServiceError::NotFound("upload"))?;
        if asset.owner == user.id {
            out.push((role, id));
        } else {
            out.push((role, uploads::copy_for(state, user, asset).await?.id));
        }
    }
    Ok(out)
}

/// Checks a member's files: the images are the caller's image uploads (1..=max), the voice
/// their audio upload; files the member already had (`kept`) stay allowed whoever uploaded them.
async fn check_files(state: &AppState, user: &User, images: &[AssetId], voice: Option<AssetId>, kept: &[AssetId]) -> ServiceResult<()> {
    cast::check_image_count(images.len())?;
    let mut ids: Vec<AssetId> = images.to_vec();
    ids.extend(voice);
    let assets = media::assets(state, ids).await?;
    let usable = |id: AssetId| -> Option<&Asset> {
        assets.iter().find(|a| a.id == id && a.kind == AssetKind::Upload && (a.owner == user.id || kept.contains(&id)))
    };
    for id in images {
        let asset = usable(*id).ok_or(ServiceError::NotFound("upload"))?;
        if !asset.content_type.starts_with("image/") {
            return Err(InputError::on("images", format!("{id} is not an image upload")).into());
        }
    }
    if let Some(id) = voice {
        let asset = usable(id).ok_or(ServiceError::NotFound("upload"))?;
        if !asset.is_audio() {
            return Err(InputError::on("voice", format!("{id} is not an audio upload")).into());
        }
    }
    Ok(())
}
