//! Digests already verified, remembered across runs: hashing every byte of a 2 GB
//! archive costs more than parsing it, and people open the same archive again and
//! again. A layer read from a file is hashed (and checked against the digests the
//! image claims) the first time; later runs read the digests it was found to have here,
//! under a key that changes when the file does: device, inode, size, modification and
//! status-change times (nanoseconds), and the layer's offset and length in the file.
//! Any write to the file changes its ctime, so a tampered file is hashed again.
//!
//! The list lives in `$LAYERLENS_CACHE_DIR`, else `$XDG_CACHE_HOME/layerlens`, else
//! `~/.cache/layerlens` (file `verified-digests`, one line per layer, the newest
//! [`KEEP`] kept). `LAYERLENS_CACHE_DIR=off` turns it off.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

/// Lines kept when the list is rewritten.
const KEEP: usize = 20_000;
/// Size that triggers a rewrite down to [`KEEP`] lines.
const MAX_BYTES: u64 = 8 << 20;

/// The digests a layer blob was found to have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub diff_id: String,
    pub blob_digest: String,
}

pub(crate) fn dir() -> Option<PathBuf> {
    match std::env::var_os("LAYERLENS_CACHE_DIR") {
        Some(d) if d == "off" => None,
        Some(d) if !d.is_empty() => Some(PathBuf::from(d)),
        _ => std::env::var_os("XDG_CACHE_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .map(|d| d.join("layerlens")),
    }
}

fn list() -> Option<PathBuf> {
    dir().map(|d| d.join("verified-digests"))
}

/// The key of bytes `offset..offset+len` of the open file `f`.
pub fn key(f: &File, offset: u64, len: u64) -> Option<String> {
    let m = f.metadata().ok()?;
    if !m.is_file() {
        return None;
    }
    Some(format!(
        "{}:{}:{}:{}.{}:{}.{}:{}:{}",
        m.dev(),
        m.ino(),
        m.size(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec(),
        offset,
        len
    ))
}

/// What was verified under `key`, if anything.
pub fn lookup(key: &str) -> Option<Verified> {
    let text = std::fs::read_to_string(list()?).ok()?;
    text.lines().rev().find_map(|l| {
        let mut it = l.split(' ');
        if it.next()? != key {
            return None;
        }
        let (d, b) = (it.next()?, it.next()?);
        let ok = |s: &str| s.len() == 71 && s.starts_with("sha256:");
        (ok(d) && ok(b)).then(|| Verified {
            diff_id: d.to_string(),
            blob_digest: b.to_string(),
        })
    })
}

/// Remember that the bytes under `key` have these digests. Best effort: a cache that
/// cannot be written only costs time.
pub fn record(key: &str, v: &Verified) {
    let Some(path) = list() else { return };
    if let Some(d) = path.parent() {
        let _ = std::fs::create_dir_all(d);
    }
    if std::fs::metadata(&path).is_ok_and(|m| m.len() > MAX_BYTES) {
        if let Ok(text) = std::fs::read_to_string(&path) {
            let lines: Vec<&str> = text.lines().collect();
            let keep = &lines[lines.len().saturating_sub(KEEP)..];
            let tmp = path.with_extension("tmp");
            if std::fs::write(&tmp, keep.join("\n") + "\n").is_ok() {
                let _ = std::fs::rename(&tmp, &path);
            }
        }
    }
    // One short line per append: appends do not interleave.
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
    {
        let _ = f.write_all(format!("{key} {} {}\n", v.diff_id, v.blob_digest).as_bytes());
    }
}
