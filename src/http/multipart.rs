//! Reading `multipart/form-data` bodies with limits: text fields and at most a few files.

use std::collections::BTreeMap;

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use futures_util::StreamExt;

use crate::error::AppError;

/// A file part.
pub struct FilePart {
    pub field: String,
    pub bytes: Vec<u8>,
}

/// A parsed form.
#[derive(Default)]
pub struct Parts {
    pub fields: BTreeMap<String, String>,
    pub files: Vec<FilePart>,
}

/// The most parts a form may have.
const MAX_PARTS: usize = 32;
/// The largest text field.
const MAX_FIELD: usize = 64 * 1024;

/// Reads every part; files larger than `max_file` are refused with 413 naming the limit.
pub async fn read(mut payload: Multipart, max_file: u64) -> Result<Parts, AppError> {
    let mut parts = Parts::default();
    let mut count = 0;
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(|e| AppError::bad_request(format!("The form is malformed: {e}")))?;
        count += 1;
        if count > MAX_PARTS {
            return Err(AppError::bad_request("The form has too many parts."));
        }
        let name = field.name().unwrap_or_default().to_string();
        let is_file = field.content_disposition().and_then(|d| d.get_filename()).is_some();
        let limit = if is_file { max_file } else { MAX_FIELD as u64 };
        let mut data = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| AppError::bad_request(format!("The form is malformed: {e}")))?;
            if (data.len() + chunk.len()) as u64 > limit {
                let what = if is_file { format!("The file is larger than {} bytes.", limit) } else { "A form field is too long.".into() };
                return Err(AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "upload.too_large", what));
            }
            data.extend_from_slice(&chunk);
        }
        if is_file {
            if !data.is_empty() {
                parts.files.push(FilePart { field: name, bytes: data });
            }
        } else {
            let text = String::from_utf8(data).map_err(|_| AppError::bad_request("A form field is not valid UTF-8."))?;
            parts.fields.insert(name, text);
        }
    }
    Ok(parts)
}
