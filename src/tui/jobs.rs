//! Background jobs: they run on their own threads and report with messages.

use super::msg::{DiffLoaded, LoadMsg, Msg};
use crate::error::{Error, Result, from_io};
use crate::model::{EntryKind, Image, NodeId};
use crate::source::{self, ImageSource, LoadEvent, LoadOptions, Progress};
use rustc_hash::{FxHashMap, FxHashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::Sender;

pub fn load(
    tx: Sender<Msg>,
    generation: u64,
    reference: String,
    progress: Arc<Progress>,
    platform: Option<source::layout::Platform>,
) {
    std::thread::spawn(move || {
        let send = |event: LoadMsg| {
            let _ = tx.send(Msg::Load { generation, event });
        };
        let r = ImageSource::parse(&reference).and_then(|src| {
            if let ImageSource::DockerArchive(p, _) | ImageSource::OciArchive(p, _) = &src {
                if let Ok(md) = std::fs::metadata(p) {
                    progress
                        .total
                        .store(md.len(), std::sync::atomic::Ordering::Relaxed);
                }
            }
            let opts = LoadOptions {
                cache: None,
                platform,
                progress: Some(progress.clone()),
                keep_export: true,
            };
            source::load_with(&src, &reference, &opts, &mut |ev| match ev {
                LoadEvent::Meta(m) => send(LoadMsg::Meta(Box::new(m))),
                LoadEvent::Layer(i, c) => send(LoadMsg::Layer(i, c)),
            })
        });
        send(LoadMsg::Done(r));
    });
}

/// Load A and B and diff them. `loaded_a`: image A as the explorer already holds it
/// (never loaded again); its layers also serve B's shared layers.
pub fn load_diff(
    tx: Sender<Msg>,
    generation: u64,
    a: String,
    b: String,
    loaded_a: Option<Arc<Image>>,
    progress: Arc<Progress>,
    platform: Option<source::layout::Platform>,
) {
    std::thread::spawn(move || {
        let cache: source::LayerCache = Default::default();
        if let Some(ia) = &loaded_a {
            let mut c = cache.lock().unwrap_or_else(|e| e.into_inner());
            for (l, content) in ia.layers.iter().zip(ia.tree.contents.iter()) {
                c.insert(l.diff_id.clone(), content.clone());
            }
        }
        let opts = LoadOptions {
            platform: platform.clone(),
            progress: Some(progress.clone()),
            cache: Some(cache.clone()),
            keep_export: true,
        };
        let load = |r: &str| -> Result<Arc<Image>> {
            progress.start(r);
            let src = ImageSource::parse(r)?;
            source::load(&src, r, &opts)
                .map(Arc::new)
                .map_err(|e| e.context(format!("loading {r}")))
        };
        let pair = match loaded_a {
            Some(ia) => load(&b).map(|ib| (ia, ib)),
            None => match {
                progress.start(&format!("{a} and {b} (one export)"));
                source::load_daemon_pair(&a, &b, &opts)
            } {
                Ok(Some((ia, ib))) => Ok((Arc::new(ia), Arc::new(ib))),
                Ok(None) => load(&a).and_then(|ia| Ok((ia, load(&b)?))),
                Err(e) => Err(e),
            },
        };
        let result = pair.map(|(ia, ib)| {
            let diff = crate::analysis::diff::diff(&ia, &ib);
            Box::new(DiffLoaded { a: ia, b: ib, diff })
        });
        let _ = tx.send(Msg::DiffReady { generation, result });
    });
}

type Side = Option<(ImageSource, String, Vec<u8>)>;

pub fn preview_pair(tx: Sender<Msg>, generation: u64, token: u64, old: Side, new: Side) {
    std::thread::spawn(move || {
        let read = |s: Side| {
            s.map(|(src, blob, path)| source::read::read_head(&src, &blob, &path, PREVIEW_LIMIT))
        };
        let old = read(old);
        let new = read(new);
        let _ = tx.send(Msg::PreviewPair {
            generation,
            token,
            old,
            new,
        });
    });
}

pub fn local_images(tx: Sender<Msg>, generation: u64) {
    std::thread::spawn(move || {
        if let Ok(images) = source::daemon::list_images() {
            let _ = tx.send(Msg::LocalImages { generation, images });
        }
    });
}

pub fn analyze(tx: Sender<Msg>, generation: u64, image: Arc<Image>) {
    std::thread::spawn(move || {
        let w = crate::analysis::waste::analyze(&image);
        let _ = tx.send(Msg::Load {
            generation,
            event: LoadMsg::Waste(Box::new(w)),
        });
    });
}

pub fn list_images(tx: Sender<Msg>) {
    std::thread::spawn(move || {
        let _ = tx.send(Msg::Images(source::daemon::list_images()));
    });
}

pub const PREVIEW_LIMIT: usize = 64 * 1024;

pub fn preview(
    tx: Sender<Msg>,
    generation: u64,
    token: u64,
    src: ImageSource,
    blob: String,
    path: Vec<u8>,
) {
    std::thread::spawn(move || {
        let r = source::read::read_head(&src, &blob, &path, PREVIEW_LIMIT);
        let _ = tx.send(Msg::Preview {
            generation,
            token,
            result: r,
        });
    });
}

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

/// Extract `node` (file or directory, as seen at `layer`) to `dest`.
pub fn extract(
    tx: Sender<Msg>,
    img: Arc<Image>,
    src: ImageSource,
    layer: usize,
    node: NodeId,
    dest: PathBuf,
    overwrite: bool,
) {
    std::thread::spawn(move || {
        let r = extract_now(&img, &src, layer, node, &dest, overwrite);
        let _ = tx.send(Msg::Extracted(r));
    });
}

pub fn extract_now(
    img: &Image,
    src: &ImageSource,
    layer: usize,
    node: NodeId,
    dest: &Path,
    overwrite: bool,
) -> Result<String> {
    let tree = &img.tree;
    // Plan: relative path → item.
    let mut plan: Vec<(PathBuf, Item)> = Vec::new();
    let base_len = tree.path(node).len();
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        let Some(v) = tree.state_at(n, layer).copied().filter(|v| v.is_present()) else {
            continue;
        };
        let e = tree.entry(&v);
        let full = tree.path(n);
        let rel_bytes = &full[base_len..];
        let rel = bytes_to_path(rel_bytes.strip_prefix(b"/").unwrap_or(rel_bytes));
        let item = match e.kind {
            EntryKind::Dir => {
                stack.extend_from_slice(tree.children(n));
                Item::Dir
            }
            EntryKind::Symlink => Item::Symlink(e.link.clone().unwrap_or_default().to_vec()),
            EntryKind::File | EntryKind::Hardlink => match tree.content_location(n, layer) {
                Some((layer, stored_at)) => Item::File {
                    layer,
                    stored_at,
                    mode: e.mode,
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
    // Directories and links first.
    let mut files = 0usize;
    let mut skipped = 0usize;
    let mut wanted: FxHashMap<usize, FxHashMap<Vec<u8>, Vec<(PathBuf, u32)>>> =
        FxHashMap::default();
    for (rel, item) in &plan {
        let out = if rel.as_os_str().is_empty() {
            dest.to_path_buf()
        } else {
            dest.join(rel)
        };
        match item {
            Item::Dir => std::fs::create_dir_all(&out).map_err(|e| from_io(e, out.display()))?,
            Item::Symlink(t) => {
                if let Some(p) = out.parent() {
                    std::fs::create_dir_all(p).map_err(|e| from_io(e, p.display()))?;
                }
                if out.symlink_metadata().is_ok() {
                    let _ = std::fs::remove_file(&out);
                }
                std::os::unix::fs::symlink(bytes_to_path(t), &out)
                    .map_err(|e| from_io(e, out.display()))?;
            }
            Item::File {
                layer,
                stored_at,
                mode,
            } => {
                wanted
                    .entry(*layer)
                    .or_default()
                    .entry(stored_at.clone())
                    .or_default()
                    .push((out, *mode));
            }
            Item::Skip => skipped += 1,
        }
    }
    for (l, paths) in wanted {
        let set: FxHashSet<Vec<u8>> = paths.keys().cloned().collect();
        let mut remaining = set.len();
        source::read::scan_layer(src, &img.layers[l].blob, Some(&set), &mut |p, entry| {
            if let Some(outs) = paths.get(p) {
                let mut buf = Vec::new();
                entry
                    .read_to_end(&mut buf)
                    .map_err(|e| from_io(e, "reading layer"))?;
                for (out, mode) in outs {
                    if let Some(parent) = out.parent() {
                        std::fs::create_dir_all(parent)
                            .map_err(|e| from_io(e, parent.display()))?;
                    }
                    if out
                        .symlink_metadata()
                        .is_ok_and(|m| m.file_type().is_symlink())
                    {
                        let _ = std::fs::remove_file(out);
                    }
                    std::fs::write(out, &buf).map_err(|e| from_io(e, out.display()))?;
                    use std::os::unix::fs::PermissionsExt;
                    let _ = std::fs::set_permissions(
                        out,
                        std::fs::Permissions::from_mode(mode & 0o777),
                    );
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

fn bytes_to_path(b: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(b))
}
