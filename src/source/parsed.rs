//! Parsed layers remembered across runs. Parsing a layer of 100 000 small files reads
//! every header of its tar; the layer it gives is a few flat arrays, which read back
//! from disk in a fraction of that time. A layer is looked up here only when its bytes
//! are proven to be the diff id the image claims (Docker's own store, or a file whose
//! digests [`super::verified`] remembers, unchanged since), so the diff id is the key.
//!
//! Files live in the cache directory's `layers/`, one per diff id, named with the
//! build's model id: a build whose model or tar reader differs in any byte never reads
//! another build's files. Only layers of [`MIN_ENTRIES`] entries or more are kept
//! (smaller ones parse in well under a millisecond); the directory is capped at
//! [`MAX_TOTAL`] bytes, least recently used first out. Every file ends with a checksum
//! of its bytes and every field is checked as it is decoded: a damaged or foreign file
//! is ignored (and the layer parsed), never trusted. `LAYERLENS_CACHE_DIR=off` turns it
//! off with the digest cache.

use crate::model::entry::NO_LINK;
use crate::model::{Entry, EntryKind, LayerContent};
use std::path::PathBuf;
use twox_hash::XxHash3_64;

const MAGIC: &[u8; 8] = b"LLLAYER1";
/// Layers with fewer entries are not kept.
pub const MIN_ENTRIES: usize = 1_000;
/// Bytes the directory may hold; the least recently used files are removed past it.
pub const MAX_TOTAL: u64 = 2 << 30;
/// Bytes of one encoded entry.
const ENTRY_BYTES: usize = 56;
/// Header: magic, model id, then 8 counts and sizes (u64 each).
const HEADER_BYTES: usize = 8 + 8 + 8 * 8;

/// A hash of the sources that decide what a parsed layer holds (set by build.rs).
fn model_id() -> u64 {
    u64::from_str_radix(env!("LAYERLENS_MODEL_ID"), 16).unwrap_or(0)
}

fn dir() -> Option<PathBuf> {
    super::verified::dir().map(|d| d.join("layers"))
}

fn file_of(dir: &std::path::Path, diff_id: &str) -> Option<PathBuf> {
    let hex = diff_id.strip_prefix("sha256:")?;
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(dir.join(format!("{}-{:016x}.layer", hex.to_ascii_lowercase(), model_id())))
}

/// The layer with this diff id as parsed before, if it is here and intact. Its
/// `diff_id` is set; `blob_digest` is left for the caller (a blob digest belongs to
/// one stored form of the layer, not to its content).
pub fn load(diff_id: &str) -> Option<LayerContent> {
    let path = file_of(&dir()?, diff_id)?;
    let file = std::fs::File::open(&path).ok()?;
    let len = file.metadata().ok()?.len();
    let Some(mut c) = decode_from(std::io::BufReader::with_capacity(1 << 20, file), len) else {
        // Damaged: out, so that the layer parsed now is kept in its place.
        let _ = std::fs::remove_file(&path);
        return None;
    };
    c.diff_id = Some(diff_id.to_string());
    // Used: the last to go when the directory is trimmed.
    if let Ok(f) = std::fs::File::options().write(true).open(&path) {
        let _ = f.set_modified(std::time::SystemTime::now());
    }
    Some(c)
}

/// [`MIN_ENTRIES`], or `$LAYERLENS_PARSE_CACHE_MIN` (tests keep small layers).
fn min_entries() -> usize {
    std::env::var("LAYERLENS_PARSE_CACHE_MIN")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(MIN_ENTRIES)
}

/// Keep a parsed layer (with at least [`MIN_ENTRIES`] entries) under its diff id.
/// Best effort: a cache that cannot be written only costs time.
pub fn store(diff_id: &str, c: &LayerContent) {
    if c.entries.len() < min_entries() {
        return;
    }
    let Some(dir) = dir() else { return };
    let Some(path) = file_of(&dir, diff_id) else {
        return;
    };
    if path.exists() || std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let bytes = encode(c);
    // Written whole under a temporary name, then renamed: readers never see half.
    let Ok(mut tmp) = tempfile::NamedTempFile::new_in(&dir) else {
        return;
    };
    use std::io::Write;
    if tmp.write_all(&bytes).is_ok() && tmp.persist(&path).is_ok() {
        trim(&dir, MAX_TOTAL);
    }
}

/// Remove the least recently used files until the directory holds `max` bytes or less.
fn trim(dir: &std::path::Path, max: u64) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(std::time::SystemTime, u64, PathBuf)> = rd
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "layer"))
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            Some((m.modified().ok()?, m.len(), e.path()))
        })
        .collect();
    let mut total: u64 = files.iter().map(|f| f.1).sum();
    files.sort();
    for (_, len, p) in files {
        if total <= max {
            break;
        }
        if std::fs::remove_file(&p).is_ok() {
            total -= len;
        }
    }
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

fn kind_code(k: EntryKind) -> u8 {
    match k {
        EntryKind::File => 0,
        EntryKind::Dir => 1,
        EntryKind::Symlink => 2,
        EntryKind::Hardlink => 3,
        EntryKind::Char => 4,
        EntryKind::Block => 5,
        EntryKind::Fifo => 6,
    }
}

fn kind_of(code: u8) -> Option<EntryKind> {
    Some(match code {
        0 => EntryKind::File,
        1 => EntryKind::Dir,
        2 => EntryKind::Symlink,
        3 => EntryKind::Hardlink,
        4 => EntryKind::Char,
        5 => EntryKind::Block,
        6 => EntryKind::Fifo,
        _ => return None,
    })
}

/// The bytes of a parsed layer (all but its digests).
pub fn encode(c: &LayerContent) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        HEADER_BYTES + c.entries.len() * ENTRY_BYTES + c.names.len() + c.links.len() * 8 + 8,
    );
    out.extend_from_slice(MAGIC);
    for v in [
        model_id(),
        c.entries.len() as u64,
        c.names.len() as u64,
        c.links.len() as u64,
        c.whiteouts.len() as u64,
        c.opaque.len() as u64,
        c.warnings.len() as u64,
        c.tar_size,
        c.stream_size,
    ] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for e in &c.entries {
        out.extend_from_slice(&e.at.to_le_bytes());
        out.extend_from_slice(&e.path_len.to_le_bytes());
        out.extend_from_slice(&e.link.to_le_bytes());
        out.push(kind_code(e.kind));
        out.push(u8::from(e.resolved));
        out.extend_from_slice(&e.mode.to_le_bytes());
        out.extend_from_slice(&e.uid.to_le_bytes());
        out.extend_from_slice(&e.gid.to_le_bytes());
        out.extend_from_slice(&e.size.to_le_bytes());
        out.extend_from_slice(&e.tar_size.to_le_bytes());
        out.extend_from_slice(&e.mtime.to_le_bytes());
        out.extend_from_slice(&e.hash.to_le_bytes());
    }
    out.extend_from_slice(&c.names);
    for &(at, len) in &c.links {
        out.extend_from_slice(&at.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
    }
    for p in c.whiteouts.iter().chain(&c.opaque) {
        put_bytes(&mut out, p);
    }
    for w in &c.warnings {
        put_bytes(&mut out, w.as_bytes());
    }
    let sum = XxHash3_64::oneshot(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// A reader of little-endian fields that fails past the end.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
}

/// A stream that hashes what it reads (all but the trailing checksum).
struct Hashed<R> {
    inner: R,
    hasher: XxHash3_64,
    /// Bytes left in the stream (the file's length at first).
    left: u64,
}

impl<R: std::io::Read> Hashed<R> {
    fn read_into(&mut self, buf: &mut [u8]) -> Option<()> {
        // Never more than the body: the checksum is read on its own.
        if buf.len() as u64 > self.left.checked_sub(8)? {
            return None;
        }
        self.inner.read_exact(buf).ok()?;
        self.left -= buf.len() as u64;
        std::hash::Hasher::write(&mut self.hasher, buf);
        Some(())
    }
    fn take(&mut self, n: usize) -> Option<Vec<u8>> {
        let mut v = vec![0u8; n];
        self.read_into(&mut v)?;
        Some(v)
    }
    /// A count of `unit`-byte items that fits in what is left.
    fn count(&mut self, unit: u64) -> Option<usize> {
        let mut b = [0u8; 8];
        self.read_into(&mut b)?;
        let n = u64::from_le_bytes(b);
        (n.checked_mul(unit)? <= self.left).then_some(usize::try_from(n).ok()?)
    }
    /// The trailing checksum matches what was read, and nothing is left.
    fn finish(mut self) -> Option<()> {
        if self.left != 8 {
            return None;
        }
        let mut b = [0u8; 8];
        self.inner.read_exact(&mut b).ok()?;
        (u64::from_le_bytes(b) == std::hash::Hasher::finish(&self.hasher)).then_some(())
    }
}

/// A parsed layer from [`encode`]'s bytes; `None` for anything else.
pub fn decode(bytes: &[u8]) -> Option<LayerContent> {
    decode_from(bytes, bytes.len() as u64)
}

/// [`decode`] from a stream of `len` bytes, read straight into the layer's arrays
/// (no copy of the whole file in memory).
fn decode_from(r: impl std::io::Read, len: u64) -> Option<LayerContent> {
    let mut f = Hashed {
        inner: r,
        hasher: XxHash3_64::new(),
        left: len,
    };
    let mut head = [0u8; 16];
    f.read_into(&mut head)?;
    if &head[..8] != MAGIC || u64::from_le_bytes(head[8..].try_into().ok()?) != model_id() {
        return None;
    }
    let n_entries = f.count(ENTRY_BYTES as u64)?;
    let names_len = f.count(1)?;
    let n_links = f.count(8)?;
    let n_whiteouts = f.count(4)?;
    let n_opaque = f.count(4)?;
    let n_warnings = f.count(4)?;
    let mut sizes = [0u8; 16];
    f.read_into(&mut sizes)?;
    let tar_size = u64::from_le_bytes(sizes[..8].try_into().ok()?);
    let stream_size = u64::from_le_bytes(sizes[8..].try_into().ok()?);
    // Entries are checked against the names and links, which follow them: decoded
    // now, checked once those are read.
    let mut entries = Vec::with_capacity(n_entries);
    let mut chunk = vec![0u8; ENTRY_BYTES * 4096];
    let mut done = 0;
    while done < n_entries {
        let n = (n_entries - done).min(4096);
        let raw = &mut chunk[..n * ENTRY_BYTES];
        f.read_into(raw)?;
        for raw in raw.chunks_exact(ENTRY_BYTES) {
            let mut e = Fields(raw);
            let (at, path_len, link) = (e.u32()?, e.u32()?, e.u32()?);
            let kb = e.take(4)?;
            entries.push(Entry {
                at,
                path_len,
                link,
                kind: kind_of(kb[0])?,
                resolved: match kb[1] {
                    0 => false,
                    1 => true,
                    _ => return None,
                },
                mode: u16::from_le_bytes([kb[2], kb[3]]),
                uid: e.u32()?,
                gid: e.u32()?,
                size: e.u64()?,
                tar_size: e.u64()?,
                mtime: e.u64()?,
                hash: e.u64()?,
            });
        }
        done += n;
    }
    let names = f.take(names_len)?;
    let raw_links = f.take(n_links * 8)?;
    let mut links = Vec::with_capacity(n_links);
    for l in raw_links.chunks_exact(8) {
        let mut l = Fields(l);
        let (at, len) = (l.u32()?, l.u32()?);
        (at as usize).checked_add(len as usize).filter(|&e| e <= names.len())?;
        links.push((at, len));
    }
    for e in &entries {
        (e.at as usize)
            .checked_add(e.path_len as usize)
            .filter(|&end| end <= names.len())?;
        if e.link != NO_LINK && e.link as usize >= links.len() {
            return None;
        }
    }
    let mut paths = |n: usize| -> Option<Vec<Box<[u8]>>> {
        (0..n)
            .map(|_| {
                let mut b = [0u8; 4];
                f.read_into(&mut b)?;
                Some(f.take(u32::from_le_bytes(b) as usize)?.into())
            })
            .collect()
    };
    let whiteouts = paths(n_whiteouts)?;
    let opaque = paths(n_opaque)?;
    let warnings = paths(n_warnings)?
        .into_iter()
        .map(|b| String::from_utf8(b.into_vec()).ok())
        .collect::<Option<Vec<String>>>()?;
    f.finish()?;
    Some(LayerContent {
        entries,
        names,
        links,
        whiteouts,
        opaque,
        tar_size,
        stream_size,
        warnings,
        diff_id: None,
        blob_digest: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::{FEntry, layer_tar};
    use crate::model::parse_layer;

    fn sample() -> LayerContent {
        let mut entries = vec![
            FEntry::dir("etc"),
            FEntry::file("etc/a", "alpha"),
            FEntry::symlink("etc/s", "a"),
            FEntry::hardlink("etc/h", "etc/a"),
            FEntry::hardlink("etc/below", "usr/lib/x"),
            FEntry::whiteout("var/old"),
            FEntry::opaque("opt"),
            FEntry::file("\u{e9}t\u{e9}/caf\u{e9}", vec![0u8; 3000]),
        ];
        entries.push(FEntry::file("../escape", "x"));
        parse_layer(&layer_tar(&entries)[..]).unwrap()
    }

    #[test]
    fn a_layer_reads_back_as_it_was_parsed() {
        let c = sample();
        assert!(!c.warnings.is_empty() && !c.whiteouts.is_empty() && !c.opaque.is_empty());
        let back = decode(&encode(&c)).unwrap();
        assert_eq!(back.entries, c.entries);
        assert_eq!(back.names, c.names);
        assert_eq!(back.links, c.links);
        assert_eq!(back.whiteouts, c.whiteouts);
        assert_eq!(back.opaque, c.opaque);
        assert_eq!(back.warnings, c.warnings);
        assert_eq!((back.tar_size, back.stream_size), (c.tar_size, c.stream_size));
    }

    /// Truncated, flipped, or rewritten with a valid checksum but wrong fields: `None`
    /// or a layer whose every path and link is inside its names, never a panic.
    #[test]
    fn damaged_bytes_never_panic_nor_point_outside() {
        let bytes = encode(&sample());
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n]).is_none());
        }
        let reseal = |mut b: Vec<u8>| {
            let n = b.len() - 8;
            let sum = XxHash3_64::oneshot(&b[..n]);
            b[n..].copy_from_slice(&sum.to_le_bytes());
            b
        };
        let mut decoded = 0;
        for i in 0..bytes.len() - 8 {
            for flip in [0x01u8, 0x80, 0xFF] {
                let mut b = bytes.clone();
                b[i] ^= flip;
                assert!(decode(&b).is_none(), "flip at {i} passed the checksum");
                if let Some(c) = decode(&reseal(b)) {
                    decoded += 1;
                    for e in &c.entries {
                        let _ = c.path(e);
                        let _ = c.link(e);
                    }
                }
            }
        }
        // Most flips land in data that any value fits (sizes, modes, names).
        assert!(decoded > bytes.len(), "{decoded}");
    }
}
