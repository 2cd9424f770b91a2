//! Full-text search over prompts (tantivy, under `DATA/search/`): the schema, the query, the
//! collector, and the indexer task that owns the only writer. Knows nothing of HTTP; who may
//! see what is decided by [`query::Viewer`], which every search must name.

pub mod collector;
pub mod highlight;
pub mod index;
mod indexer;
pub mod listing;
pub mod pool;
pub mod query;
pub mod rebuild;
pub mod schema;
pub mod views;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::config::SearchConfig;
use crate::domain::generation::Generation;
use crate::store::{Store, StoreError};
use crate::workers::{Supervisor, Worker};
pub use collector::{Facets, Found, Hit};
use index::{Live, Paths};
use indexer::Command;
pub use query::{Cursor, Filters, Order, SearchRequest, TextQuery, Viewer};
pub use rebuild::Progress;

/// How long shutdown waits for the indexer to commit its pending work.
const STOP_GRACE: Duration = Duration::from_secs(30);

/// How long a search waits for an index that is still opening (just after start) before it
/// is answered "unavailable, try again".
const OPEN_WAIT: Duration = Duration::from_secs(5);

/// The provider (connection kind) of a generation, as the index files it.
pub type ProviderOf = dyn Fn(&Generation) -> String + Send + Sync;

/// Whether a generation has an output with sound (a video with a sound track), as the
/// "with sound" filter sees it; images never have.
pub fn has_sound(tx: &impl crate::store::Tx, g: &Generation) -> Result<bool, StoreError> {
    if g.kind == crate::domain::catalog::MediaKind::Image {
        return Ok(false);
    }
    for id in &g.outputs {
        if crate::store::assets::get(tx, *id)?.is_some_and(|a| a.has_sound) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// What can go wrong in search.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// A request parameter is not acceptable; `param` names it.
    #[error("{message}")]
    Invalid { param: &'static str, message: String },
    #[error("{0}")]
    Unavailable(Status),
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index: {0}")]
    Io(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SearchError {
    pub fn invalid(param: &'static str, message: &str) -> SearchError {
        SearchError::Invalid { param, message: message.to_string() }
    }
}

/// Whether searches can be answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Opening,
    /// Building the index from the store (at start, when it was missing or unusable).
    Rebuilding {
        done: u64,
        total: u64,
    },
    Ready,
    Failed(String),
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Opening => f.write_str("the search index is opening; try again in a moment"),
            Status::Rebuilding { done, total } => {
                write!(f, "the search index is being rebuilt ({done} of {total} generations); try again shortly")
            }
            Status::Ready => f.write_str("the search index is ready"),
            Status::Failed(why) => write!(f, "the search index is unavailable: {why}"),
        }
    }
}

/// State shared by the searches and the indexer task.
struct Shared {
    paths: Paths,
    live: RwLock<Option<Arc<Live>>>,
    status: Mutex<Status>,
    /// The outbox sequence of the last commit searches can see.
    committed: AtomicU64,
    /// Woken when the status changes (searches waiting for the index to open).
    changed: tokio::sync::Notify,
}

impl Shared {
    fn publish(&self, live: Arc<Live>, seq: u64) {
        *self.live.write().unwrap_or_else(|p| p.into_inner()) = Some(live);
        self.committed.store(seq, Ordering::SeqCst);
        self.set_status(Status::Ready);
    }

    fn committed(&self, seq: u64) {
        self.committed.store(seq, Ordering::SeqCst);
    }

    fn is_serving(&self) -> bool {
        self.live.read().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    fn set_status(&self, status: Status) {
        *self.status.lock().unwrap_or_else(|p| p.into_inner()) = status;
        self.changed.notify_waiters();
    }
}

/// The search handle of the app; cheap to clone.
#[derive(Clone)]
pub struct Search {
    shared: Arc<Shared>,
    commands: Arc<Mutex<Option<mpsc::UnboundedSender<Command>>>>,
    /// The threads searches run on, in arrival order.
    pool: Arc<pool::SearchPool>,
}

impl Search {
    /// A handle for the index under `data_dir`; nothing is opened until the indexer starts.
    pub fn new(data_dir: &Path) -> Search {
        Search {
            shared: Arc::new(Shared {
                paths: Paths::new(data_dir),
                live: RwLock::new(None),
                status: Mutex::new(Status::Opening),
                committed: AtomicU64::new(0),
                changed: tokio::sync::Notify::new(),
            }),
            commands: Arc::default(),
            pool: Arc::default(),
        }
    }

    /// Runs `work` (searches and what goes with them) on the search threads when its turn
    /// comes; `None` when it panicked.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        self.pool.run(work).await
    }

    /// Starts the indexer under `workers` (once): it opens or rebuilds the index, then follows
    /// the outbox; it commits pending work when the supervisor stops it.
    pub fn start_indexer(&self, workers: &Supervisor, store: Store, provider: Arc<ProviderOf>, settings: SearchConfig) {
        let mut commands = self.commands.lock().unwrap_or_else(|p| p.into_inner());
        if commands.is_some() {
            return;
        }
        let (send, receive) = mpsc::unbounded_channel();
        *commands = Some(send);
        let (shared, receive) = (self.shared.clone(), Arc::new(tokio::sync::Mutex::new(receive)));
        let indexer = Worker::new("indexer").grace(STOP_GRACE).backoff(indexer::RETRY, Duration::from_secs(60));
        workers.spawn(indexer, move |ctx| {
            indexer::run(shared.clone(), store.clone(), provider.clone(), settings.clone(), receive.clone(), ctx)
        });
    }

    fn sender(&self) -> Option<mpsc::UnboundedSender<Command>> {
        self.commands.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Rebuilds the index from the store, reporting progress: through the running indexer,
    /// or here when none runs (the service is stopped).
    pub async fn reindex(
        &self,
        store: &Store,
        provider: Arc<ProviderOf>,
        mut report: impl FnMut(Progress) + Send,
    ) -> Result<Progress, SearchError> {
        let (progress, mut reports) = mpsc::unbounded_channel();
        let result = match self.sender() {
            Some(sender) => {
                let (done, finished) = oneshot::channel();
                sender
                    .send(Command::Reindex { progress, done })
                    .map_err(|_| SearchError::Unavailable(Status::Failed("the indexer stopped".into())))?;
                finished
            }
            None => {
                let (done, finished) = oneshot::channel();
                let (paths, store) = (self.shared.paths.clone(), store.clone());
                tokio::task::spawn_blocking(move || {
                    let result = rebuild::rebuild(&paths, &store, &*provider, &mut |p| {
                        let _ = progress.send(p);
                    });
                    let _ = done.send(result.map(|r| r.progress));
                });
                finished
            }
        };
        while let Some(p) = reports.recv().await {
            report(p);
        }
        result.await.map_err(|_| SearchError::Unavailable(Status::Failed("the rebuild stopped".into())))?
    }

    /// Waits, at most five seconds, until searches can be answered or the index failed: a
    /// search just after start waits for the index to open instead of being turned away.
    pub async fn until_open(&self) {
        let deadline = tokio::time::Instant::now() + OPEN_WAIT;
        loop {
            let changed = self.shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.shared.is_serving() || matches!(self.status(), Status::Failed(_)) {
                return;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return;
            }
        }
    }

    /// Runs one search (CPU-bound: call it off the async executor).
    pub fn search(&self, viewer: Viewer, request: &SearchRequest) -> Result<Found, SearchError> {
        let live =
            self.shared.live.read().unwrap_or_else(|p| p.into_inner()).clone().ok_or_else(|| SearchError::Unavailable(self.status()))?;
        let plan = collector::Plan::new(viewer, request);
        let searcher = live.searcher();
        if request.text.is_empty() {
            return Ok(listing::list(&searcher, &plan, &live.fields, &live.views)?);
        }
        let query = request.text.to_query(&live.fields);
        Ok(searcher.search(&*query, &collector::SearchCollector { plan: &plan, fields: live.fields, views: &live.views })?)
    }

    pub fn status(&self) -> Status {
        self.shared.status.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The outbox sequence searches have caught up with (their last commit).
    pub fn committed_seq(&self) -> u64 {
        self.shared.committed.load(Ordering::SeqCst)
    }
}
