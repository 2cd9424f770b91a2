//! Earlier layouts of generation records, `Generation@1` to `@4`.

use serde::{Deserialize, Serialize};

use crate::domain::catalog::{MediaKind, Params};
use crate::domain::generation::{GenState, Generation, ModelSnapshot, OutputRef, ProviderUsage, Reason, Reference, UpstreamHandle};
use crate::domain::ids::{AssetId, GenerationId, UserId};
use crate::domain::time::Timestamp;
use crate::store::StoreError;
use crate::store::codec::{Stored, upgrade_from};

impl Stored for Generation {
    const TYPE_NAME: &'static str = "reelvault::Generation@5";
    fn upgrade(name: &str, payload: &[u8]) -> Option<Result<Self, StoreError>> {
        match name {
            "reelvault::Generation@1" => Some(upgrade_from::<GenerationV1, Generation>(name, payload)),
            "reelvault::Generation@2" => Some(upgrade_from::<GenerationV2, Generation>(name, payload)),
            "reelvault::Generation@3" => Some(upgrade_from::<GenerationV3, Generation>(name, payload)),
            "reelvault::Generation@4" => Some(upgrade_from::<GenerationV4, Generation>(name, payload)),
            _ => None,
        }
    }
}

/// An output as `reelvault::Generation@1` and `@2` stored it: no provider thumbnail.
#[derive(Serialize, Deserialize)]
pub(crate) struct OutputRefV1 {
    location: String,
    content_type: Option<String>,
}

impl From<OutputRefV1> for OutputRef {
    fn from(v: OutputRefV1) -> OutputRef {
        OutputRef::new(v.location, v.content_type)
    }
}

/// `reelvault::Generation@1`.
#[derive(Serialize, Deserialize)]
pub(crate) struct GenerationV1 {
    id: GenerationId,
    owner: UserId,
    model: String,
    kind: MediaKind,
    connection: String,
    prompt: String,
    negative_prompt: Option<String>,
    params: Params,
    references: Vec<Reference>,
    state: GenState,
    reason: Option<Reason>,
    progress: Option<u8>,
    cost: u64,
    created_at: Timestamp,
    updated_at: Timestamp,
    submitted_at: Option<Timestamp>,
    finished_at: Option<Timestamp>,
    deadline_at: Timestamp,
    upstream: Option<UpstreamHandle>,
    pending_outputs: Vec<OutputRefV1>,
    outputs: Vec<AssetId>,
    cancel_requested: bool,
}

impl From<GenerationV1> for Generation {
    fn from(v: GenerationV1) -> Generation {
        GenerationV2::from(v).into()
    }
}

impl From<GenerationV1> for GenerationV2 {
    fn from(v: GenerationV1) -> GenerationV2 {
        GenerationV2 {
            id: v.id,
            owner: v.owner,
            model: v.model,
            kind: v.kind,
            connection: v.connection,
            prompt: v.prompt,
            negative_prompt: v.negative_prompt,
            params: v.params,
            references: v.references,
            state: v.state,
            reason: v.reason,
            progress: v.progress,
            cost: v.cost,
            created_at: v.created_at,
            updated_at: v.updated_at,
            submitted_at: v.submitted_at,
            finished_at: v.finished_at,
            deadline_at: v.deadline_at,
            upstream: v.upstream,
            pending_outputs: v.pending_outputs,
            outputs: v.outputs,
            cancel_requested: v.cancel_requested,
            kept: false,
            shared: false,
            legal_hold: false,
            upstream_deleted_at: None,
            deleted_at: None,
        }
    }
}

/// `reelvault::Generation@2`: outputs without the provider's thumbnail.
#[derive(Serialize, Deserialize)]
pub(crate) struct GenerationV2 {
    id: GenerationId,
    owner: UserId,
    model: String,
    kind: MediaKind,
    connection: String,
    prompt: String,
    negative_prompt: Option<String>,
    params: Params,
    references: Vec<Reference>,
    state: GenState,
    reason: Option<Reason>,
    progress: Option<u8>,
    cost: u64,
    created_at: Timestamp,
    updated_at: Timestamp,
    submitted_at: Option<Timestamp>,
    finished_at: Option<Timestamp>,
    deadline_at: Timestamp,
    upstream: Option<UpstreamHandle>,
    pending_outputs: Vec<OutputRefV1>,
    outputs: Vec<AssetId>,
    cancel_requested: bool,
    kept: bool,
    shared: bool,
    legal_hold: bool,
    upstream_deleted_at: Option<Timestamp>,
    deleted_at: Option<Timestamp>,
}

impl From<GenerationV2> for GenerationV3 {
    fn from(v: GenerationV2) -> GenerationV3 {
        GenerationV3 {
            id: v.id,
            owner: v.owner,
            model: v.model,
            kind: v.kind,
            connection: v.connection,
            prompt: v.prompt,
            negative_prompt: v.negative_prompt,
            params: v.params,
            references: v.references,
            state: v.state,
            reason: v.reason,
            progress: v.progress,
            cost: v.cost,
            created_at: v.created_at,
            updated_at: v.updated_at,
            submitted_at: v.submitted_at,
            finished_at: v.finished_at,
            deadline_at: v.deadline_at,
            upstream: v.upstream,
            pending_outputs: v.pending_outputs.into_iter().map(OutputRef::from).collect(),
            outputs: v.outputs,
            cancel_requested: v.cancel_requested,
            kept: v.kept,
            shared: v.shared,
            legal_hold: v.legal_hold,
            upstream_deleted_at: v.upstream_deleted_at,
            deleted_at: v.deleted_at,
        }
    }
}

/// `reelvault::Generation@3`: no catalog snapshot, no provider-reported usage.
#[derive(Serialize, Deserialize)]
pub(crate) struct GenerationV3 {
    id: GenerationId,
    owner: UserId,
    model: String,
    kind: MediaKind,
    connection: String,
    prompt: String,
    negative_prompt: Option<String>,
    params: Params,
    references: Vec<Reference>,
    state: GenState,
    reason: Option<Reason>,
    progress: Option<u8>,
    cost: u64,
    created_at: Timestamp,
    updated_at: Timestamp,
    submitted_at: Option<Timestamp>,
    finished_at: Option<Timestamp>,
    deadline_at: Timestamp,
    upstream: Option<UpstreamHandle>,
    pending_outputs: Vec<OutputRef>,
    outputs: Vec<AssetId>,
    cancel_requested: bool,
    kept: bool,
    shared: bool,
    legal_hold: bool,
    upstream_deleted_at: Option<Timestamp>,
    deleted_at: Option<Timestamp>,
}

impl From<GenerationV2> for Generation {
    fn from(v: GenerationV2) -> Generation {
        GenerationV3::from(v).into()
    }
}

impl From<GenerationV3> for GenerationV4 {
    fn from(v: GenerationV3) -> GenerationV4 {
        GenerationV4 {
            id: v.id,
            owner: v.owner,
            model: v.model,
            kind: v.kind,
            connection: v.connection,
            prompt: v.prompt,
            negative_prompt: v.negative_prompt,
            params: v.params,
            references: v.references,
            state: v.state,
            reason: v.reason,
            progress: v.progress,
            cost: v.cost,
            created_at: v.created_at,
            updated_at: v.updated_at,
            submitted_at: v.submitted_at,
            finished_at: v.finished_at,
            deadline_at: v.deadline_at,
            upstream: v.upstream,
            pending_outputs: v.pending_outputs,
            outputs: v.outputs,
            cancel_requested: v.cancel_requested,
            kept: v.kept,
            shared: v.shared,
            legal_hold: v.legal_hold,
            upstream_deleted_at: v.upstream_deleted_at,
            deleted_at: v.deleted_at,
            made_with: None,
            reported: None,
        }
    }
}

/// `reelvault::Generation@4`: no source (the earlier output a generation extends or edits).
#[derive(Serialize, Deserialize)]
pub(crate) struct GenerationV4 {
    id: GenerationId,
    owner: UserId,
    model: String,
    kind: MediaKind,
    connection: String,
    prompt: String,
    negative_prompt: Option<String>,
    params: Params,
    references: Vec<Reference>,
    state: GenState,
    reason: Option<Reason>,
    progress: Option<u8>,
    cost: u64,
    created_at: Timestamp,
    updated_at: Timestamp,
    submitted_at: Option<Timestamp>,
    finished_at: Option<Timestamp>,
    deadline_at: Timestamp,
    upstream: Option<UpstreamHandle>,
    pending_outputs: Vec<OutputRef>,
    outputs: Vec<AssetId>,
    cancel_requested: bool,
    kept: bool,
    shared: bool,
    legal_hold: bool,
    upstream_deleted_at: Option<Timestamp>,
    deleted_at: Option<Timestamp>,
    made_with: Option<ModelSnapshot>,
    reported: Option<ProviderUsage>,
}

impl From<GenerationV3> for Generation {
    fn from(v: GenerationV3) -> Generation {
        GenerationV4::from(v).into()
    }
}

impl From<GenerationV4> for Generation {
    fn from(v: GenerationV4) -> Generation {
        Generation {
            id: v.id,
            owner: v.owner,
            model: v.model,
            kind: v.kind,
            connection: v.connection,
            prompt: v.prompt,
            negative_prompt: v.negative_prompt,
            params: v.params,
            references: v.references,
            state: v.state,
            reason: v.reason,
            progress: v.progress,
            cost: v.cost,
            created_at: v.created_at,
            updated_at: v.updated_at,
            submitted_at: v.submitted_at,
            finished_at: v.finished_at,
            deadline_at: v.deadline_at,
            upstream: v.upstream,
            pending_outputs: v.pending_outputs,
            outputs: v.outputs,
            cancel_requested: v.cancel_requested,
            kept: v.kept,
            shared: v.shared,
            legal_hold: v.legal_hold,
            upstream_deleted_at: v.upstream_deleted_at,
            deleted_at: v.deleted_at,
            made_with: v.made_with,
            reported: v.reported,
            source: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::store::codec;
    use crate::store::legacy::tests::written_as;

    #[test]
    fn generations_of_the_first_layout_read_with_the_new_fields_off() {
        let now = Timestamp::now();
        let old = GenerationV1 {
            id: GenerationId::generate(),
            owner: UserId::generate(),
            model: "demo-image".into(),
            kind: MediaKind::Image,
            connection: "demo".into(),
            prompt: "a kite".into(),
            negative_prompt: None,
            params: BTreeMap::new(),
            references: Vec::new(),
            state: GenState::Succeeded,
            reason: None,
            progress: Some(100),
            cost: 3,
            created_at: now,
            updated_at: now,
            submitted_at: Some(now),
            finished_at: Some(now),
            deadline_at: now,
            upstream: None,
            pending_outputs: vec![OutputRefV1 { location: "demo:0".into(), content_type: Some("image/png".into()) }],
            outputs: vec![AssetId::generate()],
            cancel_requested: false,
        };
        let g: Generation = codec::decode(&written_as("reelvault::Generation@1", &old)).unwrap();
        assert_eq!((g.id, g.prompt.as_str(), g.cost, g.state, g.outputs.len()), (old.id, "a kite", 3, GenState::Succeeded, 1));
        assert!(!g.kept && !g.shared && !g.legal_hold && g.deleted_at.is_none() && g.upstream_deleted_at.is_none());
        assert_eq!(g.pending_outputs, vec![OutputRef::new("demo:0", Some("image/png".into()))]);
        let again: Generation = codec::decode(&codec::encode(&g).unwrap()).unwrap();
        assert_eq!(again.id, g.id, "rewritten in the current layout");
    }

    #[test]
    fn generations_of_the_second_layout_read_with_outputs_without_a_thumbnail() {
        let now = Timestamp::now();
        let handle = UpstreamHandle { id: "video_1".into(), data: BTreeMap::from([("k".to_string(), "v".to_string())]) };
        let old = GenerationV2 {
            id: GenerationId::generate(),
            owner: UserId::generate(),
            model: "sora-2".into(),
            kind: MediaKind::Video,
            connection: "openai".into(),
            prompt: "a red kite".into(),
            negative_prompt: Some("rain".into()),
            params: BTreeMap::new(),
            references: Vec::new(),
            state: GenState::Fetching,
            reason: None,
            progress: Some(100),
            cost: 40,
            created_at: now,
            updated_at: now,
            submitted_at: Some(now),
            finished_at: None,
            deadline_at: now,
            upstream: Some(handle.clone()),
            pending_outputs: vec![
                OutputRefV1 { location: "videos/video_1/content".into(), content_type: Some("video/mp4".into()) },
                OutputRefV1 { location: "videos/video_1/other".into(), content_type: None },
            ],
            outputs: Vec::new(),
            cancel_requested: true,
            kept: true,
            shared: true,
            legal_hold: true,
            upstream_deleted_at: Some(now),
            deleted_at: None,
        };
        let bytes = written_as("reelvault::Generation@2", &old);
        let g: Generation = codec::decode(&bytes).unwrap();
        assert_eq!((g.id, g.owner, g.model.as_str(), g.state, g.cost), (old.id, old.owner, "sora-2", GenState::Fetching, 40));
        assert_eq!(g.upstream, Some(handle), "the fields after the outputs are read in their places");
        assert_eq!(
            g.pending_outputs,
            vec![OutputRef::new("videos/video_1/content", Some("video/mp4".into())), OutputRef::new("videos/video_1/other", None)]
        );
        assert!(g.pending_outputs.iter().all(|o| o.thumbnail.is_none()));
        assert!(g.cancel_requested && g.kept && g.shared && g.legal_hold);
        assert_eq!((g.upstream_deleted_at, g.deleted_at), (Some(now), None));
        // the current layout is a different one: the old bytes are not misread as it
        assert!(codec::decode::<Generation>(&written_as(<Generation as Stored>::TYPE_NAME, &old)).is_err());
        let mut g = g;
        g.pending_outputs[0].thumbnail = Some("videos/video_1/content?variant=thumbnail".into());
        let again: Generation = codec::decode(&codec::encode(&g).unwrap()).unwrap();
        assert_eq!(again.pending_outputs, g.pending_outputs, "rewritten in the current layout, thumbnail and all");
        assert!(codec::encode(&g).unwrap()[1..].starts_with(b"reelvault::Generation@5"));
    }
}
