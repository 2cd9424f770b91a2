//! `/api/docs`: the OpenAPI document of `/api/v1` rendered as a page, server-side (no script,
//! no CDN): operations grouped by tag with their parameters, bodies and responses, then the
//! schemas they name.

use actix_web::HttpRequest;
use askama::Template;
use serde_json::Value;

use super::layout::Layout;
use crate::http::api::openapi;
use crate::http::auth::SignedIn;
use crate::http::responses::{PageResult, ok};

/// A parameter row.
pub struct ParamRow {
    pub name: String,
    pub location: String,
    pub required: bool,
    pub schema: String,
    pub description: String,
}

/// A request body or response content: media type and the schema in words.
pub struct ContentRow {
    pub media_type: String,
    pub schema: String,
}

/// A response row.
pub struct ResponseRow {
    pub status: String,
    pub description: String,
    pub content: Vec<ContentRow>,
}

/// One operation.
pub struct OpView {
    pub id: String,
    pub method: String,
    pub path: String,
    pub summary: String,
    pub security: String,
    pub params: Vec<ParamRow>,
    pub body: Vec<ContentRow>,
    pub responses: Vec<ResponseRow>,
}

/// The operations of one tag.
pub struct TagSection {
    pub name: String,
    pub description: String,
    pub ops: Vec<OpView>,
}

/// A property of a schema.
pub struct PropertyRow {
    pub name: String,
    pub schema: String,
    pub required: bool,
    pub description: String,
}

/// A named schema.
pub struct SchemaView {
    pub name: String,
    pub description: String,
    pub properties: Vec<PropertyRow>,
}

#[derive(Template)]
#[template(path = "api/docs.html")]
struct DocsPage {
    layout: Layout,
    title: String,
    version: String,
    description: String,
    tags: Vec<TagSection>,
    schemas: Vec<SchemaView>,
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// A schema in words: `ErrorBody`, `string | null`, `array of GenerationView`, `map of integer`.
pub fn describe(schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_string();
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(list) = schema.get(key).and_then(Value::as_array) {
            let sep = if key == "allOf" { " & " } else { " | " };
            return list.iter().map(describe).collect::<Vec<_>>().join(sep);
        }
    }
    let types: Vec<String> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts.iter().map(text).collect(),
        _ => return "any".into(),
    };
    types
        .iter()
        .map(|t| match t.as_str() {
            "array" => format!("array of {}", schema.get("items").map_or_else(|| "any".into(), describe)),
            "object" => match schema.get("additionalProperties") {
                Some(v) if v.is_object() => format!("map of {}", describe(v)),
                _ => "object".into(),
            },
            other => match schema.get("format").and_then(Value::as_str) {
                Some(f) => format!("{other} ({f})"),
                None => other.to_string(),
            },
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

fn contents(v: &Value) -> Vec<ContentRow> {
    v.get("content")
        .and_then(Value::as_object)
        .map(|c| {
            c.iter()
                .map(|(media, m)| ContentRow { media_type: media.clone(), schema: m.get("schema").map_or_else(String::new, describe) })
                .collect()
        })
        .unwrap_or_default()
}

fn security(op: &Value) -> String {
    match op.get("security").and_then(Value::as_array) {
        None => "none".into(),
        Some(options) => options
            .iter()
            .filter_map(Value::as_object)
            .map(|o| o.keys().cloned().collect::<Vec<_>>().join(" + "))
            .collect::<Vec<_>>()
            .join(", or "),
    }
}

fn operation(method: &str, path: &str, op: &Value) -> OpView {
    let params = op
        .get("parameters")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .map(|p| ParamRow {
                    name: text(&p["name"]),
                    location: text(&p["in"]),
                    required: p["required"].as_bool().unwrap_or(false),
                    schema: p.get("schema").map_or_else(String::new, describe),
                    description: text(&p["description"]),
                })
                .collect()
        })
        .unwrap_or_default();
    let responses = op
        .get("responses")
        .and_then(Value::as_object)
        .map(|rs| {
            rs.iter()
                .map(|(status, r)| ResponseRow { status: status.clone(), description: text(&r["description"]), content: contents(r) })
                .collect()
        })
        .unwrap_or_default();
    let summary = op.get("summary").or(op.get("description")).map(text).unwrap_or_default();
    OpView {
        id: text(&op["operationId"]),
        method: method.to_uppercase(),
        path: path.to_string(),
        summary,
        security: security(op),
        params,
        body: op.get("requestBody").map(contents).unwrap_or_default(),
        responses,
    }
}

/// The document as the page shows it.
fn sections(doc: &Value) -> (Vec<TagSection>, Vec<SchemaView>) {
    let mut tags: Vec<TagSection> = doc["tags"]
        .as_array()
        .map(|ts| ts.iter().map(|t| TagSection { name: text(&t["name"]), description: text(&t["description"]), ops: Vec::new() }).collect())
        .unwrap_or_default();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            for method in ["get", "post", "put", "patch", "delete"] {
                let Some(op) = item.get(method) else { continue };
                let tag = op["tags"][0].as_str().unwrap_or("other").to_string();
                let index = match tags.iter().position(|t| t.name == tag) {
                    Some(i) => i,
                    None => {
                        tags.push(TagSection { name: tag, description: String::new(), ops: Vec::new() });
                        tags.len() - 1
                    }
                };
                tags[index].ops.push(operation(method, path, op));
            }
        }
    }
    tags.retain(|t| !t.ops.is_empty());
    let schemas = doc["components"]["schemas"]
        .as_object()
        .map(|s| {
            s.iter()
                .map(|(name, schema)| {
                    let required: Vec<&str> =
                        schema["required"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
                    let properties = schema["properties"]
                        .as_object()
                        .map(|ps| {
                            ps.iter()
                                .map(|(p, s)| PropertyRow {
                                    name: p.clone(),
                                    schema: describe(s),
                                    required: required.contains(&p.as_str()),
                                    description: text(&s["description"]),
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    SchemaView { name: name.clone(), description: text(&schema["description"]), properties }
                })
                .collect()
        })
        .unwrap_or_default();
    (tags, schemas)
}

/// Anyone may read it; a signed-in person sees their navigation.
pub async fn show(req: HttpRequest, who: Option<SignedIn>) -> PageResult {
    let doc = serde_json::to_value(openapi::doc()).map_err(|_| crate::error::AppError::internal())?;
    let (tags, schemas) = sections(&doc);
    let page = DocsPage {
        layout: Layout::new(&req, who.as_ref().map(|w| &w.user)),
        title: text(&doc["info"]["title"]),
        version: text(&doc["info"]["version"]),
        description: text(&doc["info"]["description"]),
        tags,
        schemas,
    };
    ok(&req, &page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schemas_are_described_in_words() {
        assert_eq!(describe(&json!({"$ref": "#/components/schemas/ErrorBody"})), "ErrorBody");
        assert_eq!(describe(&json!({"type": ["string", "null"]})), "string | null");
        assert_eq!(describe(&json!({"type": "array", "items": {"$ref": "#/components/schemas/X"}})), "array of X");
        assert_eq!(
            describe(&json!({"type": "object", "additionalProperties": {"type": "integer", "format": "int64"}})),
            "map of integer (int64)"
        );
        assert_eq!(describe(&json!({"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/R"}]})), "null | R");
        assert_eq!(describe(&json!({})), "any");
    }
}
