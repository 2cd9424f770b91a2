//! Compare: one prompt to up to [`MOST`] models at once, each run (and charged) as its own
//! generation with the model's default parameters. Every model is checked before any is
//! submitted, so a refused request holds nothing.

use std::collections::BTreeMap;

use actix_multipart::Multipart;
use actix_web::HttpRequest;
use actix_web::http::StatusCode;

use super::{FORM, Picked, page, pick, result};
use crate::domain::catalog::InputError;
use crate::domain::generation::Generation;
use crate::domain::user::User;
use crate::error::AppError;
use crate::http::auth::{SignedIn, state};
use crate::http::multipart;
use crate::http::responses::{PageResult, redirect};
use crate::services::ServiceError;
use crate::services::state::AppState;
use crate::services::studio::generations::{self, NewGeneration};
use crate::services::studio::models;
use crate::services::team::credits;

/// The most models one compare may run.
pub const MOST: usize = 4;

/// What a compare form sends: the models (each `model` field once) and the prompt.
#[derive(Default)]
struct Request {
    models: Vec<String>,
    prompt: String,
}

async fn read(payload: Multipart, state: &AppState) -> Result<Request, AppError> {
    let mut form = multipart::Reader::new(payload, FORM, state.config.limits.largest_upload());
    let mut request = Request::default();
    // reference files, when a form sends them, are not used: each model gets the prompt only
    while let Some(part) = form.next().await? {
        let multipart::Part::Text { name, value } = part else { continue };
        match name.as_str() {
            "model" if !value.trim().is_empty() && !request.models.contains(&value) => request.models.push(value),
            "prompt" => request.prompt = value,
            _ => {}
        }
    }
    Ok(request)
}

/// Refuses the whole request unless every model would be accepted, as
/// [`generations::submit`] checks it (access, prompt, default parameters, required
/// references), and the person's credits cover all of them together.
async fn check_all(state: &AppState, user: &User, request: &Request) -> Result<(), AppError> {
    let unprocessable = |code, message: String| AppError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message);
    if request.models.is_empty() {
        return Err(unprocessable("compare.no_models", "Pick the models to compare.".into()));
    }
    if request.models.len() > MOST {
        let message = format!("Compare at most {MOST} models at once ({} were picked).", request.models.len());
        return Err(unprocessable("compare.too_many", message));
    }
    crate::services::privacy::restriction::ensure_not_frozen(user)?;
    let prompt = request.prompt.trim();
    if prompt.is_empty() {
        return Err(ServiceError::from(InputError::on("prompt", "write a prompt")).into());
    }
    let mut total = 0;
    for id in &request.models {
        let offer = models::offer(state, user, id).await?;
        offer.check()?;
        let spec = &offer.spec;
        if prompt.chars().count() > spec.max_prompt_chars {
            let message = format!("the prompt is longer than {} characters, the most {} takes", spec.max_prompt_chars, spec.label);
            return Err(ServiceError::from(InputError::on("prompt", message)).into());
        }
        let params = spec.resolve_params(&BTreeMap::new(), 0).map_err(ServiceError::from)?;
        spec.check_inputs(&[]).map_err(|e| {
            let message = format!("{} needs more than a prompt ({}); compare it without references is not possible", spec.label, e.message);
            ServiceError::from(InputError::on(e.field, message))
        })?;
        total += offer.price.of(&params);
    }
    credits::balance(state, user.id).await?.hold(total).map_err(ServiceError::from)?;
    Ok(())
}

/// Submits one generation per model, after [`check_all`]. Should a later submit fail after
/// earlier ones went through (a race with another spend), those are kept and returned.
async fn run(state: &AppState, who: &SignedIn, request: &Request) -> Result<(Vec<Generation>, Option<AppError>), AppError> {
    check_all(state, &who.user, request).await?;
    let mut made = Vec::new();
    for model in &request.models {
        let single = NewGeneration { model: model.clone(), prompt: request.prompt.clone(), ..NewGeneration::default() };
        match generations::submit(state, &who.ctx(), &who.user, single).await {
            Ok(g) => made.push(g),
            Err(e) if made.is_empty() => return Err(e.into()),
            Err(e) => return Ok((made, Some(e.into()))),
        }
    }
    Ok((made, None))
}

/// `POST /generate/compare`: the result cards side by side (for the page's script), or the
/// library (for a plain form post); a refusal names what to fix and submits nothing.
pub async fn submit(req: HttpRequest, who: SignedIn, payload: Multipart) -> PageResult {
    let state = state(&req)?;
    let request = read(payload, &state).await?;
    let script = result::from_script(&req);
    match run(&state, &who, &request).await {
        Ok((made, late)) if script => {
            let mut html = result::cards(&req, &state, &made);
            if let Some(e) = late {
                html.push_str(&result::error_line(&e, &crate::http::lang::tr(&req)));
            }
            Ok(result::cards_answer(&state, &who.user, html).await)
        }
        Ok(_) => Ok(redirect(state.urls().library())),
        Err(e) if script => Ok(result::error(&e, &crate::http::lang::tr(&req))),
        Err(e) if e.status.is_client_error() => {
            let picked: Picked = pick(&state, &who.user, request.models.first().map(String::as_str), &crate::http::lang::tr(&req)).await?;
            let values = BTreeMap::new();
            page(
                &req,
                &who,
                picked,
                request.prompt,
                String::new(),
                values,
                Vec::new(),
                (None, None),
                &BTreeMap::new(),
                Some(crate::http::responses::error_text(&crate::http::lang::tr(&req), &e)),
                e.status,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
