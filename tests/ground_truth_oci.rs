//! Ground truth for OCI image layouts and archives: `umoci raw unpack` applies the layers
//! of an image written with `layerlens::fixture` to a real directory, and
//! `layerlens files --format json` must list exactly what that directory contains.
//!
//! For every image below and every layer N (0-based, bottom first):
//! - the image truncated after layer N is written as an OCI layout (`Format::OciDir`; the
//!   `org.opencontainers.image.ref.name` annotation is the tag part of `FImage::tag`) and
//!   unpacked with `umoci raw unpack --image DIR:TAG ROOTFS`; ROOTFS is walked with
//!   `symlink_metadata` (kind, `mode & 0o7777`, uid, gid, size of files, symlink targets,
//!   content);
//! - `layerlens files --format json oci:FULL:TAG --layer N` (the full image) must list the
//!   same paths with the same kind (a hardlink counts as a file), size (files), mode, owner
//!   and symlink target; the content of every unpacked file must have the hash layerlens
//!   computed for that path (checked through the library, as the JSON has no content hash:
//!   the unpacked bytes are hashed by layerlens' own layer parser, so the test does not
//!   depend on which hash that is);
//! - the same image as an OCI archive (`oci-archive:`) and as a Docker 25 archive
//!   (`docker-archive:`) must give the same JSON, at every layer.
//!
//! umoci 0.4 cannot decompress zstd layers: for a zstd image it unpacks the same layer
//! tars gzip-compressed (same diff ids), while layerlens reads the zstd blobs.
//!
//! Run as root (CI), umoci unpacks with ownership and device nodes and everything is
//! compared. Run as another user, it unpacks `--rootless`: owners are then not applied
//! (uid/gid are left out of the comparison) and device nodes cannot be created (they are
//! left out of the images given to umoci; `devices_and_fifos_layerlens_only` checks them
//! without umoci).
//!
//! umoci is invoked with umask 022, so the parents a layer implies without a directory
//! entry are created 0755 (what layerlens reports for them).
//!
//! Deliberately not covered: an entry below a path that a lower layer made a symlink
//! (`via -> real`, then `via/f` without a `via/` entry). The image spec leaves it open;
//! umoci follows the symlink (`/real/f`), overlay-based appliers that unpack each layer into
//! its own directory (Docker's overlay2) end up with a directory `via` holding `f`, which
//! is what layerlens shows.
//!
//! Without umoci the tests that need it are skipped, unless `LAYERLENS_REQUIRE_DOCKER=1`,
//! in which case they fail.

mod common;

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use common::{Norm, diff_maps, layerlens_json, parse_files_json, run_with_timeout};
use layerlens::fixture::{Compression, FEntry, FImage, FLayer, Format, write_image};
use layerlens::model::{EntryKind, Image, parse_layer};
use layerlens::source::{self, ImageSource, LoadOptions};

// ---------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------

/// Whether this process runs as root (a file it creates is owned by uid 0).
fn running_as_root() -> bool {
    static ROOT: OnceLock<bool> = OnceLock::new();
    *ROOT.get_or_init(|| {
        let f = tempfile::NamedTempFile::new().expect("temp file");
        f.as_file().metadata().expect("metadata").uid() == 0
    })
}

/// First statement of every test that needs umoci.
macro_rules! require_umoci {
    () => {
        if !common::tool_ready_or_skip("umoci") {
            return;
        }
    };
}

// ---------------------------------------------------------------------------------------
// Ground truth: umoci raw unpack + walking the result
// ---------------------------------------------------------------------------------------

/// One path of an unpacked root filesystem.
#[derive(Debug, Clone)]
struct Truth {
    norm: Norm,
    /// [`library_hash`] of the content (regular files).
    hash: Option<u64>,
}

/// A directory tree that may contain read-only directories: made writable again before it
/// is removed (root does not need it; `--rootless` unpacks as another user may).
struct Scratch(Option<tempfile::TempDir>);

impl Scratch {
    fn new() -> Scratch {
        Scratch(Some(tempfile::tempdir().expect("tempdir")))
    }
    fn path(&self) -> &Path {
        self.0.as_ref().unwrap().path()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        fn make_writable(p: &Path) {
            use std::os::unix::fs::PermissionsExt;
            let Ok(md) = std::fs::symlink_metadata(p) else {
                return;
            };
            if md.is_dir() {
                let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o700));
                if let Ok(rd) = std::fs::read_dir(p) {
                    for e in rd.flatten() {
                        make_writable(&e.path());
                    }
                }
            }
        }
        if let Some(d) = self.0.take() {
            make_writable(d.path());
            let _ = d.close();
        }
    }
}

/// `umoci raw unpack [--rootless] --image LAYOUT:TAG ROOTFS` (umask 022); panics with
/// umoci's output when it fails.
fn umoci_unpack(layout: &Path, tag: &str, rootfs: &Path) {
    let image = format!("{}:{tag}", layout.display());
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("umask 022 && exec umoci raw unpack \"$@\"")
        .arg("sh");
    if !running_as_root() {
        cmd.arg("--rootless");
    }
    cmd.arg("--image").arg(&image).arg(rootfs);
    let desc = format!("{cmd:?}");
    let out =
        run_with_timeout(cmd, None, Duration::from_secs(120)).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{desc} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The hash layerlens' own layer parser gives a file with content `data` (whatever
/// algorithm it uses), to compare with the hashes of the entries it merged.
fn library_hash(data: &[u8]) -> u64 {
    let tar = layerlens::fixture::layer_tar(&[FEntry::file("x", data.to_vec())]);
    let content = parse_layer(tar.as_slice()).expect("parsing a one-file layer");
    assert_eq!(content.entries.len(), 1);
    content.entries[0].hash
}

/// A file's content; as another user than root, an unreadable file is made readable for
/// the time it takes to read it.
fn read_content(p: &Path, md: &std::fs::Metadata) -> Vec<u8> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::read(p) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && !running_as_root() => {
            let mode = md.mode() & 0o7777;
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode | 0o400))
                .unwrap_or_else(|e| panic!("chmod u+r {}: {e}", p.display()));
            let d = std::fs::read(p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()));
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
                .unwrap_or_else(|e| panic!("chmod back {}: {e}", p.display()));
            d
        }
        Err(e) => panic!("reading {}: {e}", p.display()),
    }
}

/// Everything below `root` (not `root` itself), by absolute path ("/etc/passwd"; non-UTF-8
/// bytes replaced, as layerlens prints them).
fn walk_rootfs(root: &Path) -> BTreeMap<String, Truth> {
    let mut out = BTreeMap::new();
    let mut stack: Vec<(PathBuf, Vec<u8>)> = vec![(root.to_path_buf(), Vec::new())];
    while let Some((dir, rel)) = stack.pop() {
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .map(|e| e.expect("dir entry").file_name())
            .collect();
        names.sort();
        for name in names {
            let p = dir.join(&name);
            let mut raw = rel.clone();
            raw.push(b'/');
            raw.extend_from_slice(name.as_bytes());
            let md = std::fs::symlink_metadata(&p)
                .unwrap_or_else(|e| panic!("lstat {}: {e}", p.display()));
            let ft = md.file_type();
            let (kind, size, link, hash) = if ft.is_dir() {
                stack.push((p.clone(), raw.clone()));
                ("dir", None, None, None)
            } else if ft.is_file() {
                let data = read_content(&p, &md);
                assert_eq!(data.len() as u64, md.len(), "{}", p.display());
                ("file", Some(md.len()), None, Some(library_hash(&data)))
            } else if ft.is_symlink() {
                let t = std::fs::read_link(&p)
                    .unwrap_or_else(|e| panic!("readlink {}: {e}", p.display()));
                let t = String::from_utf8_lossy(t.as_os_str().as_bytes()).into_owned();
                ("symlink", None, Some(t), None)
            } else if ft.is_char_device() {
                ("char", None, None, None)
            } else if ft.is_block_device() {
                ("block", None, None, None)
            } else if ft.is_fifo() {
                ("fifo", None, None, None)
            } else {
                panic!("unexpected file type at {}: {ft:?}", p.display())
            };
            let (uid, gid) = if running_as_root() {
                (md.uid() as u64, md.gid() as u64)
            } else {
                (0, 0)
            };
            let path = String::from_utf8_lossy(&raw).into_owned();
            let norm = Norm {
                kind: kind.to_string(),
                size,
                mode: format!("{:04o}", md.mode() & 0o7777),
                uid,
                gid,
                link,
            };
            assert!(
                out.insert(path.clone(), Truth { norm, hash }).is_none(),
                "two paths of the unpacked tree print as {path:?} (lossy UTF-8 collision)"
            );
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// layerlens
// ---------------------------------------------------------------------------------------

/// `layerlens files --format json IMAGE [--layer N]`, parsed.
fn files_json(image_arg: &str, layer: Option<usize>) -> serde_json::Value {
    let n = layer.map(|l| l.to_string());
    let mut args = vec!["files", "--format", "json", image_arg];
    if let Some(n) = &n {
        args.extend(["--layer", n.as_str()]);
    }
    layerlens_json(&args)
}

/// The listing in comparable form: hardlinks as files, size for files only, link for
/// symlinks only; owners dropped when umoci could not apply them.
fn tool_map(v: &serde_json::Value) -> BTreeMap<String, Norm> {
    let mut m = BTreeMap::new();
    for e in parse_files_json(v) {
        let kind = if e.kind == "hardlink" {
            "file".to_string()
        } else {
            e.kind.clone()
        };
        let (uid, gid) = if running_as_root() {
            (e.uid, e.gid)
        } else {
            (0, 0)
        };
        let n = Norm {
            size: (kind == "file").then_some(e.size),
            link: if kind == "symlink" {
                e.link.clone()
            } else {
                None
            },
            kind,
            mode: e.mode.clone(),
            uid,
            gid,
        };
        assert!(
            m.insert(e.path.clone(), n).is_none(),
            "layerlens lists {:?} more than once",
            e.path
        );
    }
    m
}

/// Content hashes of the files (and resolved hardlinks) layerlens has at `layer`.
fn tool_hashes(img: &Image, layer: usize) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    img.tree.walk_at(layer, |n, _, e| {
        if matches!(e.kind, EntryKind::File | EntryKind::Hardlink) {
            out.insert(img.tree.display_path(n), e.hash);
        }
    });
    out
}

fn show_diff(what: &str, expected_len: usize, actual_len: usize, diff: &[String]) -> String {
    format!(
        "{what} ({expected_len} paths unpacked, {actual_len} listed, {} differences{}; \
         'expected' is umoci's):\n{}",
        diff.len(),
        if diff.len() > 60 {
            ", first 60 shown"
        } else {
            ""
        },
        diff.iter().take(60).cloned().collect::<Vec<_>>().join("\n")
    )
}

// ---------------------------------------------------------------------------------------
// The check
// ---------------------------------------------------------------------------------------

fn tag_part(tag: &str) -> &str {
    tag.rsplit(':').next().unwrap_or("latest")
}

/// The image without its char/block devices (`--rootless` umoci cannot create them).
fn without_devices(img: &FImage) -> FImage {
    let mut img = img.clone();
    for l in &mut img.layers {
        l.entries.retain(|e| !matches!(e, FEntry::Char { .. }));
    }
    img
}

/// Compare layerlens with umoci for every layer of `img`, and the three ways of reading it.
fn check(img: &FImage, comp: Compression) {
    let img = if running_as_root() {
        img.clone()
    } else {
        without_devices(img)
    };
    let tag = tag_part(&img.tag).to_string();
    // umoci 0.4 cannot decompress zstd layers: it unpacks the same layers gzip-compressed
    // (same diff ids, same tars), layerlens reads the zstd ones.
    let umoci_comp = if comp == Compression::Zstd {
        Compression::Gzip
    } else {
        comp
    };
    let scratch = Scratch::new();
    let dir = scratch.path();

    let full = dir.join("full");
    write_image(&img, Format::OciDir, comp, &full).expect("writing the OCI layout");
    let oci_arg = format!("oci:{}:{tag}", full.display());
    let loaded = source::load(
        &ImageSource::OciDir(full.clone(), Some(tag.clone())),
        "test",
        &LoadOptions::default(),
    )
    .expect("loading the OCI layout through the library");

    let mut failures = Vec::new();
    for layer in 0..img.layers.len() {
        // Ground truth: umoci unpacks the image truncated after `layer`.
        let mut upto = img.clone();
        upto.layers.truncate(layer + 1);
        let layout = dir.join(format!("upto{layer}"));
        write_image(&upto, Format::OciDir, umoci_comp, &layout).expect("writing the OCI layout");
        let rootfs = dir.join(format!("rootfs{layer}"));
        umoci_unpack(&layout, &tag, &rootfs);
        let truth = walk_rootfs(&rootfs);
        assert!(
            !truth.is_empty(),
            "umoci unpacked nothing into {}",
            rootfs.display()
        );
        let expected: BTreeMap<String, Norm> = truth
            .iter()
            .map(|(p, t)| (p.clone(), t.norm.clone()))
            .collect();

        let actual = tool_map(&files_json(&oci_arg, Some(layer)));
        let diff = diff_maps(&expected, &actual);
        if !diff.is_empty() {
            failures.push(show_diff(
                &format!(
                    "`layerlens files --format json {oci_arg} --layer {layer}` differs from umoci"
                ),
                expected.len(),
                actual.len(),
                &diff,
            ));
        }

        // Content, through the library (the JSON has no hash).
        let hashes = tool_hashes(&loaded, layer);
        let bad: Vec<String> = truth
            .iter()
            .filter_map(|(p, t)| {
                let want = t.hash?;
                match hashes.get(p) {
                    Some(&h) if h == want => None,
                    got => Some(format!(
                        "  content  {p:?}: unpacked {want:016x}, layerlens {}",
                        got.map_or("none".to_string(), |h| format!("{h:016x}"))
                    )),
                }
            })
            .collect();
        if !bad.is_empty() {
            failures.push(format!(
                "file content differs from umoci at layer {layer}:\n{}",
                bad.join("\n")
            ));
        }
    }

    // The same image through an OCI archive and a Docker 25 archive: identical JSON.
    let oci_tar = dir.join("oci.tar");
    write_image(&img, Format::OciArchive, comp, &oci_tar).expect("writing the OCI archive");
    let d25 = dir.join("docker25.tar");
    write_image(&img, Format::Docker25, comp, &d25).expect("writing the Docker 25 archive");
    for layer in 0..img.layers.len() {
        let want = files_json(&oci_arg, Some(layer));
        for arg in [
            format!("oci-archive:{}:{tag}", oci_tar.display()),
            format!("docker-archive:{}", d25.display()),
        ] {
            let got = files_json(&arg, Some(layer));
            if got != want {
                let diff = diff_maps(&tool_map(&want), &tool_map(&got));
                failures.push(format!(
                    "`layerlens files --format json {arg} --layer {layer}` differs from `{oci_arg}` \
                     ('expected' is the OCI layout's):\n{}",
                    if diff.is_empty() {
                        "  (same entries, different JSON)".to_string()
                    } else {
                        diff.join("\n")
                    }
                ));
            }
        }
    }
    // Without --layer: the top layer.
    let top = files_json(&oci_arg, None);
    let top_n = files_json(&oci_arg, Some(img.layers.len() - 1));
    if top != top_n {
        failures.push(format!(
            "`files {oci_arg}` differs from `files {oci_arg} --layer {}`",
            img.layers.len() - 1
        ));
    }

    assert!(
        failures.is_empty(),
        "image {:?} ({comp:?}):\n\n{}",
        img.tag,
        failures.join("\n\n")
    );
}

// ---------------------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------------------

fn file_owned(path: &str, data: &str, mode: u32, uid: u64, gid: u64) -> FEntry {
    FEntry::File {
        path: path.into(),
        data: data.into(),
        mode,
        uid,
        gid,
    }
}

fn dir_mode(path: &str, mode: u32) -> FEntry {
    FEntry::Dir {
        path: path.into(),
        mode,
    }
}

/// File and directory whiteouts, opaque markers before and after the layer's own entries,
/// whiteouts next to same-layer entries, re-creating a deleted directory.
fn whiteouts_image() -> FImage {
    FImage::new(
        "gt-oci/whiteouts:1",
        vec![
            FLayer::new(
                "ADD base",
                vec![
                    FEntry::dir("etc"),
                    FEntry::file("etc/passwd", "root:x:0:0::/root:/bin/sh\n"),
                    FEntry::file("etc/group", "root:x:0:\n"),
                    FEntry::dir("usr"),
                    FEntry::dir("usr/lib"),
                    FEntry::file("usr/lib/a.so", vec![1u8; 1000]),
                    FEntry::file("usr/lib/b.so", vec![2u8; 2000]),
                    FEntry::dir("opt"),
                    FEntry::file("opt/keep", "keep"),
                    FEntry::dir("opt/gone"),
                    FEntry::file("opt/gone/x", "x"),
                    FEntry::dir("opt/gone/sub"),
                    FEntry::file("opt/gone/sub/y", "y"),
                    FEntry::dir("srv"),
                    FEntry::dir("srv/before"),
                    FEntry::file("srv/before/old1", "old1"),
                    FEntry::dir("srv/before/sub"),
                    FEntry::file("srv/before/sub/old2", "old2"),
                    FEntry::symlink("srv/before/ln", "old1"),
                    FEntry::dir("srv/after"),
                    FEntry::file("srv/after/old", "old"),
                    FEntry::dir("srv/after/keep"),
                    FEntry::file("srv/after/keep/oldchild", "oldchild"),
                    FEntry::dir("var"),
                    FEntry::file("var/same-layer", "lower"),
                    FEntry::file("var/lower-only", "lower"),
                    FEntry::dir("w"),
                    FEntry::dir("w/re"),
                    FEntry::file("w/re/old", "old"),
                    FEntry::dir("w/re2"),
                    FEntry::file("w/re2/old", "old"),
                    // A "./" prefix.
                    FEntry::file("./dot/x", "dot"),
                ],
            ),
            FLayer::new(
                "RUN rm and refill",
                vec![
                    FEntry::dir("usr"),
                    FEntry::dir("usr/lib"),
                    FEntry::whiteout("usr/lib/a.so"),
                    FEntry::whiteout("opt/gone"),
                    FEntry::whiteout("etc/group"),
                    // Opaque marker first, then the directory's own entries.
                    FEntry::opaque("srv/before"),
                    dir_mode("srv/before", 0o750),
                    FEntry::file("srv/before/new1", "new1"),
                    FEntry::dir("srv/before/sub"),
                    FEntry::file("srv/before/sub/new2", "new2"),
                    // The directory's own entries first, then the opaque marker.
                    FEntry::dir("srv/after"),
                    FEntry::file("srv/after/new", "new"),
                    FEntry::dir("srv/after/keep"),
                    FEntry::file("srv/after/keep/newchild", "newchild"),
                    FEntry::opaque("srv/after"),
                    // Whiteout before a same-layer entry of the same path.
                    FEntry::dir("var"),
                    FEntry::whiteout("var/same-layer"),
                    FEntry::file("var/same-layer", "upper"),
                    // A whiteout after a same-layer entry hides nothing of its own layer.
                    FEntry::file("var/wh-after", "upper"),
                    FEntry::whiteout("var/wh-after"),
                    // A whiteout of nothing.
                    FEntry::whiteout("var/never-existed"),
                    // A directory deleted and created again in one layer: the whiteout
                    // takes the lower contents, whether it comes before or after.
                    FEntry::whiteout("w/re"),
                    FEntry::dir("w/re"),
                    FEntry::file("w/re/new", "new"),
                    FEntry::dir("w/re2"),
                    FEntry::file("w/re2/new", "new"),
                    FEntry::whiteout("w/re2"),
                ],
            ),
            FLayer::new(
                "RUN mkdir /opt/gone",
                vec![
                    FEntry::dir("opt/gone"),
                    FEntry::file("opt/gone/fresh", "fresh"),
                    FEntry::whiteout("var/lower-only"),
                    // Opaque on a directory only this layer has entries for: no-op.
                    FEntry::dir("srv/new"),
                    FEntry::opaque("srv/new"),
                    FEntry::file("srv/new/f", "f"),
                ],
            ),
        ],
    )
}

/// file↔dir↔symlink, dir over dir (attributes only), chmod/chown-only rewrites, special
/// mode bits.
fn types_image() -> FImage {
    FImage::new(
        "gt-oci/types:2",
        vec![
            FLayer::new(
                "ADD base",
                vec![
                    FEntry::dir("app"),
                    FEntry::file("app/f2d", "file then dir"),
                    FEntry::dir("app/d2f"),
                    FEntry::file("app/d2f/child", "child"),
                    FEntry::file("app/f2l", "file then link"),
                    FEntry::symlink("app/l2f", "target"),
                    FEntry::dir("app/d2l"),
                    FEntry::file("app/d2l/child", "child"),
                    FEntry::symlink("app/l2d", "d2l"),
                    FEntry::file("app/target", "t"),
                    FEntry::dir("app/d2f2d"),
                    FEntry::dir("app/d2f2d/old"),
                    FEntry::file("app/d2f2d/old/x", "x"),
                    FEntry::dir("app/attrs"),
                    FEntry::file("app/attrs/kept", "kept"),
                    FEntry::file("app/owned", "owned"),
                    FEntry::symlink("app/l2l", "target"),
                ],
            ),
            FLayer::new(
                "RUN swap",
                vec![
                    FEntry::dir("app/f2d"),
                    FEntry::file("app/f2d/inner", "inner"),
                    FEntry::file("app/d2f", "now a file"),
                    FEntry::symlink("app/f2l", "target"),
                    FEntry::file("app/l2f", "was a link"),
                    FEntry::symlink("app/d2l", "/app/target"),
                    FEntry::dir("app/l2d"),
                    FEntry::file("app/l2d/x", "x"),
                    FEntry::file("app/d2f2d", "file for a while"),
                    dir_mode("app/attrs", 0o700),
                    file_owned("app/owned", "owned", 0o640, 1000, 1000),
                    file_owned("app/setuid", "s", 0o4755, 0, 0),
                    file_owned("app/setgid", "g", 0o2711, 0, 50),
                    dir_mode("app/sticky", 0o1777),
                    FEntry::symlink("app/l2l", "f2d/inner"),
                    // The same path twice in one layer: the last entry wins.
                    FEntry::file("app/dup", "first"),
                    FEntry::file("app/dup", "second!"),
                    FEntry::dir("app/dup2"),
                    FEntry::file("app/dup2", "a file wins"),
                ],
            ),
            FLayer::new(
                "RUN chmod",
                vec![
                    FEntry::dir("app/d2f2d"),
                    FEntry::file("app/d2f2d/new", "new"),
                    file_owned("app/owned", "owned", 0o600, 1001, 2002),
                    dir_mode("app/attrs", 0o750),
                    file_owned("app/ro", "read only", 0o444, 65534, 65534),
                    file_owned("app/none", "no permissions", 0o000, 3, 4),
                    // Owner ids too large for octal tar fields (base-256).
                    file_owned("app/bigids", "big", 0o644, 3_000_000, 4_000_000),
                ],
            ),
        ],
    )
}

/// Hardlinks: in the same layer, to a lower layer, to a link whose original is gone;
/// originals deleted, rewritten with new content, chmod/chown-only rewritten.
fn hardlinks_image() -> FImage {
    FImage::new(
        "gt-oci/hardlinks:3",
        vec![
            FLayer::new(
                "ADD base",
                vec![
                    FEntry::dir("bin"),
                    file_owned("bin/tool", "tool v1", 0o755, 5, 6),
                    FEntry::hardlink("bin/alias", "bin/tool"),
                    FEntry::dir("data"),
                    FEntry::file("data/orig", "original content"),
                    FEntry::hardlink("data/link1", "data/orig"),
                    FEntry::hardlink("data/link2", "data/orig"),
                    file_owned("data/chmodme", "chmod me", 0o644, 0, 0),
                    FEntry::hardlink("data/chmodlink", "data/chmodme"),
                    file_owned("data/rewritten", "lower", 0o600, 3, 3),
                ],
            ),
            FLayer::new(
                "RUN rm /data/orig",
                vec![
                    FEntry::dir("data"),
                    // The original is deleted; its links keep the content.
                    FEntry::whiteout("data/orig"),
                    // A hardlink to a file of a lower layer.
                    FEntry::hardlink("bin/alias2", "bin/tool"),
                    // Same content, new mode and owner: its old link keeps the old ones.
                    file_owned("data/chmodme", "chmod me", 0o600, 7, 8),
                    // A link to a lower file, then that file rewritten in the same layer:
                    // the link keeps the old content.
                    FEntry::hardlink("data/before-rewrite", "data/rewritten"),
                    file_owned("data/rewritten", "rewritten, longer", 0o640, 0, 0),
                    // A "./" prefix in the link target.
                    FEntry::hardlink("data/dotlink", "./bin/tool"),
                ],
            ),
            FLayer::new(
                "RUN update",
                vec![
                    // A link to a link whose original was deleted below.
                    FEntry::hardlink("data/link3", "data/link1"),
                    // New content for the original: its links keep the old content.
                    file_owned("bin/tool", "tool v2, longer", 0o755, 5, 6),
                    // A link to the rewritten file, in the same layer.
                    FEntry::hardlink("bin/alias3", "bin/tool"),
                    // Deleting one link leaves the others.
                    FEntry::whiteout("data/link2"),
                ],
            ),
        ],
    )
}

/// Long and deep paths (> 100 bytes, GNU long names), long symlink targets, names with
/// spaces, non-UTF-8 names, implicit parent directories, fifos and a char device.
fn names_image() -> FImage {
    let a = "a".repeat(60);
    let b = "b".repeat(70);
    let deep_dir = format!("deep/{a}/{b}");
    let deep_file = format!(
        "{deep_dir}/file with spaces and a long name {}.txt",
        "c".repeat(40)
    );
    let long_target = format!("/{deep_file}");
    assert!(deep_file.len() > 100 && long_target.len() > 100);
    let raw_file = |path: &[u8], data: &str| FEntry::File {
        path: path.to_vec(),
        data: data.into(),
        mode: 0o644,
        uid: 0,
        gid: 0,
    };
    FImage::new(
        "gt-oci/names:4",
        vec![
            FLayer::new(
                "ADD base",
                vec![
                    FEntry::dir("deep"),
                    FEntry::dir(&format!("deep/{a}")),
                    FEntry::dir(&deep_dir),
                    FEntry::file(&deep_file, "deep"),
                    FEntry::file(&format!("deep/{a}/{}", "s".repeat(120)), "long basename"),
                    FEntry::symlink("long-link", &long_target),
                    FEntry::dir("with space"),
                    FEntry::file("with space/file name.txt", "spaces"),
                    FEntry::dir("bytes"),
                    raw_file(b"bytes/caf\xe9", "latin-1"),
                    raw_file(b"bytes/\xff\xfe gone", "to be removed"),
                    FEntry::dir("run"),
                    FEntry::Fifo {
                        path: b"run/fifo".to_vec(),
                    },
                    FEntry::dir("devices"),
                    FEntry::Char {
                        path: b"devices/null".to_vec(),
                        major: 1,
                        minor: 3,
                    },
                ],
            ),
            FLayer::new(
                "RUN more",
                vec![
                    FEntry::hardlink("hard link to deep", &deep_file),
                    FEntry::hardlink(&format!("{deep_dir}/{}", "h".repeat(90)), &deep_file),
                    FEntry::Whiteout {
                        path: b"bytes/\xff\xfe gone".to_vec(),
                    },
                    // Parents without directory entries.
                    FEntry::file("implicit/a/b/c.txt", "implicit parents"),
                    FEntry::file(&format!("{deep_dir}/second {}", "d".repeat(50)), "2"),
                ],
            ),
            FLayer::new(
                "RUN rm deep",
                vec![
                    FEntry::whiteout(&format!("deep/{a}/{}", "s".repeat(120))),
                    FEntry::whiteout("with space/file name.txt"),
                    FEntry::file("with space/another file", "x"),
                ],
            ),
        ],
    )
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[test]
fn whiteouts_and_opaque_directories_gzip() {
    require_umoci!();
    check(&whiteouts_image(), Compression::Gzip);
}

#[test]
fn type_changes_and_attributes_zstd() {
    require_umoci!();
    check(&types_image(), Compression::Zstd);
}

#[test]
fn hardlinks_uncompressed() {
    require_umoci!();
    check(&hardlinks_image(), Compression::None);
}

#[test]
fn long_odd_names_and_special_files_gzip() {
    require_umoci!();
    check(&names_image(), Compression::Gzip);
}

/// A hardlink to a hardlink of the same layer, which itself points to a lower layer's
/// file: both are that file's content (size, mode, owner).
#[test]
fn hardlink_chain_within_a_layer_to_a_lower_file() {
    require_umoci!();
    let img = FImage::new(
        "gt-oci/hardlink-chain:6",
        vec![
            FLayer::new(
                "ADD base",
                vec![FEntry::dir("h"), file_owned("h/t", "target", 0o600, 9, 9)],
            ),
            FLayer::new(
                "RUN ln",
                vec![
                    FEntry::hardlink("h/chain1", "h/t"),
                    FEntry::hardlink("h/chain2", "h/chain1"),
                ],
            ),
        ],
    );
    check(&img, Compression::None);
}

/// A hardlink to a symlink is a symlink, a hardlink to a fifo a fifo (tar writes hardlink
/// entries for any inode with several names), in the same layer or to a lower one.
#[test]
fn hardlinks_to_symlinks_and_fifos() {
    require_umoci!();
    let img = FImage::new(
        "gt-oci/hardlink-special:7",
        vec![
            FLayer::new(
                "ADD base",
                vec![
                    FEntry::dir("h"),
                    FEntry::file("h/t", "t"),
                    FEntry::symlink("h/sym", "t"),
                    FEntry::hardlink("h/hsym", "h/sym"),
                    FEntry::Fifo {
                        path: b"h/fifo".to_vec(),
                    },
                    FEntry::hardlink("h/hfifo", "h/fifo"),
                ],
            ),
            FLayer::new(
                "RUN ln",
                vec![
                    FEntry::hardlink("h/lower-sym", "h/sym"),
                    FEntry::hardlink("h/lower-fifo", "h/fifo"),
                ],
            ),
        ],
    );
    check(&img, Compression::None);
}

/// Devices and fifos as layerlens lists them, whether or not umoci could create them.
#[test]
fn devices_and_fifos_layerlens_only() {
    let img = names_image();
    let dir = tempfile::tempdir().expect("tempdir");
    for (format, name) in [
        (Format::OciDir, "layout"),
        (Format::OciArchive, "oci.tar"),
        (Format::Docker25, "docker25.tar"),
    ] {
        let p = dir.path().join(name);
        write_image(&img, format, Compression::Zstd, &p).expect("writing image");
        let arg = match format {
            Format::OciDir => format!("oci:{}:4", p.display()),
            Format::OciArchive => format!("oci-archive:{}:4", p.display()),
            _ => format!("docker-archive:{}", p.display()),
        };
        let m = tool_map(&files_json(&arg, None));
        let null = m
            .get("/devices/null")
            .unwrap_or_else(|| panic!("{arg}: no /devices/null"));
        assert_eq!(
            (null.kind.as_str(), null.mode.as_str()),
            ("char", "0666"),
            "{arg}"
        );
        let fifo = m
            .get("/run/fifo")
            .unwrap_or_else(|| panic!("{arg}: no /run/fifo"));
        assert_eq!(
            (fifo.kind.as_str(), fifo.mode.as_str()),
            ("fifo", "0644"),
            "{arg}"
        );
    }
}
