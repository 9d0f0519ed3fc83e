//! One filesystem entry as it appears in a layer tar, after normalisation.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Hardlink,
    Char,
    Block,
    Fifo,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::File => "file",
            EntryKind::Dir => "dir",
            EntryKind::Symlink => "symlink",
            EntryKind::Hardlink => "hardlink",
            EntryKind::Char => "char",
            EntryKind::Block => "block",
            EntryKind::Fifo => "fifo",
        }
    }
    /// The type letter `ls -l` shows (`h` for a hardlink).
    pub fn type_char(self) -> char {
        match self {
            EntryKind::File => '-',
            EntryKind::Dir => 'd',
            EntryKind::Symlink => 'l',
            EntryKind::Hardlink => 'h',
            EntryKind::Char => 'c',
            EntryKind::Block => 'b',
            EntryKind::Fifo => 'p',
        }
    }

    /// Whether entries of this kind carry file content.
    pub fn has_content(self) -> bool {
        matches!(self, EntryKind::File | EntryKind::Hardlink)
    }
}

/// A path inside an image: raw bytes (tar names need not be UTF-8), relative to the
/// root, components separated by `/`, no `.`/`..`/empty components. The root is "".
pub type RawPath = Box<[u8]>;

/// `Entry::link` of an entry without a link target.
pub const NO_LINK: u32 = u32::MAX;

/// One entry of a layer. Its path (and link target) are bytes of the layer's name
/// arena: [`super::LayerContent::path`], [`super::LayerContent::link`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Offset of the path in the layer's name arena; the link target follows it.
    pub at: u32,
    pub path_len: u32,
    /// Its link target: an index into the layer's links ([`NO_LINK`]: none).
    pub link: u32,
    pub kind: EntryKind,
    /// For hardlinks: whether size/mode/owner/hash were filled from the target.
    pub resolved: bool,
    /// Content size. For a hardlink, the size of the content it links to.
    pub size: u64,
    /// Size recorded in the tar header (0 for hardlinks, dirs, links, devices): what
    /// the entry costs in the layer, and dive's notion of size.
    pub tar_size: u64,
    /// Permission bits including setuid/setgid/sticky (`mode & 0o7777`).
    pub mode: u16,
    pub uid: u32,
    pub gid: u32,
    pub mtime: u64,
    /// CRC-64/GO-ISO of the content (files, hardlinks once resolved: the checksum
    /// Docker's tar-split records), xxh3 of the target (symlinks),
    /// of the device numbers (char/block devices); 0 otherwise.
    pub hash: u64,
}

impl Entry {
    /// Whether two entries describe the same thing for the purpose of "modified":
    /// same kind, content, permissions and owner. mtime is deliberately ignored
    /// (rewriting a file with the same bytes is not a change). `links`: the link
    /// targets of `self` and `other`.
    pub fn same_content_and_meta(
        &self,
        other: &Entry,
        links: (Option<&[u8]>, Option<&[u8]>),
    ) -> bool {
        let kind_eq = match (self.kind, other.kind) {
            (a, b) if a == b => true,
            // A hardlink and a file with the same content look the same to a process.
            (EntryKind::File, EntryKind::Hardlink) | (EntryKind::Hardlink, EntryKind::File) => true,
            _ => false,
        };
        kind_eq
            && self.size == other.size
            && self.hash == other.hash
            && self.mode == other.mode
            && self.uid == other.uid
            && self.gid == other.gid
            && (self.kind != EntryKind::Symlink || links.0 == links.1)
    }

    /// Same content, differing only in metadata (mode, owner, mtime). `links`: the
    /// link targets of `self` and `other`.
    pub fn same_content(&self, other: &Entry, links: (Option<&[u8]>, Option<&[u8]>)) -> bool {
        self.kind == other.kind
            && self.size == other.size
            && self.hash == other.hash
            && links.0 == links.1
    }

    /// An entry of no path (the implicit directory, a test's blank).
    pub fn blank(kind: EntryKind) -> Entry {
        Entry {
            at: 0,
            path_len: 0,
            link: NO_LINK,
            kind,
            resolved: true,
            size: 0,
            tar_size: 0,
            mode: 0,
            uid: 0,
            gid: 0,
            mtime: 0,
            hash: 0,
        }
    }
}

/// "/a/b" for display and JSON (lossy for non-UTF-8 bytes).
pub fn display_path(p: &[u8]) -> String {
    let mut s = String::with_capacity(p.len() + 1);
    s.push('/');
    s.push_str(&String::from_utf8_lossy(p));
    s
}

/// Result of normalising a tar path.
#[derive(Debug, PartialEq, Eq)]
pub enum NormPath {
    Ok(Vec<u8>),
    /// The name is the root itself ("./", "/").
    Root,
    /// The name tries to leave the root with `..`.
    Escapes,
}

/// Normalise a tar name: strip leading `/` and `./`, drop `.` and empty components,
/// reject `..`.
pub fn normalize(raw: &[u8]) -> NormPath {
    let mut out = Vec::new();
    match normalize_into(raw, &mut out) {
        Norm::Ok => NormPath::Ok(out),
        Norm::Root => NormPath::Root,
        Norm::Escapes => NormPath::Escapes,
    }
}

/// What [`normalize_into`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Norm {
    /// The normalised path was appended.
    Ok,
    /// The name is the root itself; nothing appended.
    Root,
    /// The name leaves the root; nothing appended.
    Escapes,
}

/// [`normalize`], appending the path to `out`.
pub fn normalize_into(raw: &[u8], out: &mut Vec<u8>) -> Norm {
    // Most names are normal already (maybe but a trailing `/`): one copy.
    let trimmed = raw.strip_suffix(b"/").unwrap_or(raw);
    if !trimmed.is_empty()
        && trimmed
            .split(|&b| b == b'/')
            .all(|c| !matches!(c, b"" | b"." | b".."))
    {
        out.extend_from_slice(trimmed);
        return Norm::Ok;
    }
    let start = out.len();
    for comp in raw.split(|&b| b == b'/') {
        match comp {
            b"" | b"." => continue,
            b".." => {
                out.truncate(start);
                return Norm::Escapes;
            }
            c => {
                if out.len() > start {
                    out.push(b'/');
                }
                out.extend_from_slice(c);
            }
        }
    }
    if out.len() == start {
        Norm::Root
    } else {
        Norm::Ok
    }
}

/// Parent path ("" for a top-level entry) and final component.
pub fn split_parent(p: &[u8]) -> (&[u8], &[u8]) {
    match p.iter().rposition(|&b| b == b'/') {
        Some(i) => (&p[..i], &p[i + 1..]),
        None => (&[], p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_paths() {
        assert_eq!(normalize(b"./usr/bin/"), NormPath::Ok(b"usr/bin".to_vec()));
        assert_eq!(
            normalize(b"/etc//passwd"),
            NormPath::Ok(b"etc/passwd".to_vec())
        );
        assert_eq!(normalize(b"./"), NormPath::Root);
        assert_eq!(normalize(b"a/../../etc"), NormPath::Escapes);
        assert_eq!(normalize(b"a/./b"), NormPath::Ok(b"a/b".to_vec()));
        assert_eq!(normalize(b"usr/bin/"), NormPath::Ok(b"usr/bin".to_vec()));
        assert_eq!(normalize(b"usr//"), NormPath::Ok(b"usr".to_vec()));
        assert_eq!(normalize(b"/"), NormPath::Root);
        assert_eq!(normalize(b"a/.."), NormPath::Escapes);
    }

    #[test]
    fn split() {
        assert_eq!(split_parent(b"a/b/c"), (&b"a/b"[..], &b"c"[..]));
        assert_eq!(split_parent(b"c"), (&b""[..], &b"c"[..]));
    }
}
