//! Models served by a self-hosted ComfyUI (`comfyui`): what they make is the connection's
//! workflow (`workflow_file`), so an image and a video workflow are two connections, each
//! listing its model. Nominal prices (no provider list price); admins pick the workflow.

use std::time::Duration;

use super::{MediaKind, ModelSpec, ParamKind, ParamSpec, Price, ReferenceRole};

fn size(default_width: i64, default_height: i64, max: i64) -> Vec<ParamSpec> {
    vec![
        ParamSpec { name: "width", label: "Width (pixels)", kind: ParamKind::Range { min: 256, max, default: default_width } },
        ParamSpec { name: "height", label: "Height (pixels)", kind: ParamKind::Range { min: 256, max, default: default_height } },
        ParamSpec { name: "seed", label: "Seed", kind: ParamKind::Seed },
    ]
}

pub(super) fn models() -> Vec<ModelSpec> {
    vec![
        ModelSpec {
            description: "Your own ComfyUI server running the connection's image workflow (placeholders for prompt, size, seed and an optional image).",
            negative_prompt: true,
            references: vec![ReferenceRole::Reference],
            params: size(1024, 1024, 2048),
            price: Price::PerImage { credits: 1 },
            deadline: Duration::from_secs(30 * 60),
            ..ModelSpec::new("comfyui-image", "ComfyUI image workflow", "comfyui", MediaKind::Image)
        },
        ModelSpec {
            description: "Your own ComfyUI server running the connection's video workflow (placeholders for prompt, size, seed and a first frame).",
            negative_prompt: true,
            references: vec![ReferenceRole::FirstFrame],
            params: size(832, 480, 1920),
            // one credit a job: the workflow, not a parameter, decides the length
            price: Price::PerSecond { credits: 1 },
            deadline: Duration::from_secs(2 * 3600),
            ..ModelSpec::new("comfyui-video", "ComfyUI video workflow", "comfyui", MediaKind::Video)
        },
    ]
}
