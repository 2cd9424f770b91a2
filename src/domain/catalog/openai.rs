//! OpenAI's models: Sora through the OpenAI-compatible Videos API (`openai_videos`).

use std::time::Duration;

use super::{MediaKind, ModelSpec, ParamKind, ParamSpec, Price, ReferenceRole};

pub(super) fn models() -> Vec<ModelSpec> {
    vec![ModelSpec {
        description: "OpenAI-compatible /v1/videos (OpenAI, Azure OpenAI or a gateway, by the connection's base URL).",
        references: vec![ReferenceRole::FirstFrame],
        params: vec![
            ParamSpec { name: "duration", label: "Duration (seconds)", kind: ParamKind::Number { values: vec![4, 8, 12], default: 4 } },
            ParamSpec {
                name: "size",
                label: "Size",
                kind: ParamKind::Choice { values: vec!["720x1280", "1280x720"], default: "1280x720" },
            },
        ],
        price: Price::PerSecond { credits: 10 },
        deadline: Duration::from_secs(3600),
        ..ModelSpec::new("sora-2", "Sora 2", "openai_videos", MediaKind::Video)
    }]
}
