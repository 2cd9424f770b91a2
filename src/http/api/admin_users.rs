//! `/api/v1/admin/users` and `/api/v1/admin/generations/{id}/hold`: people (invitations,
//! roles, disabling, freezing, legal holds, reset links), credit grants and generation holds,
//! for admins. Thin over the services the admin pages use.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::credits::BalanceView;
use super::openapi::ErrorBody;
use crate::domain::credits::Balance;
use crate::domain::ids::{GenerationId, UserId};
use crate::domain::user::{Role, User};
use crate::error::AppError;
use crate::http::auth::{ApiAdmin, state};
use crate::http::responses::ApiResult;
use crate::services::{identity::accounts, identity::links, notify, privacy::restriction, team::credits};

/// An account as admins see it.
#[derive(Serialize, ToSchema)]
pub struct UserView {
    id: String,
    email: String,
    name: String,
    /// `admin` or `member`.
    #[schema(value_type = String)]
    role: &'static str,
    /// Signed out and refused until enabled again.
    disabled: bool,
    /// Restricted: nothing of theirs is processed, and their data is kept.
    frozen: bool,
    /// Retention deletes nothing of theirs.
    legal_hold: bool,
    /// RFC 3339, UTC.
    created_at: String,
    credits: BalanceView,
}

impl UserView {
    fn new(user: &User, balance: Balance) -> Self {
        UserView {
            id: user.id.to_string(),
            email: user.email.to_string(),
            name: user.name.clone(),
            role: user.role.as_str(),
            disabled: user.disabled,
            frozen: user.frozen,
            legal_hold: user.legal_hold,
            created_at: user.created_at.rfc3339(),
            credits: BalanceView::new(balance),
        }
    }
}

async fn view(req: &HttpRequest, user: &User) -> Result<UserView, AppError> {
    let state = state(req)?;
    Ok(UserView::new(user, credits::balance(&state, user.id).await?))
}

/// Every account.
#[derive(Serialize, ToSchema)]
pub struct UserList {
    users: Vec<UserView>,
}

/// Every account, with its credits.
#[utoipa::path(get, operation_id = "admin_users_list", path = "/api/v1/admin/users", tag = "admin",
    responses((status = 200, body = UserList), (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody)))]
pub async fn list(req: HttpRequest, _admin: ApiAdmin) -> ApiResult {
    let state = state(&req)?;
    let mut users = Vec::new();
    for user in accounts::list(&state).await? {
        let balance = credits::balance(&state, user.id).await?;
        users.push(UserView::new(&user, balance));
    }
    Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(UserList { users }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    email: String,
    /// `admin` or `member`.
    #[schema(example = "member")]
    role: String,
}

/// A one-time link, shown this once.
#[derive(Serialize, ToSchema)]
pub struct LinkView {
    url: String,
    /// RFC 3339, UTC.
    expires_at: String,
    /// The address the link was e-mailed to (when `[smtp]` is set up), else null.
    emailed_to: Option<String>,
}

/// Invites someone: a one-time link with which they choose a name and password.
#[utoipa::path(post, operation_id = "admin_users_invite", path = "/api/v1/admin/users", tag = "admin", request_body = InviteBody,
    responses(
        (status = 201, description = "The invitation link (send it to them)", body = LinkView),
        (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody),
        (status = 409, description = "An account with this email exists (`user.email_taken`)", body = ErrorBody),
        (status = 422, description = "A bad email or role (`invalid_input`)", body = ErrorBody),
    ))]
pub async fn invite(req: HttpRequest, admin: ApiAdmin, body: web::Json<InviteBody>) -> ApiResult {
    let state = state(&req)?;
    let role: Role = body.role.parse().map_err(crate::services::ServiceError::from)?;
    let (link, secret) = links::invite(&state, &admin.0.ctx(), &body.email, role).await?;
    let emailed_to = notify::email_invitation(&state, &link, &secret).await?;
    let view = LinkView { url: state.urls().absolute(&state.urls().invite(&secret)), expires_at: link.expires_at.rfc3339(), emailed_to };
    Ok(HttpResponse::Created().json(view))
}

/// What to change about an account; absent fields stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    /// `admin` or `member`.
    role: Option<String>,
    /// Disabling signs the account out everywhere; its tokens stop working.
    disabled: Option<bool>,
    /// Freezing stops all processing of theirs and keeps their data.
    frozen: Option<bool>,
    /// A legal hold stops retention deleting anything of theirs.
    legal_hold: Option<bool>,
}

/// Changes an account's role, status, freeze or legal hold (each audited).
#[utoipa::path(patch, operation_id = "admin_users_update", path = "/api/v1/admin/users/{id}", tag = "admin", request_body = UserChange,
    params(("id" = String, Path, description = "The user's id")),
    responses(
        (status = 200, body = UserView),
        (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody),
        (status = 409, description = "It would leave no enabled admin (`conflict`)", body = ErrorBody),
        (status = 422, description = "A bad role (`invalid_input`)", body = ErrorBody),
    ))]
pub async fn update(req: HttpRequest, admin: ApiAdmin, id: web::Path<UserId>, body: web::Json<UserChange>) -> ApiResult {
    let state = state(&req)?;
    let id = id.into_inner();
    let ctx = admin.0.ctx();
    let body = body.into_inner();
    let role = body.role.as_deref().map(str::parse::<Role>).transpose().map_err(crate::services::ServiceError::from)?;
    let mut user = accounts::get(&state, id).await?;
    if let Some(role) = role {
        user = accounts::set_role(&state, &ctx, id, role).await?;
    }
    if let Some(disabled) = body.disabled {
        user = accounts::set_disabled(&state, &ctx, id, disabled).await?;
    }
    if let Some(frozen) = body.frozen {
        user = restriction::set_frozen(&state, &ctx, id, frozen).await?;
    }
    if let Some(hold) = body.legal_hold {
        user = restriction::set_user_hold(&state, &ctx, id, hold).await?;
    }
    Ok(HttpResponse::Ok().json(view(&req, &user).await?))
}

/// Issues a one-time password-reset link for an account.
#[utoipa::path(post, operation_id = "admin_users_reset_link", path = "/api/v1/admin/users/{id}/reset-link", tag = "admin",
    params(("id" = String, Path, description = "The user's id")),
    responses(
        (status = 201, description = "The reset link (send it to them)", body = LinkView),
        (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody),
    ))]
pub async fn reset_link(req: HttpRequest, admin: ApiAdmin, id: web::Path<UserId>) -> ApiResult {
    let state = state(&req)?;
    let user = accounts::get(&state, id.into_inner()).await?;
    let (link, secret) = links::issue_reset(&state, &admin.0.ctx(), &user).await?;
    let emailed_to = notify::email_reset(&state, &user, &link, &secret).await?;
    let view = LinkView { url: state.urls().absolute(&state.urls().reset(&secret)), expires_at: link.expires_at.rfc3339(), emailed_to };
    Ok(HttpResponse::Created().json(view))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantBody {
    /// Credits to add; negative removes them. Not zero, at most 1,000,000,000 either way.
    #[schema(minimum = -1_000_000_000, maximum = 1_000_000_000)]
    amount: i64,
    /// Shown in the ledger.
    note: Option<String>,
}

/// Grants (or, negative, removes) credits; the account's balance after it.
#[utoipa::path(post, operation_id = "admin_users_grant_credits", path = "/api/v1/admin/users/{id}/credits", tag = "admin", request_body = GrantBody,
    params(("id" = String, Path, description = "The user's id")),
    responses(
        (status = 200, body = BalanceView),
        (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody),
        (status = 422, description = "Zero, out of range, or it would make the balance negative (`credits.invalid`)", body = ErrorBody),
    ))]
pub async fn grant_credits(req: HttpRequest, admin: ApiAdmin, id: web::Path<UserId>, body: web::Json<GrantBody>) -> ApiResult {
    let state = state(&req)?;
    let body = body.into_inner();
    let note = body.note.map(|n| n.trim().chars().take(200).collect::<String>()).filter(|n| !n.is_empty());
    let balance = credits::grant(&state, &admin.0.ctx(), id.into_inner(), body.amount, note).await?;
    Ok(HttpResponse::Ok().json(BalanceView::new(balance)))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldBody {
    /// `true` puts it on legal hold (retention and its owner cannot delete it), `false` lifts the hold.
    hold: bool,
}

/// Puts one generation on legal hold, or lifts it.
#[utoipa::path(put, operation_id = "admin_users_set_generation_hold", path = "/api/v1/admin/generations/{id}/hold", tag = "admin", request_body = HoldBody,
    params(("id" = String, Path, description = "The generation's id")),
    responses(
        (status = 200, description = "The hold as it now is", body = HoldBody),
        (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody),
    ))]
pub async fn set_generation_hold(req: HttpRequest, admin: ApiAdmin, id: web::Path<GenerationId>, body: web::Json<HoldBody>) -> ApiResult {
    let state = state(&req)?;
    restriction::set_generation_hold(&state, &admin.0.ctx(), id.into_inner(), body.hold).await?;
    Ok(HttpResponse::Ok().json(HoldBody { hold: body.hold }))
}
