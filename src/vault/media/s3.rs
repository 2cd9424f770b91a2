//! The S3-compatible object store behind [`super::MediaDir`]: object keys, and every call to
//! the store bounded in time, counted in [`BackendStats`] and its failures turned into
//! [`MediaError`]s (`NotFound`, or `Unavailable` with the store's reason).
//!
//! Requests go through the `reqwest::Client` the application hands in (guarded by the outbound
//! policy), made as [`super::s3_client`] says; object_store signs them. Its own retries are
//! kept short, so that an unreachable store fails a call in seconds rather than minutes.

use std::future::Future;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as ObjectPath;
use object_store::{BackoffConfig, GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};

use super::s3_client::{MakeClient, OwnClient};
use super::stats::{BackendStats, Op};
use super::{ID_LEN, MediaError, shard_of};
use crate::config::S3Config;

/// Bound on a call that moves little data (HEAD, DELETE, starting or ending an upload, the
/// first answer of a GET).
pub(super) const SMALL_CALL: Duration = Duration::from_secs(30);
/// Bound on a call that uploads a part or a whole object.
pub(super) const UPLOAD_CALL: Duration = Duration::from_secs(300);

/// One bucket (and key prefix) of an S3-compatible store.
#[derive(Debug)]
pub struct S3Media {
    store: AmazonS3,
    prefix: String,
    stats: Arc<BackendStats>,
}

impl S3Media {
    /// A client of the bucket `config` names; no request is made.
    pub(super) fn new(
        config: &S3Config,
        client: reqwest::Client,
        make_client: MakeClient,
        runtime: tokio::runtime::Handle,
        stats: Arc<BackendStats>,
    ) -> Result<S3Media, MediaError> {
        let endpoint = config.endpoint.as_str().trim_end_matches('/').to_string();
        let retry = RetryConfig {
            backoff: BackoffConfig { init_backoff: Duration::from_millis(100), max_backoff: Duration::from_secs(1), base: 2.0 },
            max_retries: 2,
            retry_timeout: Duration::from_secs(10),
        };
        let store = AmazonS3Builder::new()
            .with_endpoint(endpoint)
            .with_region(&config.region)
            .with_bucket_name(&config.bucket)
            .with_access_key_id(&config.access_key_id)
            .with_secret_access_key(config.secret_access_key.expose())
            .with_virtual_hosted_style_request(!config.path_style)
            .with_allow_http(config.endpoint.scheme() == "http")
            .with_retry(retry)
            // the payload is an age file: its MACs authenticate every byte on reading, so the
            // signature need not cover it (which would cost a SHA-256 pass over every upload)
            .with_unsigned_payload(true)
            .with_http_connector(OwnClient { client, make_client, runtime })
            .build()
            .map_err(|e| MediaError::Unavailable(format!("media store settings: {e}")))?;
        Ok(S3Media { store, prefix: config.prefix.clone(), stats })
    }

    pub(super) fn stats(&self) -> &Arc<BackendStats> {
        &self.stats
    }

    /// The object key of `id` (already checked): `{prefix}{shard}/{id}.age`.
    pub(super) fn key_of(&self, id: &str) -> ObjectPath {
        ObjectPath::from(format!("{}{}/{id}.age", self.prefix, shard_of(id)))
    }

    /// The id an object key names, when it is one this backend writes.
    fn id_of(&self, key: &ObjectPath) -> Option<String> {
        let rest = key.as_ref().strip_prefix(self.prefix.as_str())?;
        let (shard, name) = rest.split_once('/')?;
        let id = name.strip_suffix(".age")?;
        let ok = id.len() == ID_LEN && id.bytes().all(|b| b.is_ascii_alphanumeric()) && shard == shard_of(id);
        ok.then(|| id.to_string())
    }

    /// Runs `call` within `limit`, counting it as `op`.
    async fn bounded<T>(&self, op: Op, limit: Duration, call: impl Future<Output = object_store::Result<T>>) -> Result<T, MediaError> {
        let started = Instant::now();
        let outcome = match tokio::time::timeout(limit, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(object_store::Error::NotFound { .. })) => Err(MediaError::NotFound),
            Ok(Err(e)) => Err(MediaError::Unavailable(store_reason(&e))),
            Err(_) => Err(MediaError::Unavailable(format!("no answer within {}s", limit.as_secs()))),
        };
        let error = match &outcome {
            Err(MediaError::Unavailable(reason)) => Some(reason.as_str()),
            _ => None,
        };
        self.stats.record(op, started.elapsed(), error);
        outcome
    }

    /// The size of the object of `id`; `None` when there is none.
    pub(super) async fn size(&self, id: &str) -> Result<Option<u64>, MediaError> {
        let key = self.key_of(id);
        match self.bounded(Op::Head, SMALL_CALL, self.store.head(&key)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(MediaError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Bytes `range` of the object of `id` (cut at its end) and the object's whole size.
    pub(super) async fn get_range(&self, id: &str, range: Range<u64>) -> Result<(Bytes, u64), MediaError> {
        let key = self.key_of(id);
        let options = GetOptions { range: Some(GetRange::Bounded(range)), ..GetOptions::default() };
        let call = async {
            let got = self.store.get_opts(&key, options).await?;
            let size = got.meta.size;
            Ok((got.bytes().await?, size))
        };
        self.bounded(Op::Get, SMALL_CALL, call).await
    }

    /// The whole object of `id` as a stream (the first answer bounded; a stalled body ends
    /// by the client's read timeout).
    pub(super) async fn get_stream(&self, id: &str) -> Result<BoxStream<'static, std::io::Result<Bytes>>, MediaError> {
        let key = self.key_of(id);
        let got = self.bounded(Op::Get, SMALL_CALL, self.store.get(&key)).await?;
        Ok(got.into_stream().map_err(|e| std::io::Error::other(store_reason(&e))).boxed())
    }

    /// Bytes `range` of the object of `id` as a stream (the first answer bounded, as
    /// [`Self::get_stream`]).
    pub(super) async fn get_stream_range(
        &self,
        id: &str,
        range: Range<u64>,
    ) -> Result<BoxStream<'static, std::io::Result<Bytes>>, MediaError> {
        let key = self.key_of(id);
        let options = GetOptions { range: Some(GetRange::Bounded(range)), ..GetOptions::default() };
        let got = self.bounded(Op::Get, SMALL_CALL, self.store.get_opts(&key, options)).await?;
        Ok(got.into_stream().map_err(|e| std::io::Error::other(store_reason(&e))).boxed())
    }

    /// Stores `body` as the object of `id` in one request.
    pub(super) async fn put(&self, id: &str, body: Vec<Bytes>) -> Result<(), MediaError> {
        let key = self.key_of(id);
        let payload: PutPayload = body.into_iter().collect();
        self.bounded(Op::Put, UPLOAD_CALL, self.store.put(&key, payload)).await.map(drop)
    }

    pub(super) async fn create_upload(&self, id: &str) -> Result<String, MediaError> {
        let key = self.key_of(id);
        self.bounded(Op::CreateUpload, SMALL_CALL, self.store.create_multipart(&key)).await
    }

    /// Uploads part `index` (from 0) of the upload `upload` of `id`.
    pub(super) async fn put_part(&self, id: &str, upload: &str, index: usize, body: Vec<Bytes>) -> Result<PartId, MediaError> {
        let key = self.key_of(id);
        let payload: PutPayload = body.into_iter().collect();
        let upload = upload.to_string();
        self.bounded(Op::PutPart, UPLOAD_CALL, self.store.put_part(&key, &upload, index, payload)).await
    }

    pub(super) async fn complete_upload(&self, id: &str, upload: &str, parts: Vec<PartId>) -> Result<(), MediaError> {
        let key = self.key_of(id);
        let upload = upload.to_string();
        self.bounded(Op::CompleteUpload, UPLOAD_CALL, self.store.complete_multipart(&key, &upload, parts)).await.map(drop)
    }

    /// Aborts an upload of the object at `key`; one the store no longer knows counts as done.
    pub(super) async fn abort_upload_at(&self, key: &str, upload: &str) -> Result<(), MediaError> {
        let key = ObjectPath::from(key);
        let upload = upload.to_string();
        match self.bounded(Op::AbortUpload, SMALL_CALL, self.store.abort_multipart(&key, &upload)).await {
            Ok(()) | Err(MediaError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Removes the object of `id`; `false` when there was none.
    pub(super) async fn delete(&self, id: &str) -> Result<bool, MediaError> {
        if self.size(id).await?.is_none() {
            return Ok(false);
        }
        let key = self.key_of(id);
        match self.bounded(Op::Delete, SMALL_CALL, self.store.delete(&key)).await {
            Ok(()) => Ok(true),
            Err(MediaError::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Every object this backend wrote, as (id, last modified).
    pub(super) async fn list(&self) -> Result<Vec<(String, SystemTime)>, MediaError> {
        let prefix = self.prefix.trim_end_matches('/');
        let prefix = (!prefix.is_empty()).then(|| ObjectPath::from(prefix));
        let call = async {
            let found: Vec<_> = self.store.list(prefix.as_ref()).try_collect().await?;
            Ok(found)
        };
        // a listing pages through the bucket: bounded by a long limit, not a small one
        let found = self.bounded(Op::List, UPLOAD_CALL, call).await?;
        Ok(found.into_iter().filter_map(|meta| Some((self.id_of(&meta.location)?, SystemTime::from(meta.last_modified)))).collect())
    }

    /// Lists an empty corner of the bucket: a store that cannot be reached, a bucket that does
    /// not exist and credentials it refuses are errors.
    pub(super) async fn probe(&self) -> Result<(), MediaError> {
        let corner = ObjectPath::from(format!("{}probe-of-reach", self.prefix));
        match self.bounded(Op::List, SMALL_CALL, self.store.list_with_delimiter(Some(&corner))).await {
            Ok(_) => Ok(()),
            Err(MediaError::NotFound) => Err(MediaError::Unavailable("the bucket does not exist".into())),
            Err(e) => Err(e),
        }
    }

    /// The object key of the upload record's object, as stored (for aborting it later).
    pub(super) fn key_text(&self, id: &str) -> String {
        self.key_of(id).as_ref().to_string()
    }
}

/// The store's answer in a line: object_store nests the HTTP error under its own words.
fn store_reason(e: &object_store::Error) -> String {
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        let text = inner.to_string();
        if !reason.contains(&text) {
            reason.push_str(": ");
            reason.push_str(&text);
        }
        source = inner.source();
    }
    reason
}
