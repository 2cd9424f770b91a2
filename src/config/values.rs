//! The value forms a setting may take (durations, sizes, cron expressions, addresses,
//! secrets inline or from a file) and how they are read, from files and the environment, and
//! shown again.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serializer;

use super::{ConfigError, DEFAULT_RETENTION_SCHEDULE, ENV_PREFIX, Secret};

pub(super) fn human_duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_duration(*d))
}

pub(super) fn human_duration_opt<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&format_duration(*d)),
        None => s.serialize_str("model default"),
    }
}

/// A duration in the largest whole unit that expresses it ("90d", "12h", "1500ms").
pub fn format_duration(d: Duration) -> String {
    let units = [(86_400_000, "d"), (3_600_000, "h"), (60_000, "m"), (1_000, "s"), (1, "ms")];
    let millis = d.as_millis();
    if millis == 0 {
        return "0".into();
    }
    let (size, unit) = units.iter().find(|(size, _)| millis.is_multiple_of(*size)).copied().unwrap_or((1, "ms"));
    format!("{}{unit}", millis / size)
}

pub(super) fn human_size<S: Serializer>(n: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&bytesize::ByteSize::b(*n).display().iec().to_string())
}

pub(super) fn human_size_opt<S: Serializer>(n: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match n {
        Some(n) => human_size(n, s),
        None => s.serialize_str("model default"),
    }
}

pub(super) fn read_file(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError(format!("cannot read config file {}: {e}", path.display())))?;
    text.parse::<toml::Table>().map_err(|e| ConfigError(format!("config file {}: {e}", path.display())))
}

/// `REELVAULT_RETENTION__OUTPUTS=90d` sets `retention.outputs`. Values that parse as TOML
/// (numbers, booleans, arrays) keep their type; anything else is a string.
pub(super) fn apply_env(table: &mut toml::Table, key: &str, value: &str) -> Result<(), ConfigError> {
    let path: Vec<String> = key[ENV_PREFIX.len()..].split("__").map(str::to_ascii_lowercase).collect();
    if path.iter().any(String::is_empty) {
        return Err(ConfigError(format!("environment variable {key}: malformed key")));
    }
    let parsed = format!("v = {value}").parse::<toml::Table>().ok().and_then(|mut t| t.remove("v"));
    let value = parsed.filter(|v| !v.is_table()).unwrap_or_else(|| toml::Value::String(value.to_string()));
    let (last, parents) = path.split_last().ok_or_else(|| ConfigError(format!("environment variable {key}: empty key")))?;
    let mut node = table;
    for part in parents {
        let entry = node.entry(part.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        node = entry.as_table_mut().ok_or_else(|| ConfigError(format!("environment variable {key}: `{part}` is not a section")))?;
    }
    node.insert(last.clone(), value);
    Ok(())
}

pub(super) fn duration(key: &str, value: Option<String>, default: &str) -> Result<Duration, ConfigError> {
    let text = value.unwrap_or_else(|| default.to_string());
    if text.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(text.trim())
        .map_err(|e| ConfigError(format!("{key} = {text:?}: {e} (use a duration like \"30d\" or \"12h\")")))
}

/// A cron expression (seconds first, six or seven fields), or the default.
pub(super) fn cron_expression(key: &str, value: Option<String>) -> Result<String, ConfigError> {
    let text = value.unwrap_or_else(|| DEFAULT_RETENTION_SCHEDULE.into()).trim().to_string();
    match text.parse::<cron::Schedule>() {
        Ok(schedule) if schedule.upcoming(chrono::Utc).next().is_some() => Ok(text),
        Ok(_) => Err(ConfigError(format!("{key} = {text:?}: this schedule never fires"))),
        Err(e) => Err(ConfigError(format!(
            "{key} = {text:?}: not a cron expression ({e}); expected seconds first, like \"0 15 3 * * *\" (every day at 03:15 UTC)"
        ))),
    }
}

/// A list of IP addresses (empty when absent).
pub(super) fn ip_addresses(key: &str, list: Option<Vec<String>>) -> Result<Vec<IpAddr>, ConfigError> {
    let parse = |text: String| {
        text.trim()
            .parse::<IpAddr>()
            .map_err(|_| ConfigError(format!("{key}: {text:?} is not an IP address (like \"127.0.0.1\" or \"::1\")")))
    };
    list.unwrap_or_default().into_iter().map(parse).collect()
}

pub(super) fn size(key: &str, text: &str) -> Result<u64, ConfigError> {
    let parsed = text.trim().parse::<bytesize::ByteSize>();
    Ok(parsed.map_err(|e| ConfigError(format!("{key} = {text:?}: {e} (use a size like \"20MiB\")")))?.as_u64())
}

pub(super) fn secret(key: &str, inline: Option<String>, file: Option<PathBuf>) -> Result<Option<Secret>, ConfigError> {
    match (inline, file) {
        (Some(_), Some(_)) => Err(ConfigError(format!("set either {key} or {key}_file, not both"))),
        (Some(v), None) => Ok(Some(Secret(v))),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path).map_err(|e| ConfigError(format!("{key}_file {}: {e}", path.display())))?;
            Ok(Some(Secret(text.trim().to_string())))
        }
        (None, None) => Ok(None),
    }
}
