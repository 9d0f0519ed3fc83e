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

/// One entry of a layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: RawPath,
    pub kind: EntryKind,
    /// Content size. For a hardlink, the size of the content it links to.
    pub size: u64,
    /// Size recorded in the tar header (0 for hardlinks, dirs, links, devices): what
    /// the entry costs in the layer, and dive's notion of size.
    pub tar_size: u64,
    /// Permission bits including setuid/setgid/sticky (`mode & 0o7777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: u64,
    /// Symlink target (as written) or, for hardlinks, the normalised target path.
    pub link: Option<RawPath>,
    /// CRC-64/GO-ISO of the content (files, hardlinks once resolved: the checksum
    /// Docker's tar-split records), xxh3 of the target (symlinks),
    /// of the device numbers (char/block devices); 0 otherwise.
    pub hash: u64,
    /// For hardlinks: whether size/mode/owner/hash were filled from the target.
    pub resolved: bool,
}

impl Entry {
    /// Whether two entries describe the same thing for the purpose of "modified":
    /// same kind, content, permissions and owner. mtime is deliberately ignored
    /// (rewriting a file with the same bytes is not a change).
    pub fn same_content_and_meta(&self, other: &Entry) -> bool {
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
            && (self.kind != EntryKind::Symlink || self.link == other.link)
    }

    /// Same content, differing only in metadata (mode, owner, mtime).
    pub fn same_content(&self, other: &Entry) -> bool {
        self.kind == other.kind
            && self.size == other.size
            && self.hash == other.hash
            && self.link == other.link
    }

    pub fn path_lossy(&self) -> String {
        display_path(&self.path)
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
    // Most names are normal already (maybe but a trailing `/`): one exact copy.
    let trimmed = raw.strip_suffix(b"/").unwrap_or(raw);
    if !trimmed.is_empty()
        && trimmed
            .split(|&b| b == b'/')
            .all(|c| !matches!(c, b"" | b"." | b".."))
    {
        return NormPath::Ok(trimmed.to_vec());
    }
    let mut out: Vec<u8> = Vec::with_capacity(raw.len());
    for comp in raw.split(|&b| b == b'/') {
        match comp {
            b"" | b"." => continue,
            b".." => return NormPath::Escapes,
            c => {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(c);
            }
        }
    }
    if out.is_empty() {
        NormPath::Root
    } else {
        NormPath::Ok(out)
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
