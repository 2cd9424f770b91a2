//! Earlier layouts of stored records (generations and assets in their own files), frozen as they were written, so old records still
//! read: each converts into the current type with the new fields at their defaults (the
//! oldest through the next layout where that keeps the conversions short).

use serde::{Deserialize, Serialize};

use super::StoreError;
use super::codec::{Stored, upgrade_from};
use crate::domain::auth::{ApiToken, TokenLimits};
use crate::domain::connection::StoredConnection;
use crate::domain::ids::{TokenId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::user::{Email, Role, User};

mod asset;
mod generation;

impl Stored for User {
    const TYPE_NAME: &'static str = "reelvault::User@2";
    fn upgrade(name: &str, payload: &[u8]) -> Option<Result<Self, StoreError>> {
        (name == "reelvault::User@1").then(|| upgrade_from::<UserV1, User>(name, payload))
    }
}

impl Stored for StoredConnection {
    const TYPE_NAME: &'static str = "reelvault::StoredConnection@2";
    fn upgrade(name: &str, payload: &[u8]) -> Option<Result<Self, StoreError>> {
        (name == "reelvault::StoredConnection@1").then(|| upgrade_from::<StoredConnectionV1, StoredConnection>(name, payload))
    }
}

/// `reelvault::StoredConnection@1`: no region.
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredConnectionV1 {
    name: String,
    kind: String,
    base_url: Option<String>,
    api_key: Option<Vec<u8>>,
    access_key: Option<String>,
    secret_key: Option<Vec<u8>>,
    key_hint: Option<String>,
    max_concurrent: u32,
    allow_private_network: bool,
    models: Vec<String>,
    created_at: Timestamp,
}

impl From<StoredConnectionV1> for StoredConnection {
    fn from(v: StoredConnectionV1) -> StoredConnection {
        StoredConnection {
            name: v.name,
            kind: v.kind,
            base_url: v.base_url,
            region: None,
            api_key: v.api_key,
            access_key: v.access_key,
            secret_key: v.secret_key,
            key_hint: v.key_hint,
            max_concurrent: v.max_concurrent,
            allow_private_network: v.allow_private_network,
            models: v.models,
            created_at: v.created_at,
        }
    }
}

impl Stored for ApiToken {
    const TYPE_NAME: &'static str = "reelvault::ApiToken@2";
    fn upgrade(name: &str, payload: &[u8]) -> Option<Result<Self, StoreError>> {
        (name == "reelvault::ApiToken@1").then(|| upgrade_from::<ApiTokenV1, ApiToken>(name, payload))
    }
}

/// `reelvault::ApiToken@1`: no limits of its own.
#[derive(Serialize, Deserialize)]
pub(crate) struct ApiTokenV1 {
    id: TokenId,
    user: UserId,
    name: String,
    created_at: Timestamp,
    expires_at: Option<Timestamp>,
    last_used: Option<Timestamp>,
    revoked_at: Option<Timestamp>,
    prefix: String,
}

impl From<ApiTokenV1> for ApiToken {
    fn from(v: ApiTokenV1) -> ApiToken {
        ApiToken {
            id: v.id,
            user: v.user,
            name: v.name,
            created_at: v.created_at,
            expires_at: v.expires_at,
            last_used: v.last_used,
            revoked_at: v.revoked_at,
            prefix: v.prefix,
            limits: TokenLimits::default(),
        }
    }
}

/// `reelvault::User@1`.
#[derive(Serialize, Deserialize)]
pub(crate) struct UserV1 {
    id: UserId,
    email: Email,
    name: String,
    role: Role,
    disabled: bool,
    password_hash: String,
    created_at: Timestamp,
    password_changed_at: Timestamp,
}

impl From<UserV1> for User {
    fn from(v: UserV1) -> User {
        User {
            id: v.id,
            email: v.email,
            name: v.name,
            role: v.role,
            disabled: v.disabled,
            password_hash: v.password_hash,
            created_at: v.created_at,
            password_changed_at: v.password_changed_at,
            bio: String::new(),
            avatar: None,
            frozen: false,
            forbid_training: false,
            legal_hold: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::codec;

    /// A record as an earlier build wrote it: the old name, then postcard.
    pub(super) fn written_as<T: Serialize>(name: &str, value: &T) -> Vec<u8> {
        let mut out = vec![name.len() as u8];
        out.extend_from_slice(name.as_bytes());
        out.extend(postcard::to_stdvec(value).unwrap());
        out
    }

    #[test]
    fn users_of_the_first_layout_read() {
        let user = UserV1 {
            id: UserId::generate(),
            email: Email::parse("a@example.com").unwrap(),
            name: "A".into(),
            role: Role::Member,
            disabled: false,
            password_hash: "x".into(),
            created_at: Timestamp::now(),
            password_changed_at: Timestamp::now(),
        };
        let u: User = codec::decode(&written_as("reelvault::User@1", &user)).unwrap();
        assert_eq!((u.id, u.email.as_str(), u.bio.as_str(), u.frozen), (user.id, "a@example.com", "", false));
        assert!(codec::decode::<User>(&written_as("reelvault::User@9", &user)).is_err(), "an unknown layout is refused");
    }

    #[test]
    fn tokens_of_the_first_layout_read_with_the_instance_limits() {
        let old = ApiTokenV1 {
            id: TokenId::generate(),
            user: UserId::generate(),
            name: "laptop".into(),
            created_at: Timestamp::now(),
            expires_at: None,
            last_used: None,
            revoked_at: None,
            prefix: "rv_abcd".into(),
        };
        let t: ApiToken = codec::decode(&written_as("reelvault::ApiToken@1", &old)).unwrap();
        assert_eq!((t.id, t.name.as_str(), t.limits), (old.id, "laptop", TokenLimits::default()));
    }
}
