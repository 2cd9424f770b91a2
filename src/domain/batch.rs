//! Batches: many generations from one manifest, priced by a dry run, run a few at a time
//! under a budget, their results landing on a board.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::catalog::ReferenceRole;
use super::ids::{AssetId, BatchId, BoardId, GenerationId, UserId};
use super::time::Timestamp;

/// The most rows a manifest may have.
pub const MAX_ROWS: usize = 500;
/// The largest manifest file, in bytes.
pub const MAX_MANIFEST_BYTES: usize = 1024 * 1024;
/// The most files a references ZIP may hold.
pub const MAX_ZIP_ENTRIES: usize = 200;
/// The most rows of one batch in flight at once.
pub const MAX_PARALLEL: u8 = 8;
/// How many rows run at once when the person does not say.
pub const DEFAULT_PARALLEL: u8 = 2;
/// The longest batch name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// Where a batch is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchState {
    /// Dry run done; not started.
    Draft,
    /// Rows are being submitted.
    Running,
    /// Nothing new is submitted (asked, the budget or the credits ran out); rows in flight finish.
    Stopped,
    /// Every valid row ended.
    Finished,
}

impl BatchState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            BatchState::Draft => "draft",
            BatchState::Running => "running",
            BatchState::Stopped => "stopped",
            BatchState::Finished => "finished",
        }
    }
}

/// Why a batch stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Its owner asked.
    Asked,
    /// The next row's price did not fit in what was left of the budget.
    Budget,
    /// A submit was refused for want of credits or past a spend limit.
    Credits,
    /// The board is gone, or its owner no longer edits it.
    Board,
}

impl StopReason {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Asked => "asked",
            StopReason::Budget => "budget",
            StopReason::Credits => "credits",
            StopReason::Board => "board",
        }
    }
}

/// Where one row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowState {
    /// The dry run refused it (see its error); it never runs.
    Invalid,
    /// Waiting its turn.
    Pending,
    /// Submitted; its generation has not ended.
    Submitted,
    /// Its generation succeeded.
    Succeeded,
    /// Its generation failed or was cancelled, or its submit was refused (see its error).
    Failed,
}

impl RowState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RowState::Invalid => "invalid",
            RowState::Pending => "pending",
            RowState::Submitted => "submitted",
            RowState::Succeeded => "succeeded",
            RowState::Failed => "failed",
        }
    }

    /// Whether nothing more happens to the row.
    pub fn is_over(self) -> bool {
        matches!(self, RowState::Invalid | RowState::Succeeded | RowState::Failed)
    }
}

/// What one valid row submits, resolved by the dry run (a preset's placeholders filled, its
/// reference files stored as the owner's uploads).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RowRequest {
    pub model: String,
    pub prompt: String,
    pub negative_prompt: Option<String>,
    /// Parameters as JSON text (the store's encoding keeps no free-form JSON values).
    pub params: BTreeMap<String, String>,
    pub references: Vec<(ReferenceRole, AssetId)>,
    /// The tags of references from cast members (see `NewGeneration::tags`).
    pub tags: BTreeMap<AssetId, String>,
}

/// One row of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRow {
    /// 1-based, as the manifest counts its rows (the header is not counted).
    pub number: u32,
    pub state: RowState,
    /// What it submits; `None` for an invalid row.
    pub request: Option<RowRequest>,
    /// The dry run's price (credits).
    pub price: u64,
    /// Why it is invalid, or why its submit was refused or its generation failed.
    pub error: Option<String>,
    pub generation: Option<GenerationId>,
    /// What its generation cost, once it ended.
    pub cost: Option<u64>,
}

/// A batch as stored, with its rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub id: BatchId,
    pub owner: UserId,
    pub name: String,
    /// Where the results land.
    pub board: BoardId,
    pub state: BatchState,
    pub stop_reason: Option<StopReason>,
    /// The most credits the submitted rows' prices may add up to; `None` is no cap.
    pub budget: Option<u64>,
    /// The most rows in flight at once.
    pub parallel: u8,
    pub rows: Vec<BatchRow>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
}

impl Batch {
    /// The dry run's total: the prices of the valid rows.
    pub fn total(&self) -> u64 {
        self.rows.iter().filter(|r| r.state != RowState::Invalid).map(|r| r.price).sum()
    }

    /// What the submitted rows' prices add up to (what the budget counts).
    pub fn committed(&self) -> u64 {
        self.rows.iter().filter(|r| r.generation.is_some()).map(|r| r.price).sum()
    }

    /// Rows submitted whose generation has not ended.
    pub fn in_flight(&self) -> usize {
        self.rows.iter().filter(|r| r.state == RowState::Submitted).count()
    }

    /// Whether every valid row ended.
    pub fn all_over(&self) -> bool {
        self.rows.iter().all(|r| r.state.is_over())
    }

    /// How many rows are in `state`.
    pub fn count(&self, state: RowState) -> usize {
        self.rows.iter().filter(|r| r.state == state).count()
    }
}
