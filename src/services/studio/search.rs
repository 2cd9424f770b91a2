//! Searching the library: the index finds the page, then every hit is read back from the store
//! and checked again (owner or shared, not deleted: the index may lag a change by one commit)
//! with its outputs and a highlighted snippet. Also `reindex`, and what the index files as a
//! generation's provider.

use std::sync::Arc;

use crate::domain::asset::Asset;
use crate::domain::generation::Generation;
use crate::domain::ids::GenerationId;
use crate::domain::user::{Role, User};
use crate::search::highlight::Highlighter;
use crate::search::{Facets, ProviderOf, SearchRequest, Viewer};
use crate::services::state::AppState;
use crate::services::{ServiceError, ServiceResult};
use crate::store;

/// One page of results.
#[derive(Debug, Clone)]
pub struct SearchPage {
    pub items: Vec<SearchItem>,
    /// Counts over every page of the result set.
    pub facets: Facets,
    /// Pass back as `cursor` for the next page; `None` on the last one.
    pub next_cursor: Option<String>,
    /// How many generations match (on every page).
    pub total: u64,
}

/// One result: the generation as stored now, its outputs, and its prompt as an HTML snippet
/// with the matched words in `<mark>`.
#[derive(Debug, Clone)]
pub struct SearchItem {
    pub generation: Generation,
    pub outputs: Vec<Asset>,
    pub highlight: String,
}

/// The viewer `user` searches as.
pub fn viewer(user: &User) -> Viewer {
    Viewer { user: user.id, admin: user.role == Role::Admin }
}

/// Searches what `user` may see: their own generations and those others shared. Only admins
/// may filter by user.
pub async fn search(state: &AppState, user: &User, request: SearchRequest) -> ServiceResult<SearchPage> {
    search_then(state, user, request, |page| page).await
}

/// [`search`], then `then` with the page on the same search thread: a caller that only turns
/// the page into something else (a response body) does it there, and the page is freed where
/// it was made, instead of on the thread that serves requests.
pub async fn search_then<R: Send + 'static>(
    state: &AppState,
    user: &User,
    request: SearchRequest,
    then: impl FnOnce(SearchPage) -> R + Send + 'static,
) -> ServiceResult<R> {
    let viewer = viewer(user);
    if !viewer.admin && !request.filters.users.is_empty() {
        return Err(ServiceError::AdminOnly);
    }
    state.search.until_open().await;
    let (search, store) = (state.search.clone(), state.store.clone());
    // one trip to the search threads for the index and the store
    state
        .search
        .run(move || {
            let found = search.search(viewer, &request)?;
            let ids: Vec<_> = found.hits.iter().map(|h| h.id).collect();
            let loaded = store.read_now(|tx| load(tx, &ids, viewer))?;
            let mut highlighter = Highlighter::new(request.text.highlight_terms());
            let items = loaded
                .into_iter()
                .map(|(generation, outputs)| SearchItem { highlight: highlighter.highlight(&generation.prompt), generation, outputs })
                .collect();
            Ok(then(SearchPage { items, facets: found.facets, next_cursor: found.next.map(|c| c.encode()), total: found.total }))
        })
        .await
        .ok_or_else(|| ServiceError::Internal("the search task stopped".into()))?
}

/// The generations `ids` as stored now, with their outputs, leaving out those `viewer` may no
/// longer see (deleted, or unshared since the last commit).
fn load(tx: &impl store::Tx, ids: &[GenerationId], viewer: Viewer) -> ServiceResult<Vec<(Generation, Vec<Asset>)>> {
    let shown: Vec<Generation> = store::generations::get_many(tx, ids)?
        .into_iter()
        .flatten()
        .filter(|g| g.deleted_at.is_none() && viewer.may_see(g.owner, g.shared))
        .collect();
    let outputs: Vec<_> = shown.iter().flat_map(|g| g.outputs.iter().copied()).collect();
    let mut assets = store::assets::get_many(tx, &outputs)?.into_iter().peekable();
    Ok(shown
        .into_iter()
        .map(|g| {
            let mine: Vec<Asset> = g.outputs.iter().filter_map(|id| assets.next_if(|a| a.id == *id)).collect();
            (g, mine)
        })
        .collect())
}

/// Rebuilds the index from the store, calling `report` with progress; through the running
/// indexer when the service runs.
pub async fn reindex(state: &AppState, report: impl FnMut(crate::search::Progress) + Send) -> ServiceResult<crate::search::Progress> {
    Ok(state.search.reindex(&state.store, provider_of(state), report).await?)
}

/// A generation's provider: its model's connection kind in the catalog, else the kind of the
/// connection that served it, else that connection's name.
pub fn provider_of(state: &AppState) -> Arc<ProviderOf> {
    let state = state.clone();
    Arc::new(move |g: &Generation| {
        let registry = state.registry();
        if let Some(model) = registry.model(&g.model) {
            return model.provider.to_string();
        }
        registry.connection(&g.connection).map_or_else(|| g.connection.clone(), |c| c.config.kind.clone())
    })
}
