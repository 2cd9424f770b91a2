//! The command line: `serve`, `init`, `check`, and management commands (`user …`,
//! `token …`, `reindex`) that reach a running instance through its admin socket, or open the store
//! directly when the service is stopped.

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::admin_socket;
use crate::app;
use crate::config::{Config, Overrides};
use crate::domain::media_backend::MediaBackend;
use crate::services::state::AppState;
use crate::services::team::admin::{self, AdminCommand, AdminReply};
use crate::services::team::backup::{self, MASTER_KEY_NOTE};
use crate::store::StoreError;
use crate::systemd;

mod args;
use args::{CatalogCommand, Cli, Command, CreditsCommand, MediaCommand, RetentionCommand, TokenCommand, UserCommand};

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let listen = match &cli.command {
        Command::Serve { listen } => listen.clone(),
        _ => None,
    };
    let overrides = Overrides { config: cli.global.config.clone(), listen, data_dir: cli.global.data_dir.clone() };
    let config = match Config::load(&overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("reelvault: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("reelvault: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve { .. } => serve(config).await,
            Command::Init => init(config).await,
            Command::Check => check(config).await,
            Command::Credits(CreditsCommand::Grant { email, amount }) => manage(config, AdminCommand::CreditsGrant { email, amount }).await,
            Command::Credits(CreditsCommand::Spending) => manage(config, AdminCommand::SpendingShow).await,
            Command::Credits(CreditsCommand::Renew { at }) => manage(config, AdminCommand::AllowancesRenew { at: parse_at(at)? }).await,
            Command::User(cmd) => manage(config, user_command(cmd)?).await,
            Command::Token(TokenCommand::Create { email, name, expires, requests_per_minute, concurrent_jobs }) => {
                manage(config, AdminCommand::TokenCreate { email, name, expires, requests_per_minute, concurrent_jobs }).await
            }
            Command::Retention(cmd) => manage(config, retention_command(cmd)?).await,
            Command::Backup { dir, media_in_place } => backup(config, dir, media_in_place).await,
            Command::Restore { dir, media_to } => restore(config, dir, media_to).await,
            Command::Reindex => reindex(config).await,
            Command::Catalog(cmd) => catalog(config, cmd).await,
            Command::Media(MediaCommand::Migrate { to, stop_after }) => media_migrate(config, to, stop_after).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("reelvault: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `reelvault catalog …`: `check` reads the file here; `import` and `export` go through the
/// running service (or the store when none runs).
async fn catalog(config: Config, cmd: CatalogCommand) -> Result<(), String> {
    let read = |file: &PathBuf| std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()));
    match cmd {
        CatalogCommand::Check { file } => {
            let name = file.display().to_string();
            let models = crate::services::team::catalog::check_file(&name, &read(&file)?).map_err(|e| e.to_string())?;
            println!("{name}: valid, {} models", models.len());
            Ok(())
        }
        CatalogCommand::Import { file } => {
            let text = read(&file)?;
            manage(config, AdminCommand::CatalogImport { source: file.display().to_string(), text }).await
        }
        CatalogCommand::Export => manage(config, AdminCommand::CatalogExport).await,
    }
}

fn retention_command(cmd: RetentionCommand) -> Result<AdminCommand, String> {
    Ok(match cmd {
        RetentionCommand::Plan { at } => AdminCommand::RetentionPlan { at: parse_at(at)? },
        RetentionCommand::Run { at } => AdminCommand::RetentionRun { at: parse_at(at)? },
    })
}

/// An optional RFC 3339 time as milliseconds since the epoch.
fn parse_at(at: Option<String>) -> Result<Option<i64>, String> {
    at.map(|text| {
        crate::domain::time::Timestamp::parse_rfc3339(&text)
            .map(|t| t.millis())
            .ok_or_else(|| format!("--at {text:?}: expected an RFC 3339 time like 2027-01-31T03:15:00Z"))
    })
    .transpose()
}

fn user_command(cmd: UserCommand) -> Result<AdminCommand, String> {
    Ok(match cmd {
        UserCommand::Add { email, role, name, password_stdin: _ } => {
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password).map_err(|e| format!("reading the password from standard input: {e}"))?;
            let password = password.trim_end_matches(['\r', '\n']).to_string();
            AdminCommand::UserAdd { email, role, name, password }
        }
        UserCommand::List => AdminCommand::UserList,
        UserCommand::Disable { email } => AdminCommand::UserDisable { email },
        UserCommand::Enable { email } => AdminCommand::UserEnable { email },
        UserCommand::SetRole { email, role } => AdminCommand::UserSetRole { email, role },
        UserCommand::ResetPassword { email } => AdminCommand::UserResetPassword { email },
    })
}

fn print_setup_link(running_origin: &str, secret: &str) {
    println!("reelvault has no admin yet. Open this one-time setup link to create one:");
    println!("  {running_origin}/setup/{secret}");
}

async fn serve(config: Config) -> Result<(), String> {
    crate::telemetry::init(&config.log);
    let listener = TcpListener::bind(config.listen).map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let running = app::build(config, listener).await.map_err(|e| e.to_string())?;
    if running.master_key_created {
        println!(
            "Created the master key at {} (mode 0600). Keep a copy apart from your backups.",
            running.state.config.master_key_file.display()
        );
    }
    if let Some(secret) = &running.setup_secret {
        print_setup_link(running.state.urls().origin(), secret);
    }
    tracing::info!(address = %running.addr, data_dir = %running.state.config.data_dir.display(), "reelvault is serving");
    systemd::ready();
    app::start_host_workers(&running.state, running.addr);
    wait_for_shutdown_signal().await;
    systemd::stopping();
    tracing::info!("shutting down: finishing in-flight requests");
    running.stop().await;
    tracing::info!("stopped");
    Ok(())
}

async fn wait_for_shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn init(config: Config) -> Result<(), String> {
    let opened = AppState::open(config).map_err(|e| e.to_string())?;
    let state = opened.state;
    if opened.master_key_created {
        println!("Created the master key at {} (mode 0600).", state.config.master_key_file.display());
    }
    println!("Data directory {} is ready.", state.config.data_dir.display());
    if let Some(secret) = crate::services::identity::links::issue_setup_secret(&state).await.map_err(|e| e.to_string())? {
        print_setup_link(state.urls().origin(), &secret);
    }
    let store = state.store.clone();
    drop(state);
    store.close().await;
    Ok(())
}

/// Validates the configuration and, when the instance exists, the credit ledger.
async fn check(config: Config) -> Result<(), String> {
    // every connection's adapter must build (its base URL, region and key) as at start
    crate::providers::registry::Registry::from_config(&config.connection).map_err(|e| format!("connection {:?}: {}", e.name, e.message))?;
    match &config.source {
        Some(path) => println!("# configuration is valid: {}", path.display()),
        None => println!("# configuration is valid (built-in defaults; no config file)"),
    }
    print!("{}", config.redacted_toml());
    if config.data_dir.join(crate::store::STORE_FILE).exists() {
        print!("# ");
        manage(config.clone(), AdminCommand::VerifyLedger).await?;
        manage(config, AdminCommand::MediaCheck).await?;
    }
    Ok(())
}

/// Moves the media to another backend through the running service, or on the store when it
/// is stopped.
async fn media_migrate(config: Config, to: String, stop_after: Option<u64>) -> Result<(), String> {
    if !config.data_dir.join(crate::store::STORE_FILE).exists() {
        return Err(format!("there is no store in {} whose media to move", config.data_dir.display()));
    }
    let to_backend: MediaBackend = to.parse()?;
    if to_backend == MediaBackend::S3 && !matches!(config.media, crate::config::MediaBackendConfig::S3(_)) {
        return Err(format!(
            "migrating to s3 needs the S3 settings under [media] in {} (backend = \"s3\", endpoint, bucket, access_key_id, secret_access_key …; see the README)",
            config.source.as_ref().map_or("the config file".to_string(), |p| p.display().to_string())
        ));
    }
    manage(config, AdminCommand::MediaMigrate { to, stop_after }).await
}

/// Runs a management command through the running instance, or directly on the store.
async fn manage(config: Config, command: AdminCommand) -> Result<(), String> {
    let mut print_progress = |line: &str| println!("{line}");
    let reply = match admin_socket::send(&config.data_dir, &command, &mut print_progress).await {
        Ok(Some(reply)) => reply,
        Ok(None) => run_direct(config, command).await?,
        Err(e) => {
            return Err(format!("admin socket {}: {e}", admin_socket::path(&config.data_dir).display()));
        }
    };
    match reply {
        AdminReply::Ok(text) => {
            print!("{text}");
            Ok(())
        }
        AdminReply::Err(message) => Err(message),
        AdminReply::Progress(line) => Err(format!("the service sent progress ({line}) but no result")),
    }
}

async fn run_direct(config: Config, command: AdminCommand) -> Result<AdminReply, String> {
    let socket = admin_socket::path(&config.data_dir);
    let opened = AppState::open(config).map_err(|e| match e {
        crate::services::state::OpenError::Store(StoreError::Locked) => {
            format!("the store is locked by a running reelvault, but its admin socket {} does not answer", socket.display())
        }
        other => other.to_string(),
    })?;
    let state = opened.state;
    let reply = match admin::execute(&state, command, &|line| println!("{line}")).await {
        Ok(text) => AdminReply::Ok(text),
        Err(e) => AdminReply::Err(e.to_string()),
    };
    let store = state.store.clone();
    drop(state);
    store.close().await;
    Ok(reply)
}

/// Backs up through the running service, or straight from the store when it is stopped.
async fn backup(config: Config, dir: PathBuf, media_in_place: bool) -> Result<(), String> {
    let dir = std::path::absolute(&dir).map_err(|e| format!("backup directory {}: {e}", dir.display()))?;
    if !config.data_dir.join(crate::store::STORE_FILE).exists() {
        return Err(format!("there is no store in {} to back up", config.data_dir.display()));
    }
    manage(config, AdminCommand::Backup { dir, media_in_place }).await
}

/// Rebuilds the search index through the running service, or on the store when it is stopped.
async fn reindex(config: Config) -> Result<(), String> {
    if !config.data_dir.join(crate::store::STORE_FILE).exists() {
        return Err(format!("there is no store in {} to index", config.data_dir.display()));
    }
    manage(config, AdminCommand::Reindex).await
}

/// Restores a backup into the (empty) data directory; never through a running service.
async fn restore(config: Config, dir: PathBuf, media_to: Option<String>) -> Result<(), String> {
    let manifest_text = std::fs::read(dir.join(backup::MANIFEST_FILE)).ok();
    let in_place =
        manifest_text.and_then(|text| serde_json::from_slice::<backup::Manifest>(&text).ok()).is_some_and(|m| m.media_in_place.is_some());
    let media_to = match media_to {
        Some(text) => text.parse::<MediaBackend>()?,
        None if in_place => MediaBackend::S3,
        None => MediaBackend::Local,
    };
    if media_to == MediaBackend::S3 && !matches!(config.media, crate::config::MediaBackendConfig::S3(_)) {
        return Err(format!("restoring media to s3: {}", crate::services::state::missing_s3_settings(&config)));
    }
    let data_dir = config.data_dir.clone();
    let from = dir.clone();
    let manifest = tokio::task::spawn_blocking(move || backup::restore(&from, &data_dir, media_to))
        .await
        .map_err(|e| format!("restore stopped: {e}"))?
        .map_err(|e| e.to_string())?;
    if let Err(e) = crate::services::team::backup_media::finish_restore(&config, &dir, &manifest, media_to).await {
        clear_dir(&config.data_dir);
        return Err(format!(
            "{e} (nothing was restored; objects already stored in the bucket are removed by the GC once an instance runs on it)"
        ));
    }
    println!("restored the backup of {} from {} into {}", manifest.created_at, dir.display(), config.data_dir.display());
    print!("{}", manifest.summary());
    println!("media restored to {media_to}{}", if media_to == MediaBackend::S3 { " (the [media] S3 settings of the config)" } else { "" });
    println!(
        "Start reelvault with the master key of the instance this backup came from (master_key_file, now {}).",
        config.master_key_file.display()
    );
    println!("{MASTER_KEY_NOTE}");
    Ok(())
}

/// Empties a data directory a failed restore wrote into (it was empty before).
fn clear_dir(dir: &std::path::Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            let _ = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        }
    }
}
