//! Model policy: which roles may use each model, its price and per-person overrides.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::ids::UserId;
use crate::domain::model_policy::Access;
use crate::error::AppError;
use crate::http::api::openapi::ErrorBody;
use crate::http::auth::{ApiAdmin, state};
use crate::http::responses::ApiResult;
use crate::services::ServiceError;
use crate::services::team::model_policy::{self, PolicyRow, RowChange};

/// A person's override of a model's role setting.
#[derive(Serialize, ToSchema)]
pub struct OverrideView {
    user: String,
    email: String,
    /// `allow` or `deny`.
    #[schema(value_type = String)]
    access: &'static str,
}

/// A model's policy: who may use it, and its price.
#[derive(Serialize, ToSchema)]
pub struct PolicyView {
    model: String,
    label: String,
    provider: String,
    /// The connection that serves it.
    connection: Option<String>,
    /// Why no connection serves it, when none does.
    unserved: Option<String>,
    enabled_for_admins: bool,
    enabled_for_members: bool,
    /// The admin's price override (credits per image or per second); `null`: the catalog's.
    credits: Option<u64>,
    /// The effective price.
    #[schema(value_type = crate::http::api::models::PriceDoc)]
    price: crate::domain::catalog::Price,
    overrides: Vec<OverrideView>,
}

impl PolicyView {
    fn new(row: PolicyRow) -> Self {
        PolicyView {
            model: row.spec.id.to_string(),
            label: row.spec.label.to_string(),
            provider: row.spec.provider.to_string(),
            connection: row.connection,
            unserved: row.unserved,
            enabled_for_admins: row.policy.enabled_for_admins,
            enabled_for_members: row.policy.enabled_for_members,
            credits: row.policy.credits,
            price: row.price,
            overrides: row
                .people
                .into_iter()
                .map(|p| OverrideView { user: p.user.to_string(), email: p.email, access: p.access.as_str() })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PolicyList {
    models: Vec<PolicyView>,
}

/// The policy of `id`, as it now is.
async fn policy(req: &HttpRequest, id: &str) -> Result<PolicyView, AppError> {
    let state = state(req)?;
    let row = model_policy::rows(&state).await?.into_iter().find(|r| r.spec.id == id).ok_or(ServiceError::NotFound("model"))?;
    Ok(PolicyView::new(row))
}

/// Every catalog model with its policy.
#[utoipa::path(get, operation_id = "admin_instance_model_policies", path = "/api/v1/admin/models", tag = "admin",
    responses((status = 200, body = PolicyList), (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody)))]
pub async fn model_policies(req: HttpRequest, _admin: ApiAdmin) -> ApiResult {
    let state = state(&req)?;
    let models = model_policy::rows(&state).await?.into_iter().map(PolicyView::new).collect();
    Ok(HttpResponse::Ok().json(PolicyList { models }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyChange {
    enabled_for_admins: bool,
    enabled_for_members: bool,
    /// Credits per image or per second, at most 100000; `null` or absent for the catalog price.
    #[schema(maximum = 100_000)]
    credits: Option<u64>,
}

/// Sets which roles may use a model and its price (each change audited).
#[utoipa::path(put, operation_id = "admin_instance_save_model_policy", path = "/api/v1/admin/models/{id}", tag = "admin", request_body = PolicyChange,
    params(("id" = String, Path, description = "The catalog model id")),
    responses(
        (status = 200, body = PolicyView),
        (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody),
        (status = 422, description = "A price out of range (`invalid_input`)", body = ErrorBody),
    ))]
pub async fn save_model_policy(req: HttpRequest, admin: ApiAdmin, id: web::Path<String>, body: web::Json<PolicyChange>) -> ApiResult {
    let state = state(&req)?;
    let change = RowChange {
        enabled_for_admins: body.enabled_for_admins,
        enabled_for_members: body.enabled_for_members,
        credits: body.credits.map(|c| c.to_string()).unwrap_or_default(),
    };
    model_policy::save(&state, &admin.0.ctx(), &id, change).await?;
    Ok(HttpResponse::Ok().json(policy(&req, &id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideBody {
    /// The account's email.
    email: String,
    /// `allow` or `deny`.
    #[schema(example = "deny")]
    access: String,
}

/// Allows or denies a model to one person, whatever their role's setting.
#[utoipa::path(put, operation_id = "admin_instance_set_model_override", path = "/api/v1/admin/models/{id}/overrides", tag = "admin", request_body = OverrideBody,
    params(("id" = String, Path, description = "The catalog model id")),
    responses(
        (status = 200, body = PolicyView),
        (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody),
        (status = 422, description = "A bad access or an unknown email (`invalid_input`)", body = ErrorBody),
    ))]
pub async fn set_model_override(req: HttpRequest, admin: ApiAdmin, id: web::Path<String>, body: web::Json<OverrideBody>) -> ApiResult {
    let state = state(&req)?;
    let access = Access::parse(&body.access).map_err(ServiceError::from)?;
    model_policy::set_override(&state, &admin.0.ctx(), &id, &body.email, access).await?;
    Ok(HttpResponse::Ok().json(policy(&req, &id).await?))
}

/// Removes a person's override: their role's setting applies again.
#[utoipa::path(delete, operation_id = "admin_instance_remove_model_override", path = "/api/v1/admin/models/{id}/overrides/{user}", tag = "admin",
    params(("id" = String, Path, description = "The catalog model id"), ("user" = String, Path, description = "The user's id")),
    responses((status = 200, body = PolicyView), (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody)))]
pub async fn remove_model_override(req: HttpRequest, admin: ApiAdmin, path: web::Path<(String, UserId)>) -> ApiResult {
    let state = state(&req)?;
    let (id, user) = path.into_inner();
    model_policy::remove_override(&state, &admin.0.ctx(), &id, user).await?;
    Ok(HttpResponse::Ok().json(policy(&req, &id).await?))
}
