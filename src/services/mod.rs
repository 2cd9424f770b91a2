//! Use-cases, grouped by concept: the only layer that combines the store, the vault, search,
//! the engine and the lifecycle. Handlers and the command line call these; they never touch
//! tables themselves. [`state::AppState`] is their shared context.

pub mod identity;
pub mod limits;
pub mod notify;
pub mod privacy;
pub mod state;
pub mod studio;
pub mod team;

use std::time::Duration;

use crate::domain::user::InvalidInput;
use crate::store::StoreError;

/// Why a use-case refused or failed. `error.rs` maps each to a stable code and status.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    Invalid(#[from] InvalidInput),
    #[error("the email or password is not correct")]
    BadCredentials,
    #[error("too many failed sign-in attempts; try again in {} minutes", retry_after.as_secs().div_ceil(60).max(1))]
    Throttled { retry_after: Duration },
    /// Refused at once rather than queued behind others (see `passwords`).
    #[error("{}", if *this_client { "too many sign-ins from your address at once; try again in a moment" } else { "the server is busy checking passwords; try again in a moment" })]
    PasswordChecksBusy { this_client: bool },
    #[error("this account is disabled; ask an admin")]
    AccountDisabled,
    #[error("password sign-in is turned off here: use a single sign-on button")]
    PasswordSignInOff,
    #[error("this account is restricted by an admin: nothing new is processed for it, and its data is kept")]
    AccountFrozen,
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("this link is invalid, expired or already used")]
    LinkInvalid,
    #[error("only admins may do this")]
    AdminOnly,
    /// A board's viewer asked for what only its editors may do.
    #[error("only the board's editors may do this")]
    NotEditor,
    #[error("{0}")]
    Conflict(&'static str),
    /// Something another record still uses cannot be deleted; the message names the users.
    #[error("{0}")]
    InUse(String),
    #[error("{0}")]
    InvalidMessage(String),
    #[error("there is no model called {0:?}")]
    UnknownModel(String),
    /// A submit broke the model's rules (its inputs, parameters or prompt limit).
    #[error("{0}")]
    ModelRule(#[from] crate::domain::catalog::InputError),
    #[error("{model} is not available to you: {reason}")]
    ModelDisabled { model: String, reason: String },
    #[error("{0}")]
    Credits(#[from] crate::domain::credits::CreditError),
    /// A submit would take the person past a daily spend limit (see `team::spending`).
    #[error("{}", crate::services::team::spending::limit_message(.0, crate::domain::time::Timestamp::now()))]
    SpendLimit(crate::domain::spending::LimitBroken),
    /// A member who is an approver asked to answer their own request.
    #[error("you cannot answer your own approval request; another approver (or an admin) must")]
    OwnApproval,
    /// Only admins and the people they named may answer approval requests.
    #[error("only approvers may answer approval requests; ask an admin")]
    NotApprover,
    #[error("this generation has already ended")]
    AlreadyFinished,
    /// An admin's legal hold (on the generation or on its owner) forbids deleting it.
    #[error("generation {0} is on legal hold: nothing was deleted, and it cannot be until an admin lifts the hold")]
    LegalHold(crate::domain::ids::GenerationId),
    #[error("{0}")]
    TooLarge(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Search(#[from] crate::search::SearchError),
    #[error("{}", rate_limited_message(*limit, *allowed, *retry_after))]
    RateLimited { limit: limits::rate_limits::Limit, allowed: u32, retry_after: Duration },
    #[error("too many {what} at once; try again in {} seconds", retry_after.as_secs().max(1))]
    Busy { what: &'static str, retry_after: Duration },
    /// An admin turned share links off for the instance.
    #[error("share links are turned off on this server; ask an admin")]
    SharingOff,
    /// The object store that holds media cannot be reached or answered with an error. The
    /// reason is logged, not shown: it names the store's address and the object.
    #[error("The media store is unreachable, so this media cannot be shown now; try again shortly.")]
    MediaUnavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl From<crate::lifecycle::LifecycleError> for ServiceError {
    fn from(e: crate::lifecycle::LifecycleError) -> Self {
        use crate::lifecycle::LifecycleError;
        match e {
            LifecycleError::NotFound => ServiceError::NotFound("generation"),
            LifecycleError::AlreadyFinished => ServiceError::AlreadyFinished,
            LifecycleError::UploadNotFound => ServiceError::NotFound("upload"),
            LifecycleError::Transition { .. } => ServiceError::Conflict("this generation cannot make that change now"),
            LifecycleError::Credits(e) => ServiceError::Credits(e),
            LifecycleError::Limit(broken) => ServiceError::SpendLimit(broken),
            LifecycleError::Store(e) => ServiceError::Store(e),
        }
    }
}

fn rate_limited_message(limit: limits::rate_limits::Limit, allowed: u32, retry_after: Duration) -> String {
    let wait = retry_after.as_secs_f64().ceil().max(1.0) as u64;
    match limit {
        limits::rate_limits::Limit::RequestsPerMinute => {
            let unit = if wait == 1 { "second" } else { "seconds" };
            format!("this API token may make {allowed} requests per minute; try again in {wait} {unit}")
        }
        limits::rate_limits::Limit::ConcurrentJobs => {
            format!("this API token already has {allowed} unfinished generations; submit again when one has finished")
        }
    }
}
