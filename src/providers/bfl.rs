//! Black Forest Labs FLUX API: JSON `POST /v1/{model}` with the `x-key` header answers
//! `{id, polling_url}`; the job is polled at that `polling_url` (kept in the handle; it may name
//! another cluster) until `Ready`, whose `result.sample` is a signed URL valid for 10 minutes,
//! downloaded without the key. A reference image goes as raw base64 (`input_image` for Kontext,
//! `image_prompt` for FLUX1.1). `webhook_url` is sent when this instance has a callback URL; with
//! the connection's `secret_key` set it is also sent as `webhook_secret` and callbacks must carry
//! a matching `X-BFL-Signature: sha256=<hex HMAC-SHA256>`. See PROVIDERS.md §7.

use async_trait::async_trait;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use super::http::OutboundError;
use super::kit::{self, Api, Auth, BaseUrl, ErrorAnswer, ErrorReport, ErrorTable, Region, text_param};
use super::{ByteStream, Callback, Provider, ProviderError, ProviderJob, Submitted, UpstreamStatus, usage, wire};
use crate::config::{ConnectionConfig, Secret};
use crate::domain::catalog::ParamValue;
use crate::domain::generation::{OutputRef, ProviderUsage, UpstreamHandle};

/// The base URL convention: BFL's global host (routes across clusters); `v1/` in each path.
pub const BASE: BaseUrl = BaseUrl::in_paths("https://api.bfl.ai", &["v1"]).with_regions(&[
    Region { name: "global", aliases: &[], url: "https://api.bfl.ai" },
    Region { name: "eu", aliases: &["europe"], url: "https://api.eu.bfl.ai" },
    Region { name: "us", aliases: &[], url: "https://api.us.bfl.ai" },
]);

/// How often to poll a pending job: images take seconds, and BFL's own examples poll every
/// half second (there is no header hint).
const POLL_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Domains whose hosts may receive the key when a `polling_url` names them.
const BFL_DOMAINS: &[&str] = &["bfl.ai", "bfl.ml"];

/// The adapter for one connection.
pub struct Bfl {
    api: Api,
    webhook_secret: Option<Secret>,
}

#[derive(Debug, Deserialize)]
struct SubmitAnswer {
    id: String,
    polling_url: Option<String>,
    /// What the job costs, in BFL credits (1 credit = 1 US cent), where the answer says.
    cost: Option<serde_json::Value>,
    input_mp: Option<serde_json::Value>,
    output_mp: Option<serde_json::Value>,
}

impl SubmitAnswer {
    /// The reported cost (BFL credits are US cents) and the megapixels it was priced by.
    fn usage(&self) -> Option<ProviderUsage> {
        let megapixels = match (usage::number(self.input_mp.as_ref()), usage::number(self.output_mp.as_ref())) {
            (None, None) => None,
            (input, output) => Some(input.unwrap_or(0.0) + output.unwrap_or(0.0)),
        };
        usage::cost(usage::number(self.cost.as_ref()), megapixels, "megapixels")
    }
}

/// `GET polling_url` (tolerant: unknown fields ignored, most fields optional).
#[derive(Debug, Deserialize)]
struct GetResult {
    status: String,
    result: Option<serde_json::Value>,
    progress: Option<f64>,
    details: Option<serde_json::Value>,
    /// The settled cost in BFL credits, which some answers carry.
    cost: Option<serde_json::Value>,
}

/// FastAPI-style errors: `{"detail": "..."}` or `{"detail": [{"msg": ...}]}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    detail: Option<serde_json::Value>,
    message: Option<String>,
    retry_after: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct Credits {
    credits: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct Hook {
    id: Option<String>,
    task_id: Option<String>,
}

/// Models that take `width`/`height` rather than `aspect_ratio` (FLUX1.x pro/dev, every FLUX.2).
fn sized(model: &str) -> bool {
    matches!(model, "flux-pro-1.1" | "flux-pro" | "flux-dev") || model.starts_with("flux-2")
}

/// The most reference images a FLUX.2 request carries (`input_image` … `input_image_8`).
const FLUX2_REFERENCES: usize = 8;

/// The field of the `n`th (0-based) reference image of a FLUX.2 request.
fn flux2_reference_field(n: usize) -> String {
    if n == 0 { "input_image".into() } else { format!("input_image_{}", n + 1) }
}

/// The pixel size used for a ratio on the sized models (multiples of 32, about 1 MP).
fn size_of(ratio: &str) -> (u32, u32) {
    match ratio {
        "16:9" => (1344, 768),
        "9:16" => (768, 1344),
        "4:3" => (1024, 768),
        "3:4" => (768, 1024),
        "3:2" => (1216, 832),
        "2:3" => (832, 1216),
        _ => (1024, 1024),
    }
}

/// The field the one reference image of a FLUX.1 model goes in: Kontext edits `input_image`;
/// FLUX1.x takes an `image_prompt`. (FLUX.2 takes several: see [`flux2_reference_field`].)
fn reference_field(model: &str) -> &'static str {
    if model.starts_with("flux-kontext") { "input_image" } else { "image_prompt" }
}

fn image_type(format: &str) -> &'static str {
    match format {
        "png" => "image/png",
        "webp" => "image/webp",
        _ => "image/jpeg",
    }
}

/// What a finished job cost: the submit's report, with the cost the poll settled on where it
/// gives one.
fn settled(handle: &UpstreamHandle, cost: Option<&serde_json::Value>) -> Option<ProviderUsage> {
    let submitted = usage::stashed(&handle.data);
    match usage::number(cost) {
        Some(cents) => {
            let units = submitted.as_ref().and_then(|u| u.units);
            usage::cost(Some(cents), units, "megapixels")
        }
        None => submitted,
    }
}

/// A `details` value in a sentence (`Moderation Reasons: …`).
fn describe(details: Option<&serde_json::Value>) -> String {
    match details {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::Array(items) => {
                    format!(
                        "{k}: {}",
                        items
                            .iter()
                            .map(|i| i.as_str().map(str::to_string).unwrap_or_else(|| i.to_string()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
                serde_json::Value::String(s) => format!("{k}: {s}"),
                other => format!("{k}: {other}"),
            })
            .collect::<Vec<_>>()
            .join("; "),
        Some(other) => other.to_string(),
    }
}

fn with_details(sentence: &str, details: Option<&serde_json::Value>) -> String {
    let details = describe(details);
    if details.is_empty() { sentence.to_string() } else { format!("{sentence} ({details})") }
}

/// BFL's error table: `detail` (or `message`) and a `retry_after` in the body, then the status.
static ERRORS: ErrorTable = ErrorTable { read: read_error, codes: &[], statuses: &[] };

/// Reads `{"detail": "…" | [{"msg"}], "message", "retry_after"}`.
fn read_error(answer: &ErrorAnswer<'_>) -> ErrorReport {
    let parsed = serde_json::from_slice::<ErrorBody>(answer.body).ok();
    let wait = parsed.as_ref().and_then(|e| e.retry_after).filter(|s| s.is_finite() && *s >= 0.0).map(std::time::Duration::from_secs_f64);
    let message = parsed.and_then(|e| {
        let detail = match e.detail {
            Some(serde_json::Value::String(s)) => Some(s),
            Some(serde_json::Value::Array(items)) => Some(
                items
                    .iter()
                    .map(|i| i.get("msg").and_then(|m| m.as_str()).map(str::to_string).unwrap_or_else(|| i.to_string()))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            Some(other) => Some(other.to_string()),
            None => None,
        };
        detail.or(e.message)
    });
    ErrorReport { code: String::new(), message, wait }
}

impl Bfl {
    pub fn new(config: &ConnectionConfig) -> Result<Self, OutboundError> {
        // the key goes to the API's own origin, and to BFL's clusters a `polling_url` names
        let api = Api::new(config, BASE, Auth::Header("x-key"), &ERRORS)?.key_also_under(BFL_DOMAINS);
        Ok(Self { api, webhook_secret: config.secret_key.clone() })
    }

    fn body(&self, job: &ProviderJob) -> serde_json::Value {
        let model = job.upstream_model.as_str();
        let mut body = serde_json::json!({ "prompt": job.prompt });
        let ratio = text_param(&job.params, "aspect_ratio");
        if sized(model) {
            let (width, height) = size_of(ratio.unwrap_or("1:1"));
            body["width"] = width.into();
            body["height"] = height.into();
        } else if let Some(ratio) = ratio {
            body["aspect_ratio"] = ratio.into();
        }
        if let Some(ParamValue::Int(seed)) = job.params.get("seed") {
            body["seed"] = (*seed).into();
        }
        body["output_format"] = text_param(&job.params, "output_format").unwrap_or("jpeg").into();
        let encode = |image: &super::ReferenceFile| base64::engine::general_purpose::STANDARD.encode(&image.bytes);
        if model.starts_with("flux-2") {
            for (n, image) in job.references.iter().take(FLUX2_REFERENCES).enumerate() {
                body[flux2_reference_field(n)] = encode(image).into();
            }
        } else if let Some(image) = job.references.first() {
            body[reference_field(model)] = encode(image).into();
        }
        // FLUX.2 [flex] sampling steps
        if let Some(ParamValue::Int(steps)) = job.params.get("steps") {
            body["steps"] = (*steps).into();
        }
        if let Some(callback) = &job.callback_url {
            body["webhook_url"] = callback.as_str().into();
            if let Some(secret) = &self.webhook_secret {
                body["webhook_secret"] = secret.expose().into();
            }
        }
        body
    }

    /// Where to poll: the `polling_url` the submit returned, else `/v1/get_result?id=`.
    fn polling_url(&self, handle: &UpstreamHandle) -> Result<url::Url, ProviderError> {
        match handle.data.get("polling_url") {
            Some(given) => {
                let url =
                    url::Url::parse(given).map_err(|e| ProviderError::InvalidInput(format!("bad polling_url from the provider: {e}")))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(ProviderError::InvalidInput(format!("the provider's polling_url is not http(s): {}", url.scheme())));
                }
                Ok(url)
            }
            None => {
                let mut url = self.api.url("v1/get_result")?;
                url.query_pairs_mut().append_pair("id", &handle.id);
                Ok(url)
            }
        }
    }

    fn status(&self, handle: &UpstreamHandle, answer: GetResult) -> UpstreamStatus {
        let progress = answer.progress.map(wire::percent);
        match answer.status.as_str() {
            "Ready" => {
                let sample = answer.result.as_ref().and_then(|r| match r {
                    serde_json::Value::String(s) => Some(s.clone()),
                    other => other.get("sample").and_then(|s| s.as_str()).map(str::to_string),
                });
                match sample {
                    Some(location) => {
                        let content_type = handle.data.get("output_format").map(|f| image_type(f)).unwrap_or("image/jpeg");
                        UpstreamStatus::Succeeded {
                            outputs: vec![OutputRef::new(location, Some(content_type.to_string()))],
                            usage: settled(handle, answer.cost.as_ref()),
                        }
                    }
                    None => UpstreamStatus::Failed(ProviderError::Transient("the provider said Ready without a result".into())),
                }
            }
            "Pending" | "Queued" | "Processing" | "Running" => UpstreamStatus::Pending { progress, poll_after: Some(POLL_EVERY) },
            "Request Moderated" => UpstreamStatus::Failed(ProviderError::ContentPolicy(with_details(
                "the provider's moderation refused the request",
                answer.details.as_ref(),
            ))),
            "Content Moderated" => UpstreamStatus::Failed(ProviderError::ContentPolicy(with_details(
                "the provider's moderation withheld the generated image",
                answer.details.as_ref(),
            ))),
            "Task not found" => {
                UpstreamStatus::Failed(ProviderError::NotFound("the provider does not know this task (or it expired)".into()))
            }
            "Error" | "Failed" => {
                let message = with_details("the provider's generation failed", answer.details.as_ref());
                match wire::job_failure("", message.clone()) {
                    ProviderError::InvalidInput(_) => UpstreamStatus::Failed(ProviderError::Transient(message)),
                    other => UpstreamStatus::Failed(other),
                }
            }
            other => wire::unknown_status("bfl", other, progress),
        }
    }
}

#[async_trait]
impl Provider for Bfl {
    async fn submit(&self, job: &ProviderJob) -> Result<Submitted, ProviderError> {
        let url = self.api.url(&format!("v1/{}", job.upstream_model))?;
        let body = self.body(job);
        let response = self.api.send(self.api.client().post(&url).map(|r| r.json(&body))).await?;
        let answer: SubmitAnswer = wire::read_json(response).await?;
        let mut handle = UpstreamHandle { id: answer.id.clone(), data: Default::default() };
        usage::stash(&mut handle.data, answer.usage().as_ref());
        if let Some(polling_url) = answer.polling_url.filter(|u| !u.is_empty()) {
            handle.data.insert("polling_url".into(), polling_url);
        }
        handle.data.insert("output_format".into(), text_param(&job.params, "output_format").unwrap_or("jpeg").to_string());
        Ok(Submitted { handle, status: UpstreamStatus::Pending { progress: None, poll_after: None } })
    }

    async fn poll(&self, handle: &UpstreamHandle) -> Result<UpstreamStatus, ProviderError> {
        let url = self.polling_url(handle)?;
        let response = self.api.send(self.api.client().get(&url)).await?;
        let answer: GetResult = wire::read_json(response).await?;
        Ok(self.status(handle, answer))
    }

    async fn fetch(&self, _handle: &UpstreamHandle, output: &OutputRef, cap: u64) -> Result<ByteStream, ProviderError> {
        // a signed URL: fetched as given, never with the key
        let url = url::Url::parse(&output.location).map_err(|e| ProviderError::InvalidInput(format!("bad output URL: {e}")))?;
        let gone = |status| format!("the signed output URL answered HTTP {status} (it expires 10 minutes after the job)");
        kit::fetch_keyless(self.api.client(), &url, cap, gone, Some(&ERRORS)).await
    }

    // no cancel endpoint, and nothing to delete: the signed sample URL expires on its own

    fn callback(&self, callback: &Callback) -> Result<Option<String>, ProviderError> {
        if let Some(secret) = &self.webhook_secret {
            let signature =
                callback.header("x-bfl-signature").ok_or_else(|| ProviderError::Auth("the callback carries no X-BFL-Signature".into()))?;
            let given = hex::decode(signature.trim().strip_prefix("sha256=").unwrap_or(signature.trim()))
                .map_err(|_| ProviderError::Auth("the callback's X-BFL-Signature is not hex".into()))?;
            let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).expect("HMAC takes any key length");
            mac.update(&callback.body);
            mac.verify_slice(&given).map_err(|_| ProviderError::Auth("the callback's X-BFL-Signature does not match".into()))?;
        }
        let hook: Hook = serde_json::from_slice(&callback.body)
            .map_err(|e| ProviderError::InvalidInput(format!("the callback body is not the expected JSON: {e}")))?;
        Ok(hook.id.or(hook.task_id).filter(|id| !id.is_empty()))
    }

    async fn test_connection(&self) -> Result<String, ProviderError> {
        let credits: Credits = self.api.get_json("v1/credits").await?;
        Ok(kit::key_works(credits.credits, "BFL"))
    }
}

#[cfg(test)]
mod tests;
