//! Reading a batch manifest: CSV with a header row, or a JSON array of objects. A manifest
//! that cannot be read at all is refused whole; a row that breaks a rule keeps its reason.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::domain::batch::{MAX_MANIFEST_BYTES, MAX_ROWS};
use crate::services::{ServiceError, ServiceResult};

/// One row as the manifest gives it, before it is checked against the catalog.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ManifestRow {
    /// 1-based, data rows only.
    pub number: u32,
    pub model: Option<String>,
    pub prompt: Option<String>,
    pub negative_prompt: Option<String>,
    /// A preset id: the row fills its placeholders from `values`.
    pub preset: Option<String>,
    /// File names from the ZIP or upload ids, each optionally `role:name`.
    pub references: Vec<String>,
    pub params: BTreeMap<String, Value>,
    pub values: BTreeMap<String, String>,
    /// Why the row cannot be read (an unknown column value, a bad type).
    pub error: Option<String>,
}

/// The columns a CSV manifest may have besides `param.<name>` and `value.<placeholder>`.
const COLUMNS: [&str; 5] = ["model", "prompt", "negative_prompt", "preset", "references"];

/// Reads a manifest: JSON when it starts with `[`, else CSV. Refused whole (422) when it is
/// too large, not UTF-8, malformed, empty, has too many rows, or names an unknown column.
pub fn parse(bytes: &[u8]) -> ServiceResult<Vec<ManifestRow>> {
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Err(invalid(format!("the manifest is larger than {MAX_MANIFEST_BYTES} bytes")));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| invalid("the manifest is not UTF-8 text".into()))?;
    let text = text.trim_start_matches('\u{feff}');
    let rows = if text.trim_start().starts_with('[') { parse_json(text)? } else { parse_csv(text)? };
    if rows.is_empty() {
        return Err(invalid("the manifest has no rows".into()));
    }
    if rows.len() > MAX_ROWS {
        return Err(invalid(format!("the manifest has {} rows; a batch takes at most {MAX_ROWS}", rows.len())));
    }
    Ok(rows)
}

fn invalid(message: String) -> ServiceError {
    ServiceError::InvalidMessage(message)
}

fn parse_json(text: &str) -> ServiceResult<Vec<ManifestRow>> {
    let items: Vec<Value> = serde_json::from_str(text).map_err(|e| invalid(format!("the manifest is not a JSON array of objects: {e}")))?;
    if items.len() > MAX_ROWS {
        return Err(invalid(format!("the manifest has {} rows; a batch takes at most {MAX_ROWS}", items.len())));
    }
    Ok(items.into_iter().enumerate().map(|(i, item)| json_row(i as u32 + 1, item)).collect())
}

fn json_row(number: u32, item: Value) -> ManifestRow {
    let mut row = ManifestRow { number, ..ManifestRow::default() };
    let Value::Object(fields) = item else {
        row.error = Some("a row is a JSON object".into());
        return row;
    };
    let mut problems = Vec::new();
    for (key, value) in fields {
        match (key.as_str(), value) {
            (_, Value::Null) => {}
            ("model", Value::String(s)) => row.model = Some(s),
            ("prompt", Value::String(s)) => row.prompt = Some(s),
            ("negative_prompt", Value::String(s)) => row.negative_prompt = Some(s),
            ("preset", Value::String(s)) => row.preset = Some(s),
            ("references", Value::String(s)) => row.references = split_references(&s),
            ("references", Value::Array(items)) => {
                for item in items {
                    match item {
                        Value::String(s) if !s.trim().is_empty() => row.references.push(s.trim().to_string()),
                        _ => problems.push("`references` holds file names or upload ids".to_string()),
                    }
                }
            }
            ("params", Value::Object(params)) => row.params = params.into_iter().collect(),
            ("values", Value::Object(values)) => {
                for (name, value) in values {
                    match value {
                        Value::String(s) => {
                            row.values.insert(name, s);
                        }
                        Value::Number(n) => {
                            row.values.insert(name, n.to_string());
                        }
                        _ => problems.push(format!("the value of placeholder `{name}` is text")),
                    }
                }
            }
            (known @ ("model" | "prompt" | "negative_prompt" | "preset" | "references" | "params" | "values"), _) => {
                problems.push(format!("`{known}` has the wrong type"));
            }
            (other, _) => problems.push(format!("unknown field `{other}`")),
        }
    }
    if !problems.is_empty() {
        row.error = Some(problems.join("; "));
    }
    row
}

/// `a.png; first_frame:b.png` as its trimmed, non-empty items.
fn split_references(text: &str) -> Vec<String> {
    text.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

fn parse_csv(text: &str) -> ServiceResult<Vec<ManifestRow>> {
    let mut records = csv_records(text)?.into_iter();
    let Some(header) = records.next() else { return Err(invalid("the manifest is empty".into())) };
    let header: Vec<String> = header.into_iter().map(|h| h.trim().to_string()).collect();
    for name in &header {
        let known = COLUMNS.contains(&name.as_str())
            || name.strip_prefix("param.").is_some_and(|p| !p.is_empty())
            || name.strip_prefix("value.").is_some_and(|p| !p.is_empty());
        if !known {
            return Err(invalid(format!(
                "unknown column `{name}`: the columns are model, prompt, negative_prompt, preset, references, param.<name> and value.<placeholder>"
            )));
        }
    }
    let mut rows = Vec::new();
    for (i, record) in records.filter(|r| r.iter().any(|cell| !cell.trim().is_empty())).enumerate() {
        if rows.len() >= MAX_ROWS {
            return Err(invalid(format!("the manifest has more than {MAX_ROWS} rows")));
        }
        let mut row = ManifestRow { number: i as u32 + 1, ..ManifestRow::default() };
        if record.len() != header.len() {
            row.error = Some(format!("the row has {} cells; the header has {}", record.len(), header.len()));
            rows.push(row);
            continue;
        }
        for (name, cell) in header.iter().zip(record) {
            if cell.trim().is_empty() {
                continue;
            }
            match name.as_str() {
                "model" => row.model = Some(cell.trim().to_string()),
                "prompt" => row.prompt = Some(cell),
                "negative_prompt" => row.negative_prompt = Some(cell),
                "preset" => row.preset = Some(cell.trim().to_string()),
                "references" => row.references = split_references(&cell),
                other => {
                    if let Some(param) = other.strip_prefix("param.") {
                        row.params.insert(param.to_string(), Value::String(cell.trim().to_string()));
                    } else if let Some(placeholder) = other.strip_prefix("value.") {
                        row.values.insert(placeholder.to_string(), cell);
                    }
                }
            }
        }
        rows.push(row);
    }
    Ok(rows)
}

/// The records of RFC 4180 CSV: fields separated by commas, optionally quoted (`""` is a
/// quote inside quotes), records by LF or CRLF.
fn csv_records(text: &str) -> ServiceResult<Vec<Vec<String>>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut line = 1;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            ',' => record.push(std::mem::take(&mut field)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                line += 1;
                if records.len() > MAX_ROWS + 1 {
                    return Err(invalid(format!("the manifest has more than {MAX_ROWS} rows")));
                }
            }
            _ => field.push(c),
        }
    }
    if quoted {
        return Err(invalid(format!("the manifest's CSV has a quote opened on or before line {line} that is never closed")));
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_keep_their_columns_quotes_and_references() {
        let csv = "model,prompt,references,param.seed,value.who\r\ndemo-image,\"a cat, \"\"big\"\"\",a.png; first_frame:b.png,7,\n\n,,,,\n";
        let rows = parse(csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(row.model.as_deref(), Some("demo-image"));
        assert_eq!(row.prompt.as_deref(), Some("a cat, \"big\""));
        assert_eq!(row.references, vec!["a.png".to_string(), "first_frame:b.png".to_string()]);
        assert_eq!(row.params.get("seed"), Some(&Value::String("7".into())));
        assert!(row.values.is_empty());
    }

    #[test]
    fn json_rows_take_params_values_and_report_bad_fields() {
        let json = r#"[{"preset": "p", "values": {"who": "a fox"}, "params": {"seed": 3}, "references": ["x.png"]}, {"colour": 1}, 5]"#;
        let rows = parse(json.as_bytes()).unwrap();
        assert_eq!(rows[0].values.get("who").map(String::as_str), Some("a fox"));
        assert_eq!(rows[0].params.get("seed"), Some(&serde_json::json!(3)));
        assert!(rows[0].error.is_none());
        assert!(rows[1].error.as_deref().unwrap().contains("unknown field `colour`"));
        assert!(rows[2].error.is_some());
    }

    #[test]
    fn unreadable_manifests_are_refused_whole() {
        for bad in ["", "model,prompt\n", "model,colour\nx,y\n", "[{", "model,prompt\nx,\"open\n", "{\"a\":1}"] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
        let many = format!("model,prompt\n{}", "demo-image,x\n".repeat(MAX_ROWS + 1));
        assert!(parse(many.as_bytes()).is_err());
        assert!(parse(&[0xff, 0xfe]).is_err());
    }
}
