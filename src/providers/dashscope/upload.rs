//! DashScope's temporary file storage, the way its SDK hands local files to Wan video: ask
//! `GET /uploads?action=getPolicy&model=…` (with the key) for a signed OSS upload policy, post
//! the file to the policy's `upload_host` as an OSS form upload (signed by the policy, never
//! with the key), and name it `oss://{key}` in `media[]`; the submit then carries
//! `X-DashScope-OssResourceResolve: enable`. Files live 48 hours there. Video media must be a
//! URL DashScope can fetch (public HTTP(S) or `oss://`), which this instance is not.

use reqwest::multipart::{Form, Part};
use serde::Deserialize;

use super::super::kit::Api;
use super::super::{ProviderError, ReferenceFile, wire};
use crate::domain::ids::GenerationId;
use crate::domain::media_type;

/// The header that tells the video endpoint to resolve `oss://` URLs.
pub(super) const RESOLVE: (&str, &str) = ("X-DashScope-OssResourceResolve", "enable");

#[derive(Debug, Deserialize)]
struct PolicyAnswer {
    data: Option<Policy>,
}

/// The upload policy, as `getPolicy` answers it.
#[derive(Debug, Deserialize)]
struct Policy {
    upload_host: String,
    upload_dir: String,
    oss_access_key_id: String,
    signature: String,
    policy: String,
    #[serde(default)]
    x_oss_object_acl: Option<String>,
    #[serde(default)]
    x_oss_forbid_overwrite: Option<String>,
    /// The largest file it takes, in MB (read when given).
    #[serde(default)]
    max_file_size_mb: Option<f64>,
}

/// Stores `file` (reference `n` of `generation`) in DashScope's temporary storage for `model`
/// and answers its `oss://` URL.
pub(super) async fn to_oss(
    api: &Api,
    model: &str,
    generation: GenerationId,
    n: usize,
    file: &ReferenceFile,
) -> Result<String, ProviderError> {
    let mut url = api.url("uploads")?;
    url.query_pairs_mut().append_pair("action", "getPolicy").append_pair("model", model);
    let answer: PolicyAnswer = wire::read_json(api.send(api.client().get(&url)).await?).await?;
    let policy = answer.data.ok_or_else(|| ProviderError::Transient("DashScope answered getPolicy without data".into()))?;
    if let Some(mb) = policy.max_file_size_mb
        && (file.bytes.len() as f64) > mb * 1024.0 * 1024.0
    {
        return Err(ProviderError::InvalidInput(format!("a reference file is larger than DashScope's {mb} MB upload limit")));
    }
    let host =
        url::Url::parse(&policy.upload_host).map_err(|e| ProviderError::Transient(format!("DashScope's upload host is not a URL: {e}")))?;
    let key =
        format!("{}/reelvault-{generation}-{n}.{}", policy.upload_dir.trim_end_matches('/'), media_type::extension(&file.content_type));
    let part = Part::bytes(file.bytes.to_vec())
        .file_name(key.rsplit('/').next().unwrap_or_default().to_string())
        .mime_str(&file.content_type)
        .map_err(|e| ProviderError::InvalidInput(e.to_string()))?;
    // the policy signs the upload: the form carries no API key, and the file comes last
    let mut form = Form::new()
        .text("OSSAccessKeyId", policy.oss_access_key_id)
        .text("Signature", policy.signature)
        .text("policy", policy.policy)
        .text("key", key.clone())
        .text("success_action_status", "200");
    if let Some(acl) = policy.x_oss_object_acl {
        form = form.text("x-oss-object-acl", acl);
    }
    if let Some(forbid) = policy.x_oss_forbid_overwrite {
        form = form.text("x-oss-forbid-overwrite", forbid);
    }
    let form = form.part("file", part);
    let response = wire::send(api.client().post(&host).map(|r| r.multipart(form))).await?;
    let status = response.status();
    if !status.is_success() {
        return Err(if status.is_server_error() {
            ProviderError::Transient(format!("DashScope's file storage answered HTTP {status}"))
        } else {
            ProviderError::InvalidInput(format!("DashScope's file storage refused a reference file (HTTP {status})"))
        });
    }
    Ok(format!("oss://{key}"))
}
