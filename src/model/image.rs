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
    /// Name of the blob inside its source (to read a file of the layer again later).
    pub blob: String,
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
    /// Per layer: other local images sharing it, when a daemon was asked.
    pub shared_with: Option<Vec<Vec<String>>>,
    /// How a daemon image was read, for the title bar ("layer store (overlay2)",
    /// "docker save export"; empty for files).
    pub loaded_via: String,
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

    /// Prepare an image from its metadata, history and layer descriptions, without
    /// any layer content yet: history is paired with layers and chain ids computed.
    /// The layers pane can paint from this before a single layer is parsed.
    pub fn prepare(
        mut meta: Image,
        mut history: Vec<HistoryItem>,
        mut layers: Vec<Layer>,
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
        if next < layers.len() && !history.is_empty() {
            meta.warnings.push(format!(
                "history describes {next} layer(s) but the image has {}",
                layers.len()
            ));
        }
        let mut chain = String::new();
        for (i, layer) in layers.iter_mut().enumerate() {
            layer.index = i;
            layer.history = history.iter().position(|h| h.layer == Some(i));
            chain = if i == 0 {
                layer.diff_id.clone()
            } else {
                chain_id(&chain, &layer.diff_id)
            };
            layer.chain_id = chain.clone();
        }
        meta.history = history;
        meta.layers = layers;
        meta.tree = FileTree::new();
        meta
    }

    /// Number of layers whose content is stacked in the tree so far.
    pub fn layers_loaded(&self) -> usize {
        self.tree.layer_count()
    }

    /// Whether every layer is in the tree.
    pub fn is_complete(&self) -> bool {
        self.tree.layer_count() == self.layers.len()
    }

    /// Assemble an image from its parts in one go.
    pub fn assemble(
        meta: Image,
        history: Vec<HistoryItem>,
        layers: Vec<(Layer, Arc<LayerContent>)>,
    ) -> Image {
        let (descs, contents): (Vec<Layer>, Vec<Arc<LayerContent>>) = layers.into_iter().unzip();
        let mut b = ImageBuilder::new(Image::prepare(meta, history, descs));
        for (i, c) in contents.into_iter().enumerate() {
            b.add(i, c);
        }
        b.finish()
    }
}

/// Stacks layer contents into an image as they arrive, in any order: layer k goes
/// into the tree as soon as layers 0..k are there.
#[derive(Debug)]
pub struct ImageBuilder {
    pub image: Image,
    pending: std::collections::BTreeMap<usize, Arc<LayerContent>>,
}

impl ImageBuilder {
    pub fn new(prepared: Image) -> Self {
        ImageBuilder {
            image: prepared,
            pending: Default::default(),
        }
    }

    /// The same image described again (a daemon image: from inspect + history first,
    /// then from its config): take the new metadata and keep the layers stacked so
    /// far. False (nothing changed) when `meta` has other layers.
    pub fn replace_meta(&mut self, mut meta: Image) -> bool {
        let same = meta.layers.len() == self.image.layers.len()
            && meta
                .layers
                .iter()
                .zip(&self.image.layers)
                .all(|(a, b)| a.diff_id == b.diff_id);
        if !same {
            return false;
        }
        meta.tree = std::mem::take(&mut self.image.tree);
        // Warnings of the stacked layers stay; the new description brings its own.
        let stacked: Vec<String> = self
            .image
            .warnings
            .iter()
            .filter(|w| w.starts_with("layer "))
            .cloned()
            .collect();
        meta.warnings.extend(stacked);
        if meta.shared_with.is_none() {
            meta.shared_with = self.image.shared_with.take();
        }
        self.image = meta;
        true
    }

    /// Add layer `i`'s content; returns how many layers were stacked by this call.
    /// A layer already stacked is ignored.
    pub fn add(&mut self, i: usize, content: Arc<LayerContent>) -> usize {
        if i < self.image.tree.layer_count() {
            return 0;
        }
        self.pending.insert(i, content);
        let mut stacked = 0;
        while let Some(c) = self.pending.remove(&self.image.tree.layer_count()) {
            let k = self.image.tree.layer_count();
            for w in &c.warnings {
                self.image.warnings.push(format!("layer {k}: {w}"));
            }
            let before = self.image.tree.warnings.len();
            self.image.tree.push_layer(c);
            let new: Vec<String> = self.image.tree.warnings[before..].to_vec();
            self.image.warnings.extend(new);
            stacked += 1;
        }
        stacked
    }

    pub fn finish(self) -> Image {
        debug_assert!(self.pending.is_empty());
        self.image
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

/// One row of `docker images`.
#[derive(Debug, Clone, Default)]
pub struct ImageSummary {
    pub id: String,
    pub repo_tags: Vec<String>,
    pub size: u64,
    /// Unix seconds.
    pub created: i64,
    pub layer_count: Option<usize>,
    /// RootFS.Layers when inspect answered in time (empty otherwise).
    pub diff_ids: Vec<String>,
}
