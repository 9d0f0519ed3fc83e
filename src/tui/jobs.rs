//! Background jobs: they run on their own threads and report with messages.

use super::msg::{DiffLoaded, LoadMsg, Msg};
use crate::error::Result;
use crate::model::{Image, NodeId};
use crate::source::{self, ImageSource, LoadEvent, LoadOptions, Progress};
use std::path::PathBuf;
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

/// Waste, then (with a Dockerfile and its mapping) the advice.
pub fn analyze(
    tx: Sender<Msg>,
    generation: u64,
    image: Arc<Image>,
    dockerfile: Option<(
        crate::dockerfile::Dockerfile,
        crate::dockerfile::map::Mapping,
    )>,
) {
    std::thread::spawn(move || {
        let w = crate::analysis::waste::analyze(&image);
        let findings = dockerfile.as_ref().map(|(df, mapping)| {
            crate::analysis::advice::analyze(
                &image,
                &w,
                Some(crate::analysis::advice::WithDockerfile { df, mapping }),
            )
        });
        let _ = tx.send(Msg::Load {
            generation,
            event: LoadMsg::Waste(Box::new(w)),
        });
        if let Some(f) = findings {
            let _ = tx.send(Msg::Load {
                generation,
                event: LoadMsg::Findings(f),
            });
        }
    });
}

/// The triage of a loaded image (registry lookups, compression: seconds).
pub fn triage(
    tx: Sender<Msg>,
    generation: u64,
    image: Arc<Image>,
    src: ImageSource,
    args: crate::cli::triage::TriageArgs,
    platform: Option<source::layout::Platform>,
) {
    std::thread::spawn(move || {
        let result =
            crate::cli::triage::compute(&args, &src, &image, platform.as_ref()).map(Box::new);
        let _ = tx.send(Msg::Triage { generation, result });
    });
}

/// Rows of a big tree (a filter, another layer, another sort…), off the UI thread. One
/// worker computes them; a job that has not started yet is replaced by a newer one, so
/// holding a key never piles up work whose answer would be dropped anyway.
pub fn filter_rows(
    tx: Sender<Msg>,
    generation: u64,
    image: Arc<Image>,
    job: super::files::FilterJob,
) {
    type Pending = (Sender<Msg>, u64, Arc<Image>, super::files::FilterJob);
    static SLOT: std::sync::OnceLock<Arc<(std::sync::Mutex<Option<Pending>>, std::sync::Condvar)>> =
        std::sync::OnceLock::new();
    let slot = SLOT.get_or_init(|| {
        let slot: Arc<(std::sync::Mutex<Option<Pending>>, std::sync::Condvar)> = Arc::default();
        let worker = slot.clone();
        std::thread::spawn(move || {
            loop {
                let (tx, generation, image, job) = {
                    let (lock, cv) = &*worker;
                    let mut g = lock.lock().unwrap_or_else(|e| e.into_inner());
                    loop {
                        if let Some(p) = g.take() {
                            break p;
                        }
                        g = cv.wait(g).unwrap_or_else(|e| e.into_inner());
                    }
                };
                let done = run_filter_job(&image, job);
                let _ = tx.send(Msg::FilterRows {
                    generation,
                    done: Box::new(done),
                });
            }
        });
        slot
    });
    let (lock, cv) = &**slot;
    *lock.lock().unwrap_or_else(|e| e.into_inner()) = Some((tx, generation, image, job));
    cv.notify_one();
}

/// What a rows job computes (also run in place by benchmarks and tests).
pub fn run_filter_job(image: &Image, job: super::files::FilterJob) -> super::files::FilterDone {
    let sizes = job
        .sizes
        .unwrap_or_else(|| Arc::new(super::treeview::compute_sizes(&image.tree, job.layer)));
    let (expansion, rows) = if job.unfold && job.view.filter.is_some() {
        super::treeview::filter_rows(image, job.layer, &job.view, &job.expansion, &sizes)
    } else {
        let rows = super::treeview::build_rows(image, job.layer, &job.view, &job.expansion, &sizes);
        (job.expansion, rows)
    };
    super::files::FilterDone {
        token: job.token,
        layer: job.layer,
        key: job.key,
        expansion,
        rows,
        sizes,
    }
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
        let r = super::extract::extract_now(&img, &src, layer, node, &dest, overwrite);
        let _ = tx.send(Msg::Extracted(r));
    });
}
