//! MiniMax's Hailuo video models through the MiniMax API (`minimax`). Prices are MiniMax's list
//! prices in US cents per second at the dearest allowed resolution (1080P, 6 s: $0.49), rounded up.

use std::time::Duration;

use super::{MediaKind, ModelSpec, ParamKind, ParamSpec, Price, ReferenceRole};

/// 1080P is 6 s only; MiniMax refuses 1080P for 10 s (an invalid-input failure).
fn params() -> Vec<ParamSpec> {
    vec![
        ParamSpec { name: "duration", label: "Duration (seconds)", kind: ParamKind::Number { values: vec![6, 10], default: 6 } },
        ParamSpec { name: "resolution", label: "Resolution", kind: ParamKind::Choice { values: vec!["768P", "1080P"], default: "768P" } },
    ]
}

pub(super) fn models() -> Vec<ModelSpec> {
    vec![
        ModelSpec {
            description: "MiniMax Hailuo 02 video (text, first frame, or first and last frame to video) through the MiniMax API.",
            references: vec![ReferenceRole::FirstFrame, ReferenceRole::LastFrame],
            params: params(),
            price: Price::PerSecond { credits: 9 },
            deadline: Duration::from_secs(2 * 3600),
            max_prompt_chars: 2000,
            upstream: "MiniMax-Hailuo-02",
            ..ModelSpec::new("hailuo-02", "Hailuo 02", "minimax", MediaKind::Video)
        },
        ModelSpec {
            description: "MiniMax Hailuo 2.3 video (text or first frame to video) through the MiniMax API.",
            references: vec![ReferenceRole::FirstFrame],
            params: params(),
            price: Price::PerSecond { credits: 9 },
            deadline: Duration::from_secs(2 * 3600),
            max_prompt_chars: 2000,
            upstream: "MiniMax-Hailuo-2.3",
            ..ModelSpec::new("hailuo-2.3", "Hailuo 2.3", "minimax", MediaKind::Video)
        },
    ]
}
