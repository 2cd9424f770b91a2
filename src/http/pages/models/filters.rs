//! The Models page's filters (kind, provider, sound, price range, lifecycle), read from the
//! query string of its GET form.

use serde::Deserialize;

use crate::domain::catalog::{CatalogDate, MediaKind, Sound, Status};
use crate::error::AppError;
use crate::services::studio::models::Offer;

/// The form's fields as given (an empty field filters nothing).
#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub sound: String,
    #[serde(default)]
    pub min: String,
    #[serde(default)]
    pub max: String,
    #[serde(default)]
    pub lifecycle: String,
}

/// Where a model is in its life, as the filter groups it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Preview or generally available.
    Current,
    Deprecated,
    Retired,
}

impl Stage {
    fn of(status: Status) -> Stage {
        match status {
            Status::Preview | Status::Ga => Stage::Current,
            Status::Deprecated => Stage::Deprecated,
            Status::Retired => Stage::Retired,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Current => "current",
            Stage::Deprecated => "deprecated",
            Stage::Retired => "retired",
        }
    }
}

/// The filters in force.
#[derive(Debug, Default)]
pub struct Filters {
    pub kind: Option<MediaKind>,
    /// A provider (connection kind, e.g. `openai_videos`).
    pub provider: Option<String>,
    /// Only models whose outputs can have sound (`true`) or never do (`false`).
    pub sound: Option<bool>,
    /// The base rate in credits, at least and at most.
    pub min: Option<u64>,
    pub max: Option<u64>,
    pub stage: Option<Stage>,
}

fn kind(text: &str) -> Result<Option<MediaKind>, AppError> {
    match text.trim() {
        "" => Ok(None),
        "image" => Ok(Some(MediaKind::Image)),
        "video" => Ok(Some(MediaKind::Video)),
        other => Err(AppError::bad_parameter("kind", format!("There is no model kind {other:?}; use image or video."))),
    }
}

fn sound(text: &str) -> Result<Option<bool>, AppError> {
    match text.trim() {
        "" => Ok(None),
        "true" => Ok(Some(true)),
        "false" => Ok(Some(false)),
        other => Err(AppError::bad_parameter("sound", format!("sound must be true or false, not {other:?}."))),
    }
}

fn credits(name: &str, text: &str) -> Result<Option<u64>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| AppError::bad_parameter(name, format!("{name} must be a whole number of credits (0 or more), not {text:?}.")))
}

fn stage(text: &str) -> Result<Option<Stage>, AppError> {
    match text.trim() {
        "" => Ok(None),
        "current" => Ok(Some(Stage::Current)),
        "deprecated" => Ok(Some(Stage::Deprecated)),
        "retired" => Ok(Some(Stage::Retired)),
        other => Err(AppError::bad_parameter("lifecycle", format!("lifecycle must be current, deprecated or retired, not {other:?}."))),
    }
}

impl Filters {
    /// The filters of `query`; a value that is none of a field's choices is a 400 naming them.
    pub fn parse(query: &ListQuery) -> Result<Filters, AppError> {
        let filters = Filters {
            kind: kind(&query.kind)?,
            provider: Some(query.provider.trim().to_string()).filter(|p| !p.is_empty()),
            sound: sound(&query.sound)?,
            min: credits("min", &query.min)?,
            max: credits("max", &query.max)?,
            stage: stage(&query.lifecycle)?,
        };
        if let (Some(min), Some(max)) = (filters.min, filters.max)
            && min > max
        {
            return Err(AppError::bad_parameter("min", format!("The lowest price ({min}) is above the highest ({max}).")));
        }
        Ok(filters)
    }

    /// Whether `offer` passes every filter, as of `today`.
    pub fn keeps(&self, offer: &Offer, today: CatalogDate) -> bool {
        let spec = &offer.spec;
        let credits = offer.price.credits;
        self.kind.is_none_or(|k| spec.kind == k)
            && self.provider.as_deref().is_none_or(|p| spec.provider == p)
            && self.sound.is_none_or(|wanted| (spec.sound != Sound::None) == wanted)
            && self.min.is_none_or(|min| credits >= min)
            && self.max.is_none_or(|max| credits <= max)
            && self.stage.is_none_or(|s| Stage::of(spec.lifecycle.status_on(today)) == s)
    }
}

/// The stage of a model on `today` (its card's lifecycle badge).
pub fn stage_of(offer: &Offer, today: CatalogDate) -> Stage {
    Stage::of(offer.spec.lifecycle.status_on(today))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(kind: &str, min: &str, max: &str, lifecycle: &str) -> ListQuery {
        ListQuery { kind: kind.into(), min: min.into(), max: max.into(), lifecycle: lifecycle.into(), ..ListQuery::default() }
    }

    #[test]
    fn filters_read_the_form_and_refuse_what_is_none_of_the_choices() {
        let f = Filters::parse(&query("video", " 2", "4", "deprecated")).unwrap();
        assert_eq!((f.kind, f.min, f.max, f.stage), (Some(MediaKind::Video), Some(2), Some(4), Some(Stage::Deprecated)));
        assert!(Filters::parse(&ListQuery::default()).unwrap().kind.is_none());
        for bad in [query("sound", "", "", ""), query("", "-1", "", ""), query("", "5", "1", ""), query("", "", "", "old")] {
            assert_eq!(Filters::parse(&bad).unwrap_err().status.as_u16(), 400);
        }
        assert_eq!(Stage::of(Status::Preview), Stage::Current);
        assert_eq!(Stage::of(Status::Retired).as_str(), "retired");
    }
}
