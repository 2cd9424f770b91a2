//! Reference images as a request names them (a role word and an upload id), parsed once into
//! typed pairs before they reach the services.

use crate::domain::catalog::ReferenceRole;
use crate::domain::ids::AssetId;
use crate::error::AppError;
use crate::services::ServiceError;

/// The role a form part or JSON field names (`first_frame`, `last_frame`, `reference`);
/// anything else is 422 `invalid_input`.
pub fn role(text: &str) -> Result<ReferenceRole, AppError> {
    ReferenceRole::parse(text).map_err(|e| ServiceError::from(e).into())
}

/// One `(role, upload id)` pair; a malformed id is 422 `invalid_input` naming it.
pub fn parse(role_text: &str, upload: &str) -> Result<(ReferenceRole, AssetId), AppError> {
    let role = role(role_text)?;
    let upload = upload.parse().map_err(|_| ServiceError::InvalidMessage(format!("{upload:?} is not an upload id")))?;
    Ok((role, upload))
}
