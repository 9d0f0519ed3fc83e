//! An image: its metadata, its history (Dockerfile instructions), its layers and the
//! layered file tree built from them.

use super::layer::LayerContent;
use super::tree::FileTree;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One entry of the config's `history`: one Dockerfile instruction.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct HistoryItem {
    pub created: Option<String>,
    pub created_by: String,
    pub comment: Option<String>,
    /// True when the instruction made no layer (ENV, CMD, LABEL...).
    pub empty_layer: bool,
    /// The layer it made, if any.
    pub layer: Option<usize>,
}

/// One filesystem layer.
#[derive(Debug, Clone, Default)]
pub struct Layer {
    pub index: usize,
    /// sha256 of the uncompressed tar ("sha256:...").
    pub diff_id: String,
    /// ChainID of the stack up to and including this layer.
    pub chain_id: String,
    /// Digest of the blob as stored (compressed digest in OCI layouts), if known.
    pub blob_digest: Option<String>,
    /// Size of the blob as stored (compressed size), if known.
    pub blob_size: Option<u64>,
    pub media_type: Option<String>,
    /// Index into the image's history of the instruction that made it.
    pub history: Option<usize>,
}

impl Layer {
    /// Sum of tar-entry sizes (dive's layer size).
    pub fn size(&self, content: &LayerContent) -> u64 {
        content.tar_size
    }
}

/// A loaded image.
#[derive(Debug, Clone, Default)]
pub struct Image {
    /// What the user asked for (tag, id, path...).
    pub reference: String,
    /// Config digest, "sha256:...".
    pub id: String,
    pub repo_tags: Vec<String>,
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
    pub created: Option<String>,
    /// The config's `config` object (Env, Cmd, Entrypoint, WorkingDir, User...).
    pub run_config: serde_json::Value,
    pub history: Vec<HistoryItem>,
    pub layers: Vec<Layer>,
    pub tree: FileTree,
    /// Non-fatal oddities met while loading (rejected tar entries, missing history).
    pub warnings: Vec<String>,
}

impl Image {
    pub fn content(&self, layer: usize) -> &LayerContent {
        &self.tree.contents[layer]
    }

    pub fn layer_size(&self, layer: usize) -> u64 {
        self.tree.contents[layer].tar_size
    }

    pub fn size_bytes(&self) -> u64 {
        self.tree.contents.iter().map(|c| c.tar_size).sum()
    }

    /// The instruction that made `layer` ("" when history does not say).
    pub fn created_by(&self, layer: usize) -> &str {
        match self.layers[layer].history.map(|h| &self.history[h]) {
            // `docker import` leaves created_by empty and says what it did in the comment.
            Some(h) if h.created_by.is_empty() => h.comment.as_deref().unwrap_or(""),
            Some(h) => &h.created_by,
            None => "",
        }
    }

    /// History entries that made no layer and come after `layer` (up to the next
    /// layer); the ones before the first layer belong to layer 0.
    pub fn instructions_after(&self, layer: usize) -> Vec<&HistoryItem> {
        let mut owner: Option<usize> = None;
        let mut out = Vec::new();
        for h in &self.history {
            match h.layer {
                Some(l) => owner = Some(l),
                None => {
                    if owner.unwrap_or(0) == layer {
                        out.push(h);
                    }
                }
            }
        }
        out
    }

    /// Assemble an image from its parts: pairs history with layers and stacks the
    /// layer contents into the file tree.
    pub fn assemble(
        mut meta: Image,
        mut history: Vec<HistoryItem>,
        layers: Vec<(Layer, Arc<LayerContent>)>,
    ) -> Image {
        // Pair history entries that made a layer with the layers, bottom first.
        let mut next = 0usize;
        for (i, h) in history.iter_mut().enumerate() {
            if h.empty_layer {
                h.layer = None;
                continue;
            }
            if next < layers.len() {
                h.layer = Some(next);
                next += 1;
            } else {
                h.layer = None;
                meta.warnings.push(format!(
                    "history entry {i} claims a layer the image does not have"
                ));
            }
        }
        let mut tree = FileTree::new();
        let mut chain = String::new();
        let mut out_layers = Vec::with_capacity(layers.len());
        for (i, (mut layer, content)) in layers.into_iter().enumerate() {
            layer.index = i;
            layer.history = history.iter().position(|h| h.layer == Some(i));
            chain = if i == 0 {
                layer.diff_id.clone()
            } else {
                chain_id(&chain, &layer.diff_id)
            };
            layer.chain_id = chain.clone();
            for w in &content.warnings {
                meta.warnings.push(format!("layer {i}: {w}"));
            }
            tree.push_layer(content);
            out_layers.push(layer);
        }
        if next < out_layers.len() && !history.is_empty() {
            meta.warnings.push(format!(
                "history describes {next} layer(s) but the image has {}",
                out_layers.len()
            ));
        }
        meta.warnings.append(&mut tree.warnings.clone());
        meta.history = history;
        meta.layers = out_layers;
        meta.tree = tree;
        meta
    }
}

/// ChainID(L0..Ln) = sha256(ChainID(L0..Ln-1) + " " + DiffID(Ln)).
pub fn chain_id(parent: &str, diff_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(parent.as_bytes());
    h.update(b" ");
    h.update(diff_id.as_bytes());
    format!("sha256:{}", hex::encode(h.finalize()))
}
