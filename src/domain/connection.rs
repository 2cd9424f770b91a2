//! A provider connection an admin added in the UI, as stored: its keys sealed to the master
//! key (only the last four characters are kept readable, to show which key it is).

use serde::{Deserialize, Serialize};

use super::time::Timestamp;

/// A stored connection (connections from config.toml are never stored).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredConnection {
    pub name: String,
    pub kind: String,
    pub base_url: Option<String>,
    /// The provider region whose host it calls (for providers with region-bound keys).
    pub region: Option<String>,
    /// The API key, age-encrypted to the master key.
    pub api_key: Option<Vec<u8>>,
    pub access_key: Option<String>,
    /// The secret key (Kling), age-encrypted to the master key.
    pub secret_key: Option<Vec<u8>>,
    /// The last four characters of the API key (or secret key), for display.
    pub key_hint: Option<String>,
    pub max_concurrent: u32,
    pub allow_private_network: bool,
    pub models: Vec<String>,
    pub created_at: Timestamp,
}

/// How a key is shown: "••••" and its last four characters.
pub fn masked(hint: Option<&str>) -> String {
    match hint {
        Some(last) if !last.is_empty() => format!("••••{last}"),
        _ => "none".to_string(),
    }
}

/// The last four characters of a key (fewer when the key is short, none when very short).
pub fn hint_of(key: &str) -> Option<String> {
    let chars: Vec<char> = key.trim().chars().collect();
    if chars.len() < 8 {
        return None;
    }
    Some(chars[chars.len() - 4..].iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_show_only_their_last_four_characters() {
        assert_eq!(masked(hint_of("sk-proj-abcdef123456").as_deref()), "••••3456");
        assert_eq!(masked(hint_of("short").as_deref()), "none", "a short key shows nothing of itself");
        assert_eq!(masked(None), "none");
    }
}
