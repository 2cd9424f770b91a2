//! Black Forest Labs' FLUX models through the BFL API (`bfl`): FLUX1.1 [pro] and [pro] Ultra,
//! FLUX.1 Kontext [pro] (edits a reference image) and FLUX.1 [dev].

use std::time::Duration;

use super::{MediaKind, ModelSpec, ParamKind, ParamSpec, Price, ReferenceRole};

/// Ratios sent as `aspect_ratio` (Ultra, Kontext: 21:9 to 9:21).
const WIDE_RATIOS: &[&str] = &["1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "21:9", "9:21"];
/// Ratios the adapter turns into `width`/`height` (FLUX1.1 [pro], [dev]).
const SIZED_RATIOS: &[&str] = &["1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3"];

fn params(ratios: &[&'static str], default_ratio: &'static str) -> Vec<ParamSpec> {
    vec![
        ParamSpec {
            name: "aspect_ratio",
            label: "Aspect ratio",
            kind: ParamKind::Choice { values: ratios.to_vec(), default: default_ratio },
        },
        ParamSpec { name: "output_format", label: "Format", kind: ParamKind::Choice { values: vec!["jpeg", "png"], default: "jpeg" } },
        ParamSpec { name: "seed", label: "Seed", kind: ParamKind::Seed },
    ]
}

fn flux(id: &'static str, label: &'static str, description: &'static str, credits: u64) -> ModelSpec {
    ModelSpec {
        description,
        price: Price::PerImage { credits },
        deadline: Duration::from_secs(900),
        ..ModelSpec::new(id, label, "bfl", MediaKind::Image)
    }
}

pub(super) fn models() -> Vec<ModelSpec> {
    vec![
        ModelSpec {
            params: params(SIZED_RATIOS, "1:1"),
            ..flux("flux-pro-1.1", "FLUX1.1 [pro]", "Black Forest Labs' FLUX1.1 [pro] text-to-image via the BFL API.", 4)
        },
        ModelSpec {
            references: vec![ReferenceRole::Reference],
            params: params(WIDE_RATIOS, "16:9"),
            ..flux(
                "flux-pro-1.1-ultra",
                "FLUX1.1 [pro] Ultra",
                "Black Forest Labs' FLUX1.1 [pro] Ultra (up to 4 MP) via the BFL API; a reference image guides it as an image prompt.",
                6,
            )
        },
        ModelSpec {
            references: vec![ReferenceRole::Reference],
            params: params(WIDE_RATIOS, "1:1"),
            ..flux(
                "flux-kontext-pro",
                "FLUX.1 Kontext [pro]",
                "Black Forest Labs' FLUX.1 Kontext [pro] via the BFL API: edits a reference image by instruction, or generates from text.",
                4,
            )
        },
        ModelSpec {
            params: params(SIZED_RATIOS, "1:1"),
            ..flux("flux-dev", "FLUX.1 [dev]", "Black Forest Labs' FLUX.1 [dev] text-to-image via the BFL API.", 3)
        },
    ]
}
