//! The reference files of a batch, from the ZIP that comes with its manifest: read within
//! bounds (entries, each file's size, the whole), with paths that stay inside the archive.

use std::collections::BTreeMap;
use std::io::Read;

use crate::domain::batch::MAX_ZIP_ENTRIES;
use crate::services::{ServiceError, ServiceResult};

/// The largest references ZIP, and the most its files may hold unpacked together.
pub const MAX_ZIP_BYTES: u64 = 64 * 1024 * 1024;

/// The files of a references ZIP by their path inside it (`/`-separated), each at most
/// `max_file` bytes unpacked. Folders and macOS resource forks are skipped. A damaged ZIP,
/// too many entries, an entry larger than it may be (whatever its header claims), a path
/// that leaves the archive, or an encrypted entry is refused whole (422).
pub fn read(bytes: Vec<u8>, max_file: u64) -> ServiceResult<BTreeMap<String, Vec<u8>>> {
    let invalid = |m: String| ServiceError::InvalidMessage(format!("the references ZIP {m}"));
    if bytes.len() as u64 > MAX_ZIP_BYTES {
        return Err(invalid(format!("is larger than {MAX_ZIP_BYTES} bytes")));
    }
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| invalid(format!("cannot be read: {e}")))?;
    if archive.len() > MAX_ZIP_ENTRIES {
        return Err(invalid(format!("has {} entries; it may have at most {MAX_ZIP_ENTRIES}", archive.len())));
    }
    let mut files = BTreeMap::new();
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| invalid(format!("has an entry that cannot be read: {e}")))?;
        let raw_name = entry.name().map_err(|e| invalid(format!("has an entry whose name cannot be read: {e}")))?.to_string();
        let Some(path) = entry.enclosed_name() else {
            return Err(invalid(format!("has an entry whose path leaves the archive: {raw_name:?}")));
        };
        if raw_name.contains('\\') || raw_name.starts_with('/') || raw_name.split('/').any(|part| part == "..") {
            return Err(invalid(format!("has an entry whose path leaves the archive: {raw_name:?}")));
        }
        if entry.is_dir() || raw_name.starts_with("__MACOSX/") || path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("._")) {
            continue;
        }
        if entry.size() > max_file {
            return Err(invalid(format!("holds {raw_name:?}, larger than {max_file} bytes")));
        }
        let mut data = Vec::new();
        let read = (&mut entry)
            .take(max_file + 1)
            .read_to_end(&mut data)
            .map_err(|e| invalid(format!("holds {raw_name:?}, which cannot be unpacked: {e}")))?;
        if read as u64 > max_file {
            return Err(invalid(format!("holds {raw_name:?}, larger than {max_file} bytes")));
        }
        total += read as u64;
        if total > MAX_ZIP_BYTES {
            return Err(invalid(format!("unpacks to more than {MAX_ZIP_BYTES} bytes")));
        }
        files.insert(raw_name, data);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, bytes) in entries {
            out.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
            out.write_all(bytes).unwrap();
        }
        out.finish().unwrap().into_inner()
    }

    #[test]
    fn files_are_read_by_path_and_folders_skipped() {
        let bytes = zip_of(&[("a.png", b"one"), ("shots/b.png", b"two"), ("__MACOSX/._a.png", b"x")]);
        let files = read(bytes, 10).unwrap();
        assert_eq!(files.keys().collect::<Vec<_>>(), vec!["a.png", "shots/b.png"]);
    }

    #[test]
    fn oversized_escaping_and_broken_zips_are_refused() {
        assert!(read(zip_of(&[("big.png", &[0u8; 11])]), 10).is_err());
        assert!(read(zip_of(&[("../evil.png", b"x")]), 10).is_err());
        assert!(read(b"not a zip".to_vec(), 10).is_err());
    }
}
