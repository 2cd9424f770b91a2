//! The model catalog pages: `/models` shows every model as the signed-in person sees it, as
//! cards with filters, `/models/{id}` shows one in full with its provider's data-use facts.

mod filters;

use self::filters::{Filters, ListQuery};
use super::layout::Layout;
use crate::domain::catalog::data_use::{DataUse, Input};
use crate::domain::catalog::{CatalogDate, ParamKind, ParamSpec, Sound};
use crate::error::AppError;
use crate::http::auth::{SignedIn, state};
use crate::http::responses::{PageResult, ok};
use crate::i18n::Tr;
use crate::services::ServiceError;
use crate::services::state::AppState;
use crate::services::studio::models::{self, Offer};
use actix_web::{HttpRequest, web};
use askama::Template;

/// One parameter as the pages show it.
pub struct ParamLine {
    pub name: String,
    pub label: String,
    pub allowed: String,
}

/// A parameter's allowed values, in words.
fn allowed(spec: &ParamSpec) -> String {
    match &spec.kind {
        ParamKind::Choice { values, default } => format!("{} (default {default})", values.join(", ")),
        ParamKind::Number { values, default } => {
            let list: Vec<String> = values.iter().map(i64::to_string).collect();
            format!("{} (default {default})", list.join(", "))
        }
        ParamKind::Range { min, max, default } => format!("{min} to {max} (default {default})"),
        ParamKind::Seed => format!("0 to {}, random when empty", u32::MAX),
    }
}

/// A model with what the pages add to it: its provider's name and its parameters in words.
pub struct Entry {
    pub offer: Offer,
    pub provider: String,
    pub params: Vec<ParamLine>,
    /// The page's language.
    tr: Tr,
}

impl Entry {
    fn new(offer: Offer, state: &AppState, tr: Tr) -> Entry {
        let provider = state.data_use.get(&offer.spec.provider).map_or_else(|| offer.spec.provider.to_string(), |d| d.provider.clone());
        let params = offer
            .spec
            .params
            .iter()
            .map(|p| ParamLine { name: p.name.clone(), label: tr.param_label(&p.label), allowed: allowed(p) })
            .collect();
        Entry { offer, provider, params, tr }
    }

    /// The effective price in words; none for a model that is never available.
    pub fn price(&self) -> String {
        if self.offer.spec.unavailable.is_some() { self.tr.t("models-not-offered") } else { self.tr.price(&self.offer.price) }
    }

    /// A deprecated model's warning (its shutdown date and successor), as of today.
    pub fn warning(&self) -> Option<String> {
        self.tr.lifecycle_warning(&self.offer.spec.lifecycle, CatalogDate::today())
    }

    /// The model's status today ("Preview", "Generally available", "Deprecated", "Retired").
    pub fn status(&self) -> String {
        self.tr.lifecycle_status(self.offer.spec.lifecycle.status_on(CatalogDate::today()))
    }

    /// Where the model is in its life today (`current`, `deprecated`, `retired`): its card's badge.
    pub fn stage(&self) -> &'static str {
        filters::stage_of(&self.offer, CatalogDate::today()).as_str()
    }

    /// Whether its outputs can have sound.
    pub fn has_sound(&self) -> bool {
        self.offer.spec.sound != Sound::None
    }

    /// Whether its videos have sound, in words.
    pub fn sound(&self) -> String {
        self.tr.t(match self.offer.spec.sound {
            Sound::None => "models-sound-no",
            Sound::Always => "models-sound-yes",
            Sound::Optional => "models-sound-choice",
        })
    }

    /// The reference roles the model takes, in words ("First frame, Last frame").
    pub fn references(&self) -> String {
        let roles: Vec<String> = self
            .offer
            .spec
            .inputs
            .iter()
            .map(|i| {
                let role = self.tr.reference_role(i.role);
                if i.required { self.tr.t_args("models-required-role", &[("role", role.into())]) } else { role }
            })
            .collect();
        if roles.is_empty() { self.tr.t("models-no-references") } else { roles.join(self.tr.t("list-separator").as_str()) }
    }
}

/// A provider the filter offers: its connection kind and its name.
pub struct ProviderChoice {
    pub value: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "models/list.html")]
struct ListPage {
    layout: Layout,
    entries: Vec<Entry>,
    /// How many models the catalog has before filtering.
    of: usize,
    /// The form's fields as given, to show them again.
    query: ListQuery,
    providers: Vec<ProviderChoice>,
}

/// `GET /models`: the catalog as cards, filtered by the query string.
pub async fn list(req: HttpRequest, who: SignedIn, query: web::Query<ListQuery>) -> PageResult {
    let state = state(&req)?;
    let query = query.into_inner();
    let filters = Filters::parse(&query)?;
    let offers = models::offers(&state, &who.user).await?;
    let of = offers.len();
    let mut providers: Vec<ProviderChoice> = Vec::new();
    for offer in &offers {
        if !providers.iter().any(|p| p.value == offer.spec.provider) {
            let label = state.data_use.get(&offer.spec.provider).map_or_else(|| offer.spec.provider.clone(), |d| d.provider.clone());
            providers.push(ProviderChoice { value: offer.spec.provider.clone(), label });
        }
    }
    providers.sort_by_key(|p| p.label.to_lowercase());
    let today = CatalogDate::today();
    let entries =
        offers.into_iter().filter(|o| filters.keeps(o, today)).map(|o| Entry::new(o, &state, crate::http::lang::tr(&req))).collect();
    let page = ListPage { layout: Layout::new(&req, Some(&who.user)), entries, of, query, providers };
    ok(&req, &page)
}

#[derive(Template)]
#[template(path = "models/show.html")]
struct ShowPage {
    layout: Layout,
    entry: Entry,
    data_use: Option<DataUse>,
    /// What a generation with this model sends to the provider.
    sends: Vec<Input>,
}

pub async fn show(req: HttpRequest, who: SignedIn, id: web::Path<String>) -> PageResult {
    let state = state(&req)?;
    let offer = match models::offer(&state, &who.user, &id).await {
        Ok(offer) => offer,
        Err(ServiceError::UnknownModel(_)) => return Err(AppError::not_found().into()),
        Err(other) => return Err(other.into()),
    };
    let data_use = state.data_use.get(&offer.spec.provider).cloned();
    let sends = data_use.as_ref().map(|d| d.receives_for(&offer.spec)).unwrap_or_default();
    let page = ShowPage {
        layout: Layout::new(&req, Some(&who.user)),
        entry: Entry::new(offer, &state, crate::http::lang::tr(&req)),
        data_use,
        sends,
    };
    ok(&req, &page)
}
