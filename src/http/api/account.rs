//! `/api/v1/account`: the caller's own profile (read and correct), their data-use
//! preference, and deleting all their content or the whole account.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::openapi::ErrorBody;
use crate::domain::user::User;
use crate::http::auth::{ApiCaller, state};
use crate::http::responses::ApiResult;
use crate::services::state::AppState;
use crate::services::{ServiceResult, identity::profile, privacy::erasure};

#[derive(Serialize, ToSchema)]
pub struct AccountView {
    id: String,
    email: String,
    name: String,
    bio: String,
    role: &'static str,
    created_at: String,
    /// A signed link to the profile picture, when there is one.
    picture_url: Option<String>,
    forbid_training: bool,
    frozen: bool,
    /// `"content"` or `"account"` while an erasure is running.
    #[schema(value_type = Option<String>)]
    erasing: Option<&'static str>,
}

async fn view(state: &AppState, user: User) -> ServiceResult<AccountView> {
    let picture_url = profile::picture_path(state, &user).await?.map(|path| state.urls().absolute(&path));
    let erasing = erasure::pending(state, user.id).await?.map(|e| match e {
        erasure::Erasure::Content => "content",
        erasure::Erasure::Account => "account",
    });
    Ok(AccountView {
        id: user.id.to_string(),
        email: user.email.to_string(),
        name: user.name,
        bio: user.bio,
        role: user.role.as_str(),
        created_at: user.created_at.rfc3339(),
        picture_url,
        forbid_training: user.forbid_training,
        frozen: user.frozen,
        erasing,
    })
}

/// The caller's account.
#[utoipa::path(get, operation_id = "account_show", path = "/api/v1/account", tag = "account", responses((status = 200, body = AccountView)))]
pub async fn show(req: HttpRequest, caller: ApiCaller) -> ApiResult {
    let state = state(&req)?;
    Ok(HttpResponse::Ok().json(view(&state, caller.user).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    name: Option<String>,
    email: Option<String>,
    bio: Option<String>,
    /// The current password: needed to change the email.
    password: Option<String>,
    forbid_training: Option<bool>,
}

/// Corrects the caller's profile and data-use preference.
#[utoipa::path(patch, operation_id = "account_update", path = "/api/v1/account", tag = "account", request_body = UpdateBody, responses(
    (status = 200, body = AccountView),
    (status = 409, description = "The email is taken (`user.email_taken`)", body = ErrorBody),
    (status = 422, description = "A value is invalid, or the password is missing or wrong for an email change (`invalid_input`)", body = ErrorBody),
))]
pub async fn update(req: HttpRequest, caller: ApiCaller, body: web::Json<UpdateBody>) -> ApiResult {
    let state = state(&req)?;
    let body = body.into_inner();
    let ctx = caller.ctx();
    let change = profile::ProfileChange { name: body.name, email: body.email, bio: body.bio, password: body.password };
    let mut user = profile::update(&state, &ctx, &caller.user, change).await?;
    if let Some(forbid) = body.forbid_training {
        user = profile::set_forbid_training(&state, &ctx, user.id, forbid).await?;
    }
    Ok(HttpResponse::Ok().json(view(&state, user).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmBody {
    password: String,
}

#[derive(Serialize, ToSchema)]
pub struct Accepted {
    state: &'static str,
    message: &'static str,
}

/// `DELETE /api/v1/account/content`: every generation, upload and the picture made so far; the
/// account stays. Items on legal hold stay until the hold is lifted, then go too.
#[utoipa::path(delete, operation_id = "account_erase_content", path = "/api/v1/account/content", tag = "account", request_body = ConfirmBody, responses(
    (status = 202, body = Accepted),
    (status = 409, description = "A deletion is already running (`conflict`)", body = ErrorBody),
    (status = 422, description = "The password is not correct (`invalid_input`)", body = ErrorBody),
))]
pub async fn erase_content(req: HttpRequest, caller: ApiCaller, body: web::Json<ConfirmBody>) -> ApiResult {
    let state = state(&req)?;
    erasure::erase_content(&state, &caller.ctx(), &caller.user, &body.password).await?;
    Ok(HttpResponse::Accepted().json(Accepted {
        state: "erasing",
        message: "Your generations, uploads and picture are being deleted. Your account stays. \
                  Anything on legal hold stays until the hold is lifted, then goes too.",
    }))
}

/// `DELETE /api/v1/account`: disables the account at once, then destroys its content and key.
/// Items on legal hold stay, with the key and a minimal record, until the hold is lifted.
#[utoipa::path(delete, operation_id = "account_delete", path = "/api/v1/account", tag = "account", request_body = ConfirmBody, responses(
    (status = 202, body = Accepted),
    (status = 409, description = "This is the last enabled admin (`conflict`)", body = ErrorBody),
    (status = 422, description = "The password is not correct (`invalid_input`)", body = ErrorBody),
))]
pub async fn delete(req: HttpRequest, caller: ApiCaller, body: web::Json<ConfirmBody>) -> ApiResult {
    let state = state(&req)?;
    erasure::delete_account(&state, &caller.ctx(), &caller.user, &body.password).await?;
    Ok(HttpResponse::Accepted().json(Accepted {
        state: "deleting",
        message: "Your account is disabled; its content and key are being destroyed. Credit records stay, anonymised. \
                  Anything on legal hold stays, with your key, until the hold is lifted, then goes too.",
    }))
}
