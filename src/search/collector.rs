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
use super::views::{KeyParts, SegmentView, Views};
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
}

impl Facets {
    /// Counts `n` documents with the keywords `key`.
    pub(super) fn count(&mut self, key: &KeyParts, n: u64, admin: bool) {
        for (map, value) in
            [(&mut self.model, &key.model), (&mut self.provider, &key.provider), (&mut self.kind, &key.kind), (&mut self.state, &key.state)]
        {
            *map.entry(value.clone()).or_default() += n;
        }
        if admin {
            *self.user.entry(key.owner.clone()).or_default() += n;
        }
    }

    fn add(&mut self, other: Facets) {
        for (mine, theirs) in [
            (&mut self.model, other.model),
            (&mut self.provider, other.provider),
            (&mut self.kind, other.kind),
            (&mut self.state, other.state),
            (&mut self.user, other.user),
        ] {
            for (k, n) in theirs {
                *mine.entry(k).or_default() += n;
            }
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
            models: f.models.iter().cloned().collect(),
            providers: f.providers.iter().cloned().collect(),
            kinds: f.kinds.iter().map(|k| k.as_str().to_string()).collect(),
            states: f.states.iter().map(|s| s.as_str().to_string()).collect(),
            users: f.users.iter().map(|u| u.to_string()).collect(),
        }
    }

    /// Whether documents with this key are in the result set (before the date range).
    fn admits(&self, key: &KeyParts) -> bool {
        let visible = key.owner == self.viewer_id || key.shared;
        let any = |set: &HashSet<String>, value: &str| set.is_empty() || set.contains(value);
        visible
            && self.kept.is_none_or(|k| k == key.kept)
            && any(&self.models, &key.model)
            && any(&self.providers, &key.provider)
            && any(&self.kinds, &key.kind)
            && any(&self.states, &key.state)
            && any(&self.users, &key.owner)
    }

    /// Per facet-key ordinal of `view`: admitted or not.
    pub(super) fn admitted(&self, view: &SegmentView) -> Vec<bool> {
        view.keys.iter().map(|k| k.as_ref().is_some_and(|k| self.admits(k))).collect()
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
    top: Vec<(Rank, i64)>,
    /// The lowest rank that can still enter the page once `top` holds more than `limit`.
    floor: Option<Rank>,
    ords: Vec<u64>,
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
            top: Vec::with_capacity(plan.limit * 2 + 1),
            floor: None,
            ords: Vec::new(),
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
    fn consider(&mut self, doc: DocId, ord: u64) {
        let Some(view) = &self.view else { return };
        let t = view.created.get_val(doc).into_timestamp_millis();
        if t < self.from || t > self.to {
            return;
        }
        self.counts[ord as usize] += 1;
        let coarse = rank(self.order, t, 0).0;
        let exact = || rank(self.order, t, view.key_of(doc).1);
        let mut known = None;
        if let Some(after) = self.after {
            // at or before the cursor: shown on an earlier page
            if coarse > after.0 || (coarse == after.0 && *known.insert(exact()) >= after) {
                return;
            }
        }
        self.remaining += 1;
        if self.floor.is_some_and(|f| coarse < f.0) {
            return;
        }
        let r = known.unwrap_or_else(exact);
        if self.floor.is_some_and(|f| r < f) {
            return;
        }
        self.top.push((r, t));
        if self.top.len() > self.limit * 2 {
            self.shrink();
        }
    }

    /// Keeps the best `limit` candidates and raises the floor to the worst of them.
    fn shrink(&mut self) {
        let limit = self.limit;
        self.top.select_nth_unstable_by(limit - 1, |a, b| b.0.cmp(&a.0));
        self.top.truncate(limit);
        self.floor = self.top.iter().map(|e| e.0).min();
    }
}

impl SegmentCollector for SegmentSearch {
    type Fruit = SegmentFound;

    fn collect(&mut self, doc: DocId, _: Score) {
        self.collect_block(&[doc]);
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        let Some(view) = self.view.clone() else { return };
        self.ords.resize(docs.len(), 0);
        let mut ords = std::mem::take(&mut self.ords);
        view.ords.get_vals(docs, &mut ords);
        for (&doc, &ord) in docs.iter().zip(&ords) {
            if self.admits.get(ord as usize).copied().unwrap_or(false) {
                self.consider(doc, ord);
            }
        }
        self.ords = ords;
    }

    fn harvest(mut self) -> SegmentFound {
        let mut facets = Facets::default();
        let mut total = 0;
        if let Some(view) = &self.view {
            for (ord, &n) in self.counts.iter().enumerate().filter(|(_, n)| **n > 0) {
                if let Some(Some(key)) = view.keys.get(ord) {
                    total += n;
                    facets.count(key, n, self.admin);
                }
            }
        }
        if self.top.len() > self.limit {
            self.shrink();
        }
        SegmentFound { total, remaining: self.remaining, facets, top: self.top }
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

    /// 60 of mine (created in threes per millisecond), 20 of another's of which 5 shared, and
    /// 4 deleted.
    fn fixture() -> Fixture {
        let (schema, fields) = Fields::schema();
        let index = tantivy::Index::create_in_ram(schema);
        register_analyzers(&index);
        let (me, other) = (UserId::generate(), UserId::generate());
        let mut writer: tantivy::IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for n in 0..60 {
            let state = if n % 3 == 0 { GenState::Failed } else { GenState::Succeeded };
            writer.add_document(fields.document(&generation(me, n, false, state, "a dog runs home"), "demo")).unwrap();
            if n % 20 == 0 {
                writer.commit().unwrap(); // several segments
            }
        }
        for n in 0..20 {
            let g = generation(other, n, n < 5, GenState::Succeeded, "the cat sleeps");
            writer.add_document(fields.document(&g, "demo")).unwrap();
        }
        writer.commit().unwrap();
        // deleted documents count nowhere
        let gone: Vec<Generation> = (0..4).map(|n| generation(me, n * 7, n % 2 == 0, GenState::Succeeded, "a dog and a cat")).collect();
        for g in &gone {
            writer.add_document(fields.document(g, "demo")).unwrap();
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
