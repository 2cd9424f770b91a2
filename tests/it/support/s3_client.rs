//! A minimal S3 client for tests: AWS Signature V4 over reqwest, path-style, with the few
//! calls tests need to look at a bucket from outside (list, get, put, delete, multipart).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The hash S3 accepts in place of a signed body.
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// Pages of a listing read at most (1000 keys each).
const MAX_PAGES: usize = 100;

/// Where and as whom to call S3.
#[derive(Clone, Debug)]
pub struct S3Client {
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    http: reqwest::Client,
}

/// An answer: status and body.
pub struct S3Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl S3Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl S3Client {
    pub fn new(endpoint: &str, region: &str, bucket: &str, access_key_id: &str, secret_access_key: &str) -> S3Client {
        reelvault::providers::http::install_crypto_provider();
        S3Client {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            region: region.to_string(),
            bucket: bucket.to_string(),
            access_key_id: access_key_id.to_string(),
            secret_access_key: secret_access_key.to_string(),
            http: reqwest::Client::builder().no_proxy().build().expect("http client"),
        }
    }

    /// Every object key under `prefix`, in order.
    pub async fn list_keys(&self, prefix: &str) -> Vec<String> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = vec![("list-type", "2".to_string()), ("prefix", prefix.to_string())];
            if let Some(t) = &token {
                query.push(("continuation-token", t.clone()));
            }
            let answer = self.call("GET", "", &query, Vec::new()).await;
            assert_eq!(answer.status, 200, "ListObjectsV2: {}", answer.text());
            let xml = answer.text();
            keys.extend(elements(&xml, "Key"));
            token = elements(&xml, "NextContinuationToken").into_iter().next();
            if elements(&xml, "IsTruncated").first().map(String::as_str) != Some("true") || token.is_none() {
                return keys;
            }
        }
        panic!("more than {MAX_PAGES} pages of keys under {prefix:?}")
    }

    /// The bytes of object `key`, or None when it does not exist.
    pub async fn get(&self, key: &str) -> Option<Vec<u8>> {
        let answer = self.call("GET", key, &[], Vec::new()).await;
        match answer.status {
            200 => Some(answer.body),
            404 => None,
            other => panic!("GetObject {key}: {other} {}", answer.text()),
        }
    }

    /// Stores `body` as object `key`.
    pub async fn put(&self, key: &str, body: Vec<u8>) {
        let answer = self.call("PUT", key, &[], body).await;
        assert_eq!(answer.status, 200, "PutObject {key}: {}", answer.text());
    }

    /// Deletes object `key` (no error when it is absent).
    pub async fn delete(&self, key: &str) {
        let answer = self.call("DELETE", key, &[], Vec::new()).await;
        assert!(answer.status == 204 || answer.status == 200, "DeleteObject {key}: {} {}", answer.status, answer.text());
    }

    /// The multipart uploads in progress under `prefix`: (key, upload id).
    pub async fn multipart_uploads(&self, prefix: &str) -> Vec<(String, String)> {
        let query = [("prefix", prefix.to_string()), ("uploads", String::new())];
        let answer = self.call("GET", "", &query, Vec::new()).await;
        assert_eq!(answer.status, 200, "ListMultipartUploads: {}", answer.text());
        let xml = answer.text();
        elements(&xml, "Upload")
            .iter()
            .map(|upload| {
                let key = elements(upload, "Key").into_iter().next().unwrap_or_default();
                let id = elements(upload, "UploadId").into_iter().next().unwrap_or_default();
                (key, id)
            })
            .collect()
    }

    /// Starts a multipart upload of `key` and leaves it open; returns its upload id.
    pub async fn start_multipart(&self, key: &str) -> String {
        let answer = self.call("POST", key, &[("uploads", String::new())], Vec::new()).await;
        assert_eq!(answer.status, 200, "CreateMultipartUpload {key}: {}", answer.text());
        elements(&answer.text(), "UploadId").into_iter().next().expect("an upload id")
    }

    /// One signed request on the bucket (`key` empty) or an object of it.
    pub async fn call(&self, method: &str, key: &str, query: &[(&str, String)], body: Vec<u8>) -> S3Answer {
        match self.try_call(method, key, query, body).await {
            Ok(answer) => answer,
            Err(e) => panic!("{method} {key} at {}: {e}", self.endpoint),
        }
    }

    /// [`Self::call`], with a transport error returned (the store may be down).
    pub async fn try_call(&self, method: &str, key: &str, query: &[(&str, String)], body: Vec<u8>) -> Result<S3Answer, reqwest::Error> {
        let path = if key.is_empty() { format!("/{}", self.bucket) } else { format!("/{}/{}", self.bucket, encode(key, false)) };
        let mut pairs: Vec<(String, String)> = query.iter().map(|(k, v)| (encode(k, true), encode(v, true))).collect();
        pairs.sort();
        let canonical_query = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
        let host = self.endpoint.split("://").nth(1).unwrap_or(&self.endpoint).to_string();
        let now = chrono::Utc::now();
        let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
        let day = now.format("%Y%m%d").to_string();
        let canonical = format!(
            "{method}\n{path}\n{canonical_query}\nhost:{host}\nx-amz-content-sha256:{UNSIGNED_PAYLOAD}\nx-amz-date:{amz_date}\n\nhost;x-amz-content-sha256;x-amz-date\n{UNSIGNED_PAYLOAD}"
        );
        let scope = format!("{day}/{}/s3/aws4_request", self.region);
        let to_sign = format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
        let mut key_bytes = hmac(format!("AWS4{}", self.secret_access_key).as_bytes(), day.as_bytes());
        for part in [self.region.as_str(), "s3", "aws4_request"] {
            key_bytes = hmac(&key_bytes, part.as_bytes());
        }
        let signature = hex::encode(hmac(&key_bytes, to_sign.as_bytes()));
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={signature}",
            self.access_key_id
        );
        let url = if canonical_query.is_empty() {
            format!("{}{path}", self.endpoint)
        } else {
            format!("{}{path}?{canonical_query}", self.endpoint)
        };
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let response = self
            .http
            .request(method, url)
            .header("x-amz-date", amz_date)
            .header("x-amz-content-sha256", UNSIGNED_PAYLOAD)
            .header("authorization", authorization)
            .body(body)
            .timeout(std::time::Duration::from_secs(60))
            .send()
            .await?;
        let status = response.status().as_u16();
        let body = response.bytes().await?.to_vec();
        Ok(S3Answer { status, body })
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// SigV4 URI encoding: unreserved characters kept, '/' kept in paths, the rest %XX.
fn encode(s: &str, encode_slash: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b'/' if !encode_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The text of every `<name>…</name>` element in `xml` (no nesting of the same name).
fn elements(xml: &str, name: &str) -> Vec<String> {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    let mut found = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        found.push(unescape(&after[..end]));
        rest = &after[end + close.len()..];
    }
    found
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}
