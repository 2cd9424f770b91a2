//! Copies of the store: a logical snapshot of every table into a fresh redb file (for
//! `reelvault backup`), and the file copy taken before a migration step runs (listed for the
//! retention sweep). Every copy is written 0600 in folders of 0700.
//!
//! The snapshot reads inside ONE read transaction, so it is consistent however long it takes
//! and never blocks writers. It knows the table list below; a table in the store that the list
//! lacks is an error, never silently left out.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use redb::{
    Key, ReadTransaction, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, TableHandle, Value, WriteTransaction,
};

use super::tables::*;
use super::{StoreError, migrations};

/// Where the copies taken before migrations go, inside the data directory.
pub const UPGRADE_BACKUP_DIR: &str = "backups";

/// Calls `$m!(TABLE)` for every table of the current schema. A new table in `tables.rs`
/// belongs here too (a test compares this list with a freshly migrated store).
macro_rules! for_each_table {
    ($m:ident) => {{
        $m!(META);
        $m!(USERS);
        $m!(USERS_BY_EMAIL);
        $m!(SESSIONS);
        $m!(SESSIONS_BY_USER);
        $m!(API_TOKENS);
        $m!(API_TOKENS_BY_HASH);
        $m!(API_TOKENS_BY_USER);
        $m!(LINKS);
        $m!(AUDIT);
        $m!(GENERATIONS);
        $m!(GENERATIONS_BY_OWNER);
        $m!(GENERATIONS_ACTIVE);
        $m!(ASSETS);
        $m!(LEDGER);
        $m!(LEDGER_BY_USER);
        $m!(BALANCES);
        $m!(USER_KEYS);
        $m!(SEARCH_OUTBOX);
        $m!(CONNECTIONS);
        $m!(PENDING_DELETIONS);
        $m!(MODEL_POLICIES);
        $m!(EXPIRY);
        $m!(RETENTION_RUNS);
        $m!(PENDING_ERASURES);
        $m!(EXPORTS);
        $m!(WEBHOOKS);
        $m!(WEBHOOKS_BY_OWNER);
        $m!(WEBHOOK_DELIVERIES);
        $m!(WEBHOOK_DELIVERIES_BY_HOOK);
        $m!(WEBHOOK_QUEUE);
        $m!(CATALOG_LAYERS);
        $m!(GENERATIONS_BY_SOURCE);
        $m!(PREFERENCES);
        $m!(OIDC_IDENTITIES);
        $m!(OIDC_SESSIONS);
        $m!(SEALED_MEDIA);
        $m!(NOTICES);
        $m!(NOTICE_QUEUE);
        $m!(NOTIFY_SETTINGS);
        $m!(SPENDING_SETTINGS);
        $m!(ALLOWANCE_GRANTS);
        $m!(APPROVALS);
        $m!(BOARDS);
        $m!(BOARD_MEMBERS);
        $m!(BOARDS_BY_MEMBER);
        $m!(BOARD_ITEMS);
        $m!(BOARDS_BY_GENERATION);
        $m!(SHARE_LINKS);
        $m!(SHARE_LINKS_BY_HASH);
        $m!(SHARE_LINKS_BY_MAKER);
        $m!(SHARING_SETTINGS);
        $m!(PRESETS);
        $m!(PRESETS_BY_OWNER);
        $m!(CAST);
        $m!(CAST_BY_OWNER);
        $m!(CAST_USES);
        $m!(REFERENCE_HOLDS);
        $m!(BATCHES);
        $m!(BATCHES_BY_OWNER);
        $m!(ACTIVE_BATCHES);
        $m!(MEDIA_UPLOADS);
    }};
}

/// The names of the tables a snapshot copies, in the order it copies them.
pub fn table_names() -> Vec<&'static str> {
    let mut names = Vec::new();
    macro_rules! name {
        ($t:ident) => {
            names.push($t.name())
        };
    }
    for_each_table!(name);
    names
}

/// The counts people check after a backup or restore, named for people, from row counts by
/// table name.
pub fn headline_counts(tables: &std::collections::BTreeMap<String, u64>) -> [(&'static str, u64); 5] {
    let rows = |def: &str| tables.get(def).copied().unwrap_or(0);
    [
        ("users", rows(USERS.name())),
        ("generations", rows(GENERATIONS.name())),
        ("assets", rows(ASSETS.name())),
        ("ledger entries", rows(LEDGER.name())),
        ("audit events", rows(AUDIT.name())),
    ]
}

/// What a snapshot copied: the schema version and each table's row count.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub schema: u32,
    pub tables: Vec<(String, u64)>,
}

/// Copies every table visible in `from` into a new redb file at `dest` (which must not
/// exist), in one write transaction, keeping table names and the schema version.
pub fn snapshot(from: &ReadTransaction, dest: &Path) -> Result<Snapshot, StoreError> {
    let schema = migrations::version_in(from)?;
    if schema != migrations::CURRENT {
        return Err(StoreError::Backup(format!("the store is at schema {schema}, expected {}", migrations::CURRENT)));
    }
    let known = table_names();
    for table in from.list_tables()? {
        if !known.contains(&table.name()) {
            return Err(StoreError::Backup(format!("table {:?} is not known to the backup; refusing an incomplete copy", table.name())));
        }
    }
    if from.list_multimap_tables()?.next().is_some() {
        return Err(StoreError::Backup("multimap tables are not known to the backup; refusing an incomplete copy".into()));
    }
    // made empty and private first: redb opens it as it is, mode included
    create_private_file(dest).map_err(|e| StoreError::Backup(format!("cannot create {}: {e}", dest.display())))?;
    let db = redb::Database::builder().create(dest)?;
    let mut tables = Vec::new();
    super::write_now(&db, |to| {
        macro_rules! copy {
            ($t:ident) => {
                tables.push(($t.name().to_string(), copy_table(from, to, $t)?))
            };
        }
        for_each_table!(copy);
        Ok::<_, StoreError>(())
    })?;
    drop(db);
    Ok(Snapshot { schema, tables })
}

fn copy_table<K: Key + 'static, V: Value + 'static>(
    from: &ReadTransaction,
    to: &WriteTransaction,
    def: TableDefinition<K, V>,
) -> Result<u64, StoreError> {
    let source = match from.open_table(def) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let mut dest = to.open_table(def)?;
    let mut rows = 0;
    for row in source.iter()? {
        let (k, v) = row?;
        dest.insert(k.value(), v.value())?;
        rows += 1;
    }
    Ok(rows)
}

/// Row counts of every known table in the store file at `path` (opened, read, closed).
pub fn count_rows(path: &Path) -> Result<Vec<(String, u64)>, StoreError> {
    let db = redb::Database::builder().create(path)?;
    let tx = db.begin_read()?;
    let mut counts = Vec::new();
    macro_rules! count {
        ($t:ident) => {
            counts.push((
                $t.name().to_string(),
                match tx.open_table($t) {
                    Ok(t) => t.len()?,
                    Err(redb::TableError::TableDoesNotExist(_)) => 0,
                    Err(e) => return Err(e.into()),
                },
            ))
        };
    }
    for_each_table!(count);
    Ok(counts)
}

/// Before migrating a store at schema `from`, copies its file to
/// `DATA/backups/reelvault-<from>-<unix seconds>.redb` and returns that path.
///
/// Why a plain file copy is consistent here: the caller holds the open database, so redb's
/// exclusive file lock keeps every other process out, and no transaction of this process is
/// open; every commit so far was durable (fsynced; nothing uses `Durability::None`). The
/// file then holds exactly the last commit. redb marks an open file as "needs recovery" in
/// its header, so the copy is opened once here: redb rebuilds its allocator state (as after
/// a crash, losing nothing committed) and closes it cleanly, which also proves the copy
/// readable and at schema `from`.
pub fn before_upgrade(store_file: &Path, from: u32) -> Result<PathBuf, StoreError> {
    let dir = store_file.parent().unwrap_or(Path::new(".")).join(UPGRADE_BACKUP_DIR);
    let io =
        |what: &str, path: &Path, e: std::io::Error| StoreError::Backup(format!("backup before upgrade: {what} {}: {e}", path.display()));
    create_private_dir(&dir).map_err(|e| io("cannot create", &dir, e))?;
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let dest = dir.join(format!("reelvault-{from}-{seconds}.redb"));
    let partial = dest.with_extension("redb.partial");
    let copied = fs::File::open(store_file)
        .and_then(|mut from| std::io::copy(&mut from, &mut create_private_file(&partial)?))
        .map_err(|e| io("cannot copy the store to", &partial, e));
    copied?;
    let copy = redb::Database::builder().set_repair_callback(|_| {}).create(&partial)?;
    let found = migrations::stored_version(&copy)?;
    drop(copy);
    if found != from {
        return Err(StoreError::Backup(format!("backup before upgrade: the copy is at schema {found}, expected {from}")));
    }
    fs::File::open(&partial).and_then(|f| f.sync_all()).map_err(|e| io("cannot sync", &partial, e))?;
    fs::rename(&partial, &dest).map_err(|e| io("cannot rename", &dest, e))?;
    Ok(dest)
}

/// A copy of the store taken before a migration, in `DATA/backups/` (or one a crash left
/// unfinished there).
#[derive(Debug, Clone)]
pub struct UpgradeCopy {
    pub path: PathBuf,
    /// The file's name, as the retention plan lists it.
    pub name: String,
    /// When it was written (the file's modification time).
    pub written: SystemTime,
}

/// The copies taken before migrations under `data_dir`, oldest first; none when there is no
/// backups folder. Only files named as [`before_upgrade`] names them are listed.
pub fn upgrade_copies(data_dir: &Path) -> std::io::Result<Vec<UpgradeCopy>> {
    let entries = match fs::read_dir(data_dir.join(UPGRADE_BACKUP_DIR)) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut copies = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = name.starts_with("reelvault-") && (name.ends_with(".redb") || name.ends_with(".redb.partial"));
        let meta = entry.metadata()?;
        if ours && meta.is_file() {
            copies.push(UpgradeCopy { path: entry.path(), name, written: meta.modified()? });
        }
    }
    copies.sort_by_key(|c| c.written);
    Ok(copies)
}

/// Creates (or truncates) the file at `path`, readable and writable by its owner only (0600).
pub(crate) fn create_private_file(path: &Path) -> std::io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(path)?;
    #[cfg(unix)]
    {
        // the mode above applies only to a new file
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

/// Creates `path` and its missing parents with mode 0700.
pub(crate) fn create_private_dir(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new().recursive(true).mode(0o700).create(path)
    }
    #[cfg(not(unix))]
    {
        fs::create_dir_all(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_list_is_exactly_what_a_migrated_store_holds() {
        let dir = tempfile::tempdir().unwrap();
        let db = redb::Database::create(dir.path().join("x.redb")).unwrap();
        migrations::run(&db).unwrap();
        let tx = db.begin_read().unwrap();
        let mut stored: Vec<String> = tx.list_tables().unwrap().map(|t| t.name().to_string()).collect();
        stored.sort();
        let mut known: Vec<String> = table_names().into_iter().map(String::from).collect();
        known.sort();
        assert_eq!(stored, known, "store/backup.rs must list every table of the current schema");
    }

    #[test]
    fn a_snapshot_copies_every_row_and_refuses_unknown_tables() {
        let dir = tempfile::tempdir().unwrap();
        let db = redb::Database::create(dir.path().join("x.redb")).unwrap();
        migrations::run(&db).unwrap();
        super::super::write_now(&db, |tx| {
            tx.open_table(USERS_BY_EMAIL)?.insert("a@example.com", 7u128)?;
            tx.open_table(GENERATIONS_BY_OWNER)?.insert((7u128, 9u128), ())?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
        let copy = dir.path().join("copy.redb");
        let snap = snapshot(&db.begin_read().unwrap(), &copy).unwrap();
        assert_eq!(snap.schema, migrations::CURRENT);
        let counts = count_rows(&copy).unwrap();
        assert_eq!(counts, snap.tables);
        assert!(counts.contains(&("users_by_email-2".into(), 1)));
        assert!(counts.contains(&("generations_by_owner-1".into(), 1)));
        assert!(counts.contains(&("meta-1".into(), 1)), "the schema version is copied");

        const STRANGER: TableDefinition<u64, u64> = TableDefinition::new("stranger-1");
        super::super::write_now(&db, |tx| {
            tx.open_table(STRANGER)?.insert(1, 1)?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
        let err = snapshot(&db.begin_read().unwrap(), &dir.path().join("copy2.redb")).unwrap_err();
        assert!(err.to_string().contains("stranger-1"), "{err}");
    }
}
