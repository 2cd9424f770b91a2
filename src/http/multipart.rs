//! Reading `multipart/form-data` bodies part by part, against what the endpoint takes: a part
//! it does not expect stops the read at once, and only one part is ever held, within its limit.

use std::collections::BTreeMap;

use actix_multipart::{Field, Multipart};
use actix_web::http::StatusCode;
use futures_util::StreamExt;

use crate::error::AppError;

/// The text fields a form takes.
#[derive(Debug, Clone, Copy)]
pub enum Fields {
    /// Only these names.
    Named(&'static [&'static str]),
    /// Any name (forms that pass a model's parameters by name).
    Any,
}

/// What an endpoint's form may hold; anything else is refused as soon as its part begins.
#[derive(Debug, Clone, Copy)]
pub struct Expected {
    pub fields: Fields,
    /// The names of the file parts it takes.
    pub files: &'static [&'static str],
    /// The most non-empty file parts in one form.
    pub max_files: usize,
}

/// A file part.
pub struct FilePart {
    pub field: String,
    pub bytes: Vec<u8>,
}

/// One part of a form, read whole.
pub enum Part {
    Text { name: String, value: String },
    File(FilePart),
}

/// A whole form, for endpoints that take at most one file (so one part is held at a time).
#[derive(Default)]
pub struct Parts {
    pub fields: BTreeMap<String, String>,
    pub files: Vec<FilePart>,
}

/// The most parts a form may have.
const MAX_PARTS: usize = 64;
/// The largest text field.
const MAX_FIELD: usize = 64 * 1024;
/// The most text in all of a form's fields.
const MAX_TEXT: usize = 256 * 1024;

/// A form being read, one part at a time.
pub struct Reader {
    payload: Multipart,
    expected: Expected,
    max_file: u64,
    parts: usize,
    files: usize,
    text: usize,
}

impl Reader {
    /// Reads `payload` as a form of `expected` parts, each file at most `max_file` bytes.
    pub fn new(payload: Multipart, expected: Expected, max_file: u64) -> Reader {
        Reader { payload, expected, max_file, parts: 0, files: 0, text: 0 }
    }

    /// The next part, read whole; `None` at the end. A part the endpoint does not take, one
    /// too many, or one over its limit ends the read with 400 or 413 naming the part. Empty
    /// file parts (a file input left blank) are skipped.
    pub async fn next(&mut self) -> Result<Option<Part>, AppError> {
        loop {
            let Some(field) = self.payload.next().await else { return Ok(None) };
            let field = field.map_err(malformed)?;
            self.parts += 1;
            if self.parts > MAX_PARTS {
                return Err(AppError::bad_request(format!("The form has more than {MAX_PARTS} parts.")));
            }
            let name = field.name().unwrap_or_default().to_string();
            let is_file = field.content_disposition().and_then(|d| d.get_filename()).is_some();
            if is_file {
                if !self.expected.files.contains(&name.as_str()) {
                    return Err(unexpected(&name, "file"));
                }
                let bytes = read_limited(field, self.max_file, &name, true).await?;
                if bytes.is_empty() {
                    continue;
                }
                self.files += 1;
                if self.files > self.expected.max_files {
                    let most = self.expected.max_files;
                    let files = if most == 1 { "file" } else { "files" };
                    return Err(AppError::bad_parameter(&name, format!("This form takes at most {most} {files}; `{name}` is one more.")));
                }
                return Ok(Some(Part::File(FilePart { field: name, bytes })));
            }
            if let Fields::Named(names) = self.expected.fields
                && !names.contains(&name.as_str())
            {
                return Err(unexpected(&name, "field"));
            }
            let left = MAX_TEXT.saturating_sub(self.text).min(MAX_FIELD);
            let bytes = read_limited(field, left as u64, &name, false).await?;
            self.text += bytes.len();
            let value = String::from_utf8(bytes).map_err(|_| AppError::bad_parameter(&name, format!("`{name}` is not valid UTF-8.")))?;
            return Ok(Some(Part::Text { name, value }));
        }
    }

    /// Reads the rest of the form: for endpoints whose `max_files` is at most one.
    pub async fn all(mut self) -> Result<Parts, AppError> {
        debug_assert!(self.expected.max_files <= 1, "a form of several files is read part by part");
        let mut parts = Parts::default();
        while let Some(part) = self.next().await? {
            match part {
                Part::Text { name, value } => {
                    parts.fields.insert(name, value);
                }
                Part::File(file) => parts.files.push(file),
            }
        }
        Ok(parts)
    }
}

/// Reads a whole form of at most one file: see [`Reader`].
pub async fn read(payload: Multipart, expected: Expected, max_file: u64) -> Result<Parts, AppError> {
    Reader::new(payload, expected, max_file).all().await
}

fn malformed(e: actix_multipart::MultipartError) -> AppError {
    AppError::bad_request(format!("The form is malformed: {e}"))
}

fn unexpected(name: &str, kind: &str) -> AppError {
    let shown = if name.is_empty() { "without a name".to_string() } else { format!("`{name}`") };
    AppError::bad_parameter(name, format!("This form takes no {kind} {shown}; nothing after it was read."))
}

/// The bytes of one part, refused with 413 as soon as they pass `limit`.
async fn read_limited(mut field: Field, limit: u64, name: &str, is_file: bool) -> Result<Vec<u8>, AppError> {
    let mut data = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(malformed)?;
        if (data.len() + chunk.len()) as u64 > limit {
            let what = if is_file {
                format!("The file `{name}` is larger than {limit} bytes.")
            } else {
                format!("The form field `{name}` is too long (the form's text may be at most {MAX_TEXT} bytes, {MAX_FIELD} per field).")
            };
            return Err(AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "upload.too_large", what)
                .with_details(serde_json::json!({ "parameter": name })));
        }
        data.extend_from_slice(&chunk);
    }
    Ok(data)
}
