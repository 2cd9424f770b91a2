//! One outbound request and its redirects: every hop is checked like the first, the request's
//! [`Credential`] goes only to hops it belongs to, and a hop to another origin carries none of
//! the headers the caller added (only those that describe the body).

use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderName, LOCATION, TRANSFER_ENCODING};
use reqwest::{Method, StatusCode};
use tokio::time::Instant;
use url::Url;

use super::{Credential, OutboundError, check_redirect};

/// A request built by [`super::OutboundClient`]; [`OutboundRequest::send`] follows its redirects
/// (when the client does) within the client's total time limit.
#[must_use = "a request does nothing until it is sent"]
pub struct OutboundRequest {
    builder: reqwest::RequestBuilder,
    credential: Option<Credential>,
    follow_redirects: bool,
    allow_private_network: bool,
    timeout: Duration,
}

impl std::fmt::Debug for OutboundRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundRequest").field("credential", &self.credential).finish_non_exhaustive()
    }
}

impl OutboundRequest {
    pub(super) fn new(builder: reqwest::RequestBuilder, client: &super::OutboundClient) -> OutboundRequest {
        let policy = client.policy();
        OutboundRequest {
            builder,
            credential: None,
            follow_redirects: client.follows_redirects(),
            allow_private_network: policy.allow_private_network,
            timeout: policy.timeout,
        }
    }

    /// Carries `credential` to every hop it belongs to (and to no other).
    pub fn credential(mut self, credential: Option<&Credential>) -> OutboundRequest {
        self.credential = credential.cloned();
        self
    }

    /// Adds a header that is not a secret (keys go in [`OutboundRequest::credential`]).
    pub fn header(mut self, name: &'static str, value: impl AsRef<str>) -> OutboundRequest {
        self.builder = self.builder.header(name, value.as_ref());
        self
    }

    /// A JSON body.
    pub fn json<T: serde::Serialize + ?Sized>(mut self, body: &T) -> OutboundRequest {
        self.builder = self.builder.json(body);
        self
    }

    /// A `multipart/form-data` body.
    pub fn multipart(mut self, form: reqwest::multipart::Form) -> OutboundRequest {
        self.builder = self.builder.multipart(form);
        self
    }

    /// A raw body.
    pub fn body(mut self, body: impl Into<reqwest::Body>) -> OutboundRequest {
        self.builder = self.builder.body(body);
        self
    }

    /// Sends the request, following at most [`super::MAX_REDIRECTS`] redirects when the client
    /// does; a 307/308 whose streamed body cannot be sent again is answered as it came.
    pub async fn send(self) -> Result<reqwest::Response, OutboundError> {
        let deadline = Instant::now() + self.timeout;
        let (client, request) = self.builder.build_split();
        let mut request = request?;
        let mut followed = 0;
        loop {
            if let Some(credential) = &self.credential {
                credential.apply(&mut request);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(OutboundError::Timeout);
            }
            *request.timeout_mut() = Some(left);
            let again = if self.follow_redirects { Some(Retry::of(&request)) } else { None };
            let response = client.execute(request).await?;
            let Some(again) = again else { return Ok(response) };
            let Some(next) = location(&response) else { return Ok(response) };
            check_redirect(&next, followed, self.allow_private_network)?;
            match again.to(next, response.status()) {
                Some(next) => request = next,
                None => return Ok(response),
            }
            followed += 1;
        }
    }
}

/// The redirect target of a 301, 302, 303, 307 or 308 answer, resolved against its URL.
fn location(response: &reqwest::Response) -> Option<Url> {
    let redirects = [
        StatusCode::MOVED_PERMANENTLY,
        StatusCode::FOUND,
        StatusCode::SEE_OTHER,
        StatusCode::TEMPORARY_REDIRECT,
        StatusCode::PERMANENT_REDIRECT,
    ];
    if !redirects.contains(&response.status()) {
        return None;
    }
    let target = response.headers().get(LOCATION)?.to_str().ok()?;
    response.url().join(target).ok()
}

/// The only headers a hop to another origin keeps: they describe the body and what is wanted
/// back. Everything else an adapter added (keys, cookies, provider headers) stays behind.
const CROSS_ORIGIN_HEADERS: [HeaderName; 5] = [ACCEPT, CONTENT_TYPE, CONTENT_LENGTH, CONTENT_ENCODING, TRANSFER_ENCODING];

/// What the next hop of a redirect is made from: the request as sent (with its body when it
/// can be sent again).
struct Retry {
    method: Method,
    url: Url,
    headers: HeaderMap,
    whole: Option<reqwest::Request>,
}

impl Retry {
    fn of(request: &reqwest::Request) -> Retry {
        Retry {
            method: request.method().clone(),
            url: request.url().clone(),
            headers: request.headers().clone(),
            whole: request.try_clone(),
        }
    }

    /// The request for `next` after a redirect of `status`, as browsers and reqwest make it:
    /// 301/302/303 go on as a body-less GET (HEAD stays HEAD), 307/308 repeat the method and
    /// body (`None` when the body cannot be sent again). Leaving the origin drops every header
    /// but [`CROSS_ORIGIN_HEADERS`] (the credential is applied again per hop by the caller).
    fn to(self, next: Url, status: StatusCode) -> Option<reqwest::Request> {
        let cross_origin = next.origin() != self.url.origin();
        let mut request = match status {
            StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT => self.whole?,
            _ => {
                let method = if self.method == Method::HEAD { Method::HEAD } else { Method::GET };
                let mut request = reqwest::Request::new(method, next.clone());
                *request.headers_mut() = self.headers;
                for name in [CONTENT_TYPE, CONTENT_LENGTH, CONTENT_ENCODING, TRANSFER_ENCODING] {
                    request.headers_mut().remove(name);
                }
                request
            }
        };
        *request.url_mut() = next;
        if cross_origin {
            let headers = request.headers();
            let kept: HeaderMap = CROSS_ORIGIN_HEADERS.iter().filter_map(|name| Some((name.clone(), headers.get(name)?.clone()))).collect();
            *request.headers_mut() = kept;
        }
        Some(request)
    }
}
