//! Luma's models through the Luma Agents API (`luma_agents`, 2026): Uni-1 images and Ray 3.2
//! video, with references sent inline. Prices are Luma's pay-as-you-go prices in US cents,
//! rounded up (Uni-1 with its one reference image; Ray 3.2 at 720p, the dearest allowed).

use std::time::Duration;

use super::{MediaKind, ModelSpec, ParamKind, ParamSpec, Price, ReferenceRole};

fn image_aspect() -> ParamSpec {
    ParamSpec {
        name: "aspect_ratio",
        label: "Aspect ratio",
        kind: ParamKind::Choice {
            values: vec!["1:1", "3:1", "2:1", "21:9", "16:9", "4:3", "3:2", "3:4", "2:3", "9:16", "1:2", "1:3"],
            default: "1:1",
        },
    }
}

pub(super) fn models() -> Vec<ModelSpec> {
    vec![
        ModelSpec {
            description: "Luma Uni-1 image generation (2K, optional style reference) through the Luma Agents API.",
            references: vec![ReferenceRole::Reference],
            params: vec![image_aspect()],
            // $0.0404, $0.0434 with a reference image
            price: Price::PerImage { credits: 5 },
            deadline: Duration::from_secs(1800),
            upstream: "uni-1",
            ..ModelSpec::new("luma-uni-1", "Luma Uni-1", "luma_agents", MediaKind::Image)
        },
        ModelSpec {
            description: "Luma Uni-1 Max (higher-quality Uni-1) image generation through the Luma Agents API.",
            references: vec![ReferenceRole::Reference],
            params: vec![image_aspect()],
            // $0.1000, $0.1030 with a reference image
            price: Price::PerImage { credits: 11 },
            deadline: Duration::from_secs(1800),
            upstream: "uni-1-max",
            ..ModelSpec::new("luma-uni-1-max", "Luma Uni-1 Max", "luma_agents", MediaKind::Image)
        },
        ModelSpec {
            description: "Luma Ray 3.2 video (text, or first and last frame, to video) through the Luma Agents API.",
            references: vec![ReferenceRole::FirstFrame, ReferenceRole::LastFrame],
            params: vec![
                // 10 s is text-to-video only (Luma refuses frames with it)
                ParamSpec { name: "duration", label: "Duration (seconds)", kind: ParamKind::Number { values: vec![5, 10], default: 5 } },
                ParamSpec {
                    name: "aspect_ratio",
                    label: "Aspect ratio",
                    kind: ParamKind::Choice { values: vec!["16:9", "9:16", "1:1", "4:3", "3:4", "21:9"], default: "16:9" },
                },
                ParamSpec {
                    name: "resolution",
                    label: "Resolution",
                    kind: ParamKind::Choice { values: vec!["540p", "720p"], default: "720p" },
                },
            ],
            // $0.30 for 5 s at 720p (a reseller's list; UNCONFIRMED on Luma's own page)
            price: Price::PerSecond { credits: 6 },
            deadline: Duration::from_secs(3600),
            upstream: "ray-3.2",
            ..ModelSpec::new("luma-ray-3.2", "Luma Ray 3.2", "luma_agents", MediaKind::Video)
        },
    ]
}
