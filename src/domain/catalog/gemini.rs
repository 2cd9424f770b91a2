//! Google's models on the Gemini API (`gemini`): Veo video through `predictLongRunning` and
//! the Gemini native image models through `generateContent`. Prices are Google's list prices
//! in US cents (Veo per second of video with audio, images per 1K/2K image).

use std::time::Duration;

use super::{MediaKind, ModelSpec, ParamKind, ParamSpec, Price, ReferenceRole};

/// The aspect ratios the Gemini image models take (`imageConfig.aspectRatio`).
const IMAGE_RATIOS: [&str; 10] = ["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"];

fn veo_params(durations: Vec<i64>) -> Vec<ParamSpec> {
    let default = *durations.last().unwrap_or(&8);
    vec![
        ParamSpec { name: "duration", label: "Duration (seconds)", kind: ParamKind::Number { values: durations, default } },
        ParamSpec {
            name: "aspect_ratio",
            label: "Aspect ratio",
            kind: ParamKind::Choice { values: vec!["16:9", "9:16"], default: "16:9" },
        },
        ParamSpec { name: "resolution", label: "Resolution", kind: ParamKind::Choice { values: vec!["720p", "1080p"], default: "720p" } },
    ]
}

fn image_ratio() -> ParamSpec {
    ParamSpec { name: "aspect_ratio", label: "Aspect ratio", kind: ParamKind::Choice { values: IMAGE_RATIOS.to_vec(), default: "1:1" } }
}

pub(super) fn models() -> Vec<ModelSpec> {
    let veo_deadline = Duration::from_secs(30 * 60);
    vec![
        ModelSpec {
            description: "Google Veo 3.1 on the Gemini API: video with sound from text, first/last frames or up to 3 reference images.",
            negative_prompt: true,
            references: vec![ReferenceRole::FirstFrame, ReferenceRole::LastFrame, ReferenceRole::Reference],
            params: veo_params(vec![4, 6, 8]),
            price: Price::PerSecond { credits: 40 },
            deadline: veo_deadline,
            upstream: "veo-3.1-generate-preview",
            ..ModelSpec::new("veo-3.1", "Veo 3.1", "gemini", MediaKind::Video)
        },
        ModelSpec {
            description: "Google Veo 3.1 Fast on the Gemini API: quicker, cheaper Veo 3.1 video with sound from text or frames.",
            negative_prompt: true,
            references: vec![ReferenceRole::FirstFrame, ReferenceRole::LastFrame, ReferenceRole::Reference],
            params: veo_params(vec![4, 6, 8]),
            price: Price::PerSecond { credits: 15 },
            deadline: veo_deadline,
            upstream: "veo-3.1-fast-generate-preview",
            ..ModelSpec::new("veo-3.1-fast", "Veo 3.1 Fast", "gemini", MediaKind::Video)
        },
        ModelSpec {
            description: "Google Veo 3 on the Gemini API: 8-second video with sound from text or a first frame.",
            negative_prompt: true,
            references: vec![ReferenceRole::FirstFrame],
            params: veo_params(vec![8]),
            price: Price::PerSecond { credits: 40 },
            deadline: veo_deadline,
            upstream: "veo-3.0-generate-001",
            ..ModelSpec::new("veo-3", "Veo 3", "gemini", MediaKind::Video)
        },
        ModelSpec {
            description: "Google Gemini 2.5 Flash Image (Nano Banana) on the Gemini API: images from text, edits from reference images.",
            references: vec![ReferenceRole::Reference],
            params: vec![image_ratio()],
            price: Price::PerImage { credits: 4 },
            deadline: Duration::from_secs(10 * 60),
            ..ModelSpec::new("gemini-2.5-flash-image", "Gemini 2.5 Flash Image", "gemini", MediaKind::Image)
        },
        ModelSpec {
            description: "Google Gemini 3 Pro Image (Nano Banana Pro) on the Gemini API: 1K/2K images with legible text, up to 14 reference images.",
            references: vec![ReferenceRole::Reference],
            params: vec![
                image_ratio(),
                ParamSpec { name: "image_size", label: "Size", kind: ParamKind::Choice { values: vec!["1K", "2K"], default: "1K" } },
            ],
            price: Price::PerImage { credits: 14 },
            deadline: Duration::from_secs(10 * 60),
            upstream: "gemini-3-pro-image-preview",
            ..ModelSpec::new("gemini-3-pro-image", "Gemini 3 Pro Image", "gemini", MediaKind::Image)
        },
    ]
}
