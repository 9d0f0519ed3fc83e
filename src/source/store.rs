//! Stores: where the files of an image live. A directory (OCI layout), a seekable tar
//! file (docker-save archive or OCI archive: indexed once, blobs read in place and in
//! parallel), or a one-pass stream (the daemon's export) collected as it goes.

use super::blob::{Progress, ProgressReader, parse_blob, parse_blob_hashed};
use super::layout::MetaStore;
use super::verified;
use crate::error::{Error, Result, from_io};
use crate::model::LayerContent;
use rustc_hash::FxHashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Small files larger than this are not JSON documents we need.
const SMALL_MAX: u64 = 64 << 20;

/// A store whose layer blobs can be opened by name.
pub trait BlobStore: MetaStore + Sync {
    /// Parse the layer blob `name`.
    fn parse_layer(
        &self,
        name: &str,
        size: Option<u64>,
        media_type: Option<&str>,
        progress: Option<Arc<Progress>>,
    ) -> Result<Arc<LayerContent>>;
    /// Stored size of a blob, when the store knows it.
    fn blob_len(&self, _name: &str) -> Option<u64> {
        None
    }
    /// Whether the store is Docker's own layer store, whose layers Docker verified
    /// when it wrote them (they are not streamed, so not hashed again). Every other
    /// store's layers are hashed as they are parsed and checked against the diff ids
    /// and digests the image claims.
    fn is_dockers_own(&self) -> bool {
        false
    }
    /// The digests this blob was found to have when it was hashed before (see
    /// [`verified`]), without reading it.
    fn known_digests(&self, _name: &str) -> Option<verified::Verified> {
        None
    }
}

fn clean_name(raw: &[u8]) -> String {
    let s = String::from_utf8_lossy(raw);
    let s = s.trim_start_matches("./").trim_start_matches('/');
    s.trim_end_matches('/').to_string()
}

/// Resolve a symlink target relative to the directory of `name` ("a/layer.tar" →
/// "../b/layer.tar" gives "b/layer.tar").
fn resolve_rel(name: &str, target: &str) -> String {
    let mut parts: Vec<&str> = name.split('/').collect();
    parts.pop();
    if target.starts_with('/') {
        parts.clear();
    }
    for comp in target.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join("/")
}

// ---------------------------------------------------------------------------------
// Directory (OCI image layout).

pub struct DirStore {
    pub root: PathBuf,
}

impl DirStore {
    /// `name` inside the layout. Names that are absolute, contain `..` or a NUL, or lead
    /// (through symlinks) outside the layout or to anything but a regular file are
    /// refused: a layout must not make us read `/dev/zero` or `/etc/passwd`.
    fn path(&self, name: &str) -> Result<PathBuf> {
        let refuse = |why: &str| {
            Err(Error::corrupt(format!(
                "refusing blob path {name:?}: {why}"
            )))
        };
        if name.is_empty() || name.starts_with('/') {
            return refuse("not a path inside the layout");
        }
        if name.contains('\0') || name.split('/').any(|c| c == "..") {
            return refuse("it leaves the layout");
        }
        let p = self.root.join(name);
        match p.canonicalize() {
            // Missing: callers say what is missing.
            Err(_) => Ok(p),
            Ok(real) => {
                let root = self
                    .root
                    .canonicalize()
                    .unwrap_or_else(|_| self.root.clone());
                if !real.starts_with(&root) {
                    return refuse("a symlink leads outside the layout");
                }
                match std::fs::metadata(&real) {
                    Ok(m) if m.is_file() => Ok(p),
                    Ok(_) => refuse("not a regular file"),
                    Err(e) => Err(from_io(e, p.display())),
                }
            }
        }
    }
}

impl DirStore {
    /// The raw (possibly compressed) bytes of a blob.
    pub fn open_raw(&self, name: &str) -> Result<Box<dyn Read + Send>> {
        let p = self.path(name)?;
        Ok(Box::new(
            File::open(&p).map_err(|e| from_io(e, p.display()))?,
        ))
    }
}

impl MetaStore for DirStore {
    fn read_small(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let p = self.path(name)?;
        let f = match File::open(&p) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(from_io(e, p.display())),
        };
        let mut b = Vec::new();
        f.take(SMALL_MAX + 1)
            .read_to_end(&mut b)
            .map_err(|e| from_io(e, p.display()))?;
        if b.len() as u64 > SMALL_MAX {
            return Err(Error::corrupt(format!(
                "{name}: over {} MiB, too big for image metadata",
                SMALL_MAX >> 20
            )));
        }
        Ok(Some(b))
    }
    fn has(&self, name: &str) -> bool {
        self.path(name).map(|p| p.exists()).unwrap_or(false)
    }
}

impl BlobStore for DirStore {
    fn known_digests(&self, name: &str) -> Option<verified::Verified> {
        let f = File::open(self.path(name).ok()?).ok()?;
        let len = f.metadata().ok()?.len();
        verified::lookup(&verified::key(&f, 0, len)?)
    }

    fn blob_len(&self, name: &str) -> Option<u64> {
        self.path(name)
            .ok()
            .and_then(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
    }

    fn parse_layer(
        &self,
        name: &str,
        size: Option<u64>,
        media_type: Option<&str>,
        progress: Option<Arc<Progress>>,
    ) -> Result<Arc<LayerContent>> {
        let p = self.path(name)?;
        let f = File::open(&p).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::corrupt(format!("layer blob {name} is missing from the layout"))
            } else {
                from_io(e, p.display())
            }
        })?;
        let key = verified::key(&f, 0, f.metadata().map(|m| m.len()).unwrap_or(0));
        parse_known(
            ProgressReader { inner: f, progress },
            key,
            size,
            media_type,
            &format!("layer blob {name}"),
        )
    }
}

/// Parse a blob read from a file: hashed the first time, its digests remembered under
/// `key` (see [`verified`]); when they are known already, not hashed again.
fn parse_known<R: Read>(
    r: R,
    key: Option<String>,
    size: Option<u64>,
    media_type: Option<&str>,
    what: &str,
) -> Result<Arc<LayerContent>> {
    let known = key.as_deref().and_then(verified::lookup);
    let mut c = parse_blob_hashed(r, size, media_type, what, known.is_none())?;
    match known {
        Some(v) => {
            c.diff_id = Some(v.diff_id);
            c.blob_digest = Some(v.blob_digest);
        }
        None => {
            if let (Some(k), Some(d), Some(b)) = (&key, &c.diff_id, &c.blob_digest) {
                verified::record(
                    k,
                    &verified::Verified {
                        diff_id: d.clone(),
                        blob_digest: b.clone(),
                    },
                );
            }
        }
    }
    Ok(Arc::new(c))
}

// ---------------------------------------------------------------------------------
// Seekable tar file.

#[derive(Debug, Clone)]
struct Member {
    offset: u64,
    size: u64,
}

pub struct TarFileStore {
    pub path: PathBuf,
    members: FxHashMap<String, Member>,
    /// Symlinks in the archive (docker save links duplicate layers).
    links: FxHashMap<String, String>,
}

impl TarFileStore {
    /// Index the archive by reading its headers only.
    pub fn open(path: &Path) -> Result<TarFileStore> {
        let file = File::open(path).map_err(|e| from_io(e, path.display()))?;
        let file_len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut archive = tar::Archive::new(file);
        let mut members = FxHashMap::default();
        let mut links = FxHashMap::default();
        let entries = archive
            .entries_with_seek()
            .map_err(|e| from_io(e, path.display()))?;
        let mut end = 0u64;
        for item in entries {
            let entry =
                item.map_err(|e| from_io(e, format!("{}: reading the archive", path.display())))?;
            end = end.max(entry.raw_header_position() + 512 + entry.size().div_ceil(512) * 512);
            let name = clean_name(&entry.path_bytes());
            match entry.header().entry_type() {
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    if let Some(t) = entry.link_name_bytes() {
                        let t = String::from_utf8_lossy(&t).to_string();
                        let target = if entry.header().entry_type() == tar::EntryType::Link {
                            clean_name(t.as_bytes())
                        } else {
                            resolve_rel(&name, &t)
                        };
                        links.insert(name, target);
                    }
                }
                t if t.is_file() => {
                    let m = Member {
                        offset: entry.raw_file_position(),
                        size: entry.size(),
                    };
                    if m.offset + m.size > file_len {
                        return Err(Error::corrupt(format!(
                            "{}: the archive is truncated ({name} ends past the end of the file)",
                            path.display()
                        )));
                    }
                    members.insert(name, m);
                }
                _ => {}
            }
        }
        if members.is_empty() {
            return Err(Error::corrupt(format!(
                "{}: not a tar archive, or an empty one",
                path.display()
            )));
        }
        // A tar ends with zero blocks; without them the file was cut short, even if it
        // was cut between two members.
        let mut f = File::open(path).map_err(|e| from_io(e, path.display()))?;
        let mut block = [0u8; 512];
        let terminated = f.seek(SeekFrom::Start(end)).is_ok()
            && f.read_exact(&mut block).is_ok()
            && block.iter().all(|&b| b == 0);
        if !terminated {
            return Err(Error::corrupt(format!(
                "{}: the archive is truncated (it ends without the tar end-of-archive marker)",
                path.display()
            )));
        }
        Ok(TarFileStore {
            path: path.to_path_buf(),
            members,
            links,
        })
    }

    fn member(&self, name: &str) -> Option<&Member> {
        let mut n = name.to_string();
        for _ in 0..8 {
            if let Some(m) = self.members.get(&n) {
                return Some(m);
            }
            n = self.links.get(&n)?.clone();
        }
        None
    }

    fn open_member(&self, m: &Member) -> Result<std::io::Take<File>> {
        let mut f = File::open(&self.path).map_err(|e| from_io(e, self.path.display()))?;
        f.seek(SeekFrom::Start(m.offset))
            .map_err(|e| from_io(e, self.path.display()))?;
        Ok(f.take(m.size))
    }
}

impl TarFileStore {
    /// The raw (possibly compressed) bytes of a blob.
    pub fn open_raw(&self, name: &str) -> Result<Box<dyn Read + Send>> {
        let m = self
            .member(name)
            .ok_or_else(|| Error::corrupt(format!("{name} is missing from the archive")))?
            .clone();
        Ok(Box::new(self.open_member(&m)?))
    }
}

impl MetaStore for TarFileStore {
    fn read_small(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let Some(m) = self.member(name) else {
            return Ok(None);
        };
        if m.size > SMALL_MAX {
            return Err(Error::corrupt(format!(
                "{name} is too large to be an image document"
            )));
        }
        let mut buf = Vec::with_capacity(m.size as usize);
        self.open_member(m)?
            .read_to_end(&mut buf)
            .map_err(|e| from_io(e, name))?;
        if buf.len() as u64 != m.size {
            return Err(Error::corrupt(format!("{name} is truncated")));
        }
        Ok(Some(buf))
    }
    fn has(&self, name: &str) -> bool {
        self.member(name).is_some()
    }
}

impl BlobStore for TarFileStore {
    fn known_digests(&self, name: &str) -> Option<verified::Verified> {
        let m = self.member(name)?;
        let f = File::open(&self.path).ok()?;
        verified::lookup(&verified::key(&f, m.offset, m.size)?)
    }

    fn blob_len(&self, name: &str) -> Option<u64> {
        self.member(name).map(|m| m.size)
    }

    fn parse_layer(
        &self,
        name: &str,
        size: Option<u64>,
        media_type: Option<&str>,
        progress: Option<Arc<Progress>>,
    ) -> Result<Arc<LayerContent>> {
        let m = self
            .member(name)
            .ok_or_else(|| Error::corrupt(format!("layer {name} is missing from the archive")))?;
        if let Some(s) = size {
            if s != m.size {
                return Err(Error::corrupt(format!(
                    "layer {name}: the manifest says {s} bytes, the archive holds {}",
                    m.size
                )));
            }
        }
        let r = self.open_member(m)?;
        let key = verified::key(r.get_ref(), m.offset, m.size);
        parse_known(
            ProgressReader { inner: r, progress },
            key,
            Some(m.size),
            media_type,
            &format!("layer {name}"),
        )
    }
}

// ---------------------------------------------------------------------------------
// One-pass stream (daemon export, stdin).

/// The documents and parsed layers of a tar stream, collected in one pass.
pub struct CollectedStore {
    small: FxHashMap<String, Vec<u8>>,
    layers: FxHashMap<String, Result<Arc<LayerContent>>>,
    links: FxHashMap<String, String>,
}

/// Remembers whether the underlying reader reached its end.
struct EofTracker<R> {
    inner: R,
    eof: bool,
}

impl<R: Read> Read for EofTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.eof = true;
        }
        Ok(n)
    }
}

impl CollectedStore {
    pub fn collect<R: Read>(reader: R, progress: Option<Arc<Progress>>) -> Result<CollectedStore> {
        Self::collect_with(reader, progress, &mut |_, _| {})
    }

    /// Like [`CollectedStore::collect`], calling `on_layer("sha256:<hex of the blob>",
    /// content)` as soon as each layer blob has streamed and parsed (for an
    /// uncompressed layer the digest is its diff id), so a caller can show it early.
    pub fn collect_with<R: Read>(
        reader: R,
        progress: Option<Arc<Progress>>,
        on_layer: &mut dyn FnMut(&str, &Arc<LayerContent>),
    ) -> Result<CollectedStore> {
        let mut tracker = EofTracker {
            inner: ProgressReader {
                inner: reader,
                progress,
            },
            eof: false,
        };
        let mut archive = tar::Archive::new(&mut tracker);
        let mut small = FxHashMap::default();
        let mut layers = FxHashMap::default();
        let mut links = FxHashMap::default();
        let entries = archive
            .entries()
            .map_err(|e| from_io(e, "reading the image stream"))?;
        let mut seen_any = false;
        for item in entries {
            let entry = item.map_err(|e| from_io(e, "reading the image stream"))?;
            seen_any = true;
            let name = clean_name(&entry.path_bytes());
            let etype = entry.header().entry_type();
            if matches!(etype, tar::EntryType::Symlink | tar::EntryType::Link) {
                if let Some(t) = entry.link_name_bytes() {
                    let t = String::from_utf8_lossy(&t).to_string();
                    let target = if etype == tar::EntryType::Link {
                        clean_name(t.as_bytes())
                    } else {
                        resolve_rel(&name, &t)
                    };
                    links.insert(name, target);
                }
                continue;
            }
            if !etype.is_file() {
                continue;
            }
            let size = entry.size();
            let mut r = BufReader::with_capacity(256 * 1024, entry);
            let head = r
                .fill_buf()
                .map_err(|e| from_io(e, format!("reading {name}")))?;
            let first = head.iter().find(|b| !b.is_ascii_whitespace()).copied();
            let is_doc = !(name.ends_with("layer.tar") || name.starts_with("blobs/"))
                || matches!(first, Some(b'{') | Some(b'['));
            if is_doc && size <= SMALL_MAX {
                let mut buf = Vec::with_capacity(size as usize);
                r.read_to_end(&mut buf)
                    .map_err(|e| from_io(e, format!("reading {name}")))?;
                if buf.len() as u64 != size {
                    return Err(Error::corrupt(format!(
                        "the image stream is truncated inside {name}"
                    )));
                }
                small.insert(name, buf);
            } else if is_doc {
                std::io::copy(&mut r, &mut std::io::sink())
                    .map_err(|e| from_io(e, format!("reading {name}")))?;
            } else {
                let parsed = parse_blob(&mut r, Some(size), None, &format!("layer {name}"));
                // A truncated stream shows up as a short read: that is fatal for the
                // whole stream, not only this layer.
                if let Err(e) = &parsed {
                    if e.kind == crate::error::ErrorKind::Corrupt
                        || e.kind == crate::error::ErrorKind::Io
                    {
                        // Keep reading: if the outer stream is fine the error is
                        // reported only if this layer is needed.
                        std::io::copy(&mut r, &mut std::io::sink())
                            .map_err(|e| from_io(e, "reading the image stream"))?;
                    }
                }
                let parsed = parsed.map(Arc::new);
                if let Ok(c) = &parsed {
                    // parse_blob reads the blob to its end: the digest is complete.
                    if let Some(digest) = &c.blob_digest {
                        on_layer(digest, c);
                    }
                }
                layers.insert(name, parsed);
            }
        }
        if !seen_any {
            return Err(Error::corrupt(
                "the image stream is empty or not a tar archive",
            ));
        }
        drop(archive);
        if tracker.eof {
            return Err(Error::corrupt(
                "the image stream is truncated (it ended without the tar end-of-archive marker)",
            ));
        }
        Ok(CollectedStore {
            small,
            layers,
            links,
        })
    }

    fn resolve_name<'a>(&'a self, name: &'a str) -> String {
        let mut n = name.to_string();
        for _ in 0..8 {
            match self.links.get(&n) {
                Some(t) => n = t.clone(),
                None => break,
            }
        }
        n
    }

    /// A parsed layer.
    pub fn layer(&self, name: &str) -> Result<Arc<LayerContent>> {
        let n = self.resolve_name(name);
        match self.layers.get(&n) {
            Some(Ok(c)) => Ok(c.clone()),
            Some(Err(e)) => Err(e.clone()),
            None => Err(Error::corrupt(format!(
                "layer {name} is missing from the image stream"
            ))),
        }
    }
}

impl MetaStore for CollectedStore {
    fn read_small(&self, name: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.small.get(&self.resolve_name(name)).cloned())
    }
    fn has(&self, name: &str) -> bool {
        let n = self.resolve_name(name);
        self.small.contains_key(&n) || self.layers.contains_key(&n)
    }
}

impl BlobStore for CollectedStore {
    fn parse_layer(
        &self,
        name: &str,
        _size: Option<u64>,
        _mt: Option<&str>,
        _p: Option<Arc<Progress>>,
    ) -> Result<Arc<LayerContent>> {
        self.layer(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn rel() {
        assert_eq!(resolve_rel("a/layer.tar", "../b/layer.tar"), "b/layer.tar");
        assert_eq!(resolve_rel("blobs/sha256/x", "y"), "blobs/sha256/y");
    }
}
