//! Store records written straight into a data dir before the server starts: finished
//! generations of a given shape, in transactions of a batch each.

#![allow(dead_code)]

use reelvault::domain::catalog::MediaKind;
use reelvault::domain::generation::{GenState, Generation};
use reelvault::domain::ids::{GenerationId, UserId};
use reelvault::domain::time::Timestamp;
use reelvault::store::{Store, StoreError};

/// The bench admin's account id (made by `Studio::prepare`).
pub async fn bench_admin(store: &Store) -> Result<UserId, StoreError> {
    let email = reelvault::domain::user::Email::parse(super::studio::EMAIL).map_err(|e| StoreError::Codec(e.to_string()))?;
    Ok(store
        .read(move |tx| reelvault::store::users::find_by_email(tx, &email))
        .await?
        .ok_or_else(|| StoreError::Codec("the bench admin is missing".into()))?
        .id)
}

/// What differs between the benchmarks' generations.
pub struct Shape {
    pub owner: UserId,
    pub model: &'static str,
    pub kind: MediaKind,
    pub prompt: String,
    pub negative_prompt: Option<String>,
    pub state: GenState,
    /// Created, submitted and finished at this instant (ms since the epoch).
    pub at: i64,
    pub kept: bool,
    pub shared: bool,
}

/// A finished generation of `shape` with no outputs (the caller adds them), costing 1 credit.
pub fn finished(shape: Shape) -> Generation {
    let at = Timestamp(shape.at);
    Generation {
        id: GenerationId::generate(),
        owner: shape.owner,
        model: shape.model.into(),
        kind: shape.kind,
        connection: "fake".into(),
        prompt: shape.prompt,
        negative_prompt: shape.negative_prompt,
        params: Default::default(),
        references: Vec::new(),
        state: shape.state,
        reason: None,
        progress: None,
        cost: 1,
        created_at: at,
        updated_at: at,
        submitted_at: Some(at),
        finished_at: Some(at),
        deadline_at: at,
        upstream: None,
        pending_outputs: Vec::new(),
        outputs: Vec::new(),
        cancel_requested: false,
        kept: shape.kept,
        shared: shape.shared,
        legal_hold: false,
        upstream_deleted_at: None,
        made_with: None,
        reported: None,
        source: None,
        deleted_at: None,
    }
}
