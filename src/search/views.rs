//! What searches reuse per segment (segments never change, only their deletions do): the
//! decoded facet keys, the columns, the facet-key counts of the live documents, and the
//! documents in date order. Computed on first use and dropped with their segment.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use tantivy::columnar::ColumnValues;
use tantivy::index::SegmentId;
use tantivy::{DateTime, DocId, SegmentReader};

use super::schema::{FacetKey, Fields};

/// The keywords of one facet key, owned.
#[derive(Debug)]
pub struct KeyParts {
    pub owner: String,
    pub shared: bool,
    pub kept: bool,
    pub model: String,
    pub provider: String,
    pub kind: String,
    pub state: String,
}

/// One segment's reusable parts.
pub struct SegmentView {
    /// Per facet-key ordinal; `None` for a value this build cannot read.
    pub keys: Vec<Option<KeyParts>>,
    pub ords: Arc<dyn ColumnValues<u64>>,
    pub created: Arc<dyn ColumnValues<DateTime>>,
    pub id_hi: Arc<dyn ColumnValues<u64>>,
    pub id_lo: Arc<dyn ColumnValues<u64>>,
    /// Every document, newest (created_at, id) first.
    by_date: OnceLock<Vec<DocId>>,
    /// (deleted documents when counted, live documents per facet-key ordinal).
    counts: Mutex<Option<(u32, Arc<Vec<u64>>)>>,
}

impl SegmentView {
    fn load(segment: &SegmentReader, fields: &Fields) -> tantivy::Result<Option<SegmentView>> {
        let name = |field| segment.schema().get_field_name(field).to_string();
        let fast = segment.fast_fields();
        let Some(keys) = fast.str(&name(fields.facet_key))? else { return Ok(None) };
        let mut decoded = Vec::with_capacity(keys.num_terms());
        let mut stream = keys.dictionary().stream()?;
        while stream.advance() {
            let text = std::str::from_utf8(stream.key()).unwrap_or_default();
            decoded.push(FacetKey::decode(text).map(|k| KeyParts {
                owner: k.owner.to_string(),
                shared: k.shared,
                kept: k.kept,
                model: k.model.to_string(),
                provider: k.provider.to_string(),
                kind: k.kind.to_string(),
                state: k.state.to_string(),
            }));
        }
        Ok(Some(SegmentView {
            keys: decoded,
            ords: keys.ords().clone().first_or_default_col(u64::MAX),
            created: fast.date(&name(fields.created_at))?.first_or_default_col(DateTime::MIN),
            id_hi: fast.u64(&name(fields.id_hi))?.first_or_default_col(0),
            id_lo: fast.u64(&name(fields.id_lo))?.first_or_default_col(0),
            by_date: OnceLock::new(),
            counts: Mutex::new(None),
        }))
    }

    /// A document's creation time (ms) and id key.
    pub fn key_of(&self, doc: DocId) -> (i64, u128) {
        let id = (u128::from(self.id_hi.get_val(doc)) << 64) | u128::from(self.id_lo.get_val(doc));
        (self.created.get_val(doc).into_timestamp_millis(), id)
    }

    /// Every document of the segment, newest first (deleted ones included).
    pub fn by_date(&self) -> &[DocId] {
        self.by_date.get_or_init(|| {
            let mut docs: Vec<(i64, u128, DocId)> = (0..self.ords.num_vals())
                .map(|d| {
                    let (t, id) = self.key_of(d);
                    (t, id, d)
                })
                .collect();
            docs.sort_unstable_by_key(|&(t, id, _)| std::cmp::Reverse((t, id)));
            docs.into_iter().map(|(_, _, d)| d).collect()
        })
    }

    /// How many live documents carry each facet-key ordinal.
    pub fn counts(&self, segment: &SegmentReader) -> Arc<Vec<u64>> {
        let deleted = segment.num_deleted_docs();
        let mut cached = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, counts)) = cached.as_ref()
            && *at == deleted
        {
            return counts.clone();
        }
        let mut counts = vec![0u64; self.keys.len()];
        for doc in segment.doc_ids_alive() {
            if let Some(n) = counts.get_mut(self.ords.get_val(doc) as usize) {
                *n += 1;
            }
        }
        let counts = Arc::new(counts);
        *cached = Some((deleted, counts.clone()));
        counts
    }
}

/// The views of an index's segments.
#[derive(Default)]
pub struct Views {
    segments: Mutex<HashMap<SegmentId, Arc<SegmentView>>>,
}

impl Views {
    /// The view of `segment`, loaded on first use; `None` for a segment without facet keys.
    pub fn of(&self, segment: &SegmentReader, fields: &Fields) -> tantivy::Result<Option<Arc<SegmentView>>> {
        let id = segment.segment_id();
        if let Some(view) = self.segments.lock().unwrap_or_else(|p| p.into_inner()).get(&id) {
            return Ok(Some(view.clone()));
        }
        let Some(view) = SegmentView::load(segment, fields)?.map(Arc::new) else { return Ok(None) };
        self.segments.lock().unwrap_or_else(|p| p.into_inner()).insert(id, view.clone());
        Ok(Some(view))
    }

    /// Forgets the segments not in `alive` (after a commit or merge replaced them).
    pub fn retain(&self, alive: &[SegmentId]) {
        self.segments.lock().unwrap_or_else(|p| p.into_inner()).retain(|id, _| alive.contains(id));
    }
}
