//! Listings without words (the library page): the total and facets come from each segment's
//! counts per facet key, and the page from walking each segment in date order from the
//! cursor, so the cost follows the page size rather than the size of the library. Gives the
//! same answer as the collector (a unit test compares them).

use tantivy::{DocId, Searcher};

use super::collector::{Found, Plan, rank};
use super::query::Order;
use super::schema::Fields;
use super::views::{SegmentView, Views};

/// Lists what `plan` lets through, as the collector would with no words.
pub fn list(searcher: &Searcher, plan: &Plan, fields: &Fields, views: &Views) -> tantivy::Result<Found> {
    let mut found = Found::default();
    let mut candidates = Vec::new();
    let ranged = plan.from != i64::MIN || plan.to != i64::MAX;
    for segment in searcher.segment_readers() {
        let Some(view) = views.of(segment, fields)? else { continue };
        let admits = plan.admitted(&view);
        let alive = |d: DocId| segment.alive_bitset().is_none_or(|a| a.is_alive(d));
        let newest_first = view.by_date();
        // the documents inside the date range are contiguous in date order
        let (first, end) = if ranged {
            (
                newest_first.partition_point(|&d| view.key_of(d).0 > plan.to),
                newest_first.partition_point(|&d| view.key_of(d).0 >= plan.from),
            )
        } else {
            (0, newest_first.len())
        };
        let in_range = &newest_first[first..end.max(first)];
        let counts = if ranged {
            let mut counts = vec![0u64; view.keys.len()];
            for &d in in_range.iter().filter(|&&d| alive(d)) {
                if let Some(n) = counts.get_mut(view.ords.get_val(d) as usize) {
                    *n += 1;
                }
            }
            std::sync::Arc::new(counts)
        } else {
            view.counts(segment)
        };
        let admitted = counts.iter().copied().enumerate().filter(|&(ord, _)| admits.get(ord) == Some(&true));
        found.total += view.tally(admitted, &mut found.facets, plan.viewer.admin);
        let wanted = |d: DocId| alive(d) && admits.get(view.ords.get_val(d) as usize) == Some(&true);
        candidates.extend(page_of(plan, &view, in_range, wanted));
    }
    let more = candidates.len() > plan.limit;
    (found.hits, found.next) = plan.page(candidates, more);
    Ok(found)
}

/// Up to `limit + 1` documents of `newest_first` after the cursor, in the plan's order,
/// that `wanted` keeps: (rank, created_at).
fn page_of(plan: &Plan, view: &SegmentView, newest_first: &[DocId], wanted: impl Fn(DocId) -> bool) -> Vec<(super::collector::Rank, i64)> {
    let rank_of = |d: DocId| {
        let (t, id) = view.key_of(d);
        (rank(plan.order, t, id), t)
    };
    let mut out = Vec::with_capacity(plan.limit + 1);
    let mut take = |d: DocId| {
        if wanted(d) {
            out.push(rank_of(d));
        }
        out.len() <= plan.limit
    };
    match plan.order {
        Order::NewestFirst => {
            // ranks fall along the slice: start at the first one below the cursor
            let start = plan.after.map_or(0, |a| newest_first.partition_point(|&d| rank_of(d).0 >= a));
            for &d in &newest_first[start..] {
                if !take(d) {
                    break;
                }
            }
        }
        Order::OldestFirst => {
            // ranks rise along the slice: walk back from the last one below the cursor
            let end = plan.after.map_or(newest_first.len(), |a| newest_first.partition_point(|&d| rank_of(d).0 < a));
            for &d in newest_first[..end].iter().rev() {
                if !take(d) {
                    break;
                }
            }
        }
    }
    out
}
