//! The adapter kit: what every HTTP adapter shares, so an adapter keeps only its wire format.
//!
//! - [`Api`]: one connection's API: the SSRF-guarded client, the base URL, the key attached
//!   as the provider wants it ([`Auth`]), and [`Api::send`], which maps every non-success
//!   answer through the adapter's [`ErrorTable`].
//! - [`BaseUrl`] (`base_url`): where the provider keeps its API version (in the base, in each
//!   path, none) and its default; any configured form of the base resolves to one.
//! - [`ErrorTable`] (`errors`): status-and-body → [`ProviderError`]. The adapter declares how
//!   its error body reads and which of its codes decide a class; the kit reads the body and
//!   `Retry-After`, and falls back to the shared classes by words and status.
//! - [`fetch_keyless`] / [`stream_body`] (`download`): outputs on signed or public URLs,
//!   fetched without credentials and capped in size.
//! - `media`: typed parameter readers and image types from formats, extensions and URLs.
//! - [`StatusWords`] (`poll`): a provider's job-status words → pending, succeeded or failed;
//!   [`StatusWords::status`] turns a word into the job's status, [`outputs_or_missing`] a
//!   finished job's outputs.
//! - `tags`: a prompt's `@tag` mentions of tagged references, for providers that number them.
//! - [`key_works`]: what a key test says about the account's credit balance.
//! - `testing` (tests only): builders for jobs, connections and references, and the scenarios
//!   every adapter test runs (`assert_submit_errors`, `assert_submit_times_out`,
//!   `assert_key_refused`, `assert_expired_and_oversized_refused`,
//!   `assert_cdn_outputs_fetched_keyless`).
//!
//! # Writing an adapter
//! 1. Declare `static ERRORS: ErrorTable` with a `read` function for the provider's error
//!    body (code, message, a wait named in the body) and the codes that decide a class.
//! 2. Declare the base-URL convention in one line, as the provider's SDK has it:
//!    `pub const BASE: BaseUrl = BaseUrl::in_base("https://api.x.ai/v1")` (the version is the
//!    default's path), `BaseUrl::in_paths("https://api.minimax.io", &["v1", "v2"])` (each path
//!    starts with its version: write them `v1/…`) or `BaseUrl::unversioned(…)`; list the kind's
//!    default and forms in README's base-URL table.
//!    In `new`, build `Api::new(config, BASE, Auth::Bearer, &ERRORS)` (or
//!    `Auth::Header("x-key")`, `Auth::Scheme("Key")`, `Auth::None` with
//!    [`Api::send_with`] for keys minted per call, like Kling's JWT).
//! 3. Write the request bodies and response shapes; send with `api.send(api.client().post(&url)…)`
//!    or [`Api::get_json`] / [`Api::post_json`]; read answers with `wire::read_json`.
//! 4. Map job states with a [`StatusWords`] table and [`StatusWords::status`]; fetch outputs with [`fetch_keyless`] when
//!    they live on a CDN, or `api.send` when they need the key.
//! 5. Where the answer says what the job cost or used, return it with the success
//!    (`UpstreamStatus::Succeeded { usage }`, or [`UpstreamStatus::with_usage`](crate::providers::UpstreamStatus::with_usage)), read with
//!    [`crate::providers::usage`]: never fail a job over an odd report. A cost known at submit
//!    goes in the handle with `usage::stash` and comes back at success with `usage::stashed`.
//! 6. Test against `fake_upstream::FakeUpstream` with `kit::testing::{connection, job}` and
//!    its shared scenarios, `assert_base_url_forms` among them.

mod base_url;
mod download;
mod errors;
mod media;
mod poll;
pub mod tags;
#[cfg(test)]
pub mod testing;

use serde::de::DeserializeOwned;

pub use base_url::{BaseUrl, Region, Version};
pub use download::{fetch_keyless, stream_body};
pub use errors::{BY_STATUS, BusinessCodes, Class, ErrorAnswer, ErrorReport, ErrorTable, business_error};
pub use media::{content_item_of, data_uri, extension_of, image_type_of_format, image_type_of_url, int_param, text_param};
pub use poll::{Phase, StatusWords, outputs_or_missing};

use super::ProviderError;
use super::http::{Credential, OutboundClient, OutboundError, OutboundRequest, read_capped};
use super::wire;
use crate::config::ConnectionConfig;

/// What a key test reports when the API answers with the account's credit balance (in
/// `unit` credits), if it sent one.
pub fn key_works(credits: Option<f64>, unit: &str) -> String {
    match credits {
        Some(credits) => format!("The key works: the account has {credits:.2} {unit} credits."),
        None => "The key works.".into(),
    }
}

/// How a connection's API key goes on a request.
#[derive(Debug, Clone, Copy)]
pub enum Auth {
    /// `Authorization: Bearer <key>`.
    Bearer,
    /// The key as the header named here (`x-key`, `x-goog-api-key`).
    Header(&'static str),
    /// `Authorization: <scheme> <key>` (fal's `Key`).
    Scheme(&'static str),
    /// No key from the configuration (the adapter passes one per call with [`Api::send_with`]).
    None,
}

/// A whole answer with its status and the wait its headers ask for.
#[derive(Debug)]
pub struct RawAnswer {
    pub status: u16,
    pub wait: Option<std::time::Duration>,
    pub body: bytes::Bytes,
}

/// One connection's API: client, base URL, key and error table.
#[derive(Debug, Clone)]
pub struct Api {
    client: OutboundClient,
    base: url::Url,
    key: Option<Credential>,
    errors: &'static ErrorTable,
    headers: &'static [(&'static str, &'static str)],
    /// For providers whose keys are bound to a region: what a refused key may mean.
    region_note: Option<String>,
}

impl Api {
    /// The API of `config` (its base URL, else the default of `base`, resolved by the
    /// convention of `base`), keyed as `auth` says; error answers are read with `errors`.
    pub fn new(config: &ConnectionConfig, base: impl Into<BaseUrl>, auth: Auth, errors: &'static ErrorTable) -> Result<Api, OutboundError> {
        let convention = base.into();
        let base = convention.resolve_for(config.base_url.as_ref(), config.region.as_deref()).map_err(OutboundError::Region)?;
        let region_note = (!convention.regions.is_empty()).then(|| {
            let names: Vec<&str> = convention.regions.iter().map(|r| r.name).collect();
            format!(
                "keys work only in the region that issued them: this connection calls {}; if the key is from another region, set the connection's region ({})",
                base.host_str().unwrap_or_default(),
                names.join(", ")
            )
        });
        let key = match (auth, &config.api_key) {
            (Auth::None, _) | (_, None) => None,
            (Auth::Bearer, Some(key)) => Some(Credential::bearer(key.expose(), &base)?),
            (Auth::Header(name), Some(key)) => Some(Credential::header(name, key.expose(), &base)?),
            (Auth::Scheme(scheme), Some(key)) => Some(Credential::with_scheme(scheme, key.expose(), &base)?),
        };
        Ok(Api { client: wire::client_for(config)?, base, key, errors, headers: &[], region_note })
    }

    /// Also sends the key to HTTPS hosts under `domains` (a provider's regional clusters).
    pub fn key_also_under(mut self, domains: &'static [&'static str]) -> Api {
        self.key = self.key.map(|key| key.also_under(domains));
        self
    }

    /// Headers (not secrets) sent on every API request, such as an API version.
    pub fn with_headers(mut self, headers: &'static [(&'static str, &'static str)]) -> Api {
        self.headers = headers;
        self
    }

    /// The outbound client, to build requests.
    pub fn client(&self) -> &OutboundClient {
        &self.client
    }

    /// The base URL, ending in `/`.
    pub fn base(&self) -> &url::Url {
        &self.base
    }

    /// The connection's key, if it has one.
    pub fn key(&self) -> Option<&Credential> {
        self.key.as_ref()
    }

    /// The adapter's error table.
    pub fn errors(&self) -> &'static ErrorTable {
        self.errors
    }

    /// `path` under the base URL (a leading `/` is ignored: a gateway prefix stays).
    pub fn url(&self, path: &str) -> Result<url::Url, ProviderError> {
        wire::join(&self.base, path.trim_start_matches('/'))
    }

    /// Adds the API's headers and the connection's key to `request`.
    pub fn authorize(&self, request: OutboundRequest) -> OutboundRequest {
        self.authorize_with(request, self.key.as_ref())
    }

    fn authorize_with(&self, request: OutboundRequest, key: Option<&Credential>) -> OutboundRequest {
        let request = self.headers.iter().fold(request, |request, (name, value)| request.header(name, value));
        request.credential(key)
    }

    /// Sends an authorized request; a non-success answer becomes its class.
    pub async fn send(&self, request: Result<OutboundRequest, OutboundError>) -> Result<reqwest::Response, ProviderError> {
        self.send_with(request, self.key.as_ref()).await
    }

    /// [`Api::send`] with another key than the connection's (one minted for this call).
    pub async fn send_with(
        &self,
        request: Result<OutboundRequest, OutboundError>,
        key: Option<&Credential>,
    ) -> Result<reqwest::Response, ProviderError> {
        let response = wire::send(request.map(|r| self.authorize_with(r, key))).await?;
        self.errors.check(response).await.map_err(|e| self.explained(e))
    }

    /// A refused key of a region-bound provider, with what that may mean.
    pub fn explained(&self, error: ProviderError) -> ProviderError {
        match (error, &self.region_note) {
            (ProviderError::Auth(message), Some(note)) => ProviderError::Auth(format!("{message} ({note})")),
            (other, _) => other,
        }
    }

    /// Sends an authorized request and hands back any answer (APIs that put errors in a 200).
    pub async fn send_unchecked(&self, request: Result<OutboundRequest, OutboundError>) -> Result<reqwest::Response, ProviderError> {
        wire::send(request.map(|r| self.authorize(r))).await
    }

    /// Sends an authorized request (with `key`, else the connection's) and reads the whole
    /// answer, whatever its status: for APIs that report errors in the body of a 200.
    pub async fn send_raw(
        &self,
        request: Result<OutboundRequest, OutboundError>,
        key: Option<&Credential>,
    ) -> Result<RawAnswer, ProviderError> {
        let key = key.or(self.key.as_ref());
        let response = wire::send(request.map(|r| self.authorize_with(r, key))).await?;
        let status = response.status().as_u16();
        let wait = wire::retry_after(response.headers());
        let body = read_capped(response, wire::JSON_CAP).await.map_err(wire::outbound)?;
        Ok(RawAnswer { status, wait, body })
    }

    /// `GET path`, read as JSON.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ProviderError> {
        let url = self.url(path)?;
        wire::read_json(self.send(self.client.get(&url)).await?).await
    }

    /// `POST path` with a JSON body, read as JSON.
    pub async fn post_json<T: DeserializeOwned>(&self, path: &str, body: &serde_json::Value) -> Result<T, ProviderError> {
        let url = self.url(path)?;
        wire::read_json(self.send(self.client.post(&url).map(|r| r.json(body))).await?).await
    }
}
