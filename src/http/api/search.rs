//! `GET /api/v1/generations`: search and list what the caller may see, with filters, facet
//! counts, date order and a cursor. Every parameter is checked here; a bad one is a 400 that
//! names it.

use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

use super::views::GenerationView;
use crate::domain::catalog::MediaKind;
use crate::domain::generation::GenState;
use crate::domain::ids::UserId;
use crate::domain::time::Timestamp;
use crate::domain::user::User;
use crate::error::AppError;
use crate::http::auth::{ApiCaller, state};
use crate::http::responses::ApiResult;
use crate::search::query::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::search::{Cursor, Facets, Filters, Order, SearchRequest, TextQuery};
use crate::services::state::AppState;
use crate::services::{ServiceError, identity::accounts, studio::search};

/// The parameters this endpoint knows; anything else is refused (a typo would otherwise be
/// silently ignored).
const KNOWN: [&str; 13] = ["q", "model", "provider", "kind", "state", "from", "to", "kept", "sound", "user", "sort", "cursor", "limit"];
/// The longest value of a model, provider or user parameter.
const MAX_VALUE_CHARS: usize = 200;

#[derive(Serialize, ToSchema)]
pub struct ItemView<'a> {
    #[serde(flatten)]
    generation: GenerationView<'a>,
    /// The prompt (cut around the first match when long), HTML-escaped, matches in `<mark>`.
    highlight: &'a str,
}

/// Counts of the whole result set by value.
#[derive(Serialize, ToSchema)]
pub struct FacetsView<'a> {
    #[schema(value_type = BTreeMap<String, u64>)]
    model: &'a BTreeMap<String, u64>,
    #[schema(value_type = BTreeMap<String, u64>)]
    provider: &'a BTreeMap<String, u64>,
    #[schema(value_type = BTreeMap<String, u64>)]
    kind: &'a BTreeMap<String, u64>,
    #[schema(value_type = BTreeMap<String, u64>)]
    state: &'a BTreeMap<String, u64>,
    /// By user id; admins only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<BTreeMap<String, u64>>)]
    user: Option<&'a BTreeMap<String, u64>>,
    /// How many have an output with sound.
    with_sound: u64,
}

/// One page of results.
#[derive(Serialize, ToSchema)]
pub struct PageView<'a> {
    items: Vec<ItemView<'a>>,
    facets: FacetsView<'a>,
    /// Pass as `cursor` for the next page; `null` on the last.
    next_cursor: Option<&'a str>,
    total: u64,
}

/// The search request a query string asks for on behalf of `user` (also the library page's):
/// parameters checked, `user` filters (admins only) resolved from ids or emails.
pub(crate) async fn request_for(state: &AppState, user: &User, query: &str) -> Result<SearchRequest, AppError> {
    let params = Params::parse(query)?;
    if !params.users.is_empty() && !search::viewer(user).admin {
        return Err(ServiceError::AdminOnly.into());
    }
    let mut request = params.request;
    for user in params.users {
        request.filters.users.push(match user.parse::<UserId>() {
            Ok(id) => id,
            Err(_) => match accounts::find_by_email(state, &user).await {
                Ok(found) => found.id,
                Err(ServiceError::NotFound(_) | ServiceError::Invalid(_)) => {
                    return Err(AppError::bad_parameter("user", format!("{user:?} is neither a user id nor the email of an account.")));
                }
                Err(e) => return Err(e.into()),
            },
        });
    }
    Ok(request)
}

/// Searches and lists the generations the caller may see, newest first.
#[utoipa::path(get, operation_id = "search_list", path = "/api/v1/generations", tag = "generations",
    params(
        ("q" = Option<String>, Query, description = "Words and \"phrases\" to find in prompts (500 characters at most)", max_length = 500),
        ("model" = Option<Vec<String>>, Query, description = "Model ids (repeat or comma-separate: any of them)"),
        ("provider" = Option<Vec<String>>, Query, description = "Connection kinds, e.g. `openai_videos`"),
        ("kind" = Option<Vec<String>>, Query, description = "`image` or `video`"),
        ("state" = Option<Vec<String>>, Query, description = "`queued`, `submitting`, `running`, `fetching`, `succeeded`, `failed`, `cancelled`"),
        ("from" = Option<String>, Query, description = "A date (`2026-01-31`, from its start) or an RFC 3339 time"),
        ("to" = Option<String>, Query, description = "A date (to its end) or an RFC 3339 time"),
        ("kept" = Option<bool>, Query, description = "Only kept (`true`) or only not kept (`false`)"),
        ("sound" = Option<bool>, Query, description = "Only generations with an output with sound (`true`) or only without (`false`)"),
        ("user" = Option<Vec<String>>, Query, description = "Admins only: user ids or emails"),
        ("sort" = Option<String>, Query, description = "`newest` (default) or `oldest`"),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page"),
        ("limit" = Option<i64>, Query, description = "Items per page, 1-100 (50)", minimum = 1, maximum = 100),
    ),
    responses(
        (status = 200, body = PageView),
        (status = 403, description = "`user` from a member (`auth.admin_only`)", body = super::openapi::ErrorBody),
        (status = 503, description = "The search index is being rebuilt (`search.unavailable`)", body = super::openapi::ErrorBody),
    ))]
pub async fn list(req: HttpRequest, caller: ApiCaller) -> ApiResult {
    let state = state(&req)?;
    let admin = search::viewer(&caller.user).admin;
    let request = request_for(&state, &caller.user, req.query_string()).await?;
    let for_render = state.clone();
    let body = search::search_then(&state, &caller.user, request, move |page| render(&for_render, &page, admin)).await?;
    let body = body.map_err(|e| AppError::from(ServiceError::Internal(format!("writing the page: {e}"))))?;
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .content_type(actix_web::http::header::ContentType::json())
        .body(body))
}

/// The page as the JSON body of the answer.
fn render(state: &AppState, page: &search::SearchPage, admin: bool) -> serde_json::Result<Vec<u8>> {
    let view = PageView {
        items: page
            .items
            .iter()
            .map(|i| ItemView { generation: GenerationView::new(state, &i.generation, &i.outputs), highlight: &i.highlight })
            .collect(),
        facets: facets_view(&page.facets, admin),
        next_cursor: page.next_cursor.as_deref(),
        total: page.total,
    };
    // about a kilobyte and a half per item: the body rarely needs to grow
    let mut body = Vec::with_capacity(2048 + page.items.len() * 1536);
    serde_json::to_writer(&mut body, &view)?;
    Ok(body)
}

fn facets_view(f: &Facets, admin: bool) -> FacetsView<'_> {
    FacetsView {
        model: &f.model,
        provider: &f.provider,
        kind: &f.kind,
        state: &f.state,
        user: admin.then_some(&f.user),
        with_sound: f.with_sound,
    }
}

/// The parsed parameters; `users` are ids or emails, resolved by the handler.
struct Params {
    request: SearchRequest,
    users: Vec<String>,
}

impl Params {
    fn parse(query: &str) -> Result<Params, AppError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            if !KNOWN.contains(&k.as_ref()) {
                return Err(AppError::bad_parameter(&k, format!("Unknown parameter {k:?}; this endpoint takes {}.", KNOWN.join(", "))));
            }
            pairs.push((k.into_owned(), v.into_owned()));
        }
        let all = |name: &'static str| pairs.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty());
        let one = |name: &'static str| -> Result<Option<&str>, AppError> {
            let mut values = all(name);
            let first = values.next();
            if values.next().is_some() {
                return Err(AppError::bad_parameter(name, format!("Give {name} at most once.")));
            }
            Ok(first)
        };
        let words = |name: &'static str| -> Result<Vec<String>, AppError> {
            all(name)
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| {
                    if v.chars().count() > MAX_VALUE_CHARS {
                        Err(AppError::bad_parameter(name, format!("A {name} value is longer than {MAX_VALUE_CHARS} characters.")))
                    } else {
                        Ok(v.to_string())
                    }
                })
                .collect()
        };
        let order = match one("sort")? {
            None => Order::NewestFirst,
            Some(text) => Order::parse(text).ok_or_else(|| AppError::bad_parameter("sort", "sort must be newest or oldest."))?,
        };
        let limit = match one("limit")? {
            None => DEFAULT_LIMIT,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| AppError::bad_parameter("limit", format!("limit must be a whole number from 1 to {MAX_LIMIT}.")))?,
        };
        let kinds = words("kind")?
            .iter()
            .map(|k| match k.as_str() {
                "image" => Ok(MediaKind::Image),
                "video" => Ok(MediaKind::Video),
                _ => Err(AppError::bad_parameter("kind", "kind must be image or video.")),
            })
            .collect::<Result<_, _>>()?;
        let states = words("state")?
            .iter()
            .map(|s| {
                GenState::ALL.into_iter().find(|g| g.as_str() == s).ok_or_else(|| {
                    let names: Vec<&str> = GenState::ALL.iter().map(|g| g.as_str()).collect();
                    AppError::bad_parameter("state", format!("state must be one of {}.", names.join(", ")))
                })
            })
            .collect::<Result<_, _>>()?;
        let flag = |name: &'static str| match one(name)? {
            None => Ok(None),
            Some("true" | "1" | "yes") => Ok(Some(true)),
            Some("false" | "0" | "no") => Ok(Some(false)),
            Some(_) => Err(AppError::bad_parameter(name, format!("{name} must be true or false."))),
        };
        let (kept, sound) = (flag("kept")?, flag("sound")?);
        let from = one("from")?.map(|t| parse_time("from", t, false)).transpose()?;
        let to = one("to")?.map(|t| parse_time("to", t, true)).transpose()?;
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(AppError::bad_parameter("from", "from is later than to."));
        }
        let text = TextQuery::parse(one("q")?.unwrap_or_default()).map_err(AppError::from)?;
        let cursor = one("cursor")?.map(|c| Cursor::parse(c, order)).transpose().map_err(AppError::from)?;
        let filters =
            Filters { models: words("model")?, providers: words("provider")?, kinds, states, users: Vec::new(), from, to, kept, sound };
        Ok(Params { request: SearchRequest { text, filters, order, cursor, limit }, users: words("user")? })
    }
}

/// An RFC 3339 time, or a date (`2026-01-31`: its first millisecond for `from`, its last for `to`).
fn parse_time(name: &str, text: &str, end_of_day: bool) -> Result<Timestamp, AppError> {
    use time::format_description::well_known::Rfc3339;
    let bad = || AppError::bad_parameter(name, format!("{name} must be a date (2026-01-31) or an RFC 3339 time (2026-01-31T12:00:00Z)."));
    let nanos = match time::OffsetDateTime::parse(text, &Rfc3339) {
        Ok(t) => t.unix_timestamp_nanos(),
        Err(_) => {
            let date = time::Date::parse(text, time::macros::format_description!("[year]-[month]-[day]")).map_err(|_| bad())?;
            let day = date.midnight().assume_utc().unix_timestamp_nanos();
            if end_of_day { day + 86_400_000_000_000 - 1_000_000 } else { day }
        }
    };
    i64::try_from(nanos / 1_000_000).map(Timestamp).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(query: &str) -> AppError {
        Params::parse(query).err().unwrap_or_else(|| panic!("{query:?} was accepted"))
    }

    #[test]
    fn good_parameters_become_a_request() {
        let p = Params::parse("q=red+car&kind=video&state=succeeded,failed&model=a&model=b&kept=true&sort=oldest&limit=7&from=2026-01-01&to=2026-01-31&user=x@y.z").unwrap();
        let r = &p.request;
        assert_eq!(r.limit, 7);
        assert_eq!(r.order, Order::OldestFirst);
        assert_eq!(r.filters.kinds, [MediaKind::Video]);
        assert_eq!(r.filters.states, [GenState::Succeeded, GenState::Failed]);
        assert_eq!(r.filters.models, ["a", "b"]);
        assert_eq!(r.filters.kept, Some(true));
        assert_eq!(r.filters.to.unwrap().millis() - r.filters.from.unwrap().millis(), 31 * 86_400_000 - 1);
        assert_eq!(p.users, ["x@y.z"]);
        assert!(Params::parse("").unwrap().request.text.is_empty());
    }

    #[test]
    fn bad_parameters_are_named() {
        for (query, parameter) in [
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("limit=ten", "limit"),
            ("kind=audio", "kind"),
            ("state=done", "state"),
            ("kept=maybe", "kept"),
            ("from=yesterday", "from"),
            ("from=2026-02-01&to=2026-01-01", "from"),
            ("sort=random", "sort"),
            ("cursor=%%%", "cursor"),
            ("limit=1&limit=2", "limit"),
            ("colour=red", "colour"),
        ] {
            let e = err(query);
            assert_eq!(e.status, 400, "{query}");
            assert_eq!(e.details, Some(serde_json::json!({ "parameter": parameter })), "{query}");
        }
    }
}
