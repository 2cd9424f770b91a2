//! The index on disk: `DATA/search/index` (the live one), `DATA/search/rebuild` (while a
//! rebuild runs), and the commit point each commit carries as its payload (schema version and
//! the last applied outbox sequence). Opening checks it and says why it must be rebuilt.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Searcher};

use super::SearchError;
use super::schema::{Fields, SCHEMA_VERSION, register_analyzers};
use super::views::Views;

/// Where the search index lives inside the data directory.
pub const SEARCH_DIR: &str = "search";

/// The live writer's indexing memory; tantivy's minimum is 15 MB.
pub const LIVE_HEAP: usize = 20_000_000;

/// The directories of the index under `data_dir`.
#[derive(Debug, Clone)]
pub struct Paths {
    pub live: PathBuf,
    pub rebuild: PathBuf,
    pub old: PathBuf,
}

impl Paths {
    pub fn new(data_dir: &Path) -> Paths {
        let root = data_dir.join(SEARCH_DIR);
        Paths { live: root.join("index"), rebuild: root.join("rebuild"), old: root.join("old") }
    }

    /// Removes what an interrupted rebuild or swap left behind.
    pub fn sweep(&self) {
        for dir in [&self.rebuild, &self.old] {
            if dir.exists()
                && let Err(e) = std::fs::remove_dir_all(dir)
            {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot remove a leftover search directory");
            }
        }
    }

    /// Puts a finished rebuild in place of the live index.
    pub fn swap_in_rebuild(&self) -> Result<(), SearchError> {
        let io = |what: &str, e: std::io::Error| SearchError::Io(format!("{what}: {e}"));
        if self.live.exists() {
            std::fs::rename(&self.live, &self.old).map_err(|e| io("moving the old index aside", e))?;
        }
        std::fs::rename(&self.rebuild, &self.live).map_err(|e| io("putting the rebuilt index in place", e))?;
        if let Some(parent) = self.live.parent() {
            let _ = std::fs::File::open(parent).and_then(|d| d.sync_all());
        }
        self.sweep();
        Ok(())
    }
}

/// What each commit records: how far into the outbox the index is, and in which schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitPoint {
    pub schema: u32,
    /// The last outbox sequence whose change the index holds.
    pub seq: u64,
}

impl CommitPoint {
    pub fn new(seq: u64) -> CommitPoint {
        CommitPoint { schema: SCHEMA_VERSION, seq }
    }

    pub fn payload(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Commits everything `writer` holds with this point as the payload.
    pub fn commit(&self, writer: &mut IndexWriter) -> Result<(), SearchError> {
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&self.payload());
        prepared.commit()?;
        Ok(())
    }
}

/// An open index: what searches read and what the indexer writes through.
pub struct Live {
    pub index: Index,
    pub reader: IndexReader,
    pub fields: Fields,
    /// What searches reuse per segment.
    pub views: Views,
}

impl Live {
    /// A searcher over the last commit.
    pub fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }

    /// Shows the last commit to searches and forgets the views of segments it replaced.
    pub fn reload(&self) -> Result<(), SearchError> {
        self.reader.reload()?;
        let alive: Vec<_> = self.reader.searcher().segment_readers().iter().map(|s| s.segment_id()).collect();
        self.views.retain(&alive);
        Ok(())
    }

    /// A writer with the live settings: one thread, a small heap, one merge thread.
    pub fn writer(&self) -> Result<IndexWriter, SearchError> {
        let options = tantivy::indexer::IndexWriterOptions::builder()
            .memory_budget_per_thread(LIVE_HEAP)
            .num_worker_threads(1)
            .num_merge_threads(1)
            .build();
        Ok(self.index.writer_with_options(options)?)
    }
}

/// Why an index could not be used and must be rebuilt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    Missing,
    Corrupt(String),
    OtherSchema(u32),
    /// The index has seen outbox rows the store does not have (the store was replaced).
    AheadOfStore {
        index: u64,
        store: u64,
    },
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unusable::Missing => f.write_str("there is no index"),
            Unusable::Corrupt(why) => write!(f, "the index is damaged ({why})"),
            Unusable::OtherSchema(v) => write!(f, "the index has schema {v}, this build uses {SCHEMA_VERSION}"),
            Unusable::AheadOfStore { index, store } => {
                write!(f, "the index has seen outbox row {index} but the store ends at {store}")
            }
        }
    }
}

/// Opens `dir` and checks it (files, schema, commit point against the store's last outbox
/// row `store_last`, and with `checksums` every file's checksum). Returns the index and its
/// commit point.
pub fn open(dir: &Path, store_last: u64, checksums: bool) -> Result<(Live, CommitPoint), Unusable> {
    if !dir.join("meta.json").exists() {
        return Err(Unusable::Missing);
    }
    let corrupt = |e: &dyn std::fmt::Display| Unusable::Corrupt(e.to_string());
    let index = Index::open_in_dir(dir).map_err(|e| corrupt(&e))?;
    register_analyzers(&index);
    let metas = index.load_metas().map_err(|e| corrupt(&e))?;
    let point: CommitPoint =
        metas.payload.as_deref().and_then(|p| serde_json::from_str(p).ok()).ok_or_else(|| Unusable::Corrupt("no commit point".into()))?;
    if point.schema != SCHEMA_VERSION {
        return Err(Unusable::OtherSchema(point.schema));
    }
    if point.seq > store_last {
        return Err(Unusable::AheadOfStore { index: point.seq, store: store_last });
    }
    let fields = Fields::of(&index.schema()).ok_or_else(|| Unusable::Corrupt("a field is missing".into()))?;
    let damaged = if checksums { index.validate_checksum().map_err(|e| corrupt(&e))? } else { Default::default() };
    if !damaged.is_empty() {
        let names: Vec<String> = damaged.iter().map(|p| p.display().to_string()).collect();
        return Err(Unusable::Corrupt(format!("bad checksum in {}", names.join(", "))));
    }
    let reader = reader(&index).map_err(|e| corrupt(&e))?;
    Ok((Live { index, reader, fields, views: Views::default() }, point))
}

/// Creates an empty index in `dir` (which must not hold one).
pub fn create(dir: &Path) -> Result<Live, SearchError> {
    std::fs::create_dir_all(dir).map_err(|e| SearchError::Io(format!("creating {}: {e}", dir.display())))?;
    let (schema, fields) = Fields::schema();
    let index = Index::create_in_dir(dir, schema)?;
    register_analyzers(&index);
    let reader = reader(&index)?;
    Ok(Live { index, reader, fields, views: Views::default() })
}

fn reader(index: &Index) -> tantivy::Result<IndexReader> {
    // reloaded by the indexer after each commit: no file watcher thread
    index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()
}
