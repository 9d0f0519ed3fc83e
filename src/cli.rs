//! Command-line interface: argument parsing and the headless commands.

pub mod triage;

use crate::analysis::waste;
use crate::error::{Error, ErrorKind, Result};
use crate::model::Image;
use crate::report;
use crate::source::{self, ImageSource, LoadOptions, Progress, layout::Platform};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(
    name = "layerlens",
    version,
    about = "Explain Docker images layer by layer: what each Dockerfile line costs, what is wasted, what changed.",
    after_help = "IMAGE is a daemon reference (name:tag, id, digest), docker://REF, docker-archive:PATH[:TAG], \
oci:DIR[:TAG], oci-archive:PATH[:TAG], registry://HOST/REPO[:TAG|@DIGEST], or a path to an archive or OCI layout.\n\
Without a command, opens the interactive explorer (the bundled sample image when no IMAGE is given and no daemon answers).\n\
Exit codes: 0 success, 1 a CI rule failed, 2 usage or load error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Image to explore.
    pub image: Option<String>,
    /// The Dockerfile the image was built from: layers are shown beside its lines.
    #[arg(long, value_name = "PATH")]
    pub dockerfile: Option<PathBuf>,
    /// Where the image would be pushed: the explorer's triage (`t`) plans that push and
    /// the layers pane marks what uploads.
    #[arg(long = "to", value_name = "[HOST/]REPO[:TAG]")]
    pub push_to: Option<String>,
    #[command(flatten)]
    pub global: Global,
}

#[derive(Args, Debug, Clone, Default)]
pub struct Global {
    /// Platform to pick from a multi-platform index (OS/ARCH[/VARIANT]); default: the host's.
    #[arg(long, global = true, value_name = "OS/ARCH")]
    pub platform: Option<String>,
    /// Reach this registry (HOST[:PORT]) over plain HTTP; loopback always is. Repeatable.
    #[arg(long, global = true, value_name = "HOST")]
    pub insecure_registry: Vec<String>,
    /// Never show a progress bar.
    #[arg(long, global = true)]
    pub quiet: bool,
    /// How to read images of the Docker daemon: `storage` reads Docker's own layer
    /// store (needs read access to the data root, e.g. root), `export` streams
    /// `docker save`, `auto` uses the store when it is readable.
    #[arg(
        long,
        global = true,
        value_name = "MODE",
        default_value = "auto",
        value_parser = ["auto", "storage", "export"],
        env = "LAYERLENS_DAEMON_READ"
    )]
    pub daemon_read: String,
    /// Print the default configuration (keys, theme) and exit; save it as
    /// ~/.config/layerlens/config.toml to change it.
    #[arg(long)]
    pub default_config: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Summary of an image: size, efficiency, wasted and reclaimable bytes, per-layer table.
    Report {
        image: String,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Write the report to FILE instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
        /// The Dockerfile the image was built from: each layer gets its line.
        #[arg(long, value_name = "PATH")]
        dockerfile: Option<PathBuf>,
    },
    /// List the merged filesystem at the top layer (or --layer N), or a layer's own changes.
    Files {
        image: String,
        /// Layer index (0 = bottom); default: the top layer.
        #[arg(long, value_name = "N")]
        layer: Option<usize>,
        /// List only what that layer added, modified or removed.
        #[arg(long)]
        changes: bool,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// What changed between two images (A older, B newer): reused and rebuilt layers,
    /// where the cache was busted and why, and the files that differ.
    Diff {
        /// The older image.
        a: String,
        /// The newer image (`:TAG` for another tag of A's repository).
        b: String,
        /// Print instead of opening the explorer.
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// Write the output to FILE.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
        /// The Dockerfile B was built from: B's layers and the cache bust get their lines.
        #[arg(long, value_name = "PATH")]
        dockerfile: Option<PathBuf>,
    },
    /// Advice measured in bytes: what to change (the Dockerfile line with --dockerfile),
    /// how, and how many bytes it removes from the image.
    Advise {
        image: String,
        /// The Dockerfile the image was built from: findings name its lines.
        #[arg(long, value_name = "PATH")]
        dockerfile: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = AdviseFormat::Text)]
        format: AdviseFormat,
        /// Write the advice to FILE instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Run `docker build` (your own docker CLI) and show what changed against what the
    /// tag pointed to before: cache hits, rebuilt layers and why.
    Build {
        /// Print the diff instead of opening the explorer.
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// Arguments for `docker build` (e.g. -t app:dev .).
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            required = true,
            value_name = "DOCKER_BUILD_ARGS"
        )]
        args: Vec<String>,
    },
    /// Check an image against waste thresholds; exit 1 when a rule fails.
    Ci {
        image: String,
        /// Rules file (TOML like .layerlens-ci.toml, or dive's .dive-ci YAML).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Fail when efficiency is below F (0..1). "disabled" skips the rule.
        #[arg(long, value_name = "F")]
        lowest_efficiency: Option<String>,
        /// Fail when dive's wasted bytes exceed SIZE (e.g. 20MB).
        #[arg(long, value_name = "SIZE")]
        highest_wasted_bytes: Option<String>,
        /// Fail when wasted bytes / user size exceed F.
        #[arg(long, value_name = "F")]
        highest_user_wasted_percent: Option<String>,
        /// Fail when reclaimable bytes exceed SIZE.
        #[arg(long, value_name = "SIZE")]
        highest_reclaimable_bytes: Option<String>,
        /// Fail when the bytes `advise` finds removable exceed SIZE.
        #[arg(long, value_name = "SIZE")]
        highest_advice_bytes: Option<String>,
    },
    /// Before `docker push`: what the push uploads (per layer: exists, mount, upload),
    /// what nodes pull and what the egress costs, and which secrets would ship.
    /// Read-only: only GET and HEAD reach the registry. Exit 1 when a --fail-on rule is hit.
    Triage(triage::TriageArgs),
}

/// `:NEWTAG` means "the repository of A, tag NEWTAG" (A must be a daemon reference).
pub fn expand_shorthand(a: &str, b: &str) -> Result<String> {
    let Some(tag) = b.strip_prefix(':') else {
        return Ok(b.to_string());
    };
    if !ImageSource::parse(a).is_ok_and(|s| s.is_daemon()) {
        return Err(Error::usage(format!(
            "{b}: the :TAG shorthand names another tag of A's repository, so A must be a daemon image (name:tag), not {a}; write B in full"
        )));
    }
    let (prefix, name) = match a.strip_prefix("docker://") {
        Some(r) => ("docker://", r),
        None => ("", a),
    };
    let repo = match name.rfind(':') {
        Some(i) if !name[i..].contains('/') => &name[..i],
        _ => name.split('@').next().unwrap_or(name),
    };
    Ok(format!("{prefix}{repo}:{tag}"))
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum AdviseFormat {
    Text,
    Json,
    Sarif,
    Markdown,
}

pub use crate::report::dockerfile::{MappedDockerfile, build_dockerfile, map_dockerfile};

/// Add B's Dockerfile lines to a diff (see [`crate::report::dockerfile::annotate_diff`]).
pub fn annotate_diff(
    text: String,
    format: Format,
    b: &Image,
    d: &crate::analysis::diff::ImageDiff,
    m: &MappedDockerfile,
) -> String {
    report::dockerfile::annotate_diff(text, format == Format::Json, b, d, m)
}

/// Load an image with a progress bar on stderr when it is a terminal.
pub fn load_image(reference: &str, global: &Global) -> Result<Image> {
    load_image_cached(reference, global, None)
}

/// Same, sharing parsed layers through `cache`.
pub fn load_image_cached(
    reference: &str,
    global: &Global,
    cache: Option<source::LayerCache>,
) -> Result<Image> {
    load_image_with(reference, global, cache, false)
}

/// Same; `keep_export` keeps a daemon export for later reads of layer bytes.
pub fn load_image_with(
    reference: &str,
    global: &Global,
    cache: Option<source::LayerCache>,
    keep_export: bool,
) -> Result<Image> {
    let src = ImageSource::parse(reference)?;
    let platform = global
        .platform
        .as_deref()
        .map(Platform::parse)
        .transpose()?;
    let progress = Arc::new(Progress::default());
    let opts = LoadOptions {
        platform,
        progress: Some(progress.clone()),
        cache,
        keep_export,
    };
    if let ImageSource::DockerArchive(p, _) | ImageSource::OciArchive(p, _) = &src {
        if let Ok(md) = std::fs::metadata(p) {
            progress
                .total
                .store(md.len(), std::sync::atomic::Ordering::Relaxed);
        }
    }
    let show = !global.quiet && std::io::stderr().is_terminal();
    if !show {
        return source::load(&src, reference, &opts);
    }
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let h = s.spawn(|| {
            let r = source::load(&src, reference, &opts);
            done.store(true, std::sync::atomic::Ordering::Release);
            r
        });
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} loading {msg} {bytes}/{total_bytes} ({bytes_per_sec})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.set_message(reference.to_string());
        let start = std::time::Instant::now();
        while !done.load(std::sync::atomic::Ordering::Acquire) {
            std::thread::sleep(std::time::Duration::from_millis(50));
            if start.elapsed() > std::time::Duration::from_millis(300) {
                let total = progress.total.load(std::sync::atomic::Ordering::Relaxed);
                if total > 0 {
                    bar.set_length(total);
                }
                bar.set_position(progress.read.load(std::sync::atomic::Ordering::Relaxed));
                bar.tick();
            }
        }
        bar.finish_and_clear();
        h.join()
            .unwrap_or_else(|_| Err(Error::other("the loader crashed")))
    })
}

fn write_stdout(s: &str) -> Result<()> {
    // Text from an image never reaches the terminal raw (JSON is escaped already).
    let s = report::escape_controls(s);
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::io(format!("writing output: {e}"))),
    }
}

/// Run a headless command; returns the process exit code.
pub fn run_command(cmd: Command, global: &Global) -> Result<i32> {
    match cmd {
        Command::Triage(args) => triage::run(args, global),
        Command::Report {
            image,
            format,
            output,
            dockerfile,
        } => {
            let t0 = std::time::Instant::now();
            let mut img = load_image(&image, global)?;
            timing("load (parse + stack)", t0);
            if ImageSource::parse(&image).is_ok_and(|s| s.is_daemon()) {
                if let Ok(others) = source::daemon::list_images() {
                    img.shared_with = Some(crate::analysis::cache::shared_with(&img, &others));
                }
            }
            let t1 = std::time::Instant::now();
            let w = waste::analyze(&img);
            timing("waste analysis", t1);
            let mapped = map_dockerfile(&img, dockerfile.as_deref())?;
            let with = mapped.as_ref().map(|m| m.with());
            let t2 = std::time::Instant::now();
            let text = match format {
                Format::Json => {
                    let t = std::time::Instant::now();
                    let findings = crate::analysis::advice::analyze(&img, &w, with);
                    timing("advice", t);
                    report::json::render_with(&img, &w, with, &findings)
                }
                Format::Text => report::text::render_with(&img, &w, with),
            };
            timing("render", t2);
            match output {
                Some(p) => std::fs::write(&p, text)
                    .map_err(|e| Error::io(format!("writing {}: {e}", p.display())))?,
                None => write_stdout(&text)?,
            }
            // The process ends now: leave the tree to the OS instead of freeing it.
            std::mem::forget((img, w));
            Ok(0)
        }
        Command::Advise {
            image,
            dockerfile,
            format,
            output,
        } => {
            // Read the Dockerfile first: a bad path fails before a long load.
            if let Some(p) = &dockerfile {
                crate::dockerfile::load(p)?;
            }
            let img = load_image(&image, global)?;
            let w = waste::analyze(&img);
            let mapped = map_dockerfile(&img, dockerfile.as_deref())?;
            let findings =
                crate::analysis::advice::analyze(&img, &w, mapped.as_ref().map(|m| m.with()));
            let path = mapped.as_ref().map(|m| m.df.path.as_str());
            let warnings: Vec<String> = mapped
                .as_ref()
                .map(|m| {
                    m.df.warnings
                        .iter()
                        .chain(&m.mapping.warnings)
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            let text = match format {
                AdviseFormat::Text => report::advice::render_text(&img, path, &findings),
                AdviseFormat::Json => report::advice::render_json(&img, path, &findings, &warnings),
                AdviseFormat::Sarif => report::sarif::render(&image, &findings),
                AdviseFormat::Markdown => {
                    report::markdown::render(&image, img.size_bytes(), &findings)
                }
            };
            match output {
                Some(p) => std::fs::write(&p, text)
                    .map_err(|e| Error::io(format!("writing {}: {e}", p.display())))?,
                None => write_stdout(&text)?,
            }
            Ok(0)
        }
        Command::Files {
            image,
            layer,
            changes,
            format,
        } => {
            let img = load_image(&image, global)?;
            let n = img.layers.len();
            if n == 0 {
                return Err(Error::new(ErrorKind::Usage, "the image has no layers"));
            }
            let l = layer.unwrap_or(n - 1);
            if l >= n {
                return Err(Error::usage(format!(
                    "--layer {l} is out of range: the image has layers 0..{}",
                    n - 1
                )));
            }
            // Streamed: a listing can be far larger than the image's metadata.
            let stdout = std::io::stdout().lock();
            let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout);
            match report::files::write_listing(&img, l, changes, format == Format::Json, &mut out) {
                Ok(()) => Ok(0),
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
                Err(e) => Err(Error::io(format!("writing output: {e}"))),
            }
        }
        Command::Diff {
            a,
            b,
            format,
            output,
            dockerfile,
        } => {
            let b = expand_shorthand(&a, &b)?;
            let (ia, ib) = load_pair(&a, &b, global)?;
            let d = crate::analysis::diff::diff(&ia, &ib);
            let fmt = format.unwrap_or(Format::Text);
            let mut text = match fmt {
                Format::Json => report::diff::render_json(&ia, &ib, &d),
                Format::Text => report::diff::render_text(&ia, &ib, &d),
            };
            if let Some(m) = map_dockerfile(&ib, dockerfile.as_deref())? {
                text = annotate_diff(text, fmt, &ib, &d, &m);
            }
            match output {
                Some(p) => std::fs::write(&p, text)
                    .map_err(|e| Error::io(format!("writing {}: {e}", p.display())))?,
                None => write_stdout(&text)?,
            }
            Ok(0)
        }
        Command::Build { format, args } => {
            let outcome = build(&args)?;
            match outcome {
                BuildOutcome::Compare { old, new } => {
                    let (ia, ib) = load_pair(&old, &new, global)?;
                    let d = crate::analysis::diff::diff(&ia, &ib);
                    let fmt = format.unwrap_or(Format::Text);
                    let mut text = match fmt {
                        Format::Json => report::diff::render_json(&ia, &ib, &d),
                        Format::Text => report::diff::render_text(&ia, &ib, &d),
                    };
                    // The build's own Dockerfile (-f, else ./Dockerfile in the context).
                    if let Some(p) = build_dockerfile(&args).filter(|p| p.is_file()) {
                        if let Some(m) = map_dockerfile(&ib, Some(&p))? {
                            text = annotate_diff(text, fmt, &ib, &d, &m);
                        }
                    }
                    write_stdout(&text)?;
                }
                BuildOutcome::Message(m) => eprintln!("layerlens: {m}"),
            }
            Ok(0)
        }
        Command::Ci {
            image,
            config,
            lowest_efficiency,
            highest_wasted_bytes,
            highest_user_wasted_percent,
            highest_reclaimable_bytes,
            highest_advice_bytes,
        } => {
            let (mut rules, from) = report::ci::Rules::load(config.as_deref(), Path::new("."))?;
            for (k, v) in [
                ("lowest-efficiency", lowest_efficiency),
                ("highest-wasted-bytes", highest_wasted_bytes),
                ("highest-user-wasted-percent", highest_user_wasted_percent),
                ("highest-reclaimable-bytes", highest_reclaimable_bytes),
                ("highest-advice-bytes", highest_advice_bytes),
            ] {
                if let Some(v) = v {
                    rules.set(k, &v)?;
                }
            }
            let img = load_image(&image, global)?;
            let w = waste::analyze(&img);
            // Advice only when its rule is on (it walks the whole final filesystem).
            let advice = match rules.highest_advice_bytes {
                report::ci::Threshold::Disabled => 0,
                _ => crate::analysis::advice::removable_bytes(&crate::analysis::advice::analyze(
                    &img, &w, None,
                )),
            };
            let results = report::ci::evaluate_with_advice(&rules, &w, advice);
            let mut text = format!(
                "{}: efficiency {:.4}, wasted {}, user wasted {:.4}, reclaimable {}\n",
                image,
                w.efficiency,
                report::human(w.wasted_bytes),
                w.user_wasted_percent,
                report::human(w.reclaimable_bytes)
            );
            text.push_str(&report::ci::render(&results, from.as_deref()));
            if results
                .iter()
                .any(|r| r.outcome == report::ci::Outcome::Fail)
            {
                text.push_str(&report::text::ci_culprits(&img, &w));
            }
            write_stdout(&text)?;
            Ok(
                if results
                    .iter()
                    .any(|r| r.outcome == report::ci::Outcome::Fail)
                {
                    1
                } else {
                    0
                },
            )
        }
    }
}

/// Load two images, parsing the layers they share once.
pub fn load_pair(a: &str, b: &str, global: &Global) -> Result<(Image, Image)> {
    // Two daemon images read through the export: one export of both.
    let platform = global
        .platform
        .as_deref()
        .map(Platform::parse)
        .transpose()?;
    let opts = LoadOptions {
        platform,
        progress: None,
        cache: None,
        keep_export: false,
    };
    if let Some(pair) = source::load_daemon_pair(a, b, &opts)? {
        return Ok(pair);
    }
    let cache: source::LayerCache = Default::default();
    let ia = load_image_cached(a, global, Some(cache.clone()))
        .map_err(|e| e.context(format!("loading {a}")))?;
    let ib =
        load_image_cached(b, global, Some(cache)).map_err(|e| e.context(format!("loading {b}")))?;
    Ok((ia, ib))
}

/// Path of the bundled sample image.
pub fn sample_path() -> PathBuf {
    let candidates = [
        std::env::current_exe().ok().and_then(|p| {
            p.parent()
                .and_then(|d| d.parent())
                .and_then(|d| d.parent())
                .map(|d| d.join("assets/sample.tar"))
        }),
        Some(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/assets/sample.tar"
        ))),
        Some(PathBuf::from("assets/sample.tar")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("assets/sample.tar"))
}

/// What a build leaves to compare.
pub enum BuildOutcome {
    /// The tag moved from `old` to `new` (image ids).
    Compare { old: String, new: String },
    /// Nothing to compare, and why.
    Message(String),
}

/// The tags a `docker build` command line sets.
pub fn build_tags(args: &[String]) -> Vec<String> {
    let mut tags = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "-t" || a == "--tag" {
            if let Some(t) = it.next() {
                tags.push(t.clone());
            }
        } else if let Some(t) = a.strip_prefix("--tag=") {
            tags.push(t.to_string());
        } else if let Some(t) = a
            .strip_prefix("-t")
            .filter(|t| !t.is_empty() && !a.starts_with("--"))
        {
            tags.push(t.to_string());
        }
    }
    tags
}

/// Run `docker build --iidfile … ARGS` with the user's docker CLI; report what the
/// first tag pointed to before and after.
pub fn build(args: &[String]) -> Result<BuildOutcome> {
    let tags = build_tags(args);
    let before = tags
        .first()
        .and_then(|t| source::daemon::describe_image(t).ok())
        .map(|(i, _)| i.id);
    let dir = std::env::temp_dir().join(format!("layerlens-build-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("{}: {e}", dir.display())))?;
    let iid = dir.join("iid");
    let status = std::process::Command::new("docker")
        .arg("build")
        .arg("--iidfile")
        .arg(&iid)
        .args(args)
        // docker's own output goes to stderr: our stdout is the diff (maybe JSON).
        .stdout(std::process::Stdio::from(std::io::stderr()))
        .status()
        .map_err(|e| {
            Error::io(format!(
                "cannot run docker: {e} (is the docker CLI installed?)"
            ))
        })?;
    let new = std::fs::read_to_string(&iid)
        .ok()
        .map(|s| s.trim().to_string());
    let _ = std::fs::remove_dir_all(&dir);
    if !status.success() {
        return Err(Error::other(format!("docker build failed ({status})")));
    }
    let new = new
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::other("docker build did not report the image id"))?;
    Ok(match (tags.first(), before) {
        (None, _) => BuildOutcome::Message(format!(
            "built {new}; give it a tag (-t) so the next build can be compared"
        )),
        (Some(t), None) => BuildOutcome::Message(format!(
            "first build of {t} ({new}): nothing to compare yet"
        )),
        (Some(t), Some(old)) if old == new => BuildOutcome::Message(format!(
            "{t} is unchanged: every layer was a cache hit ({new})"
        )),
        (Some(_), Some(old)) => BuildOutcome::Compare { old, new },
    })
}

/// With `LAYERLENS_TIMINGS=1`, print how long a phase took on stderr (for profiling).
pub fn timing(what: &str, since: std::time::Instant) {
    if std::env::var_os("LAYERLENS_TIMINGS").is_some() {
        // With the resident and peak memory so far (Linux).
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
                .map_or(String::new(), |kb| format!(", {name} {} MiB", kb >> 10))
        };
        eprintln!(
            "timing: {what}: {:.1} ms{}{}",
            since.elapsed().as_secs_f64() * 1e3,
            field("VmRSS:"),
            field("VmHWM:")
        );
    }
}

/// Run what the command line asks for: the explorer, one of the headless commands, or
/// on a terminal the diff screen for `diff` and `build` without `--format`. The exit
/// code of a command that ran (errors are the caller's to print).
pub fn dispatch(args: Cli) -> Result<i32> {
    use std::io::IsTerminal;
    if args.global.default_config {
        print!("{}", crate::tui::keymap::DEFAULT_CONFIG);
        return Ok(0);
    }
    let mode: crate::source::DaemonRead = args.global.daemon_read.parse()?;
    crate::source::set_daemon_read(mode);
    crate::source::registry::add_insecure_registries(&args.global.insecure_registry);
    let platform = |g: &Global| -> Result<Option<crate::source::layout::Platform>> {
        g.platform
            .as_deref()
            .map(crate::source::layout::Platform::parse)
            .transpose()
    };
    let tty = std::io::stdout().is_terminal();
    match args.command {
        // Without --format on a terminal, a diff opens the explorer's diff mode.
        Some(Command::Diff {
            a,
            b,
            format: None,
            output: None,
            ..
        }) if tty => {
            let b = expand_shorthand(&a, &b)?;
            let p = platform(&args.global)?;
            crate::tui::run_start(crate::tui::Start::Diff(a, b), p, sample_path())
        }
        // A build on a terminal opens the diff of the tag's old and new images.
        Some(Command::Build {
            format: None,
            args: build_args,
        }) if tty => match build(&build_args)? {
            BuildOutcome::Compare { old, new } => {
                let p = platform(&args.global)?;
                crate::tui::run_start(crate::tui::Start::Diff(old, new), p, sample_path())
            }
            BuildOutcome::Message(m) => {
                eprintln!("layerlens: {m}");
                Ok(0)
            }
        },
        Some(cmd) => run_command(cmd, &args.global),
        None => {
            let p = platform(&args.global)?;
            crate::tui::run_opts(
                crate::tui::Start::Image(args.image.clone()),
                p,
                sample_path(),
                crate::tui::Options {
                    dockerfile: args.dockerfile.clone(),
                    push_to: args.push_to.clone(),
                },
            )
        }
    }
}
