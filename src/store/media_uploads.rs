//! Multipart uploads of media to an object store that are under way (see `MEDIA_UPLOADS`):
//! recorded before their first part so that one a crash interrupts can be found and aborted.

use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::codec::{self, Stored};
use super::tables::MEDIA_UPLOADS;
use super::{StoreError, Tx};

/// One upload: the object it writes and when it began.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaUpload {
    pub key: String,
    /// Milliseconds since the Unix epoch.
    pub started_ms: u64,
}

impl Stored for MediaUpload {
    const TYPE_NAME: &'static str = "reelvault::MediaUpload@1";
}

pub fn put(tx: &WriteTransaction, upload_id: &str, upload: &MediaUpload) -> Result<(), StoreError> {
    tx.open_table(MEDIA_UPLOADS)?.insert(upload_id, codec::encode(upload)?.as_slice())?;
    Ok(())
}

pub fn remove(tx: &WriteTransaction, upload_id: &str) -> Result<(), StoreError> {
    tx.open_table(MEDIA_UPLOADS)?.remove(upload_id)?;
    Ok(())
}

/// Every recorded upload, as (upload id, upload).
pub fn list(tx: &impl Tx) -> Result<Vec<(String, MediaUpload)>, StoreError> {
    let mut out = Vec::new();
    for row in tx.table(MEDIA_UPLOADS)?.iter()? {
        let (id, value) = row?;
        out.push((id.value().to_string(), codec::decode(value.value())?));
    }
    Ok(out)
}
