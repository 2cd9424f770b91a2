//! Tests of the encrypted media files.

use super::*;

const ID: &str = "01JZ8Q3W6V2N5K7M9P0R4T6Y8A";
const ID2: &str = "01JZ8Q3W6V2N5K7M9P0R4T6Y8B";
const K: u64 = AGE_CHUNK;

fn data(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn chunks(data: &[u8], size: usize) -> Vec<Result<Bytes, String>> {
    data.chunks(size).map(|c| Ok(Bytes::copy_from_slice(c))).collect()
}

struct Fixture {
    _dir: tempfile::TempDir,
    media: MediaDir,
    identity: age::x25519::Identity,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let media = MediaDir::open(&dir.path().join("media")).unwrap();
    Fixture { _dir: dir, media, identity: age::x25519::Identity::generate() }
}

impl Fixture {
    fn tmp_files(&self) -> usize {
        fs::read_dir(&self.media.tmp).unwrap().count()
    }

    async fn read(&self, id: &str, range: Option<(u64, u64)>) -> Result<(u64, Vec<u8>), MediaError> {
        let (len, mut stream) = self.media.read_range(id, self.identity.clone(), range).await?;
        let mut out = Vec::new();
        while let Some(piece) = stream.next().await {
            let piece = piece?;
            assert!(piece.len() as u64 <= OUT_PIECE && !piece.is_empty());
            out.extend_from_slice(&piece);
        }
        Ok((len, out))
    }
}

#[tokio::test]
async fn ingest_then_read_everything_back() {
    let f = fixture();
    let input = data(3 * 1024 * 1024 + 123);
    let body = futures_util::stream::iter(chunks(&input, 10_000));
    let stored = f.media.ingest(ID, &f.identity.to_public(), body, 8 << 20).await.unwrap();
    assert_eq!(stored.bytes, input.len() as u64);
    assert_eq!(stored.sha256, hex::encode(Sha256::digest(&input)));
    assert_eq!(f.tmp_files(), 0);

    let (len, out) = f.read(ID, None).await.unwrap();
    assert_eq!(len, input.len() as u64);
    assert!(out == input, "decrypted content differs");
    assert_eq!(f.media.plaintext_len(ID, f.identity.clone()).await.unwrap(), len);

    let path = f.media.path_of(ID).unwrap();
    let on_disk = fs::read(&path).unwrap();
    assert!(on_disk.starts_with(b"age-encryption.org/v1\n"));
    let sample = &input[1_000_000..1_000_064];
    assert!(!on_disk.windows(sample.len()).any(|w| w == sample));
    let chunks = input.len().div_ceil(AGE_CHUNK as usize);
    let header = on_disk.len() - input.len() - chunks * 16;
    assert!(header < 400, "header of {header} bytes");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(mode(&f.media.tmp), 0o700);
    }
}

#[tokio::test]
async fn ranges_yield_exactly_the_bytes_asked_for() {
    let f = fixture();
    let input = data(2 * 1024 * 1024 + 777);
    let n = input.len() as u64;
    f.media.ingest_bytes(ID, &f.identity.to_public(), input.clone()).await.unwrap();
    for (start, end) in [
        (0, 0),
        (0, 99),
        (K - 10, K + 9),
        (K - 1, K),
        (K, K),
        (K, 2 * K - 1),
        (3 * K + 5, 20 * K + 3),
        (100, n - 1),
        (n - 10, n - 1),
        (n - 1, n - 1),
        (0, n - 1),
    ] {
        let (len, out) = f.read(ID, Some((start, end))).await.unwrap();
        assert_eq!(len, n);
        assert!(out == input[start as usize..=end as usize], "range {start}-{end}");
    }
}

#[tokio::test]
async fn ranges_outside_the_content_are_refused() {
    let f = fixture();
    let input = data(100_000);
    f.media.ingest_bytes(ID, &f.identity.to_public(), input).await.unwrap();
    for range in [(100_000, 100_000), (0, 100_000), (5, 4), (u64::MAX, u64::MAX)] {
        assert!(matches!(f.read(ID, Some(range)).await, Err(MediaError::RangeNotSatisfiable { len: 100_000 })), "{range:?}");
    }
}

#[tokio::test]
async fn empty_and_chunk_multiple_files() {
    let f = fixture();
    let key = f.identity.to_public();
    let stored = f.media.ingest_bytes(ID, &key, Vec::new()).await.unwrap();
    assert_eq!(stored.sha256, hex::encode(Sha256::digest(b"")));
    assert_eq!(f.read(ID, None).await.unwrap(), (0, Vec::new()));
    assert!(matches!(f.read(ID, Some((0, 0))).await, Err(MediaError::RangeNotSatisfiable { len: 0 })));

    let input = data(2 * AGE_CHUNK as usize);
    f.media.ingest_bytes(ID2, &key, input.clone()).await.unwrap();
    assert!(f.read(ID2, None).await.unwrap().1 == input);
    let (_, tail) = f.read(ID2, Some((2 * K - 3, 2 * K - 1))).await.unwrap();
    assert_eq!(tail, input[input.len() - 3..]);
}

#[tokio::test]
async fn too_large_leaves_nothing_behind() {
    let f = fixture();
    let input = data(300_000);
    let body = futures_util::stream::iter(chunks(&input, 1000));
    let err = f.media.ingest(ID, &f.identity.to_public(), body, 299_999).await.unwrap_err();
    assert!(matches!(err, MediaError::TooLarge { limit: 299_999 }));
    assert_eq!(f.tmp_files(), 0);
    assert!(!f.media.path_of(ID).unwrap().exists());

    // Exactly the limit is fine.
    let body = futures_util::stream::iter(chunks(&input, 1000));
    let key = f.identity.to_public();
    let ok = f.media.ingest(ID, &key, body, 300_000).await.unwrap();
    assert_eq!(ok.bytes, 300_000);
}

#[tokio::test]
async fn a_failing_source_leaves_nothing_behind() {
    let f = fixture();
    let mut items = chunks(&data(400_000), 50_000);
    items.push(Err("connection reset".to_owned()));
    let body = futures_util::stream::iter(items);
    let err = f.media.ingest(ID, &f.identity.to_public(), body, u64::MAX).await.unwrap_err();
    assert!(matches!(&err, MediaError::Source(m) if m == "connection reset"));
    assert_eq!(f.tmp_files(), 0);
    assert!(!f.media.path_of(ID).unwrap().exists());
}

#[tokio::test]
async fn a_dropped_ingest_leaves_nothing_behind() {
    let f = fixture();
    let first = futures_util::stream::iter(chunks(&data(300_000), 100_000));
    let body = first.chain(futures_util::stream::pending());
    let key = f.identity.to_public();
    let ingest = f.media.ingest(ID, &key, body, u64::MAX);
    let timed = tokio::time::timeout(std::time::Duration::from_millis(200), ingest).await;
    assert!(timed.is_err());
    // A batch may still be in a blocking task: the sink is dropped when that task ends.
    for _ in 0..100 {
        if f.tmp_files() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(f.tmp_files(), 0);
    assert!(!f.media.path_of(ID).unwrap().exists());
}

#[tokio::test]
async fn delete_removes_the_file() {
    let f = fixture();
    f.media.ingest_bytes(ID, &f.identity.to_public(), data(1000)).await.unwrap();
    assert!(f.media.delete(ID).await.unwrap());
    assert!(!f.media.delete(ID).await.unwrap());
    assert!(matches!(f.read(ID, None).await, Err(MediaError::NotFound)));
}

#[tokio::test]
async fn another_identity_or_a_damaged_file_cannot_be_read() {
    let f = fixture();
    let input = data(500_000);
    f.media.ingest_bytes(ID, &f.identity.to_public(), input).await.unwrap();
    let stranger = age::x25519::Identity::generate();
    assert!(matches!(f.media.read_range(ID, stranger, None).await, Err(MediaError::Decrypt(_))));

    let path = f.media.path_of(ID).unwrap();
    let mut bytes = fs::read(&path).unwrap();
    bytes[300_000] ^= 0x01;
    fs::write(&path, bytes).unwrap();
    let (_, mut stream) = f.media.read_range(ID, f.identity.clone(), None).await.unwrap();
    let mut failed = false;
    while let Some(piece) = stream.next().await {
        if piece.is_err() {
            failed = true;
            break;
        }
    }
    assert!(failed, "a damaged chunk must not decrypt");
}

#[tokio::test]
async fn ids_that_could_escape_the_directory_are_refused() {
    let f = fixture();
    let key = f.identity.to_public();
    for id in [
        "",
        "../../../../etc/passwd",
        "01JZ8Q3W6V2N5K7M9P0R4T6Y8",
        "01JZ8Q3W6V2N5K7M9P0R4T6Y8AB",
        "01JZ8Q3W6V2N5K7M9P0R4T/../",
        "..JZ8Q3W6V2N5K7M9P0R4T6Y8A",
        "01JZ8Q3W6V2N5K7M9P0R4T6Y\\A",
        "01JZ8Q3W6V2N5K7M9P0R4T6Y8\0",
        "01JZ8Q3W6V2N5K7M9P0R4T6Yé",
    ] {
        assert!(matches!(f.media.path_of(id), Err(MediaError::InvalidId)), "{id:?}");
        assert!(matches!(f.media.ingest_bytes(id, &key, vec![1]).await, Err(MediaError::InvalidId)));
        assert!(matches!(f.read(id, None).await, Err(MediaError::InvalidId)));
        assert!(matches!(f.media.delete(id).await, Err(MediaError::InvalidId)));
    }
    assert_eq!(f.tmp_files(), 0);
    let path = f.media.path_of(ID).unwrap();
    assert_eq!(path, f.media.root.join("8a").join(format!("{ID}.age")));
}

#[tokio::test]
async fn sweep_removes_leftover_temp_files() {
    let f = fixture();
    fs::write(f.media.tmp.join(temp_name(ID)), b"half").unwrap();
    fs::write(f.media.tmp.join("other.part"), b"half").unwrap();
    assert_eq!(f.media.sweep_tmp(), 2);
    assert_eq!(f.tmp_files(), 0);
    assert_eq!(f.media.sweep_tmp(), 0);
}

#[tokio::test]
async fn content_the_caller_accepts_is_sealed_in_memory_and_read_back_from_the_store() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let media = f.media.clone().with_sealed(store.clone());
    let small = data(3 * K as usize + 5);
    let recipient = f.identity.to_public();
    let ingested =
        media.ingest_or_seal(ID, &recipient, futures_util::stream::iter(chunks(&small, 1000)), u64::MAX, |len| len <= 4 * K).await.unwrap();
    assert_eq!(ingested.bytes, small.len() as u64);
    let sealed = ingested.sealed.expect("sealed in memory");
    assert!(!media.path_of(ID).unwrap().exists(), "no file");
    assert_eq!(f.tmp_files(), 0);
    let id: AssetId = ID.parse().unwrap();
    store.write(move |tx| crate::store::sealed_media::put(tx, id, &sealed)).await.unwrap();
    let (len, mut stream) = media.read_range(ID, f.identity.clone(), Some((K - 2, 2 * K + 1))).await.unwrap();
    let mut read = Vec::new();
    while let Some(piece) = stream.next().await {
        read.extend_from_slice(&piece.unwrap());
    }
    assert_eq!((len, read.as_slice()), (small.len() as u64, &small[K as usize - 2..2 * K as usize + 2]));
    assert_eq!(media.plaintext_len(ID, f.identity.clone()).await.unwrap(), small.len() as u64);

    let large = data(4 * K as usize + 1);
    let ingested = media
        .ingest_or_seal(ID2, &recipient, futures_util::stream::iter(chunks(&large, 1000)), u64::MAX, |len| len <= 4 * K)
        .await
        .unwrap();
    assert!(ingested.sealed.is_none() && media.path_of(ID2).unwrap().exists(), "larger than accepted: a file");
    assert!(matches!(f.media.read_range(ID, f.identity.clone(), None).await, Err(MediaError::NotFound)), "without the store: not found");
}
