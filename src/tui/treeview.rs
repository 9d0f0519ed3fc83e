//! The file-tree view-model: which rows the tree pane shows for a layer, derived from
//! the layered tree without copying it. Per-layer sizes are cached so switching back
//! and forth between layers costs one pass over the visible rows.

use crate::model::tree::{DELETED, ROOT};
use crate::model::{Change, EntryKind, FileTree, Image, NodeId};
use regex::Regex;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The merged filesystem at the layer (plus what the layer removed).
    Merged,
    /// Only what the layer changed, with its parent directories as context.
    Changes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Size,
    Name,
}

#[derive(Debug, Clone)]
pub struct Filter {
    pub text: String,
    regex: Option<Regex>,
    lower: String,
    case_sensitive: bool,
}

impl Filter {
    /// "/re/" is a regular expression; anything else a substring, case-insensitive
    /// unless it has an uppercase letter.
    pub fn new(text: &str) -> Result<Filter, String> {
        let regex = if text.len() >= 2 && text.starts_with('/') && text.ends_with('/') {
            Some(Regex::new(&text[1..text.len() - 1]).map_err(|e| format!("invalid regex: {e}"))?)
        } else {
            None
        };
        Ok(Filter {
            text: text.to_string(),
            regex,
            lower: text.to_lowercase(),
            case_sensitive: text.chars().any(|c| c.is_uppercase()),
        })
    }

    pub fn matches(&self, s: &str) -> bool {
        match &self.regex {
            Some(r) => r.is_match(s),
            None if self.case_sensitive => s.contains(&self.text),
            None => s.to_lowercase().contains(&self.lower),
        }
    }
}

/// One visible row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub node: NodeId,
    pub depth: u16,
    /// The path's change in this layer (Unchanged when the layer did not touch it).
    pub change: Change,
    /// Shown only because something below it is.
    pub context: bool,
    pub is_dir: bool,
    pub expanded: bool,
    /// Last among its shown siblings.
    pub last: bool,
    /// Bit d set: the ancestor at depth d has shown siblings after it (draw a │).
    pub guides: u64,
    pub size: u64,
}

/// Sizes of every node at one layer: a file's size; a directory's total.
#[derive(Debug)]
pub struct LayerSizes {
    pub merged: Vec<u64>,
    /// Bytes this layer added or modified under each node.
    pub changed: Vec<u64>,
    /// Node has a version in the layer or a descendant that has.
    pub touched: Vec<bool>,
}

pub fn compute_sizes(tree: &FileTree, layer: usize) -> LayerSizes {
    let n = tree.node_count();
    let mut merged = vec![0u64; n];
    let mut changed = vec![0u64; n];
    let mut touched = vec![false; n];
    // Children always have larger ids than their parents: one reverse pass sums up.
    for id in (1..n).rev() {
        let node = id as NodeId;
        if let Some(e) = tree.entry_at(node, layer) {
            if e.kind != EntryKind::Dir && e.kind != EntryKind::Hardlink {
                merged[id] += e.size;
            }
            let p = tree.parent(node) as usize;
            merged[p] += merged[id];
        } else if let Some(v) = tree.version_in(node, layer) {
            // Removed in this layer: its size as it was.
            if v.entry == DELETED && layer > 0 {
                if let Some(e) = tree.entry_at(node, layer - 1) {
                    if e.kind != EntryKind::Dir && e.kind != EntryKind::Hardlink {
                        merged[id] += e.size;
                    }
                }
            }
        }
    }
    for &c in &tree.layer_changes[layer] {
        let Some(v) = tree.version_in(c, layer) else {
            continue;
        };
        let own = if matches!(v.change, Change::Added | Change::Modified) && v.entry != DELETED {
            tree.entry_at(c, layer)
                .filter(|e| e.kind == EntryKind::File)
                .map(|e| e.size)
                .unwrap_or(0)
        } else {
            0
        };
        let mut p = c;
        loop {
            changed[p as usize] += own;
            touched[p as usize] = true;
            if p == ROOT {
                break;
            }
            p = tree.parent(p);
        }
    }
    LayerSizes {
        merged,
        changed,
        touched,
    }
}

/// View options of the tree pane.
#[derive(Debug, Clone)]
pub struct ViewOptions {
    pub mode: Mode,
    pub sort: Sort,
    /// Hidden change kinds, indexed by `Change as usize`.
    pub hidden: [bool; 4],
    pub filter: Option<Filter>,
}

impl Default for ViewOptions {
    fn default() -> Self {
        ViewOptions {
            mode: Mode::Merged,
            sort: Sort::Size,
            hidden: [false; 4],
            filter: None,
        }
    }
}

pub fn change_index(c: Change) -> usize {
    match c {
        Change::Added => 0,
        Change::Modified => 1,
        Change::Removed => 2,
        Change::Unchanged => 3,
    }
}

/// Directory expansion state: expanded unless collapsed (dive's default).
#[derive(Debug, Clone, Default)]
pub struct Expansion {
    collapsed: Vec<bool>,
    /// When set, everything is collapsed except `expanded_exceptions`.
    all_collapsed: bool,
    expanded_exceptions: Vec<bool>,
}

impl Expansion {
    pub fn is_expanded(&self, n: NodeId) -> bool {
        let i = n as usize;
        if self.all_collapsed {
            self.expanded_exceptions.get(i).copied().unwrap_or(false)
        } else {
            !self.collapsed.get(i).copied().unwrap_or(false)
        }
    }
    pub fn set(&mut self, n: NodeId, expanded: bool) {
        let i = n as usize;
        let v = if self.all_collapsed {
            &mut self.expanded_exceptions
        } else {
            &mut self.collapsed
        };
        if v.len() <= i {
            v.resize(i + 1, false);
        }
        v[i] = if self.all_collapsed {
            expanded
        } else {
            !expanded
        };
    }
    pub fn collapse_all(&mut self) {
        *self = Expansion {
            all_collapsed: true,
            ..Default::default()
        };
    }
    pub fn expand_all(&mut self) {
        *self = Expansion::default();
    }
}

/// Per-layer sizes, cached for the last few layers visited.
#[derive(Debug, Default)]
pub struct SizeCache {
    map: HashMap<usize, Arc<LayerSizes>>,
    order: Vec<usize>,
    /// Number of layers in the tree when cached (caches are dropped as layers arrive).
    layers_seen: usize,
}

impl SizeCache {
    pub fn get(&mut self, tree: &FileTree, layer: usize) -> Arc<LayerSizes> {
        if tree.layer_count() != self.layers_seen
            || self
                .map
                .values()
                .next()
                .is_some_and(|s| s.merged.len() != tree.node_count())
        {
            self.map.clear();
            self.order.clear();
            self.layers_seen = tree.layer_count();
        }
        if let Some(s) = self.map.get(&layer) {
            return s.clone();
        }
        let s = Arc::new(compute_sizes(tree, layer));
        self.map.insert(layer, s.clone());
        self.order.push(layer);
        if self.order.len() > 12 {
            let old = self.order.remove(0);
            self.map.remove(&old);
        }
        s
    }
}

/// The status of `n` at `layer` in `mode`, or None if it is not part of the view.
fn status(
    tree: &FileTree,
    n: NodeId,
    layer: usize,
    mode: Mode,
    sizes: &LayerSizes,
) -> Option<(Change, bool)> {
    let own = tree.version_in(n, layer);
    match mode {
        Mode::Merged => {
            let present = tree.present_at(n, layer);
            match own {
                Some(v) if v.entry == DELETED => Some((Change::Removed, false)),
                Some(v) => Some((v.change, false)),
                None if present => Some((Change::Unchanged, false)),
                None => None,
            }
        }
        Mode::Changes => {
            if !sizes.touched[n as usize] {
                return None;
            }
            match own {
                Some(v) if v.entry == DELETED => Some((Change::Removed, false)),
                Some(v) => Some((v.change, false)),
                None => Some((Change::Unchanged, true)),
            }
        }
    }
}

fn is_dir_at(tree: &FileTree, n: NodeId, layer: usize) -> bool {
    match tree.entry_at(n, layer) {
        Some(e) => e.kind == EntryKind::Dir,
        None => {
            layer > 0
                && tree
                    .entry_at(n, layer - 1)
                    .is_some_and(|e| e.kind == EntryKind::Dir)
        }
    }
}

struct Builder<'a> {
    tree: &'a FileTree,
    layer: usize,
    opts: &'a ViewOptions,
    sizes: &'a LayerSizes,
    expansion: &'a Expansion,
    out: Vec<Row>,
    path: String,
}

impl Builder<'_> {
    fn size_of(&self, n: NodeId) -> u64 {
        match self.opts.mode {
            Mode::Merged => self.sizes.merged[n as usize],
            Mode::Changes => {
                let tree = self.tree;
                match tree.version_in(n, self.layer) {
                    Some(v) if v.entry == DELETED => self.sizes.merged[n as usize],
                    _ => self.sizes.changed[n as usize],
                }
            }
        }
    }

    fn sorted_children(&self, n: NodeId) -> Vec<(NodeId, Change, bool)> {
        let mut kids: Vec<(NodeId, Change, bool)> = self
            .tree
            .children(n)
            .iter()
            .filter_map(|&c| {
                status(self.tree, c, self.layer, self.opts.mode, self.sizes)
                    .map(|(ch, ctx)| (c, ch, ctx))
            })
            .collect();
        match self.opts.sort {
            Sort::Name => kids.sort_by(|a, b| self.tree.name(a.0).cmp(self.tree.name(b.0))),
            Sort::Size => kids.sort_by(|a, b| {
                self.size_of(b.0)
                    .cmp(&self.size_of(a.0))
                    .then_with(|| self.tree.name(a.0).cmp(self.tree.name(b.0)))
            }),
        }
        kids
    }

    fn self_visible(&self, change: Change, context: bool, parent_matched: bool) -> bool {
        if context || self.opts.hidden[change_index(change)] {
            return false;
        }
        match &self.opts.filter {
            None => true,
            Some(f) => parent_matched || f.matches(&self.path),
        }
    }

    /// Emit rows for the children of `n`; returns whether anything was emitted.
    fn visit(&mut self, n: NodeId, depth: u16, parent_matched: bool, emit: bool) -> bool {
        let mut any = false;
        for (c, change, context) in self.sorted_children(n) {
            let plen = self.path.len();
            self.path.push('/');
            self.path
                .push_str(&String::from_utf8_lossy(self.tree.name(c)));
            let is_dir = is_dir_at(self.tree, c, self.layer);
            let visible = self.self_visible(change, context, parent_matched);
            let matched_here = parent_matched
                || (self
                    .opts
                    .filter
                    .as_ref()
                    .is_some_and(|f| f.matches(&self.path)));
            let expanded = is_dir && self.expansion.is_expanded(c);
            let row_at = self.out.len();
            if emit {
                self.out.push(Row {
                    node: c,
                    depth,
                    change,
                    context: context || !visible,
                    is_dir,
                    expanded,
                    last: false,
                    guides: 0,
                    size: self.size_of(c),
                });
            }
            let restricted = self.opts.filter.is_some() || self.opts.hidden.iter().any(|h| *h);
            let mut below = false;
            if is_dir && (expanded || restricted) {
                below = self.visit(
                    c,
                    depth + 1,
                    matched_here && self.opts.filter.is_some(),
                    emit && expanded,
                );
            }
            self.path.truncate(plen);
            if visible || below {
                any = true;
            } else if emit {
                self.out.truncate(row_at);
            }
            if any && !emit {
                // Only asked whether something is visible: done.
                return true;
            }
        }
        any
    }
}

/// Compute the rows of the tree pane.
pub fn build_rows(
    img: &Image,
    layer: usize,
    opts: &ViewOptions,
    expansion: &Expansion,
    sizes: &LayerSizes,
) -> Vec<Row> {
    let tree = &img.tree;
    if layer >= tree.layer_count() {
        return Vec::new();
    }
    let mut b = Builder {
        tree,
        layer,
        opts,
        sizes,
        expansion,
        out: Vec::new(),
        path: String::new(),
    };
    b.visit(ROOT, 0, false, true);
    let mut rows = b.out;
    // Last-sibling flags and guide bits.
    let mut later_sibling = vec![false; 1];
    for r in rows.iter_mut().rev() {
        let d = r.depth as usize;
        if later_sibling.len() <= d + 1 {
            later_sibling.resize(d + 2, false);
        }
        r.last = !later_sibling[d];
        later_sibling[d] = true;
        for x in later_sibling.iter_mut().skip(d + 1) {
            *x = false;
        }
    }
    let mut open: u64 = 0;
    for r in rows.iter_mut() {
        let d = r.depth as u32;
        if d < 64 {
            open &= (1u64 << d) - 1;
            r.guides = open;
            if !r.last {
                open |= 1u64 << d;
            }
        }
    }
    rows
}

/// All nodes of the view in display order ignoring collapse, for search.
pub fn search(
    img: &Image,
    layer: usize,
    opts: &ViewOptions,
    sizes: &LayerSizes,
    pattern: &Filter,
) -> Vec<NodeId> {
    let mut all = Expansion::default();
    all.expand_all();
    let rows = build_rows(img, layer, opts, &all, sizes);
    rows.into_iter()
        .filter(|r| !r.context && pattern.matches(&String::from_utf8_lossy(img.tree.name(r.node))))
        .map(|r| r.node)
        .collect()
}
