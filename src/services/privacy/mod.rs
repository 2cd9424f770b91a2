//! Privacy and records: the audit trail, data exports, erasure and deletion, retention, restrictions, the privacy notice.

pub mod archive;
pub mod audit;
pub mod audit_csv;
pub mod deletion;
pub mod erasure;
pub mod export;
pub mod privacy_notice;
pub mod restriction;
pub mod retention;
