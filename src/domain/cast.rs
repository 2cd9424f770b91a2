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

/// The longest tag (Runway's limit, the strictest of the providers that take tags).
pub const MAX_TAG_CHARS: usize = 16;
/// The shortest tag.
pub const MIN_TAG_CHARS: usize = 3;

/// The tag a provider knows a cast member's reference by, from its name: ASCII letters, digits
/// and `_` (spaces and dashes become `_`), starting with a letter, 3 to 16 characters (a short
/// name is padded with `_`); `None` when no letter is left ("Ōkami 狼" keeps "kami").
pub fn reference_tag(name: &str) -> Option<String> {
    let cleaned: String = name
        .trim()
        .chars()
        .filter_map(|c| match c {
            c if c.is_ascii_alphanumeric() || c == '_' => Some(c),
            ' ' | '-' => Some('_'),
            _ => None,
        })
        .skip_while(|c| !c.is_ascii_alphabetic())
        .take(MAX_TAG_CHARS)
        .collect();
    let cleaned = cleaned.trim_end_matches('_').to_string();
    if cleaned.is_empty() {
        return None;
    }
    Some(format!("{cleaned:_<MIN_TAG_CHARS$}"))
}

/// The tag of each reference a cast brought (in the order of `references`): a member's first
/// image is called by its tag (`Maya`), its later images `Maya_2`, `Maya_3` …, its voice
/// `Maya_voice`; `None` for a file no member holds or a name without a usable tag.
pub fn tags(members: &[CastMember], references: &[(ReferenceRole, AssetId)]) -> Vec<Option<String>> {
    references
        .iter()
        .map(|(_, id)| {
            let member = members.iter().find(|m| m.images.contains(id) || m.voice == Some(*id))?;
            let tag = reference_tag(&member.name)?;
            let suffix = match member.images.iter().position(|i| i == id) {
                Some(0) => return Some(tag),
                Some(n) => format!("_{}", n + 1),
                None => "_voice".to_string(),
            };
            let room = MAX_TAG_CHARS - suffix.len();
            Some(format!("{}{suffix}", tag.chars().take(room).collect::<String>()))
        })
        .collect()
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

    #[test]
    fn tags_are_safe_for_every_provider_and_name_each_file() {
        assert_eq!(reference_tag("Maya").as_deref(), Some("Maya"));
        assert_eq!(reference_tag("  red sneaker-2 ").as_deref(), Some("red_sneaker_2"));
        assert_eq!(reference_tag("42 Jo").as_deref(), Some("Jo_"), "starts with a letter, at least 3 characters");
        assert_eq!(reference_tag("Ōkami 狼").as_deref(), Some("kami"));
        assert_eq!(reference_tag("狼"), None);
        assert_eq!(reference_tag("Bartholomew the Great").as_deref(), Some("Bartholomew_the"), "16 at most, no trailing _");
        let mut maya = member(3, true);
        maya.name = "Bartholomew the Great".into();
        let refs: Vec<_> = maya
            .images
            .iter()
            .map(|&i| (ReferenceRole::Reference, i))
            .chain([(ReferenceRole::ReferenceAudio, maya.voice.unwrap())])
            .collect();
        let tags = tags(&[maya], &refs);
        assert_eq!(tags[0].as_deref(), Some("Bartholomew_the"));
        assert_eq!(tags[1].as_deref(), Some("Bartholomew_th_2"));
        assert_eq!(tags[3].as_deref(), Some("Bartholome_voice"));
        assert!(tags.iter().flatten().all(|t| (MIN_TAG_CHARS..=MAX_TAG_CHARS).contains(&t.len())), "{tags:?}");
        assert_eq!(super::tags(&[member(1, false)], &[(ReferenceRole::Reference, AssetId::generate())]), vec![None], "not a cast file");
    }
}
