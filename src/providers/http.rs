//! The one outbound HTTP client: public addresses only (unless allowed), capped in size and time.
//!
//! Every request to an upstream provider goes through [`OutboundClient`]. It refuses
//! non-global destinations three ways: IP-literal URLs are checked before sending (they bypass
//! any resolver), host names are checked after DNS resolution by [`GuardedResolver`], and each
//! redirect hop is checked again (at most [`MAX_REDIRECTS`]) by [`OutboundRequest::send`], which
//! follows redirects itself so a provider's [`Credential`] goes only to the origins it belongs to.
//! Environment proxies are ignored, total and connect time are capped, and [`read_capped`] /
//! [`capped_stream`] cap body size. Errors never carry request headers or URLs (query strings
//! may hold API keys).

mod address;
mod credential;
mod request;
#[cfg(test)]
mod tests;

use std::error::Error as StdError;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt, stream};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

pub use address::{Reach, classify};
pub use credential::Credential;
pub use request::OutboundRequest;

/// How many redirects one request may follow.
pub const MAX_REDIRECTS: usize = 5;

/// Why an outbound request was refused or failed. Messages name hosts, never headers or URLs.
#[derive(Debug, Clone, thiserror::Error)]
pub enum OutboundError {
    #[error("refusing to connect to {host}: not a public address; set allow_private_network for this connection to allow it")]
    Forbidden { host: String },
    #[error("refusing to connect to {host}: unspecified, multicast, broadcast, reserved and cloud metadata addresses are never allowed")]
    Blocked { host: String },
    #[error("only http and https URLs are allowed, not {scheme:?}")]
    Scheme { scheme: String },
    #[error("the response is larger than the limit of {cap} bytes")]
    TooLarge { cap: u64 },
    #[error("the upstream request timed out")]
    Timeout,
    #[error("the API key holds characters an HTTP header cannot carry")]
    BadCredential,
    #[error("upstream HTTP error: {0}")]
    Http(String),
    /// A connection's `region` that its kind does not have.
    #[error("{0}")]
    Region(String),
}

impl From<reqwest::Error> for OutboundError {
    fn from(err: reqwest::Error) -> Self {
        if err.is_timeout() {
            return OutboundError::Timeout;
        }
        // The resolver's and the redirect policy's refusals come back wrapped: find them.
        let mut source = StdError::source(&err);
        while let Some(e) = source {
            if let Some(ours) = e.downcast_ref::<OutboundError>() {
                return ours.clone();
            }
            source = e.source();
        }
        // reqwest's Display names the URL (query strings may hold keys); drop it.
        let err = err.without_url();
        let mut message = err.to_string();
        let mut source = StdError::source(&err);
        while let Some(e) = source {
            message.push_str(": ");
            message.push_str(&e.to_string());
            source = e.source();
        }
        OutboundError::Http(message)
    }
}

/// What one connection (an admin-configured provider endpoint) may do on the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundPolicy {
    /// Allow loopback, private, link-local, unique-local and other non-global addresses
    /// (a self-hosted ComfyUI, a test fake). Metadata/multicast/broadcast stay refused.
    pub allow_private_network: bool,
    /// Cap on a whole request: connect, send, and reading the response body.
    pub timeout: Duration,
    /// Cap on establishing the TCP (and TLS) connection.
    pub connect_timeout: Duration,
}

impl Default for OutboundPolicy {
    fn default() -> Self {
        OutboundPolicy { allow_private_network: false, timeout: Duration::from_secs(120), connect_timeout: Duration::from_secs(10) }
    }
}

/// Installs rustls' `ring` crypto provider as the process default, once; later calls and an
/// already installed provider are fine. Every reqwest client in the process needs one.
pub fn install_crypto_provider() {
    // Err means a provider is already installed, which is all we need.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Checks the scheme and, for IP-literal hosts, the address of `url`.
/// Host names are checked later, after resolution, by the client's resolver.
pub fn check_destination(url: &Url, allow_private_network: bool) -> Result<(), OutboundError> {
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(OutboundError::Scheme { scheme: other.to_string() });
        }
    }
    let ip = match url.host() {
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
        Some(Host::Domain(name)) => match name.trim_end_matches('.').parse::<IpAddr>() {
            // The url crate normalises IPv4 forms for http(s); this is belt and braces.
            Ok(ip) => ip,
            Err(_) => return Ok(()),
        },
        None => {
            return Err(OutboundError::Http("the URL has no host".to_string()));
        }
    };
    check_ip(ip, url.host_str().unwrap_or_default(), allow_private_network)
}

fn check_ip(ip: IpAddr, host: &str, allow_private_network: bool) -> Result<(), OutboundError> {
    match classify(ip) {
        reach if reach.allowed(allow_private_network) => Ok(()),
        Reach::Never => Err(OutboundError::Blocked { host: host.to_string() }),
        _ => Err(OutboundError::Forbidden { host: host.to_string() }),
    }
}

/// Checks one redirect hop: the scheme, an IP-literal host, and the number of redirects
/// already followed in this chain (the hop is refused once that reaches [`MAX_REDIRECTS`]).
pub fn check_redirect(url: &Url, followed: usize, allow_private_network: bool) -> Result<(), OutboundError> {
    if followed >= MAX_REDIRECTS {
        return Err(OutboundError::Http(format!("more than {MAX_REDIRECTS} redirects")));
    }
    check_destination(url, allow_private_network)
}

/// Resolves host names with the system resolver and keeps only allowed addresses.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    allow_private_network: bool,
}

impl GuardedResolver {
    pub fn new(allow_private_network: bool) -> GuardedResolver {
        GuardedResolver { allow_private_network }
    }

    /// Resolves `host` and returns only the addresses the policy allows, or a refusal.
    pub async fn resolve_allowed(&self, host: &str) -> Result<Vec<SocketAddr>, OutboundError> {
        let found: Vec<SocketAddr> =
            tokio::net::lookup_host((host, 0)).await.map_err(|e| OutboundError::Http(format!("cannot resolve {host}: {e}")))?.collect();
        let mut refusal = None;
        let allowed: Vec<SocketAddr> = found
            .into_iter()
            .filter(|addr| match check_ip(addr.ip(), host, self.allow_private_network) {
                Ok(()) => true,
                Err(e) => {
                    refusal.get_or_insert(e);
                    false
                }
            })
            .collect();
        match (allowed.is_empty(), refusal) {
            (false, _) => Ok(allowed),
            (true, Some(e)) => Err(e),
            (true, None) => Err(OutboundError::Http(format!("{host} has no addresses"))),
        }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let this = self.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs = this.resolve_allowed(&host).await?;
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The outbound client of one connection. Cheap to clone.
#[derive(Debug, Clone)]
pub struct OutboundClient {
    client: reqwest::Client,
    policy: OutboundPolicy,
    follow_redirects: bool,
}

impl OutboundClient {
    /// A client whose requests follow redirects (each hop checked, credentials kept to their
    /// origins; see [`OutboundRequest::send`]).
    pub fn new(policy: OutboundPolicy) -> Result<OutboundClient, OutboundError> {
        OutboundClient::build(policy, true)
    }

    /// A client that hands redirects back to the caller instead of following them (webhook
    /// deliveries: a receiver's redirect is its answer).
    pub fn without_redirects(policy: OutboundPolicy) -> Result<OutboundClient, OutboundError> {
        OutboundClient::build(policy, false)
    }

    fn build(policy: OutboundPolicy, follow_redirects: bool) -> Result<OutboundClient, OutboundError> {
        install_crypto_provider();
        let allow = policy.allow_private_network;
        // reqwest never follows a redirect itself: it would keep custom key headers (`x-key`,
        // `x-goog-api-key`) on a hop to another host. `OutboundRequest::send` follows them.
        let client = reqwest::Client::builder()
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver::new(allow)))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(policy.timeout)
            .connect_timeout(policy.connect_timeout)
            .user_agent(concat!("reelvault/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(OutboundError::from)?;
        Ok(OutboundClient { client, policy, follow_redirects })
    }

    pub fn policy(&self) -> &OutboundPolicy {
        &self.policy
    }

    /// Whether [`OutboundRequest::send`] follows redirects for this client.
    pub fn follows_redirects(&self) -> bool {
        self.follow_redirects
    }

    /// Checks the scheme and an IP-literal host of `url` against this client's policy.
    pub fn check_url(&self, url: &Url) -> Result<(), OutboundError> {
        check_destination(url, self.policy.allow_private_network)
    }

    /// A request to `url`, after [`OutboundClient::check_url`].
    pub fn request(&self, method: reqwest::Method, url: &Url) -> Result<OutboundRequest, OutboundError> {
        self.check_url(url)?;
        Ok(OutboundRequest::new(self.client.request(method, url.clone()), self))
    }

    pub fn get(&self, url: &Url) -> Result<OutboundRequest, OutboundError> {
        self.request(reqwest::Method::GET, url)
    }

    pub fn post(&self, url: &Url) -> Result<OutboundRequest, OutboundError> {
        self.request(reqwest::Method::POST, url)
    }

    pub fn delete(&self, url: &Url) -> Result<OutboundRequest, OutboundError> {
        self.request(reqwest::Method::DELETE, url)
    }
}

/// Reads a whole response body, refusing more than `cap` bytes (Content-Length first).
pub async fn read_capped(resp: reqwest::Response, cap: u64) -> Result<Bytes, OutboundError> {
    let expected = resp.content_length().unwrap_or(0).min(cap);
    let mut body = std::pin::pin!(capped_stream(resp, cap));
    let mut out = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    while let Some(chunk) = body.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(Bytes::from(out))
}

/// A response body as a stream of chunks that ends with [`OutboundError::TooLarge`] as soon as
/// more than `cap` bytes have arrived (or at once, when Content-Length says so).
pub fn capped_stream(resp: reqwest::Response, cap: u64) -> impl Stream<Item = Result<Bytes, OutboundError>> + Send + 'static {
    let declared_too_large = resp.content_length().is_some_and(|len| len > cap);
    let body = Box::pin(resp.bytes_stream());
    let start = CapState { body, seen: 0, failed: declared_too_large, done: false };
    stream::unfold(start, move |mut state| async move {
        if state.done {
            return None;
        }
        if state.failed {
            state.done = true;
            return Some((Err(OutboundError::TooLarge { cap }), state));
        }
        match state.body.next().await? {
            Ok(chunk) => {
                state.seen = state.seen.saturating_add(chunk.len() as u64);
                if state.seen > cap {
                    state.done = true;
                    Some((Err(OutboundError::TooLarge { cap }), state))
                } else {
                    Some((Ok(chunk), state))
                }
            }
            Err(e) => {
                state.done = true;
                Some((Err(OutboundError::from(e)), state))
            }
        }
    })
}

struct CapState<S> {
    body: std::pin::Pin<Box<S>>,
    seen: u64,
    failed: bool,
    done: bool,
}
