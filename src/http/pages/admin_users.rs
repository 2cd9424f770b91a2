//! The admin's people page: invite, change roles, disable and enable, issue reset links.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

use super::layout::Layout;
use crate::domain::credits::Balance;
use crate::domain::ids::{GenerationId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::user::{Role, User};
use crate::error::AppError;
use crate::http::auth::{Admin, state};
use crate::http::lang;
use crate::http::responses::{FlashKind, PageResult, redirect_with, render};
use crate::services::{ServiceError, identity::accounts, identity::links, notify, privacy::restriction, team::credits};

/// A one-time link just made, shown to the admin this once.
struct IssuedLink {
    what: String,
    url: String,
    expires_at: Timestamp,
    /// The address the link was e-mailed to, when e-mail is set up.
    emailed_to: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    layout: Layout,
    rows: Vec<(User, Balance)>,
    me: UserId,
    issued: Option<IssuedLink>,
    error: Option<String>,
}

async fn page(req: &HttpRequest, admin: &Admin, status: StatusCode, issued: Option<IssuedLink>, error: Option<String>) -> PageResult {
    let state = state(req)?;
    let mut rows = Vec::new();
    for user in accounts::list(&state).await? {
        let balance = credits::balance(&state, user.id).await?;
        rows.push((user, balance));
    }
    let page = UsersPage { layout: Layout::new(req, Some(&admin.0.user)), rows, me: admin.0.user.id, issued, error };
    render(req, status, &page)
}

pub async fn show(req: HttpRequest, admin: Admin) -> PageResult {
    page(&req, &admin, StatusCode::OK, None, None).await
}

/// Shows refusals that a person can fix on the same page; passes the rest on.
async fn refused(req: &HttpRequest, admin: &Admin, e: ServiceError) -> PageResult {
    match e {
        ServiceError::Invalid(_) | ServiceError::EmailTaken | ServiceError::Conflict(_) | ServiceError::Credits(_) => {
            let error = AppError::from(e);
            page(req, admin, error.status, None, Some(crate::http::responses::error_text(&crate::http::lang::tr(req), &error))).await
        }
        other => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

pub async fn invite(req: HttpRequest, admin: Admin, form: web::Form<InviteForm>) -> PageResult {
    let state = state(&req)?;
    let role = match form.role.parse::<Role>() {
        Ok(r) => r,
        Err(e) => return refused(&req, &admin, e.into()).await,
    };
    match links::invite(&state, &admin.0.ctx(), &form.email, role).await {
        Ok((link, secret)) => {
            let emailed_to = notify::email_invitation(&state, &link, &secret).await?;
            let issued = IssuedLink {
                emailed_to,
                what: lang::tr(&req).t_args(
                    "admin-issued-invitation",
                    &[("email", form.email.trim().to_lowercase().into()), ("role", lang::tr(&req).role_name(role.as_str()).into())],
                ),
                url: state.urls().absolute(&state.urls().invite(&secret)),
                expires_at: link.expires_at,
            };
            page(&req, &admin, StatusCode::OK, Some(issued), None).await
        }
        Err(e) => refused(&req, &admin, e).await,
    }
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

pub async fn set_role(req: HttpRequest, admin: Admin, id: web::Path<UserId>, form: web::Form<RoleForm>) -> PageResult {
    let state = state(&req)?;
    let id = id.into_inner();
    let result = match form.role.parse::<Role>() {
        Ok(role) => accounts::set_role(&state, &admin.0.ctx(), id, role).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(user) => Ok(redirect_with(
            state.urls().admin_users(),
            FlashKind::Success,
            &lang::tr(&req).t_args(
                "flash-admin-role",
                &[("email", user.email.to_string().into()), ("role", lang::tr(&req).role_name(user.role.as_str()).into())],
            ),
        )),
        Err(e) => refused(&req, &admin, e).await,
    }
}

#[derive(Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    disabled: String,
}

pub async fn set_status(req: HttpRequest, admin: Admin, id: web::Path<UserId>, form: web::Form<StatusForm>) -> PageResult {
    let state = state(&req)?;
    let id = id.into_inner();
    let disabled = match form.disabled.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(AppError::bad_request("`disabled` must be true or false.").into()),
    };
    match accounts::set_disabled(&state, &admin.0.ctx(), id, disabled).await {
        Ok(user) => {
            let key = if disabled { "flash-admin-disabled" } else { "flash-admin-enabled" };
            Ok(redirect_with(
                state.urls().admin_users(),
                FlashKind::Success,
                &lang::tr(&req).t_args(key, &[("email", user.email.to_string().into())]),
            ))
        }
        Err(e) => refused(&req, &admin, e).await,
    }
}

pub async fn issue_reset(req: HttpRequest, admin: Admin, id: web::Path<UserId>) -> PageResult {
    let state = state(&req)?;
    let user = accounts::get(&state, id.into_inner()).await?;
    let (link, secret) = links::issue_reset(&state, &admin.0.ctx(), &user).await?;
    let emailed_to = notify::email_reset(&state, &user, &link, &secret).await?;
    let issued = IssuedLink {
        emailed_to,
        what: lang::tr(&req).t_args("admin-issued-reset", &[("email", user.email.to_string().into())]),
        url: state.urls().absolute(&state.urls().reset(&secret)),
        expires_at: link.expires_at,
    };
    page(&req, &admin, StatusCode::OK, Some(issued), None).await
}

#[derive(Deserialize)]
pub struct CreditsForm {
    #[serde(default)]
    amount: String,
}

pub async fn grant_credits(req: HttpRequest, admin: Admin, id: web::Path<UserId>, form: web::Form<CreditsForm>) -> PageResult {
    let state = state(&req)?;
    let id = id.into_inner();
    let Ok(amount) = form.amount.trim().parse::<i64>() else {
        return refused(&req, &admin, crate::domain::user::InvalidInput("the amount must be a whole number, like 100 or -20").into()).await;
    };
    match credits::grant(&state, &admin.0.ctx(), id, amount, None).await {
        Ok(balance) => {
            let user = accounts::get(&state, id).await?;
            let message = lang::tr(&req).t_args(
                "flash-admin-credits",
                &[("email", user.email.to_string().into()), ("count", balance.available.into()), ("change", format!("{amount:+}").into())],
            );
            Ok(redirect_with(state.urls().admin_users(), FlashKind::Success, &message))
        }
        Err(e) => refused(&req, &admin, e).await,
    }
}

/// `true` or `false` from a form switch.
fn parse_switch(value: &str, name: &str) -> Result<bool, AppError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(AppError::bad_request(format!("`{name}` must be true or false."))),
    }
}

#[derive(Deserialize)]
pub struct FreezeForm {
    #[serde(default)]
    frozen: String,
}

pub async fn set_frozen(req: HttpRequest, admin: Admin, id: web::Path<UserId>, form: web::Form<FreezeForm>) -> PageResult {
    let state = state(&req)?;
    let frozen = parse_switch(&form.frozen, "frozen")?;
    let user = restriction::set_frozen(&state, &admin.0.ctx(), id.into_inner(), frozen).await?;
    let key = if frozen { "flash-admin-frozen" } else { "flash-admin-unfrozen" };
    Ok(redirect_with(
        state.urls().admin_users(),
        FlashKind::Success,
        &lang::tr(&req).t_args(key, &[("email", user.email.to_string().into())]),
    ))
}

#[derive(Deserialize)]
pub struct HoldForm {
    #[serde(default)]
    hold: String,
}

pub async fn set_hold(req: HttpRequest, admin: Admin, id: web::Path<UserId>, form: web::Form<HoldForm>) -> PageResult {
    let state = state(&req)?;
    let hold = parse_switch(&form.hold, "hold")?;
    let user = restriction::set_user_hold(&state, &admin.0.ctx(), id.into_inner(), hold).await?;
    let key = if hold { "flash-admin-person-held" } else { "flash-admin-person-released" };
    Ok(redirect_with(
        state.urls().admin_users(),
        FlashKind::Success,
        &lang::tr(&req).t_args(key, &[("email", user.email.to_string().into())]),
    ))
}

/// Puts one generation on legal hold by its id (from the form on this page or the
/// generation's page).
pub async fn set_generation_hold(req: HttpRequest, admin: Admin, id: web::Path<GenerationId>, form: web::Form<HoldForm>) -> PageResult {
    let state = state(&req)?;
    let hold = parse_switch(&form.hold, "hold")?;
    let generation = id.into_inner();
    restriction::set_generation_hold(&state, &admin.0.ctx(), generation, hold).await?;
    let key = if hold { "flash-admin-generation-held" } else { "flash-admin-generation-released" };
    Ok(redirect_with(state.urls().admin_users(), FlashKind::Success, &lang::tr(&req).t_args(key, &[("id", generation.to_string().into())])))
}

#[derive(Deserialize)]
pub struct GenerationHoldForm {
    #[serde(default)]
    generation: String,
}

/// The form on this page names the generation in a field; this forwards to the path form.
pub async fn hold_generation_by_field(req: HttpRequest, admin: Admin, form: web::Form<GenerationHoldForm>) -> PageResult {
    let state = state(&req)?;
    let Ok(generation) = form.generation.trim().parse() else {
        return refused(&req, &admin, crate::domain::user::InvalidInput("enter a generation id, like 01JD…").into()).await;
    };
    match restriction::set_generation_hold(&state, &admin.0.ctx(), generation, true).await {
        Ok(()) => Ok(redirect_with(
            state.urls().admin_users(),
            FlashKind::Success,
            &lang::tr(&req).t_args("flash-admin-generation-held", &[("id", generation.to_string().into())]),
        )),
        Err(ServiceError::NotFound(_)) => {
            let e = AppError::new(StatusCode::NOT_FOUND, "not_found", format!("There is no generation {generation}."));
            page(&req, &admin, e.status, None, Some(crate::http::responses::error_text(&crate::http::lang::tr(&req), &e))).await
        }
        Err(e) => Err(e.into()),
    }
}
