//! The JSON shapes of the API, built from domain values.

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::approval::Approval;
use crate::domain::asset::Asset;
use crate::domain::generation::Generation;
use crate::services::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct OutputView {
    pub id: String,
    /// A signed link, valid for an hour.
    pub url: String,
    pub content_type: String,
    pub bytes: u64,
    pub sha256: String,
    /// A video with a sound track, or an audio file.
    pub has_sound: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ReasonView<'a> {
    pub code: &'a str,
    pub message: &'a str,
}

#[derive(Serialize, ToSchema)]
pub struct ReferenceView {
    /// `first_frame`, `last_frame`, `reference`, `reference_video`, `reference_audio` or `driving_audio`.
    #[schema(value_type = String)]
    pub role: &'static str,
    pub upload: String,
    /// The name a prompt may call it by (`@Maya`): a cast member's tag; `null` for other files.
    pub tag: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct GenerationView<'a> {
    pub id: String,
    pub model: &'a str,
    /// `image` or `video`.
    #[schema(value_type = String)]
    pub kind: &'static str,
    /// The connection that runs it.
    pub connection: &'a str,
    /// `awaiting_approval`, `queued`, `submitting`, `running`, `fetching`, `succeeded`, `failed` or `cancelled`.
    #[schema(value_type = String)]
    pub state: &'static str,
    /// Why it failed or was cancelled.
    pub reason: Option<ReasonView<'a>>,
    /// Percent done, when the provider says.
    pub progress: Option<u8>,
    /// Credits held or charged.
    pub cost: u64,
    pub prompt: &'a str,
    pub negative_prompt: Option<&'a str>,
    /// The parameters as resolved (defaults filled in).
    #[schema(value_type = Object)]
    pub params: std::collections::BTreeMap<&'a str, serde_json::Value>,
    pub references: Vec<ReferenceView>,
    /// RFC 3339, UTC (as the other times).
    pub created_at: String,
    pub submitted_at: Option<String>,
    pub finished_at: Option<String>,
    pub outputs: Vec<OutputView>,
    /// Exempt from retention.
    pub kept: bool,
    /// Visible to every signed-in teammate.
    pub shared: bool,
    /// What it was made with, as the catalog said at submit (`null` for generations made
    /// before this was kept); later catalog changes do not touch it.
    pub made_with: Option<MadeWithView<'a>>,
    /// The earlier generation whose output this one extends, edits or enhances (its
    /// descendants: `GET /api/v1/generations/{id}/descendants`).
    pub source: Option<String>,
    /// Its approval request, when its price needed one (shown by the single-generation routes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalView>,
}

/// An approval request and its answer.
#[derive(Serialize, ToSchema)]
pub struct ApprovalView {
    /// RFC 3339, UTC.
    pub asked_at: String,
    /// When it expires unanswered.
    pub expires_at: String,
    /// The price it was above.
    pub threshold: u64,
    /// `null` while waiting, then `approved`, `declined` or `expired`.
    #[schema(value_type = Option<String>)]
    pub verdict: Option<&'static str>,
    pub answered_at: Option<String>,
    /// The approver's e-mail.
    pub answered_by: Option<String>,
    /// The approver's note.
    pub note: Option<String>,
}

impl ApprovalView {
    pub fn new(a: &Approval) -> Self {
        let answer = a.answer.as_ref();
        ApprovalView {
            asked_at: a.asked_at.rfc3339(),
            expires_at: a.expires_at.rfc3339(),
            threshold: a.threshold,
            verdict: answer.map(|x| x.verdict.as_str()),
            answered_at: answer.map(|x| x.at.rfc3339()),
            answered_by: answer.and_then(|x| x.by_email.clone()),
            note: answer.and_then(|x| x.note.clone()),
        }
    }
}

/// The catalog's entry for the model when the generation was submitted.
#[derive(Serialize, ToSchema)]
pub struct MadeWithView<'a> {
    pub label: &'a str,
    /// The provider, for people.
    pub provider: &'a str,
    /// The connection kind.
    pub provider_kind: &'a str,
    /// The model's id at the provider.
    pub upstream: &'a str,
    /// The price rule, in words.
    pub price: &'a str,
}

impl<'a> GenerationView<'a> {
    pub fn new(state: &AppState, g: &'a Generation, outputs: &[Asset]) -> Self {
        GenerationView {
            id: g.id.to_string(),
            model: &g.model,
            kind: g.kind.as_str(),
            connection: &g.connection,
            state: g.state.as_str(),
            reason: g.reason.as_ref().map(|r| ReasonView { code: &r.code, message: &r.message }),
            progress: g.progress,
            cost: g.cost,
            prompt: &g.prompt,
            negative_prompt: g.negative_prompt.as_deref(),
            params: g.params.iter().map(|(k, v)| (k.as_str(), v.to_json())).collect(),
            references: g
                .references
                .iter()
                .map(|r| ReferenceView { role: r.role.as_str(), upload: r.upload.to_string(), tag: r.tag.clone() })
                .collect(),
            created_at: g.created_at.rfc3339(),
            submitted_at: g.submitted_at.map(|t| t.rfc3339()),
            finished_at: g.finished_at.map(|t| t.rfc3339()),
            kept: g.kept,
            shared: g.shared,
            made_with: g.made_with.as_ref().map(|w| MadeWithView {
                label: &w.label,
                provider: &w.provider,
                provider_kind: &w.provider_kind,
                upstream: &w.upstream,
                price: &w.price,
            }),
            source: g.source.map(|s| s.to_string()),
            approval: None,
            outputs: outputs
                .iter()
                .map(|a| OutputView {
                    id: a.id.to_string(),
                    url: state.urls().absolute(&crate::services::studio::media::signed_path(state, a)),
                    content_type: a.content_type.clone(),
                    bytes: a.bytes,
                    sha256: a.sha256.clone(),
                    has_sound: a.has_sound,
                })
                .collect(),
        }
    }
}
