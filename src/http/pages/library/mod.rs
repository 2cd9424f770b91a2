//! The library: a grid of what the caller may see, from the search service (empty query =
//! newest first), with a search box, filters with facet counts, "Load more" by cursor, and
//! bulk keep, delete and ZIP download of a selection.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde::de::IntoDeserializer;

mod cards;
mod chips;
mod days;

use self::chips::Chip;
use self::days::Day;
use super::layout::Layout;
use crate::domain::ids::GenerationId;
use crate::error::AppError;
use crate::http::api::search::request_for;
use crate::http::auth::{SignedIn, state};
use crate::http::responses::{FlashKind, PageResult, ok, redirect_with};
use crate::services::{ServiceError, privacy::archive, studio::library, studio::search};

/// A filter option with its facet count.
pub struct Choice {
    pub value: String,
    /// The value as the page's language says it.
    pub shown: String,
    pub count: u64,
    pub checked: bool,
}

/// One filter group (`name` is the query parameter).
pub struct Group {
    pub name: &'static str,
    pub label: String,
    pub choices: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "library/index.html")]
struct LibraryPage {
    layout: Layout,
    /// The page's translator, for the cards it includes.
    tr: crate::i18n::Tr,
    q: String,
    from: String,
    to: String,
    sort: String,
    kept: String,
    /// The "with sound" filter as given (`true`, `false` or empty).
    sound: String,
    /// How many of the results have sound.
    with_sound: u64,
    groups: Vec<Group>,
    /// The active filters, each removable.
    chips: Vec<Chip>,
    /// The library without any filter (shown beside two or more chips).
    clear_all: String,
    total: u64,
    /// Whether the page has no card at all.
    empty: bool,
    days: Vec<Day>,
    more: Option<String>,
    /// How many of the viewer's outputs retention deletes within a week (the banner).
    expiring: u64,
    /// The boards the viewer edits, for "add to board": (id, name).
    boards: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "library/cards.html")]
struct CardsPartial {
    days: Vec<Day>,
    more: Option<String>,
    tr: crate::i18n::Tr,
}

/// The query's pairs, decoded.
fn pairs(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

/// The page's own parameter, beside the search's: the day the previous page ended with, so
/// "Load more" continues that day without a second heading.
pub const CONTINUED_DAY: &str = "shown_day";

/// The "Load more" URL: the same query with the next cursor and the last day shown.
fn more_url(pairs: &[(String, String)], cursor: Option<&str>, last_day: Option<&str>) -> Option<String> {
    let cursor = cursor?;
    let base = chips::library_url(pairs.iter());
    let mut paging = url::form_urlencoded::Serializer::new(String::new());
    paging.append_pair("cursor", cursor);
    if let Some(day) = last_day {
        paging.append_pair(CONTINUED_DAY, day);
    }
    Some(format!("{base}{}{}", if base.contains('?') { '&' } else { '?' }, paging.finish()))
}

/// `GET /library`: the page, or only the next cards for htmx's "Load more".
pub async fn show(req: HttpRequest, who: SignedIn) -> PageResult {
    let state = state(&req)?;
    let (continued, pairs): (Vec<_>, Vec<_>) = pairs(req.query_string()).into_iter().partition(|(k, _)| k == CONTINUED_DAY);
    let search_query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
    let request = request_for(&state, &who.user, &search_query).await?;
    let page = search::search(&state, &who.user, request.clone()).await?;
    let cards = cards::cards(&state, &who.user, page.items, &crate::http::lang::tr(&req)).await?;
    let empty = cards.is_empty();
    let more = more_url(&pairs, page.next_cursor.as_deref(), cards.last().map(|c| c.day.as_str()));
    let now = crate::domain::time::Timestamp::now();
    if req.headers().contains_key("hx-request") {
        let continued = continued.first().map(|(_, day)| day.as_str());
        let tr = crate::http::lang::tr(&req);
        return ok(&req, &CardsPartial { days: days::group(cards, now, continued, &tr), more, tr });
    }
    let value = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let f = &request.filters;
    let selected = |name: &str| -> Vec<String> {
        match name {
            "model" => f.models.clone(),
            "provider" => f.providers.clone(),
            "kind" => f.kinds.iter().map(|k| k.as_str().to_string()).collect(),
            _ => f.states.iter().map(|s| s.as_str().to_string()).collect(),
        }
    };
    let facets = &page.facets;
    let tr = crate::http::lang::tr(&req);
    let groups = [
        ("kind", tr.t("filter-kind"), &facets.kind),
        ("model", tr.t("field-model"), &facets.model),
        ("provider", tr.t("generation-provider"), &facets.provider),
        ("state", tr.t("filter-state"), &facets.state),
    ]
    .into_iter()
    .map(|(name, label, counts)| {
        let chosen = selected(name);
        // kinds and states in the page's language; models and providers by their names
        let shown = |v: &String| match (name, v.as_str()) {
            ("kind", "image" | "video") => tr.t(&format!("kind-{v}")),
            ("state", _) => tr.state_name(v),
            _ => v.clone(),
        };
        let mut choices: Vec<Choice> =
            counts.iter().map(|(v, n)| Choice { shown: shown(v), value: v.clone(), count: *n, checked: chosen.contains(v) }).collect();
        for v in chosen.iter().filter(|v| !counts.contains_key(*v)) {
            choices.push(Choice { shown: shown(v), value: v.clone(), count: 0, checked: true });
        }
        Group { name, label, choices }
    })
    .collect();
    let expiring = crate::services::privacy::retention::expiring_soon(&state, &who.user, now).await?;
    let boards = crate::services::studio::boards::editable(&state, &who.user).await?;
    let layout = Layout::new(&req, Some(&who.user));
    ok(
        &req,
        &LibraryPage {
            tr,
            expiring,
            boards,
            layout,
            q: value("q"),
            from: value("from"),
            to: value("to"),
            sort: value("sort"),
            kept: value("kept"),
            sound: value("sound"),
            with_sound: page.facets.with_sound,
            groups,
            chips: chips::chips(&pairs, &tr),
            clear_all: chips::clear_all(&pairs),
            total: page.total,
            empty,
            days: days::group(cards, now, None, &tr),
            more,
        },
    )
}

/// The selection of a bulk form: `id` fields, each a generation id.
fn selected_ids(fields: &[(String, String)]) -> Result<Vec<GenerationId>, AppError> {
    fields
        .iter()
        .filter(|(k, _)| k == "id")
        .map(|(_, v)| v.parse().map_err(|_| AppError::bad_parameter("id", format!("{v:?} is not a generation id."))))
        .collect()
}

/// What a bulk form does to the selection (its `action` button's value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum BulkAction {
    Keep,
    Unkeep,
    Delete,
    Zip,
}

/// The form's `action` field; a missing or unknown one is 400 naming the choices.
fn bulk_action(fields: &[(String, String)]) -> Result<BulkAction, AppError> {
    let text = fields.iter().find(|(k, _)| k == "action").map(|(_, v)| v.as_str()).unwrap_or_default();
    BulkAction::deserialize(text.into_deserializer())
        .map_err(|_: serde::de::value::Error| AppError::bad_parameter("action", "action must be keep, unkeep, delete or zip."))
}

/// `POST /library/bulk` with `action` = keep, unkeep, delete or zip and one `id` per selected
/// generation. Nothing changes unless every id is the caller's; a delete with a running or
/// held generation in the selection deletes nothing and says which one.
pub async fn bulk(req: HttpRequest, who: SignedIn, form: web::Form<Vec<(String, String)>>) -> PageResult {
    let state = state(&req)?;
    let fields = form.into_inner();
    let ids = selected_ids(&fields)?;
    let action = bulk_action(&fields)?;
    let back = state.urls().library();
    match action {
        BulkAction::Keep | BulkAction::Unkeep => {
            let keep = action == BulkAction::Keep;
            let n = library::keep(&state, &who.user, ids, keep).await?;
            let tr = crate::http::lang::tr(&req);
            let message = tr.t_args(if keep { "flash-bulk-kept" } else { "flash-bulk-unkept" }, &[("count", n.into())]);
            Ok(redirect_with(back, FlashKind::Success, &message))
        }
        BulkAction::Delete => match library::delete(&state, &who.ctx(), &who.user, ids).await {
            Ok(n) => {
                let message = crate::http::lang::tr(&req).t_args("flash-bulk-deleted", &[("count", n.into())]);
                Ok(redirect_with(back, FlashKind::Success, &message))
            }
            Err(e @ (ServiceError::Conflict(_) | ServiceError::LegalHold(_))) => Ok(redirect_with(
                back,
                FlashKind::Error,
                &crate::http::responses::error_text(&crate::http::lang::tr(&req), &AppError::from(e)),
            )),
            Err(e) => Err(e.into()),
        },
        BulkAction::Zip => {
            let slot = state.archives.claim(who.user.id).map_err(AppError::archives_busy)?;
            let chosen = library::selection(&state, &who.user, ids).await?;
            let name = format!("reelvault-{}.zip", crate::domain::time::Timestamp::now().millis());
            Ok(HttpResponse::Ok()
                .content_type("application/zip")
                .insert_header(("content-disposition", format!("attachment; filename=\"{name}\"")))
                .insert_header(("cache-control", "no-store"))
                .streaming(archive::stream(state, slot, chosen)))
        }
    }
}
