//! Triage before push: what `docker push` will send, what nodes will pull, what that
//! costs. Pure functions over facts gathered elsewhere (the registry's answers to HEAD,
//! the compressed digests known for each layer, measured gzip sizes), so the explorer
//! and the CLI share them.
//!
//! `docker push` (classic store), per layer: when a compressed digest it knows for the
//! layer's diff id is in the target repository → "Layer already exists"; else when one
//! is in another repository of the same registry → a cross-repository mount ("Mounted
//! from …"); else it gzips the layer and uploads it ("Pushed"). A node pulls the layers
//! whose chain (the layer and everything below) it does not have.

use crate::analysis::cache::chain_ids;
use serde::Serialize;
use std::collections::HashSet;

/// What `docker push` does with one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The target repository already has the blob.
    Exists,
    /// Another repository on the same registry has it: mounted, nothing uploaded.
    Mount,
    /// Compressed and uploaded.
    Upload,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Exists => "exists",
            Action::Mount => "mount",
            Action::Upload => "upload",
        }
    }
}

/// A compressed blob known for a layer, and where the registry has it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownBlob {
    pub digest: String,
    pub size: Option<u64>,
    /// `HEAD` in the target repository answered 200.
    pub in_target: bool,
    /// Other repositories of the same registry whose `HEAD` answered 200.
    pub in_repos: Vec<String>,
    /// Where the digest was learnt (tag manifest, local image, daemon, OCI layout).
    pub learnt_from: String,
}

/// The gzip docker push would upload, measured from the layer (its digest is only
/// known once docker has made it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Measured {
    pub size: u64,
}

/// What is known of one layer before planning.
#[derive(Debug, Clone, Default)]
pub struct LayerFacts {
    pub diff_id: String,
    pub known: Vec<KnownBlob>,
    pub measured: Option<Measured>,
}

/// Where the push goes.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Target {
    pub registry: String,
    pub repository: String,
    pub tag: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PushLayer {
    pub index: usize,
    pub diff_id: String,
    /// The compressed digest the registry has (None for an upload: docker makes the
    /// gzip, and its digest, while pushing).
    pub digest: Option<String>,
    pub action: Action,
    /// For `mount`: the repository it is mounted from.
    pub from: Option<String>,
    /// Bytes that travel for this layer (0 unless uploaded).
    pub bytes: u64,
    /// Compressed size of the layer's blob in the registry (what a node pulls).
    pub blob_size: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PushPlan {
    pub registry: String,
    pub repository: String,
    pub tag: String,
    pub layers: Vec<PushLayer>,
    pub upload_layers: usize,
    pub upload_bytes: u64,
    pub exists_layers: usize,
    pub mount_layers: usize,
    /// Upload time at the bandwidth.
    pub seconds: f64,
    pub bandwidth_bits_per_second: f64,
}

/// Plan the push of layers with `facts` (bottom first) to `target`.
pub fn plan(target: &Target, facts: &[LayerFacts], bandwidth_bits_per_second: f64) -> PushPlan {
    let mut layers = Vec::with_capacity(facts.len());
    // One push sends a diff id once; a repeated layer is "already exists".
    let mut seen: HashSet<&str> = HashSet::new();
    for (index, f) in facts.iter().enumerate() {
        let first = seen.insert(f.diff_id.as_str());
        let in_target = f.known.iter().find(|k| k.in_target);
        let mount = f.known.iter().find(|k| !k.in_repos.is_empty());
        let (action, digest, from, bytes, blob_size) = if let Some(k) = in_target {
            (
                Action::Exists,
                Some(k.digest.clone()),
                None,
                0,
                k.size.unwrap_or(0),
            )
        } else if let Some(k) = mount {
            // docker tries the repository most like the target first (most leading
            // path components in common).
            let mut repos = k.in_repos.clone();
            repos.sort_by_key(|r| {
                (
                    std::cmp::Reverse(likeness(r, &target.repository)),
                    r.clone(),
                )
            });
            (
                Action::Mount,
                Some(k.digest.clone()),
                repos.first().cloned(),
                0,
                k.size.unwrap_or(0),
            )
        } else if !first {
            let prev: &PushLayer = layers
                .iter()
                .find(|l: &&PushLayer| l.diff_id == f.diff_id)
                .expect("an earlier layer with this diff id");
            (Action::Exists, prev.digest.clone(), None, 0, prev.blob_size)
        } else {
            let m = f.measured.as_ref();
            let size = m.map_or(0, |m| m.size);
            (Action::Upload, None, None, size, size)
        };
        layers.push(PushLayer {
            index,
            diff_id: f.diff_id.clone(),
            digest,
            action,
            from,
            bytes,
            blob_size,
        });
    }
    let upload_bytes = layers.iter().map(|l| l.bytes).sum();
    let count = |a: Action| layers.iter().filter(|l| l.action == a).count();
    PushPlan {
        registry: target.registry.clone(),
        repository: target.repository.clone(),
        tag: target.tag.clone(),
        upload_layers: count(Action::Upload),
        exists_layers: count(Action::Exists),
        mount_layers: count(Action::Mount),
        upload_bytes,
        seconds: seconds(upload_bytes, bandwidth_bits_per_second),
        bandwidth_bits_per_second,
        layers,
    }
}

/// Leading path components two repository names share.
fn likeness(a: &str, b: &str) -> usize {
    a.split('/')
        .zip(b.split('/'))
        .take_while(|(x, y)| x == y)
        .count()
}

/// Transfer time of `bytes` at `bits_per_second` (0 when the bandwidth is not positive).
pub fn seconds(bytes: u64, bits_per_second: f64) -> f64 {
    if bits_per_second > 0.0 {
        bytes as f64 * 8.0 / bits_per_second
    } else {
        0.0
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PullLayer {
    pub index: usize,
    pub diff_id: String,
    pub digest: Option<String>,
    pub bytes: u64,
    /// Whether a node running `against` downloads it.
    pub pulled: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PullPlan {
    /// The image the warm node runs (None: no previous image known, so warm = cold).
    pub against: Option<String>,
    pub layers: Vec<PullLayer>,
    pub pull_layers: usize,
    pub pull_bytes: u64,
    pub seconds: f64,
    pub cold_layers: usize,
    pub cold_bytes: u64,
    pub cold_seconds: f64,
}

/// What a node running an image with `against_diff_ids` pulls to run the pushed image,
/// and what a cold node pulls. Layers are compared by chain id (a layer is reused only
/// with the same layers below it, as the daemon stores them).
pub fn pull_plan(
    push: &PushPlan,
    against: Option<(&str, &[String])>,
    bandwidth_bits_per_second: f64,
) -> PullPlan {
    let diff_ids: Vec<String> = push.layers.iter().map(|l| l.diff_id.clone()).collect();
    let chains = chain_ids(&diff_ids);
    let have: HashSet<String> = against
        .map(|(_, d)| chain_ids(d).into_iter().collect())
        .unwrap_or_default();
    let mut layers = Vec::new();
    let mut fetched: HashSet<&str> = HashSet::new();
    for (l, chain) in push.layers.iter().zip(&chains) {
        // A blob appears once in a pull even when two layers share it.
        let pulled = !have.contains(chain) && fetched.insert(l.diff_id.as_str());
        layers.push(PullLayer {
            index: l.index,
            diff_id: l.diff_id.clone(),
            digest: l.digest.clone(),
            bytes: l.blob_size,
            pulled,
        });
    }
    let mut unique: HashSet<&str> = HashSet::new();
    let cold: Vec<&PushLayer> = push
        .layers
        .iter()
        .filter(|l| unique.insert(l.diff_id.as_str()))
        .collect();
    let cold_bytes: u64 = cold.iter().map(|l| l.blob_size).sum();
    let pull_bytes: u64 = layers.iter().filter(|l| l.pulled).map(|l| l.bytes).sum();
    PullPlan {
        against: against.map(|(n, _)| n.to_string()),
        pull_layers: layers.iter().filter(|l| l.pulled).count(),
        pull_bytes,
        seconds: seconds(pull_bytes, bandwidth_bits_per_second),
        cold_layers: cold.len(),
        cold_bytes,
        cold_seconds: seconds(cold_bytes, bandwidth_bits_per_second),
        layers,
    }
}

/// Days in the month the egress is computed for.
pub const DAYS_PER_MONTH: f64 = 30.0;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Egress {
    pub nodes: u64,
    pub deploys_per_day: f64,
    /// nodes × deploys per day × 30.
    pub pulls_per_month: f64,
    /// What one warm node pulls per deploy.
    pub bytes_per_pull: u64,
    pub bytes_per_month: f64,
    /// Price per GB (10^9 bytes).
    pub price_per_gb: f64,
    pub cost_per_month: f64,
    /// The same if every pull were cold (the whole image).
    pub cold_bytes_per_month: f64,
    pub cold_cost_per_month: f64,
}

pub fn egress(pull: &PullPlan, nodes: u64, deploys_per_day: f64, price_per_gb: f64) -> Egress {
    let pulls = nodes as f64 * deploys_per_day * DAYS_PER_MONTH;
    let bytes = pulls * pull.pull_bytes as f64;
    let cold = pulls * pull.cold_bytes as f64;
    Egress {
        nodes,
        deploys_per_day,
        pulls_per_month: pulls,
        bytes_per_pull: pull.pull_bytes,
        bytes_per_month: bytes,
        price_per_gb,
        cost_per_month: bytes / 1e9 * price_per_gb,
        cold_bytes_per_month: cold,
        cold_cost_per_month: cold / 1e9 * price_per_gb,
    }
}

/// Parse a bandwidth: `100Mbit`, `1Gbit`, `20MB/s` (bytes), `500kbit`; bits per second.
pub fn parse_bandwidth(s: &str) -> Option<f64> {
    let raw = s.trim().replace(' ', "");
    let raw = raw
        .strip_suffix("/s")
        .or_else(|| raw.strip_suffix("ps"))
        .unwrap_or(&raw)
        .to_string();
    let split = raw
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(raw.len());
    let (num, unit) = raw.split_at(split);
    let n: f64 = num.parse().ok()?;
    let lower = unit.to_ascii_lowercase();
    let (prefix, bytes) = if let Some(p) = lower.strip_suffix("bit") {
        (p.to_string(), false)
    } else if let Some(p) = lower.strip_suffix("byte") {
        (p.to_string(), true)
    } else if let Some(p) = unit.strip_suffix('B') {
        (p.to_ascii_lowercase(), true)
    } else if let Some(p) = unit.strip_suffix('b') {
        (p.to_ascii_lowercase(), false)
    } else {
        (lower.clone(), false)
    };
    let mult = match prefix.as_str() {
        "" => 1.0,
        "k" => 1e3,
        "m" => 1e6,
        "g" => 1e9,
        "ki" => 1024.0,
        "mi" => 1048576.0,
        "gi" => 1073741824.0,
        _ => return None,
    };
    let v = n * mult * if bytes { 8.0 } else { 1.0 };
    (v.is_finite() && v > 0.0).then_some(v)
}

/// Parse an egress price: `0.09/GB`, `0.09`, `$0.09/GB`; price per GB.
pub fn parse_price(s: &str) -> Option<f64> {
    let t = s.trim().trim_start_matches('$');
    let (num, unit) = t.split_once('/').unwrap_or((t, "GB"));
    let n: f64 = num.trim().parse().ok()?;
    let per = match unit.trim().to_ascii_lowercase().as_str() {
        "gb" => 1.0,
        "tb" => 1e-3,
        "mb" => 1e3,
        _ => return None,
    };
    let v = n * per;
    (v.is_finite() && v >= 0.0).then_some(v)
}

/// The image a triage is about.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ImageInfo {
    pub reference: String,
    pub id: String,
    pub tags: Vec<String>,
    pub platform: String,
    pub layers: usize,
    /// Uncompressed size (sum of the layer tars' entries).
    pub size_bytes: u64,
}

/// A `--fail-on` rule.
#[derive(Debug, Clone, PartialEq)]
pub enum FailRule {
    /// Any secret in any layer.
    Secrets,
    /// Upload bytes above the limit.
    UploadBytes(u64),
    /// Bytes a warm node pulls above the limit.
    PullBytes(u64),
    /// Monthly egress cost above the limit (money).
    EgressCost(f64),
    /// Bytes the advice findings would remove above the limit.
    AdviceBytes(u64),
}

impl std::fmt::Display for FailRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FailRule::Secrets => write!(f, "secrets"),
            FailRule::UploadBytes(n) => write!(f, "upload-bytes={n}"),
            FailRule::PullBytes(n) => write!(f, "pull-bytes={n}"),
            FailRule::EgressCost(c) => write!(f, "egress-cost={c}"),
            FailRule::AdviceBytes(n) => write!(f, "advice-bytes={n}"),
        }
    }
}

/// Everything `layerlens triage` says, serializable (`schema_version` 1).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Triage {
    pub schema_version: u32,
    pub image: ImageInfo,
    pub push: Option<PushPlan>,
    pub pull: Option<PullPlan>,
    pub egress: Option<Egress>,
    pub secrets: Vec<crate::analysis::secrets::Secret>,
    /// What would shrink the image (`layerlens advise`), biggest first.
    pub findings: Vec<crate::analysis::advice::Finding>,
    /// Bytes the findings would remove (cache-order and base-image excluded).
    pub advice_bytes: u64,
    /// The waste figures of `report`.
    pub waste: WasteFigures,
    /// The `--fail-on` rules checked.
    pub fail_on: Vec<String>,
    /// `--fail-on` rules that were hit, as sentences.
    pub failures: Vec<String>,
    /// What could not be planned, and why.
    pub notes: Vec<String>,
}

/// The waste figures a triage repeats from `report`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct WasteFigures {
    pub efficiency: f64,
    pub wasted_bytes: u64,
    pub reclaimable_bytes: u64,
}

impl WasteFigures {
    pub fn of(w: &crate::analysis::waste::Waste) -> WasteFigures {
        WasteFigures {
            efficiency: w.efficiency,
            wasted_bytes: w.wasted_bytes,
            reclaimable_bytes: w.reclaimable_bytes,
        }
    }
}

/// What an egress estimate needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EgressParams {
    pub nodes: u64,
    pub deploys_per_day: f64,
    pub price_per_gb: f64,
}

/// Put a triage together from a push plan (if a target was given), the image the warm
/// node runs, and the secrets found; evaluate `rules`.
#[allow(clippy::too_many_arguments)]
pub fn triage(
    image: ImageInfo,
    push: Option<PushPlan>,
    against: Option<(&str, &[String])>,
    bandwidth_bits_per_second: f64,
    egress_params: Option<EgressParams>,
    secrets: Vec<crate::analysis::secrets::Secret>,
    findings: Vec<crate::analysis::advice::Finding>,
    waste: WasteFigures,
    rules: &[FailRule],
    notes: Vec<String>,
) -> Triage {
    let pull = push
        .as_ref()
        .map(|p| pull_plan(p, against, bandwidth_bits_per_second));
    let egress = match (&pull, egress_params) {
        (Some(pl), Some(e)) => Some(egress(pl, e.nodes, e.deploys_per_day, e.price_per_gb)),
        _ => None,
    };
    let mut t = Triage {
        schema_version: 1,
        image,
        push,
        pull,
        egress,
        secrets,
        advice_bytes: crate::analysis::advice::removable_bytes(&findings),
        findings,
        waste,
        fail_on: rules.iter().map(FailRule::to_string).collect(),
        failures: Vec::new(),
        notes,
    };
    t.failures = evaluate(&t, rules);
    t
}

/// The `--fail-on` rules `t` hits, as sentences.
pub fn evaluate(t: &Triage, rules: &[FailRule]) -> Vec<String> {
    let mut out = Vec::new();
    for r in rules {
        match r {
            FailRule::Secrets if !t.secrets.is_empty() => {
                out.push(format!("secrets: {} secret(s) would ship", t.secrets.len()))
            }
            FailRule::UploadBytes(max) => {
                if let Some(p) = &t.push {
                    if p.upload_bytes > *max {
                        out.push(format!(
                            "upload-bytes: {} bytes would be uploaded (limit {max})",
                            p.upload_bytes
                        ));
                    }
                }
            }
            FailRule::PullBytes(max) => {
                if let Some(p) = &t.pull {
                    if p.pull_bytes > *max {
                        out.push(format!(
                            "pull-bytes: a node would pull {} bytes (limit {max})",
                            p.pull_bytes
                        ));
                    }
                }
            }
            FailRule::EgressCost(max) => {
                if let Some(e) = &t.egress {
                    if e.cost_per_month > *max {
                        out.push(format!(
                            "egress-cost: {:.2} per month (limit {max:.2})",
                            e.cost_per_month
                        ));
                    }
                }
            }
            FailRule::AdviceBytes(max) => {
                if t.advice_bytes > *max {
                    out.push(format!(
                        "advice-bytes: the advice would remove {} bytes (limit {max})",
                        t.advice_bytes
                    ));
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    fn target() -> Target {
        Target {
            registry: "reg".into(),
            repository: "app".into(),
            tag: "2".into(),
        }
    }

    #[test]
    fn actions_follow_what_the_registry_has() {
        let facts = vec![
            LayerFacts {
                diff_id: d('a'),
                known: vec![KnownBlob {
                    digest: d('1'),
                    size: Some(100),
                    in_target: true,
                    ..Default::default()
                }],
                measured: None,
            },
            LayerFacts {
                diff_id: d('b'),
                known: vec![KnownBlob {
                    digest: d('2'),
                    size: Some(200),
                    in_repos: vec!["other".into()],
                    ..Default::default()
                }],
                measured: None,
            },
            LayerFacts {
                diff_id: d('c'),
                known: vec![KnownBlob {
                    digest: d('3'),
                    size: Some(300),
                    ..Default::default()
                }],
                measured: Some(Measured { size: 310 }),
            },
        ];
        let p = plan(&target(), &facts, 8_000.0);
        let acts: Vec<Action> = p.layers.iter().map(|l| l.action).collect();
        let mut more = facts.clone();
        more[1].known[0].in_repos = vec!["aaa".into(), "team/web".into()];
        let t = Target {
            repository: "team/api".into(),
            ..target()
        };
        assert_eq!(
            plan(&t, &more, 1.0).layers[1].from.as_deref(),
            Some("team/web")
        );
        assert_eq!(acts, vec![Action::Exists, Action::Mount, Action::Upload]);
        assert_eq!(p.layers[1].from.as_deref(), Some("other"));
        assert_eq!(p.upload_bytes, 310);
        assert_eq!(p.upload_layers, 1);
        assert!((p.seconds - 0.31).abs() < 1e-9, "{}", p.seconds);

        // A node running an image with the first two layers pulls only the third.
        let against = vec![d('a'), d('b'), d('e')];
        let pull = pull_plan(&p, Some(("app:1", &against)), 8_000.0);
        let pulled: Vec<bool> = pull.layers.iter().map(|l| l.pulled).collect();
        assert_eq!(pulled, vec![false, false, true]);
        assert_eq!(pull.pull_bytes, 310);
        assert_eq!(pull.cold_bytes, 100 + 200 + 310);
        // Same diff id on other layers below is not the same chain.
        let other_base = vec![d('z'), d('b')];
        let pull = pull_plan(&p, Some(("x", &other_base)), 8_000.0);
        assert_eq!(pull.pull_layers, 3);

        let e = egress(&pull, 10, 2.0, 0.09);
        assert_eq!(e.pulls_per_month, 600.0);
        assert_eq!(e.bytes_per_month, 600.0 * 610.0);
        assert!((e.cost_per_month - 600.0 * 610.0 / 1e9 * 0.09).abs() < 1e-12);
    }

    /// The README's arithmetic: 847 MB pushed at 100 Mbit/s, 3,000 pulls a month.
    #[test]
    fn readme_egress_example() {
        assert!((seconds(847_000_000, 100e6) - 67.76).abs() < 1e-9);
        let pull = PullPlan {
            against: None,
            layers: Vec::new(),
            pull_layers: 1,
            pull_bytes: 847_000_000,
            seconds: 0.0,
            cold_layers: 1,
            cold_bytes: 847_000_000,
            cold_seconds: 0.0,
        };
        let e = egress(&pull, 100, 1.0, 0.09);
        assert_eq!(e.pulls_per_month, 3000.0);
        assert_eq!(e.bytes_per_month, 2.541e12);
        assert!(
            (e.cost_per_month - 228.69).abs() < 1e-6,
            "{}",
            e.cost_per_month
        );
    }

    #[test]
    fn units_parse() {
        assert_eq!(parse_bandwidth("100Mbit"), Some(100e6));
        assert_eq!(parse_bandwidth("1gbit"), Some(1e9));
        assert_eq!(parse_bandwidth("20MB/s"), Some(160e6));
        assert_eq!(parse_bandwidth("fast"), None);
        assert_eq!(parse_bandwidth("0Mbit"), None);
        assert_eq!(parse_price("0.09/GB"), Some(0.09));
        assert_eq!(parse_price("$90/TB"), Some(0.09));
        assert_eq!(parse_price("0.09/parsec"), None);
    }
}
