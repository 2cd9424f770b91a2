//! Runway's models on the Runway API (`runway`). Prices are Runway's list prices (1 Runway
//! credit = 1 US cent): Gen-4 Turbo 5 credits a second, Gen-4.5 12 a second, Gen-4 Image at
//! 1080p 8 credits an image.

use std::time::Duration;

use super::{MediaKind, ModelSpec, ParamKind, ParamSpec, Price, ReferenceRole};

fn duration() -> ParamSpec {
    ParamSpec { name: "duration", label: "Duration (seconds)", kind: ParamKind::Range { min: 2, max: 10, default: 5 } }
}

fn seed() -> ParamSpec {
    ParamSpec { name: "seed", label: "Seed", kind: ParamKind::Seed }
}

pub(super) fn models() -> Vec<ModelSpec> {
    vec![
        ModelSpec {
            description: "Runway Gen-4 Turbo on the Runway API: animates a first frame (required) into a 2-10 s video.",
            references: vec![ReferenceRole::FirstFrame],
            params: vec![
                duration(),
                ParamSpec {
                    name: "ratio",
                    label: "Size",
                    kind: ParamKind::Choice {
                        values: vec!["1280:720", "720:1280", "1104:832", "960:960", "832:1104", "1584:672"],
                        default: "1280:720",
                    },
                },
                seed(),
            ],
            price: Price::PerSecond { credits: 5 },
            deadline: Duration::from_secs(30 * 60),
            max_prompt_chars: 1000,
            upstream: "gen4_turbo",
            ..ModelSpec::new("runway-gen4-turbo", "Runway Gen-4 Turbo", "runway", MediaKind::Video)
        },
        ModelSpec {
            description: "Runway Gen-4.5 on the Runway API: 2-10 s video from text, or from a first frame when one is given.",
            references: vec![ReferenceRole::FirstFrame],
            params: vec![
                duration(),
                ParamSpec {
                    name: "ratio",
                    label: "Size",
                    kind: ParamKind::Choice { values: vec!["1280:720", "720:1280"], default: "1280:720" },
                },
                seed(),
            ],
            price: Price::PerSecond { credits: 12 },
            deadline: Duration::from_secs(30 * 60),
            max_prompt_chars: 1000,
            upstream: "gen4.5",
            ..ModelSpec::new("runway-gen4.5", "Runway Gen-4.5", "runway", MediaKind::Video)
        },
        ModelSpec {
            description: "Runway Gen-4 Image on the Runway API: 1080p images from text and up to 3 reference images (@ref1, @ref2, @ref3 in the prompt).",
            references: vec![ReferenceRole::Reference],
            params: vec![
                ParamSpec {
                    name: "ratio",
                    label: "Size",
                    kind: ParamKind::Choice {
                        values: vec![
                            "1920:1080",
                            "1080:1920",
                            "1024:1024",
                            "1080:1080",
                            "1168:880",
                            "1360:768",
                            "1440:1080",
                            "1080:1440",
                            "1808:768",
                            "2112:912",
                        ],
                        default: "1920:1080",
                    },
                },
                seed(),
            ],
            price: Price::PerImage { credits: 8 },
            deadline: Duration::from_secs(15 * 60),
            max_prompt_chars: 1000,
            upstream: "gen4_image",
            ..ModelSpec::new("runway-gen4-image", "Runway Gen-4 Image", "runway", MediaKind::Image)
        },
    ]
}
