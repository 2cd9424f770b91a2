//! Sealing and opening, checked against the age crate and the `age` tool both ways.

#![allow(clippy::unwrap_used)]

use super::*;

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3]).collect()
}

fn seal(input: &[u8], recipient: &age::x25519::Recipient, piece: usize) -> Vec<u8> {
    let mut writer = SealingWriter::new(Vec::new(), recipient).unwrap();
    for part in input.chunks(piece.max(1)) {
        writer.write_all(part).unwrap();
    }
    writer.finish().unwrap()
}

fn open(sealed: &[u8], identity: &age::x25519::Identity) -> Result<OpenFile, DecryptError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.age");
    std::fs::write(&path, sealed).unwrap();
    OpenFile::open(File::open(&path).unwrap(), identity)
}

fn age_crate_decrypt(sealed: &[u8], identity: &age::x25519::Identity) -> Vec<u8> {
    let decryptor = age::Decryptor::new(sealed).unwrap();
    let mut reader = decryptor.decrypt(std::iter::once(identity as &dyn age::Identity)).unwrap();
    let mut out = Vec::new();
    reader.read_to_end(&mut out).unwrap();
    out
}

const SIZES: [usize; 8] = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 5, 20 * CHUNK + 17];

#[test]
fn what_is_sealed_here_the_age_crate_opens() {
    let identity = age::x25519::Identity::generate();
    for len in SIZES {
        let input = data(len);
        let sealed = seal(&input, &identity.to_public(), 10_000);
        assert_eq!(age_crate_decrypt(&sealed, &identity), input, "{len} bytes");
    }
}

#[test]
fn what_the_age_crate_seals_opens_here_by_range() {
    let identity = age::x25519::Identity::generate();
    for len in SIZES {
        let input = data(len);
        let sealed = age::encrypt(&identity.to_public(), &input).unwrap();
        let mut file = open(&sealed, &identity).unwrap();
        assert_eq!(file.len(), len as u64);
        if len > 0 {
            assert_eq!(file.read(0, len as u64).unwrap(), input, "{len} bytes");
            let (a, b) = (len as u64 / 3, len as u64 - len as u64 / 4);
            if a < b {
                assert_eq!(file.read(a, b).unwrap(), &input[a as usize..b as usize]);
            }
        }
    }
}

#[test]
fn a_header_longer_than_the_first_read_opens() {
    let identities: Vec<_> = (0..12).map(|_| age::x25519::Identity::generate()).collect();
    let recipients: Vec<_> = identities.iter().map(|i| i.to_public()).collect();
    let encryptor = age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient)).unwrap();
    let input = data(CHUNK + 10);
    let mut sealed = Vec::new();
    let mut writer = encryptor.wrap_output(&mut sealed).unwrap();
    writer.write_all(&input).unwrap();
    writer.finish().unwrap();
    let header_end = sealed.windows(4).position(|w| w == b"--- ").unwrap();
    assert!(header_end > FIRST_READ, "the header of {header_end} bytes should need a second read");
    let mut file = open(&sealed, &identities[11]).unwrap();
    assert_eq!(file.read(0, input.len() as u64).unwrap(), input);
}

#[test]
fn how_data_arrives_does_not_change_what_opens() {
    let identity = age::x25519::Identity::generate();
    let input = data(5 * CHUNK + 3);
    for piece in [1, 7, CHUNK, CHUNK + 1, 1 << 20] {
        let sealed = seal(&input, &identity.to_public(), piece);
        assert_eq!(sealed.len(), seal(&input, &identity.to_public(), 1 << 20).len());
        assert_eq!(open(&sealed, &identity).unwrap().read(0, input.len() as u64).unwrap(), input, "pieces of {piece}");
    }
}

#[test]
fn wrong_keys_damage_and_truncation_are_refused() {
    let identity = age::x25519::Identity::generate();
    let input = data(3 * CHUNK + 100);
    let sealed = seal(&input, &identity.to_public(), 4096);
    assert!(matches!(open(&sealed, &age::x25519::Identity::generate()), Err(DecryptError::NoMatchingKeys)));

    let mut bad_mac = sealed.clone();
    let mark = bad_mac.windows(4).position(|w| w == b"--- ").unwrap();
    bad_mac[mark + 5] ^= 1;
    assert!(open(&bad_mac, &identity).is_err());

    let mut flipped = sealed.clone();
    let at = sealed.len() - 2 * CHUNK;
    flipped[at] ^= 1;
    let mut file = open(&flipped, &identity).unwrap();
    assert!(file.read(0, CHUNK as u64).is_ok(), "chunks before the damage still open");
    assert_eq!(file.read(0, input.len() as u64).unwrap_err().kind(), io::ErrorKind::InvalidData);

    // cut at a chunk boundary: the new last chunk was not sealed as last
    let cut = &sealed[..sealed.len() - (100 + TAG)];
    assert!(open(cut, &identity).is_err());
    assert!(open(&sealed[..sealed.len() - 1], &identity).is_err());
    assert!(open(b"age-encryption.org/v1\n--- abc\n", &identity).is_err());
    assert!(open(b"", &identity).is_err());
}

#[test]
fn the_age_tool_opens_what_is_sealed_here() {
    let Ok(keygen) = std::process::Command::new("age-keygen").output() else {
        eprintln!("age-keygen not installed; skipped");
        return;
    };
    let secret = String::from_utf8(keygen.stdout).unwrap();
    let line = secret.lines().find(|l| l.starts_with("AGE-SECRET-KEY-")).unwrap();
    let identity: age::x25519::Identity = line.parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("key"), &secret).unwrap();
    let input = data(2 * CHUNK + 999);
    std::fs::write(dir.path().join("f.age"), seal(&input, &identity.to_public(), 5000)).unwrap();
    let out =
        std::process::Command::new("age").arg("-d").arg("-i").arg(dir.path().join("key")).arg(dir.path().join("f.age")).output().unwrap();
    assert!(out.status.success(), "age -d: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, input);
}

#[test]
fn a_payload_names_the_chunks_a_plaintext_range_needs_and_opens_them_in_place() {
    let identity = age::x25519::Identity::generate();
    let len = 20 * CHUNK + 17;
    let input = data(len);
    let sealed = seal(&input, &identity.to_public(), 10_000);
    let payload = Payload::from_header(&sealed[..1024], sealed.len() as u64, &identity).unwrap();
    assert_eq!((payload.len(), payload.chunks()), (len as u64, 21));
    let payload_start = sealed.len() as u64 - (len + 21 * TAG) as u64;
    for (start, end) in [
        (0, 1),
        (0, len as u64),
        (CHUNK as u64 - 1, CHUNK as u64 + 1),
        (5 * CHUNK as u64, 9 * CHUNK as u64 + 3),
        (len as u64 - 1, len as u64),
    ] {
        let first = start / CHUNK as u64;
        let last = (end - 1) / CHUNK as u64;
        let needed_start = payload_start + first * SEALED_CHUNK as u64;
        let needed_end = (payload_start + (last + 1) * SEALED_CHUNK as u64).min(sealed.len() as u64);
        let span = payload.sealed_span(start, end);
        assert_eq!((span.start, span.end), (needed_start, needed_end), "{start}..{end}: just the chunks (the last one may be short)");
        let mut buf = sealed[span.start as usize..span.end as usize].to_vec();
        let (mut plain_end, mut index) = (0, first);
        for sealed_start in (0..buf.len()).step_by(SEALED_CHUNK) {
            let sealed_end = (sealed_start + SEALED_CHUNK).min(buf.len());
            plain_end += payload.open_chunk(index, &mut buf[plain_end..sealed_end], sealed_start - plain_end).unwrap();
            index += 1;
        }
        let skip = (start - first * CHUNK as u64) as usize;
        assert_eq!(&buf[skip..skip + (end - start) as usize], &input[start as usize..end as usize], "{start}..{end}");
    }
    let mut tampered = sealed[payload_start as usize..payload_start as usize + SEALED_CHUNK].to_vec();
    tampered[7] ^= 1;
    assert_eq!(payload.open_chunk(0, &mut tampered, 0).unwrap_err().kind(), io::ErrorKind::InvalidData);
    let other = age::x25519::Identity::generate();
    assert!(matches!(Payload::from_header(&sealed[..1024], sealed.len() as u64, &other), Err(DecryptError::NoMatchingKeys)));
    assert!(matches!(Payload::from_header(&sealed[..100], sealed.len() as u64, &identity), Err(DecryptError::InvalidHeader)));
}
