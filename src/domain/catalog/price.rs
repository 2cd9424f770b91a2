//! A model's price rule: credits per image, per second of video or per generation, with
//! rates that depend on parameters (resolution, audio, mode) and a minimum charge.
//! One credit is one US cent.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{ParamValue, Params};

/// What one credit figure of a price buys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PriceUnit {
    /// Each output image (`count` parameter, default 1).
    #[serde(rename = "per_image")]
    Image,
    /// Each second of video (`duration` parameter).
    #[serde(rename = "per_second")]
    Second,
    /// Each generation, whatever its parameters.
    #[serde(rename = "per_generation")]
    Generation,
}

impl PriceUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            PriceUnit::Image => "per_image",
            PriceUnit::Second => "per_second",
            PriceUnit::Generation => "per_generation",
        }
    }

    /// In words, after a figure ("per second of video").
    pub fn words(self) -> &'static str {
        match self {
            PriceUnit::Image => "per image",
            PriceUnit::Second => "per second of video",
            PriceUnit::Generation => "per generation",
        }
    }
}

/// A rate that applies when every parameter named in `when` has the given value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceRule {
    pub when: BTreeMap<String, String>,
    pub credits: u64,
}

impl PriceRule {
    fn matches(&self, params: &Params) -> bool {
        self.when.iter().all(|(name, wanted)| params.get(name).is_some_and(|v| value_text(v) == *wanted))
    }
}

fn value_text(value: &ParamValue) -> String {
    value.to_string()
}

/// How a model's price in credits is computed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// `per_image`, `per_second` or `per_generation`.
    #[serde(rename = "type")]
    pub per: PriceUnit,
    /// The rate when no rule matches.
    pub credits: u64,
    /// Rates for particular parameter values; the first that matches wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<PriceRule>,
    /// The least a generation costs.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub minimum: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Price {
    /// A flat rate.
    pub fn flat(per: PriceUnit, credits: u64) -> Price {
        Price { per, credits, rules: Vec::new(), minimum: 0 }
    }

    /// The same unit at one flat figure (an admin's price override).
    pub fn with_credits(&self, credits: u64) -> Price {
        Price::flat(self.per, credits)
    }

    /// The rate that applies to `params`.
    pub fn rate(&self, params: &Params) -> u64 {
        self.rules.iter().find(|r| r.matches(params)).map_or(self.credits, |r| r.credits)
    }

    /// The credits one generation with these (resolved) parameters costs.
    pub fn of(&self, params: &Params) -> u64 {
        let units = |name: &str| match params.get(name) {
            Some(ParamValue::Int(n)) => u64::try_from(*n).unwrap_or(0).max(1),
            _ => 1,
        };
        let count = match self.per {
            PriceUnit::Image => units("count"),
            PriceUnit::Second => units("duration"),
            PriceUnit::Generation => 1,
        };
        self.rate(params).saturating_mul(count).max(self.minimum)
    }

    /// The lowest and highest rate.
    pub fn range(&self) -> (u64, u64) {
        let rates = std::iter::once(self.credits).chain(self.rules.iter().map(|r| r.credits));
        let (lo, hi) = rates.fold((u64::MAX, 0), |(lo, hi), c| (lo.min(c), hi.max(c)));
        (lo, hi)
    }

    /// The parameters the rate depends on.
    pub fn depends_on(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.rules.iter().flat_map(|r| r.when.keys().map(String::as_str)).collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (lo, hi) = self.range();
        let plural = if hi == 1 { "" } else { "s" };
        if lo == hi {
            write!(f, "{lo} credit{plural} {}", self.per.words())?;
        } else {
            write!(f, "{lo}–{hi} credits {} by {}", self.per.words(), self.depends_on().join(", "))?;
        }
        if self.minimum > 0 {
            write!(f, ", at least {}", self.minimum)?;
        }
        Ok(())
    }
}
