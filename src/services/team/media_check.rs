//! `reelvault check`, media part: every asset record has its object (on the backend in force,
//! on the other one while a migration has not finished, or kept sealed in the store), and
//! which objects no record names (orphans). Reads only: it changes nothing.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::SystemTime;

use futures_util::{StreamExt, TryStreamExt};

use crate::domain::media_backend::MediaBackend;
use crate::services::state::AppState;
use crate::services::team::gc::GRACE;
use crate::services::{ServiceError, ServiceResult};
use crate::store;
use crate::vault::media::{MediaDir, MediaError};

/// Objects looked up at once.
const LOOKUPS_AT_ONCE: usize = 16;

/// What the check found.
#[derive(Debug, Clone, Default)]
pub struct MediaCheck {
    pub backend: Option<MediaBackend>,
    /// Whether a migration recorded the backend in force (else the config chose it).
    pub recorded: bool,
    pub assets: u64,
    /// Small media kept sealed in the store with their records.
    pub in_store: u64,
    /// Objects found on the backend in force.
    pub found: u64,
    /// Records whose object is only on the other backend (a migration has not finished).
    pub on_other: Vec<String>,
    /// Records whose object is nowhere.
    pub missing: Vec<String>,
    /// Objects on the backend in force that no record names, older than the GC's grace.
    pub orphans: Vec<String>,
    /// Unrecorded objects younger than the grace: custody may be recording them right now.
    pub recent_orphans: Vec<String>,
    /// A migration under way (stopped or running): where to, and how many copied.
    pub migration: Option<(MediaBackend, u64)>,
}

impl MediaCheck {
    /// Whether every record has its object somewhere.
    pub fn complete(&self) -> bool {
        self.missing.is_empty()
    }

    /// The report, one fact a line.
    pub fn describe(&self) -> String {
        let backend = self.backend.map_or("local", MediaBackend::name);
        let why = if self.recorded { "recorded in the store by `reelvault media migrate` or a restore" } else { "from the config" };
        let mut out = format!("media backend in force: {backend} ({why})\n");
        let _ = writeln!(
            out,
            "media: {} assets; {} objects found, {} kept in the store, {} only on the other backend, {} missing",
            self.assets,
            self.found,
            self.in_store,
            self.on_other.len(),
            self.missing.len()
        );
        if let Some((to, copied)) = self.migration {
            let _ = writeln!(
                out,
                "a migration to {to} has not finished ({copied} objects copied): run `reelvault media migrate --to {to}` to continue"
            );
        }
        if !self.on_other.is_empty() {
            let _ = writeln!(out, "only on the other backend (readable; a migration moves them): {}", self.on_other.join(", "));
        }
        for id in &self.missing {
            let _ = writeln!(out, "missing: asset {id} has no object");
        }
        let _ = writeln!(out, "orphans: {} objects no record names", self.orphans.len() + self.recent_orphans.len());
        for id in &self.orphans {
            let _ = writeln!(out, "orphan: {id} (the GC removes it)");
        }
        for id in &self.recent_orphans {
            let _ = writeln!(out, "orphan: {id} (less than an hour old: custody may still record it; else the GC removes it)");
        }
        out
    }
}

/// Checks the media of every asset record, and lists the orphans of the backend in force.
pub async fn run(state: &AppState) -> ServiceResult<MediaCheck> {
    let media = state.media.clone();
    let (ids, in_store, recorded, migration) = state
        .store
        .read(|tx| {
            let mut ids = Vec::new();
            let mut in_store = 0u64;
            store::assets::each(tx, |asset| {
                if store::sealed_media::contains(tx, asset.id)? {
                    in_store += 1;
                } else {
                    ids.push(asset.id.to_string());
                }
                Ok(())
            })?;
            let recorded = store::meta::media_backend(tx)?.is_some();
            let migration = store::meta::media_migration(tx)?.map(|m| (m.to, m.copied));
            Ok::<_, ServiceError>((ids, in_store, recorded, migration))
        })
        .await?;
    let in_force = media.in_force();
    let other = media.fallback();
    let looked_up: Vec<(String, Where)> = futures_util::stream::iter(ids.iter().cloned())
        .map(|id| {
            let (in_force, other) = (in_force.clone(), other.clone());
            async move {
                let found = locate(&in_force, other.as_ref(), &id).await?;
                Ok::<_, MediaError>((id, found))
            }
        })
        .buffer_unordered(LOOKUPS_AT_ONCE)
        .try_collect()
        .await
        .map_err(unreachable)?;
    let mut report = MediaCheck {
        backend: Some(media.kind()),
        recorded,
        assets: ids.len() as u64 + in_store,
        in_store,
        migration,
        ..MediaCheck::default()
    };
    for (id, found) in looked_up {
        match found {
            Where::InForce => report.found += 1,
            Where::Other => report.on_other.push(id),
            Where::Nowhere => report.missing.push(id),
        }
    }
    report.on_other.sort();
    report.missing.sort();
    let recorded_ids: BTreeSet<String> = ids.into_iter().collect();
    let now = SystemTime::now();
    let mut unrecorded = Vec::new();
    for (id, modified) in in_force.list_ids().await.map_err(unreachable)? {
        if recorded_ids.contains(&id) || id.parse::<crate::domain::ids::AssetId>().is_err() {
            continue;
        }
        let old = now.duration_since(modified).is_ok_and(|age| age >= GRACE);
        unrecorded.push((id, old));
    }
    // a record may have been made between the listing of records and of objects
    let still_unrecorded = state
        .store
        .read(move |tx| {
            let mut out = Vec::new();
            for (id, old) in unrecorded {
                let Ok(asset) = id.parse() else { continue };
                if store::assets::get(tx, asset)?.is_none() {
                    out.push((id, old));
                }
            }
            Ok::<_, ServiceError>(out)
        })
        .await?;
    for (id, old) in still_unrecorded {
        if old { report.orphans.push(id) } else { report.recent_orphans.push(id) }
    }
    report.orphans.sort();
    report.recent_orphans.sort();
    Ok(report)
}

/// Where the object of a record is.
enum Where {
    InForce,
    Other,
    Nowhere,
}

async fn locate(in_force: &MediaDir, other: Option<&MediaDir>, id: &str) -> Result<Where, MediaError> {
    if in_force.raw_len(id).await?.is_some() {
        return Ok(Where::InForce);
    }
    match other {
        Some(other) if other.raw_len(id).await?.is_some() => Ok(Where::Other),
        _ => Ok(Where::Nowhere),
    }
}

fn unreachable(e: MediaError) -> ServiceError {
    ServiceError::InvalidMessage(format!("cannot check the media: {e}"))
}
