//! Models hosted on fal.ai, through its queue API (`fal`).

use std::time::Duration;

use super::{MediaKind, ModelSpec, ParamKind, ParamSpec, Price, ReferenceRole};

pub(super) fn models() -> Vec<ModelSpec> {
    vec![
        ModelSpec {
            description: "FLUX1.1 [pro] ultra by Black Forest Labs, run on fal.ai: up to 4-megapixel images, with an optional image prompt.",
            references: vec![ReferenceRole::Reference],
            params: vec![
                ParamSpec {
                    name: "aspect_ratio",
                    label: "Aspect ratio",
                    kind: ParamKind::Choice {
                        values: vec!["21:9", "16:9", "4:3", "3:2", "1:1", "2:3", "3:4", "9:16", "9:21"],
                        default: "16:9",
                    },
                },
                ParamSpec { name: "count", label: "Images", kind: ParamKind::Range { min: 1, max: 4, default: 1 } },
                ParamSpec { name: "seed", label: "Seed", kind: ParamKind::Seed },
            ],
            // $0.06 an image
            price: Price::PerImage { credits: 6 },
            deadline: Duration::from_secs(15 * 60),
            upstream: "fal-ai/flux-pro/v1.1-ultra",
            ..ModelSpec::new("fal-flux-pro-1.1-ultra", "FLUX1.1 pro ultra (fal)", "fal", MediaKind::Image)
        },
        ModelSpec {
            description: "Kling 2.1 Master by Kuaishou, run on fal.ai: text-to-video, or image-to-video from a first frame.",
            negative_prompt: true,
            references: vec![ReferenceRole::FirstFrame],
            params: vec![
                ParamSpec { name: "duration", label: "Duration (seconds)", kind: ParamKind::Number { values: vec![5, 10], default: 5 } },
                ParamSpec {
                    name: "aspect_ratio",
                    label: "Aspect ratio",
                    kind: ParamKind::Choice { values: vec!["16:9", "9:16", "1:1"], default: "16:9" },
                },
            ],
            // $1.40 for 5 s, $0.28 each further second
            price: Price::PerSecond { credits: 28 },
            deadline: Duration::from_secs(45 * 60),
            upstream: "fal-ai/kling-video/v2.1/master/text-to-video",
            ..ModelSpec::new("fal-kling-v2.1-master", "Kling 2.1 Master (fal)", "fal", MediaKind::Video)
        },
    ]
}
