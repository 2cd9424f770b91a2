//! Kling AI's models through the official Kling API (`kling`): video from text or from a first
//! (and last) frame, and images. Prices are Kling's list prices in US cents, rounded up; where a
//! `mode` parameter exists the price is the dearer `pro` mode.

use std::time::Duration;

use super::{MediaKind, ModelSpec, ParamKind, ParamSpec, Price, ReferenceRole};

fn duration() -> ParamSpec {
    ParamSpec { name: "duration", label: "Duration (seconds)", kind: ParamKind::Number { values: vec![5, 10], default: 5 } }
}

/// Used for text-to-video; image-to-video follows the first frame's shape.
fn video_aspect() -> ParamSpec {
    ParamSpec {
        name: "aspect_ratio",
        label: "Aspect ratio",
        kind: ParamKind::Choice { values: vec!["16:9", "9:16", "1:1"], default: "16:9" },
    }
}

fn mode() -> ParamSpec {
    ParamSpec { name: "mode", label: "Mode", kind: ParamKind::Choice { values: vec!["std", "pro"], default: "std" } }
}

pub(super) fn models() -> Vec<ModelSpec> {
    vec![
        ModelSpec {
            description: "Kling 2.1 Master video (text or first frame to video) through the official Kling API.",
            negative_prompt: true,
            references: vec![ReferenceRole::FirstFrame],
            params: vec![duration(), video_aspect()],
            // $1.40 for 5 s
            price: Price::PerSecond { credits: 28 },
            deadline: Duration::from_secs(2 * 3600),
            max_prompt_chars: 2500,
            upstream: "kling-v2-1-master",
            ..ModelSpec::new("kling-v2.1-master", "Kling 2.1 Master", "kling", MediaKind::Video)
        },
        ModelSpec {
            description: "Kling 2.1 video from a first frame (last frame in pro mode), standard or pro, through the official Kling API.",
            negative_prompt: true,
            references: vec![ReferenceRole::FirstFrame, ReferenceRole::LastFrame],
            params: vec![duration(), video_aspect(), mode()],
            // pro: $0.45 for 5 s (std: $0.25)
            price: Price::PerSecond { credits: 9 },
            deadline: Duration::from_secs(2 * 3600),
            max_prompt_chars: 2500,
            upstream: "kling-v2-1",
            ..ModelSpec::new("kling-v2.1", "Kling 2.1", "kling", MediaKind::Video)
        },
        ModelSpec {
            description: "Kling 2.5 Turbo video (text or first frame to video), standard or pro, through the official Kling API.",
            references: vec![ReferenceRole::FirstFrame],
            params: vec![duration(), video_aspect(), mode()],
            // pro: $0.35 for 5 s
            price: Price::PerSecond { credits: 7 },
            deadline: Duration::from_secs(2 * 3600),
            max_prompt_chars: 2500,
            upstream: "kling-v2-5-turbo",
            ..ModelSpec::new("kling-v2.5-turbo", "Kling 2.5 Turbo", "kling", MediaKind::Video)
        },
        ModelSpec {
            description: "Kling's image model (Kolors 2.0), text or reference image to image, through the official Kling API.",
            negative_prompt: true,
            references: vec![ReferenceRole::Reference],
            params: vec![
                ParamSpec {
                    name: "aspect_ratio",
                    label: "Aspect ratio",
                    kind: ParamKind::Choice { values: vec!["1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "21:9"], default: "1:1" },
                },
                ParamSpec { name: "count", label: "Images", kind: ParamKind::Range { min: 1, max: 9, default: 1 } },
            ],
            // $0.014 an image
            price: Price::PerImage { credits: 2 },
            deadline: Duration::from_secs(1800),
            max_prompt_chars: 2500,
            upstream: "kling-v2",
            ..ModelSpec::new("kling-v2-image", "Kling 2 Image", "kling", MediaKind::Image)
        },
    ]
}
