//! Newtype identifiers, parsed at the edge and never passed inward as raw strings.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use ulid::Ulid;

/// The error for an identifier that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed identifier")]
pub struct MalformedId;

macro_rules! ulid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(Ulid);

        impl $name {
            /// A new, time-ordered identifier.
            pub fn generate() -> Self {
                Self(Ulid::generate())
            }
            /// The fixed-width, order-preserving key form used by the store.
            pub fn to_key(self) -> u128 {
                self.0.0
            }
            /// The inverse of [`Self::to_key`].
            pub fn from_key(key: u128) -> Self {
                Self(Ulid(key))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(&self.0.to_string())
            }
        }

        impl FromStr for $name {
            type Err = MalformedId;
            fn from_str(s: &str) -> Result<Self, MalformedId> {
                Ulid::from_string(s).map(Self).map_err(|_| MalformedId)
            }
        }
    };
}

ulid_id!(
    /// A person's account.
    UserId
);
ulid_id!(
    /// One signed-in browser session (the public handle; the secret token is separate).
    SessionId
);
ulid_id!(
    /// A personal API token (the public handle; the secret is shown once).
    TokenId
);
ulid_id!(
    /// One audit event; time-ordered.
    AuditId
);
ulid_id!(
    /// One generation (a job and its outputs).
    GenerationId
);
ulid_id!(
    /// A stored media file: an upload, an output or a poster.
    AssetId
);
ulid_id!(
    /// One credit-ledger entry; time-ordered.
    LedgerId
);
ulid_id!(
    /// A URL a person registered to receive completion events.
    WebhookId
);
ulid_id!(
    /// One event sent (or to be sent) to one webhook; also the `webhook-id` header and the
    /// event's `id`, the same on every attempt.
    DeliveryId
);
ulid_id!(
    /// A one-time link: setup, invitation or password reset.
    LinkId
);
ulid_id!(
    /// A notification in the outbox (an e-mail or a chat post waiting to go out).
    NoticeId
);
ulid_id!(
    /// A board: a shared, ordered collection of generations with members.
    BoardId
);
ulid_id!(
    /// A preset: a model, parameters and a prompt template with placeholders.
    PresetId
);
ulid_id!(
    /// A cast member: a named set of reference images (a character, a product, a style).
    CastId
);
ulid_id!(
    /// A read-only share link to a generation or a board.
    ShareId
);
ulid_id!(
    /// A batch of generations started from one manifest.
    BatchId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text_and_keys() {
        let id = UserId::generate();
        let text = id.to_string();
        assert_eq!(text.parse::<UserId>(), Ok(id));
        assert_eq!(UserId::from_key(id.to_key()), id);
    }

    #[test]
    fn malformed_ids_are_refused() {
        for bad in ["", "x", "../etc/passwd", "01ARZ3NDEKTSV4RRFFQ69G5FAVX", "0000000000000000000000000!"] {
            assert_eq!(bad.parse::<UserId>(), Err(MalformedId), "{bad}");
        }
    }
}
