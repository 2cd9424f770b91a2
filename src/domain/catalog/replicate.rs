//! Models hosted on Replicate, through its predictions API (`replicate`).

use std::time::Duration;

use super::{MediaKind, ModelSpec, ParamKind, ParamSpec, Price, ReferenceRole};

pub(super) fn models() -> Vec<ModelSpec> {
    vec![
        ModelSpec {
            description: "FLUX.1 [schnell] by Black Forest Labs, run on Replicate: fast text-to-image in 1-4 steps.",
            params: vec![
                ParamSpec {
                    name: "aspect_ratio",
                    label: "Aspect ratio",
                    kind: ParamKind::Choice {
                        values: vec!["1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21"],
                        default: "1:1",
                    },
                },
                ParamSpec { name: "count", label: "Images", kind: ParamKind::Range { min: 1, max: 4, default: 1 } },
                ParamSpec { name: "seed", label: "Seed", kind: ParamKind::Seed },
            ],
            // $0.003 an image
            price: Price::PerImage { credits: 1 },
            deadline: Duration::from_secs(10 * 60),
            upstream: "black-forest-labs/flux-schnell",
            ..ModelSpec::new("replicate-flux-schnell", "FLUX.1 schnell (Replicate)", "replicate", MediaKind::Image)
        },
        ModelSpec {
            description: "Seedance 1.0 Pro by ByteDance, run on Replicate: 1080p text- or image-to-video with an optional last frame.",
            references: vec![ReferenceRole::FirstFrame, ReferenceRole::LastFrame],
            params: vec![
                ParamSpec { name: "duration", label: "Duration (seconds)", kind: ParamKind::Range { min: 2, max: 12, default: 5 } },
                ParamSpec {
                    name: "aspect_ratio",
                    label: "Aspect ratio",
                    kind: ParamKind::Choice { values: vec!["16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "9:21"], default: "16:9" },
                },
                ParamSpec { name: "seed", label: "Seed", kind: ParamKind::Seed },
            ],
            // $0.15 a second at 1080p (the model's default resolution)
            price: Price::PerSecond { credits: 15 },
            deadline: Duration::from_secs(30 * 60),
            upstream: "bytedance/seedance-1-pro",
            ..ModelSpec::new("replicate-seedance-1-pro", "Seedance 1.0 Pro (Replicate)", "replicate", MediaKind::Video)
        },
    ]
}
