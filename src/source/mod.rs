//! Image sources: the Docker daemon, docker-save archives (legacy and Docker 25+ OCI
//! style), OCI layout directories and OCI archives. This module (with `daemon`) is the
//! only place that knows where images come from; everything above sees an [`Image`].

pub mod blob;
pub mod daemon;
pub mod digest;
pub mod docker_store;
pub mod layout;
pub mod read;
pub mod registry;
pub mod spool;
pub mod store;
pub mod tarsplit;
pub mod parsed;
pub mod verified;

use crate::error::{Error, ErrorKind, Result};
use crate::model::{HistoryItem, Image, ImageBuilder, Layer, LayerContent};
pub use blob::Progress;
use layout::{Plan, PlanLayer, Platform, resolve};
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
    /// An image in a registry, `HOST/REPO[:TAG|@DIGEST]` (written `registry://…`).
    Registry(String),
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
        if let Some(r) = s.strip_prefix("registry://") {
            registry::RegistryRef::parse(r)?;
            return Ok(ImageSource::Registry(r.to_string()));
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

/// How images of the Docker daemon are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DaemonRead {
    /// Docker's layer store when this process can read it, else the export.
    #[default]
    Auto,
    /// Docker's layer store only; an error when it cannot be read.
    Storage,
    /// The daemon's image export (`docker save`) only.
    Export,
}

impl std::str::FromStr for DaemonRead {
    type Err = Error;
    fn from_str(s: &str) -> Result<DaemonRead> {
        match s {
            "auto" => Ok(DaemonRead::Auto),
            "storage" => Ok(DaemonRead::Storage),
            "export" => Ok(DaemonRead::Export),
            _ => Err(Error::usage(format!(
                "invalid --daemon-read {s:?}: expected auto, storage or export"
            ))),
        }
    }
}

static DAEMON_READ: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Choose how daemon images are read, for the whole process (`--daemon-read`).
pub fn set_daemon_read(mode: DaemonRead) {
    let v = match mode {
        DaemonRead::Auto => 0,
        DaemonRead::Storage => 1,
        DaemonRead::Export => 2,
    };
    DAEMON_READ.store(v, std::sync::atomic::Ordering::Relaxed);
}

pub fn daemon_read() -> DaemonRead {
    match DAEMON_READ.load(std::sync::atomic::Ordering::Relaxed) {
        1 => DaemonRead::Storage,
        2 => DaemonRead::Export,
        _ => DaemonRead::Auto,
    }
}

/// Parsed layers by diff id, shared between loads (a diff parses common layers once).
pub type LayerCache = Arc<std::sync::Mutex<std::collections::HashMap<String, Arc<LayerContent>>>>;

#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub platform: Option<Platform>,
    pub progress: Option<Arc<Progress>>,
    pub cache: Option<LayerCache>,
    /// Keep a daemon export for later reads (previews, extraction, opening the image
    /// again): the explorer wants it, a one-shot command does not (also forced by
    /// `LAYERLENS_KEEP_EXPORT=1`).
    pub keep_export: bool,
}

impl LoadOptions {
    fn keeps_export(&self) -> bool {
        self.keep_export || std::env::var_os("LAYERLENS_KEEP_EXPORT").is_some_and(|v| v == "1")
    }
}

/// Load an image completely: metadata, history, every layer and the file tree.
/// What a load reports as it goes.
pub enum LoadEvent {
    /// Metadata, history and layer descriptions: everything but layer contents.
    Meta(Image),
    /// Layer `i` is parsed (in any order).
    Layer(usize, Arc<LayerContent>),
}

/// Load an image completely: metadata, history, every layer and the file tree.
pub fn load(src: &ImageSource, reference: &str, opts: &LoadOptions) -> Result<Image> {
    let mut builder: Option<ImageBuilder> = None;
    let mut stacking = std::time::Duration::ZERO;
    let t0 = std::time::Instant::now();
    load_with(src, reference, opts, &mut |ev| match ev {
        LoadEvent::Meta(m) => match builder.as_mut() {
            Some(b) if b.image.layers_loaded() > 0 => {
                if !b.replace_meta(m.clone()) {
                    builder = Some(ImageBuilder::new(m));
                }
            }
            _ => builder = Some(ImageBuilder::new(m)),
        },
        LoadEvent::Layer(i, c) => {
            if let Some(b) = builder.as_mut() {
                let t = std::time::Instant::now();
                b.add(i, c);
                stacking += t.elapsed();
            }
        }
    })?;
    if std::env::var_os("LAYERLENS_TIMINGS").is_some() {
        eprintln!(
            "timing: parse (wall, overlapping stacking): {:.1} ms; stacking: {:.1} ms",
            t0.elapsed().as_secs_f64() * 1e3,
            stacking.as_secs_f64() * 1e3
        );
    }
    builder
        .map(ImageBuilder::finish)
        .ok_or_else(|| Error::other("the loader produced no image"))
}

/// Load an image, reporting metadata first and then each layer as it is parsed.
pub fn load_with(
    src: &ImageSource,
    reference: &str,
    opts: &LoadOptions,
    on: &mut dyn FnMut(LoadEvent),
) -> Result<()> {
    match src {
        ImageSource::Daemon(r) => load_daemon(r, reference, opts, on),
        ImageSource::Registry(r) => load_registry(r, reference, opts, on),
        ImageSource::DockerArchive(path, sel) | ImageSource::OciArchive(path, sel) => {
            check_file(path)?;
            let store = TarFileStore::open(path)?;
            load_from_store(&store, sel.as_deref(), reference, opts, &mut |ev| {
                on(qualify_bare_tags(ev, path))
            })
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
            load_from_store(&store, sel.as_deref(), reference, opts, &mut |ev| {
                on(qualify_bare_tags(ev, path))
            })
        }
    }
}

/// An image straight from a registry: manifest (platform picked), config, then each
/// layer blob streamed and digest-verified as it is parsed.
fn load_registry(
    r: &str,
    reference: &str,
    opts: &LoadOptions,
    on: &mut dyn FnMut(LoadEvent),
) -> Result<()> {
    let rref = registry::RegistryRef::parse(r)?;
    let reg = Arc::new(registry::Registry::new(&rref.registry)?);
    let resolved = registry::load::resolve(&reg, &rref, opts.platform.as_ref())?;
    let plan = registry::load::plan(&rref, &resolved);
    if let Some(p) = &opts.progress {
        let total: u64 = plan.layers.iter().filter_map(|l| l.size).sum();
        p.total.store(total, std::sync::atomic::Ordering::Relaxed);
    }
    let store = registry::load::RegistryStore {
        reg,
        repository: rref.repository.clone(),
    };
    let via = format!("registry {}", rref.registry);
    load_plan(&store, plan, reference, opts, &mut |ev| match ev {
        LoadEvent::Meta(mut m) => {
            m.loaded_via = via.clone();
            on(LoadEvent::Meta(m))
        }
        other => on(other),
    })
}

/// An OCI layout names its image by a bare tag (`latest`): say whose, `PATH:latest`.
fn qualify_bare_tags(ev: LoadEvent, path: &Path) -> LoadEvent {
    match ev {
        LoadEvent::Meta(mut m) => {
            for t in &mut m.repo_tags {
                if !t.contains(':') && !t.contains('/') {
                    *t = format!("{}:{t}", path.display());
                }
            }
            LoadEvent::Meta(m)
        }
        other => other,
    }
}

/// A daemon image: from Docker's layer store when `--daemon-read` allows and it is
/// readable, else (or when reading the store fails in `auto` mode) from the export.
fn load_daemon(
    r: &str,
    reference: &str,
    opts: &LoadOptions,
    on: &mut dyn FnMut(LoadEvent),
) -> Result<()> {
    let mode = daemon_read();
    // Inspect + history answer at once; their errors (no daemon, no such image) are
    // the user's answer whatever the read path.
    let described = daemon::describe_image(r);
    if mode != DaemonRead::Export {
        let (info, _) = described.as_ref().map_err(|e| e.clone())?;
        let store = daemon::storage_info().and_then(|si| docker_store::DockerStore::locate(&si));
        let attempt = store.and_then(|store| {
            let plan = store
                .plan(&info.id, &info.diff_ids)
                .map_err(|e| e.context("reading Docker's layer store"))?;
            Ok((store, plan))
        });
        match attempt {
            Ok((store, (plan, total))) => {
                if let Some(p) = &opts.progress {
                    p.total.store(total, std::sync::atomic::Ordering::Relaxed);
                }
                let via = format!("layer store ({})", store.driver);
                let mut on_store = |ev: LoadEvent| match ev {
                    LoadEvent::Meta(mut m) => {
                        as_daemon_image(&mut m, info, &via, None);
                        on(LoadEvent::Meta(m))
                    }
                    other => on(other),
                };
                match load_plan(&store, plan, reference, opts, &mut on_store) {
                    Ok(()) => return Ok(()),
                    Err(e) if mode == DaemonRead::Storage => return Err(e),
                    Err(e) => {
                        if std::env::var_os("LAYERLENS_TIMINGS").is_some() {
                            eprintln!("layer store failed, using the export: {}", e.message);
                        }
                    }
                }
            }
            Err(e) if mode == DaemonRead::Storage => {
                return Err(Error::new(
                    e.kind,
                    format!("--daemon-read storage: {}", e.message),
                ));
            }
            Err(_) => {}
        }
    }
    const VIA_EXPORT: &str = "docker save export";
    // The same image exported earlier in this session: read the kept export.
    if let (Some((id, path)), Ok((info, _))) = (spool::lookup(r), &described) {
        if id == info.id {
            if let Ok(store) = TarFileStore::open(&path) {
                let mut on_spooled = |ev: LoadEvent| match ev {
                    LoadEvent::Meta(mut m) => {
                        let via = format!("{VIA_EXPORT}, kept from earlier");
                        as_daemon_image(&mut m, info, &via, None);
                        on(LoadEvent::Meta(m))
                    }
                    other => on(other),
                };
                return load_from_store(&store, Some(&id), reference, opts, &mut on_spooled);
            }
        }
    }
    // Paint early: inspect + history answer at once, the export takes a while.
    if let Ok((info, rows)) = &described {
        let mut m = preliminary_meta(info, rows, reference);
        m.loaded_via = VIA_EXPORT.into();
        on(LoadEvent::Meta(m));
    }
    let export = daemon::export_image(r)?;
    if let Some(p) = &opts.progress {
        p.total
            .store(export.image.size, std::sync::atomic::Ordering::Relaxed);
    }
    let info = export.image.clone();
    let spool = if opts.keeps_export() {
        spool::create(info.size)
    } else {
        Err(String::new())
    };
    let note = spool.as_ref().err().cloned().filter(|n| !n.is_empty());
    // Each layer shows as soon as it has streamed: an uncompressed layer blob's digest
    // is its diff id, which inspect already tied to a layer index.
    let painted = described.is_ok();
    let mut early = |digest: &str, content: &Arc<LayerContent>| {
        if !painted {
            return;
        }
        for (i, d) in info.diff_ids.iter().enumerate() {
            if d == digest {
                on(LoadEvent::Layer(i, content.clone()));
            }
        }
    };
    let store = match &spool {
        Ok(s) => {
            CollectedStore::collect_with(s.tee(export.stream), opts.progress.clone(), &mut early)?
        }
        Err(_) => CollectedStore::collect_with(export.stream, opts.progress.clone(), &mut early)?,
    };
    if let Ok(s) = spool {
        let written = s.written();
        let kept = s.keep(r, &info.id);
        if std::env::var_os("LAYERLENS_TIMINGS").is_some() {
            eprintln!("export spooled: {written} bytes, kept: {kept}");
        }
    }
    let mut on_daemon = |ev: LoadEvent| match ev {
        LoadEvent::Meta(mut m) => {
            as_daemon_image(&mut m, &info, VIA_EXPORT, note.as_deref());
            on(LoadEvent::Meta(m))
        }
        other => on(other),
    };
    load_from_store(&store, None, reference, opts, &mut on_daemon)
}

/// What the daemon says of an image wins over what its config or archive says: its id,
/// its tags; and how it was read.
fn as_daemon_image(m: &mut Image, info: &daemon::DaemonImage, via: &str, note: Option<&str>) {
    m.id = info.id.clone();
    if !info.repo_tags.is_empty() {
        m.repo_tags = info.repo_tags.clone();
    }
    m.loaded_via = via.to_string();
    if let Some(n) = note {
        m.warnings.push(n.to_string());
    }
}

/// Whether daemon images are read through the export here (not the layer store).
pub fn daemon_uses_export() -> bool {
    match daemon_read() {
        DaemonRead::Export => true,
        DaemonRead::Storage => false,
        DaemonRead::Auto => daemon::storage_info()
            .and_then(|si| docker_store::DockerStore::locate(&si))
            .is_err(),
    }
}

/// Two daemon images read through the export: one `docker save` of both (each layer
/// they share is sent and parsed once), kept for previews of either. None when the
/// references are not both daemon images, or when the layer store will be read.
pub fn load_daemon_pair(a: &str, b: &str, opts: &LoadOptions) -> Result<Option<(Image, Image)>> {
    let (Ok(ImageSource::Daemon(ra)), Ok(ImageSource::Daemon(rb))) =
        (ImageSource::parse(a), ImageSource::parse(b))
    else {
        return Ok(None);
    };
    if !daemon_uses_export() || spool::lookup(&ra).is_some() || spool::lookup(&rb).is_some() {
        return Ok(None);
    }
    let (images, stream) = daemon::export_images(&[&ra, &rb])?;
    let (ia, ib) = (&images[0].0, &images[1].0);
    // The export holds every distinct layer once: total from the per-layer sizes of
    // both histories when they account for every layer.
    let total = pair_export_size(&ra, &rb).unwrap_or(ia.size + ib.size);
    if let Some(p) = &opts.progress {
        p.total.store(total, std::sync::atomic::Ordering::Relaxed);
    }
    let spool = if opts.keeps_export() {
        spool::create(total)
    } else {
        Err(String::new())
    };
    let note = spool.as_ref().err().cloned().filter(|n| !n.is_empty());
    let store = match &spool {
        Ok(s) => CollectedStore::collect(s.tee(stream), opts.progress.clone())?,
        Err(_) => CollectedStore::collect(stream, opts.progress.clone())?,
    };
    if let Ok(s) = spool {
        if s.keep(&ra, &ia.id) {
            spool::alias(&ra, &rb, &ib.id);
        }
    }
    let load_one = |info: &daemon::DaemonImage, reference: &str| -> Result<Image> {
        let mut builder: Option<ImageBuilder> = None;
        load_from_store(
            &store,
            Some(&info.id),
            reference,
            opts,
            &mut |ev| match ev {
                LoadEvent::Meta(mut m) => {
                    let via = "docker save export (both images at once)";
                    as_daemon_image(&mut m, info, via, note.as_deref());
                    builder = Some(ImageBuilder::new(m))
                }
                LoadEvent::Layer(i, c) => {
                    if let Some(b) = builder.as_mut() {
                        b.add(i, c);
                    }
                }
            },
        )
        .map_err(|e| e.context(format!("loading {reference}")))?;
        builder
            .map(ImageBuilder::finish)
            .ok_or_else(|| Error::other("the loader produced no image"))
    };
    Ok(Some((load_one(ia, a)?, load_one(ib, b)?)))
}

/// Bytes of the distinct layers of two daemon images, from their histories.
fn pair_export_size(a: &str, b: &str) -> Option<u64> {
    let mut seen = std::collections::HashMap::new();
    for r in [a, b] {
        let (info, rows) = daemon::describe_image(r).ok()?;
        let sizes: Vec<u64> = rows.iter().map(|r| r.size).filter(|s| *s > 0).collect();
        if sizes.len() != info.diff_ids.len() {
            return None;
        }
        for (d, s) in info.diff_ids.iter().zip(sizes) {
            seen.insert(d.clone(), s);
        }
    }
    Some(seen.values().sum())
}

/// The image as the daemon's inspect and history describe it, before the export's
/// config arrives: history paired with layers by the sizes (or `#(nop)` markers) when
/// that accounts for every layer, otherwise layers without history.
fn preliminary_meta(
    info: &daemon::DaemonImage,
    rows: &[daemon::HistoryRow],
    reference: &str,
) -> Image {
    let n = info.diff_ids.len();
    let by_size: Vec<bool> = rows.iter().map(|r| r.size > 0).collect();
    let by_nop: Vec<bool> = rows
        .iter()
        .map(|r| !r.created_by.contains("#(nop)"))
        .collect();
    // Instructions that make a layer even when it is empty (the classic builder commits
    // WORKDIR; a 0-byte RUN still makes a layer).
    let by_kind: Vec<bool> = rows
        .iter()
        .map(|r| r.size > 0 || makes_layer(&r.created_by, &r.comment))
        .collect();
    let count = |v: &Vec<bool>| v.iter().filter(|b| **b).count();
    let made = [by_size, by_nop, by_kind]
        .into_iter()
        .find(|v| count(v) == n);
    let mut history = Vec::new();
    let mut sizes = vec![None; n];
    if let Some(made) = made {
        let mut k = 0;
        for (r, m) in rows.iter().zip(made) {
            if m {
                sizes[k] = Some(r.size);
                k += 1;
            }
            history.push(HistoryItem {
                created: None,
                created_by: r.created_by.clone(),
                comment: Some(r.comment.clone()).filter(|c| !c.is_empty()),
                empty_layer: !m,
                layer: None,
            });
        }
    }
    let layers = info
        .diff_ids
        .iter()
        .zip(sizes)
        .map(|(d, size)| Layer {
            diff_id: d.clone(),
            blob_size: size,
            ..Default::default()
        })
        .collect();
    let meta = Image {
        reference: reference.to_string(),
        id: info.id.clone(),
        repo_tags: info.repo_tags.clone(),
        os: info.os.clone(),
        architecture: info.architecture.clone(),
        created: info.created.clone(),
        ..Default::default()
    };
    Image::prepare(meta, history, layers)
}

/// Whether a history row's instruction makes a filesystem layer (classic builder and
/// BuildKit spellings): RUN, COPY, ADD, WORKDIR, and `docker import`.
fn makes_layer(created_by: &str, comment: &str) -> bool {
    let c = created_by.trim();
    if c.is_empty() {
        return comment.starts_with("Imported from");
    }
    let instr = if let Some(rest) = c.strip_prefix("/bin/sh -c #(nop)") {
        rest.trim_start()
    } else if c.starts_with("/bin/sh -c ") || c.starts_with('|') {
        return true; // a classic-builder RUN
    } else {
        c
    };
    let word = instr.split_whitespace().next().unwrap_or("");
    matches!(
        word.to_ascii_uppercase().as_str(),
        "RUN" | "COPY" | "ADD" | "WORKDIR"
    )
}

/// Load from any reader producing a docker-save / OCI archive stream (stdin, tests).
pub fn load_stream<R: std::io::Read>(
    reader: R,
    reference: &str,
    opts: &LoadOptions,
) -> Result<Image> {
    let store = CollectedStore::collect(reader, opts.progress.clone())?;
    let mut builder: Option<ImageBuilder> = None;
    load_from_store(&store, None, reference, opts, &mut |ev| match ev {
        LoadEvent::Meta(m) => builder = Some(ImageBuilder::new(m)),
        LoadEvent::Layer(i, c) => {
            if let Some(b) = builder.as_mut() {
                b.add(i, c);
            }
        }
    })?;
    builder
        .map(ImageBuilder::finish)
        .ok_or_else(|| Error::other("the loader produced no image"))
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
    if !md.is_file() {
        // A FIFO or device would block or never end.
        return Err(Error::usage(format!(
            "{}: not a regular file or directory",
            path.display()
        )));
    }
    Ok(())
}

/// Check what can be checked quickly before a full-screen view takes the terminal: the
/// reference parses, a file source exists and is a file (or an OCI layout directory),
/// and a daemon image exists.
pub fn precheck(reference: &str) -> Result<()> {
    match ImageSource::parse(reference)? {
        ImageSource::DockerArchive(p, _) | ImageSource::OciArchive(p, _) => check_file(&p),
        ImageSource::OciDir(p, _) => {
            if !p.is_dir() {
                return Err(Error::io(format!("{}: not a directory", p.display())));
            }
            Ok(())
        }
        ImageSource::Registry(_) => Ok(()),
        ImageSource::Daemon(r) => match daemon::describe_image(&r) {
            Ok(_) => Ok(()),
            Err(e) if e.kind == ErrorKind::NotFound && looks_like_a_file(&r) => {
                Err(Error::not_found(format!(
                    "{r}: no such file, and no such image in the Docker daemon"
                )))
            }
            Err(e) => Err(e),
        },
    }
}

fn looks_like_a_file(r: &str) -> bool {
    [".tar", ".tar.gz", ".tgz", ".tar.zst", ".oci"]
        .iter()
        .any(|x| r.ends_with(x))
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
    on: &mut dyn FnMut(LoadEvent),
) -> Result<()> {
    let plan = resolve(store, selector, opts.platform.as_ref())?;
    load_plan(store, plan, reference, opts, on)
}

/// Load the image a resolved plan describes.
fn load_plan<S: BlobStore>(
    store: &S,
    plan: Plan,
    reference: &str,
    opts: &LoadOptions,
    on: &mut dyn FnMut(LoadEvent),
) -> Result<()> {
    let cfg: ConfigFile = serde_json::from_slice(&plan.config)
        .map_err(|e| Error::corrupt(format!("the image config is not valid JSON: {e}")))?;
    if cfg.rootfs.diff_ids.len() != plan.layers.len() {
        return Err(Error::corrupt(format!(
            "the image config lists {} layer(s) but the manifest {}",
            cfg.rootfs.diff_ids.len(),
            plan.layers.len()
        )));
    }
    if let Some(want) = &opts.platform {
        let matches = cfg.os == want.os
            && cfg.architecture == want.architecture
            && (want.variant.is_none() || cfg.variant == want.variant);
        if !matches {
            let has = layout::Platform {
                os: cfg.os.clone(),
                architecture: cfg.architecture.clone(),
                variant: cfg.variant.clone(),
            };
            return Err(Error::not_found(format!(
                "no image for platform {want}: this image is {has} (drop --platform or pick {has})"
            )));
        }
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
    let layers: Vec<Layer> = plan
        .layers
        .iter()
        .zip(cfg.rootfs.diff_ids.iter())
        .map(|(pl, diff_id)| Layer {
            diff_id: diff_id.clone(),
            blob_digest: pl.digest.clone(),
            blob_size: pl.size.or_else(|| store.blob_len(&pl.blob)),
            media_type: pl.media_type.clone(),
            blob: pl.blob.clone(),
            ..Default::default()
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
    let diff_ids = cfg.rootfs.diff_ids.clone();
    on(LoadEvent::Meta(Image::prepare(meta, history, layers)));
    // Layers already parsed for another image are not parsed again when this store's
    // bytes are proven to be that layer (Docker's own store, or digests remembered for
    // the unchanged file). Otherwise they are parsed and verified: a diff id in a config
    // is a claim, not proof of content. Parsed content equal to a cached layer shares it.
    let mut todo = plan.clone();
    let mut keep = Vec::new();
    // Proven to be that layer: Docker's own store (`Some(None)`), or bytes of this
    // store already hashed to the diff id claimed, unchanged since (`Some(Some(blob
    // digest))`).
    let proof = |i: usize| -> Option<Option<String>> {
        if store.is_dockers_own() {
            return Some(None);
        }
        let v = store.known_digests(&plan.layers[i].blob)?;
        v.diff_id
            .eq_ignore_ascii_case(&diff_ids[i])
            .then_some(Some(v.blob_digest))
    };
    let mut proofs = Vec::new();
    match &opts.cache {
        Some(cache) => {
            let c = cache.lock().unwrap();
            for (i, d) in diff_ids.iter().enumerate() {
                let p = proof(i);
                match c.get(d) {
                    Some(content) if p.is_some() => on(LoadEvent::Layer(i, content.clone())),
                    _ => {
                        keep.push(i);
                        proofs.push(p);
                    }
                }
            }
        }
        None => {
            keep = (0..plan.layers.len()).collect();
            proofs = keep.iter().map(|&i| proof(i)).collect();
        }
    }
    todo.layers = keep.iter().map(|&i| plan.layers[i].clone()).collect();
    let todo_ids: Vec<String> = keep.iter().map(|&i| diff_ids[i].clone()).collect();
    let cache = opts.cache.clone();
    parse_layers(store, &todo, &todo_ids, &keep, &proofs, opts, &mut |ev| match ev {
        LoadEvent::Layer(j, mut content) => {
            let i = keep[j];
            if let Some(c) = &cache {
                let mut c = c.lock().unwrap();
                match c.get(&diff_ids[i]) {
                    Some(same) if same.diff_id == content.diff_id => content = same.clone(),
                    _ => {
                        c.insert(diff_ids[i].clone(), content.clone());
                    }
                }
            }
            on(LoadEvent::Layer(i, content))
        }
        other => on(other),
    })
}

/// Check a parsed layer against what the image claims of it: its diff id (from the
/// config) and, when the manifest gives one, its blob digest.
fn verify_layer(i: usize, l: &PlanLayer, diff_id: &str, c: &LayerContent) -> Result<()> {
    let short = |d: &str| d.chars().take(19).collect::<String>();
    // `<64 hex>/layer.tar` or `blobs/sha256/<64 hex>`: 12 hex digits say which.
    let blob: String = l
        .blob
        .split('/')
        .map(|part| {
            if part.len() == 64 && part.bytes().all(|b| b.is_ascii_hexdigit()) {
                format!("{}…", &part[..12])
            } else {
                part.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    if let Some(got) = &c.diff_id {
        if !got.eq_ignore_ascii_case(diff_id) {
            return Err(Error::corrupt(format!(
                "layer {i} ({blob}) does not match its diff id: the config says {}, its content is {}: the image is corrupt or was tampered with",
                short(diff_id),
                short(got)
            )));
        }
    }
    if let (Some(got), Some(want)) = (&c.blob_digest, &l.digest) {
        if !got.eq_ignore_ascii_case(want) {
            return Err(Error::corrupt(format!(
                "layer {i} ({blob}) does not match its digest: the manifest says {}, the blob is {}: the image is corrupt or was tampered with",
                short(want),
                short(got)
            )));
        }
    }
    Ok(())
}

/// Parse the plan's layers, in parallel, each distinct blob once; report each layer
/// as soon as it is parsed. The first failure (lowest layer) is returned.
fn parse_layers<S: BlobStore>(
    store: &S,
    plan: &Plan,
    diff_ids: &[String],
    // The image's index of each layer of the plan (for messages).
    index: &[usize],
    // Per layer of the plan: proven to be its diff id (see `load_plan`), so it may be
    // read back parsed from [`parsed`].
    proofs: &[Option<Option<String>>],
    opts: &LoadOptions,
    on: &mut dyn FnMut(LoadEvent),
) -> Result<()> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let read_back = AtomicUsize::new(0);
    let mut unique: Vec<usize> = Vec::new();
    let mut dups: Vec<Vec<usize>> = vec![Vec::new(); plan.layers.len()];
    for (i, l) in plan.layers.iter().enumerate() {
        match unique.iter().find(|&&u| plan.layers[u].blob == l.blob) {
            Some(&u) => dups[u].push(i),
            None => unique.push(i),
        }
    }
    // Lowest layers first, so the tree can be stacked while the rest is parsed.
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 8)
        .min(unique.len().max(1));
    let (tx, rx) = std::sync::mpsc::channel::<(usize, Result<Arc<LayerContent>>)>();
    let mut first_error: Option<(usize, Error)> = None;
    std::thread::scope(|s| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (unique, next, failed, read_back) = (&unique, &next, &failed, &read_back);
            s.spawn(move || {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= unique.len() || failed.load(Ordering::Relaxed) {
                        break;
                    }
                    let i = unique[k];
                    let l = &plan.layers[i];
                    let remembered = proofs[i].as_ref().and_then(|blob_digest| {
                        let mut c = parsed::load(&diff_ids[i])?;
                        c.blob_digest = blob_digest.clone();
                        read_back.fetch_add(1, Ordering::Relaxed);
                        // The progress counts the bytes this layer would have read.
                        if let (Some(p), Some(n)) =
                            (&opts.progress, l.size.or_else(|| store.blob_len(&l.blob)))
                        {
                            p.add(n);
                        }
                        Some(Arc::new(c))
                    });
                    let from_disk = remembered.is_some();
                    let r = match remembered {
                        Some(c) => Ok(c),
                        None => store.parse_layer(
                            &l.blob,
                            l.size,
                            l.media_type.as_deref(),
                            opts.progress.clone(),
                        ),
                    }
                    .and_then(|c| {
                        verify_layer(index[i], l, &diff_ids[i], &c)?;
                        Ok(c)
                    });
                    // Verified against the diff id (or Docker's own): kept for next time.
                    if let Ok(c) = &r {
                        if !from_disk && (c.diff_id.is_some() || store.is_dockers_own()) {
                            parsed::store(&diff_ids[i], c);
                        }
                    }
                    if r.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    if let Some(p) = &opts.progress {
                        p.layers_done.fetch_add(1, Ordering::Relaxed);
                    }
                    if tx.send((i, r)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (i, r) in rx {
            match r {
                Ok(c) => {
                    // The same blob listed again must be claimed with the same diff id.
                    let dup_error = dups[i].iter().find_map(|&d| {
                        verify_layer(index[d], &plan.layers[d], &diff_ids[d], &c)
                            .err()
                            .map(|e| (d, e))
                    });
                    if let Some((d, e)) = dup_error {
                        if first_error.as_ref().is_none_or(|(j, _)| d < *j) {
                            first_error = Some((d, e));
                        }
                    } else if first_error.is_none() {
                        for &d in &dups[i] {
                            on(LoadEvent::Layer(d, c.clone()));
                        }
                        on(LoadEvent::Layer(i, c));
                    }
                }
                Err(e) => {
                    if first_error.as_ref().is_none_or(|(j, _)| i < *j) {
                        first_error = Some((i, e));
                    }
                }
            }
        }
    });
    if std::env::var_os("LAYERLENS_TIMINGS").is_some() {
        eprintln!(
            "timing: {} of {} layer(s) read back parsed",
            read_back.into_inner(),
            unique.len()
        );
    }
    match first_error {
        Some((i, e)) => Err(if e.kind == ErrorKind::Corrupt {
            e
        } else {
            e.context(format!("layer {}", index[i]))
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(size: u64, created_by: &str, comment: &str) -> daemon::HistoryRow {
        daemon::HistoryRow {
            created: 0,
            created_by: created_by.into(),
            size,
            comment: comment.into(),
        }
    }

    /// `docker history` of a classic-builder image whose WORKDIR made an empty layer
    /// (neither sizes nor `#(nop)` markers alone pair rows with layers).
    #[test]
    fn preliminary_history_pairs_empty_workdir_layers() {
        let rows = vec![
            row(1_980_000, "", "Imported from -"),
            row(23, "/bin/sh -c #(nop) COPY file:4116 in /app/", ""),
            row(28, "/bin/sh -c #(nop) ADD file:ffe1 in /", ""),
            row(0, "/bin/sh -c #(nop) WORKDIR /work/dir", ""),
            row(0, "/bin/sh -c #(nop)  ENV FOO=bar", ""),
            row(0, "|1 X=1 /bin/sh -c true", ""),
            row(20_000, "/bin/sh -c chmod 755 /app/app.txt", ""),
            row(0, "RUN /bin/sh -c touch /x # buildkit", ""),
            row(0, "/bin/sh -c #(nop)  CMD [\"/bin/sh\"]", ""),
        ];
        let info = daemon::DaemonImage {
            diff_ids: (0..7).map(|i| format!("sha256:{i:064}")).collect(),
            ..Default::default()
        };
        let img = preliminary_meta(&info, &rows, "x");
        let made: Vec<&str> = (0..7).map(|i| img.created_by(i)).collect();
        assert_eq!(made[0], "Imported from -");
        assert!(made[3].contains("WORKDIR"), "{made:?}");
        assert!(made[4].contains("true"), "{made:?}");
        assert!(made[6].contains("touch"), "{made:?}");
        assert_eq!(img.layers[2].blob_size, Some(28));
    }
}
