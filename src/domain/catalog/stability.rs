//! Stability AI's Stable Image models through the v2beta REST API (`stability`): Ultra and
//! SD 3.5 Large (text-to-image, or image-to-image from a reference) and Core (text-to-image).

use std::time::Duration;

use super::{MediaKind, ModelSpec, ParamKind, ParamSpec, Price, ReferenceRole};

const ASPECT_RATIOS: &[&str] = &["1:1", "16:9", "9:16", "3:2", "2:3", "5:4", "4:5", "21:9", "9:21"];

fn aspect_ratio() -> ParamSpec {
    ParamSpec {
        name: "aspect_ratio",
        label: "Aspect ratio (text-to-image)",
        kind: ParamKind::Choice { values: ASPECT_RATIOS.to_vec(), default: "1:1" },
    }
}

fn output_format(values: Vec<&'static str>) -> ParamSpec {
    ParamSpec { name: "output_format", label: "Format", kind: ParamKind::Choice { values, default: "png" } }
}

fn seed() -> ParamSpec {
    ParamSpec { name: "seed", label: "Seed", kind: ParamKind::Seed }
}

/// How far the output may move away from the reference image (Stability's `strength`, 0–1, in percent).
fn strength() -> ParamSpec {
    ParamSpec { name: "strength", label: "Change from the reference (%)", kind: ParamKind::Range { min: 1, max: 100, default: 50 } }
}

fn stability(id: &'static str, label: &'static str) -> ModelSpec {
    ModelSpec {
        negative_prompt: true,
        deadline: Duration::from_secs(600),
        max_prompt_chars: 10_000,
        ..ModelSpec::new(id, label, "stability", MediaKind::Image)
    }
}

pub(super) fn models() -> Vec<ModelSpec> {
    vec![
        ModelSpec {
            description: "Stability AI's top Stable Image model (v2beta API); a reference image makes it image-to-image.",
            references: vec![ReferenceRole::Reference],
            params: vec![aspect_ratio(), output_format(vec!["png", "jpeg", "webp"]), seed(), strength()],
            price: Price::PerImage { credits: 8 },
            ..stability("stable-image-ultra", "Stable Image Ultra")
        },
        ModelSpec {
            description: "Stability AI's fast, low-cost Stable Image Core (v2beta API), text-to-image with style presets.",
            params: vec![
                aspect_ratio(),
                ParamSpec {
                    name: "style_preset",
                    label: "Style",
                    kind: ParamKind::Choice {
                        values: vec![
                            "none",
                            "3d-model",
                            "analog-film",
                            "anime",
                            "cinematic",
                            "comic-book",
                            "digital-art",
                            "enhance",
                            "fantasy-art",
                            "isometric",
                            "line-art",
                            "low-poly",
                            "modeling-compound",
                            "neon-punk",
                            "origami",
                            "photographic",
                            "pixel-art",
                            "tile-texture",
                        ],
                        default: "none",
                    },
                },
                output_format(vec!["png", "jpeg", "webp"]),
                seed(),
            ],
            price: Price::PerImage { credits: 3 },
            ..stability("stable-image-core", "Stable Image Core")
        },
        ModelSpec {
            description: "Stability AI's Stable Diffusion 3.5 Large (v2beta API); a reference image makes it image-to-image.",
            references: vec![ReferenceRole::Reference],
            params: vec![aspect_ratio(), output_format(vec!["png", "jpeg"]), seed(), strength()],
            price: Price::PerImage { credits: 7 },
            ..stability("sd3.5-large", "Stable Diffusion 3.5 Large")
        },
    ]
}
