//! FLUX.2 and FLUX.1 image requests: `POST /v1/{model}` bodies with a pixel size or an aspect
//! ratio, and reference images as raw base64 (PROVIDERS.md §7, PROVIDERS-2026.md §4).

use base64::Engine;

use super::super::{ProviderJob, ReferenceFile};
use crate::domain::catalog::ParamValue;
use crate::providers::kit::text_param;

/// The most reference images a FLUX.2 request carries (`input_image` … `input_image_8`).
const FLUX2_REFERENCES: usize = 8;

/// Models that take `width`/`height` rather than `aspect_ratio` (FLUX1.x pro/dev, every FLUX.2).
fn sized(model: &str) -> bool {
    matches!(model, "flux-pro-1.1" | "flux-pro" | "flux-dev") || model.starts_with("flux-2")
}

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

/// The MIME type of an image job's output, from the `output_format` it asked for.
pub(super) fn image_type(format: &str) -> &'static str {
    match format {
        "png" => "image/png",
        "webp" => "image/webp",
        _ => "image/jpeg",
    }
}

/// A file as BFL takes it inline: raw base64, no `data:` prefix.
pub(super) fn base64_of(file: &ReferenceFile) -> String {
    base64::engine::general_purpose::STANDARD.encode(&file.bytes)
}

/// The body of an image job (without the webhook fields, which the caller adds).
pub(super) fn body(job: &ProviderJob) -> serde_json::Value {
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
    if model.starts_with("flux-2") {
        for (n, image) in job.references.iter().take(FLUX2_REFERENCES).enumerate() {
            body[flux2_reference_field(n)] = base64_of(image).into();
        }
    } else if let Some(image) = job.references.first() {
        body[reference_field(model)] = base64_of(image).into();
    }
    // FLUX.2 [flex] sampling steps and guidance
    if let Some(ParamValue::Int(steps)) = job.params.get("steps") {
        body["steps"] = (*steps).into();
    }
    // a choice of decimal texts ("4.5"): the catalog has no fractional numbers
    if let Some(guidance) = text_param(&job.params, "guidance").and_then(|g| g.parse::<f64>().ok()) {
        body["guidance"] = guidance.into();
    }
    body
}
