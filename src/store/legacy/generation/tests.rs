//! Reading generations written in earlier layouts.

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
    assert!(codec::encode(&g).unwrap()[1..].starts_with(b"reelvault::Generation@6"));
}

#[test]
fn generations_of_the_fifth_layout_read_with_untagged_references() {
    let now = Timestamp::now();
    let upload = AssetId::generate();
    let old = GenerationV5 {
        id: GenerationId::generate(),
        owner: UserId::generate(),
        model: "runway-gen4-image".into(),
        kind: MediaKind::Image,
        connection: "runway".into(),
        prompt: "a portrait".into(),
        negative_prompt: None,
        params: BTreeMap::new(),
        references: vec![ReferenceV1 { role: crate::domain::catalog::ReferenceRole::Reference, upload }],
        state: GenState::Queued,
        reason: None,
        progress: None,
        cost: 5,
        created_at: now,
        updated_at: now,
        submitted_at: None,
        finished_at: None,
        deadline_at: now,
        upstream: None,
        pending_outputs: Vec::new(),
        outputs: Vec::new(),
        cancel_requested: false,
        kept: false,
        shared: false,
        legal_hold: false,
        upstream_deleted_at: None,
        deleted_at: None,
        made_with: None,
        reported: None,
        source: Some(GenerationId::generate()),
    };
    let g: Generation = codec::decode(&written_as("reelvault::Generation@5", &old)).unwrap();
    assert_eq!(g.references, vec![Reference { role: crate::domain::catalog::ReferenceRole::Reference, upload, tag: None }]);
    assert_eq!((g.cost, g.source), (5, old.source));
}
