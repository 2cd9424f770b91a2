//! The instance-wide data-use setting shown to providers that ask.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::api::openapi::ErrorBody;
use crate::http::auth::{ApiAdmin, state};
use crate::http::responses::ApiResult;
use crate::services::identity::profile;

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DataUse {
    /// No one's content goes to providers that may train on it; their models are hidden.
    forbid_training: bool,
}

/// The instance-wide data-use setting.
#[utoipa::path(get, operation_id = "admin_instance_data_use", path = "/api/v1/admin/data-use", tag = "admin",
    responses((status = 200, body = DataUse), (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody)))]
pub async fn data_use(req: HttpRequest, _admin: ApiAdmin) -> ApiResult {
    let state = state(&req)?;
    Ok(HttpResponse::Ok().json(DataUse { forbid_training: profile::instance_forbids_training(&state).await? }))
}

/// Sets the instance-wide data-use setting (audited; the privacy notice follows it).
#[utoipa::path(put, operation_id = "admin_instance_set_data_use", path = "/api/v1/admin/data-use", tag = "admin", request_body = DataUse,
    responses((status = 200, body = DataUse), (status = 403, description = "Not an admin (`auth.admin_only`)", body = ErrorBody)))]
pub async fn set_data_use(req: HttpRequest, admin: ApiAdmin, body: web::Json<DataUse>) -> ApiResult {
    let state = state(&req)?;
    profile::set_instance_forbid_training(&state, &admin.0.ctx(), body.forbid_training).await?;
    Ok(HttpResponse::Ok().json(DataUse { forbid_training: body.forbid_training }))
}
