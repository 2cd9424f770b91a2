//! OpenAI's GPT Image models through the Images API (`openai_images`): text-to-image, and
//! image edits when a reference image is given. Prices are the list price of the most
//! expensive choice the parameters allow (high quality, 1536-pixel side), since the price
//! cannot follow the quality parameter.

use std::time::Duration;

use super::{MediaKind, ModelSpec, ParamKind, ParamSpec, Price, ReferenceRole};

fn params() -> Vec<ParamSpec> {
    vec![
        ParamSpec {
            name: "size",
            label: "Size",
            kind: ParamKind::Choice { values: vec!["1024x1024", "1536x1024", "1024x1536", "auto"], default: "1024x1024" },
        },
        ParamSpec {
            name: "quality",
            label: "Quality",
            kind: ParamKind::Choice { values: vec!["auto", "low", "medium", "high"], default: "auto" },
        },
        ParamSpec {
            name: "background",
            label: "Background",
            kind: ParamKind::Choice { values: vec!["auto", "opaque", "transparent"], default: "auto" },
        },
        ParamSpec {
            name: "output_format",
            label: "Format",
            kind: ParamKind::Choice { values: vec!["png", "jpeg", "webp"], default: "png" },
        },
        ParamSpec { name: "count", label: "Images", kind: ParamKind::Range { min: 1, max: 4, default: 1 } },
    ]
}

fn gpt_image(id: &'static str, label: &'static str, description: &'static str, credits: u64) -> ModelSpec {
    ModelSpec {
        description,
        references: vec![ReferenceRole::Reference],
        params: params(),
        price: Price::PerImage { credits },
        deadline: Duration::from_secs(900),
        max_prompt_chars: 32_000,
        ..ModelSpec::new(id, label, "openai_images", MediaKind::Image)
    }
}

pub(super) fn models() -> Vec<ModelSpec> {
    vec![
        gpt_image("gpt-image-1.5", "GPT Image 1.5", "OpenAI's GPT Image 1.5 via the Images API; a reference image makes it an edit.", 20),
        gpt_image("gpt-image-1", "GPT Image 1", "OpenAI's GPT Image 1 via the Images API; a reference image makes it an edit.", 25),
        gpt_image(
            "gpt-image-1-mini",
            "GPT Image 1 mini",
            "OpenAI's low-cost GPT Image 1 mini via the Images API; a reference image makes it an edit.",
            6,
        ),
    ]
}
