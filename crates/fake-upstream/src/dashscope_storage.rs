//! DashScope's temporary file storage as a fake speaks it: `GET …/uploads?action=getPolicy&model=…`
//! (Bearer key) answers a signed OSS upload policy whose `upload_host` is this fake's
//! `/oss-upload`; `POST /oss-upload` takes the OSS form upload (policy fields, the `key`, the
//! file last, and no API key). Fakes of the DashScope API route both here.

use bytes::Bytes;

use crate::{Reply, Request};

/// The directory the policy names: every stored key starts with it.
pub const UPLOAD_DIR: &str = "dashscope-instant/fake-dir";

fn refused(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(status, serde_json::json!({"code": code, "message": message, "request_id": "r-storage"}))
}

/// The answer to a storage request with API key `key`, or `None` when `r` is not one.
pub fn serve(r: &Request, key: &str) -> Option<Reply> {
    if r.method == "GET" && r.path.ends_with("/uploads") {
        if r.header("authorization") != Some(&format!("Bearer {key}")) {
            return Some(refused(401, "InvalidApiKey", "Invalid API-key provided."));
        }
        if r.query_param("action").as_deref() != Some("getPolicy") || r.query_param("model").is_none_or(|m| m.is_empty()) {
            return Some(refused(400, "InvalidParameter", "action=getPolicy and a model are required"));
        }
        let host = r.header("host").unwrap_or_default();
        return Some(Reply::json(
            200,
            serde_json::json!({"request_id": "r-policy", "data": {
                "policy": "cG9saWN5", "signature": "c2lnbmF0dXJl", "upload_dir": UPLOAD_DIR,
                "upload_host": format!("http://{host}/oss-upload"), "expire_in_seconds": 300,
                "max_file_size_mb": 100, "capacity_limit_mb": 999999999, "oss_access_key_id": "LTAI-fake",
                "x_oss_object_acl": "private", "x_oss_forbid_overwrite": "true"
            }}),
        ));
    }
    if r.route() != "POST /oss-upload" {
        return None;
    }
    if r.header("authorization").is_some() {
        return Some(Reply::text(400, "<Error><Code>InvalidArgument</Code><Message>no API key belongs on an OSS upload</Message></Error>"));
    }
    let parts = r.multipart();
    let field = |name: &str| parts.iter().find(|p| p.name == name).map(|p| p.text());
    let signed = field("OSSAccessKeyId").as_deref() == Some("LTAI-fake")
        && field("Signature").as_deref() == Some("c2lnbmF0dXJl")
        && field("policy").as_deref() == Some("cG9saWN5")
        && field("x-oss-object-acl").as_deref() == Some("private")
        && field("x-oss-forbid-overwrite").as_deref() == Some("true")
        && field("success_action_status").as_deref() == Some("200");
    let key_ok = field("key").is_some_and(|k| k.starts_with(&format!("{UPLOAD_DIR}/")) && !k.contains(".."));
    let file_last = parts.last().is_some_and(|p| p.name == "file" && p.filename.is_some());
    Some(if signed && key_ok && file_last { Reply::status(200) } else { Reply::text(403, "<Error><Code>AccessDenied</Code></Error>") })
}

/// The bytes stored under `oss_url` (`oss://{key}`) among `requests`, if one upload put them.
pub fn stored(requests: &[Request], oss_url: &str) -> Option<Bytes> {
    let key = oss_url.strip_prefix("oss://")?;
    requests.iter().filter(|r| r.route() == "POST /oss-upload").find_map(|r| {
        let parts = r.multipart();
        let named = parts.iter().any(|p| p.name == "key" && p.text() == key);
        named.then(|| parts.iter().find(|p| p.name == "file").map(|p| p.data.clone())).flatten()
    })
}
