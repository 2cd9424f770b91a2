//! Models people ask for that this appliance deliberately does not serve, listed with the
//! reason so a user who looks for them learns why.

use super::{MediaKind, ModelSpec};

/// Midjourney has no official API, and its terms of service forbid automated access.
const MIDJOURNEY: &str = "Midjourney offers no official API and its terms of service forbid automated access, \
    so reelvault does not integrate an unofficial one. Use Midjourney on its own website.";

pub(super) fn models() -> Vec<ModelSpec> {
    vec![ModelSpec {
        description: "Midjourney's image model (not available: see why).",
        unavailable: Some(MIDJOURNEY),
        ..ModelSpec::new("midjourney", "Midjourney", "midjourney", MediaKind::Image)
    }]
}
