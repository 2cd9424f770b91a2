//! `reelvault media migrate --to s3|local`: moves the media between backends while the service
//! runs. Each object's age file is copied as it is (no re-encryption) and verified by the
//! SHA-256 of what was read, written and read back; progress is kept in the store (assets in id
//! order, the last one done), so a second run continues where the first stopped. Then the
//! backend in force switches (recorded in the store, audited: every write goes there at once,
//! reads fall back to the old backend), outputs stored meanwhile are caught by a last pass over
//! the old backend, and only then are the old copies removed.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};

use crate::domain::audit::AuditAction;
use crate::domain::media_backend::{MediaBackend, MediaMigration};
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::services::team::admin::ProgressSink;
use crate::services::{ServiceError, ServiceResult};
use crate::store;
use crate::vault::media::{MediaDir, MediaError};

/// How long the switch waits for outputs being stored on the old backend to finish.
const DRAIN_WITHIN: Duration = Duration::from_secs(30 * 60);
/// At most one progress line a second (and one for each of the first few objects).
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// What a migration did.
#[derive(Debug, Clone, Default)]
pub struct Migrated {
    pub to: Option<MediaBackend>,
    /// Objects copied by this run, and their bytes (ciphertext).
    pub copied: u64,
    pub bytes: u64,
    /// Objects found already copied (by an earlier, interrupted run), verified.
    pub already: u64,
    /// Objects stored on the old backend during the copy, caught by the last pass.
    pub caught_late: u64,
    /// Old copies removed after the switch.
    pub removed: u64,
    /// Records whose object was on neither backend.
    pub missing: Vec<String>,
    /// Stopped after `--stop-after` objects: run again to continue.
    pub stopped_early: bool,
}

impl Migrated {
    /// The report for the terminal, with what to change in the config file.
    pub fn describe(&self, config_file: Option<&std::path::Path>) -> String {
        let to = self.to.unwrap_or(MediaBackend::Local);
        let size = bytesize::ByteSize::b(self.bytes).display().iec();
        if self.stopped_early {
            return format!(
                "stopped after copying {} objects ({size}) to {to}; nothing switched. Run `reelvault media migrate --to {to}` again to continue\n",
                self.copied
            );
        }
        let mut out = format!(
            "media are now on {to}: {} objects copied ({size}), {} were there already, {} stored meanwhile and caught by the last pass; {} old copies removed from {}\n",
            self.copied,
            self.already,
            self.caught_late,
            self.removed,
            to.other()
        );
        for id in &self.missing {
            out.push_str(&format!("missing: asset {id} had no object on either backend\n"));
        }
        let file = config_file.map_or("the config file".to_string(), |p| p.display().to_string());
        out.push_str(&match to {
            MediaBackend::S3 => format!(
                "The store now records s3 as the media backend, and that wins over the config: set `backend = \"s3\"` under [media] in {file} to match, and keep the S3 settings there.\n"
            ),
            MediaBackend::Local => format!(
                "The store now records local as the media backend, and that wins over the config: set `backend = \"local\"` under [media] in {file}; the S3 settings may then be removed.\n"
            ),
        });
        out
    }
}

/// Moves the media to `to` (see the module doc). `stop_after` stops after that many objects
/// copied, as an interruption would (for rehearsals and tests).
pub async fn run(state: &AppState, to: MediaBackend, stop_after: Option<u64>, progress: &ProgressSink) -> ServiceResult<Migrated> {
    let _turn = state.media.begin_migration().ok_or(ServiceError::Conflict("a media migration is already running"))?;
    let from = to.other();
    let target = match state.media.backend(to) {
        Some(media) => media,
        None => open_target(state, to)?,
    };
    let source = state.media.backend(from);
    let mut report = Migrated { to: Some(to), ..Migrated::default() };
    let Some(source) = source else {
        if state.media.kind() == to {
            progress(format!("media are already on {to}, and there is no {from} backend configured: nothing to move"));
            return Ok(report);
        }
        return Err(ServiceError::InvalidMessage(format!("media are on {from}, but no {from} backend is configured")));
    };

    let (ids, recorded) = state
        .store
        .read(move |tx| Ok::<_, ServiceError>((store::assets::ids_with_own_media(tx)?, store::meta::media_migration(tx)?)))
        .await?;
    let mut record = match recorded {
        Some(m) if m.to == to => {
            progress(format!("resuming the migration to {to} begun {}: {} objects copied so far", m.started_at.rfc3339(), m.copied));
            m
        }
        Some(m) => {
            progress(format!("a migration to {} had not finished; starting over to {to}", m.to));
            MediaMigration::start(to)
        }
        None => MediaMigration::start(to),
    };
    let mut ids = ids;
    ids.sort();
    let todo: Vec<String> = ids.into_iter().filter(|id| record.after.as_ref().is_none_or(|after| id > after)).collect();
    progress(format!("copying {} objects from {from} to {to}", todo.len()));

    let mut verified: BTreeSet<String> = BTreeSet::new();
    let mut reporter = Reporter::new(todo.len() as u64);
    for id in todo {
        if stop_after.is_some_and(|limit| report.copied >= limit) {
            report.stopped_early = true;
            return Ok(report);
        }
        match copy_one(&source, &target, &id).await.map_err(failed(&id))? {
            Copy::Copied(bytes) => {
                report.copied += 1;
                report.bytes += bytes;
                record.copied += 1;
                record.bytes += bytes;
                verified.insert(id.clone());
            }
            Copy::Already => {
                report.already += 1;
                verified.insert(id.clone());
            }
            Copy::Absent => report.missing.push(id.clone()),
        }
        record.after = Some(id);
        let saved = record.clone();
        state.store.write(move |tx| store::meta::set_media_migration(tx, Some(&saved))).await?;
        reporter.tick(progress, &report);
    }

    // the switch: recorded, audited, in force at once
    if state.media.kind() != to {
        let ctx = Context::cli();
        let detail = format!("media backend {from} -> {to}; {} objects copied", record.copied);
        state
            .store
            .write(move |tx| {
                store::meta::set_media_backend(tx, to)?;
                audit::record(tx, &ctx, AuditAction::MediaBackendSwitched, Some(to.name().into()), Some(detail))?;
                Ok::<_, ServiceError>(())
            })
            .await?;
        state.media.switch_to(to).map_err(|e| ServiceError::InvalidMessage(e.to_string()))?;
        progress(format!("switched: new media are stored on {to}, and reads fall back to {from}"));
    } else {
        state.store.write(move |tx| store::meta::set_media_backend(tx, to)).await?;
    }

    drain(state, from, progress).await;
    // what the old backend still holds: outputs stored there meanwhile, and old copies
    let left: Vec<String> = source.list_ids().await.map_err(unreachable)?.into_iter().map(|(id, _)| id).collect();
    let unverified: Vec<&String> = left.iter().filter(|id| !verified.contains(*id)).collect();
    for id in unverified {
        match copy_one(&source, &target, id).await.map_err(failed(id))? {
            Copy::Copied(bytes) => {
                report.caught_late += 1;
                report.bytes += bytes;
                verified.insert(id.clone());
            }
            Copy::Already => {
                verified.insert(id.clone());
            }
            Copy::Absent => {} // deleted meanwhile
        }
    }
    if report.caught_late > 0 {
        progress(format!("the last pass copied {} objects stored on {from} meanwhile", report.caught_late));
    }
    for id in left.iter().filter(|id| verified.contains(*id)) {
        if source.delete(id).await.map_err(unreachable)? {
            report.removed += 1;
        }
    }
    progress(format!("removed {} old copies from {from}", report.removed));
    state.store.write(|tx| store::meta::set_media_migration(tx, None)).await?;
    Ok(report)
}

/// The S3 backend from the config file, re-read (the service may have been started before
/// its `[media]` S3 settings were added).
fn open_target(state: &AppState, to: MediaBackend) -> ServiceResult<MediaDir> {
    let media = crate::services::state::open_s3_from_config_file(&state.config, state.store.clone())
        .map_err(|e| ServiceError::InvalidMessage(format!("cannot open the {to} media backend: {e}")))?;
    Ok(state.media.set_s3(media))
}

/// Waits (bounded) until no output is being stored on `from` any more.
async fn drain(state: &AppState, from: MediaBackend, progress: &ProgressSink) {
    let deadline = Instant::now() + DRAIN_WITHIN;
    let mut said = false;
    while state.media.writes_in_flight(from) > 0 && Instant::now() < deadline {
        if !said {
            progress(format!("waiting for {} outputs being stored on {from}", state.media.writes_in_flight(from)));
            said = true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What copying one object did.
enum Copy {
    Copied(u64),
    /// The target had it already (same length and SHA-256).
    Already,
    /// Neither backend has it.
    Absent,
}

/// Copies the age file of `id` from `source` to `target` unless it is there already, and
/// verifies the copy by reading it back.
async fn copy_one(source: &MediaDir, target: &MediaDir, id: &str) -> Result<Copy, MediaError> {
    let Some(len) = source.raw_len(id).await? else {
        return Ok(if target.raw_len(id).await?.is_some() { Copy::Already } else { Copy::Absent });
    };
    if target.raw_len(id).await? == Some(len) && hash_of(source, id).await? == hash_of(target, id).await? {
        return Ok(Copy::Already);
    }
    let read = Arc::new(Mutex::new((Sha256::new(), 0u64)));
    let tee = read.clone();
    let body = source.raw_read(id).await?.inspect_ok(move |chunk: &Bytes| {
        if let Ok(mut h) = tee.lock() {
            h.0.update(chunk);
            h.1 += chunk.len() as u64;
        }
    });
    let written = target.raw_write(id, Box::pin(body)).await?;
    let (read_hash, read_len) = {
        let h = read.lock().map_err(|_| MediaError::Source("hash state poisoned".into()))?;
        (hex::encode(h.0.clone().finalize()), h.1)
    };
    let back = hash_of(target, id).await?;
    if read_len != len || written.bytes != len || written.sha256 != read_hash || back != (len, read_hash.clone()) {
        let _ = target.delete(id).await;
        return Err(MediaError::Source(format!(
            "the copy does not match: read {read_len} bytes (sha256 {read_hash}), wrote {} ({}), read back {} ({})",
            written.bytes, written.sha256, back.0, back.1
        )));
    }
    Ok(Copy::Copied(len))
}

/// Length and SHA-256 of the age file of `id` as `media` holds it.
async fn hash_of(media: &MediaDir, id: &str) -> Result<(u64, String), MediaError> {
    let mut stream = Box::pin(media.raw_read(id).await?);
    let mut hasher = Sha256::new();
    let mut len = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        hasher.update(&chunk);
        len += chunk.len() as u64;
    }
    Ok((len, hex::encode(hasher.finalize())))
}

fn failed(id: &str) -> impl FnOnce(MediaError) -> ServiceError + '_ {
    move |e| ServiceError::InvalidMessage(format!("migrating asset {id} stopped: {e}; run the command again to continue"))
}

fn unreachable(e: MediaError) -> ServiceError {
    ServiceError::InvalidMessage(format!("media migration stopped: {e}; run the command again to continue"))
}

/// Progress lines: each of the first few objects, then at most one a second, and the last.
struct Reporter {
    total: u64,
    done: u64,
    last: Instant,
}

impl Reporter {
    fn new(total: u64) -> Reporter {
        Reporter { total, done: 0, last: Instant::now() }
    }

    fn tick(&mut self, progress: &ProgressSink, report: &Migrated) {
        self.done += 1;
        if self.done <= 5 || self.done == self.total || self.last.elapsed() >= PROGRESS_EVERY {
            self.last = Instant::now();
            progress(format!(
                "{}/{} objects: {} copied ({}), {} there already",
                self.done,
                self.total,
                report.copied,
                bytesize::ByteSize::b(report.bytes).display().iec(),
                report.already
            ));
        }
    }
}
