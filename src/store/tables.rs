//! Every redb table of the store, with its key and value layout. Names carry a version:
//! a breaking change makes a new table and a migration step, never a silent reinterpretation.

use redb::TableDefinition;

/// Singleton facts about the instance: `schema_version` (u32 LE), `setup_complete`,
/// `setup_token_hash` (32 bytes).
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta-1");

/// UserId key -> codec `User`.
pub const USERS: TableDefinition<u128, &[u8]> = TableDefinition::new("users-1");

/// Normalised (lower-case) email -> UserId key. Replaced `users_by_email-1` in schema 2.
pub const USERS_BY_EMAIL: TableDefinition<&str, u128> = TableDefinition::new("users_by_email-2");

/// sha256(session token) -> codec `Session`.
pub const SESSIONS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("sessions-1");

/// (UserId, SessionId) -> sha256(session token): a user's sessions, oldest first.
pub const SESSIONS_BY_USER: TableDefinition<(u128, u128), &[u8; 32]> =
    TableDefinition::new("sessions_by_user-1");

/// TokenId -> codec `ApiToken`.
pub const API_TOKENS: TableDefinition<u128, &[u8]> = TableDefinition::new("api_tokens-1");

/// sha256(API token secret) -> TokenId.
pub const API_TOKENS_BY_HASH: TableDefinition<&[u8; 32], u128> =
    TableDefinition::new("api_tokens_by_hash-1");

/// (UserId, TokenId) -> (): a user's tokens, oldest first.
pub const API_TOKENS_BY_USER: TableDefinition<(u128, u128), ()> =
    TableDefinition::new("api_tokens_by_user-1");

/// sha256(link secret) -> codec `OneTimeLink` (invitations and password resets).
pub const LINKS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("links-1");

/// AuditId (time-ordered) -> codec `AuditEvent`.
pub const AUDIT: TableDefinition<u128, &[u8]> = TableDefinition::new("audit-1");
