//! Provider connections: list, add, remove and test them.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::AppError;
use crate::http::api::openapi::ErrorBody;
use crate::http::auth::{ApiAdmin, state};
use crate::http::responses::ApiResult;
use crate::services::team::connections::{self, ConnectionRow, NewConnection, Source};

/// A provider connection (keys never shown: `key` is `••••` and the last four characters).
#[derive(Serialize, ToSchema)]
pub struct ConnectionView {
    name: String,
    /// The adapter: `openai_images`, `kling`, `demo`, …
    kind: String,
    base_url: Option<String>,
    /// The provider region it calls, when one was set.
    region: Option<String>,
    key: String,
    max_concurrent: u32,
    allow_private_network: bool,
    /// The catalog models it serves.
    #[schema(value_type = Vec<String>)]
    models: Vec<String>,
    /// `config` (config.toml, read-only here) or `admin` (added here or in the UI).
    #[schema(value_type = String)]
    source: &'static str,
}

impl ConnectionView {
    fn new(row: ConnectionRow) -> Self {
        ConnectionView {
            name: row.name,
            kind: row.kind,
            base_url: row.base_url,
            region: row.region,
            key: row.key,
            max_concurrent: row.max_concurrent,
            allow_private_network: row.allow_private_network,
            models: row.models,
            source: match row.source {
                Source::Config => "config",
                Source::Admin => "admin",
            },
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ConnectionList {
    connections: Vec<ConnectionView>,
}

async fn connection_list(req: &HttpRequest) -> Result<ConnectionList, AppError> {
    let state = state(req)?;
    Ok(ConnectionList { connections: connections::list(&state).await?.into_iter().map(ConnectionView::new).collect() })
}

/// The connections in force: config.toml's, then those admins added.
#[utoipa::path(get, operation_id = "admin_instance_connections", path = "/api/v1/admin/connections", tag = "admin",
    responses((status = 200, body = ConnectionList), (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody)))]
pub async fn connections(req: HttpRequest, _admin: ApiAdmin) -> ApiResult {
    Ok(HttpResponse::Ok().json(connection_list(&req).await?))
}

/// A new connection. Keys are stored sealed to the master key and never shown again.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConnectionBody {
    /// Letters, digits, `-` and `_`.
    name: String,
    /// `openai_images`, `openai_videos`, `gemini`, `runway`, `kling`, `minimax`, `luma`, `luma_agents`, `bfl`,
    /// `replicate`, `fal`, `stability`, `comfyui`, `xai`, `dashscope`, `byteplus`, … (`GET /api/v1/admin/connections`
    /// lists those in use; README lists every kind).
    kind: String,
    /// The provider's default when absent (or a gateway, Azure, a self-hosted server).
    base_url: Option<String>,
    /// For providers whose keys work only in their own region: `byteplus` (`ap-southeast`,
    /// `eu-west`, `cn-beijing`), `dashscope` (`cn-beijing`, `ap-southeast-1`, `us-east-1`), `bfl`
    /// (`global`, `eu`, `us`), `minimax` (`global`, `cn`). `base_url` wins over it.
    region: Option<String>,
    api_key: Option<String>,
    /// Kling's access key.
    access_key: Option<String>,
    /// Kling's secret key.
    secret_key: Option<String>,
    /// Jobs at once (4).
    max_concurrent: Option<u32>,
    /// Allow loopback and private addresses (a self-hosted ComfyUI).
    #[serde(default)]
    allow_private_network: bool,
    /// Limit the connection to these catalog models (all of its kind when absent).
    #[serde(default)]
    models: Vec<String>,
}

/// Adds a connection and puts it in force; answers with the connections.
#[utoipa::path(post, operation_id = "admin_instance_add_connection", path = "/api/v1/admin/connections", tag = "admin", request_body = NewConnectionBody,
    responses(
        (status = 201, body = ConnectionList),
        (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody),
        (status = 409, description = "The name is taken (`conflict`)", body = ErrorBody),
        (status = 422, description = "A bad name, kind, URL, key or model (`invalid_input`)", body = ErrorBody),
    ))]
pub async fn add_connection(req: HttpRequest, admin: ApiAdmin, body: web::Json<NewConnectionBody>) -> ApiResult {
    let state = state(&req)?;
    let b = body.into_inner();
    let new = NewConnection {
        name: b.name,
        kind: b.kind,
        base_url: b.base_url.unwrap_or_default(),
        region: b.region.unwrap_or_default(),
        api_key: b.api_key.unwrap_or_default(),
        access_key: b.access_key.unwrap_or_default(),
        secret_key: b.secret_key.unwrap_or_default(),
        max_concurrent: b.max_concurrent,
        allow_private_network: b.allow_private_network,
        models: b.models.join(","),
    };
    connections::add(&state, &admin.0.ctx(), new).await?;
    Ok(HttpResponse::Created().json(connection_list(&req).await?))
}

/// Removes a connection added by an admin (config.toml's cannot be removed here).
#[utoipa::path(delete, operation_id = "admin_instance_remove_connection", path = "/api/v1/admin/connections/{name}", tag = "admin",
    params(("name" = String, Path, description = "The connection's name")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody),
        (status = 409, description = "It comes from config.toml (`conflict`)", body = ErrorBody),
    ))]
pub async fn remove_connection(req: HttpRequest, admin: ApiAdmin, name: web::Path<String>) -> ApiResult {
    let state = state(&req)?;
    connections::remove(&state, &admin.0.ctx(), &name).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// What the provider said to a test call.
#[derive(Serialize, ToSchema)]
pub struct TestResult {
    /// Whether the provider accepted the key.
    ok: bool,
    message: String,
}

/// Calls the provider's cheapest authenticated endpoint with the connection's key.
#[utoipa::path(post, operation_id = "admin_instance_test_connection", path = "/api/v1/admin/connections/{name}/test", tag = "admin",
    params(("name" = String, Path, description = "The connection's name")),
    responses((status = 200, body = TestResult), (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody)))]
pub async fn test_connection(req: HttpRequest, admin: ApiAdmin, name: web::Path<String>) -> ApiResult {
    let state = state(&req)?;
    let result = match connections::test(&state, &admin.0.ctx(), &name).await? {
        Ok(said) => TestResult { ok: true, message: said },
        Err(problem) => TestResult { ok: false, message: problem },
    };
    Ok(HttpResponse::Ok().json(result))
}
