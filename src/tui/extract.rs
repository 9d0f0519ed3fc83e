//! Extracting a file or directory of an image to the user's filesystem, safely: every
//! path below the destination is opened component by component with `openat` and
//! `O_NOFOLLOW`, so a symlink the image put there (or that was there before) is
//! replaced, never followed — nothing is written outside the destination. File content
//! is streamed from the layer (`io::copy`), never held in memory.

use crate::error::{Error, Result, from_io};
use crate::model::{EntryKind, Image, NodeId};
use crate::source::{self, ImageSource};
use rustc_hash::{FxHashMap, FxHashSet};
use std::ffi::CString;
use std::fs::File;
use std::io::{Seek, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// What to write for one path of the extracted subtree.
enum Item {
    Dir,
    Symlink(Vec<u8>),
    /// Content stored in (layer, path inside that layer's tar).
    File {
        layer: usize,
        stored_at: Vec<u8>,
        mode: u32,
    },
    Skip,
}

/// The directory the destination is created in, and the destination's name in it.
struct Dest {
    parent: OwnedFd,
    name: Vec<u8>,
    shown: String,
}

fn cstr(b: &[u8]) -> Result<CString> {
    CString::new(b).map_err(|_| Error::other("a path contains a NUL byte"))
}

fn last_err(what: &str) -> Error {
    from_io(std::io::Error::last_os_error(), what)
}

/// Open (creating it when missing) directory `name` in `dir` without following a
/// symlink; something else in the way (a symlink, a file) is replaced.
fn ensure_dir(dir: &OwnedFd, name: &[u8], shown: &str) -> Result<OwnedFd> {
    let c = cstr(name)?;
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: *at(2) calls on a directory fd we own and a NUL-terminated name; the fd
    // returned is owned by the OwnedFd at once.
    unsafe {
        libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), 0o755);
        let mut fd = libc::openat(dir.as_raw_fd(), c.as_ptr(), flags);
        if fd < 0 {
            let e = std::io::Error::last_os_error();
            if matches!(e.raw_os_error(), Some(libc::ELOOP) | Some(libc::ENOTDIR)) {
                // A symlink or a file where a directory goes: replace it.
                if libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), 0) != 0 {
                    return Err(last_err(shown));
                }
                if libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), 0o755) != 0 {
                    return Err(last_err(shown));
                }
                fd = libc::openat(dir.as_raw_fd(), c.as_ptr(), flags);
            }
            if fd < 0 {
                return Err(from_io(e, shown));
            }
        }
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

/// Remove `name` from `dir` unless it is a directory (ENOENT is fine).
fn remove_non_dir(dir: &OwnedFd, name: &CString, shown: &str) -> Result<()> {
    // SAFETY: unlinkat(2) on an fd we own and a NUL-terminated name.
    let r = unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), 0) };
    if r != 0 {
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::ENOENT) => {}
            Some(libc::EISDIR) | Some(libc::EPERM) => {
                return Err(Error::other(format!(
                    "{shown} exists as a directory: not replaced by a file or link"
                )));
            }
            _ => return Err(from_io(e, shown)),
        }
    }
    Ok(())
}

impl Dest {
    fn new(dest: &Path) -> Result<Dest> {
        let name = dest
            .file_name()
            .ok_or_else(|| {
                Error::usage(format!("{}: not a file or directory name", dest.display()))
            })?
            .as_bytes()
            .to_vec();
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let c = cstr(parent.as_os_str().as_bytes())?;
        // The user's own path up to the destination may go through symlinks.
        // SAFETY: open(2) of a NUL-terminated path; the fd is owned at once.
        let fd = unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(last_err(&parent.display().to_string()));
        }
        // SAFETY: fd is a valid, newly opened descriptor.
        let parent = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Dest {
            parent,
            name,
            shown: dest.display().to_string(),
        })
    }

    /// The components of `rel` below the destination, and the directory holding the
    /// last one (created as needed, never through a symlink).
    fn dir_for(&self, rel: &[u8]) -> Result<(OwnedFd, Vec<u8>)> {
        let mut comps: Vec<&[u8]> = vec![&self.name];
        comps.extend(rel.split(|&b| b == b'/').filter(|c| !c.is_empty()));
        let last = comps.pop().expect("the destination's name").to_vec();
        let mut dir = self
            .parent
            .try_clone()
            .map_err(|e| from_io(e, &self.shown))?;
        for c in comps {
            dir = ensure_dir(&dir, c, &self.shown)?;
        }
        Ok((dir, last))
    }

    fn mkdir(&self, rel: &[u8]) -> Result<()> {
        let (dir, last) = self.dir_for(rel)?;
        ensure_dir(&dir, &last, &self.shown).map(|_| ())
    }

    fn symlink(&self, rel: &[u8], target: &[u8]) -> Result<()> {
        let (dir, last) = self.dir_for(rel)?;
        let c = cstr(&last)?;
        remove_non_dir(&dir, &c, &self.shown)?;
        let t = cstr(target)?;
        // SAFETY: symlinkat(2) with NUL-terminated strings and an fd we own.
        if unsafe { libc::symlinkat(t.as_ptr(), dir.as_raw_fd(), c.as_ptr()) } != 0 {
            return Err(last_err(&self.shown));
        }
        Ok(())
    }

    /// Create (or truncate) a regular file, never through a symlink.
    fn create(&self, rel: &[u8], mode: u32) -> Result<File> {
        let (dir, last) = self.dir_for(rel)?;
        let c = cstr(&last)?;
        let flags =
            libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        let open = || unsafe {
            // SAFETY: openat(2) with a NUL-terminated name on an fd we own.
            libc::openat(
                dir.as_raw_fd(),
                c.as_ptr(),
                flags,
                (mode & 0o777) as libc::c_uint,
            )
        };
        let mut fd = open();
        if fd < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ELOOP) {
            // A symlink in the way: replace it.
            remove_non_dir(&dir, &c, &self.shown)?;
            fd = open();
        }
        if fd < 0 {
            return Err(last_err(&self.shown));
        }
        // SAFETY: fd is a valid, newly opened descriptor.
        let f = unsafe { File::from_raw_fd(fd) };
        use std::os::unix::fs::PermissionsExt;
        let _ = f.set_permissions(std::fs::Permissions::from_mode(mode & 0o777));
        Ok(f)
    }
}

/// Extract `node` (file or directory, as seen at `layer`) to `dest`.
pub fn extract_now(
    img: &Image,
    src: &ImageSource,
    layer: usize,
    node: NodeId,
    dest: &Path,
    overwrite: bool,
) -> Result<String> {
    let tree = &img.tree;
    // Plan: path relative to the destination → item.
    let mut plan: Vec<(Vec<u8>, Item)> = Vec::new();
    let base_len = tree.path(node).len();
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        let Some(v) = tree.state_at(n, layer).copied().filter(|v| v.is_present()) else {
            continue;
        };
        let e = tree.entry(&v);
        let full = tree.path(n);
        let rel = full[base_len..]
            .strip_prefix(b"/")
            .unwrap_or(&full[base_len..])
            .to_vec();
        let item = match e.kind {
            EntryKind::Dir => {
                stack.extend_from_slice(tree.children(n));
                Item::Dir
            }
            EntryKind::Symlink => Item::Symlink(tree.link(&v).unwrap_or_default().to_vec()),
            EntryKind::File | EntryKind::Hardlink => match tree.content_location(n, layer) {
                Some((layer, stored_at)) => Item::File {
                    layer,
                    stored_at,
                    mode: u32::from(e.mode),
                },
                None => Item::Skip,
            },
            _ => Item::Skip,
        };
        plan.push((rel, item));
    }
    if dest.symlink_metadata().is_ok() && !overwrite {
        return Err(Error::usage(format!("{} exists", dest.display())));
    }
    let out = Dest::new(dest)?;
    // Directories and links first (parents come before children in the plan).
    let mut files = 0usize;
    let mut skipped = 0usize;
    let mut wanted: FxHashMap<usize, FxHashMap<Vec<u8>, Vec<(Vec<u8>, u32)>>> =
        FxHashMap::default();
    for (rel, item) in &plan {
        match item {
            Item::Dir => out.mkdir(rel)?,
            Item::Symlink(t) => out.symlink(rel, t)?,
            Item::File {
                layer,
                stored_at,
                mode,
            } => wanted
                .entry(*layer)
                .or_default()
                .entry(stored_at.clone())
                .or_default()
                .push((rel.clone(), *mode)),
            Item::Skip => skipped += 1,
        }
    }
    for (l, paths) in wanted {
        let set: FxHashSet<Vec<u8>> = paths.keys().cloned().collect();
        let mut remaining = set.len();
        source::read::scan_layer(src, &img.layers[l].blob, Some(&set), &mut |p, entry| {
            if let Some(outs) = paths.get(p) {
                // Streamed into the first copy; hardlinked paths copy from it.
                let mut first: Option<File> = None;
                for (rel, mode) in outs {
                    let mut f = out.create(rel, *mode)?;
                    match first.as_mut() {
                        None => {
                            std::io::copy(entry, &mut f).map_err(|e| from_io(e, &out.shown))?;
                        }
                        Some(src_file) => {
                            src_file
                                .rewind()
                                .and_then(|_| std::io::copy(src_file, &mut f))
                                .map_err(|e| from_io(e, &out.shown))?;
                        }
                    }
                    f.flush().map_err(|e| from_io(e, &out.shown))?;
                    if first.is_none() {
                        first = Some(f);
                    }
                    files += 1;
                }
                remaining -= 1;
            }
            Ok(remaining > 0)
        })?;
    }
    let mut msg = format!("extracted {} file(s) to {}", files, dest.display());
    if skipped > 0 {
        msg.push_str(&format!(" ({skipped} device/fifo entries skipped)"));
    }
    Ok(msg)
}
