//! What searches reuse per segment (segments never change, only their deletions do): the
//! decoded facet keys, the columns, the facet-key counts of the live documents, and the
//! documents in date order. Computed on first use and dropped with their segment.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use tantivy::columnar::{Column, ColumnValues};
use tantivy::index::SegmentId;
use tantivy::{DateTime, DocId, SegmentReader};

use super::collector::{Facets, add};
use super::schema::{FacetKey, Fields};

/// The facets, as indexes of [`SegmentView::values`].
pub const MODEL: usize = 0;
pub const PROVIDER: usize = 1;
pub const KIND: usize = 2;
pub const STATE: usize = 3;
pub const OWNER: usize = 4;

/// What a facet key says besides its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyFlags {
    pub shared: bool,
    pub kept: bool,
    pub sound: bool,
}

/// One segment's reusable parts.
pub struct SegmentView {
    /// Per facet-key ordinal; `None` for a value this build cannot read.
    pub keys: Vec<Option<KeyFlags>>,
    /// The distinct values of each facet (model, provider, kind, state, owner) in this
    /// segment, and per facet-key ordinal the index of each of its values: counting a facet
    /// key is then five additions.
    values: [Vec<String>; 5],
    value_of: Vec<[u16; 5]>,
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
        let mut flags = Vec::with_capacity(keys.num_terms());
        let mut values: [Vec<String>; 5] = Default::default();
        let mut value_of = Vec::with_capacity(keys.num_terms());
        let mut stream = keys.dictionary().stream()?;
        while stream.advance() {
            let text = std::str::from_utf8(stream.key()).unwrap_or_default();
            let Some(key) = FacetKey::decode(text) else {
                flags.push(None);
                value_of.push([u16::MAX; 5]);
                continue;
            };
            flags.push(Some(KeyFlags { shared: key.shared, kept: key.kept, sound: key.sound }));
            let mut at = [0u16; 5];
            for (i, value) in [key.model, key.provider, key.kind, key.state, key.owner].into_iter().enumerate() {
                let known = &mut values[i];
                let index = known.iter().position(|v| v == value).unwrap_or_else(|| {
                    known.push(value.to_string());
                    known.len() - 1
                });
                at[i] = u16::try_from(index).unwrap_or(u16::MAX);
            }
            value_of.push(at);
        }
        let max_doc = segment.max_doc();
        Ok(Some(SegmentView {
            keys: flags,
            values,
            value_of,
            ords: direct(keys.ords().clone(), max_doc, u64::MAX),
            created: direct(fast.date(&name(fields.created_at))?, max_doc, DateTime::MIN),
            id_hi: direct(fast.u64(&name(fields.id_hi))?, max_doc, 0),
            id_lo: direct(fast.u64(&name(fields.id_lo))?, max_doc, 0),
            by_date: OnceLock::new(),
            counts: Mutex::new(None),
        }))
    }

    /// Adds `counts` (documents per facet-key ordinal, of admitted ordinals only) to
    /// `facets`, the user facet only for admins; returns their sum.
    pub fn tally(&self, counts: impl Iterator<Item = (usize, u64)>, facets: &mut Facets, admin: bool) -> u64 {
        let mut per_value: [Vec<u64>; 5] = std::array::from_fn(|i| vec![0; self.values[i].len()]);
        let mut total = 0;
        for (ord, n) in counts.filter(|&(_, n)| n > 0) {
            let Some(at) = self.value_of.get(ord) else { continue };
            total += n;
            if self.keys.get(ord).copied().flatten().is_some_and(|k| k.sound) {
                facets.with_sound += n;
            }
            for (i, &index) in at.iter().enumerate() {
                if let Some(c) = per_value[i].get_mut(usize::from(index)) {
                    *c += n;
                }
            }
        }
        let maps = [&mut facets.model, &mut facets.provider, &mut facets.kind, &mut facets.state, &mut facets.user];
        for (i, map) in maps.into_iter().enumerate().take(if admin { 5 } else { 4 }) {
            for (value, &n) in self.values[i].iter().zip(&per_value[i]).filter(|(_, n)| **n > 0) {
                add(map, value, n);
            }
        }
        total
    }

    /// The distinct values of facet `facet` ([`MODEL`] … [`OWNER`]) in this segment.
    pub fn values(&self, facet: usize) -> &[String] {
        &self.values[facet]
    }

    /// For each facet-key ordinal: its flags (`None` when unreadable) and the index of each
    /// of its values in [`SegmentView::values`].
    pub fn ordinals(&self) -> impl Iterator<Item = (Option<KeyFlags>, &[u16; 5])> {
        self.keys.iter().copied().zip(&self.value_of)
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

/// The values of `column` by document. Every document has exactly one value, so value `i`
/// is document `i`'s and the values are read directly, without the row lookup an optional
/// or multi-valued column otherwise does per read.
fn direct<T>(column: Column<T>, max_doc: u32, default: T) -> Arc<dyn ColumnValues<T>>
where
    T: PartialOrd + Copy + std::fmt::Debug + Send + Sync + 'static,
{
    if column.values.num_vals() == max_doc { column.values } else { column.first_or_default_col(default) }
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
