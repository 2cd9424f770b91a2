//! age v1 files whose payload is sealed and opened with ring's ChaCha20-Poly1305: the
//! format the `age` tool and crate write and read, at about 1.5 times their speed here.
//!
//! A new file's key is wrapped to its X25519 recipient here too, with ring ([`x25519`]); the
//! age crate unwraps it (`Identity::unwrap_stanzas`). This module
//! writes and parses the header around those stanzas (text lines, then an HMAC over them)
//! and runs the STREAM payload: 64 KiB plaintext chunks, each sealed under the payload key
//! with the nonce `11-byte big-endian counter || last-chunk flag`. Files written by the age
//! crate read here, files written here read with `age -d`; tests check both ways.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

use age::DecryptError;
use age::secrecy::ExposeSecret;
use age_core::format::{FileKey, Stanza};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use hmac::{Hmac, Mac};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use sha2::Sha256;

pub mod x25519;

/// Plaintext bytes per chunk.
pub const CHUNK: usize = 64 * 1024;
/// The authentication tag after each chunk.
const TAG: usize = 16;
/// A whole chunk as stored.
pub const SEALED_CHUNK: usize = CHUNK + TAG;
/// The random nonce between the header and the payload.
const PAYLOAD_NONCE: usize = 16;
/// The first line of every age v1 file.
const INTRO: &[u8] = b"age-encryption.org/v1\n";
/// The end of the header, before its MAC.
const MAC_MARK: &[u8] = b"---";
/// Length of the MAC in (unpadded) base64.
const MAC_BASE64: usize = 43;
/// A stanza body's base64 is cut into lines of this many characters.
const BODY_COLUMNS: usize = 64;
/// Bytes read first when a file is opened: a header with its payload nonce (about 250 bytes
/// for one X25519 recipient) fits; longer ones are read on, up to [`MAX_HEADER`].
const FIRST_READ: usize = 1024;
/// The most header bytes read before giving up on finding its end.
const MAX_HEADER: usize = 16 * 1024;
/// Sealed bytes collected before they are written out.
const WRITE_BUFFER: usize = 16 * SEALED_CHUNK;

type HmacSha256 = Hmac<Sha256>;

/// The STREAM nonce of chunk `counter`.
fn chunk_nonce(counter: u64, last: bool) -> Nonce {
    let mut nonce = [0u8; 12];
    nonce[3..11].copy_from_slice(&counter.to_be_bytes());
    nonce[11] = u8::from(last);
    Nonce::assume_unique_for_key(nonce)
}

fn payload_key(file_key: &FileKey, nonce: &[u8]) -> LessSafeKey {
    let key = age_core::primitives::hkdf(nonce, b"payload", file_key.expose_secret());
    // a 32-byte key is always accepted
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &key).unwrap_or_else(|_| unreachable!("ChaCha20 keys are 32 bytes")))
}

fn header_mac(file_key: &FileKey) -> HmacSha256 {
    let key = age_core::primitives::hkdf(&[], b"header", file_key.expose_secret());
    HmacSha256::new_from_slice(&key).unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
}

/// Appends one stanza: `-> tag args…`, then its body in base64 lines of 64 columns, the
/// last line shorter (empty when the body fills whole lines).
fn write_stanza(out: &mut Vec<u8>, stanza: &Stanza) {
    out.extend_from_slice(b"->");
    for word in std::iter::once(&stanza.tag).chain(&stanza.args) {
        out.push(b' ');
        out.extend_from_slice(word.as_bytes());
    }
    out.push(b'\n');
    let body = STANDARD_NO_PAD.encode(&stanza.body);
    let mut lines = body.as_bytes().chunks(BODY_COLUMNS);
    for line in lines.by_ref() {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    if body.len().is_multiple_of(BODY_COLUMNS) {
        out.push(b'\n');
    }
}

/// An age file being written: plaintext in through [`Write`], sealed chunks out to `W`.
/// The last chunk is held back until [`SealingWriter::finish`], which seals it with the
/// last-chunk flag; dropping the writer without finishing leaves a file that will not open.
pub struct SealingWriter<W: Write> {
    inner: W,
    key: LessSafeKey,
    counter: u64,
    /// Sealed chunks not yet written, then the plaintext of the chunk being filled.
    out: Vec<u8>,
    /// Where that plaintext starts in `out`.
    open_from: usize,
}

impl<W: Write> SealingWriter<W> {
    /// Writes the header for `recipient` (a new file key, wrapped) and the payload nonce.
    pub fn new(mut inner: W, recipient: &age::x25519::Recipient) -> Result<SealingWriter<W>, age::EncryptError> {
        let file_key = FileKey::init_with_mut(|key| rand::fill(key));
        let stanza = x25519::wrap_file_key(recipient, &file_key).map_err(|e| age::EncryptError::Io(io::Error::other(e)))?;
        let mut header = INTRO.to_vec();
        write_stanza(&mut header, &stanza);
        header.extend_from_slice(MAC_MARK);
        let mut mac = header_mac(&file_key);
        mac.update(&header);
        header.push(b' ');
        header.extend_from_slice(STANDARD_NO_PAD.encode(mac.finalize().into_bytes()).as_bytes());
        header.push(b'\n');
        let mut nonce = [0u8; PAYLOAD_NONCE];
        rand::fill(&mut nonce);
        header.extend_from_slice(&nonce);
        inner.write_all(&header)?;
        let key = payload_key(&file_key, &nonce);
        // one chunk to start: a small file never maps (and unmaps) a buffer of a mebibyte; a
        // large one grows it to its working size once
        Ok(SealingWriter { inner, key, counter: 0, out: Vec::with_capacity(SEALED_CHUNK), open_from: 0 })
    }

    /// Seals the chunk being filled (in place, its tag appended).
    fn seal_open_chunk(&mut self, last: bool) -> io::Result<()> {
        let nonce = chunk_nonce(self.counter, last);
        let tag = self
            .key
            .seal_in_place_separate_tag(nonce, Aad::empty(), &mut self.out[self.open_from..])
            .map_err(|_| io::Error::other("sealing a chunk failed"))?;
        self.out.extend_from_slice(tag.as_ref());
        self.open_from = self.out.len();
        self.counter = self.counter.checked_add(1).ok_or_else(|| io::Error::other("too many chunks"))?;
        Ok(())
    }

    /// Writes out the sealed chunks collected so far, keeping the open one.
    fn write_sealed(&mut self) -> io::Result<()> {
        self.inner.write_all(&self.out[..self.open_from])?;
        self.out.drain(..self.open_from);
        self.open_from = 0;
        Ok(())
    }

    /// Seals the last chunk (empty only when nothing was written), writes everything and
    /// returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.seal_open_chunk(true)?;
        self.write_sealed()?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for SealingWriter<W> {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        let written = data.len();
        while !data.is_empty() {
            if self.out.len() - self.open_from == CHUNK {
                // more is coming, so this chunk is not the last
                self.seal_open_chunk(false)?;
                if self.open_from >= WRITE_BUFFER {
                    self.write_sealed()?;
                }
            }
            let take = (CHUNK - (self.out.len() - self.open_from)).min(data.len());
            self.out.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(written)
    }

    /// Writes the sealed chunks; the open chunk stays until more data or `finish`.
    fn flush(&mut self) -> io::Result<()> {
        self.write_sealed()?;
        self.inner.flush()
    }
}

/// What an age file's header gives its reader: the payload key, where the payload starts,
/// how many chunks it has and the plaintext length. The length is authenticated only once the
/// last chunk has been opened (a file cut short at a chunk boundary fails there).
pub struct Payload {
    key: LessSafeKey,
    payload_start: u64,
    chunks: u64,
    len: u64,
}

impl Payload {
    /// Checks the header in `head` (the file's first bytes: the whole header and the payload
    /// nonce) of a file of `file_len` bytes with `identity`.
    pub fn from_header(head: &[u8], file_len: u64, identity: &dyn age::Identity) -> Result<Payload, DecryptError> {
        let (header_len, stanzas, mac) = complete_header(head).ok_or(DecryptError::InvalidHeader)?;
        let file_key = identity.unwrap_stanzas(&stanzas).ok_or(DecryptError::NoMatchingKeys)??;
        let mut check = header_mac(&file_key);
        check.update(&head[..header_len - MAC_BASE64 - 2]);
        check.verify_slice(&mac).map_err(|_| DecryptError::InvalidMac)?;
        let nonce = &head[header_len..header_len + PAYLOAD_NONCE];
        let key = payload_key(&file_key, nonce);
        let payload_start = (header_len + PAYLOAD_NONCE) as u64;
        let payload = file_len.checked_sub(payload_start).filter(|&p| p >= TAG as u64).ok_or(DecryptError::DecryptionFailed)?;
        let chunks = payload.div_ceil(SEALED_CHUNK as u64);
        let last_sealed = payload - (chunks - 1) * SEALED_CHUNK as u64;
        if last_sealed < TAG as u64 || (chunks > 1 && last_sealed == TAG as u64) {
            return Err(DecryptError::DecryptionFailed);
        }
        Ok(Payload { key, payload_start, chunks, len: payload - chunks * TAG as u64 })
    }

    /// The plaintext length.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the plaintext is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of chunks (at least one: an empty file has one empty chunk).
    pub fn chunks(&self) -> u64 {
        self.chunks
    }

    /// The file offsets of the sealed chunks that hold plaintext `start..end` (the chunk of
    /// `start` when the range is empty), cut at the file's end.
    pub fn sealed_span(&self, start: u64, end: u64) -> std::ops::Range<u64> {
        let (first, last) = (start / CHUNK as u64, (end.max(start + 1) - 1) / CHUNK as u64);
        self.sealed_chunks(first, last + 1 - first)
    }

    /// The file offsets of `count` sealed chunks from chunk `first`, cut at the file's end.
    pub fn sealed_chunks(&self, first: u64, count: u64) -> std::ops::Range<u64> {
        let file_end = self.payload_start + self.len + self.chunks * TAG as u64;
        let from = (self.payload_start + first * SEALED_CHUNK as u64).min(file_end);
        from..(from + count * SEALED_CHUNK as u64).min(file_end)
    }

    /// Opens chunk `index`, sealed in `buf[sealed_from..]` (exactly: the whole chunk with its
    /// tag), so that its plaintext starts at `buf[0]`; returns the plaintext's length. A chunk
    /// that fails authentication is an `InvalidData` error.
    pub fn open_chunk(&self, index: u64, buf: &mut [u8], sealed_from: usize) -> io::Result<usize> {
        let nonce = chunk_nonce(index, index + 1 == self.chunks);
        let plain = self
            .key
            .open_within(nonce, Aad::empty(), buf, sealed_from..)
            .map_err(|_| invalid("a chunk of the file failed authentication"))?;
        Ok(plain.len())
    }
}

/// An age file opened for reading: its [`Payload`], its length authenticated (the last chunk
/// has been opened).
pub struct OpenFile {
    file: Source,
    payload: Payload,
}

fn invalid(message: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// Where an age file's bytes are read from: a file, or the whole file in memory (small media
/// kept in the store).
enum Source {
    Disk(File),
    Memory(io::Cursor<Vec<u8>>),
}

impl Source {
    fn len(&self) -> io::Result<u64> {
        match self {
            Source::Disk(file) => Ok(file.metadata()?.len()),
            Source::Memory(bytes) => Ok(bytes.get_ref().len() as u64),
        }
    }
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::Disk(file) => file.read(buf),
            Source::Memory(bytes) => bytes.read(buf),
        }
    }
}

impl Seek for Source {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        match self {
            Source::Disk(file) => file.seek(to),
            Source::Memory(bytes) => bytes.seek(to),
        }
    }
}

impl OpenFile {
    /// Reads and checks the header of `file` with `identity`, then opens its last chunk.
    pub fn open(file: File, identity: &dyn age::Identity) -> Result<OpenFile, DecryptError> {
        Self::open_source(Source::Disk(file), identity)
    }

    /// [`OpenFile::open`] of a whole age file held in memory.
    pub fn open_bytes(file: Vec<u8>, identity: &dyn age::Identity) -> Result<OpenFile, DecryptError> {
        Self::open_source(Source::Memory(io::Cursor::new(file)), identity)
    }

    fn open_source(mut file: Source, identity: &dyn age::Identity) -> Result<OpenFile, DecryptError> {
        let file_len = file.len()?;
        let mut head = Vec::new();
        (&mut file).take(FIRST_READ as u64).read_to_end(&mut head)?;
        if complete_header(&head).is_none() && head.len() == FIRST_READ {
            (&mut file).take((MAX_HEADER - FIRST_READ) as u64).read_to_end(&mut head)?;
        }
        let payload = Payload::from_header(&head, file_len, identity)?;
        let mut opened = OpenFile { file, payload };
        let len = opened.len();
        if len > 0 {
            opened.read(len - 1, len)?; // authenticates the length
        } else {
            opened.read_chunks(0, 1)?;
        }
        Ok(opened)
    }

    /// The plaintext length.
    pub fn len(&self) -> u64 {
        self.payload.len
    }

    /// Whether the plaintext is empty.
    pub fn is_empty(&self) -> bool {
        self.payload.len == 0
    }

    /// Plaintext bytes `start..end` (within the length), opening only the chunks that hold
    /// them. A chunk that fails authentication is an `InvalidData` error.
    pub fn read(&mut self, start: u64, end: u64) -> io::Result<bytes::Bytes> {
        if start >= end || end > self.payload.len {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "range outside the content"));
        }
        let first = start / CHUNK as u64;
        let count = (end - 1) / CHUNK as u64 + 1 - first;
        let plain = self.read_chunks(first, count)?;
        let skip = (start - first * CHUNK as u64) as usize;
        Ok(bytes::Bytes::from(plain).slice(skip..skip + (end - start) as usize))
    }

    /// The plaintext of `count` chunks from chunk `first`, one after another.
    fn read_chunks(&mut self, first: u64, count: u64) -> io::Result<Vec<u8>> {
        let span = self.payload.sealed_chunks(first, count);
        let want = (span.end - span.start) as usize;
        let mut buf = Vec::with_capacity(want);
        self.file.seek(SeekFrom::Start(span.start))?;
        // into spare capacity: the buffer is not zeroed first
        (&mut self.file).take(want as u64).read_to_end(&mut buf)?;
        if buf.len() < want {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the file is shorter than its chunks"));
        }
        let mut plain_end = 0;
        for (i, sealed_start) in (0..buf.len()).step_by(SEALED_CHUNK).enumerate() {
            let sealed_end = (sealed_start + SEALED_CHUNK).min(buf.len());
            // opened where the plaintext goes, right after the chunks before it: one pass, no
            // separate move
            plain_end += self.payload.open_chunk(first + i as u64, &mut buf[plain_end..sealed_end], sealed_start - plain_end)?;
        }
        buf.truncate(plain_end);
        Ok(buf)
    }
}

/// [`parse_header`] of a `head` that holds the whole header and the payload nonce after it.
fn complete_header(head: &[u8]) -> Option<(usize, Vec<Stanza>, Vec<u8>)> {
    parse_header(head).filter(|(len, ..)| head.len() >= len + PAYLOAD_NONCE)
}

/// Splits an age v1 header: its length (through the MAC line's newline), its stanzas and
/// its MAC; `None` when it is not one.
fn parse_header(head: &[u8]) -> Option<(usize, Vec<Stanza>, Vec<u8>)> {
    let mut rest = head.strip_prefix(INTRO)?;
    let mut stanzas = Vec::new();
    while !rest.starts_with(MAC_MARK) {
        let (after, stanza) = age_core::format::read::age_stanza(rest).ok()?;
        stanzas.push(Stanza::from(stanza));
        rest = after;
    }
    let mac_line = rest.strip_prefix(MAC_MARK)?.strip_prefix(b" ")?;
    let (mac, after) = (mac_line.get(..MAC_BASE64)?, mac_line.get(MAC_BASE64..)?);
    after.strip_prefix(b"\n")?;
    let mac = STANDARD_NO_PAD.decode(mac).ok()?;
    let header_len = head.len() - after.len() + 1;
    (!stanzas.is_empty()).then_some((header_len, stanzas, mac))
}

#[cfg(test)]
mod tests;
