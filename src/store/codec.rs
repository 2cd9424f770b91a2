//! The one value encoding of the store: an explicit, stable type name followed by postcard.
//!
//! Layout: `[name length: u8][name: utf-8][postcard payload]`. The name
//! (`"reelvault::User@1"`) is written by hand, never derived from Rust paths, so renaming
//! a Rust type cannot orphan stored data; a new layout gets a new `@N`.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::StoreError;

/// A value the store keeps, with the stable name of its layout.
pub trait Stored: Serialize + DeserializeOwned {
    const TYPE_NAME: &'static str;
    /// Reads a record written in an earlier layout called `name`, when this type had one
    /// (`None`: unknown name). Records are upgraded on read and rewritten in the current
    /// layout the next time they are written.
    fn upgrade(name: &str, payload: &[u8]) -> Option<Result<Self, StoreError>> {
        let _ = (name, payload);
        None
    }
}

/// Decodes a payload of the earlier layout `Old` and converts it.
pub(super) fn upgrade_from<Old: DeserializeOwned + Into<New>, New>(name: &str, payload: &[u8]) -> Result<New, StoreError> {
    postcard::from_bytes::<Old>(payload).map(Into::into).map_err(|e| StoreError::Codec(format!("decode {name}: {e}")))
}

pub fn encode<T: Stored>(value: &T) -> Result<Vec<u8>, StoreError> {
    let name = T::TYPE_NAME.as_bytes();
    let mut out = Vec::with_capacity(64);
    out.push(u8::try_from(name.len()).map_err(|_| StoreError::Codec("type name too long".into()))?);
    out.extend_from_slice(name);
    postcard::to_io(value, &mut out).map_err(|e| StoreError::Codec(format!("encode {}: {e}", T::TYPE_NAME)))?;
    Ok(out)
}

pub fn decode<T: Stored>(bytes: &[u8]) -> Result<T, StoreError> {
    let (name, payload) = split(bytes)?;
    if name != T::TYPE_NAME {
        return T::upgrade(name, payload).unwrap_or_else(|| Err(StoreError::Codec(format!("expected {}, found {name}", T::TYPE_NAME))));
    }
    postcard::from_bytes(payload).map_err(|e| StoreError::Codec(format!("decode {name}: {e}")))
}

fn split(bytes: &[u8]) -> Result<(&str, &[u8]), StoreError> {
    let (&len, rest) = bytes.split_first().ok_or_else(|| StoreError::Codec("empty value".into()))?;
    let len = usize::from(len);
    if rest.len() < len {
        return Err(StoreError::Codec("truncated type name".into()));
    }
    let name = std::str::from_utf8(&rest[..len]).map_err(|_| StoreError::Codec("type name is not utf-8".into()))?;
    Ok((name, &rest[len..]))
}

macro_rules! stored {
    ($($ty:path => $name:literal),* $(,)?) => {
        $(impl Stored for $ty { const TYPE_NAME: &'static str = $name; })*
    };
}

stored! {
    crate::domain::auth::Session => "reelvault::Session@1",
    crate::domain::auth::OneTimeLink => "reelvault::OneTimeLink@1",
    crate::domain::audit::AuditEvent => "reelvault::AuditEvent@1",
    crate::domain::credits::LedgerEntry => "reelvault::LedgerEntry@1",
    crate::domain::credits::Balance => "reelvault::Balance@1",
    crate::domain::model_policy::ModelPolicy => "reelvault::ModelPolicy@1",
    crate::domain::retention::RetentionRun => "reelvault::RetentionRun@1",
    crate::domain::export::Export => "reelvault::Export@1",
    crate::domain::privacy::SettingsSeen => "reelvault::PrivacySettingsSeen@1",
    crate::domain::webhook::Webhook => "reelvault::Webhook@1",
    crate::domain::webhook::Delivery => "reelvault::WebhookDelivery@1",
    crate::domain::preferences::Preferences => "reelvault::Preferences@1",
    crate::domain::auth::OidcSession => "reelvault::OidcSession@1",
    crate::domain::notify::Outgoing => "reelvault::Notification@1",
    crate::domain::notify::NotifySettings => "reelvault::NotifySettings@1",
    crate::domain::spending::SpendingSettings => "reelvault::SpendingSettings@1",
    crate::domain::approval::Approval => "reelvault::Approval@1",
    crate::domain::approval::AllowanceGrant => "reelvault::AllowanceGrant@1",
    crate::domain::board::Board => "reelvault::Board@1",
    crate::domain::board::BoardItem => "reelvault::BoardItem@1",
    crate::domain::share::ShareLink => "reelvault::ShareLink@1",
    crate::domain::share::SharingSettings => "reelvault::SharingSettings@1",
    crate::domain::preset::Preset => "reelvault::Preset@1",
    crate::domain::cast::CastMember => "reelvault::CastMember@1",
    crate::domain::batch::Batch => "reelvault::Batch@1",
    crate::domain::media_backend::MediaMigration => "reelvault::MediaMigration@1",
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::{Actor, AuditAction, AuditEvent, ClientInfo};
    use crate::domain::ids::AuditId;
    use crate::domain::time::Timestamp;

    fn event() -> AuditEvent {
        AuditEvent {
            id: AuditId::generate(),
            at: Timestamp(1),
            actor: Actor::Cli,
            action: AuditAction::UserCreated,
            target: Some("a@example.com".into()),
            client: ClientInfo::default(),
            detail: None,
        }
    }

    #[test]
    fn values_carry_their_stable_type_name() {
        let bytes = encode(&event()).unwrap();
        assert_eq!(&bytes[1..1 + bytes[0] as usize], b"reelvault::AuditEvent@1");
        let back: AuditEvent = decode(&bytes).unwrap();
        assert_eq!(back.target.as_deref(), Some("a@example.com"));
    }

    #[test]
    fn a_value_of_another_type_is_refused_not_misread() {
        let bytes = encode(&event()).unwrap();
        let err = decode::<crate::domain::user::User>(&bytes).unwrap_err();
        assert!(err.to_string().contains("expected reelvault::User@2"), "{err}");
        assert!(decode::<AuditEvent>(&[]).is_err());
        assert!(decode::<AuditEvent>(&[200, b'x']).is_err());
    }
}
