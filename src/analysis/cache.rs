//! Cache status of a single image: for each layer, how many other local images share
//! it (same chain id: the same layer on the same layers below). Shared layers cost
//! nothing extra on disk or on pull.

use crate::model::Image;
use crate::model::ImageSummary;
use crate::model::image::chain_id;
use std::collections::HashMap;

/// Chain ids of a list of diff ids, bottom first.
pub fn chain_ids(diff_ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(diff_ids.len());
    for (i, d) in diff_ids.iter().enumerate() {
        out.push(if i == 0 {
            d.clone()
        } else {
            chain_id(&out[i - 1], d)
        });
    }
    out
}

/// Per layer of `img`: the tags (or short ids) of the other local images that have it.
pub fn shared_with(img: &Image, others: &[ImageSummary]) -> Vec<Vec<String>> {
    let mut by_chain: HashMap<String, Vec<String>> = HashMap::new();
    for o in others {
        if o.id == img.id || o.diff_ids.is_empty() {
            continue;
        }
        let name = o.repo_tags.first().cloned().unwrap_or_else(|| {
            o.id.trim_start_matches("sha256:")
                .chars()
                .take(12)
                .collect()
        });
        for c in chain_ids(&o.diff_ids) {
            by_chain.entry(c).or_default().push(name.clone());
        }
    }
    img.layers
        .iter()
        .map(|l| {
            // Sorted: the same images give the same output whatever order the daemon
            // listed them in.
            let mut names = by_chain.get(&l.chain_id).cloned().unwrap_or_default();
            names.sort();
            names.dedup();
            names
        })
        .collect()
}
