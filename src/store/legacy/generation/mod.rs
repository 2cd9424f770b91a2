//! Earlier layouts of generation records, `Generation@1` to `@5`.

use serde::{Deserialize, Serialize};

use crate::domain::catalog::{MediaKind, Params};
use crate::domain::generation::{GenState, Generation, ModelSnapshot, OutputRef, ProviderUsage, Reason, Reference, UpstreamHandle};
use crate::domain::ids::{AssetId, GenerationId, UserId};
use crate::domain::time::Timestamp;
use crate::store::StoreError;
use crate::store::codec::{Stored, upgrade_from};

impl Stored for Generation {
    const TYPE_NAME: &'static str = "reelvault::Generation@6";
    fn upgrade(name: &str, payload: &[u8]) -> Option<Result<Self, StoreError>> {
        match name {
            "reelvault::Generation@1" => Some(upgrade_from::<GenerationV1, Generation>(name, payload)),
            "reelvault::Generation@2" => Some(upgrade_from::<GenerationV2, Generation>(name, payload)),
            "reelvault::Generation@3" => Some(upgrade_from::<GenerationV3, Generation>(name, payload)),
            "reelvault::Generation@4" => Some(upgrade_from::<GenerationV4, Generation>(name, payload)),
            "reelvault::Generation@5" => Some(upgrade_from::<GenerationV5, Generation>(name, payload)),
            _ => None,
        }
    }
}

/// A reference as `reelvault::Generation@1` to `@5` stored it: no tag.
#[derive(Serialize, Deserialize)]
pub(crate) struct ReferenceV1 {
    pub(crate) role: crate::domain::catalog::ReferenceRole,
    pub(crate) upload: AssetId,
}

impl From<ReferenceV1> for Reference {
    fn from(v: ReferenceV1) -> Reference {
        Reference { role: v.role, upload: v.upload, tag: None }
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
    references: Vec<ReferenceV1>,
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
    references: Vec<ReferenceV1>,
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
    references: Vec<ReferenceV1>,
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
    references: Vec<ReferenceV1>,
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

impl From<GenerationV4> for GenerationV5 {
    fn from(v: GenerationV4) -> GenerationV5 {
        GenerationV5 {
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

/// `reelvault::Generation@5`: references without the tag a prompt may name them by.
#[derive(Serialize, Deserialize)]
pub(crate) struct GenerationV5 {
    id: GenerationId,
    owner: UserId,
    model: String,
    kind: MediaKind,
    connection: String,
    prompt: String,
    negative_prompt: Option<String>,
    params: Params,
    references: Vec<ReferenceV1>,
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
    source: Option<GenerationId>,
}

impl From<GenerationV4> for Generation {
    fn from(v: GenerationV4) -> Generation {
        GenerationV5::from(v).into()
    }
}

impl From<GenerationV5> for Generation {
    fn from(v: GenerationV5) -> Generation {
        Generation {
            id: v.id,
            owner: v.owner,
            model: v.model,
            kind: v.kind,
            connection: v.connection,
            prompt: v.prompt,
            negative_prompt: v.negative_prompt,
            params: v.params,
            references: v.references.into_iter().map(Reference::from).collect(),
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
            source: v.source,
        }
    }
}

#[cfg(test)]
mod tests;
