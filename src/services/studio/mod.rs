//! Making and finding work: generations, the models one may use, uploads, media links, the library and search.

pub mod approvals;
pub mod batches;
pub mod boards;
pub mod callbacks;
pub mod cast;
pub mod generations;
pub mod library;
pub mod lineage;
pub mod media;
pub mod models;
pub mod ownership;
pub mod presets;
pub mod search;
pub mod shares;
pub mod uploads;
