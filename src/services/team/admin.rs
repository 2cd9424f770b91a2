//! Management commands of the command line. The same code runs in the service (reached
//! through the admin socket) and against a stopped instance's store.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::domain::auth::TokenLimits;
use crate::domain::media_backend::MediaBackend;
use crate::domain::time::Timestamp;
use crate::domain::user::Role;
use crate::services::privacy::audit::Context;
use crate::services::state::AppState;
use crate::services::{
    ServiceError, ServiceResult, identity::accounts, identity::links, identity::tokens, privacy::retention, studio::search, team::backup,
    team::catalog, team::credits, team::media_check, team::media_migrate,
};

/// One management request; the wire form of the admin socket is this, as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum AdminCommand {
    UserAdd {
        email: String,
        role: String,
        name: String,
        password: String,
    },
    UserList,
    UserDisable {
        email: String,
    },
    UserEnable {
        email: String,
    },
    UserSetRole {
        email: String,
        role: String,
    },
    UserResetPassword {
        email: String,
    },
    TokenCreate {
        email: String,
        name: String,
        expires: Option<String>,
        /// The token's own limits (`None`: the instance's `[api]` defaults).
        #[serde(default)]
        requests_per_minute: Option<u32>,
        #[serde(default)]
        concurrent_jobs: Option<u32>,
    },
    CreditsGrant {
        email: String,
        amount: i64,
    },
    /// The allowances, spend limits and approval rules, as `GET /api/v1/admin/spending`.
    SpendingShow,
    /// Grants this month's allowances now (as of `at`, ms; default now); idempotent.
    AllowancesRenew {
        at: Option<i64>,
    },
    VerifyLedger,
    Backup {
        dir: PathBuf,
        /// Leave media on S3 in their bucket (the manifest names it) instead of copying them.
        #[serde(default)]
        media_in_place: bool,
    },
    /// What the next retention sweep would remove, as of `at` (ms; default now).
    RetentionPlan {
        at: Option<i64>,
    },
    /// Runs a retention sweep now, as of `at` (ms; default now).
    RetentionRun {
        at: Option<i64>,
    },
    Reindex,
    /// Installs a catalog file (`source` names it in errors and the audit log).
    CatalogImport {
        source: String,
        text: String,
    },
    /// The catalog in force, as one catalog file.
    CatalogExport,
    /// Checks that every asset record has its media object, and lists orphans.
    MediaCheck,
    /// Moves the media to another backend ("local" or "s3"), then switches to it;
    /// `stop_after`: stop after that many objects copied (a rehearsed interruption).
    MediaMigrate {
        to: String,
        #[serde(default)]
        stop_after: Option<u64>,
    },
}

/// A reply line: progress while a long command runs, then its result (text for the
/// terminal, or an error message).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum AdminReply {
    Ok(String),
    Err(String),
    Progress(String),
}

/// Where a long command reports progress, one line at a time.
pub type ProgressSink = dyn Fn(String) + Send + Sync;

/// Runs one command as the command line (audited as such), reporting progress to `progress`.
pub async fn execute(state: &AppState, command: AdminCommand, progress: &ProgressSink) -> ServiceResult<String> {
    let ctx = Context::cli();
    match command {
        AdminCommand::UserAdd { email, role, name, password } => {
            let role: Role = role.parse()?;
            let user = accounts::create(state, &ctx, &email, &name, role, &password).await?;
            Ok(format!("created {} ({}) with id {}\n", user.email, user.role, user.id))
        }
        AdminCommand::UserList => {
            let users = accounts::list(state).await?;
            let mut out = format!("{:<26}  {:<32}  {:<7}  {:<8}  {}\n", "ID", "EMAIL", "ROLE", "STATUS", "NAME");
            for u in users {
                let status = if u.disabled { "disabled" } else { "active" };
                let _ = writeln!(out, "{:<26}  {:<32}  {:<7}  {:<8}  {}", u.id, u.email, u.role, status, u.name);
            }
            Ok(out)
        }
        AdminCommand::UserDisable { email } => {
            let user = accounts::find_by_email(state, &email).await?;
            accounts::set_disabled(state, &ctx, user.id, true).await?;
            Ok(format!("disabled {} and ended its sessions\n", user.email))
        }
        AdminCommand::UserEnable { email } => {
            let user = accounts::find_by_email(state, &email).await?;
            accounts::set_disabled(state, &ctx, user.id, false).await?;
            Ok(format!("enabled {}\n", user.email))
        }
        AdminCommand::UserSetRole { email, role } => {
            let role: Role = role.parse()?;
            let user = accounts::find_by_email(state, &email).await?;
            accounts::set_role(state, &ctx, user.id, role).await?;
            Ok(format!("{} is now {role}\n", user.email))
        }
        AdminCommand::UserResetPassword { email } => {
            let user = accounts::find_by_email(state, &email).await?;
            let (link, secret) = links::issue_reset(state, &ctx, &user).await?;
            Ok(format!(
                "password reset link for {} (valid until {}):\n{}\n",
                user.email,
                link.expires_at.human(),
                state.urls().absolute(&state.urls().reset(&secret))
            ))
        }
        AdminCommand::TokenCreate { email, name, expires, requests_per_minute, concurrent_jobs } => {
            let user = accounts::find_by_email(state, &email).await?;
            let expires = match expires.as_deref().map(str::trim) {
                None | Some("") | Some("never") => None,
                Some(text) => Some(humantime::parse_duration(text).map_err(|_| {
                    ServiceError::Invalid(crate::domain::user::InvalidInput("--expires takes a duration like \"30d\" or \"never\""))
                })?),
            };
            let name = if name.trim().is_empty() { "command line".to_string() } else { name };
            let limits = TokenLimits::parse(
                &requests_per_minute.map(|n| n.to_string()).unwrap_or_default(),
                &concurrent_jobs.map(|n| n.to_string()).unwrap_or_default(),
            )?;
            let (token, secret) = tokens::create(state, &ctx, user.id, &name, expires, limits).await?;
            let until = token.expires_at.map_or("never expires".to_string(), |t| format!("expires {}", t.human()));
            Ok(format!("{secret}\n# token {:?} for {}, {until}; shown once, store it now\n", token.name, user.email))
        }
        AdminCommand::CreditsGrant { email, amount } => {
            let user = accounts::find_by_email(state, &email).await?;
            let balance = credits::grant(state, &ctx, user.id, amount, Some("command line".into())).await?;
            Ok(format!("{} now has {} credits available ({} held)\n", user.email, balance.available, balance.held))
        }
        AdminCommand::SpendingShow => {
            let settings = super::spending::settings(state).await?;
            Ok(format!("{}\n", serde_json::to_string_pretty(&settings).map_err(|e| ServiceError::Internal(e.to_string()))?))
        }
        AdminCommand::AllowancesRenew { at } => {
            let renewed = super::spending::renew(state, at.map_or_else(Timestamp::now, Timestamp)).await?;
            let granted: u64 = renewed.iter().map(|r| r.granted).sum();
            Ok(format!("{} people renewed for their month, {granted} credits granted in all\n", renewed.len()))
        }
        AdminCommand::Backup { dir, media_in_place } => {
            let manifest = backup::create(state, dir.clone(), media_in_place).await?;
            Ok(format!("backup written to {}\n{}{}\n", dir.display(), manifest.summary(), backup::MASTER_KEY_NOTE))
        }
        AdminCommand::RetentionPlan { at } => {
            let plan = retention::plan(state, at.map_or_else(Timestamp::now, Timestamp)).await?;
            Ok(format!("# the next retention sweep would remove:\n{}", retention::describe(&plan.counts, &plan.items)))
        }
        AdminCommand::RetentionRun { at } => {
            let run = retention::run(state, "cli", at.map_or_else(Timestamp::now, Timestamp)).await?;
            Ok(format!("# retention sweep done in {} ms:\n{}", run.duration_ms, retention::describe(&run.counts, &[])))
        }
        AdminCommand::Reindex => {
            let done = search::reindex(state, |p| progress(p.to_string())).await?;
            Ok(format!(
                "search index rebuilt: {} generations in {:.1} s ({} per second)\n",
                done.done,
                done.elapsed.as_secs_f64(),
                done.rate()
            ))
        }
        AdminCommand::CatalogImport { source, text } => {
            let count = catalog::import(state, &ctx, &source, &text).await?;
            Ok(format!("{source}: installed {count} models; the catalog in force has {} models\n", state.registry().catalog().len()))
        }
        AdminCommand::CatalogExport => Ok(catalog::export(state)),
        AdminCommand::MediaCheck => {
            let report = media_check::run(state).await?;
            if report.complete() {
                Ok(report.describe())
            } else {
                Err(ServiceError::InvalidMessage(format!("{}some asset records have no media object", report.describe())))
            }
        }
        AdminCommand::MediaMigrate { to, stop_after } => {
            let to: MediaBackend = to.parse().map_err(ServiceError::InvalidMessage)?;
            let done = media_migrate::run(state, to, stop_after, progress).await?;
            Ok(done.describe(state.config.source.as_deref()))
        }
        AdminCommand::VerifyLedger => {
            let problems = credits::verify_ledger(&state.store).await?;
            if problems.is_empty() {
                Ok("credit ledger: every balance equals the sum of its ledger and none is negative\n".into())
            } else {
                Err(ServiceError::Internal(format!("credit ledger is inconsistent:\n{}", problems.join("\n"))))
            }
        }
    }
}
