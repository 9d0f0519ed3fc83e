//! `report --format json` (schema_version 1).

use crate::analysis::advice::{self, Finding, WithDockerfile};
use crate::analysis::waste::{InefficientFile, ReclaimableFile, Waste};
use crate::dockerfile::map::Location;
use crate::model::Image;
use serde::Serialize;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
pub struct Report<'a> {
    pub schema_version: u32,
    pub image: ImageSummary,
    pub layers: Vec<LayerSummary>,
    pub inefficient_files: &'a [InefficientFile],
    pub reclaimable_files: &'a [ReclaimableFile],
    pub warnings: &'a [String],
    /// Advice measured in bytes (see `layerlens advise`).
    pub findings: &'a [Finding],
}

#[derive(Serialize)]
pub struct ImageSummary {
    pub reference: String,
    pub id: String,
    pub tags: Vec<String>,
    pub os: String,
    pub architecture: String,
    pub created: Option<String>,
    pub size_bytes: u64,
    pub layer_count: usize,
    pub efficiency: f64,
    pub wasted_bytes: u64,
    pub user_wasted_percent: f64,
    pub reclaimable_bytes: u64,
}

#[derive(Serialize)]
pub struct Instruction {
    pub created_by: String,
    pub created: Option<String>,
    /// The Dockerfile instruction that made it (with `--dockerfile`), else null.
    pub dockerfile: Option<Location>,
    /// Part of the external base image (with `--dockerfile`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub base: bool,
}

#[derive(Serialize)]
pub struct LayerSummary {
    pub index: usize,
    pub diff_id: String,
    pub chain_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blob_digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blob_size: Option<u64>,
    pub size_bytes: u64,
    pub created_by: String,
    pub created: Option<String>,
    pub instructions: Vec<Instruction>,
    pub added: usize,
    pub modified: usize,
    pub removed: usize,
    pub reclaimable_bytes: u64,
    /// The Dockerfile instruction that made it (with `--dockerfile`), else null.
    pub dockerfile: Option<Location>,
    /// Part of the external base image (with `--dockerfile`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub base: bool,
    /// Other local images that share this layer (daemon images only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_with: Option<Vec<String>>,
}

pub fn layer_summaries(img: &Image, waste: &Waste) -> Vec<LayerSummary> {
    layer_summaries_with(img, waste, None)
}

/// History indexes of the entries [`Image::instructions_after`] returns.
fn instruction_indexes_after(img: &Image, layer: usize) -> Vec<usize> {
    let mut owner: Option<usize> = None;
    let mut out = Vec::new();
    for (k, h) in img.history.iter().enumerate() {
        match h.layer {
            Some(l) => owner = Some(l),
            None => {
                if owner.unwrap_or(0) == layer {
                    out.push(k);
                }
            }
        }
    }
    out
}

/// Layer summaries, each with its Dockerfile location when a Dockerfile is given.
pub fn layer_summaries_with(
    img: &Image,
    waste: &Waste,
    d: Option<WithDockerfile>,
) -> Vec<LayerSummary> {
    let loc = |h: Option<usize>| -> (Option<Location>, bool) {
        let (Some(d), Some(h)) = (d, h) else {
            return (None, false);
        };
        match d.mapping.instruction_of_history(h) {
            Some(i) => (Some(crate::dockerfile::map::location(d.df, i)), false),
            None => (None, d.mapping.is_base_history(h)),
        }
    };
    img.layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let (added, modified, removed) = super::files::change_counts(img, i);
            let (dockerfile, base) = loc(l.history);
            LayerSummary {
                index: i,
                diff_id: l.diff_id.clone(),
                chain_id: l.chain_id.clone(),
                blob_digest: l.blob_digest.clone(),
                blob_size: l.blob_size,
                size_bytes: img.layer_size(i),
                created_by: img.created_by(i).to_string(),
                created: l.history.and_then(|h| img.history[h].created.clone()),
                instructions: instruction_indexes_after(img, i)
                    .into_iter()
                    .map(|k| {
                        let h = &img.history[k];
                        let (dockerfile, base) = loc(Some(k));
                        Instruction {
                            created_by: h.created_by.clone(),
                            created: h.created.clone(),
                            dockerfile,
                            base,
                        }
                    })
                    .collect(),
                added,
                modified,
                removed,
                reclaimable_bytes: waste.layer_reclaimable[i],
                dockerfile,
                base,
                shared_with: img.shared_with.as_ref().map(|s| s[i].clone()),
            }
        })
        .collect()
}

pub fn render(img: &Image, waste: &Waste) -> String {
    let findings = advice::analyze(img, waste, None);
    render_with(img, waste, None, &findings)
}

/// The report with Dockerfile locations (when given) and the findings.
pub fn render_with(
    img: &Image,
    waste: &Waste,
    d: Option<WithDockerfile>,
    findings: &[Finding],
) -> String {
    let report = Report {
        schema_version: SCHEMA_VERSION,
        image: ImageSummary {
            reference: img.reference.clone(),
            id: img.id.clone(),
            tags: img.repo_tags.clone(),
            os: img.os.clone(),
            architecture: img.architecture.clone(),
            created: img.created.clone(),
            size_bytes: waste.size_bytes,
            layer_count: img.layers.len(),
            efficiency: waste.efficiency,
            wasted_bytes: waste.wasted_bytes,
            user_wasted_percent: waste.user_wasted_percent,
            reclaimable_bytes: waste.reclaimable_bytes,
        },
        layers: layer_summaries_with(img, waste, d),
        inefficient_files: &waste.inefficient_files,
        reclaimable_files: &waste.reclaimable_files,
        warnings: &img.warnings,
        findings,
    };
    let mut s = serde_json::to_string_pretty(&report).expect("report serializes");
    s.push('\n');
    s
}
