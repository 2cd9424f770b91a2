//! `GET /api/v1/catalog`: the catalog in force, as JSON entries (the catalog file's fields)
//! or, with `?format=toml`, as the catalog file `reelvault catalog export` prints.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::catalog::ModelEntry;
use crate::http::api::openapi::ErrorBody;
use crate::http::auth::{ApiCaller, state};
use crate::http::responses::ApiResult;
use crate::services::team::catalog;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CatalogQuery {
    /// `json` (the default) or `toml`.
    format: Option<String>,
}

/// The catalog in force.
#[derive(Serialize, ToSchema)]
pub struct CatalogView {
    #[schema(value_type = Vec<Object>)]
    models: Vec<ModelEntry>,
}

/// Every model of the catalog in force, whole, in catalog order (hidden and retired ones too).
#[utoipa::path(get, operation_id = "catalog_show", path = "/api/v1/catalog", tag = "models", params(CatalogQuery),
    responses(
        (status = 200, body = CatalogView, content_type = "application/json"),
        (status = 400, description = "An unknown format (`invalid_parameter`)", body = ErrorBody),
    ))]
pub async fn show(req: HttpRequest, _caller: ApiCaller, query: web::Query<CatalogQuery>) -> ApiResult {
    let state = state(&req)?;
    match query.format.as_deref() {
        None | Some("json") => {
            let registry = state.registry();
            let models = registry.catalog().models().iter().map(|m| ModelEntry::whole(m)).collect();
            Ok(HttpResponse::Ok().json(CatalogView { models }))
        }
        Some("toml") => Ok(HttpResponse::Ok().content_type("application/toml; charset=utf-8").body(catalog::export(&state))),
        Some(_) => Err(crate::error::AppError::bad_parameter("format", "format is json or toml").into()),
    }
}
