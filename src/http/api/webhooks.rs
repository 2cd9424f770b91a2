//! `/api/v1/webhooks`: register, list and delete the caller's webhooks, and read each one's
//! delivery log. The signing secret is in the answer to the `POST` only.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::openapi::ErrorBody;
use crate::domain::ids::WebhookId;
use crate::domain::webhook::{Delivery, Webhook};
use crate::http::auth::{ApiCaller, state};
use crate::http::responses::ApiResult;
use crate::services::team::webhooks;

#[derive(Serialize, ToSchema)]
pub struct WebhookView {
    id: String,
    url: String,
    description: String,
    /// The first characters of the signing secret.
    secret_hint: String,
    created_at: String,
    /// The signing secret: only when the webhook was just created.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl WebhookView {
    pub fn new(hook: &Webhook, secret: Option<String>) -> WebhookView {
        WebhookView {
            id: hook.id.to_string(),
            url: hook.url.clone(),
            description: hook.description.clone(),
            secret_hint: format!("{}…", hook.secret_hint),
            created_at: hook.created_at.rfc3339(),
            secret,
        }
    }
}

#[derive(Serialize, ToSchema)]
struct AttemptView {
    at: String,
    status: Option<u16>,
    error: Option<String>,
    duration_ms: u64,
}

#[derive(Serialize, ToSchema)]
struct DeliveryView {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    generation: String,
    state: &'static str,
    created_at: String,
    next_attempt_at: Option<String>,
    attempts: Vec<AttemptView>,
}

impl DeliveryView {
    fn new(d: &Delivery) -> DeliveryView {
        DeliveryView {
            id: d.id.to_string(),
            kind: d.event.as_str(),
            generation: d.generation.to_string(),
            state: d.state.as_str(),
            created_at: d.created_at.rfc3339(),
            next_attempt_at: d.next_attempt_at.map(|t| t.rfc3339()),
            attempts: d
                .attempts
                .iter()
                .map(|a| AttemptView { at: a.at.rfc3339(), status: a.status, error: a.error.clone(), duration_ms: a.duration_ms })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct WebhookList {
    webhooks: Vec<WebhookView>,
}

#[derive(Serialize, ToSchema)]
struct DeliveryList {
    deliveries: Vec<DeliveryView>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookBody {
    url: String,
    #[serde(default)]
    description: String,
}

/// The caller's webhooks, newest first.
#[utoipa::path(get, operation_id = "webhooks_list", path = "/api/v1/webhooks", tag = "webhooks", responses((status = 200, body = WebhookList)))]
pub async fn list(req: HttpRequest, caller: ApiCaller) -> ApiResult {
    let state = state(&req)?;
    let hooks = webhooks::list(&state, caller.user.id).await?;
    Ok(HttpResponse::Ok().json(WebhookList { webhooks: hooks.iter().map(|h| WebhookView::new(h, None)).collect() }))
}

/// Registers a webhook; the answer carries its signing `secret`, shown this once.
#[utoipa::path(post, operation_id = "webhooks_create", path = "/api/v1/webhooks", tag = "webhooks", request_body = NewWebhookBody, responses(
    (status = 201, body = WebhookView),
    (status = 422, description = "Not an http(s) URL, a private address, or too many webhooks (`invalid_input`)", body = ErrorBody),
))]
pub async fn create(req: HttpRequest, caller: ApiCaller, body: web::Json<NewWebhookBody>) -> ApiResult {
    let state = state(&req)?;
    let (hook, secret) = webhooks::create(&state, &caller.ctx(), &caller.user, &body.url, &body.description).await?;
    Ok(HttpResponse::Created().json(WebhookView::new(&hook, Some(secret))))
}

/// Deletes one of the caller's webhooks (its pending deliveries go with it).
#[utoipa::path(delete, operation_id = "webhooks_delete", path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "The webhook's id")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete(req: HttpRequest, caller: ApiCaller, id: web::Path<WebhookId>) -> ApiResult {
    let state = state(&req)?;
    webhooks::delete(&state, &caller.ctx(), caller.user.id, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A webhook's delivery log, newest first, each delivery with its attempts.
#[utoipa::path(get, operation_id = "webhooks_deliveries", path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path, description = "The webhook's id")),
    responses((status = 200, body = DeliveryList)))]
pub async fn deliveries(req: HttpRequest, caller: ApiCaller, id: web::Path<WebhookId>) -> ApiResult {
    let state = state(&req)?;
    let (_, log) = webhooks::deliveries(&state, caller.user.id, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(DeliveryList { deliveries: log.iter().map(DeliveryView::new).collect() }))
}
