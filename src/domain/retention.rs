//! Retention classes, what a sweep counts, and the record of a run.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::time::Timestamp;

/// An indexed retention class (the `class` byte of the expiry index key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Class {
    /// A reference upload, from when it was stored.
    Upload = 1,
    /// A succeeded generation with its files, from when it finished.
    Output = 2,
    /// A failed or cancelled generation's record, from when it ended.
    Failed = 3,
}

impl Class {
    pub const ALL: [Class; 3] = [Class::Upload, Class::Output, Class::Failed];

    /// The key byte.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The class of a key byte.
    pub fn from_code(code: u8) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.code() == code)
    }

    /// The name used in config, plans and records.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Upload => "uploads",
            Class::Output => "outputs",
            Class::Failed => "failed",
        }
    }
}

/// How many items of each kind a sweep removed (or would remove).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub uploads: u64,
    pub outputs: u64,
    pub failed: u64,
    pub audit: u64,
    pub client_addresses: u64,
    pub sessions: u64,
    pub invitations: u64,
    /// Media files removed: those of deleted items and orphans.
    pub files: u64,
    /// Of `files`, orphans no record named.
    pub orphan_files: u64,
}

impl Counts {
    /// Adds one to the count of an indexed class.
    pub fn add(&mut self, class: Class) {
        match class {
            Class::Upload => self.uploads += 1,
            Class::Output => self.outputs += 1,
            Class::Failed => self.failed += 1,
        }
    }

    /// (label, count) pairs in a fixed order, for pages and the terminal.
    pub fn rows(&self) -> [(&'static str, u64); 8] {
        [
            ("uploads", self.uploads),
            ("outputs", self.outputs),
            ("failed", self.failed),
            ("audit events", self.audit),
            ("client addresses", self.client_addresses),
            ("sessions", self.sessions),
            ("links", self.invitations),
            ("orphan files", self.orphan_files),
        ]
    }
}

/// The record of one retention run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RetentionRun {
    pub started_at: Timestamp,
    pub duration_ms: u64,
    /// What started it: "schedule", "cli", "admin".
    pub trigger: String,
    pub counts: Counts,
    /// A failure that ended the run early; the next run picks up where it stopped.
    pub error: Option<String>,
}

/// A client address with its host part removed: the /24 of IPv4, the /48 of IPv6;
/// anything that is not an address is removed (`None`).
pub fn truncate_address(address: &str) -> Option<String> {
    if address.contains('/') {
        return Some(address.to_string());
    }
    match address.trim().parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            Some(format!("{a}.{b}.{c}.0/24"))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            Some(format!("{}/48", std::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_truncates_addresses_to_networks() {
        assert_eq!(truncate_address("203.0.113.77").as_deref(), Some("203.0.113.0/24"));
        assert_eq!(truncate_address("2001:db8:1:2::5").as_deref(), Some("2001:db8:1::/48"));
        assert_eq!(truncate_address("203.0.113.0/24").as_deref(), Some("203.0.113.0/24"));
        assert_eq!(truncate_address("not an address"), None);
    }

    #[test]
    fn retention_class_codes_round_trip() {
        for c in Class::ALL {
            assert_eq!(Class::from_code(c.code()), Some(c));
        }
        assert_eq!(Class::from_code(0), None);
    }
}
