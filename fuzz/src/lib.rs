//! Shared helpers of the fuzz targets: stack parsed layers into an image and run every
//! headless analysis and report over it (output goes to a sink).

use layerlens::analysis::{advice, diff, secrets, waste};
use layerlens::model::{HistoryItem, Image, Layer, LayerContent};
use layerlens::report;
use std::sync::Arc;

/// An image from parsed layers; `created_by` gives the history (one per layer, more
/// entries become empty-layer instructions).
pub fn image_from(contents: Vec<LayerContent>, created_by: &[String]) -> Image {
    let n = contents.len();
    let mut history: Vec<HistoryItem> = Vec::new();
    for (i, c) in created_by.iter().enumerate() {
        history.push(HistoryItem {
            created_by: c.clone(),
            empty_layer: i >= n,
            ..Default::default()
        });
    }
    let layers = contents
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            (
                Layer {
                    diff_id: format!("sha256:{i:064}"),
                    blob: format!("layer{i}"),
                    ..Default::default()
                },
                Arc::new(c),
            )
        })
        .collect();
    Image::assemble(
        Image {
            reference: "fuzz".into(),
            ..Default::default()
        },
        history,
        layers,
    )
}

/// Every headless analysis and report over a loaded image.
pub fn exercise(img: &Image) {
    let w = waste::analyze(img);
    let _ = waste::reclaimable_by_cause(&w);
    let _ = report::text::render(img, &w);
    let _ = report::json::render(img, &w);
    let findings = advice::analyze(img, &w, None);
    let _ = report::advice::render_text(img, None, &findings);
    let _ = report::advice::render_json(img, None, &findings, &img.warnings);
    for layer in 0..img.layers_loaded() {
        for changes in [false, true] {
            for json in [false, true] {
                report::files::write_listing(img, layer, changes, json, &mut std::io::sink())
                    .expect("writing to a sink");
            }
        }
        let _ = report::files::change_counts(img, layer);
    }
    let _ = secrets::candidates(img);
    let d = diff::diff(img, img);
    let _ = report::diff::render_text(img, img, &d);
    let _ = report::diff::render_json(img, img, &d);
}

/// `data` cut at every `sep`.
pub fn split<'a>(data: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(i) = find(rest, sep) {
        out.push(&rest[..i]);
        rest = &rest[i + sep.len()..];
    }
    out.push(rest);
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The separator of multi-document inputs (`layout_resolve`, `dockerfile`).
pub const SEP: &[u8] = b"\n--8<--\n";

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(data))
}
