//! What a model does with one of the person's earlier outputs (extend, edit, enhance), so the
//! generation page can offer it on that output.

use serde::{Deserialize, Serialize};

/// A model that works on an earlier output: its `source_video` input is one of the person's
/// own succeeded generations, and the new generation links back to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Continues the source video (the output is the source plus the new part, or the new part).
    Extend,
    /// Changes the source video as the prompt says.
    Edit,
    /// Renders an approved draft again at full quality (the prompt is the draft's).
    Enhance,
}

impl Operation {
    pub const ALL: [Operation; 3] = [Operation::Extend, Operation::Edit, Operation::Enhance];

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Extend => "extend",
            Operation::Edit => "edit",
            Operation::Enhance => "enhance",
        }
    }

    /// The button's text on the generation page.
    pub fn label(self) -> &'static str {
        match self {
            Operation::Extend => "Extend",
            Operation::Edit => "Edit",
            Operation::Enhance => "Enhance",
        }
    }
}
