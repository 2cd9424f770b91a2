//! Luma's Dream Machine API (`luma`): Ray 2 video and Photon images. Its reference images must
//! be public URLs, which this appliance does not publish, so these models take no references.
//! Prices are Luma's list prices in US cents, rounded up (Ray at 720p, the dearest allowed).

use std::time::Duration;

use super::{MediaKind, ModelSpec, ParamKind, ParamSpec, Price};

fn aspect(default: &'static str) -> ParamSpec {
    ParamSpec {
        name: "aspect_ratio",
        label: "Aspect ratio",
        kind: ParamKind::Choice { values: vec!["16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "9:21"], default },
    }
}

fn video_params() -> Vec<ParamSpec> {
    vec![
        ParamSpec { name: "duration", label: "Duration (seconds)", kind: ParamKind::Number { values: vec![5, 9], default: 5 } },
        aspect("16:9"),
        ParamSpec { name: "resolution", label: "Resolution", kind: ParamKind::Choice { values: vec!["540p", "720p"], default: "720p" } },
    ]
}

pub(super) fn models() -> Vec<ModelSpec> {
    vec![
        ModelSpec {
            description: "Luma Ray 2 text-to-video through Luma's Dream Machine API.",
            params: video_params(),
            // $0.71 for 5 s at 720p
            price: Price::PerSecond { credits: 15 },
            deadline: Duration::from_secs(3600),
            upstream: "ray-2",
            ..ModelSpec::new("luma-ray-2", "Luma Ray 2", "luma", MediaKind::Video)
        },
        ModelSpec {
            description: "Luma Ray Flash 2 (faster, cheaper Ray 2) text-to-video through Luma's Dream Machine API.",
            params: video_params(),
            // $0.24 for 5 s at 720p
            price: Price::PerSecond { credits: 5 },
            deadline: Duration::from_secs(3600),
            upstream: "ray-flash-2",
            ..ModelSpec::new("luma-ray-flash-2", "Luma Ray Flash 2", "luma", MediaKind::Video)
        },
        ModelSpec {
            description: "Luma Photon 1 text-to-image through Luma's Dream Machine API.",
            params: vec![aspect("1:1")],
            // $0.015 a 1080p image
            price: Price::PerImage { credits: 2 },
            deadline: Duration::from_secs(1800),
            upstream: "photon-1",
            ..ModelSpec::new("luma-photon-1", "Luma Photon 1", "luma", MediaKind::Image)
        },
    ]
}
