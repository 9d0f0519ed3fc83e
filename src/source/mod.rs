//! Image sources: the Docker daemon, docker-save archives (legacy and Docker 25+ OCI
//! style), OCI layout directories and OCI archives. This module (with `daemon`) is the
//! only place that knows where images come from; everything above sees an [`Image`].

pub mod blob;
pub mod daemon;
pub mod layout;
pub mod store;

use crate::error::{Error, ErrorKind, Result};
use crate::model::{HistoryItem, Image, Layer, LayerContent};
pub use blob::Progress;
use layout::{Plan, Platform, resolve};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use store::{BlobStore, CollectedStore, DirStore, TarFileStore};

/// Where an image comes from, as the user wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// A reference the Docker daemon resolves (name:tag, id, digest).
    Daemon(String),
    /// A `docker save` archive (either format), optionally selecting a tag inside it.
    DockerArchive(PathBuf, Option<String>),
    /// An OCI image layout directory, optionally selecting a ref name.
    OciDir(PathBuf, Option<String>),
    /// A tar of an OCI image layout, optionally selecting a ref name.
    OciArchive(PathBuf, Option<String>),
}

impl ImageSource {
    /// Parse `docker://REF`, `docker-archive:PATH[:REF]`, `oci:DIR[:TAG]`,
    /// `oci-archive:PATH[:TAG]`; without a transport an existing path is a file source
    /// and anything else a daemon reference.
    pub fn parse(s: &str) -> Result<ImageSource> {
        if s.is_empty() {
            return Err(Error::usage("empty image reference"));
        }
        if let Some(r) = s
            .strip_prefix("docker://")
            .or_else(|| s.strip_prefix("docker-daemon:"))
        {
            if r.is_empty() {
                return Err(Error::usage(
                    "docker:// needs an image reference, e.g. docker://alpine:3.20",
                ));
            }
            return Ok(ImageSource::Daemon(r.to_string()));
        }
        for (prefix, kind) in [("docker-archive:", 0), ("oci-archive:", 1), ("oci:", 2)] {
            if let Some(rest) = s.strip_prefix(prefix) {
                let (path, sel) = split_path_selector(rest);
                if path.as_os_str().is_empty() {
                    return Err(Error::usage(format!("{prefix} needs a path")));
                }
                return Ok(match kind {
                    0 => ImageSource::DockerArchive(path, sel),
                    1 => ImageSource::OciArchive(path, sel),
                    _ => ImageSource::OciDir(path, sel),
                });
            }
        }
        let p = Path::new(s);
        if p.exists() {
            return Ok(if p.is_dir() {
                ImageSource::OciDir(p.to_path_buf(), None)
            } else {
                ImageSource::DockerArchive(p.to_path_buf(), None)
            });
        }
        if s.contains('/') && (s.starts_with('.') || s.starts_with('/') || s.ends_with(".tar")) {
            return Err(Error::io(format!("{s}: no such file or directory")));
        }
        Ok(ImageSource::Daemon(s.to_string()))
    }

    pub fn is_daemon(&self) -> bool {
        matches!(self, ImageSource::Daemon(_))
    }
}

/// "path:sel" where path exists wins over treating the whole string as the path.
fn split_path_selector(rest: &str) -> (PathBuf, Option<String>) {
    if Path::new(rest).exists() {
        return (PathBuf::from(rest), None);
    }
    if let Some((p, sel)) = rest.rsplit_once(':') {
        if !sel.contains('/') && Path::new(p).exists() {
            return (PathBuf::from(p), Some(sel.to_string()));
        }
        // "path:repo:tag": the selector may itself contain a colon.
        if let Some((p2, sel1)) = p.rsplit_once(':') {
            if Path::new(p2).exists() {
                return (PathBuf::from(p2), Some(format!("{sel1}:{sel}")));
            }
        }
    }
    (PathBuf::from(rest), None)
}

#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub platform: Option<Platform>,
    pub progress: Option<Arc<Progress>>,
}

/// Load an image completely: metadata, history, every layer and the file tree.
pub fn load(src: &ImageSource, reference: &str, opts: &LoadOptions) -> Result<Image> {
    match src {
        ImageSource::Daemon(r) => {
            let export = daemon::export_image(r)?;
            if let Some(p) = &opts.progress {
                p.total
                    .store(export.image.size, std::sync::atomic::Ordering::Relaxed);
            }
            let store = CollectedStore::collect(export.stream, opts.progress.clone())?;
            let mut img = load_from_store(&store, None, reference, opts)?;
            img.id = export.image.id.clone();
            if !export.image.repo_tags.is_empty() {
                img.repo_tags = export.image.repo_tags.clone();
            }
            Ok(img)
        }
        ImageSource::DockerArchive(path, sel) | ImageSource::OciArchive(path, sel) => {
            check_file(path)?;
            let store = TarFileStore::open(path)?;
            load_from_store(&store, sel.as_deref(), reference, opts)
        }
        ImageSource::OciDir(path, sel) => {
            if !path.is_dir() {
                return Err(Error::io(format!("{}: not a directory", path.display())));
            }
            if !path.join("index.json").exists() && !path.join("manifest.json").exists() {
                return Err(Error::corrupt(format!(
                    "{}: not an OCI image layout (no index.json)",
                    path.display()
                )));
            }
            let store = DirStore { root: path.clone() };
            load_from_store(&store, sel.as_deref(), reference, opts)
        }
    }
}

/// Load from any reader producing a docker-save / OCI archive stream (stdin, tests).
pub fn load_stream<R: std::io::Read>(
    reader: R,
    reference: &str,
    opts: &LoadOptions,
) -> Result<Image> {
    let store = CollectedStore::collect(reader, opts.progress.clone())?;
    load_from_store(&store, None, reference, opts)
}

fn check_file(path: &Path) -> Result<()> {
    let md = std::fs::metadata(path).map_err(|e| crate::error::from_io(e, path.display()))?;
    if md.is_dir() {
        return Err(Error::usage(format!(
            "{} is a directory: use oci:{}",
            path.display(),
            path.display()
        )));
    }
    if let Some(p) = &None::<()> {
        let _ = p;
    }
    Ok(())
}

#[derive(Deserialize, Default)]
struct ConfigFile {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    variant: Option<String>,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    config: serde_json::Value,
    #[serde(default)]
    rootfs: RootFs,
    #[serde(default)]
    history: Vec<ConfigHistory>,
}

#[derive(Deserialize, Default)]
struct RootFs {
    #[serde(default)]
    diff_ids: Vec<String>,
}

#[derive(Deserialize, Default)]
struct ConfigHistory {
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    created_by: Option<String>,
    #[serde(default)]
    comment: Option<String>,
    #[serde(default)]
    empty_layer: bool,
}

fn load_from_store<S: BlobStore>(
    store: &S,
    selector: Option<&str>,
    reference: &str,
    opts: &LoadOptions,
) -> Result<Image> {
    let plan = resolve(store, selector, opts.platform.as_ref())?;
    build(store, plan, reference, opts)
}

fn build<S: BlobStore>(
    store: &S,
    plan: Plan,
    reference: &str,
    opts: &LoadOptions,
) -> Result<Image> {
    let cfg: ConfigFile = serde_json::from_slice(&plan.config)
        .map_err(|e| Error::corrupt(format!("the image config is not valid JSON: {e}")))?;
    if cfg.rootfs.diff_ids.len() != plan.layers.len() {
        return Err(Error::corrupt(format!(
            "the image config lists {} layer(s) but the manifest {}",
            cfg.rootfs.diff_ids.len(),
            plan.layers.len()
        )));
    }
    let id = {
        use sha2::{Digest, Sha256};
        format!("sha256:{}", hex::encode(Sha256::digest(&plan.config)))
    };
    if let Some(p) = &opts.progress {
        p.layers_total.store(
            plan.layers.len() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
    }
    let contents = parse_layers(store, &plan, opts)?;
    let history = cfg
        .history
        .into_iter()
        .map(|h| HistoryItem {
            created: h.created,
            created_by: h.created_by.unwrap_or_default(),
            comment: h.comment,
            empty_layer: h.empty_layer,
            layer: None,
        })
        .collect();
    let layers: Vec<(Layer, Arc<LayerContent>)> = plan
        .layers
        .iter()
        .zip(cfg.rootfs.diff_ids.iter())
        .zip(contents)
        .map(|((pl, diff_id), content)| {
            (
                Layer {
                    diff_id: diff_id.clone(),
                    blob_digest: pl.digest.clone(),
                    blob_size: pl.size,
                    media_type: pl.media_type.clone(),
                    ..Default::default()
                },
                content,
            )
        })
        .collect();
    let meta = Image {
        reference: reference.to_string(),
        id,
        repo_tags: plan.repo_tags.clone(),
        os: cfg.os,
        architecture: cfg.architecture,
        variant: cfg.variant,
        created: cfg.created,
        run_config: cfg.config,
        ..Default::default()
    };
    Ok(Image::assemble(meta, history, layers))
}

/// Parse the plan's layers, in parallel where the store allows, each distinct blob once.
fn parse_layers<S: BlobStore>(
    store: &S,
    plan: &Plan,
    opts: &LoadOptions,
) -> Result<Vec<Arc<LayerContent>>> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let mut unique: Vec<usize> = Vec::new();
    let mut first_of: Vec<usize> = Vec::with_capacity(plan.layers.len());
    for (i, l) in plan.layers.iter().enumerate() {
        match plan.layers[..i].iter().position(|o| o.blob == l.blob) {
            Some(j) => first_of.push(first_of[j]),
            None => {
                first_of.push(i);
                unique.push(i);
            }
        }
    }
    // Biggest first, so two workers finish together.
    unique.sort_by_key(|&i| std::cmp::Reverse(plan.layers[i].size.unwrap_or(0)));
    let results: Vec<Mutex<Option<Result<Arc<LayerContent>>>>> =
        plan.layers.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 8)
        .min(unique.len().max(1));
    let failed = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= unique.len() || failed.load(Ordering::Relaxed) {
                        break;
                    }
                    let i = unique[k];
                    let l = &plan.layers[i];
                    let r = store.parse_layer(
                        &l.blob,
                        l.size,
                        l.media_type.as_deref(),
                        opts.progress.clone(),
                    );
                    if r.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    if let Some(p) = &opts.progress {
                        p.layers_done.fetch_add(1, Ordering::Relaxed);
                    }
                    *results[i].lock().unwrap() = Some(r);
                }
            });
        }
    });
    let mut out: Vec<Option<Arc<LayerContent>>> = vec![None; plan.layers.len()];
    // Report the lowest failing layer.
    for (i, cell) in results.iter().enumerate() {
        if let Some(r) = cell.lock().unwrap().take() {
            out[i] = Some(r.map_err(|e| {
                if e.kind == ErrorKind::Corrupt {
                    e
                } else {
                    e.context(format!("layer {i}"))
                }
            })?);
        }
    }
    (0..plan.layers.len())
        .map(|i| {
            out[first_of[i]]
                .clone()
                .ok_or_else(|| Error::other(format!("layer {i} was not loaded")))
        })
        .collect()
}
