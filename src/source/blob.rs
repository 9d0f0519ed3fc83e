//! Opening a layer blob: detect compression (magic bytes first, media type as a hint)
//! and parse the uncompressed tar.

use super::digest::HashingReader;
use crate::error::{Error, Result, from_io};
use crate::model::layer::{CountingReader, LayerContent, parse_layer};
use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes read so far / expected total, shared with a progress display.
#[derive(Debug, Default)]
pub struct Progress {
    pub read: AtomicU64,
    pub total: AtomicU64,
    /// Layers parsed so far.
    pub layers_done: AtomicU64,
    pub layers_total: AtomicU64,
    /// What is being loaded (see [`Progress::start`]).
    pub label: std::sync::Mutex<String>,
}

impl Progress {
    /// Start reporting the load of `what` (counters back to zero).
    pub fn start(&self, what: &str) {
        for c in [
            &self.read,
            &self.total,
            &self.layers_done,
            &self.layers_total,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        *self.label.lock().unwrap_or_else(|e| e.into_inner()) = what.to_string();
    }

    /// What is being loaded, when several things are in turn ("" otherwise).
    pub fn label(&self) -> String {
        self.label.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn add(&self, n: u64) {
        self.read.fetch_add(n, Ordering::Relaxed);
    }
}

/// A reader that reports what it reads to a [`Progress`].
pub struct ProgressReader<R> {
    pub inner: R,
    pub progress: Option<Arc<Progress>>,
}

impl<R: Read> Read for ProgressReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(p) = &self.progress {
            p.add(n as u64);
        }
        Ok(n)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

pub fn sniff(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// Parse a layer blob of `expected_len` stored bytes (if known). `what` names the blob
/// in error messages.
pub fn parse_blob<R: Read>(
    raw: R,
    expected_len: Option<u64>,
    media_type: Option<&str>,
    what: &str,
) -> Result<LayerContent> {
    parse_blob_hashed(raw, expected_len, media_type, what, true)
}

/// [`parse_blob`], hashing the blob and its uncompressed tar (`content.blob_digest`,
/// `content.diff_id`) only if `hash`.
pub fn parse_blob_hashed<R: Read>(
    raw: R,
    expected_len: Option<u64>,
    media_type: Option<&str>,
    what: &str,
    hash: bool,
) -> Result<LayerContent> {
    let tee = |r| {
        if hash {
            HashingReader::new(r)
        } else {
            HashingReader::off(r)
        }
    };
    let mut counted = BufReader::with_capacity(
        256 * 1024,
        CountingReader {
            inner: tee(raw),
            count: 0,
        },
    );
    let head = counted
        .fill_buf()
        .map_err(|e| from_io(e, format!("reading {what}")))?;
    let comp = sniff(head);
    if let Some(mt) = media_type {
        let claimed = if mt.ends_with("gzip") {
            Some(Compression::Gzip)
        } else if mt.ends_with("zstd") {
            Some(Compression::Zstd)
        } else if mt.ends_with(".tar") {
            Some(Compression::None)
        } else {
            None
        };
        if let Some(c) = claimed {
            if c != comp && !head.is_empty() {
                return Err(Error::corrupt(format!(
                    "{what}: media type {mt} does not match the blob's content ({comp:?})"
                )));
            }
        }
    }
    // The uncompressed stream is hashed on its own (its digest is the diff id); an
    // uncompressed blob is its own diff id.
    let tee_dec = |r| {
        if hash {
            HashingReader::new(r)
        } else {
            HashingReader::off(r)
        }
    };
    let uncompressed = |dec| {
        let mut r = BufReader::with_capacity(256 * 1024, tee_dec(dec));
        let c = parse_layer(&mut r);
        c.map(|mut c| {
            c.diff_id = r.into_inner().finish();
            c
        })
    };
    let mut content = match comp {
        Compression::None => parse_layer(&mut counted),
        Compression::Gzip => uncompressed(Box::new(flate2::bufread::MultiGzDecoder::new(
            &mut counted,
        )) as Box<dyn Read + '_>),
        Compression::Zstd => {
            let dec = zstd::stream::read::Decoder::with_buffer(&mut counted)
                .map_err(|e| from_io(e, format!("reading {what}")))?;
            uncompressed(Box::new(dec))
        }
    }
    .map_err(|e| e.context(what))?;
    // Anything after the compressed stream/tar end still counts as read.
    std::io::copy(&mut counted, &mut std::io::sink())
        .map_err(|e| from_io(e, format!("reading {what}")))?;
    let got = counted.get_ref().count;
    if let Some(exp) = expected_len {
        if got != exp {
            return Err(Error::corrupt(format!(
                "{what} is truncated or corrupt: expected {exp} bytes, read {got}"
            )));
        }
    }
    content.blob_digest = counted.into_inner().inner.finish();
    if comp == Compression::None {
        content.diff_id = content.blob_digest.clone();
    }
    Ok(content)
}
