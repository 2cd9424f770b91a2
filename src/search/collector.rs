//! The collector of searches with words: keeps only what the viewer may see and the filters
//! let through, counts facets and the total over that set, and keeps the page after the
//! cursor in (created_at, id) order. One fast-column read per matching document decides all
//! but the order (see `schema::FacetKey`). Listings without words go through `listing`.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use super::query::{Cursor, Order, SearchRequest, Viewer};
use super::schema::Fields;
use super::views::{KIND, MODEL, OWNER, PROVIDER, STATE, SegmentView, Views};
use crate::domain::ids::GenerationId;

/// Facet counts over the whole result set (not just the page), value -> documents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facets {
    pub model: BTreeMap<String, u64>,
    pub provider: BTreeMap<String, u64>,
    pub kind: BTreeMap<String, u64>,
    pub state: BTreeMap<String, u64>,
    /// By owner id; filled for admins only.
    pub user: BTreeMap<String, u64>,
    /// How many have an output with sound.
    pub with_sound: u64,
}

impl Facets {
    fn add(&mut self, other: Facets) {
        self.with_sound += other.with_sound;
        for (mine, theirs) in [
            (&mut self.model, other.model),
            (&mut self.provider, other.provider),
            (&mut self.kind, other.kind),
            (&mut self.state, other.state),
            (&mut self.user, other.user),
        ] {
            for (k, n) in &theirs {
                add(mine, k, *n);
            }
        }
    }
}

/// Adds `n` to `value`'s count (allocating the key only the first time).
pub(super) fn add(map: &mut BTreeMap<String, u64>, value: &str, n: u64) {
    match map.get_mut(value) {
        Some(count) => *count += n,
        None => {
            map.insert(value.to_string(), n);
        }
    }
}

/// One result: the generation and when it was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub id: GenerationId,
    pub created_at: i64,
}

/// What a search found.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// The page, in order.
    pub hits: Vec<Hit>,
    /// Every document that matched (on every page).
    pub total: u64,
    pub facets: Facets,
    /// Where the next page starts, when there is one.
    pub next: Option<Cursor>,
}

/// Position in the result order: greater comes first.
pub(super) type Rank = (u64, u128);

pub(super) fn rank(order: Order, created_at: i64, id: u128) -> Rank {
    let t = (created_at as u64) ^ (1 << 63);
    match order {
        Order::NewestFirst => (t, id),
        Order::OldestFirst => (!t, !id),
    }
}

/// The per-request settings, shared by every segment.
pub struct Plan {
    pub(super) viewer: Viewer,
    viewer_id: String,
    pub(super) order: Order,
    pub(super) after: Option<Rank>,
    pub(super) limit: usize,
    pub(super) from: i64,
    pub(super) to: i64,
    kept: Option<bool>,
    sound: Option<bool>,
    models: HashSet<String>,
    providers: HashSet<String>,
    kinds: HashSet<String>,
    states: HashSet<String>,
    users: HashSet<String>,
}

impl Plan {
    pub fn new(viewer: Viewer, request: &SearchRequest) -> Plan {
        let f = &request.filters;
        Plan {
            viewer,
            viewer_id: viewer.user.to_string(),
            order: request.order,
            after: request.cursor.map(|c| rank(request.order, c.created_at, c.id.to_key())),
            limit: request.limit.max(1),
            from: f.from.map_or(i64::MIN, |t| t.millis()),
            to: f.to.map_or(i64::MAX, |t| t.millis()),
            kept: f.kept,
            sound: f.sound,
            models: f.models.iter().cloned().collect(),
            providers: f.providers.iter().cloned().collect(),
            kinds: f.kinds.iter().map(|k| k.as_str().to_string()).collect(),
            states: f.states.iter().map(|s| s.as_str().to_string()).collect(),
            users: f.users.iter().map(|u| u.to_string()).collect(),
        }
    }

    /// Per facet-key ordinal of `view`: admitted by visibility and filters or not (the
    /// date range aside). Compares each distinct value once, then indexes.
    pub(super) fn admitted(&self, view: &SegmentView) -> Vec<bool> {
        let sets = [(MODEL, &self.models), (PROVIDER, &self.providers), (KIND, &self.kinds), (STATE, &self.states), (OWNER, &self.users)];
        // only the facets filtered on are looked at
        let allowed: Vec<(usize, Vec<bool>)> = sets
            .iter()
            .filter(|(_, set)| !set.is_empty())
            .map(|&(facet, set)| (facet, view.values(facet).iter().map(|v| set.contains(v)).collect()))
            .collect();
        let mine = view.values(OWNER).iter().position(|o| *o == self.viewer_id).and_then(|m| u16::try_from(m).ok());
        view.ordinals()
            .map(|(key, at)| {
                let Some(key) = key else { return false };
                (key.shared || Some(at[OWNER]) == mine)
                    && self.kept.is_none_or(|k| k == key.kept)
                    && self.sound.is_none_or(|s| s == key.sound)
                    && allowed.iter().all(|(facet, ok)| ok.get(usize::from(at[*facet])).copied().unwrap_or(false))
            })
            .collect()
    }

    /// The page of `candidates` (rank, created_at), best first, and the cursor after it when
    /// `more` documents than the page follow the cursor.
    pub(super) fn page(&self, mut candidates: Vec<(Rank, i64)>, more: bool) -> (Vec<Hit>, Option<Cursor>) {
        candidates.sort_unstable_by_key(|e| std::cmp::Reverse(e.0));
        candidates.truncate(self.limit);
        let hits: Vec<Hit> = candidates
            .iter()
            .map(|&((_, id), created_at)| {
                let id = match self.order {
                    Order::NewestFirst => id,
                    Order::OldestFirst => !id,
                };
                Hit { id: GenerationId::from_key(id), created_at }
            })
            .collect();
        let next = if more { hits.last().map(|h| Cursor { order: self.order, created_at: h.created_at, id: h.id }) } else { None };
        (hits, next)
    }
}

/// The collector of [`Plan`]; `fields` and `views` must be those of the searched index.
pub struct SearchCollector<'a> {
    pub plan: &'a Plan,
    pub fields: Fields,
    pub views: &'a Views,
}

/// Candidates kept before the worst are dropped (at least twice the page).
const SHRINK_AT: usize = 1024;

/// A document that may make the page: its date's rank (without the id), the document, its
/// creation time. Ids are read only for the survivors.
type Candidate = (u64, DocId, i64);

/// One segment's share of the work.
pub struct SegmentSearch {
    order: Order,
    after: Option<Rank>,
    limit: usize,
    from: i64,
    to: i64,
    admin: bool,
    view: Option<Arc<SegmentView>>,
    /// Per facet-key ordinal: admitted by visibility and filters.
    admits: Vec<bool>,
    counts: Vec<u64>,
    remaining: u64,
    top: Vec<Candidate>,
    /// Once `top` was shrunk: the date rank a document needs to stay in the running.
    floor: Option<u64>,
    /// Scratch space of one block.
    ords: Vec<u64>,
    admitted: (Vec<DocId>, Vec<u64>),
    dates: Vec<tantivy::DateTime>,
}

/// One segment's findings.
pub struct SegmentFound {
    total: u64,
    remaining: u64,
    facets: Facets,
    top: Vec<(Rank, i64)>,
}

impl Collector for SearchCollector<'_> {
    type Fruit = Found;
    type Child = SegmentSearch;

    fn for_segment(&self, _: SegmentOrdinal, segment: &SegmentReader) -> tantivy::Result<SegmentSearch> {
        let plan = self.plan;
        let view = self.views.of(segment, &self.fields)?;
        let admits = view.as_ref().map(|v| plan.admitted(v)).unwrap_or_default();
        Ok(SegmentSearch {
            order: plan.order,
            after: plan.after,
            limit: plan.limit,
            from: plan.from,
            to: plan.to,
            admin: plan.viewer.admin,
            counts: vec![0; admits.len()],
            admits,
            view,
            remaining: 0,
            top: Vec::new(),
            floor: None,
            ords: Vec::new(),
            admitted: Default::default(),
            dates: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, segments: Vec<SegmentFound>) -> tantivy::Result<Found> {
        let mut found = Found::default();
        let mut remaining = 0;
        let mut top = Vec::new();
        for s in segments {
            found.total += s.total;
            remaining += s.remaining;
            found.facets.add(s.facets);
            top.extend(s.top);
        }
        (found.hits, found.next) = self.plan.page(top, remaining > self.plan.limit as u64);
        Ok(found)
    }
}

impl SegmentSearch {
    fn consider(&mut self, view: &SegmentView, doc: DocId, ord: u64, t: i64) {
        if t < self.from || t > self.to {
            return;
        }
        self.counts[ord as usize] += 1;
        let coarse = rank(self.order, t, 0).0;
        if let Some(after) = self.after {
            // at or before the cursor: shown on an earlier page
            if coarse > after.0 || (coarse == after.0 && rank(self.order, t, view.key_of(doc).1) >= after) {
                return;
            }
        }
        self.remaining += 1;
        if self.floor.is_some_and(|f| coarse < f) {
            return;
        }
        self.top.push((coarse, doc, t));
        // documents often come oldest first (in the order they were indexed), each one a
        // new best for a newest-first page: shrink rarely, in big steps
        if self.top.len() >= (self.limit * 2).max(SHRINK_AT) {
            self.shrink();
        }
    }

    /// Keeps the best `limit` dates, and every candidate tied with the last of them (the id
    /// decides among those later); raises the floor to that date.
    fn shrink(&mut self) {
        let limit = self.limit;
        self.top.select_nth_unstable_by(limit - 1, |a, b| b.0.cmp(&a.0));
        let floor = self.top[limit - 1].0;
        let mut kept = limit;
        for i in limit..self.top.len() {
            if self.top[i].0 == floor {
                self.top.swap(kept, i);
                kept += 1;
            }
        }
        self.top.truncate(kept);
        self.floor = Some(floor);
    }
}

impl SegmentCollector for SegmentSearch {
    type Fruit = SegmentFound;

    fn collect(&mut self, doc: DocId, _: Score) {
        self.collect_block(&[doc]);
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        let Some(view) = self.view.clone() else { return };
        let (mut ords, mut admitted, mut dates) =
            (std::mem::take(&mut self.ords), std::mem::take(&mut self.admitted), std::mem::take(&mut self.dates));
        ords.resize(docs.len(), 0);
        view.ords.get_vals(docs, &mut ords);
        admitted.0.clear();
        admitted.1.clear();
        for (&doc, &ord) in docs.iter().zip(&ords).filter(|&(_, &ord)| self.admits.get(ord as usize) == Some(&true)) {
            admitted.0.push(doc);
            admitted.1.push(ord);
        }
        dates.resize(admitted.0.len(), tantivy::DateTime::MIN);
        view.created.get_vals(&admitted.0, &mut dates);
        for ((&doc, &ord), date) in admitted.0.iter().zip(&admitted.1).zip(&dates) {
            self.consider(&view, doc, ord, date.into_timestamp_millis());
        }
        (self.ords, self.admitted, self.dates) = (ords, admitted, dates);
    }

    fn harvest(mut self) -> SegmentFound {
        let mut facets = Facets::default();
        let total = self.view.as_ref().map_or(0, |view| view.tally(self.counts.iter().copied().enumerate(), &mut facets, self.admin));
        if self.top.len() > self.limit {
            self.shrink();
        }
        let top = match &self.view {
            Some(view) => self.top.iter().map(|&(_, doc, t)| (rank(self.order, t, view.key_of(doc).1), t)).collect(),
            None => Vec::new(),
        };
        SegmentFound { total, remaining: self.remaining, facets, top }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::MediaKind;
    use crate::domain::generation::{GenState, Generation};
    use crate::domain::ids::UserId;
    use crate::domain::time::Timestamp;
    use crate::search::query::{Filters, TextQuery};
    use crate::search::schema::register_analyzers;

    fn generation(owner: UserId, n: i64, shared: bool, state: GenState, prompt: &str) -> Generation {
        let json = serde_json::json!({
            "id": GenerationId::generate(), "owner": owner, "model": if n % 2 == 0 { "demo-image" } else { "demo-video" },
            "kind": if n % 2 == 0 { "image" } else { "video" }, "connection": "demo", "prompt": prompt, "negative_prompt": null,
            "params": {}, "references": [], "state": state, "reason": null, "progress": null, "cost": 1,
            "created_at": 1_000 + n / 3, "updated_at": 0, "submitted_at": null, "finished_at": null, "deadline_at": 0,
            "upstream": null, "pending_outputs": [], "outputs": [], "cancel_requested": false, "kept": n % 5 == 0,
            "shared": shared, "legal_hold": false, "upstream_deleted_at": null, "deleted_at": null
        });
        serde_json::from_value(json).unwrap()
    }

    struct Fixture {
        index: tantivy::Index,
        fields: Fields,
        me: UserId,
        other: UserId,
    }

    /// 60 of mine (created in threes per millisecond; every other video with sound), 20 of
    /// another's of which 5 shared, and 4 deleted.
    fn fixture() -> Fixture {
        let (schema, fields) = Fields::schema();
        let index = tantivy::Index::create_in_ram(schema);
        register_analyzers(&index);
        let (me, other) = (UserId::generate(), UserId::generate());
        let mut writer: tantivy::IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for n in 0..60 {
            let state = if n % 3 == 0 { GenState::Failed } else { GenState::Succeeded };
            writer.add_document(fields.document(&generation(me, n, false, state, "a dog runs home"), "demo", n % 4 == 1)).unwrap();
            if n % 20 == 0 {
                writer.commit().unwrap(); // several segments
            }
        }
        for n in 0..20 {
            let g = generation(other, n, n < 5, GenState::Succeeded, "the cat sleeps");
            writer.add_document(fields.document(&g, "demo", false)).unwrap();
        }
        writer.commit().unwrap();
        // deleted documents count nowhere
        let gone: Vec<Generation> = (0..4).map(|n| generation(me, n * 7, n % 2 == 0, GenState::Succeeded, "a dog and a cat")).collect();
        for g in &gone {
            writer.add_document(fields.document(g, "demo", true)).unwrap();
        }
        writer.commit().unwrap();
        for g in &gone {
            writer.delete_term(fields.id_term(g.id));
        }
        writer.commit().unwrap();
        Fixture { index, fields, me, other }
    }

    fn run(f: &Fixture, viewer: Viewer, request: &SearchRequest) -> Found {
        let searcher = f.index.reader().unwrap().searcher();
        let plan = Plan::new(viewer, request);
        let views = crate::search::views::Views::default();
        if request.text.is_empty() {
            let listed = crate::search::listing::list(&searcher, &plan, &f.fields, &views).unwrap();
            let collected = searcher
                .search(&*request.text.to_query(&f.fields), &SearchCollector { plan: &plan, fields: f.fields, views: &views })
                .unwrap();
            assert_eq!(
                (&listed.hits, listed.total, &listed.facets, listed.next),
                (&collected.hits, collected.total, &collected.facets, collected.next)
            );
            return listed;
        }
        searcher.search(&*request.text.to_query(&f.fields), &SearchCollector { plan: &plan, fields: f.fields, views: &views }).unwrap()
    }

    #[test]
    fn only_own_and_shared_documents_are_found_and_counted() {
        let f = fixture();
        let me = Viewer { user: f.me, admin: false };
        let all = run(&f, me, &SearchRequest::default());
        assert_eq!(all.total, 65);
        assert_eq!(all.facets.kind.values().sum::<u64>(), 65);
        assert_eq!(all.facets.state["failed"], 20);
        assert!(all.facets.user.is_empty(), "no user facet for members");
        let cats = run(&f, me, &SearchRequest { text: TextQuery::parse("sleeping cats").unwrap(), ..Default::default() });
        assert_eq!(cats.total, 5);
        let admin = run(&f, Viewer { user: f.me, admin: true }, &SearchRequest::default());
        assert_eq!(admin.facets.user[&f.other.to_string()], 5, "admins see only what is shared, by user");
        let mut theirs = SearchRequest::default();
        theirs.filters.users = vec![f.other];
        assert_eq!(run(&f, Viewer { user: f.me, admin: true }, &theirs).total, 5);
    }

    #[test]
    fn filters_and_date_ranges_narrow_the_set_and_the_facets() {
        let f = fixture();
        let me = Viewer { user: f.me, admin: false };
        let filters = Filters {
            kinds: vec![MediaKind::Video],
            states: vec![GenState::Succeeded],
            kept: Some(false),
            from: Some(Timestamp(1_002)),
            to: Some(Timestamp(1_010)),
            ..Default::default()
        };
        let found = run(&f, me, &SearchRequest { filters, ..Default::default() });
        let expected = (0..60).filter(|n| n % 2 == 1 && n % 3 != 0 && n % 5 != 0 && (1_002..=1_010).contains(&(1_000 + n / 3))).count()
            as u64
            + (0..5).filter(|n| n % 2 == 1 && n % 5 != 0 && (1_002..=1_010).contains(&(1_000 + n / 3))).count() as u64;
        assert_eq!(found.total, expected);
        assert_eq!(found.facets.kind.keys().collect::<Vec<_>>(), ["video"]);
        assert_eq!(found.facets.state.keys().collect::<Vec<_>>(), ["succeeded"]);
    }

    #[test]
    fn the_sound_filter_and_its_count() {
        let f = fixture();
        let me = Viewer { user: f.me, admin: false };
        assert_eq!(run(&f, me, &SearchRequest::default()).facets.with_sound, 15);
        let only = |sound| SearchRequest { filters: Filters { sound: Some(sound), ..Default::default() }, ..Default::default() };
        let with = run(&f, me, &only(true));
        assert_eq!((with.total, with.facets.with_sound), (15, 15));
        assert_eq!(with.facets.kind.keys().collect::<Vec<_>>(), ["video"]);
        assert_eq!(run(&f, me, &only(false)).total, 50);
    }

    #[test]
    fn cursor_pages_cover_everything_once_in_order_both_ways() {
        let f = fixture();
        let me = Viewer { user: f.me, admin: false };
        for order in [Order::NewestFirst, Order::OldestFirst] {
            let mut seen: Vec<Hit> = Vec::new();
            let mut cursor = None;
            for _ in 0..100 {
                let page = run(&f, me, &SearchRequest { order, cursor, limit: 7, ..Default::default() });
                assert_eq!(page.total, 65, "the total does not depend on the page");
                seen.extend(&page.hits);
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            assert_eq!(seen.len(), 65);
            let keys: Vec<(i64, GenerationId)> = seen.iter().map(|h| (h.created_at, h.id)).collect();
            let mut sorted = keys.clone();
            sorted.sort();
            if order == Order::NewestFirst {
                sorted.reverse();
            }
            assert_eq!(keys, sorted, "{order:?}: strictly ordered, so no duplicates");
        }
    }
}
