//! The catalog in force: the shipped models, then each layer of changes over them (what
//! connections' APIs list, an imported catalog, config's `[[model]]` entries, an admin's
//! edits), checked as a whole.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde::Deserialize;

use super::entry::{FieldError, ModelEntry, valid_id};
use super::{CatalogDate, ModelSpec, Status};

/// Where a catalog entry comes from, lowest first: a later layer changes an earlier one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// The files inside the binary.
    Shipped,
    /// What connections' APIs say they serve (capability discovery, refreshed daily and on
    /// demand); the layers above still override it.
    Discovered,
    /// A catalog file installed with `reelvault catalog import`.
    Imported,
    /// `[[model]]` entries in config.toml.
    Config,
    /// Changes made on the Models admin page or `/api/v1/admin/models`.
    Edited,
}

impl Layer {
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Shipped => "shipped",
            Layer::Discovered => "discovered",
            Layer::Imported => "imported",
            Layer::Config => "config",
            Layer::Edited => "edited",
        }
    }
}

/// An entry and where it was written.
#[derive(Debug, Clone)]
pub struct Located {
    pub entry: ModelEntry,
    /// The file or place it came from ("catalog/06-kling.toml", "config.toml", "admin edit").
    pub source: String,
    pub line: Option<usize>,
}

impl Located {
    /// An entry written somewhere without lines (an admin's edit, a stored import).
    pub fn new(entry: ModelEntry, source: &str) -> Located {
        Located { entry, source: source.to_string(), line: None }
    }
}

/// Why a catalog (or one entry of it) was refused: where, which model and field, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CatalogError {
    pub origin: String,
    pub line: Option<usize>,
    pub model: Option<String>,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(model) = &self.model {
            write!(f, ", model {model:?}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ", field {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl CatalogError {
    fn at(located: &Located, field: Option<String>, message: String) -> CatalogError {
        CatalogError { origin: located.source.clone(), line: located.line, model: Some(located.entry.id.clone()), field, message }
    }
}

/// A catalog file as read, each entry with its place.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpannedFile {
    #[serde(default)]
    model: Vec<toml::Spanned<ModelEntry>>,
}

/// The models in force, in catalog order; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    models: Vec<Arc<ModelSpec>>,
    index: HashMap<String, usize>,
    layers: HashMap<String, Layer>,
}

impl Catalog {
    /// The catalog shipped in the binary.
    pub fn shipped() -> Catalog {
        super::shipped::catalog()
    }

    /// Reads a catalog file (TOML: `[[model]]` entries), with the line of each entry.
    pub fn parse(source: &str, text: &str) -> Result<Vec<Located>, CatalogError> {
        let file: SpannedFile = toml::from_str(text).map_err(|e| CatalogError {
            origin: source.to_string(),
            line: e.span().map(|s| line_of(text, s.start)),
            model: None,
            field: None,
            message: e.message().trim().to_string(),
        })?;
        Ok(file
            .model
            .into_iter()
            .map(|spanned| {
                let line = Some(line_of(text, spanned.span().start));
                Located { entry: spanned.into_inner(), source: source.to_string(), line }
            })
            .collect())
    }

    /// This catalog with `entries` applied over it as `layer`: an entry for a model that
    /// exists changes it; a new one stands alone or starts `like` another. The result is
    /// checked whole (unique ids, successors that exist); on any error nothing changes.
    pub fn build_from(&self, layer: Layer, entries: Vec<Located>) -> Result<Catalog, CatalogError> {
        let mut next = self.clone();
        let mut seen: HashMap<&str, &Located> = HashMap::new();
        for located in &entries {
            let entry = &located.entry;
            if !valid_id(&entry.id) {
                return Err(CatalogError::at(
                    located,
                    Some("id".into()),
                    format!("{:?} is not an id: use 1–80 lower-case letters, digits, '.', '-' or '_'", entry.id),
                ));
            }
            if let Some(first) = seen.insert(&entry.id, located) {
                let line = first.line.map_or_else(String::new, |l| format!(" (line {l})"));
                return Err(CatalogError::at(located, Some("id".into()), format!("the model is listed twice in this layer{line}")));
            }
            let base =
                match (next.model(&entry.id), &entry.like) {
                    (Some(existing), _) => Some(existing.clone()),
                    (None, Some(like)) => Some(next.model(like).cloned().ok_or_else(|| {
                        CatalogError::at(located, Some("like".into()), format!("there is no model {like:?} to start from"))
                    })?),
                    (None, None) => None,
                };
            let spec =
                entry.apply(base.as_deref()).map_err(|FieldError { field, message }| CatalogError::at(located, Some(field), message))?;
            next.put(spec, layer);
        }
        for located in &entries {
            let model = next.model(&located.entry.id).expect("just put");
            if let Some(successor) = &model.lifecycle.successor
                && next.model(successor).is_none()
            {
                return Err(CatalogError::at(located, Some("successor".into()), format!("there is no model {successor:?} in the catalog")));
            }
        }
        Ok(next)
    }

    fn put(&mut self, spec: ModelSpec, layer: Layer) {
        self.layers.insert(spec.id.clone(), layer);
        match self.index.get(&spec.id) {
            Some(&i) => self.models[i] = Arc::new(spec),
            None => {
                self.index.insert(spec.id.clone(), self.models.len());
                self.models.push(Arc::new(spec));
            }
        }
    }

    /// Every model, hidden or not, in catalog order.
    pub fn models(&self) -> &[Arc<ModelSpec>] {
        &self.models
    }

    pub fn model(&self, id: &str) -> Option<&Arc<ModelSpec>> {
        self.index.get(id).map(|&i| &self.models[i])
    }

    /// The highest layer that wrote model `id`.
    pub fn layer_of(&self, id: &str) -> Option<Layer> {
        self.layers.get(id).copied()
    }

    pub fn len(&self) -> usize {
        self.models.len()
    }

    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    /// Why `model` cannot be used on `day` because its provider retired it, naming the
    /// successor; `None` while it is callable.
    pub fn retirement(&self, model: &ModelSpec, day: CatalogDate) -> Option<String> {
        let successor = model.lifecycle.successor.as_deref().and_then(|s| self.model(s)).map(|s| s.label.as_str());
        model.lifecycle.retirement(day, successor)
    }

    /// Models callable on `day` that shut down within `days` days, soonest first.
    pub fn shutting_down(&self, day: CatalogDate, days: i64) -> Vec<&Arc<ModelSpec>> {
        let horizon = day.plus_days(days);
        let mut due: Vec<&Arc<ModelSpec>> = self
            .models
            .iter()
            .filter(|m| m.lifecycle.status_on(day) != Status::Retired && m.lifecycle.shutdown_on.is_some_and(|d| d <= horizon))
            .collect();
        due.sort_by_key(|m| m.lifecycle.shutdown_on);
        due
    }

    /// The catalog as one TOML file of whole entries (what `catalog export` prints).
    pub fn to_toml(&self) -> String {
        let file = super::CatalogFile { model: self.models.iter().map(|m| ModelEntry::whole(m)).collect() };
        toml::to_string(&file).unwrap_or_default()
    }
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

#[cfg(test)]
mod tests;
