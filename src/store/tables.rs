//! Every redb table of the store, with its key and value layout. Names carry a version:
//! a breaking change makes a new table and a migration step, never a silent reinterpretation.

use redb::TableDefinition;

/// Singleton facts about the instance: `schema_version` (u32 LE), `setup_complete`,
/// `setup_token_hash` (32 bytes), `privacy_settings` (codec `PrivacySettingsSeen`: the
/// fingerprint of the privacy-relevant settings and when it was first seen).
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta-1");

/// UserId key -> codec `User`.
pub const USERS: TableDefinition<u128, &[u8]> = TableDefinition::new("users-1");

/// Normalised (lower-case) email -> UserId key. Replaced `users_by_email-1` in schema 2.
pub const USERS_BY_EMAIL: TableDefinition<&str, u128> = TableDefinition::new("users_by_email-2");

/// sha256(session token) -> codec `Session`.
pub const SESSIONS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("sessions-1");

/// (UserId, SessionId) -> sha256(session token): a user's sessions, oldest first.
pub const SESSIONS_BY_USER: TableDefinition<(u128, u128), &[u8; 32]> = TableDefinition::new("sessions_by_user-1");

/// TokenId -> codec `ApiToken`.
pub const API_TOKENS: TableDefinition<u128, &[u8]> = TableDefinition::new("api_tokens-1");

/// sha256(API token secret) -> TokenId.
pub const API_TOKENS_BY_HASH: TableDefinition<&[u8; 32], u128> = TableDefinition::new("api_tokens_by_hash-1");

/// (UserId, TokenId) -> (): a user's tokens, oldest first.
pub const API_TOKENS_BY_USER: TableDefinition<(u128, u128), ()> = TableDefinition::new("api_tokens_by_user-1");

/// sha256(link secret) -> codec `OneTimeLink` (invitations and password resets).
pub const LINKS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("links-1");

/// AuditId (time-ordered) -> codec `AuditEvent`.
pub const AUDIT: TableDefinition<u128, &[u8]> = TableDefinition::new("audit-1");

/// GenerationId -> codec `Generation`.
pub const GENERATIONS: TableDefinition<u128, &[u8]> = TableDefinition::new("generations-1");

/// (UserId, GenerationId) -> (): a user's generations, oldest first.
pub const GENERATIONS_BY_OWNER: TableDefinition<(u128, u128), ()> = TableDefinition::new("generations_by_owner-1");

/// (source GenerationId, GenerationId) -> (): generations made from an earlier one's output
/// (extend, edit, enhance), so the source can list what came of it.
pub const GENERATIONS_BY_SOURCE: TableDefinition<(u128, u128), ()> = TableDefinition::new("generations_by_source-1");

/// GenerationId -> (): generations not yet in a terminal state (what the engine resumes).
pub const GENERATIONS_ACTIVE: TableDefinition<u128, ()> = TableDefinition::new("generations_active-1");

/// AssetId -> codec `Asset`.
pub const ASSETS: TableDefinition<u128, &[u8]> = TableDefinition::new("assets-1");

/// LedgerId (time-ordered) -> codec `LedgerEntry`.
pub const LEDGER: TableDefinition<u128, &[u8]> = TableDefinition::new("ledger-1");

/// (UserId, LedgerId) -> (): a user's ledger, oldest first.
pub const LEDGER_BY_USER: TableDefinition<(u128, u128), ()> = TableDefinition::new("ledger_by_user-1");

/// UserId -> codec `Balance`: the running sum of the user's ledger.
pub const BALANCES: TableDefinition<u128, &[u8]> = TableDefinition::new("balances-1");

/// UserId -> the user's age identity, encrypted to the master key.
pub const USER_KEYS: TableDefinition<u128, &[u8]> = TableDefinition::new("user_keys-1");

/// Sequence -> GenerationId key: generations whose search document must be refreshed.
pub const SEARCH_OUTBOX: TableDefinition<u64, u128> = TableDefinition::new("search_outbox-1");

/// Connection name -> codec `StoredConnection` (connections added in the admin UI).
pub const CONNECTIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("connections-1");

/// Catalog model id -> codec `ModelPolicy` (roles, per-person overrides, price override).
pub const MODEL_POLICIES: TableDefinition<&str, &[u8]> = TableDefinition::new("model_policies-1");

/// Layers of catalog entries over the shipped catalog, by layer name (`imported`, `edited`):
/// JSON lists of entries (self-describing, so the entry shape may grow).
pub const CATALOG_LAYERS: TableDefinition<&str, &[u8]> = TableDefinition::new("catalog_layers-1");

/// GenerationId -> (): generations marked deleted whose files and records are still being
/// removed (a crash between the steps leaves the row; the next start finishes the work).
pub const PENDING_DELETIONS: TableDefinition<u128, ()> = TableDefinition::new("pending_deletions-1");

/// (anchor ms, class, id) -> (): the expiry index. The anchor is when the item's retention
/// clock started (a generation's end, an upload's storing); its expiry is anchor + the
/// class's period in force, so the index never needs a rewrite when a period changes.
/// Written in the same transaction as the record it indexes.
pub const EXPIRY: TableDefinition<(i64, u8, u128), ()> = TableDefinition::new("expiry-1");

/// Run start (ms) -> codec `RetentionRun`: the record of each retention sweep.
pub const RETENTION_RUNS: TableDefinition<i64, &[u8]> = TableDefinition::new("retention_runs-1");

/// UserId -> erasure kind (0: all content, 1: the whole account): people whose content is
/// being destroyed. Written in the transaction that asks for it; removed when the work is
/// done, so a crash in between leaves the row and the next start finishes the erasure.
pub const PENDING_ERASURES: TableDefinition<u128, u8> = TableDefinition::new("pending_erasures-1");
/// UserId key -> codec `Export`: each person's latest data export (at most one row each).
pub const EXPORTS: TableDefinition<u128, &[u8]> = TableDefinition::new("exports-1");

/// UserId key -> codec `Preferences`: a person's settings (the language of their pages).
/// No row: every setting follows its default.
pub const PREFERENCES: TableDefinition<u128, &[u8]> = TableDefinition::new("preferences-1");

/// WebhookId -> codec `Webhook`: URLs people registered for completion events.
pub const WEBHOOKS: TableDefinition<u128, &[u8]> = TableDefinition::new("webhooks-1");

/// (UserId, WebhookId) -> (): a person's webhooks, oldest first.
pub const WEBHOOKS_BY_OWNER: TableDefinition<(u128, u128), ()> = TableDefinition::new("webhooks_by_owner-1");

/// DeliveryId -> codec `WebhookDelivery`: one event for one webhook, with its attempts.
pub const WEBHOOK_DELIVERIES: TableDefinition<u128, &[u8]> = TableDefinition::new("webhook_deliveries-1");

/// (WebhookId, DeliveryId) -> (): each webhook's delivery log, oldest first.
pub const WEBHOOK_DELIVERIES_BY_HOOK: TableDefinition<(u128, u128), ()> = TableDefinition::new("webhook_deliveries_by_hook-1");

/// (due ms, DeliveryId) -> (): pending deliveries by when their next attempt is due.
/// Written in the transaction that records the event (the generation's terminal state), so
/// a restart resumes every pending delivery.
pub const WEBHOOK_QUEUE: TableDefinition<(i64, u128), ()> = TableDefinition::new("webhook_queue-1");

/// (issuer, subject) -> UserId: the person an OpenID Connect identity signs in, remembered at
/// the first sign-in that linked it (by e-mail, invitation or a new account).
pub const OIDC_IDENTITIES: TableDefinition<(&str, &str), u128> = TableDefinition::new("oidc_identities-1");

/// Session hash -> codec `OidcSession`: the provider and ID token of a session started with
/// OpenID Connect (for the provider's sign-out); removed with its session.
pub const OIDC_SESSIONS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("oidc_sessions-1");

/// AssetId key -> the asset's age file, whole: small outputs kept with their records instead
/// of a file each (see `sealed_media`). Removed with the asset record.
pub const SEALED_MEDIA: TableDefinition<u128, &[u8]> = TableDefinition::new("sealed_media-1");

/// NoticeId -> codec `Notification`: e-mails and chat posts waiting to go out (the outbox);
/// removed once sent or given up.
pub const NOTICES: TableDefinition<u128, &[u8]> = TableDefinition::new("notices-1");

/// (due ms, NoticeId) -> (): the outbox by when each notification's next attempt is due.
pub const NOTICE_QUEUE: TableDefinition<(i64, u128), ()> = TableDefinition::new("notice_queue-1");

/// UserId -> codec `NotifySettings`: what a person asked to be e-mailed about; no row: nothing.
pub const NOTIFY_SETTINGS: TableDefinition<u128, &[u8]> = TableDefinition::new("notify_settings-1");
/// "settings" -> codec `SpendingSettings`: allowances, spend limits and approval rules.
pub const SPENDING_SETTINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("spending_settings-1");

/// (UserId, month as yyyymm) -> codec `AllowanceGrant`: the monthly allowance granted to a
/// person, written with its ledger entry, so a month is never granted twice.
pub const ALLOWANCE_GRANTS: TableDefinition<(u128, u32), &[u8]> = TableDefinition::new("allowance_grants-1");

/// GenerationId -> codec `Approval`: the approval request of a job priced above its
/// requester's threshold, and its answer.
pub const APPROVALS: TableDefinition<u128, &[u8]> = TableDefinition::new("approvals-1");

/// BoardId -> codec `Board`: teams' shared collections of generations.
pub const BOARDS: TableDefinition<u128, &[u8]> = TableDefinition::new("boards-1");

/// (BoardId, UserId) -> role (0: viewer, 1: editor): a board's members.
pub const BOARD_MEMBERS: TableDefinition<(u128, u128), u8> = TableDefinition::new("board_members-1");

/// (UserId, BoardId) -> role: the boards a person is a member of; written with `board_members-1`.
pub const BOARDS_BY_MEMBER: TableDefinition<(u128, u128), u8> = TableDefinition::new("boards_by_member-1");

/// (BoardId, GenerationId) -> codec `BoardItem`: a board's items, with their position and note.
pub const BOARD_ITEMS: TableDefinition<(u128, u128), &[u8]> = TableDefinition::new("board_items-1");

/// (GenerationId, BoardId) -> (): the boards a generation is on; written with `board_items-1`.
pub const BOARDS_BY_GENERATION: TableDefinition<(u128, u128), ()> = TableDefinition::new("boards_by_generation-1");
/// Share links by id.
pub const SHARE_LINKS: TableDefinition<u128, &[u8]> = TableDefinition::new("share_links-1");

/// A share link's id by the SHA-256 of the secret in its URL.
pub const SHARE_LINKS_BY_HASH: TableDefinition<&[u8; 32], u128> = TableDefinition::new("share_links_by_hash-1");

/// (maker, link) for "my links".
pub const SHARE_LINKS_BY_MAKER: TableDefinition<(u128, u128), ()> = TableDefinition::new("share_links_by_maker-1");

/// The instance's sharing switch, under the key `settings`.
pub const SHARING_SETTINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("sharing_settings-1");
/// PresetId -> codec `Preset`.
pub const PRESETS: TableDefinition<u128, &[u8]> = TableDefinition::new("presets-1");

/// (owner kind: 0 person, 1 board; UserId or BoardId; PresetId) -> (): the presets of a
/// person or of a board, oldest first.
pub const PRESETS_BY_OWNER: TableDefinition<(u8, u128, u128), ()> = TableDefinition::new("presets_by_owner-1");

/// CastId -> codec `CastMember`.
pub const CAST: TableDefinition<u128, &[u8]> = TableDefinition::new("cast-1");

/// (owner kind: 0 person, 1 board; UserId or BoardId; CastId) -> (): the cast of a person or
/// of a board, oldest first.
pub const CAST_BY_OWNER: TableDefinition<(u8, u128, u128), ()> = TableDefinition::new("cast_by_owner-1");

/// (CastId, PresetId) -> (): the presets that use a cast member (a member in use is not deleted).
pub const CAST_USES: TableDefinition<(u128, u128), ()> = TableDefinition::new("cast_uses-1");

/// (AssetId, CastId or PresetId) -> (): the uploads a cast member or a preset holds; retention
/// keeps an upload while any row names it.
pub const REFERENCE_HOLDS: TableDefinition<(u128, u128), ()> = TableDefinition::new("reference_holds-1");

/// Batches by id, each with its rows.
pub const BATCHES: TableDefinition<u128, &[u8]> = TableDefinition::new("batches-1");

/// (owner, batch) for "my batches".
pub const BATCHES_BY_OWNER: TableDefinition<(u128, u128), ()> = TableDefinition::new("batches_by_owner-1");

/// Batches the runner keeps going: running ones, and stopped ones with rows in flight.
pub const ACTIVE_BATCHES: TableDefinition<u128, ()> = TableDefinition::new("active_batches-1");

/// Multipart upload id -> codec `MediaUpload` (the object key, when it began): uploads of media
/// to an object store under way. Written before the first part, removed once completed or
/// aborted; what a crash leaves is aborted by the media GC.
pub const MEDIA_UPLOADS: TableDefinition<&str, &[u8]> = TableDefinition::new("media_uploads-1");
