//! The offline demo models (the `demo` connection kind): no network, no API key.

use std::time::Duration;

use super::{MediaKind, ModelSpec, ParamKind, ParamSpec, Price, ReferenceRole};

pub(super) fn models() -> Vec<ModelSpec> {
    vec![
        ModelSpec {
            description: "Offline demo: draws a PNG from your prompt and seed, no network and no API key.",
            negative_prompt: true,
            references: vec![ReferenceRole::Reference],
            params: vec![
                ParamSpec {
                    name: "aspect_ratio",
                    label: "Aspect ratio",
                    kind: ParamKind::Choice { values: vec!["1:1", "16:9", "9:16"], default: "1:1" },
                },
                ParamSpec { name: "count", label: "Images", kind: ParamKind::Range { min: 1, max: 4, default: 1 } },
                ParamSpec { name: "seed", label: "Seed", kind: ParamKind::Seed },
            ],
            price: Price::PerImage { credits: 1 },
            deadline: Duration::from_secs(300),
            max_output_bytes: 20 * 1024 * 1024,
            demo: true,
            ..ModelSpec::new("demo-image", "Demo image", "demo", MediaKind::Image)
        },
        ModelSpec {
            description: "Offline demo: renders a playable H.264 MP4 from your prompt and seed, no network and no API key.",
            negative_prompt: true,
            references: vec![ReferenceRole::FirstFrame, ReferenceRole::LastFrame],
            params: vec![
                ParamSpec { name: "duration", label: "Duration (seconds)", kind: ParamKind::Number { values: vec![2, 3, 5], default: 3 } },
                ParamSpec {
                    name: "aspect_ratio",
                    label: "Aspect ratio",
                    kind: ParamKind::Choice { values: vec!["16:9", "9:16", "1:1"], default: "16:9" },
                },
                ParamSpec { name: "seed", label: "Seed", kind: ParamKind::Seed },
            ],
            price: Price::PerSecond { credits: 2 },
            deadline: Duration::from_secs(600),
            max_output_bytes: 200 * 1024 * 1024,
            demo: true,
            ..ModelSpec::new("demo-video", "Demo video", "demo", MediaKind::Video)
        },
    ]
}
