//! The catalog for admins: change, add or revert models, install a catalog file, and what is
//! due when models shut down (with the remap to each successor).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::catalog::{Layer, ModelEntry};
use crate::http::api::openapi::ErrorBody;
use crate::http::auth::{ApiAdmin, state};
use crate::http::responses::ApiResult;
use crate::services::ServiceError;
use crate::services::team::{catalog, discovery};

/// A catalog entry from a JSON body, with the id from the path when the body has none.
fn entry(id: Option<&str>, mut body: serde_json::Value) -> Result<ModelEntry, ServiceError> {
    let object =
        body.as_object_mut().ok_or_else(|| ServiceError::InvalidMessage("the body must be a JSON object of catalog fields".into()))?;
    if let Some(id) = id {
        match object.get("id").and_then(|v| v.as_str()) {
            Some(given) if given != id => {
                return Err(ServiceError::InvalidMessage(format!("the body's id {given:?} is not the path's {id:?}")));
            }
            _ => {
                object.insert("id".into(), id.into());
            }
        }
    }
    serde_json::from_value(body).map_err(|e| ServiceError::InvalidMessage(format!("not a catalog entry: {e}")))
}

/// A model as the catalog now has it, and where its entry comes from.
#[derive(Serialize, ToSchema)]
pub struct CatalogModelView {
    /// The whole entry, in the catalog file's fields.
    #[schema(value_type = Object)]
    model: ModelEntry,
    /// The highest layer that wrote it: `shipped`, `discovered`, `imported`, `config` or `edited`.
    #[schema(value_type = String)]
    layer: Layer,
}

fn model_view(req: &HttpRequest, id: &str) -> Result<CatalogModelView, crate::error::AppError> {
    let state = state(req)?;
    let registry = state.registry();
    let catalog = registry.catalog();
    let model = catalog.model(id).ok_or(ServiceError::NotFound("model"))?;
    Ok(CatalogModelView { model: ModelEntry::whole(model), layer: catalog.layer_of(id).unwrap_or(Layer::Shipped) })
}

/// Changes a model of the catalog (label, description, prices, hidden, lifecycle dates,
/// successor, …): only the fields given change, over what the lower layers say. Checked
/// with the whole catalog before it is stored and put in force.
#[utoipa::path(put, operation_id = "admin_catalog_edit_model", path = "/api/v1/admin/models/{id}/catalog", tag = "admin",
    request_body(content = Object, description = "Catalog entry fields, as in a catalog file's `[[model]]`"),
    params(("id" = String, Path, description = "The catalog model id")),
    responses(
        (status = 200, body = CatalogModelView),
        (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody),
        (status = 422, description = "An entry the catalog refuses, with the field (`invalid_input`)", body = ErrorBody),
    ))]
pub async fn edit_model(req: HttpRequest, admin: ApiAdmin, id: web::Path<String>, body: web::Json<serde_json::Value>) -> ApiResult {
    let state = state(&req)?;
    let entry = entry(Some(&id), body.into_inner())?;
    catalog::edit(&state, &admin.0.ctx(), entry).await?;
    Ok(HttpResponse::Ok().json(model_view(&req, &id)?))
}

/// Adds a model to an existing provider kind: `like` an existing model (the same wire
/// format, its own `upstream` id) or whole.
#[utoipa::path(post, operation_id = "admin_catalog_add_model", path = "/api/v1/admin/models", tag = "admin",
    request_body(content = Object, description = "A catalog entry with `id`, and `like` or every required field"),
    responses(
        (status = 201, body = CatalogModelView),
        (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody),
        (status = 409, description = "A model with this id exists (`conflict`)", body = ErrorBody),
        (status = 422, description = "An entry the catalog refuses, with the field (`invalid_input`)", body = ErrorBody),
    ))]
pub async fn add_model(req: HttpRequest, admin: ApiAdmin, body: web::Json<serde_json::Value>) -> ApiResult {
    let state = state(&req)?;
    let entry = entry(None, body.into_inner())?;
    if state.registry().model(&entry.id).is_some() {
        return Err(ServiceError::Conflict("a model with this id exists; change it with PUT /api/v1/admin/models/{id}/catalog").into());
    }
    let id = entry.id.clone();
    catalog::edit(&state, &admin.0.ctx(), entry).await?;
    Ok(HttpResponse::Created().json(model_view(&req, &id)?))
}

/// Reverts an admin's change of a model (a model only that change added is removed).
#[utoipa::path(delete, operation_id = "admin_catalog_revert_model", path = "/api/v1/admin/models/{id}/catalog", tag = "admin",
    params(("id" = String, Path, description = "The catalog model id")),
    responses(
        (status = 204, description = "Reverted"),
        (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody),
        (status = 404, description = "No admin change of this model (`not_found`)", body = ErrorBody),
        (status = 422, description = "Reverting would leave the catalog invalid (`invalid_input`)", body = ErrorBody),
    ))]
pub async fn revert_model(req: HttpRequest, admin: ApiAdmin, id: web::Path<String>) -> ApiResult {
    let state = state(&req)?;
    catalog::revert(&state, &admin.0.ctx(), &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The answer to an import.
#[derive(Serialize, ToSchema)]
pub struct ImportView {
    /// How many models the file held.
    imported: usize,
    /// How many models the catalog in force has now.
    models: usize,
}

/// Installs a catalog file (TOML, `[[model]]` entries) over the shipped catalog: its models
/// replace imported ones with the same id. Refused whole, naming the line and field, when the
/// file or the catalog it would make is invalid.
#[utoipa::path(post, operation_id = "admin_catalog_import", path = "/api/v1/admin/catalog", tag = "admin",
    request_body(content = String, content_type = "text/plain", description = "A catalog file (TOML; sent as text/plain or application/toml)"),
    responses(
        (status = 200, body = ImportView),
        (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody),
        (status = 422, description = "An invalid catalog file, with its line and field (`invalid_input`)", body = ErrorBody),
    ))]
pub async fn import(req: HttpRequest, admin: ApiAdmin, body: web::Bytes) -> ApiResult {
    let state = state(&req)?;
    let text = std::str::from_utf8(&body).map_err(|_| ServiceError::InvalidMessage("a catalog file is UTF-8 text".into()))?;
    let imported = catalog::import(&state, &admin.0.ctx(), "the uploaded catalog", text).await?;
    Ok(HttpResponse::Ok().json(ImportView { imported, models: state.registry().catalog().len() }))
}

/// The answer to a discovery refresh.
#[derive(Serialize, ToSchema)]
pub struct DiscoveryView {
    /// The models of the discovered layer now in force (0 when nothing was stored).
    models: usize,
    /// Connections whose API could not be asked, with why; while any failed the previous
    /// discovered models stay in force.
    failures: Vec<String>,
}

/// Asks every connection whose API lists its models (OpenRouter) for them now, and puts them
/// in force as the discovered layer (under imports, config and admins' edits).
#[utoipa::path(post, operation_id = "admin_catalog_discover", path = "/api/v1/admin/catalog/discover", tag = "admin",
    responses(
        (status = 200, body = DiscoveryView),
        (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody),
    ))]
pub async fn discover(req: HttpRequest, admin: ApiAdmin) -> ApiResult {
    let state = state(&req)?;
    let found = discovery::refresh(&state, &admin.0.ctx()).await?;
    Ok(HttpResponse::Ok().json(DiscoveryView { models: found.models, failures: found.failures }))
}

/// A model that shuts down soon.
#[derive(Serialize, ToSchema)]
pub struct DueView {
    model: String,
    label: String,
    shutdown_on: String,
    days_left: i64,
    successor: Option<String>,
    /// An admin's model policy names it.
    policy: bool,
    /// Connections added on the admin page that list it.
    connections: Vec<String>,
    /// Connections in config.toml that list it (edit config.toml to change them).
    config_connections: Vec<String>,
}

/// Models that shut down within 30 days, soonest first, and what names them.
#[utoipa::path(get, operation_id = "admin_catalog_due", path = "/api/v1/admin/catalog/due", tag = "admin",
    responses((status = 200, body = Vec<DueView>), (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody)))]
pub async fn due(req: HttpRequest, _admin: ApiAdmin) -> ApiResult {
    let state = state(&req)?;
    let due: Vec<DueView> = catalog::due(&state)
        .await?
        .into_iter()
        .map(|d| DueView {
            model: d.model.id.clone(),
            label: d.model.label.clone(),
            shutdown_on: d.shutdown_on.to_string(),
            days_left: d.days_left,
            successor: d.successor.map(|s| s.id.clone()),
            policy: d.policy,
            connections: d.connections,
            config_connections: d.config_connections,
        })
        .collect();
    Ok(HttpResponse::Ok().json(due))
}

/// What a remap moved.
#[derive(Serialize, ToSchema)]
pub struct RemapView {
    model: String,
    successor: String,
    moved: String,
}

/// Moves what names a model (its policy, connections' model lists) to its successor.
#[utoipa::path(post, operation_id = "admin_catalog_remap", path = "/api/v1/admin/models/{id}/remap", tag = "admin",
    params(("id" = String, Path, description = "The catalog model id")),
    responses(
        (status = 200, body = RemapView),
        (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody),
        (status = 404, description = "No such model (`not_found`)", body = ErrorBody),
        (status = 422, description = "The model names no successor (`invalid_input`)", body = ErrorBody),
    ))]
pub async fn remap(req: HttpRequest, admin: ApiAdmin, id: web::Path<String>) -> ApiResult {
    let state = state(&req)?;
    let moved = catalog::remap(&state, &admin.0.ctx(), &id).await?;
    let successor = state.registry().model(&id).and_then(|m| m.lifecycle.successor.clone()).unwrap_or_default();
    Ok(HttpResponse::Ok().json(RemapView { model: id.into_inner(), successor, moved }))
}
