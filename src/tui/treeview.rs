//! The file-tree view-model: which rows the tree pane shows for a layer, derived from
//! the layered tree without copying it. Per-layer sizes are cached so switching back
//! and forth between layers costs one pass over the visible rows.

use crate::model::tree::ROOT;
use crate::model::{Change, EntryKind, FileTree, Image, NodeId};
use regex::bytes::Regex;
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
    finder: memchr::memmem::Finder<'static>,
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
        let case_sensitive = text.chars().any(|c| c.is_uppercase());
        let needle = if case_sensitive {
            text.to_string()
        } else {
            text.to_ascii_lowercase()
        };
        Ok(Filter {
            text: text.to_string(),
            regex,
            finder: memchr::memmem::Finder::new(needle.as_bytes()).into_owned(),
            case_sensitive,
        })
    }

    pub fn matches(&self, s: &str) -> bool {
        self.matches_bytes(s.as_bytes(), s.to_ascii_lowercase().as_bytes())
    }

    /// Match against a path and its ASCII-lowercased copy.
    pub fn matches_bytes(&self, path: &[u8], lower: &[u8]) -> bool {
        match &self.regex {
            Some(r) => r.is_match(path),
            None if self.case_sensitive => self.finder.find(path).is_some(),
            None => self.finder.find(lower).is_some(),
        }
    }
}

/// One visible row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub node: NodeId,
    pub depth: u32,
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
    /// Bytes this layer added or modified under each touched node (sparse: a layer
    /// touches few of the nodes of a big tree).
    pub changed: rustc_hash::FxHashMap<NodeId, u64>,
    /// Node has a version in the layer or a descendant that has.
    pub touched: Vec<bool>,
}

impl LayerSizes {
    /// Bytes this layer added or modified under `n`.
    pub fn changed(&self, n: NodeId) -> u64 {
        self.changed.get(&n).copied().unwrap_or(0)
    }
}

pub fn compute_sizes(tree: &FileTree, layer: usize) -> LayerSizes {
    let n = tree.node_count();
    let mut merged = vec![0u64; n];
    let mut changed: rustc_hash::FxHashMap<NodeId, u64> = rustc_hash::FxHashMap::default();
    let mut touched = vec![false; n];
    // Children always have larger ids than their parents: one reverse pass sums up.
    for id in (1..n).rev() {
        let node = id as NodeId;
        let Some(v) = tree.state_at(node, layer) else {
            continue;
        };
        let counts = v.kind != EntryKind::Dir && v.kind != EntryKind::Hardlink;
        if v.is_present() {
            if counts {
                merged[id] += v.size;
            }
            let p = tree.parent(node) as usize;
            merged[p] += merged[id];
        } else if v.layer as usize == layer {
            // Removed in this layer: its size as it was (kept in the deletion); a
            // removed directory shows what it held.
            if counts {
                merged[id] += v.size;
            }
            let p = tree.parent(node);
            if p != ROOT
                && tree
                    .state_at(p, layer)
                    .is_some_and(|pv| !pv.is_present() && pv.layer as usize == layer)
            {
                merged[p as usize] += merged[id];
            }
        }
    }
    // This layer's own bytes on the changed nodes, then summed up over the changed nodes
    // and their ancestors only (each marked once, children before parents: linear in
    // what the layer touched, whatever the depth).
    let mut on_way: Vec<NodeId> = Vec::new();
    for &c in &tree.layer_changes[layer] {
        let Some(v) = tree.version_in(c, layer) else {
            continue;
        };
        let own = if matches!(v.change, Change::Added | Change::Modified)
            && v.is_present()
            && v.kind == EntryKind::File
        {
            v.size
        } else {
            0
        };
        if own > 0 {
            *changed.entry(c).or_insert(0) += own;
        }
        let mut p = c;
        while !touched[p as usize] {
            touched[p as usize] = true;
            on_way.push(p);
            if p == ROOT {
                break;
            }
            p = tree.parent(p);
        }
    }
    // Children have larger ids than their parents.
    on_way.sort_unstable_by(|a, b| b.cmp(a));
    for &id in &on_way {
        if id != ROOT {
            let p = tree.parent(id) as usize;
            if let Some(&v) = changed.get(&id) {
                if v > 0 {
                    *changed.entry(p as NodeId).or_insert(0) += v;
                }
            }
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
    /// Hidden change kinds, indexed by [`change_index`].
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

/// Memory the per-layer sizes cache may use (beyond its minimum of 2 layers).
pub const SIZE_CACHE_BYTES: usize = 96 << 20;

/// Per-layer sizes, cached for the last few layers visited.
#[derive(Debug, Default)]
pub struct SizeCache {
    map: HashMap<usize, Arc<LayerSizes>>,
    order: Vec<usize>,
    /// Layers in the tree when cached (caches are dropped as layers arrive).
    layers_seen: usize,
}

impl SizeCache {
    pub fn get(&mut self, tree: &FileTree, layer: usize) -> Arc<LayerSizes> {
        if tree.layer_count() != self.layers_seen {
            self.map.clear();
            self.order.clear();
            self.layers_seen = tree.layer_count();
        }
        if let Some(s) = self.map.get(&layer) {
            return s.clone();
        }
        let s = Arc::new(compute_sizes(tree, layer));
        self.insert(tree, layer, s.clone());
        s
    }

    /// The sizes of `layer` if they are cached.
    pub fn cached(&mut self, tree: &FileTree, layer: usize) -> Option<Arc<LayerSizes>> {
        if tree.layer_count() != self.layers_seen {
            return None;
        }
        self.map.get(&layer).cloned()
    }

    /// Cache sizes computed elsewhere (by a job).
    pub fn insert(&mut self, tree: &FileTree, layer: usize, s: Arc<LayerSizes>) {
        if tree.layer_count() != self.layers_seen {
            self.map.clear();
            self.order.clear();
            self.layers_seen = tree.layer_count();
        }
        if self.map.insert(layer, s).is_none() {
            self.order.push(layer);
        }
        // At most 12 layers, and no more than SIZE_CACHE_BYTES (at least 2 layers: the
        // one shown and the one before): 17 bytes per node and layer add up on trees of
        // millions of paths.
        let per_layer = tree.node_count().max(1) * 17;
        let keep = (SIZE_CACHE_BYTES / per_layer).clamp(2, 12);
        while self.order.len() > keep {
            let old = self.order.remove(0);
            self.map.remove(&old);
        }
    }
}

/// A child as the view sees it.
#[derive(Clone, Copy)]
struct Kid {
    node: NodeId,
    change: Change,
    /// Shown only as context (changes mode: not touched itself).
    context: bool,
    is_dir: bool,
    size: u64,
}

/// The status of `n` at `layer` in `mode`, or None if it is not part of the view.
fn kid(
    tree: &FileTree,
    n: NodeId,
    layer: usize,
    opts: &ViewOptions,
    sizes: &LayerSizes,
) -> Option<Kid> {
    let changes = opts.mode == Mode::Changes;
    if changes && !sizes.touched[n as usize] {
        return None;
    }
    let v = tree.state_at(n, layer)?;
    let own = v.layer as usize == layer;
    let is_dir = v.kind == EntryKind::Dir;
    let (change, context) = if v.is_present() {
        if own {
            (v.change, false)
        } else {
            (Change::Unchanged, changes)
        }
    } else if own {
        (Change::Removed, false)
    } else {
        return None;
    };
    let size = if changes && change != Change::Removed {
        sizes.changed(n)
    } else {
        sizes.merged[n as usize]
    };
    Some(Kid {
        node: n,
        change,
        context,
        is_dir,
        size,
    })
}

struct Builder<'a> {
    tree: &'a FileTree,
    layer: usize,
    opts: &'a ViewOptions,
    sizes: &'a LayerSizes,
    expansion: &'a Expansion,
    out: Vec<Row>,
    /// Path of the node being visited (maintained only while filtering), raw and
    /// ASCII-lowercased.
    path: Vec<u8>,
    lower: Vec<u8>,
    /// Child lists of finished directories, reused (no allocation per directory).
    pool: Vec<Vec<Kid>>,
}

/// One directory being visited (an explicit stack: no recursion on tree depth).
struct Frame {
    depth: u32,
    /// Its own name matched the filter (everything below is shown).
    parent_matched: bool,
    /// Rows are emitted (false: only finding out whether anything would show).
    emit: bool,
    kids: Vec<Kid>,
    idx: usize,
    any: bool,
    done: bool,
    /// The kid being visited: its row's index, whether it shows, the path length
    /// before its name.
    cur_row: usize,
    cur_visible: bool,
    cur_plen: usize,
}

impl Builder<'_> {
    fn children(&mut self, n: NodeId) -> Vec<Kid> {
        let mut kids = self.pool.pop().unwrap_or_default();
        kids.clear();
        for &c in self.tree.children(n) {
            if let Some(k) = kid(self.tree, c, self.layer, self.opts, self.sizes) {
                kids.push(k);
            }
        }
        let tree = self.tree;
        match self.opts.sort {
            Sort::Name => kids.sort_unstable_by(|a, b| tree.name(a.node).cmp(tree.name(b.node))),
            Sort::Size => kids.sort_unstable_by(|a, b| {
                b.size
                    .cmp(&a.size)
                    .then_with(|| tree.name(a.node).cmp(tree.name(b.node)))
            }),
        }
        kids
    }

    fn frame(&mut self, n: NodeId, depth: u32, parent_matched: bool, emit: bool) -> Frame {
        Frame {
            depth,
            parent_matched,
            emit,
            kids: self.children(n),
            idx: 0,
            any: false,
            done: false,
            cur_row: 0,
            cur_visible: false,
            cur_plen: 0,
        }
    }

    /// The current kid of `f` is done; `below`: something under it shows.
    fn finish_kid(&mut self, f: &mut Frame, below: bool) {
        if self.opts.filter.is_some() {
            self.path.truncate(f.cur_plen);
            self.lower.truncate(f.cur_plen);
        }
        if f.cur_visible || below {
            f.any = true;
            if !f.emit {
                // Only asked whether anything shows: it does.
                f.done = true;
            }
        } else if f.emit {
            self.out.truncate(f.cur_row);
        }
        f.idx += 1;
    }

    /// Emit rows for the children of `root`, depth first.
    fn run(&mut self, root: NodeId) {
        let filtering = self.opts.filter.is_some();
        let restricted = filtering || self.opts.hidden.iter().any(|h| *h);
        let mut stack = vec![self.frame(root, 0, false, true)];
        loop {
            let top = stack.len() - 1;
            if stack[top].done || stack[top].idx >= stack[top].kids.len() {
                let mut f = stack.pop().expect("not empty");
                self.pool.push(std::mem::take(&mut f.kids));
                match stack.last_mut() {
                    Some(parent) => {
                        let mut parent = std::mem::replace(parent, self.frame_placeholder());
                        self.finish_kid(&mut parent, f.any);
                        *stack.last_mut().expect("not empty") = parent;
                    }
                    None => return,
                }
                continue;
            }
            let f = &stack[top];
            let k = f.kids[f.idx];
            let (depth, parent_matched, emit) = (f.depth, f.parent_matched, f.emit);
            let plen = self.path.len();
            let mut matches = false;
            if filtering {
                let name = self.tree.name(k.node);
                self.path.push(b'/');
                self.path.extend_from_slice(name);
                self.lower.push(b'/');
                self.lower
                    .extend(name.iter().map(|b| b.to_ascii_lowercase()));
                matches = self
                    .opts
                    .filter
                    .as_ref()
                    .is_some_and(|f| f.matches_bytes(&self.path, &self.lower));
            }
            let visible = !k.context
                && !self.opts.hidden[change_index(k.change)]
                && (!filtering || parent_matched || matches);
            let expanded = k.is_dir && self.expansion.is_expanded(k.node);
            let row_at = self.out.len();
            if emit {
                self.out.push(Row {
                    node: k.node,
                    depth,
                    change: k.change,
                    context: !visible,
                    is_dir: k.is_dir,
                    expanded,
                    last: false,
                    guides: 0,
                    size: k.size,
                });
            }
            let f = &mut stack[top];
            f.cur_row = row_at;
            f.cur_visible = visible;
            f.cur_plen = plen;
            if k.is_dir && (expanded || restricted) {
                let child = self.frame(
                    k.node,
                    depth + 1,
                    filtering && (parent_matched || matches),
                    emit && expanded,
                );
                stack.push(child);
            } else {
                let mut f = std::mem::replace(&mut stack[top], self.frame_placeholder());
                self.finish_kid(&mut f, false);
                stack[top] = f;
            }
        }
    }

    fn frame_placeholder(&self) -> Frame {
        Frame {
            depth: 0,
            parent_matched: false,
            emit: false,
            kids: Vec::new(),
            idx: 0,
            any: false,
            done: false,
            cur_row: 0,
            cur_visible: false,
            cur_plen: 0,
        }
    }
}

/// The expansion a filter asks for (`expansion` with the directories on the way to the
/// topmost match of each branch opened, at most 10 000 of them) and the rows it gives.
pub fn filter_rows(
    img: &Image,
    layer: usize,
    opts: &ViewOptions,
    expansion: &Expansion,
    sizes: &LayerSizes,
) -> (Expansion, Vec<Row>) {
    let mut expansion = expansion.clone();
    let mut all = Expansion::default();
    all.expand_all();
    let rows = build_rows(img, layer, opts, &all, sizes);
    let tree = &img.tree;
    let shown: rustc_hash::FxHashSet<NodeId> =
        rows.iter().filter(|r| !r.context).map(|r| r.node).collect();
    let mut opened = 0usize;
    for r in rows.iter().filter(|r| !r.context) {
        let parent = tree.parent(r.node);
        if shown.contains(&parent) {
            continue;
        }
        let mut p = parent;
        while p != ROOT {
            expansion.set(p, true);
            p = tree.parent(p);
        }
        opened += 1;
        if opened >= 10_000 {
            break;
        }
    }
    // The rows under that expansion: the expanded-everything rows minus what sits in
    // folded directories (same order, same siblings; recomputed last/guides flags are
    // unchanged because only whole subtrees go).
    let mut out = Vec::with_capacity(rows.len().min(1 << 16));
    let mut skip_below: Option<u32> = None;
    for mut r in rows {
        if let Some(d) = skip_below {
            if r.depth > d {
                continue;
            }
            skip_below = None;
        }
        if r.is_dir {
            r.expanded = expansion.is_expanded(r.node);
            if !r.expanded {
                skip_below = Some(r.depth);
            }
        }
        out.push(r);
    }
    (expansion, out)
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
        path: Vec::new(),
        lower: Vec::new(),
        pool: Vec::new(),
    };
    b.run(ROOT);
    let mut rows = b.out;
    // Last-sibling flags and guide bits.
    // later_sibling[d]: a row at depth d follows under the same parent. Deeper entries
    // belong to subtrees already passed: dropped (amortised O(1) per row).
    let mut later_sibling: Vec<bool> = Vec::new();
    for r in rows.iter_mut().rev() {
        let d = r.depth as usize;
        later_sibling.truncate(d + 1);
        if later_sibling.len() <= d {
            later_sibling.resize(d + 1, false);
        }
        r.last = !later_sibling[d];
        later_sibling[d] = true;
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

/// Nodes whose name matches `pattern`, in display order ignoring collapse.
pub fn search(
    img: &Image,
    layer: usize,
    opts: &ViewOptions,
    sizes: &LayerSizes,
    pattern: &Filter,
) -> Vec<NodeId> {
    let all = Expansion::default();
    let rows = build_rows(img, layer, opts, &all, sizes);
    rows.into_iter()
        .filter(|r| {
            let name = img.tree.name(r.node);
            !r.context && pattern.matches_bytes(name, &name.to_ascii_lowercase())
        })
        .map(|r| r.node)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The filter's rows, derived from the expanded-everything rows, are exactly what
    /// building the rows under the filter's expansion gives.
    #[test]
    fn filter_rows_equal_a_build_under_their_expansion() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample.tar");
        let src = crate::source::ImageSource::parse(path).unwrap();
        let img = crate::source::load(&src, path, &crate::source::LoadOptions::default()).unwrap();
        for layer in 0..img.layers.len() {
            for text in ["pip", "etc", "/\\.py$/", "zzz"] {
                for sort in [Sort::Size, Sort::Name] {
                    let opts = ViewOptions {
                        filter: Some(Filter::new(text).unwrap()),
                        sort,
                        ..Default::default()
                    };
                    let mut start = Expansion::default();
                    start.collapse_all();
                    let sizes = compute_sizes(&img.tree, layer);
                    let (exp, rows) = filter_rows(&img, layer, &opts, &start, &sizes);
                    let built = build_rows(&img, layer, &opts, &exp, &sizes);
                    let key = |r: &Row| (r.node, r.depth, r.expanded, r.last, r.guides, r.context);
                    assert_eq!(
                        rows.iter().map(key).collect::<Vec<_>>(),
                        built.iter().map(key).collect::<Vec<_>>(),
                        "layer {layer}, filter {text}"
                    );
                }
            }
        }
    }
}
