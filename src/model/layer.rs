//! Parsing one layer tar into a [`LayerContent`]: its entries, whiteouts and opaque
//! directories. The content of files is hashed as it streams and never kept.

use super::entry::{
    Entry, EntryKind, NO_LINK, Norm, RawPath, display_path, normalize_into, split_parent,
};
use crate::error::{Error, Result, from_io};
use rustc_hash::FxHashMap;
use std::io::{BufRead, Read};
use twox_hash::XxHash3_64;

/// Everything a layer says, independent of the layers below it.
#[derive(Debug, Clone, Default)]
pub struct LayerContent {
    /// Entries in tar order, each path once (a path written twice keeps its last
    /// version, in the place of its first): the tree relies on it.
    pub entries: Vec<Entry>,
    /// The name arena: every entry's path and link target bytes ([`LayerContent::path`],
    /// [`LayerContent::link`]), one allocation for the layer.
    pub names: Vec<u8>,
    /// Link targets (offset, length in `names`), by [`Entry::link`].
    pub links: Vec<(u32, u32)>,
    /// Paths deleted from the layers below by `.wh.NAME` markers.
    pub whiteouts: Vec<RawPath>,
    /// Directories whose lower children are hidden by `.wh..wh..opq`.
    pub opaque: Vec<RawPath>,
    /// Sum of tar-header sizes of all entries (dive's layer size).
    pub tar_size: u64,
    /// Length of the uncompressed tar stream.
    pub stream_size: u64,
    /// Entries that were rejected or could not be understood.
    pub warnings: Vec<String>,
    /// SHA-256 of the uncompressed tar as read (`sha256:<hex>`): what the image
    /// config's diff id must be. `None` when the content was not streamed (Docker's
    /// own store, which Docker verified when it wrote the layer).
    pub diff_id: Option<String>,
    /// SHA-256 of the blob as stored (compressed or not), when it was streamed.
    pub blob_digest: Option<String>,
}

/// Warnings kept per layer; the rest are counted in one last line.
const MAX_WARNINGS: usize = 100;

impl LayerContent {
    /// The path of entry `e` of this layer (relative, no leading `/`).
    pub fn path(&self, e: &Entry) -> &[u8] {
        let at = e.at as usize;
        &self.names[at..at + e.path_len as usize]
    }

    /// The link target of entry `e` of this layer (symlinks as written, hardlinks
    /// normalised), if it has one.
    pub fn link(&self, e: &Entry) -> Option<&[u8]> {
        let &(at, len) = self.links.get(e.link as usize)?;
        Some(&self.names[at as usize..at as usize + len as usize])
    }

    /// "/a/b" (lossy) for display.
    pub fn path_lossy(&self, e: &Entry) -> String {
        display_path(self.path(e))
    }

    /// Append `bytes` to the name arena; their (offset, length), or `None` when the
    /// arena would pass 4 GiB.
    pub fn put_name(&mut self, bytes: &[u8]) -> Option<(u32, u32)> {
        let at = u32::try_from(self.names.len()).ok()?;
        let len = u32::try_from(bytes.len()).ok()?;
        at.checked_add(len).filter(|&end| end < NO_LINK)?;
        self.names.extend_from_slice(bytes);
        Some((at, len))
    }

    /// Add `bytes` as a link target: its index for [`Entry::link`], or [`NO_LINK`] when
    /// the arena would pass 4 GiB.
    pub fn add_link(&mut self, bytes: &[u8]) -> u32 {
        match self.put_name(bytes) {
            Some(at) => {
                self.links.push(at);
                (self.links.len() - 1) as u32
            }
            None => NO_LINK,
        }
    }

    /// Add a warning (after [`MAX_WARNINGS`], only a count of the rest).
    pub fn warn(&mut self, msg: String) {
        match self.warnings.len() {
            n if n < MAX_WARNINGS => self.warnings.push(msg),
            n if n == MAX_WARNINGS => self.warnings.push("1 more warning".into()),
            _ => {
                let more = self
                    .warnings
                    .last()
                    .and_then(|w| w.split(' ').next())
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(1);
                *self.warnings.last_mut().unwrap() = format!("{} more warnings", more + 1);
            }
        }
    }
}

const WH_PREFIX: &[u8] = b".wh.";
const WH_OPAQUE: &[u8] = b".wh..wh..opq";
const WH_META_PREFIX: &[u8] = b".wh..wh.";

/// A reader that counts bytes (to know the uncompressed length of a layer).
pub struct CountingReader<R> {
    pub inner: R,
    pub count: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

/// A buffered reader that counts what it yields and can seek forward (by consuming
/// its buffer), which is all the tar reader needs to skip padding cheaply.
pub struct ForwardSeek<R> {
    pub inner: R,
    pub count: u64,
}

impl<R: BufRead> Read for ForwardSeek<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> std::io::Seek for ForwardSeek<R> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        let std::io::SeekFrom::Current(mut n) = pos else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "only forward seeks",
            ));
        };
        if n < 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "only forward seeks",
            ));
        }
        while n > 0 {
            let avail = self.inner.fill_buf()?.len();
            if avail == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "tar ends inside an entry",
                ));
            }
            let take = avail.min(n as usize);
            self.inner.consume(take);
            self.count += take as u64;
            n -= take as i64;
        }
        Ok(self.count)
    }
}

/// Where the content fingerprints of regular files come from.
pub enum Content<'a> {
    /// Read the content from the tar stream and checksum it.
    Stream,
    /// The stream carries no real content (Docker's tar-split: headers only); the
    /// checksum of the file whose data starts at byte offset `o` with `size` bytes is
    /// `lookup(o, size)`. The tar reader seeks over the data without reading it.
    Checksums(&'a dyn Fn(u64, u64) -> Result<u64>),
}

/// The content fingerprint of file bytes: CRC-64/GO-ISO, the checksum Docker's
/// tar-split records for every file. Layers read from an archive and layers read from
/// Docker's own store therefore fingerprint files the same way and compare directly.
pub fn content_checksum(bytes: &[u8]) -> u64 {
    crc_fast::checksum(crc_fast::CrcAlgorithm::Crc64GoIso, bytes)
}

/// A clear message for an error the tar reader gives on entry `n`. Its own messages
/// quote header bytes (garbage from a file that is not a tar); they are not repeated.
/// Errors of the stream below (gzip, zstd, I/O) keep their message.
fn tar_error(e: std::io::Error, n: usize) -> Error {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => Error::corrupt(format!(
            "the layer tar ends in the middle of entry #{n}: truncated"
        )),
        std::io::ErrorKind::Other => Error::corrupt(format!(
            "the layer is not a valid tar: entry #{n} has a corrupt header"
        )),
        _ => from_io(e, format!("reading layer tar entry #{n}")),
    }
}

/// Parse an uncompressed layer tar.
pub fn parse_layer<R: BufRead>(reader: R) -> Result<LayerContent> {
    let mut counting = ForwardSeek {
        inner: reader,
        count: 0,
    };
    let mut out = parse_input(&mut counting, Content::Stream)?;
    out.stream_size = counting.count;
    Ok(out)
}

/// Longest path or link target accepted in a layer (GNU long names and PAX records
/// can announce gigabytes). Far above PATH_MAX, and above a path 100 000 directories
/// deep, which must still load.
pub const MAX_NAME: usize = 256 * 1024;

/// Bytes the tar reader may read by itself for one entry: its header blocks, GNU long
/// name and link records, PAX records and sparse maps. The tar reader keeps these in
/// memory whole, so a 1 GiB "long name" would cost 1 GiB (or more) of memory.
pub const MAX_HEADER_BYTES: u64 = 1 << 20;

/// What the tar reader has read on its own since the last entry.
#[derive(Default)]
struct HeaderBudget {
    own: std::cell::Cell<u64>,
    /// Set while we read an entry's content (those reads do not count).
    content: std::cell::Cell<bool>,
    over: std::cell::Cell<bool>,
}

impl HeaderBudget {
    /// Run `f`, which reads an entry's content: those reads are not headers.
    fn reading_content<T>(&self, f: impl FnOnce() -> T) -> T {
        self.content.set(true);
        let r = f();
        self.content.set(false);
        r
    }
}

/// A reader below the tar reader that stops it from reading more than
/// [`MAX_HEADER_BYTES`] of headers for one entry.
struct Guarded<'b, R> {
    inner: R,
    budget: &'b HeaderBudget,
}

impl<R: Read> Read for Guarded<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let b = self.budget;
        if b.content.get() {
            return self.inner.read(buf);
        }
        let room = MAX_HEADER_BYTES.saturating_sub(b.own.get());
        if room == 0 {
            b.over.set(true);
            return Err(std::io::Error::other("extended tar headers over the limit"));
        }
        let cap = buf.len().min(room as usize);
        let n = self.inner.read(&mut buf[..cap])?;
        b.own.set(b.own.get() + n as u64);
        Ok(n)
    }
}

impl<R: std::io::Seek> std::io::Seek for Guarded<'_, R> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// Parse a layer tar from a reader that can seek forward, taking file fingerprints as
/// `content` says. Reads to the end of the stream; `stream_size` is left to the caller.
pub fn parse_tar<R: Read + std::io::Seek>(
    reader: &mut R,
    content: Content<'_>,
) -> Result<LayerContent> {
    parse_input(&mut super::tarstream::SeekInput::new(reader), content)
}

/// The header fields the layer model reads, decoded by the `tar` crate.
struct Fields {
    etype: tar::EntryType,
    mode: std::io::Result<u32>,
    uid: std::io::Result<u64>,
    gid: std::io::Result<u64>,
    mtime: std::io::Result<u64>,
    dev: (Option<u32>, Option<u32>),
}

fn fields(h: &tar::Header) -> Fields {
    use super::tarstream::{numeric, octal};
    let etype = h.entry_type();
    let old = h.as_old();
    // The common octal form decoded here; anything else by the tar crate.
    Fields {
        etype,
        mode: octal(&old.mode).map_or_else(|| h.mode(), |v| Ok(v as u32)),
        uid: numeric(&old.uid).map_or_else(|| h.uid(), Ok),
        gid: numeric(&old.gid).map_or_else(|| h.gid(), Ok),
        mtime: numeric(&old.mtime).map_or_else(|| h.mtime(), Ok),
        // Device numbers only for devices: on other entries the fields are often
        // empty, and the tar crate formats an error message for each.
        dev: if matches!(etype, tar::EntryType::Char | tar::EntryType::Block) {
            (
                h.device_major().ok().flatten(),
                h.device_minor().ok().flatten(),
            )
        } else {
            (None, None)
        },
    }
}

/// What to do with an entry once its header is understood.
enum Step {
    /// Not recorded (the root, a whiteout, a rejected entry): skip its content.
    Skip,
    /// A regular file: fingerprint its content, then record it.
    File(Entry),
    /// Recorded as it is; its content, if any, is skipped.
    Record(Entry),
}

/// Decide what entry `n` (name, link target, header fields, content size, PAX records)
/// is: records whiteouts and opaque markers and warnings in `out` as it goes.
#[allow(clippy::too_many_arguments)]
fn classify<'p>(
    out: &mut LayerContent,
    index: &FxHashMap<u64, u32>,
    n: usize,
    raw_name: &[u8],
    link: Option<&[u8]>,
    f: Fields,
    tar_size: u64,
    pax: Option<tar::PaxExtensions<'p>>,
) -> Result<Step> {
    let link_len = link.map_or(0, |l| l.len());
    if raw_name.len() > MAX_NAME || link_len > MAX_NAME {
        return Err(Error::corrupt(format!(
            "tar entry #{n} has a name of {} bytes (the limit is {} KiB): refusing the layer",
            raw_name.len().max(link_len),
            MAX_NAME >> 10
        )));
    }
    // Numeric fields that do not parse (or do not fit) are taken as 0, with a
    // warning: never a silent 4227528960.
    let mut garbage: Vec<&str> = Vec::new();
    let mut field = |name: &'static str, v: std::io::Result<u64>, max: u64| match v {
        Ok(v) if v <= max => v,
        _ => {
            garbage.push(name);
            0
        }
    };
    let mode = field("mode", f.mode.map(u64::from), u64::MAX) as u32 & 0o7777;
    let mut uid = field("uid", f.uid, u32::MAX as u64) as u32;
    let mut gid = field("gid", f.gid, u32::MAX as u64) as u32;
    let mtime = field("mtime", f.mtime, u64::MAX);
    // A PAX header the tar reader cannot parse is a corrupt layer: it would drop
    // the header (with its `size=` and `path=`) and read file data as headers,
    // listing decoys while other tools list the real files.
    let malformed = || {
        Error::corrupt(format!(
            "malformed PAX extended header before tar entry #{n}: the layer is corrupt"
        ))
    };
    for ext in pax.into_iter().flatten() {
        let ext = ext.map_err(|_| malformed())?;
        match ext.key_bytes() {
            b"uid" => match parse_num(ext.value_bytes()) {
                Some(v) if v <= u32::MAX as u64 => uid = v as u32,
                _ => garbage.push("PAX uid"),
            },
            b"gid" => match parse_num(ext.value_bytes()) {
                Some(v) if v <= u32::MAX as u64 => gid = v as u32,
                _ => garbage.push("PAX gid"),
            },
            _ => {}
        }
    }
    out.tar_size += tar_size;
    if !garbage.is_empty() {
        out.warn(format!(
            "entry {:?}: unreadable {} in its tar header, taken as 0",
            String::from_utf8_lossy(raw_name),
            garbage.join(", ")
        ));
    }

    // The path goes straight into the layer's name arena (taken back if the entry is
    // not recorded).
    let start = out.names.len();
    if start + 2 * (raw_name.len() + link_len) >= u32::MAX as usize {
        return Err(Error::corrupt(format!(
            "tar entry #{n}: the layer's names exceed 4 GiB: refusing the layer"
        )));
    }
    match normalize_into(raw_name, &mut out.names) {
        Norm::Ok => {}
        Norm::Root => return Ok(Step::Skip),
        Norm::Escapes => {
            out.warn(format!(
                "rejected entry {:?}: its path leaves the image root",
                String::from_utf8_lossy(raw_name)
            ));
            return Ok(Step::Skip);
        }
    }
    let path_len = out.names.len() - start;

    // Whiteouts.
    let (parent, base) = split_parent(&out.names[start..]);
    if base.starts_with(WH_PREFIX) {
        let (opaque, whiteout): (Option<RawPath>, Option<RawPath>) = if base == WH_OPAQUE {
            (Some(parent.into()), None)
        } else if base.starts_with(WH_META_PREFIX) {
            // Other AUFS metadata (.wh..wh.plnk, .wh..wh.aufs): not content.
            (None, None)
        } else {
            let mut target = parent.to_vec();
            if !target.is_empty() {
                target.push(b'/');
            }
            target.extend_from_slice(&base[WH_PREFIX.len()..]);
            (None, Some(target.into()))
        };
        out.names.truncate(start);
        out.opaque.extend(opaque);
        out.whiteouts.extend(whiteout);
        return Ok(Step::Skip);
    }

    let kind = match f.etype {
        tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
            EntryKind::File
        }
        tar::EntryType::Directory => EntryKind::Dir,
        tar::EntryType::Symlink => EntryKind::Symlink,
        tar::EntryType::Link => EntryKind::Hardlink,
        tar::EntryType::Char => EntryKind::Char,
        tar::EntryType::Block => EntryKind::Block,
        tar::EntryType::Fifo => EntryKind::Fifo,
        other => {
            out.names.truncate(start);
            out.warn(format!(
                "skipped entry {:?} of unsupported tar type {:?}",
                String::from_utf8_lossy(raw_name),
                other
            ));
            return Ok(Step::Skip);
        }
    };

    let mut e = Entry {
        at: start as u32,
        path_len: path_len as u32,
        link: NO_LINK,
        kind,
        resolved: true,
        size: 0,
        tar_size,
        mode: mode as u16,
        uid,
        gid,
        mtime,
        hash: 0,
    };
    match kind {
        EntryKind::File => return Ok(Step::File(e)),
        EntryKind::Symlink => {
            let target = link.unwrap_or_default();
            e.hash = XxHash3_64::oneshot(target);
            e.size = target.len() as u64;
            e.link = out.add_link(target);
        }
        EntryKind::Hardlink => {
            let link_at = out.names.len();
            if !matches!(
                normalize_into(link.unwrap_or_default(), &mut out.names),
                Norm::Ok
            ) {
                let msg = format!(
                    "rejected hardlink {:?}: its target leaves the image root",
                    display_path(&out.names[start..start + path_len])
                );
                out.names.truncate(start);
                out.warn(msg);
                return Ok(Step::Skip);
            }
            e.resolved = false;
            out.links
                .push((link_at as u32, (out.names.len() - link_at) as u32));
            e.link = (out.links.len() - 1) as u32;
            if let Some(ti) = find(index, out, &out.names[link_at..]) {
                let t = &out.entries[ti as usize];
                if t.resolved {
                    fill_from_target(&mut e, t, t.link);
                } else if t.kind == EntryKind::Hardlink {
                    // A link to a link of this layer that points below: follow
                    // the chain so the tree resolves it against the lower layers.
                    e.link = t.link;
                }
            }
        }
        EntryKind::Char | EntryKind::Block => {
            let (ma, mi) = (f.dev.0.unwrap_or(0) as u64, f.dev.1.unwrap_or(0) as u64);
            e.hash = (ma << 32) | mi;
        }
        EntryKind::Dir | EntryKind::Fifo => {}
    }
    Ok(Step::Record(e))
}

/// Add entry `e` to the layer (a path written twice keeps its last version).
fn record(out: &mut LayerContent, index: &mut FxHashMap<u64, u32>, e: Entry) {
    let p = out.path(&e);
    match find(index, out, p) {
        Some(i) => out.entries[i as usize] = e,
        None => {
            // On a hash collision the first path keeps the slot and the other
            // is found by `find`'s scan.
            index
                .entry(path_hash(p))
                .or_insert(out.entries.len() as u32);
            out.entries.push(e);
        }
    }
}

fn truncated(expected: u64, got: u64) -> Error {
    Error::corrupt(format!(
        "layer tar is truncated: an entry announced {expected} bytes but only {got} were present"
    ))
}

/// Parse a layer tar from a [`super::tarstream::TarInput`], taking file fingerprints as
/// `content` says. Reads to the end of the stream; `stream_size` is left to the caller.
pub fn parse_input<I: super::tarstream::TarInput + ?Sized>(
    input: &mut I,
    content: Content<'_>,
) -> Result<LayerContent> {
    use super::tarstream::{TarError, TarReader};
    let mut out = LayerContent::default();
    // Path → entry, by hash of the path (compared on a hit) to avoid a key copy.
    let mut index: FxHashMap<u64, u32> = FxHashMap::default();
    let mut reader = TarReader::new(input, MAX_HEADER_BYTES);
    let err = |e: TarError, n: usize| match e {
        TarError::Truncated => Error::corrupt(format!(
            "the layer tar ends in the middle of entry #{n}: truncated"
        )),
        TarError::Corrupt => Error::corrupt(format!(
            "the layer is not a valid tar: entry #{n} has a corrupt header"
        )),
        TarError::HeadersOverLimit => Error::corrupt(format!(
            "tar entry #{n} has over {} MiB of long-name/PAX headers: refusing the layer",
            MAX_HEADER_BYTES >> 20
        )),
        TarError::Io(e) => from_io(e, format!("reading layer tar entry #{n}")),
    };
    let mut own_pax: Vec<u8>;
    let mut n = 0usize;
    loop {
        let item = match reader.next_item() {
            Ok(Some(item)) => item,
            Ok(None) => break,
            Err(e) => return Err(err(e, n)),
        };
        let f = fields(item.header);
        let (size, file_pos) = (item.size, item.file_pos);
        // A PAX header that no entry claimed is read as its own records (as the tar
        // crate does), then skipped as an entry of an unsupported type.
        let self_pax = item.pax.is_none()
            && (f.etype.is_pax_global_extensions() || f.etype.is_pax_local_extensions());
        let step = if self_pax {
            let (name, link) = (item.name.to_vec(), item.link.map(<[u8]>::to_vec));
            own_pax = reader.own_pax(size).map_err(|e| match e {
                TarError::Truncated | TarError::HeadersOverLimit => Error::corrupt(format!(
                    "malformed PAX extended header before tar entry #{n}: the layer is corrupt"
                )),
                e => err(e, n),
            })?;
            let pax = Some(tar::PaxExtensions::new(&own_pax));
            classify(&mut out, &index, n, &name, link.as_deref(), f, size, pax)?
        } else {
            let pax = item.pax.map(tar::PaxExtensions::new);
            classify(&mut out, &index, n, item.name, item.link, f, size, pax)?
        };
        match step {
            Step::Skip | Step::Record(_) => {
                let want = reader.stored_left();
                let got = reader.skip_content().map_err(|e| err(e, n))?;
                if got < want {
                    return Err(truncated(want, got));
                }
                if let Step::Record(e) = step {
                    record(&mut out, &mut index, e);
                }
            }
            Step::File(mut e) => {
                match &content {
                    Content::Stream => {
                        let buffered = reader.content_in_buffer().map_err(|e| err(e, n))?;
                        let (len, hash) = match buffered {
                            Some(bytes) => {
                                let h = content_checksum(bytes);
                                reader.consume_content();
                                (size, h)
                            }
                            None => {
                                let mut h =
                                    crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc64GoIso);
                                let fed = reader.content(|b| h.update(b)).map_err(|e| err(e, n))?;
                                (fed, h.finalize())
                            }
                        };
                        if len != size {
                            return Err(truncated(size, len));
                        }
                        e.size = len;
                        e.hash = hash;
                    }
                    Content::Checksums(lookup) => {
                        e.size = size;
                        e.hash = lookup(file_pos, size)?;
                        reader.skip_content().map_err(|e| err(e, n))?;
                    }
                }
                record(&mut out, &mut index, e);
            }
        }
        n += 1;
    }
    reader
        .finish()
        .map_err(|e| from_io(e, "reading layer tar"))?;
    Ok(out)
}

/// The layer parser over the `tar` crate's reader: the reference the fast reader is
/// checked against (tests and fuzzing compare the two).
#[doc(hidden)]
pub fn parse_tar_reference<R: Read + std::io::Seek>(
    counting: &mut R,
    content: Content<'_>,
) -> Result<LayerContent> {
    let mut out = LayerContent::default();
    let budget = HeaderBudget::default();
    {
        let mut archive = tar::Archive::new(Guarded {
            inner: &mut *counting,
            budget: &budget,
        });
        let mut index: FxHashMap<u64, u32> = FxHashMap::default();
        let mut buf = vec![0u8; 1024 * 1024];
        let entries = archive
            .entries_with_seek()
            .map_err(|e| from_io(e, "reading layer tar"))?;
        for (n, item) in entries.enumerate() {
            let mut entry = item.map_err(|e| {
                if budget.over.get() {
                    Error::corrupt(format!(
                        "tar entry #{n} has over {} MiB of long-name/PAX headers: refusing the layer",
                        MAX_HEADER_BYTES >> 20
                    ))
                } else {
                    tar_error(e, n)
                }
            })?;
            // What the tar reader reads on its own from here on counts for the next entry.
            budget.own.set(0);
            let raw_name = entry.path_bytes().into_owned();
            let link = entry.link_name_bytes().map(|l| l.into_owned());
            let f = fields(entry.header());
            let tar_size = entry.size();
            let file_pos = entry.raw_file_position();
            let pax = entry.pax_extensions().map_err(|_| {
                Error::corrupt(format!(
                    "malformed PAX extended header before tar entry #{n}: the layer is corrupt"
                ))
            })?;
            // An unclaimed PAX header's own records were just read (as header bytes).
            let own = budget.own.get().min(tar_size);
            if own > 0 && own < tar_size {
                return Err(Error::corrupt(format!(
                    "malformed PAX extended header before tar entry #{n}: the layer is corrupt"
                )));
            }
            let step = classify(
                &mut out,
                &index,
                n,
                &raw_name,
                link.as_deref(),
                f,
                tar_size,
                pax,
            )?;
            match step {
                Step::Skip => {
                    budget.reading_content(|| drain(&mut entry, &mut buf, tar_size - own))?
                }
                Step::Record(e) => {
                    budget.reading_content(|| drain(&mut entry, &mut buf, tar_size))?;
                    record(&mut out, &mut index, e);
                }
                Step::File(mut e) => {
                    match &content {
                        Content::Stream => {
                            let (len, hash) = budget
                                .reading_content(|| hash_content(&mut entry, &mut buf, tar_size))?;
                            e.size = len;
                            e.hash = hash;
                        }
                        Content::Checksums(lookup) => {
                            e.size = tar_size;
                            e.hash = lookup(file_pos, tar_size)?;
                        }
                    }
                    record(&mut out, &mut index, e);
                }
            }
        }
    }
    // Consume whatever padding follows the end-of-archive marker so the caller can
    // check the whole blob was read.
    let mut sink = [0u8; 8192];
    loop {
        match counting.read(&mut sink) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => return Err(from_io(e, "reading layer tar")),
        }
    }
    Ok(out)
}

/// Parse `tar` with the fast reader and with [`parse_tar_reference`] and panic unless
/// both fail or both give the same layer (entries, whiteouts, opaque directories,
/// warnings, sizes). For tests and fuzzing.
#[doc(hidden)]
pub fn assert_same_as_reference(tar: &[u8]) {
    let fast = parse_layer(tar);
    let mut stream = ForwardSeek {
        inner: tar,
        count: 0,
    };
    let reference = parse_tar_reference(&mut stream, Content::Stream);
    let show = |c: &LayerContent| {
        let mut lines: Vec<String> = c
            .entries
            .iter()
            .map(|e| {
                format!(
                    "{} {:?} size={} tar={} mode={:o} {}:{} mtime={} link={:?} hash={:x} {}",
                    c.path_lossy(e),
                    e.kind,
                    e.size,
                    e.tar_size,
                    e.mode,
                    e.uid,
                    e.gid,
                    e.mtime,
                    c.link(e).map(String::from_utf8_lossy),
                    e.hash,
                    e.resolved
                )
            })
            .collect();
        lines.push(format!("whiteouts {:?} opaque {:?}", c.whiteouts, c.opaque));
        lines.extend(c.warnings.iter().cloned());
        lines.push(format!("tar size {}", c.tar_size));
        lines
    };
    match (&fast, &reference) {
        (Ok(a), Ok(b)) => {
            let (a, b) = (show(a), show(b));
            if let Some(i) = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i)) {
                panic!(
                    "the fast tar reader disagrees at line {i}:\n  fast: {:?}\n  tar:  {:?}",
                    a.get(i),
                    b.get(i)
                );
            }
            assert_eq!(
                fast.as_ref().unwrap().stream_size,
                tar.len() as u64,
                "stream size"
            );
        }
        (Err(_), Err(_)) => {}
        (a, b) => panic!(
            "the fast tar reader disagrees: {:?} vs the tar crate's {:?}",
            a.as_ref().map(|c| show(c).join("\n")),
            b.as_ref().map(|c| show(c).join("\n"))
        ),
    }
}

/// Copy size, permissions, owner and content hash of `target` into hardlink `e`;
/// `t_link`: where the target's own link target lies in `e`'s name arena (offset,
/// index in `e`'s layer, or [`NO_LINK`]).
pub fn fill_from_target(e: &mut Entry, t: &Entry, t_link: u32) {
    match t.kind {
        EntryKind::File | EntryKind::Hardlink => {
            e.size = t.size;
            e.hash = t.hash;
        }
        EntryKind::Dir => return, // hardlinks to directories do not exist
        _ => {
            // A second name of a symlink, fifo or device is that same thing.
            e.kind = t.kind;
            e.link = t_link;
            e.size = t.size;
            e.hash = t.hash;
        }
    }
    e.mode = t.mode;
    e.uid = t.uid;
    e.gid = t.gid;
    e.resolved = true;
}

fn path_hash(p: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(p)
}

/// The entry with path `p`, if the layer has one so far.
fn find(index: &FxHashMap<u64, u32>, out: &LayerContent, p: &[u8]) -> Option<u32> {
    let &i = index.get(&path_hash(p))?;
    if out.path(&out.entries[i as usize]) == p {
        return Some(i);
    }
    out.entries
        .iter()
        .position(|e| out.path(e) == p)
        .map(|i| i as u32)
}

fn parse_num(v: &[u8]) -> Option<u64> {
    std::str::from_utf8(v).ok()?.trim().parse().ok()
}

fn hash_content<R: Read>(r: &mut R, buf: &mut [u8], expected: u64) -> Result<(u64, u64)> {
    // Content that fits the buffer is read whole and hashed in one go (no streaming
    // hasher state to set up: most files in an image are small).
    if expected <= buf.len() as u64 {
        let want = expected as usize;
        let mut got = 0;
        while got < want {
            let n = r
                .read(&mut buf[got..want])
                .map_err(|e| from_io(e, "reading layer content"))?;
            if n == 0 {
                break;
            }
            got += n;
        }
        if got != want {
            return Err(Error::corrupt(format!(
                "layer tar is truncated: an entry announced {expected} bytes but only {got} were present"
            )));
        }
        return Ok((expected, content_checksum(&buf[..want])));
    }
    let mut h = crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc64GoIso);
    let mut total = 0u64;
    loop {
        let n = r
            .read(buf)
            .map_err(|e| from_io(e, "reading layer content"))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        total += n as u64;
    }
    if total != expected {
        return Err(Error::corrupt(format!(
            "layer tar is truncated: an entry announced {expected} bytes but only {total} were present"
        )));
    }
    Ok((total, h.finalize()))
}

fn drain<R: Read>(r: &mut R, buf: &mut [u8], expected: u64) -> Result<()> {
    let mut total = 0u64;
    loop {
        let n = r
            .read(buf)
            .map_err(|e| from_io(e, "reading layer content"))?;
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    if total != expected {
        return Err(Error::corrupt(format!(
            "layer tar is truncated: an entry announced {expected} bytes but only {total} were present"
        )));
    }
    Ok(())
}
