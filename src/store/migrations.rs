//! The stored schema version and the ordered steps that bring an older store up to date.
//!
//! Each step runs in its own write transaction together with the version bump, so a crash
//! leaves the store at the old version or the new one, never between. A store written by a
//! newer build is refused rather than misread.

use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use super::tables::*;
use super::{StoreError, codec, write_now};
use crate::domain::user::{Email, User};

/// The schema this build writes.
pub const CURRENT: u32 = 22;

const SCHEMA_VERSION: &str = "schema_version";

/// Schema 1 kept emails as typed, so sign-in was case-sensitive.
const USERS_BY_EMAIL_V1: TableDefinition<&str, u128> = TableDefinition::new("users_by_email-1");

/// Step `n` upgrades a store at schema `n - 1` to schema `n`.
/// One migration step: the version it reaches, what it does, and the code.
type Step = (u32, &'static str, fn(&WriteTransaction) -> Result<(), StoreError>);

const STEPS: [Step; 22] = [
    (1, "create the initial tables", step_1_initial_tables),
    (2, "make emails case-insensitive", step_2_normalise_emails),
    (3, "create the generation, media and credit tables", step_3_generation_tables),
    (4, "create the table of connections added in the admin UI", step_4_connections),
    (5, "create the table of model policies (roles, overrides, prices)", step_5_model_policies),
    (6, "create the queue of generations being deleted", step_6_pending_deletions),
    (7, "create the expiry index (filled from finished generations and uploads) and the record of retention runs", step_7_retention),
    (8, "create the table of data exports", step_8_exports),
    (9, "create the queue of people whose content is being erased", step_9_pending_erasures),
    (10, "create the webhook tables (registrations, deliveries and their queue)", step_10_webhooks),
    (11, "create the table of catalog changes (an imported catalog, admins' edits)", step_11_catalog_layers),
    (12, "create the index of generations made from an earlier output", step_12_generations_by_source),
    (13, "create the table of people's preferences (the language of their pages)", step_13_preferences),
    (14, "create the OpenID Connect tables (linked identities, the ID tokens of sessions)", step_14_oidc),
    (15, "create the table of small media kept with their records", step_15_sealed_media),
    (16, "create the notification tables (the outbox of e-mails and chat posts, people's notification settings)", step_16_notifications),
    (17, "create the spending tables (settings, monthly allowance grants, approval requests)", step_17_spending),
    (18, "create the board tables (boards, members, items and their indexes)", step_18_boards),
    (19, "create the share link tables (links, their index by secret and by maker, the instance switch)", step_19_share_links),
    (20, "create the preset and cast tables (with the uploads they keep)", step_20_presets_and_cast),
    (21, "create the batch tables (batches with their rows, by owner, the active ones)", step_21_batches),
    (22, "create the table of media uploads to an object store under way", step_22_media_uploads),
];

/// The schema version stored in `db` (0 for a new file).
pub fn stored_version(db: &redb::Database) -> Result<u32, StoreError> {
    version_in(&db.begin_read()?)
}

/// The schema version as `tx` sees it (0 for a new file).
pub fn version_in(tx: &redb::ReadTransaction) -> Result<u32, StoreError> {
    let meta = match tx.open_table(META) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let version = meta.get(SCHEMA_VERSION)?;
    Ok(version.and_then(|v| <[u8; 4]>::try_from(v.value()).ok()).map(u32::from_le_bytes).unwrap_or(0))
}

/// Brings `db` to [`CURRENT`], one step per transaction. Cheap when already current.
pub fn run(db: &redb::Database) -> Result<(), StoreError> {
    let found = stored_version(db)?;
    if found > CURRENT {
        return Err(StoreError::TooNew { found, supported: CURRENT });
    }
    for (version, what, step) in STEPS.iter().filter(|(v, _, _)| *v > found) {
        tracing::info!(schema = version, "store migration: {what}");
        write_now(db, |tx| {
            step(tx)?;
            set_version(tx, *version)
        })?;
    }
    Ok(())
}

fn set_version(tx: &WriteTransaction, version: u32) -> Result<(), StoreError> {
    tx.open_table(META)?.insert(SCHEMA_VERSION, version.to_le_bytes().as_slice())?;
    Ok(())
}

fn step_1_initial_tables(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(META)?;
    tx.open_table(USERS)?;
    tx.open_table(USERS_BY_EMAIL_V1)?;
    tx.open_table(SESSIONS)?;
    tx.open_table(SESSIONS_BY_USER)?;
    tx.open_table(API_TOKENS)?;
    tx.open_table(API_TOKENS_BY_HASH)?;
    tx.open_table(API_TOKENS_BY_USER)?;
    tx.open_table(LINKS)?;
    tx.open_table(AUDIT)?;
    Ok(())
}

/// Lower-cases every stored email and rebuilds the email index as `users_by_email-2`.
/// Where two accounts differ only by case, the older keeps the address for sign-in.
fn step_2_normalise_emails(tx: &WriteTransaction) -> Result<(), StoreError> {
    let mut users = tx.open_table(USERS)?;
    let mut index = tx.open_table(USERS_BY_EMAIL)?;
    let mut rewritten = Vec::new();
    for row in users.iter()? {
        let (key, value) = row?;
        let mut user: User = codec::decode(value.value())?;
        if let Ok(normalised) = Email::parse(user.email.as_str()) {
            user.email = normalised;
        }
        rewritten.push((key.value(), user));
    }
    rewritten.sort_by_key(|(_, u)| u.created_at);
    for (key, user) in rewritten {
        users.insert(key, codec::encode(&user)?.as_slice())?;
        if index.get(user.email.as_str())?.is_none() {
            index.insert(user.email.as_str(), key)?;
        } else {
            tracing::warn!(user = %user.id, "two accounts share an email apart from case; the newer one keeps its id but cannot sign in by email");
        }
    }
    drop(index);
    drop(users);
    tx.delete_table(USERS_BY_EMAIL_V1)?;
    Ok(())
}

fn step_3_generation_tables(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(GENERATIONS)?;
    tx.open_table(GENERATIONS_BY_OWNER)?;
    tx.open_table(GENERATIONS_ACTIVE)?;
    tx.open_table(ASSETS)?;
    tx.open_table(LEDGER)?;
    tx.open_table(LEDGER_BY_USER)?;
    tx.open_table(BALANCES)?;
    tx.open_table(USER_KEYS)?;
    tx.open_table(SEARCH_OUTBOX)?;
    Ok(())
}

fn step_4_connections(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(CONNECTIONS)?;
    Ok(())
}

fn step_5_model_policies(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(MODEL_POLICIES)?;
    Ok(())
}

fn step_6_pending_deletions(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(PENDING_DELETIONS)?;
    Ok(())
}

/// Creates the retention tables and indexes what is already stored.
fn step_7_retention(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(RETENTION_RUNS)?;
    tx.open_table(EXPIRY)?;
    let mut generations = Vec::new();
    for row in tx.open_table(GENERATIONS)?.iter()? {
        generations.push(codec::decode(row?.1.value())?);
    }
    for g in &generations {
        super::expiry::index_generation(tx, g)?;
    }
    let mut assets = Vec::new();
    for row in tx.open_table(ASSETS)?.iter()? {
        assets.push(codec::decode(row?.1.value())?);
    }
    for a in &assets {
        super::expiry::index_asset(tx, a)?;
    }
    Ok(())
}

fn step_8_exports(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(EXPORTS)?;
    Ok(())
}

fn step_9_pending_erasures(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(PENDING_ERASURES)?;
    Ok(())
}

fn step_10_webhooks(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(WEBHOOKS)?;
    tx.open_table(WEBHOOKS_BY_OWNER)?;
    tx.open_table(WEBHOOK_DELIVERIES)?;
    tx.open_table(WEBHOOK_DELIVERIES_BY_HOOK)?;
    tx.open_table(WEBHOOK_QUEUE)?;
    Ok(())
}

fn step_11_catalog_layers(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(CATALOG_LAYERS)?;
    Ok(())
}

fn step_12_generations_by_source(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(GENERATIONS_BY_SOURCE)?;
    Ok(())
}

fn step_13_preferences(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(PREFERENCES)?;
    Ok(())
}

fn step_14_oidc(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(OIDC_IDENTITIES)?;
    tx.open_table(OIDC_SESSIONS)?;
    Ok(())
}

fn step_15_sealed_media(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(SEALED_MEDIA)?;
    Ok(())
}

fn step_16_notifications(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(NOTICES)?;
    tx.open_table(NOTICE_QUEUE)?;
    tx.open_table(NOTIFY_SETTINGS)?;
    Ok(())
}

/// Allowances, spend limits and approvals: their settings, the grants made, the requests.
fn step_17_spending(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(SPENDING_SETTINGS)?;
    tx.open_table(ALLOWANCE_GRANTS)?;
    tx.open_table(APPROVALS)?;
    Ok(())
}

/// Boards: the boards, their members and items, and the indexes by person and by generation.
fn step_18_boards(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(BOARDS)?;
    tx.open_table(BOARD_MEMBERS)?;
    tx.open_table(BOARDS_BY_MEMBER)?;
    tx.open_table(BOARD_ITEMS)?;
    tx.open_table(BOARDS_BY_GENERATION)?;
    Ok(())
}

/// Read-only links for people without an account, and the admin's switch for them.
fn step_19_share_links(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(SHARE_LINKS)?;
    tx.open_table(SHARE_LINKS_BY_HASH)?;
    tx.open_table(SHARE_LINKS_BY_MAKER)?;
    tx.open_table(SHARING_SETTINGS)?;
    Ok(())
}

/// Presets and the cast, each by owner, which presets use which cast member, and the uploads
/// they keep from retention.
fn step_20_presets_and_cast(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(PRESETS)?;
    tx.open_table(PRESETS_BY_OWNER)?;
    tx.open_table(CAST)?;
    tx.open_table(CAST_BY_OWNER)?;
    tx.open_table(CAST_USES)?;
    tx.open_table(REFERENCE_HOLDS)?;
    Ok(())
}

/// Batches of generations from a manifest.
fn step_21_batches(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(BATCHES)?;
    tx.open_table(BATCHES_BY_OWNER)?;
    tx.open_table(ACTIVE_BATCHES)?;
    Ok(())
}

fn step_22_media_uploads(tx: &WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(MEDIA_UPLOADS)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::UserId;
    use crate::domain::time::Timestamp;
    use crate::domain::user::Role;

    /// Writes `tests/fixtures/schema-1.redb`, a store as schema 1 left it, for the upgrade
    /// test. Run by hand when the fixture must be made again:
    /// `cargo test --lib write_schema_1_fixture -- --ignored`.
    #[test]
    #[ignore]
    fn write_schema_1_fixture() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-1.redb");
        let _ = std::fs::remove_file(&path);
        let db = redb::Database::create(&path).unwrap();
        write_now(&db, |tx| {
            step_1_initial_tables(tx)?;
            set_version(tx, 1)?;
            // "correct horse battery" hashed with Argon2id m=19456,t=2,p=1.
            use argon2::PasswordHasher;
            let hash = argon2::Argon2::default().hash_password(b"correct horse battery").unwrap().to_string();
            let user = User {
                id: UserId::generate(),
                email: serde_json::from_str("\"Alice@Example.COM\"").unwrap(),
                name: "Alice".into(),
                role: Role::Admin,
                disabled: false,
                password_hash: hash,
                created_at: Timestamp::now(),
                password_changed_at: Timestamp::now(),
                bio: String::new(),
                avatar: None,
                frozen: false,
                forbid_training: false,
                legal_hold: false,
            };
            tx.open_table(USERS)?.insert(user.id.to_key(), codec::encode(&user)?.as_slice())?;
            tx.open_table(USERS_BY_EMAIL_V1)?.insert("Alice@Example.COM", user.id.to_key())?;
            let mut meta = tx.open_table(META)?;
            meta.insert("setup_complete", [1u8].as_slice())?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
    }

    #[test]
    fn a_store_from_a_newer_build_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = redb::Database::create(dir.path().join("x.redb")).unwrap();
        write_now(&db, |tx| set_version(tx, CURRENT + 1)).unwrap();
        let err = run(&db).unwrap_err();
        assert!(matches!(err, StoreError::TooNew { found, .. } if found == CURRENT + 1));
        assert!(err.to_string().contains("newer reelvault"));
    }

    #[test]
    fn a_new_store_reaches_the_current_schema_and_reruns_are_no_ops() {
        let dir = tempfile::tempdir().unwrap();
        let db = redb::Database::create(dir.path().join("x.redb")).unwrap();
        run(&db).unwrap();
        assert_eq!(stored_version(&db).unwrap(), CURRENT);
        run(&db).unwrap();
        assert_eq!(stored_version(&db).unwrap(), CURRENT);
    }
}
