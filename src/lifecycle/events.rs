//! Live updates of generations, broadcast after each commit to the pages (server-sent
//! events) of their owner and to anyone waiting for a job to end.

use serde::Serialize;

use crate::domain::generation::{GenState, Generation};
use crate::domain::ids::{GenerationId, UserId};

/// One change worth showing.
#[derive(Debug, Clone, Serialize)]
pub struct GenEvent {
    pub id: GenerationId,
    #[serde(skip)]
    pub owner: UserId,
    pub state: GenState,
    pub progress: Option<u8>,
    pub reason: Option<String>,
}

impl GenEvent {
    pub fn of(g: &Generation) -> Self {
        Self { id: g.id, owner: g.owner, state: g.state, progress: g.progress, reason: g.reason.as_ref().map(|r| r.message.clone()) }
    }
}
