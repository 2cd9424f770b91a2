//! A generation: one prompt sent to one model, and its journey through the state machine
//! Queued -> Submitting -> Running -> Fetching -> Succeeded, or Failed / Cancelled (an answer
//! whose outputs came in it, held in memory, goes from Submitting to Succeeded in one step).
//! A job priced above its requester's approval threshold starts in AwaitingApproval instead
//! and becomes Queued when approved (Failed when declined or expired).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::catalog::{MediaKind, Params, ReferenceRole};
use super::ids::{AssetId, GenerationId, UserId};
use super::time::Timestamp;

/// Where a generation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GenState {
    Queued,
    Submitting,
    Running,
    Fetching,
    Succeeded,
    Failed,
    Cancelled,
    /// Priced above the requester's approval threshold: its credits are held and it waits
    /// for an approver (appended last: stored records name states by position).
    AwaitingApproval,
}

impl GenState {
    pub const ALL: [GenState; 8] = [
        GenState::Queued,
        GenState::Submitting,
        GenState::Running,
        GenState::Fetching,
        GenState::Succeeded,
        GenState::Failed,
        GenState::Cancelled,
        GenState::AwaitingApproval,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GenState::Queued => "queued",
            GenState::Submitting => "submitting",
            GenState::Running => "running",
            GenState::Fetching => "fetching",
            GenState::Succeeded => "succeeded",
            GenState::Failed => "failed",
            GenState::Cancelled => "cancelled",
            GenState::AwaitingApproval => "awaiting_approval",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, GenState::Succeeded | GenState::Failed | GenState::Cancelled)
    }

    /// Whether a person may still cancel it.
    pub fn is_cancellable(self) -> bool {
        matches!(self, GenState::Queued | GenState::Submitting | GenState::Running | GenState::AwaitingApproval)
    }

    /// The allowed transitions; everything else is a bug the store refuses to write.
    pub fn can_become(self, next: GenState) -> bool {
        use GenState::*;
        matches!(
            (self, next),
            (Queued, Submitting | Failed | Cancelled)
                | (AwaitingApproval, Queued | Failed | Cancelled)
                | (Submitting, Running | Fetching | Succeeded | Failed | Cancelled)
                | (Running, Running | Fetching | Failed | Cancelled)
                | (Fetching, Succeeded | Failed)
        )
    }
}

impl fmt::Display for GenState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Why a generation failed, in a stable code and words for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub code: String,
    pub message: String,
}

impl Reason {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self { code: code.to_string(), message: message.into() }
    }
}

/// A reference image attached to a generation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    pub role: ReferenceRole,
    pub upload: AssetId,
    /// The name a prompt may call it by (`@Maya`), for providers that take tagged references:
    /// a cast member's name (see [`crate::domain::cast::reference_tag`]).
    pub tag: Option<String>,
}

/// What a poll needs to find the upstream job again (job id, polling URLs, …).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamHandle {
    pub id: String,
    pub data: BTreeMap<String, String>,
}

/// Where an upstream output can be fetched from, as the adapter reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputRef {
    pub location: String,
    pub content_type: Option<String>,
    /// Where the provider's own thumbnail of this output is, when its API gives one (OpenAI
    /// Videos, Luma): fetched like the output, through `Provider::fetch` with the same handle,
    /// and made the poster of a video output (custody falls back to an ffmpeg frame).
    pub thumbnail: Option<String>,
}

impl OutputRef {
    /// An output without a provider thumbnail.
    pub fn new(location: impl Into<String>, content_type: Option<String>) -> Self {
        Self { location: location.into(), content_type, thumbnail: None }
    }

    /// The same output with the provider's thumbnail at `location`.
    pub fn with_thumbnail(self, location: impl Into<String>) -> Self {
        Self { thumbnail: Some(location.into()), ..self }
    }

    /// The provider's thumbnail as an output of its own, to pass to `Provider::fetch`.
    pub fn thumbnail_ref(&self) -> Option<OutputRef> {
        self.thumbnail.as_ref().map(|location| OutputRef::new(location.clone(), None))
    }
}

/// A generation as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Generation {
    pub id: GenerationId,
    pub owner: UserId,
    pub model: String,
    pub kind: MediaKind,
    /// The connection (provider account) that serves it.
    pub connection: String,
    pub prompt: String,
    pub negative_prompt: Option<String>,
    pub params: Params,
    pub references: Vec<Reference>,
    pub state: GenState,
    pub reason: Option<Reason>,
    pub progress: Option<u8>,
    /// Credits held at submit, charged on success.
    pub cost: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub submitted_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub deadline_at: Timestamp,
    pub upstream: Option<UpstreamHandle>,
    /// Outputs the provider reported, kept so a restart can fetch them again.
    pub pending_outputs: Vec<OutputRef>,
    pub outputs: Vec<AssetId>,
    pub cancel_requested: bool,
    /// The owner chose to keep it: retention never deletes it.
    pub kept: bool,
    /// Visible to every signed-in teammate (off by default).
    pub shared: bool,
    /// An admin's legal hold on this item: retention deletes nothing of it.
    pub legal_hold: bool,
    /// When the provider's copy was deleted after custody.
    pub upstream_deleted_at: Option<Timestamp>,
    /// Set when deletion starts: from then on it is gone for everyone, while the files and
    /// records are removed in a crash-safe order.
    pub deleted_at: Option<Timestamp>,
    /// What it was made with, as the catalog said at submit; `None` for generations made
    /// before snapshots were kept. Editing or retiring a model never rewrites it.
    pub made_with: Option<ModelSnapshot>,
    /// What the provider reported it charged or used, where its API says.
    pub reported: Option<ProviderUsage>,
    /// The owner's earlier generation whose output this one extends, edits or enhances (the
    /// link stays when the source is deleted; the page then says so).
    pub source: Option<GenerationId>,
}

/// The catalog's entry for a model at the moment a generation was submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelSnapshot {
    pub label: String,
    /// The provider's name for people ("Kling AI").
    pub provider: String,
    /// The connection kind ("kling").
    pub provider_kind: String,
    /// The model's name in the provider's API.
    pub upstream: String,
    /// The price rule that computed `Generation::cost`, in words ("28 credits per second of video").
    pub price: String,
    /// The same rule as JSON, as the catalog wrote it (kept as text so the catalog's shape
    /// may change without touching stored records).
    pub price_rule: String,
}

/// What a provider reported about a finished job's cost, in its own terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderUsage {
    /// The cost in US cents, when the provider states money (or units with a known rate).
    pub cost_cents: Option<f64>,
    /// The quantity the provider bills by, when it states one (seconds, tokens, credits).
    pub units: Option<f64>,
    /// What `units` counts ("seconds", "tokens", "bfl_credits").
    pub unit: String,
}

#[cfg(test)]
mod tests {
    use super::GenState::*;

    #[test]
    fn terminal_states_never_change() {
        for terminal in [Succeeded, Failed, Cancelled] {
            for next in super::GenState::ALL {
                assert!(!terminal.can_become(next), "{terminal} -> {next}");
            }
        }
    }

    #[test]
    fn the_happy_path_and_its_exits_are_allowed() {
        assert!(Queued.can_become(Submitting));
        assert!(Submitting.can_become(Running));
        assert!(Running.can_become(Fetching));
        assert!(Fetching.can_become(Succeeded));
        assert!(Running.can_become(Cancelled));
        assert!(!Fetching.can_become(Cancelled), "custody finishes once started");
        assert!(!Queued.can_become(Succeeded));
        assert!(Submitting.can_become(Succeeded), "a synchronous answer, already in custody");
        assert!(AwaitingApproval.can_become(Queued), "approved");
        assert!(AwaitingApproval.can_become(Failed), "declined or expired");
        assert!(!AwaitingApproval.can_become(Submitting), "the engine never starts a job waiting for approval");
    }
}
