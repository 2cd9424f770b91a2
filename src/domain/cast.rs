//! The cast: named reference sets (a character, a product, a style), each a few images and
//! an optional voice clip, and how picked members become a model's references.

use serde::{Deserialize, Serialize};

use super::board::Owner;
use super::catalog::{InputError, ModelSpec, ReferenceRole};
use super::ids::{AssetId, CastId, UserId};
use super::time::Timestamp;

/// The most images one cast member may have.
pub const MAX_IMAGES: usize = 8;
/// The longest name, in characters.
pub const MAX_NAME_CHARS: usize = 60;
/// The longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1_000;
/// The most cast members one generation may pick.
pub const MAX_PICKED: usize = 8;

/// A named set of reference files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CastMember {
    pub id: CastId,
    pub owner: Owner,
    /// Who created it (for a board's member: one of its editors); its files are theirs.
    pub created_by: UserId,
    pub name: String,
    pub description: String,
    /// Reference images (1..=[`MAX_IMAGES`]), in the order they are used.
    pub images: Vec<AssetId>,
    /// A voice clip, for models that take reference audio.
    pub voice: Option<AssetId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl CastMember {
    /// Every file of the member: images, then the voice.
    pub fn files(&self) -> Vec<AssetId> {
        self.images.iter().copied().chain(self.voice).collect()
    }
}

/// Checks a name and description; returns them trimmed.
pub fn check_text(name: &str, description: &str) -> Result<(String, String), InputError> {
    let (name, description) = (name.trim(), description.trim());
    if name.is_empty() {
        return Err(InputError::on("name", "give the cast member a name"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(InputError::on("name", format!("the name is longer than {MAX_NAME_CHARS} characters")));
    }
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(InputError::on("description", format!("the description is longer than {MAX_DESCRIPTION_CHARS} characters")));
    }
    Ok((name.to_string(), description.to_string()))
}

/// Checks the number of images.
pub fn check_image_count(count: usize) -> Result<(), InputError> {
    if count == 0 {
        return Err(InputError::on("images", "a cast member needs at least one image"));
    }
    if count > MAX_IMAGES {
        return Err(InputError::on("images", format!("a cast member has at most {MAX_IMAGES} images")));
    }
    Ok(())
}

/// The sentence a model that takes no reference images answers a picked cast member with.
pub fn takes_no_references(model: &ModelSpec) -> String {
    format!("{} ({}) takes no reference images; remove the cast member", model.label, model.id)
}

/// Turns picked `members` into references of `model`, after the references already `given`:
/// a model taking reference images gets each member's first image, then their further
/// images, in the order picked, up to its maximum; one taking only a first frame gets the
/// (single) member's first image as first frame; one taking reference audio gets the
/// members' voices. A model that takes no reference images refuses (422 on `cast`).
pub fn references(
    model: &ModelSpec,
    members: &[CastMember],
    given: &[(ReferenceRole, AssetId)],
) -> Result<Vec<(ReferenceRole, AssetId)>, InputError> {
    if members.is_empty() {
        return Ok(Vec::new());
    }
    if members.len() > MAX_PICKED {
        return Err(InputError::on("cast", format!("pick at most {MAX_PICKED} cast members")));
    }
    let already = |role: ReferenceRole| given.iter().filter(|(r, _)| *r == role).count();
    let mut out = Vec::new();
    if let Some(input) = model.input(ReferenceRole::Reference) {
        let room = (input.max as usize).saturating_sub(already(ReferenceRole::Reference));
        if room == 0 {
            return Err(InputError::on(
                "cast",
                format!("{} takes at most {} reference images, and they are all given", model.id, input.max),
            ));
        }
        let firsts = members.iter().filter_map(|m| m.images.first());
        let rest = members.iter().flat_map(|m| m.images.iter().skip(1));
        out.extend(firsts.chain(rest).take(room).map(|id| (ReferenceRole::Reference, *id)));
    } else if model.takes(ReferenceRole::FirstFrame) {
        if members.len() > 1 {
            return Err(InputError::on("cast", format!("{} takes one image, as its first frame: pick one cast member", model.label)));
        }
        if already(ReferenceRole::FirstFrame) > 0 {
            return Err(InputError::on("cast", "a first frame is already given: remove it or the cast member"));
        }
        out.extend(members[0].images.first().map(|id| (ReferenceRole::FirstFrame, *id)));
    } else {
        return Err(InputError::on("cast", takes_no_references(model)));
    }
    if let Some(input) = model.input(ReferenceRole::ReferenceAudio) {
        let room = (input.max as usize).saturating_sub(already(ReferenceRole::ReferenceAudio));
        out.extend(members.iter().filter_map(|m| m.voice).take(room).map(|id| (ReferenceRole::ReferenceAudio, id)));
    }
    Ok(out)
}

/// Whether `model` can take cast members at all (reference images or a first frame).
pub fn takes_cast(model: &ModelSpec) -> bool {
    model.takes(ReferenceRole::Reference) || model.takes(ReferenceRole::FirstFrame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::{InputSpec, shipped_models};

    fn model_with(inputs: &[(ReferenceRole, u32)]) -> ModelSpec {
        let mut m = shipped_models().into_iter().find(|m| m.id == "demo-image").unwrap();
        m.inputs = inputs.iter().map(|&(role, max)| InputSpec { role, required: false, max, types: Vec::new() }).collect();
        m
    }

    fn member(images: usize, voice: bool) -> CastMember {
        CastMember {
            id: CastId::generate(),
            owner: Owner::Person(UserId::generate()),
            created_by: UserId::generate(),
            name: "Ann".into(),
            description: String::new(),
            images: (0..images).map(|_| AssetId::generate()).collect(),
            voice: voice.then(AssetId::generate),
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
        }
    }

    #[test]
    fn reference_images_take_each_first_image_then_the_rest_up_to_the_max() {
        let (a, b) = (member(3, false), member(2, false));
        let model = model_with(&[(ReferenceRole::Reference, 3)]);
        let refs = references(&model, &[a.clone(), b.clone()], &[]).unwrap();
        let ids: Vec<_> = refs.iter().map(|(_, id)| *id).collect();
        assert_eq!(ids, vec![a.images[0], b.images[0], a.images[1]]);
        assert!(refs.iter().all(|(r, _)| *r == ReferenceRole::Reference));
        let given = [(ReferenceRole::Reference, AssetId::generate()); 2];
        assert_eq!(references(&model, std::slice::from_ref(&a), &given).unwrap().len(), 1);
        let full = [(ReferenceRole::Reference, AssetId::generate()); 3];
        assert_eq!(references(&model, &[a], &full).unwrap_err().field, "cast");
    }

    #[test]
    fn a_first_frame_model_takes_one_members_first_image() {
        let model = model_with(&[(ReferenceRole::FirstFrame, 1), (ReferenceRole::LastFrame, 1)]);
        let a = member(2, true);
        assert_eq!(references(&model, std::slice::from_ref(&a), &[]).unwrap(), vec![(ReferenceRole::FirstFrame, a.images[0])]);
        assert!(references(&model, &[a.clone(), member(1, false)], &[]).unwrap_err().message.contains("pick one"));
        assert!(references(&model, &[a], &[(ReferenceRole::FirstFrame, AssetId::generate())]).is_err());
    }

    #[test]
    fn voices_go_to_models_taking_reference_audio() {
        let model = model_with(&[(ReferenceRole::Reference, 4), (ReferenceRole::ReferenceAudio, 1)]);
        let (a, b) = (member(1, true), member(1, true));
        let refs = references(&model, &[a.clone(), b], &[]).unwrap();
        assert_eq!(
            refs.iter().filter(|(r, _)| *r == ReferenceRole::ReferenceAudio).collect::<Vec<_>>(),
            vec![&(ReferenceRole::ReferenceAudio, a.voice.unwrap())]
        );
    }

    #[test]
    fn a_model_without_reference_images_refuses_by_name() {
        let model = model_with(&[]);
        let e = references(&model, &[member(1, false)], &[]).unwrap_err();
        assert_eq!(e.message, format!("{} (demo-image) takes no reference images; remove the cast member", model.label));
        assert!(!takes_cast(&model));
        assert!(references(&model, &[], &[]).unwrap().is_empty());
    }

    #[test]
    fn names_and_image_counts_are_bounded() {
        assert_eq!(check_text(" Ann ", " a hero ").unwrap(), ("Ann".into(), "a hero".into()));
        assert!(check_text("", "").is_err());
        assert!(check_image_count(0).is_err());
        assert!(check_image_count(MAX_IMAGES + 1).is_err());
        assert!(check_image_count(1).is_ok());
    }
}
