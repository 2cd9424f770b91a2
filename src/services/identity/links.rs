//! One-time links: the first-run setup link, invitations and password resets.

use crate::domain::audit::{AuditAction, ClientInfo};
use crate::domain::auth::{LinkPurpose, OneTimeLink};
use crate::domain::ids::LinkId;
use crate::domain::time::Timestamp;
use crate::domain::user::{Email, Role, User, check_new_password};
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::services::{ServiceError, ServiceResult, identity::accounts, identity::secrets, identity::sessions, identity::tokens};
use crate::store;

/// While no admin exists, makes a fresh setup secret (the previous one stops working) and
/// returns it; `None` once setup is complete.
pub async fn issue_setup_secret(state: &AppState) -> ServiceResult<Option<String>> {
    state
        .store
        .write(|tx| {
            if store::meta::setup_complete(tx)? {
                return Ok(None);
            }
            let secret = secrets::generate();
            store::meta::set_setup_token_hash(tx, &secrets::hash(&secret))?;
            Ok::<_, ServiceError>(Some(secret))
        })
        .await
}

/// Whether `secret` is the current setup secret.
pub async fn setup_secret_valid(state: &AppState, secret: &str) -> ServiceResult<bool> {
    if !secrets::looks_valid(secret) {
        return Ok(false);
    }
    let hash = secrets::hash(secret);
    Ok(state.store.read(store::meta::setup_token_hash).await? == Some(hash))
}

/// Creates the first admin with the setup secret, which stops working, and signs them in.
pub async fn complete_setup(
    state: &AppState,
    client: &ClientInfo,
    secret: &str,
    email: &str,
    name: &str,
    password: &str,
) -> ServiceResult<sessions::NewSession> {
    if !setup_secret_valid(state, secret).await? {
        return Err(ServiceError::LinkInvalid);
    }
    let new = accounts::prepare(state, client.address.as_deref(), email, name, Role::Admin, password).await?;
    let hash = secrets::hash(secret);
    let client = client.clone();
    state
        .store
        .write(move |tx| {
            if store::meta::setup_token_hash(tx)? != Some(hash) {
                return Err(ServiceError::LinkInvalid);
            }
            let ctx = Context::anonymous(Some(new.email.to_string()), client.clone());
            let user = accounts::insert(tx, &ctx, new)?;
            store::meta::mark_setup_complete(tx)?;
            let ctx = Context::user(user.id, user.email.as_str(), client.clone());
            audit::record(tx, &ctx, AuditAction::SetupCompleted, None, None)?;
            let secret = sessions::start(tx, &user, &client, None)?;
            Ok(sessions::NewSession { secret, user })
        })
        .await
}

/// Looks up a live link by its secret.
pub async fn find(state: &AppState, secret: &str) -> ServiceResult<OneTimeLink> {
    if !secrets::looks_valid(secret) {
        return Err(ServiceError::LinkInvalid);
    }
    let hash = secrets::hash(secret);
    let link = state.store.read(move |tx| store::links::get(tx, &hash)).await?;
    link.filter(|l| l.is_live(Timestamp::now())).ok_or(ServiceError::LinkInvalid)
}

/// Invites `email` with `role`; returns the link secret (shown to the admin once).
pub async fn invite(state: &AppState, ctx: &Context, email: &str, role: Role) -> ServiceResult<(OneTimeLink, String)> {
    let email = Email::parse(email)?;
    let purpose = LinkPurpose::Invitation { email: email.clone(), role };
    let expiry = state.config.accounts.invitation_expiry;
    let detail = format!("role {role}");
    issue(state, ctx, purpose, expiry, AuditAction::InvitationCreated, email.to_string(), detail, Some(email)).await
}

/// Makes a password-reset link for an account; returns the link secret.
pub async fn issue_reset(state: &AppState, ctx: &Context, user: &User) -> ServiceResult<(OneTimeLink, String)> {
    let purpose = LinkPurpose::PasswordReset { user: user.id };
    let expiry = state.config.accounts.password_reset_expiry;
    issue(state, ctx, purpose, expiry, AuditAction::PasswordResetIssued, user.email.to_string(), String::new(), None).await
}

#[allow(clippy::too_many_arguments)]
async fn issue(
    state: &AppState,
    ctx: &Context,
    purpose: LinkPurpose,
    expiry: std::time::Duration,
    action: AuditAction,
    target: String,
    detail: String,
    must_be_free: Option<Email>,
) -> ServiceResult<(OneTimeLink, String)> {
    let secret = secrets::generate();
    let now = Timestamp::now();
    let link = OneTimeLink { id: LinkId::generate(), purpose, created_by: ctx.actor_id(), created_at: now, expires_at: now.plus(expiry) };
    let (ctx, stored, hash) = (ctx.clone(), link.clone(), secrets::hash(&secret));
    state
        .store
        .write(move |tx| {
            if let Some(email) = must_be_free
                && store::users::email_taken(tx, &email)?
            {
                return Err(ServiceError::EmailTaken);
            }
            store::links::put(tx, &hash, &stored)?;
            audit::record(tx, &ctx, action, Some(target), (!detail.is_empty()).then_some(detail))?;
            Ok(())
        })
        .await?;
    Ok((link, secret))
}

/// Accepts an invitation: creates the account, uses up the link, signs the person in.
pub async fn accept_invitation(
    state: &AppState,
    client: &ClientInfo,
    secret: &str,
    name: &str,
    password: &str,
) -> ServiceResult<sessions::NewSession> {
    let link = find(state, secret).await?;
    let LinkPurpose::Invitation { email, role } = link.purpose else {
        return Err(ServiceError::LinkInvalid);
    };
    let new = accounts::prepare(state, client.address.as_deref(), email.as_str(), name, role, password).await?;
    let hash = secrets::hash(secret);
    let client = client.clone();
    state
        .store
        .write(move |tx| {
            use_up(tx, &hash)?;
            let ctx = Context::anonymous(Some(new.email.to_string()), client.clone());
            let user = accounts::insert(tx, &ctx, new)?;
            let ctx = Context::user(user.id, user.email.as_str(), client.clone());
            audit::record(tx, &ctx, AuditAction::InvitationAccepted, Some(user.email.to_string()), None)?;
            let secret = sessions::start(tx, &user, &client, None)?;
            Ok(sessions::NewSession { secret, user })
        })
        .await
}

/// Removes a link inside the caller's transaction; refuses one already used meanwhile.
fn use_up(tx: &redb::WriteTransaction, hash: &[u8; 32]) -> ServiceResult<()> {
    if store::links::get(tx, hash)?.is_none() {
        return Err(ServiceError::LinkInvalid);
    }
    store::links::remove(tx, hash)?;
    Ok(())
}

/// Uses a reset link (account recovery, or one an admin or the command line issued): sets the
/// new password, signs out every session of the account and revokes its API tokens, since
/// whoever knew the old password may hold either.
pub async fn reset_password(state: &AppState, client: &ClientInfo, secret: &str, password: &str) -> ServiceResult<User> {
    let link = find(state, secret).await?;
    let LinkPurpose::PasswordReset { user } = link.purpose else {
        return Err(ServiceError::LinkInvalid);
    };
    let password_hash = state.passwords.hash(client.address.as_deref(), check_new_password(password)?).await?;
    let hash = secrets::hash(secret);
    let client = client.clone();
    state
        .store
        .write(move |tx| {
            use_up(tx, &hash)?;
            let ctx = Context::anonymous(None, client);
            let user = accounts::store_new_password(tx, &ctx, user, password_hash, None)?;
            tokens::revoke_all(tx, &ctx, &user)?;
            Ok(user)
        })
        .await
}
