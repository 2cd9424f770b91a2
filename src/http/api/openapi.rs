//! The OpenAPI 3.1 document of `/api/v1`, generated from the handlers' `#[utoipa::path]`
//! attributes and the `ToSchema` types they name. What every operation shares (security, the
//! error responses of authentication, CSRF, malformed input and an unavailable store) is added
//! here, once, by `Shared`.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Schema};
use utoipa::{Modify, OpenApi, ToSchema};

use super::{
    account, admin_instance, admin_users, admin_workers, batches, boards, cast, catalog, credits, export, generations, me, models, presets,
    search, shares, spending, usage, webhooks,
};

/// The one error body of every API: a stable code, a message for people and particulars.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable and machine-readable, e.g. `generation.model_disabled`, `invalid_parameter`.
    #[schema(example = "not_found")]
    pub code: String,
    /// For people; may change between versions.
    pub message: String,
    /// Machine-readable particulars (e.g. `{"parameter": "limit"}`), `null` when none.
    #[schema(value_type = Option<Object>, required = true)]
    pub details: Option<serde_json::Value>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "reelvault API",
        description = "The JSON API of reelvault: everything the web UI does. Authenticate with a personal API \
            token (`Authorization: Bearer rv_…`) or a browser session cookie, which needs the `X-CSRF-Token` \
            header on unsafe methods. Every error is `{code, message, details}`."
    ),
    paths(
        document,
        me::show, spending::standing,
        account::show, account::update, account::delete, account::erase_content,
        export::show, export::start,
        credits::balance, credits::ledger,
        models::list, catalog::show,
        generations::upload, search::list, generations::create, generations::show, generations::descendants, generations::delete,
        generations::cancel, generations::keep, generations::unkeep, generations::share, generations::unshare,
        presets::list, presets::create, presets::show, presets::update, presets::delete, presets::generate, presets::use_successor,
        cast::list, cast::create, cast::show, cast::update, cast::delete, cast::add_image,
        usage::show,
        boards::list, boards::create, boards::show, boards::update, boards::delete,
        boards::members, boards::add_member, boards::set_role, boards::remove_member,
        boards::add_items, boards::note, boards::remove_item, boards::order, boards::zip,
        shares::list, shares::create, shares::show, shares::revoke, shares::sharing, shares::set_sharing,
        batches::list, batches::create, batches::show, batches::start, batches::stop, batches::resume, batches::delete,
        webhooks::list, webhooks::create, webhooks::delete, webhooks::deliveries,
        admin_users::list, admin_users::invite, admin_users::update, admin_users::reset_link,
        admin_users::grant_credits, admin_users::set_generation_hold,
        admin_instance::connections, admin_instance::add_connection, admin_instance::remove_connection,
        admin_instance::test_connection, admin_instance::model_policies, admin_instance::save_model_policy,
        admin_instance::set_model_override, admin_instance::remove_model_override,
        admin_instance::add_model, admin_instance::edit_model, admin_instance::revert_model, admin_instance::remap,
        admin_instance::import, admin_instance::discover, admin_instance::due,
        admin_instance::data_use, admin_instance::set_data_use,
        admin_instance::retention, admin_instance::run_retention, admin_instance::audit,
        admin_instance::reconciliation, admin_instance::reconciliation_csv,
        admin_workers::list, admin_workers::media,
        spending::list, spending::approve, spending::decline,
        spending::settings, spending::save_settings,
    ),
    components(schemas(ErrorBody)),
    tags(
        (name = "account", description = "The caller: profile, data export, deletion"),
        (name = "generations", description = "Generating, listing, searching and managing images and videos"),
        (name = "uploads", description = "Reference images"),
        (name = "presets", description = "Saved models, parameters and prompt templates with placeholders; generating from them"),
        (name = "cast", description = "Named sets of reference images (and a voice clip) that become a model's references"),
        (name = "models", description = "The model catalog as the caller sees it"),
        (name = "credits", description = "Balance and ledger"),
        (name = "approvals", description = "Jobs priced above their requester's threshold, waiting for an approver"),
        (name = "boards", description = "Shared, ordered collections of generations: members, items, notes, ZIP"),
        (name = "batches", description = "Many generations from one CSV or JSON manifest: dry run, budget, progress per row, stop and resume"),
        (name = "sharing", description = "Read-only links to a generation or a board for people without an account"),
        (name = "webhooks", description = "Signed completion events sent to the caller's URLs, and their delivery log"),
        (name = "admin", description = "Admins only: people, credits, connections, model policy, retention, audit, reconciliation"),
        (name = "meta", description = "This document"),
    ),
    modifiers(&Shared)
)]
pub struct ApiDoc;

/// Paths of the document that need no credential.
const PUBLIC: [&str; 1] = ["/api/v1/openapi.json"];

/// Adds the security schemes and, to every operation, the security it needs and the error
/// responses that any operation of its shape can return.
struct Shared;

impl Modify for Shared {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("rv_…")
                    .description(Some("A personal API token (API tokens page, or `reelvault token create`)."))
                    .build(),
            ),
        );
        components.add_security_scheme("session", SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("rv_session"))));
        components.add_security_scheme(
            "csrf",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-CSRF-Token",
                "With a session cookie, unsafe methods also need this header (the page's CSRF token) and a same-origin request.",
            ))),
        );
        // the catalog's model ids, so a client (or a fuzzer) knows which `model` values exist
        let models: Vec<serde_json::Value> =
            crate::domain::catalog::Catalog::shipped().models().iter().map(|m| m.id.as_str().into()).collect();
        for name in ["CreateBody", "CreateForm"] {
            if let Some(RefOr::T(Schema::Object(body))) = components.schemas.get_mut(name)
                && let Some(RefOr::T(Schema::Object(model))) = body.properties.get_mut("model")
            {
                model.enum_values = Some(models.clone());
            }
        }
        for (path, item) in doc.paths.paths.iter_mut() {
            let public = PUBLIC.contains(&path.as_str());
            let has_path_params = path.contains('{');
            for (unsafe_method, op) in [
                (false, item.get.as_mut()),
                (true, item.post.as_mut()),
                (true, item.put.as_mut()),
                (true, item.patch.as_mut()),
                (true, item.delete.as_mut()),
            ] {
                if let Some(op) = op {
                    complete(op, public, unsafe_method, has_path_params);
                }
            }
        }
    }
}

fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build())
        .build()
        .into()
}

fn complete(op: &mut Operation, public: bool, unsafe_method: bool, has_path_params: bool) {
    let takes_query = op
        .parameters
        .as_ref()
        .is_some_and(|p| p.iter().any(|p| matches!(p, RefOr::T(p) if p.parameter_in == utoipa::openapi::path::ParameterIn::Query)));
    let mut add = |status: &str, description: &str| {
        op.responses.responses.entry(status.to_string()).or_insert_with(|| error_response(description));
    };
    if op.request_body.is_some() || takes_query {
        add("400", "The request is malformed (`bad_request`) or a parameter cannot be used (`invalid_parameter`).");
    }
    if op.request_body.is_some() {
        add("413", "The body is too large (`request.too_large`, `upload.too_large`).");
        add("415", "The body has the wrong content type (`request.content_type`).");
    }
    if has_path_params {
        add("404", "Nothing with this id is visible to the caller (`not_found`).");
    }
    if !public {
        add("401", "No valid credential (`auth.required`, `auth.invalid_token`, `auth.malformed_authorization`).");
        if unsafe_method {
            add("403", "A session request without same-origin headers and a CSRF token (`csrf.*`), or not allowed.");
        }
        add(
            "429",
            "An API token over its requests per minute or unfinished generations (`rate_limited`); `Retry-After` says when to try again.",
        );
        add("503", "The store is busy (`store.unavailable`); try again.");
    }
    if !public {
        let mut session = SecurityRequirement::new("session", Vec::<String>::new());
        if unsafe_method {
            session = session.add("csrf", Vec::<String>::new());
        }
        op.security = Some(vec![SecurityRequirement::new("bearer", Vec::<String>::new()), session]);
    }
}

/// The document, built once.
pub fn doc() -> &'static utoipa::openapi::OpenApi {
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = ApiDoc::openapi();
        doc.info.version = env!("CARGO_PKG_VERSION").to_string();
        doc
    })
}

/// `GET /api/v1/openapi.json`: this document.
#[utoipa::path(get, operation_id = "openapi_document", path = "/api/v1/openapi.json", tag = "meta", responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(doc())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn documented() -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for (path, item) in &doc().paths.paths {
            for (method, op) in
                [("GET", &item.get), ("POST", &item.post), ("PUT", &item.put), ("PATCH", &item.patch), ("DELETE", &item.delete)]
            {
                if op.is_some() {
                    out.insert((method.to_string(), path.clone()));
                }
            }
        }
        out
    }

    #[test]
    fn the_document_describes_every_route_and_no_other() {
        let registered: BTreeSet<(String, String)> = super::super::routes().into_iter().map(|(m, p)| (m.to_string(), p)).collect();
        let documented = documented();
        let undocumented: Vec<_> = registered.difference(&documented).collect();
        let phantom: Vec<_> = documented.difference(&registered).collect();
        assert!(undocumented.is_empty(), "routes without an OpenAPI operation: {undocumented:?}");
        assert!(phantom.is_empty(), "documented operations that are not routes: {phantom:?}");
    }

    #[test]
    fn the_model_of_a_new_generation_is_one_of_the_catalog() {
        let json = serde_json::to_value(doc()).unwrap();
        let models = &json["components"]["schemas"]["CreateBody"]["properties"]["model"]["enum"];
        assert!(models.as_array().unwrap().contains(&serde_json::json!("demo-video")), "{models}");
    }

    #[test]
    fn operation_ids_are_unique() {
        let json = serde_json::to_value(doc()).unwrap();
        let mut seen = BTreeSet::new();
        for item in json["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                let id = op["operationId"].as_str().unwrap().to_string();
                assert!(seen.insert(id.clone()), "operationId {id} twice");
            }
        }
    }

    #[test]
    fn every_operation_has_an_id_a_tag_and_error_responses_with_the_error_body() {
        let json = serde_json::to_value(doc()).unwrap();
        assert_eq!(json["openapi"], "3.1.0");
        for (path, item) in json["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                assert!(op["operationId"].is_string(), "{method} {path}");
                assert!(op["tags"][0].is_string(), "{method} {path}");
                for (status, response) in op["responses"].as_object().unwrap() {
                    if status.starts_with('4') || status.starts_with('5') {
                        assert_eq!(
                            response["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorBody",
                            "{method} {path} {status}"
                        );
                    }
                }
            }
        }
    }
}
