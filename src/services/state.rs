//! AppState: the Arc'd handles every request and command shares. No globals.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::{Config, MediaBackendConfig};
use crate::domain::auth::SessionPolicy;
use crate::domain::catalog::data_use::DataUseTable;
use crate::domain::media_backend::MediaBackend;
use crate::engine::callbacks::Callbacks;
use crate::engine::{Engine, Parts};
use crate::lifecycle::Lifecycle;
use crate::metrics::Metrics;
use crate::providers::registry::{ConnectionError, Registry, SharedRegistry};
use crate::search::Search;
use crate::services::identity::oidc::Oidc;
use crate::services::identity::passwords::Passwords;
use crate::services::identity::throttle::Throttle;
use crate::services::identity::tokens::ProvenTokens;
use crate::services::limits::places::Places;
use crate::services::limits::rate_limits::RateLimits;
use crate::services::team::jobs::Jobs;
use crate::store::{Store, StoreError};
use crate::urls::Urls;
use crate::vault::keyring::KeyRing;
use crate::vault::master_key::{MasterKey, MasterKeyError};
use crate::vault::media::{MakeClient, MediaDir, MediaError};
use crate::vault::media_in_force::MediaInForce;
use crate::vault::signed_url::UrlSigner;
use crate::workers::Supervisor;

/// Why the instance could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error(transparent)]
    MasterKey(#[from] MasterKeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    #[error("media directory {path}: {source}")]
    Media { path: String, source: std::io::Error },
    #[error("media store: {0}")]
    MediaStore(String),
    #[error("the model catalog: {0}")]
    Catalog(crate::domain::catalog::CatalogError),
    #[error("single sign-on: {0}")]
    Oidc(#[from] crate::providers::http::OutboundError),
}

/// The media backends and the one in force. The local directory always opens; the S3 bucket
/// when `[media]` has its settings. In force: the backend `reelvault media migrate` recorded in
/// the store, else the one `[media] backend` names.
fn open_media(config: &Config, store: &Store, root: &Path) -> Result<MediaInForce, OpenError> {
    let local =
        MediaDir::open(root).map_err(|source| OpenError::Media { path: root.display().to_string(), source })?.with_sealed(store.clone());
    local.sweep_tmp();
    let s3 = match &config.media {
        MediaBackendConfig::Local => None,
        MediaBackendConfig::S3(s3) => Some(open_s3_dir(root, s3)?.with_sealed(store.clone())),
    };
    let configured = match &config.media {
        MediaBackendConfig::Local => MediaBackend::Local,
        MediaBackendConfig::S3(_) => MediaBackend::S3,
    };
    let recorded = store.read_now(crate::store::meta::media_backend)?;
    if recorded == Some(MediaBackend::S3) && s3.is_none() {
        return Err(OpenError::MediaStore(
            "the store records that the media are on s3 (moved there by `reelvault media migrate`), but the config has no \
             [media] S3 settings: add them (see the README), or move the media back with the settings in place"
                .into(),
        ));
    }
    let in_force = recorded.unwrap_or(configured);
    if recorded.is_some_and(|r| r != configured) {
        tracing::warn!(in_force = %in_force, config = configured.name(), "the media backend recorded by `reelvault media migrate` wins over [media] backend in the config; set it to match");
    }
    MediaInForce::new(local, s3, in_force).map_err(|e| OpenError::MediaStore(e.to_string()))
}

/// The S3 bucket of `s3`. It is reached through a client bound by the outbound policy (its
/// endpoint checked here, every address it resolves to by the client) with a short connect
/// timeout, and a read timeout so a stalled answer ends.
fn open_s3_dir(root: &Path, s3: &crate::config::S3Config) -> Result<MediaDir, OpenError> {
    let local_error = |source| OpenError::Media { path: root.display().to_string(), source };
    let allow = s3.allow_private_network;
    crate::providers::http::check_destination(&s3.endpoint, allow)
        .map_err(|e| OpenError::MediaStore(format!("media.endpoint {}: {e}", s3.endpoint)))?;
    crate::providers::http::install_crypto_provider();
    let build = move || {
        reqwest::Client::builder()
            .no_proxy()
            .dns_resolver(Arc::new(crate::providers::http::GuardedResolver::new(allow)))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(MEDIA_CONNECT_TIMEOUT)
            .read_timeout(MEDIA_READ_TIMEOUT)
            .pool_max_idle_per_host(32)
            .user_agent(concat!("reelvault/", env!("CARGO_PKG_VERSION")))
            .build()
    };
    let client = build().map_err(|e| OpenError::MediaStore(format!("cannot build its HTTP client: {e}")))?;
    // each HTTP worker gets a client of the same settings (should its build fail, it uses this one)
    let make_client: MakeClient = Arc::new(move || build().ok());
    MediaDir::open_s3(root, s3.clone(), client, make_client).map_err(|e| match e {
        MediaError::Io(source) => local_error(source),
        other => OpenError::MediaStore(other.to_string()),
    })
}

/// The S3 bucket of the config's `[media]` settings, for a restore into `config.data_dir`
/// (its store recording uploads).
pub fn open_s3(config: &Config, store: Store) -> Result<MediaDir, String> {
    match &config.media {
        MediaBackendConfig::S3(s3) => Ok(open_s3_dir(&config.data_dir.join("media"), s3).map_err(|e| e.to_string())?.with_sealed(store)),
        MediaBackendConfig::Local => Err(missing_s3_settings(config)),
    }
}

/// The S3 bucket of the `[media]` settings in the config file, read again: a running service
/// may have been started before they were added (for `reelvault media migrate --to s3`).
pub fn open_s3_from_config_file(config: &Config, store: Store) -> Result<MediaDir, String> {
    let Some(source) = &config.source else {
        return Err("the service was started without a config file: put the [media] S3 settings in one and start it with --config".into());
    };
    let overrides = crate::config::Overrides { config: Some(source.clone()), listen: None, data_dir: Some(config.data_dir.clone()) };
    let fresh = Config::load(&overrides).map_err(|e| format!("{}: {e}", source.display()))?;
    open_s3(&fresh, store)
}

/// What to do when S3 is asked for and `[media]` has no S3 settings.
pub fn missing_s3_settings(config: &Config) -> String {
    format!(
        "there are no S3 settings under [media] in {} (backend = \"s3\", endpoint, bucket, access_key_id, secret_access_key …; see the README)",
        config.source.as_ref().map_or("the config file".to_string(), |p| p.display().to_string())
    )
}

/// How long connecting to the media store may take.
const MEDIA_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// How long the media store may leave a request without an answer or a body without a byte.
const MEDIA_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Keys derived from the master key, one per purpose.
pub struct Keys {
    pub csrf: [u8; 32],
    /// Signs the secret part of each connection's callback URL.
    pub hooks: [u8; 32],
}

/// Shared handles; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub passwords: Passwords,
    pub throttle: Arc<Throttle>,
    /// Requests per minute and unfinished jobs per API token.
    pub rate_limits: Arc<RateLimits>,
    /// API tokens proved since the store's last commit.
    pub proven_tokens: Arc<ProvenTokens>,
    /// Live event streams each person holds open.
    pub event_streams: Arc<Places>,
    pub keys: Arc<Keys>,
    /// Places for archives being written (downloads and data exports).
    pub archives: Arc<Places>,
    registry: SharedRegistry,
    /// Every generation's state changes, and their live events.
    pub lifecycle: Lifecycle,
    pub engine: Engine,
    /// Every background worker (indexer, scheduler, webhook delivery, …): started at start-up,
    /// shown on the admin page "Background work", stopped in order at shutdown.
    pub workers: Supervisor,
    /// Work queued for the workers: scheduled jobs and erasures.
    pub jobs: Jobs,
    pub search: Search,
    pub media: Arc<MediaInForce>,
    pub keyring: Arc<KeyRing>,
    pub signer: Arc<UrlSigner>,
    pub metrics: Arc<Metrics>,
    /// The catalog's data-use table with the config's `[[data_use]]` entries applied.
    pub data_use: Arc<DataUseTable>,
    /// The OpenID Connect providers and the sign-ins under way.
    pub oidc: Arc<Oidc>,
    /// The notification sender's wake-up and the "forgot password" limits.
    pub notices: Arc<crate::services::notify::Notices>,
    /// The limits on share-link views and password attempts.
    pub share_limits: Arc<crate::services::studio::shares::view::ShareLimits>,
    urls: Arc<Urls>,
    ready: Arc<AtomicBool>,
}

/// What opening found, for the first-run messages.
pub struct Opened {
    pub state: AppState,
    pub master_key_created: bool,
}

impl AppState {
    /// Creates the data directory (mode 0700) and master key when missing, opens the store
    /// and runs migrations.
    pub fn open(config: Config) -> Result<Opened, OpenError> {
        create_private_dir(&config.data_dir)?;
        let (master, master_key_created) = MasterKey::load_or_create(&config.master_key_file)?;
        let store = Store::open(&config.data_dir)?;
        let media_root = config.data_dir.join("media");
        let media = open_media(&config, &store, &media_root)?;
        let stored = store.read_now(crate::store::connections::list).map_err(ConnectionError::stored)?;
        let connections = crate::services::team::connections::all_configs(&config.connection, &stored, &master);
        let catalog = crate::services::team::catalog::load_now(&store, &config).map_err(OpenError::Catalog)?;
        let registry = SharedRegistry::new(Registry::build(catalog, &connections, None)?);
        let signer = UrlSigner::from_master(&master, 1, &[]);
        let keys = Keys { csrf: master.derive("csrf"), hooks: master.derive("hooks") };
        let master = Arc::new(master);
        let lifecycle = Lifecycle::new(store.clone());
        let media = Arc::new(media);
        let keyring = Arc::new(KeyRing::new(master));
        let metrics = Arc::new(Metrics::default());
        let engine = Engine::new(Parts {
            lifecycle: lifecycle.clone(),
            store: store.clone(),
            registry: registry.clone(),
            media: media.clone(),
            keyring: keyring.clone(),
            metrics: metrics.clone(),
            callbacks: Callbacks::new(config.public_url.clone(), keys.hooks),
        });
        let origin = match &config.public_url {
            Some(url) => url.origin().ascii_serialization(),
            None => format!("http://{}", config.listen),
        };
        let state = AppState {
            passwords: Passwords::new(2),
            throttle: Arc::new(Throttle::new(config.limits.login_failures_per_account, config.limits.login_failures_per_address)),
            rate_limits: Arc::new(RateLimits::new(config.api.clone())),
            proven_tokens: Arc::default(),
            event_streams: Places::new(config.limits.event_streams_per_person as usize, usize::MAX),
            archives: Places::new(config.limits.archives_per_person, config.limits.archives),
            keys: Arc::new(keys),
            registry,
            lifecycle,
            engine,
            workers: Supervisor::new(),
            jobs: Jobs::default(),
            search: Search::new(&config.data_dir),
            media,
            keyring,
            signer: Arc::new(signer),
            metrics,
            data_use: Arc::new(DataUseTable::new(&config.data_use)),
            oidc: Arc::new(Oidc::new(&config.oidc)?),
            notices: Arc::default(),
            share_limits: Arc::default(),
            urls: Arc::new(Urls::new(&origin)),
            config: Arc::new(config),
            store,
            ready: Arc::new(AtomicBool::new(false)),
        };
        Ok(Opened { state, master_key_created })
    }

    /// The catalog and the connections in force now (admins may change them at runtime).
    pub fn registry(&self) -> Arc<Registry> {
        self.registry.current()
    }

    /// Puts a rebuilt registry in force; running jobs keep the connection they started on.
    pub fn replace_registry(&self, registry: Registry) {
        self.registry.replace(registry);
    }

    /// The secret path segment of `connection`'s callback URL.
    pub fn hook_secret(&self, connection: &str) -> String {
        self.engine.callbacks().secret(connection)
    }

    pub fn urls(&self) -> &Urls {
        &self.urls
    }

    /// Called once the listener is bound; `/readyz` answers 200 from then on.
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    /// Replaces the origin once the real listening address is known (port 0 in tests).
    pub fn with_origin(mut self, origin: &str) -> Self {
        if self.config.public_url.is_none() {
            self.urls = Arc::new(Urls::new(origin));
        }
        self
    }

    pub fn session_policy(&self) -> SessionPolicy {
        SessionPolicy { idle: self.config.sessions.idle, absolute: self.config.sessions.absolute }
    }
}

fn create_private_dir(path: &Path) -> Result<(), OpenError> {
    let err = |source| OpenError::DataDir { path: path.display().to_string(), source };
    if path.is_dir() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(path).map_err(err)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(path).map_err(err)
    }
}
