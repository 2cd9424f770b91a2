//! The figures `/metrics` shows from the store, read at scrape time in one read transaction:
//! unfinished jobs by state and provider connection, credits, stored media.

use std::collections::BTreeMap;

use crate::domain::asset::AssetKind;
use crate::domain::generation::GenState;
use crate::services::ServiceResult;
use crate::services::state::AppState;
use crate::store::{self, StoreError};

/// What the gauges show.
#[derive(Default)]
pub struct Figures {
    /// (state, provider kind, connection) -> jobs not yet finished; every configured
    /// connection is listed in every unfinished state, at zero when nothing is there.
    pub active: BTreeMap<(&'static str, String, String), u64>,
    pub credits_available: i64,
    pub credits_held: i64,
    /// kind ("upload", "output", …) -> (files, plaintext bytes).
    pub stored: BTreeMap<&'static str, (u64, u64)>,
}

/// Reads the figures now.
pub async fn read(state: &AppState) -> ServiceResult<Figures> {
    let found = state.store.read(read_store).await?;
    let mut active = found.active;
    for connection in &state.config.connection {
        for s in GenState::ALL.into_iter().filter(|s| !s.is_terminal()) {
            active.entry((s.as_str(), connection.name.clone())).or_default();
        }
    }
    let registry = state.registry();
    let active = active
        .into_iter()
        .map(|((s, connection), n)| {
            let kind = registry.connection(&connection).map(|c| c.config.kind.clone()).unwrap_or_else(|| "unconfigured".into());
            ((s, kind, connection), n)
        })
        .collect();
    Ok(Figures { active, ..found.rest })
}

/// What one read transaction finds: unfinished jobs by (state, connection), and the rest.
struct Found {
    active: BTreeMap<(&'static str, String), u64>,
    rest: Figures,
}

fn read_store(tx: &redb::ReadTransaction) -> Result<Found, StoreError> {
    let mut active = BTreeMap::new();
    for g in store::generations::active(tx)? {
        *active.entry((g.state.as_str(), g.connection)).or_default() += 1;
    }
    let mut rest = Figures::default();
    for (_, balance) in store::credits::all_balances(tx)? {
        rest.credits_available += balance.available;
        rest.credits_held += balance.held;
    }
    store::assets::each(tx, |asset| {
        let kind = match asset.kind {
            AssetKind::Upload => "upload",
            AssetKind::Output => "output",
            AssetKind::Poster => "poster",
            AssetKind::Avatar => "avatar",
            AssetKind::Export => "export",
        };
        let entry = rest.stored.entry(kind).or_default();
        entry.0 += 1;
        entry.1 += asset.bytes;
        Ok(())
    })?;
    Ok(Found { active, rest })
}
