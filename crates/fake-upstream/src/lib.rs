//! A scriptable HTTP server on 127.0.0.1:0 for tests and benchmarks: every request is
//! recorded (method, path, query, headers, body) and answered by a closure the test gives,
//! so each provider's fake only writes its wire format.

pub mod dashscope_storage;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use bytes::Bytes;
use futures_util::StreamExt;

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The path without the query.
    pub path: String,
    pub query: String,
    /// Header names in lower case.
    pub headers: BTreeMap<String, String>,
    pub body: Bytes,
    pub at: Instant,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// A query parameter, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
    }

    /// `METHOD /path`, handy in assertions and routing.
    pub fn route(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The parts of a `multipart/form-data` body (empty when it is not one).
    pub fn multipart(&self) -> Vec<Part> {
        let Some(boundary) = self
            .header("content-type")
            .filter(|t| t.starts_with("multipart/form-data"))
            .and_then(|t| t.split(';').find_map(|p| p.trim().strip_prefix("boundary=")))
            .map(|b| format!("--{}", b.trim_matches('"')))
        else {
            return Vec::new();
        };
        let body = &self.body[..];
        let mut parts = Vec::new();
        for section in split(body, boundary.as_bytes()).into_iter().skip(1) {
            if section.starts_with(b"--") {
                break;
            }
            let section = section.strip_prefix(b"\r\n").unwrap_or(section);
            let Some(split_at) = find(section, b"\r\n\r\n") else { continue };
            let head = String::from_utf8_lossy(&section[..split_at]).into_owned();
            let mut data = &section[split_at + 4..];
            data = data.strip_suffix(b"\r\n").unwrap_or(data);
            let mut part = Part { name: String::new(), filename: None, content_type: None, data: Bytes::copy_from_slice(data) };
            for line in head.lines() {
                let lower = line.to_ascii_lowercase();
                if lower.starts_with("content-type:") {
                    part.content_type = Some(line["content-type:".len()..].trim().to_string());
                } else if lower.starts_with("content-disposition:") {
                    part.name = attribute(line, "name").unwrap_or_default();
                    part.filename = attribute(line, "filename");
                }
            }
            parts.push(part);
        }
        parts
    }

    /// The multipart part called `name`.
    pub fn part(&self, name: &str) -> Option<Part> {
        self.multipart().into_iter().find(|p| p.name == name)
    }
}

/// One part of a multipart body.
#[derive(Debug, Clone)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Bytes,
}

impl Part {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

fn attribute(line: &str, name: &str) -> Option<String> {
    line.split(';').map(str::trim).find_map(|p| p.strip_prefix(&format!("{name}=")).map(|v| v.trim_matches('"').to_string()))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn split<'a>(mut body: &'a [u8], boundary: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    while let Some(at) = find(body, boundary) {
        out.push(&body[..at]);
        body = &body[at + boundary.len()..];
    }
    out.push(body);
    out
}

/// How the fake answers one request.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Body,
}

#[derive(Debug, Clone)]
enum Body {
    Bytes(Bytes),
    /// Never answers.
    Hang,
    /// Declares a Content-Length, sends `head`, then stalls.
    Stall {
        declared: u64,
        head: Bytes,
    },
    /// `count` copies of `chunk`, chunked, with no Content-Length.
    Chunks {
        chunk: Bytes,
        count: u64,
    },
}

impl Reply {
    pub fn json(status: u16, value: serde_json::Value) -> Reply {
        Reply::bytes(status, "application/json", serde_json::to_vec(&value).unwrap_or_default())
    }

    pub fn bytes(status: u16, content_type: &str, data: impl Into<Bytes>) -> Reply {
        Reply { status, headers: vec![("content-type".into(), content_type.into())], body: Body::Bytes(data.into()) }
    }

    pub fn text(status: u16, text: &str) -> Reply {
        Reply::bytes(status, "text/plain", Bytes::copy_from_slice(text.as_bytes()))
    }

    /// An empty answer with this status.
    pub fn status(status: u16) -> Reply {
        Reply { status, headers: Vec::new(), body: Body::Bytes(Bytes::new()) }
    }

    /// Reads the request and never answers.
    pub fn hang() -> Reply {
        Reply { status: 200, headers: Vec::new(), body: Body::Hang }
    }

    /// Declares `declared` bytes, sends `head`, then stalls.
    pub fn stall(content_type: &str, declared: u64, head: impl Into<Bytes>) -> Reply {
        Reply {
            status: 200,
            headers: vec![("content-type".into(), content_type.into())],
            body: Body::Stall { declared, head: head.into() },
        }
    }

    /// `count` copies of `chunk`, sent chunked with no Content-Length (a body whose size is
    /// known only once it has all arrived).
    pub fn chunked(content_type: &str, chunk: impl Into<Bytes>, count: u64) -> Reply {
        Reply {
            status: 200,
            headers: vec![("content-type".into(), content_type.into())],
            body: Body::Chunks { chunk: chunk.into(), count },
        }
    }

    pub fn header(mut self, name: &str, value: impl ToString) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    async fn into_response(self) -> HttpResponse {
        let mut response = HttpResponse::build(StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
        for (name, value) in &self.headers {
            response.insert_header((name.as_str(), value.as_str()));
        }
        match self.body {
            Body::Bytes(bytes) => response.body(bytes),
            Body::Hang => std::future::pending().await,
            Body::Stall { declared, head } => response
                .no_chunking(declared)
                .streaming(futures_util::stream::iter([Ok::<_, std::io::Error>(head)]).chain(futures_util::stream::pending())),
            Body::Chunks { chunk, count } => {
                response.streaming(futures_util::stream::iter((0..count).map(move |_| Ok::<_, std::io::Error>(chunk.clone()))))
            }
        }
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

struct Shared {
    handler: Box<Handler>,
    requests: Mutex<Vec<Request>>,
}

impl Shared {
    fn requests(&self) -> MutexGuard<'_, Vec<Request>> {
        self.requests.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running fake upstream.
pub struct FakeUpstream {
    /// `http://127.0.0.1:PORT/`
    pub url: url::Url,
    shared: Arc<Shared>,
    handle: ServerHandle,
}

impl FakeUpstream {
    /// Starts a server on 127.0.0.1:0 that answers every request with `handler`.
    pub async fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> FakeUpstream {
        let shared = Arc::new(Shared { handler: Box::new(handler), requests: Mutex::default() });
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake upstream");
        let port = listener.local_addr().expect("address").port();
        let data = web::Data::from(shared.clone());
        let server = HttpServer::new(move || {
            App::new().app_data(data.clone()).app_data(web::PayloadConfig::new(256 << 20)).default_service(web::to(serve))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(0)
        .listen(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        let url = url::Url::parse(&format!("http://127.0.0.1:{port}/")).expect("URL");
        FakeUpstream { url, shared, handle }
    }

    /// `self.url` joined with `path`.
    pub fn at(&self, path: &str) -> url::Url {
        self.url.join(path.trim_start_matches('/')).expect("URL")
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.requests().clone()
    }

    /// The requests whose `METHOD /path` starts with `route`.
    pub fn requests_to(&self, route: &str) -> Vec<Request> {
        self.requests().into_iter().filter(|r| r.route().starts_with(route)).collect()
    }

    /// Waits (at most `limit`) until `done` holds for the requests so far (`done` gets them;
    /// it must not call [`FakeUpstream::requests`], which would wait on the same lock).
    pub async fn wait_until(&self, limit: Duration, done: impl Fn(&[Request]) -> bool) -> bool {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if done(&self.shared.requests()) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        done(&self.shared.requests())
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

async fn serve(req: HttpRequest, body: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let headers =
        req.headers().iter().map(|(k, v)| (k.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect();
    let request = Request {
        method: req.method().to_string(),
        path: req.path().to_string(),
        query: req.query_string().to_string(),
        headers,
        body,
        at: Instant::now(),
    };
    shared.requests().push(request.clone());
    (shared.handler)(&request).into_response().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_bodies_split_into_named_parts() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\na cat\r\n--XyZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\u{1}PNG\r\n--XyZ--\r\n";
        let request = Request {
            method: "POST".into(),
            path: "/x".into(),
            query: "a=b%20c".into(),
            headers: BTreeMap::from([("content-type".into(), "multipart/form-data; boundary=XyZ".into())]),
            body: Bytes::from(body),
            at: Instant::now(),
        };
        let parts = request.multipart();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "prompt");
        assert_eq!(parts[0].text(), "a cat");
        assert_eq!(parts[1].filename.as_deref(), Some("a.png"));
        assert_eq!(parts[1].content_type.as_deref(), Some("image/png"));
        assert_eq!(&parts[1].data[..], b"\x01PNG");
        assert_eq!(request.query_param("a").as_deref(), Some("b c"));
        assert_eq!(request.route(), "POST /x");
    }
}
