//! The start page of a signed-in person: a prompt box that submits from here, their running
//! jobs with live progress, their latest outputs as a grid, and for admins a "getting
//! started" list until the studio is set up.

use actix_web::HttpRequest;
use askama::Template;

use super::layout::Layout;
use crate::domain::credits::Balance;
use crate::domain::generation::{GenState, Generation};
use crate::domain::user::{Role, User};
use crate::http::auth::{SignedIn, state};
use crate::http::responses::{PageResult, ok};
use crate::services::state::AppState;
use crate::services::studio::{media, models};
use crate::services::team::catalog::{self, Due};
use crate::services::team::getting_started;
use crate::services::{ServiceResult, studio::generations, team::credits};

/// How many of the latest outputs the grid shows.
const LATEST: usize = 12;
/// How far back the page looks for running jobs and outputs.
const LOOK_BACK: usize = 60;

/// A model in the prompt box's picker.
struct Pick {
    id: String,
    label: String,
    /// "6 credits per image", "free".
    price: String,
}

/// One of the latest outputs.
struct Tile {
    href: String,
    thumb: Option<String>,
    prompt: String,
    is_video: bool,
}

/// One step of the getting-started list, with what the page says of it.
struct StartStep {
    key: &'static str,
    done: bool,
    title: String,
    hint: String,
    href: String,
    action: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    user: User,
    is_admin: bool,
    balance: Balance,
    picks: Vec<Pick>,
    running: Vec<Generation>,
    latest: Vec<Tile>,
    /// For admins, until every step is done.
    getting_started: Vec<StartStep>,
    /// For admins: models that shut down soon and what still names them.
    due: Vec<Due>,
}

pub async fn show(req: HttpRequest, who: SignedIn) -> PageResult {
    let state = state(&req)?;
    let is_admin = who.user.role == Role::Admin;
    let balance = credits::balance(&state, who.user.id).await?;
    let recent = generations::list(&state, who.user.id, None, LOOK_BACK).await?;
    let running: Vec<Generation> = recent.iter().filter(|g| !g.state.is_terminal()).cloned().collect();
    let latest = tiles(&state, recent.into_iter().filter(|g| g.state == GenState::Succeeded).take(LATEST).collect()).await?;
    let tr = crate::http::lang::tr(&req);
    let picks = models::offers(&state, &who.user)
        .await?
        .into_iter()
        .filter(models::Offer::usable)
        .map(|o| Pick { id: o.spec.id.clone(), label: o.spec.label.clone(), price: tr.price(&o.price) })
        .collect();
    let getting_started = if is_admin { start_steps(&state, &who.user, &tr).await? } else { Vec::new() };
    let due = if is_admin { catalog::due(&state).await? } else { Vec::new() };
    let layout = Layout::new(&req, Some(&who.user));
    ok(&req, &HomePage { layout, user: who.user, is_admin, balance, picks, running, latest, getting_started, due })
}

/// The grid tiles of `generations` (their first output each).
async fn tiles(state: &AppState, generations: Vec<Generation>) -> ServiceResult<Vec<Tile>> {
    let outputs = media::assets(state, generations.iter().filter_map(|g| g.outputs.first().copied()).collect()).await?;
    let posters = media::assets(state, outputs.iter().filter_map(|a| a.poster).collect()).await?;
    Ok(generations
        .into_iter()
        .map(|g| {
            let output = g.outputs.first().and_then(|id| outputs.iter().find(|a| a.id == *id));
            let poster = output.and_then(|a| a.poster).and_then(|p| posters.iter().find(|a| a.id == p));
            Tile {
                href: state.urls().generation(g.id),
                thumb: output.and_then(|o| media::thumbnail_link(state, o, poster)),
                prompt: g.prompt,
                is_video: output.is_some_and(|o| o.is_video()),
            }
        })
        .collect())
}

/// The getting-started list, empty once every step is done.
async fn start_steps(state: &AppState, admin: &User, tr: &crate::i18n::Tr) -> ServiceResult<Vec<StartStep>> {
    let steps = getting_started::steps(state, admin).await?;
    let urls = state.urls();
    Ok(steps
        .into_iter()
        .map(|s| {
            let (title, hint, href, action) = match s.key {
                "demo" => (
                    tr.t("start-demo-title"),
                    tr.t("start-demo-hint"),
                    format!("{}?model=demo-video", urls.generate()),
                    tr.t("start-demo-action"),
                ),
                "provider" => (
                    tr.t("start-provider-title"),
                    tr.t("start-provider-hint"),
                    urls.admin_connections().to_string(),
                    tr.t("start-provider-action"),
                ),
                "team" => (tr.t("start-team-title"), tr.t("start-team-hint"), urls.admin_users().to_string(), tr.t("start-team-action")),
                _ => {
                    (tr.t("start-credits-title"), tr.t("start-credits-hint"), urls.admin_users().to_string(), tr.t("start-credits-action"))
                }
            };
            StartStep { key: s.key, done: s.done, title, hint, href, action }
        })
        .collect())
}
