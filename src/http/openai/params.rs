//! OpenAI request fields (`n`, `size`, `seconds`, `quality` …) as a catalog model's own
//! parameters. Pure: the handlers read the request, and `services::studio::generations::submit`
//! checks the result against the model like any other request.

use std::collections::BTreeMap;

use serde_json::Value;

use super::errors::OpenAiError;
use crate::domain::catalog::{ModelSpec, ParamKind};

/// Which endpoint a request came to; decides which of OpenAI's fields it may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    ImageGenerations,
    ImageEdits,
    Videos,
}

impl Endpoint {
    /// Fields the handlers read themselves.
    fn handled(self) -> &'static [&'static str] {
        match self {
            Endpoint::ImageGenerations => &["model", "prompt", "negative_prompt", "n", "size", "response_format", "stream"],
            Endpoint::ImageEdits => &["model", "prompt", "negative_prompt", "n", "size", "response_format", "stream", "image", "mask"],
            Endpoint::Videos => &["model", "prompt", "negative_prompt", "seconds", "size", "input_reference"],
        }
    }

    /// OpenAI's other fields: passed on to a model that has a parameter of the same name,
    /// ignored otherwise (as OpenAI ignores them for models they do not apply to).
    fn optional(self) -> &'static [&'static str] {
        const IMAGES: &[&str] = &[
            "background",
            "complexity",
            "frame_count",
            "frame_duration_ms",
            "input_fidelity",
            "markup",
            "moderation",
            "output_compression",
            "output_format",
            "partial_images",
            "quality",
            "safety_identifier",
            "style",
            "svg",
            "user",
        ];
        match self {
            Endpoint::ImageGenerations | Endpoint::ImageEdits => IMAGES,
            Endpoint::Videos => &[],
        }
    }
}

/// The most `n` OpenAI takes.
const MAX_N: i64 = 10;
/// How far (in log aspect) a requested size may be from the nearest aspect ratio a model
/// offers: 1536x1024 (3:2) becomes 16:9, 1024x1024 is refused by a model with only 16:9 and 9:16.
const ASPECT_TOLERANCE: f64 = 0.2;

/// The model parameters a request's `fields` ask for. A field naming one of the model's own
/// parameters (`aspect_ratio`, `seed`, `quality` …) is passed on as it is; `n`, `size` and
/// `seconds` fill in the parameters they map to unless the request named those itself.
/// Fields neither OpenAI nor the model knows are refused, like OpenAI does.
pub fn translate(spec: &ModelSpec, endpoint: Endpoint, fields: &BTreeMap<String, Value>) -> Result<BTreeMap<String, Value>, OpenAiError> {
    let mut params = BTreeMap::new();
    for (key, value) in fields {
        // multipart spells nested values `input_reference[image_url]`
        let base = key.split('[').next().unwrap_or(key);
        if endpoint.handled().contains(&base) {
            continue;
        }
        if base == key && spec.params.iter().any(|p| p.name == base) {
            if !value.is_null() {
                params.insert(key.clone(), value.clone());
            }
        } else if !endpoint.optional().contains(&base) {
            return Err(OpenAiError::unknown_parameter(key));
        }
    }
    if fields.get("stream").and_then(text).is_some_and(|s| s == "true") {
        return Err(OpenAiError::invalid("stream", "Streaming is not supported: the answer comes once the images are stored."));
    }
    if let Some(n) = fields.get("n").filter(|v| !v.is_null()) {
        count(spec, n, &mut params)?;
    }
    if let Some(size) = fields.get("size").and_then(text) {
        size_params(spec, &size, &mut params)?;
    }
    if endpoint == Endpoint::Videos
        && let Some(seconds) = fields.get("seconds").and_then(text)
    {
        duration(spec, &seconds, &mut params)?;
    }
    Ok(params)
}

/// A field as text: strings as they are, numbers and booleans written out; `None` for null.
pub fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.trim().to_string()),
        other => Some(other.to_string()),
    }
}

fn int(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

fn set(params: &mut BTreeMap<String, Value>, name: &str, value: Value) {
    params.entry(name.to_string()).or_insert(value);
}

fn param<'a>(spec: &'a ModelSpec, name: &str) -> Option<&'a ParamKind> {
    spec.params.iter().find(|p| p.name == name).map(|p| &p.kind)
}

fn choices<'a>(spec: &'a ModelSpec, name: &str) -> Option<Vec<&'a str>> {
    match param(spec, name) {
        Some(ParamKind::Choice { values, .. }) => Some(values.iter().map(String::as_str).collect()),
        _ => None,
    }
}

/// `n` → `count`.
fn count(spec: &ModelSpec, n: &Value, params: &mut BTreeMap<String, Value>) -> Result<(), OpenAiError> {
    let n = int(n)
        .filter(|n| (1..=MAX_N).contains(n))
        .ok_or_else(|| OpenAiError::invalid("n", format!("n must be a whole number from 1 to {MAX_N}.")))?;
    match param(spec, "count") {
        Some(ParamKind::Range { min, max, .. }) if (*min..=*max).contains(&n) => {
            set(params, "count", Value::from(n));
            Ok(())
        }
        Some(ParamKind::Range { min, max, .. }) => {
            Err(OpenAiError::invalid("n", format!("{} makes {min} to {max} images per request; n was {n}.", spec.id)))
        }
        _ if n == 1 => Ok(()),
        _ => Err(OpenAiError::invalid("n", format!("{} makes one image per request; n was {n}.", spec.id))),
    }
}

/// `WIDTHxHEIGHT` in pixels.
fn parse_size(size: &str) -> Option<(u32, u32)> {
    let (w, h) = size.split_once(['x', 'X', ':'])?;
    let (w, h) = (w.trim().parse::<u32>().ok()?, h.trim().parse::<u32>().ok()?);
    (w > 0 && h > 0).then_some((w, h))
}

/// The offered value whose aspect is nearest to `w`:`h` (then the nearest in pixels, for
/// Runway's `1280:720`-style values), if it is within [`ASPECT_TOLERANCE`].
fn nearest_aspect<'a>(values: &[&'a str], w: u32, h: u32) -> Option<&'a str> {
    let wanted = (f64::from(w) / f64::from(h)).ln();
    let area = f64::from(w) * f64::from(h);
    values
        .iter()
        .filter_map(|v| {
            let (a, b) = parse_size(v)?;
            let off = ((f64::from(a) / f64::from(b)).ln() - wanted).abs();
            Some((off, (f64::from(a) * f64::from(b) - area).abs(), *v))
        })
        .filter(|(off, _, _)| *off <= ASPECT_TOLERANCE)
        .min_by(|x, y| (x.0, x.1).partial_cmp(&(y.0, y.1)).unwrap_or(std::cmp::Ordering::Equal))
        .map(|(_, _, v)| v)
}

/// The offered resolution (`720p`, `1080P`) nearest to a short side of `short` pixels.
fn nearest_resolution<'a>(values: &[&'a str], short: u32) -> Option<&'a str> {
    values.iter().filter_map(|v| v.trim_end_matches(['p', 'P']).parse::<u32>().ok().map(|n| (n.abs_diff(short), *v))).min().map(|(_, v)| v)
}

/// `size` → the model's `size`, `ratio`, `width`/`height`, `aspect_ratio` and `resolution`,
/// whichever it has. A model with none of them makes one size, and `size` is ignored.
fn size_params(spec: &ModelSpec, size: &str, params: &mut BTreeMap<String, Value>) -> Result<(), OpenAiError> {
    let own = choices(spec, "size");
    if size == "auto" {
        if own.is_some_and(|v| v.contains(&"auto")) {
            set(params, "size", Value::from("auto"));
        }
        return Ok(());
    }
    let (w, h) = parse_size(size)
        .filter(|_| size.contains(['x', 'X']))
        .ok_or_else(|| OpenAiError::invalid("size", format!("size must be WIDTHxHEIGHT in pixels, such as 1024x1024; got {size:?}.")))?;
    if let Some(values) = own {
        // the model takes sizes in OpenAI's own words
        if !values.contains(&size) {
            return Err(OpenAiError::invalid("size", format!("{} takes the sizes {}.", spec.id, values.join(", "))));
        }
        set(params, "size", Value::from(size));
        return Ok(());
    }
    for name in ["ratio", "aspect_ratio"] {
        if let Some(values) = choices(spec, name) {
            let value = nearest_aspect(&values, w, h).ok_or_else(|| {
                OpenAiError::invalid("size", format!("{} takes the aspect ratios {}; {size} is none of them.", spec.id, values.join(", ")))
            })?;
            set(params, name, Value::from(value));
        }
    }
    if matches!(param(spec, "width"), Some(ParamKind::Range { .. })) && matches!(param(spec, "height"), Some(ParamKind::Range { .. })) {
        set(params, "width", Value::from(w));
        set(params, "height", Value::from(h));
    }
    if let Some(value) = choices(spec, "resolution").and_then(|values| nearest_resolution(&values, w.min(h))) {
        set(params, "resolution", Value::from(value));
    }
    Ok(())
}

/// `seconds` → `duration`.
fn duration(spec: &ModelSpec, seconds: &str, params: &mut BTreeMap<String, Value>) -> Result<(), OpenAiError> {
    let n: i64 = seconds.parse().map_err(|_| {
        OpenAiError::invalid("seconds", format!("seconds must be a whole number of seconds, such as \"4\"; got {seconds:?}."))
    })?;
    let fits = match param(spec, "duration") {
        Some(ParamKind::Number { values, .. }) => {
            let list: Vec<String> = values.iter().map(i64::to_string).collect();
            values.contains(&n).then_some(()).ok_or(format!("{} makes clips of {} seconds", spec.id, list.join(", ")))
        }
        Some(ParamKind::Range { min, max, .. }) => {
            (*min..=*max).contains(&n).then_some(()).ok_or(format!("{} makes clips of {min} to {max} seconds", spec.id))
        }
        _ => Err(format!("{} makes clips of one fixed length; leave out seconds", spec.id)),
    };
    fits.map_err(|why| OpenAiError::invalid("seconds", format!("{why}; seconds was {seconds}.")))?;
    set(params, "duration", Value::from(n));
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::catalog::shipped_models as builtin_models;

    fn model(id: &str) -> ModelSpec {
        builtin_models().into_iter().find(|m| m.id == id).unwrap()
    }

    fn fields(v: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(v).unwrap()
    }

    fn ok(id: &str, endpoint: Endpoint, v: Value) -> Value {
        serde_json::to_value(translate(&model(id), endpoint, &fields(v)).unwrap()).unwrap()
    }

    fn refused(id: &str, endpoint: Endpoint, v: Value) -> OpenAiError {
        translate(&model(id), endpoint, &fields(v)).unwrap_err()
    }

    #[test]
    fn n_and_size_become_count_and_aspect_ratio() {
        let p = ok("demo-image", Endpoint::ImageGenerations, json!({"model": "demo-image", "prompt": "p", "n": 3, "size": "1792x1024"}));
        assert_eq!(p, json!({"count": 3, "aspect_ratio": "16:9"}));
        assert_eq!(
            ok("demo-image", Endpoint::ImageGenerations, json!({"size": "1024x1024", "n": "2"})),
            json!({"count": 2, "aspect_ratio": "1:1"})
        );
        assert_eq!(ok("demo-image", Endpoint::ImageGenerations, json!({"size": "1024x1536"})), json!({"aspect_ratio": "9:16"}));
        assert_eq!(ok("demo-image", Endpoint::ImageGenerations, json!({"size": "auto"})), json!({}));
        // the model's own parameter wins over the mapped one
        assert_eq!(
            ok("demo-image", Endpoint::ImageGenerations, json!({"size": "1024x1024", "aspect_ratio": "16:9"})),
            json!({"aspect_ratio": "16:9"})
        );
    }

    #[test]
    fn models_that_speak_openai_sizes_keep_them() {
        let p = ok("gpt-image-2", Endpoint::ImageGenerations, json!({"size": "1536x1024", "quality": "high", "n": 2}));
        assert_eq!(p, json!({"count": 2, "size": "1536x1024", "quality": "high"}));
        assert_eq!(refused("gpt-image-2", Endpoint::ImageGenerations, json!({"size": "640x480"})).param.as_deref(), Some("size"));
        assert_eq!(ok("sora-2", Endpoint::Videos, json!({"size": "720x1280", "seconds": "8"})), json!({"size": "720x1280", "duration": 8}));
    }

    #[test]
    fn seconds_become_duration_within_what_the_model_makes() {
        assert_eq!(
            ok("demo-video", Endpoint::Videos, json!({"seconds": "2", "size": "1280x720"})),
            json!({"duration": 2, "aspect_ratio": "16:9"})
        );
        let e = refused("demo-video", Endpoint::Videos, json!({"seconds": "4"}));
        assert_eq!((e.param.as_deref(), e.status.as_u16()), (Some("seconds"), 400));
        assert!(e.message.contains("2, 3, 5"), "{}", e.message);
        assert_eq!(refused("demo-video", Endpoint::Videos, json!({"seconds": "four"})).param.as_deref(), Some("seconds"));
    }

    #[test]
    fn sizes_reach_ratios_resolutions_and_pixels() {
        let runway = builtin_models().into_iter().find(|m| m.params.iter().any(|p| p.name == "ratio")).unwrap();
        let p = translate(&runway, Endpoint::Videos, &fields(json!({"size": "1280x720"}))).unwrap();
        assert_eq!(p["ratio"], json!("1280:720"));
        let resolution = builtin_models()
            .into_iter()
            .find(|m| choices(m, "resolution").is_some_and(|v| v.contains(&"720p") && v.contains(&"1080p")))
            .unwrap();
        let p = translate(&resolution, Endpoint::Videos, &fields(json!({"size": "1920x1080"}))).unwrap();
        assert_eq!(p["resolution"], json!("1080p"));
        let comfy = builtin_models().into_iter().find(|m| param(m, "width").is_some()).unwrap();
        let p = translate(&comfy, Endpoint::ImageGenerations, &fields(json!({"size": "768x512"}))).unwrap();
        assert_eq!((p["width"].clone(), p["height"].clone()), (json!(768), json!(512)));
        // a square clip from a model with only 16:9 and 9:16 is refused, not stretched
        let wide_only = builtin_models().into_iter().find(|m| choices(m, "aspect_ratio").is_some_and(|v| v == ["16:9", "9:16"])).unwrap();
        assert!(translate(&wide_only, Endpoint::Videos, &fields(json!({"size": "1024x1024"}))).is_err());
    }

    #[test]
    fn unknown_fields_are_refused_and_openai_extras_ignored() {
        let e = refused("demo-image", Endpoint::ImageGenerations, json!({"colour": "red"}));
        assert_eq!((e.param.as_deref(), e.code.as_deref()), (Some("colour"), Some("unknown_parameter")));
        assert_eq!(
            ok("demo-image", Endpoint::ImageGenerations, json!({"quality": "high", "style": "vivid", "user": "u1", "seed": 7})),
            json!({"seed": 7})
        );
        assert!(refused("demo-video", Endpoint::Videos, json!({"quality": "high"})).message.contains("quality"));
        assert_eq!(refused("demo-image", Endpoint::ImageGenerations, json!({"stream": true})).param.as_deref(), Some("stream"));
        for n in [json!(0), json!(11), json!("many")] {
            assert_eq!(refused("demo-image", Endpoint::ImageGenerations, json!({"n": n})).param.as_deref(), Some("n"));
        }
        assert!(refused("demo-image", Endpoint::ImageGenerations, json!({"n": 5})).message.contains("1 to 4"));
    }
}
