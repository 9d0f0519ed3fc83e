//! `layerlens triage IMAGE`: what a push uploads, what nodes pull, what it costs, and
//! which secrets would ship. Gathers the facts (read-only: only GET and HEAD reach the
//! registry), then [`crate::analysis::push::triage`] puts them together and
//! [`crate::report::triage`] prints them.

use super::{Global, load_image_with};
use crate::analysis::push::{
    self, EgressParams, FailRule, ImageInfo, LayerFacts, Target, Triage, parse_bandwidth,
    parse_price,
};
use crate::analysis::secrets::{self, Secret};
use crate::error::{Error, Result};
use crate::model::Image;
use crate::report;
use crate::source::registry::facts::{self, registry_of};
use crate::source::registry::{self, Registry, RegistryRef};
use crate::source::{ImageSource, layout::Platform};
use clap::{Args, ValueEnum};
use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum TriageFormat {
    Text,
    Json,
    Markdown,
    /// SARIF 2.1.0: secrets (errors) and advice, at their Dockerfile lines.
    Sarif,
}

#[derive(Args, Debug, Clone)]
pub struct TriageArgs {
    /// The image about to be pushed.
    pub image: String,
    /// Where it will be pushed: [HOST/]REPO[:TAG] (default: the image's own name when it
    /// names a registry; TAG defaults to the image's tag).
    #[arg(long, value_name = "[HOST/]REPO[:TAG]")]
    pub to: Option<String>,
    /// The image nodes run now, on the target registry ([HOST/]REPO:TAG, or :TAG of the
    /// target repository); default: what the target tag points to before the push, else
    /// the repository's newest image.
    #[arg(long, value_name = "REF")]
    pub against: Option<String>,
    /// Link speed for push and pull times (100Mbit, 1Gbit, 20MB/s).
    #[arg(long, default_value = "100Mbit", value_name = "RATE")]
    pub bandwidth: String,
    /// Nodes that pull each deploy.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub nodes: u64,
    /// Deploys per day (each node pulls once per deploy).
    #[arg(long, default_value = "1", value_name = "N")]
    pub deploys_per_day: String,
    /// Egress price (0.09/GB; GB = 10^9 bytes).
    #[arg(long, default_value = "0.09/GB", value_name = "PRICE")]
    pub egress_price: String,
    /// The Dockerfile the image was built from: advice and secrets name its lines.
    #[arg(long, value_name = "PATH")]
    pub dockerfile: Option<PathBuf>,
    /// Exit 1 when one is hit: secrets, upload-bytes=SIZE, pull-bytes=SIZE,
    /// egress-cost=AMOUNT, advice-bytes=SIZE (comma-separated).
    #[arg(long, value_name = "RULES")]
    pub fail_on: Option<String>,
    #[arg(long, value_enum, default_value_t = TriageFormat::Text)]
    pub format: TriageFormat,
    /// Write the output to FILE.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Parse `secrets,upload-bytes=50MB,pull-bytes=1GB,egress-cost=100`.
pub fn parse_fail_on(s: &str) -> Result<Vec<FailRule>> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = match part.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim())),
            None => (part, None),
        };
        let size = |v: Option<&str>| -> Result<u64> {
            let v =
                v.ok_or_else(|| Error::usage(format!("--fail-on {k} needs a size: {k}=50MB")))?;
            match report::ci::parse_size(v)? {
                report::ci::Threshold::Value(n) => Ok(n as u64),
                report::ci::Threshold::Disabled => Err(Error::usage(format!(
                    "--fail-on {k}: a size is needed, not {v:?}"
                ))),
            }
        };
        out.push(match k {
            "secrets" | "secret" => FailRule::Secrets,
            "upload-bytes" => FailRule::UploadBytes(size(v)?),
            "pull-bytes" => FailRule::PullBytes(size(v)?),
            "advice-bytes" => FailRule::AdviceBytes(size(v)?),
            "egress-cost" => {
                let v = v.ok_or_else(|| Error::usage("--fail-on egress-cost needs an amount: egress-cost=100"))?;
                FailRule::EgressCost(v.trim_start_matches('$').parse().map_err(|_| {
                    Error::usage(format!("--fail-on egress-cost: invalid amount {v:?}"))
                })?)
            }
            other => {
                return Err(Error::usage(format!(
                    "--fail-on: unknown rule {:?} (expected secrets, upload-bytes=SIZE, pull-bytes=SIZE, egress-cost=AMOUNT, advice-bytes=SIZE)",
                    report::escape_controls(other)
                )));
            }
        });
    }
    Ok(out)
}

/// The push target from `--to` (or the image's own registry name).
fn target(args: &TriageArgs, img: &Image) -> Result<Option<Target>> {
    let own_tag = |name: &str| -> Option<String> {
        let last = name.rsplit('/').next()?;
        last.split_once(':').map(|(_, t)| t.to_string())
    };
    let image_tag = own_tag(args.image.trim_start_matches("docker://"))
        .or_else(|| img.repo_tags.first().and_then(|t| own_tag(t)))
        .unwrap_or_else(|| "latest".into());
    let name = match &args.to {
        Some(t) => t.trim_start_matches("registry://").to_string(),
        None => {
            // The image argument names a registry only when it is a daemon or registry
            // reference, not an archive or layout path (`docker-archive:x.tar`).
            let image_ref = matches!(
                crate::source::ImageSource::parse(&args.image),
                Ok(crate::source::ImageSource::Daemon(_) | crate::source::ImageSource::Registry(_))
            )
            .then_some(&args.image);
            let named = img.repo_tags.iter().chain(image_ref).find(|t| {
                let (host, _) = registry_of(t);
                host != "docker.io" && t.contains('/')
            });
            match named {
                Some(n) => n.trim_start_matches("docker://").to_string(),
                None => return Ok(None),
            }
        }
    };
    if name.is_empty() || name.contains(char::is_whitespace) || name.contains('@') {
        return Err(Error::usage(format!(
            "--to {:?}: expected [HOST/]REPO[:TAG]",
            report::escape_controls(&name)
        )));
    }
    let (name, tag) = match name.rsplit_once(':') {
        Some((n, t)) if !t.contains('/') => (n.to_string(), t.to_string()),
        _ => (name.clone(), image_tag),
    };
    let (host, repo) = registry_of(&name);
    let check = format!("{host}/{repo}:{tag}");
    RegistryRef::parse(&check).map_err(|e| Error::usage(format!("--to: {}", e.message)))?;
    Ok(Some(Target {
        registry: host,
        repository: repo,
        tag,
    }))
}

/// Read candidate files (only those, at most [`secrets::READ_CAP`] bytes each) and
/// scan them.
fn find_secrets(src: &ImageSource, img: &Image, notes: &mut Vec<String>) -> Vec<Secret> {
    let cands = secrets::candidates(img);
    let mut by_layer: HashMap<usize, Vec<&secrets::Candidate>> = HashMap::new();
    for c in &cands {
        by_layer.entry(c.layer).or_default().push(c);
    }
    let mut layers: Vec<usize> = by_layer.keys().copied().collect();
    layers.sort();
    let mut out = Vec::new();
    for l in layers {
        let list = &by_layer[&l];
        let wanted: rustc_hash::FxHashSet<Vec<u8>> = list.iter().map(|c| c.path.clone()).collect();
        let mut found: Vec<Secret> = Vec::new();
        let r = crate::source::read::scan_layer(
            src,
            &img.layers[l].blob,
            Some(&wanted),
            &mut |path, entry| {
                let mut head = Vec::new();
                let _ = entry.take(secrets::READ_CAP as u64).read_to_end(&mut head);
                if let Some(c) = list.iter().find(|c| c.path == path) {
                    found.extend(secrets::scan(c, &head));
                }
                Ok(true)
            },
        );
        if let Err(e) = r {
            notes.push(format!(
                "secrets: layer {l} could not be read: {}",
                e.message
            ));
        }
        out.extend(found.into_iter().map(|s| secrets::locate(img, s)));
    }
    out
}

fn image_info(img: &Image) -> ImageInfo {
    let mut platform = format!("{}/{}", img.os, img.architecture);
    if let Some(v) = &img.variant {
        platform.push('/');
        platform.push_str(v);
    }
    ImageInfo {
        reference: img.reference.clone(),
        id: img.id.clone(),
        tags: img.repo_tags.clone(),
        platform,
        layers: img.layers.len(),
        size_bytes: img.size_bytes(),
    }
}

/// Where Docker keeps its push/pull record, when this process can read it.
fn daemon_image_root() -> Option<PathBuf> {
    let si = crate::source::daemon::storage_info().ok()?;
    let store = crate::source::docker_store::DockerStore::locate(&si).ok()?;
    Some(store.root.join("image").join(&store.driver))
}

/// The image the warm node runs: `--against`, else what the target tag points to now.
fn against(
    args: &TriageArgs,
    reg: &Registry,
    target: &Target,
    current: Option<facts::RemoteImage>,
    platform: Option<&Platform>,
) -> Result<Option<(String, Vec<String>)>> {
    let Some(a) = &args.against else {
        return Ok(current.map(|c| (c.reference, c.diff_ids)));
    };
    let a = a.trim_start_matches("registry://");
    let full = if let Some(tag) = a.strip_prefix(':') {
        format!("{}/{}:{tag}", target.registry, target.repository)
    } else {
        let first = a.split('/').next().unwrap_or("");
        let has_host =
            a.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
        if has_host {
            a.to_string()
        } else {
            format!("{}/{a}", target.registry)
        }
    };
    let r =
        RegistryRef::parse(&full).map_err(|e| Error::usage(format!("--against: {}", e.message)))?;
    if r.registry != target.registry {
        return Err(Error::usage(format!(
            "--against {full}: must be on the target registry {}",
            target.registry
        )));
    }
    let resolved = registry::load::resolve(reg, &r, platform)?;
    let v: serde_json::Value = serde_json::from_slice(&resolved.config)
        .map_err(|e| Error::corrupt(format!("{full}: the image config is not JSON: {e}")))?;
    let diffs = v["rootfs"]["diff_ids"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|d| d.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Ok(Some((r.to_string(), diffs)))
}

/// Plan the push: gather, then measure what uploads (and what has no known size).
fn push_plan(
    args: &TriageArgs,
    src: &ImageSource,
    img: &Image,
    target: &Target,
    bandwidth: f64,
    platform: Option<&Platform>,
) -> Result<(push::PushPlan, Option<(String, Vec<String>)>)> {
    let reg = Registry::new(&target.registry)?;
    let local = if crate::source::daemon::ping().is_ok() {
        crate::source::daemon::pushed_images().unwrap_or_default()
    } else {
        Vec::new()
    };
    let root = if src.is_daemon() {
        daemon_image_root()
    } else {
        None
    };
    let (mut layer_facts, current): (Vec<LayerFacts>, _) =
        facts::gather(&reg, target, img, &local, root.as_deref(), platform)?;
    let first = push::plan(target, &layer_facts, bandwidth);
    let want: Vec<usize> = first
        .layers
        .iter()
        .filter(|l| l.action == push::Action::Upload || l.blob_size == 0)
        .map(|l| l.index)
        .collect();
    let measured = facts::measure_layers(src, img, &want)?;
    for (i, m) in measured {
        let f = &mut layer_facts[i];
        for k in f.known.iter_mut() {
            if k.size.is_none() {
                k.size = Some(m.size);
            }
        }
        f.measured = Some(m);
    }
    let plan = push::plan(target, &layer_facts, bandwidth);
    let against = against(args, &reg, target, current, platform)?;
    Ok((plan, against))
}

impl TriageArgs {
    /// Arguments for `image` with every default (what `layerlens triage IMAGE` uses).
    pub fn for_image(image: &str) -> TriageArgs {
        TriageArgs {
            image: image.to_string(),
            to: None,
            against: None,
            bandwidth: "100Mbit".into(),
            nodes: 1,
            deploys_per_day: "1".into(),
            egress_price: "0.09/GB".into(),
            dockerfile: None,
            fail_on: None,
            format: TriageFormat::Text,
            output: None,
        }
    }
}

/// The whole triage of a loaded image: the facts gathered read-only (registry, daemon,
/// layer bytes), then [`push::triage`]. Blocking (network and layer reads); the
/// explorer runs it as a background job.
pub fn compute(
    args: &TriageArgs,
    src: &ImageSource,
    img: &Image,
    platform: Option<&Platform>,
) -> Result<Triage> {
    let bandwidth = parse_bandwidth(&args.bandwidth).ok_or_else(|| {
        Error::usage(format!(
            "invalid --bandwidth {:?}: expected e.g. 100Mbit, 1Gbit, 20MB/s",
            report::escape_controls(&args.bandwidth)
        ))
    })?;
    let price = parse_price(&args.egress_price).ok_or_else(|| {
        Error::usage(format!(
            "invalid --egress-price {:?}: expected e.g. 0.09/GB",
            report::escape_controls(&args.egress_price)
        ))
    })?;
    let deploys: f64 = args
        .deploys_per_day
        .parse()
        .ok()
        .filter(|d: &f64| d.is_finite() && *d >= 0.0)
        .ok_or_else(|| {
            Error::usage(format!(
                "invalid --deploys-per-day {:?}: expected a number",
                report::escape_controls(&args.deploys_per_day)
            ))
        })?;
    let rules = match &args.fail_on {
        Some(s) => parse_fail_on(s)?,
        None => Vec::new(),
    };
    let mut notes = Vec::new();
    let target = target(args, img)?;
    let (plan, against) = match &target {
        Some(t) => {
            let (p, a) = push_plan(args, src, img, t, bandwidth, platform)?;
            if a.is_none() {
                notes.push(format!(
                    "{}/{} has no image yet: every node pulls the image cold",
                    t.registry, t.repository
                ));
            }
            (Some(p), a)
        }
        None => {
            notes.push(
                "no push target: give --to [HOST/]REPO[:TAG] for the push and pull plans".into(),
            );
            (None, None)
        }
    };
    let w = crate::analysis::waste::analyze(img);
    let mapped = crate::report::dockerfile::map_dockerfile(img, args.dockerfile.as_deref())?;
    let findings = crate::analysis::advice::analyze(img, &w, mapped.as_ref().map(|m| m.with()));
    let mut secrets = find_secrets(src, img, &mut notes);
    if let Some(m) = &mapped {
        for s in &mut secrets {
            s.dockerfile = m
                .mapping
                .instruction_of_layer(img, s.layer)
                .map(|i| crate::dockerfile::map::location(&m.df, i));
        }
    }
    Ok(push::triage(
        image_info(img),
        plan,
        against.as_ref().map(|(n, d)| (n.as_str(), d.as_slice())),
        bandwidth,
        Some(EgressParams {
            nodes: args.nodes,
            deploys_per_day: deploys,
            price_per_gb: price,
        }),
        secrets,
        findings,
        push::WasteFigures::of(&w),
        &rules,
        notes,
    ))
}

/// Run `layerlens triage`; the exit code (1 when a `--fail-on` rule is hit).
pub fn run(args: TriageArgs, global: &Global) -> Result<i32> {
    // Bad flags are reported before the (slow) load.
    if let Some(s) = &args.fail_on {
        parse_fail_on(s)?;
    }
    if let Some(p) = &args.dockerfile {
        crate::dockerfile::load(p)?;
    }
    for (flag, ok) in [
        ("--bandwidth", parse_bandwidth(&args.bandwidth).is_some()),
        ("--egress-price", parse_price(&args.egress_price).is_some()),
    ] {
        if !ok {
            let v = if flag == "--bandwidth" {
                &args.bandwidth
            } else {
                &args.egress_price
            };
            return Err(Error::usage(format!(
                "invalid {flag} {:?}: expected e.g. {}",
                report::escape_controls(v),
                if flag == "--bandwidth" {
                    "100Mbit, 1Gbit, 20MB/s"
                } else {
                    "0.09/GB"
                }
            )));
        }
    }
    let platform = global
        .platform
        .as_deref()
        .map(Platform::parse)
        .transpose()?;
    let src = ImageSource::parse(&args.image)?;
    // Secrets and upload sizes read layer bytes again: keep a daemon export.
    let img = load_image_with(&args.image, global, None, true)?;
    let t = compute(&args, &src, &img, platform.as_ref())?;
    let text = match args.format {
        TriageFormat::Json => report::triage::render_json(&t),
        TriageFormat::Text => report::triage::render_text(&t),
        TriageFormat::Markdown => report::triage::render_markdown(&t),
        TriageFormat::Sarif => report::sarif::render_triage(&t),
    };
    match &args.output {
        Some(p) => std::fs::write(p, text)
            .map_err(|e| Error::io(format!("writing {}: {e}", p.display())))?,
        None => super::write_stdout(&text)?,
    }
    Ok(if t.failures.is_empty() { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_on_rules_parse() {
        assert_eq!(
            parse_fail_on("secrets,upload-bytes=50MB").unwrap(),
            vec![FailRule::Secrets, FailRule::UploadBytes(50_000_000)]
        );
        assert_eq!(
            parse_fail_on("pull-bytes=1KiB, egress-cost=$12.5").unwrap(),
            vec![FailRule::PullBytes(1024), FailRule::EgressCost(12.5)]
        );
        assert!(parse_fail_on("upload-bytes").is_err());
        assert!(parse_fail_on("nonsense").is_err());
    }
}
