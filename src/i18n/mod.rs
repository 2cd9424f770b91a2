//! The studio in several languages: which language a request gets, the message catalogues
//! (Fluent, one per language, embedded) and localised numbers, dates and durations.

mod catalog;
mod catalog_words;
mod format;
mod negotiate;
#[cfg(test)]
mod tests;
mod zone;

pub use crate::domain::preferences::Lang;
pub use catalog::{Arg, Tr};
pub use negotiate::negotiate;
pub use zone::Zone;
