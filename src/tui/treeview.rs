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
        self.map.insert(layer, s.clone());
        self.order.push(layer);
        if self.order.len() > 12 {
            let old = self.order.remove(0);
            self.map.remove(&old);
        }
        s
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
        sizes.changed[n as usize]
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
    kids: Vec<Vec<Kid>>,
}

impl Builder<'_> {
    fn children(&mut self, n: NodeId, depth: usize) -> Vec<Kid> {
        // Reuse one buffer per depth.
        let mut kids = if self.kids.len() > depth {
            std::mem::take(&mut self.kids[depth])
        } else {
            Vec::new()
        };
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

    /// Emit rows for the children of `n`; returns whether anything was (or, when not
    /// emitting, would be) shown.
    fn visit(&mut self, n: NodeId, depth: u16, parent_matched: bool, emit: bool) -> bool {
        let filtering = self.opts.filter.is_some();
        let restricted = filtering || self.opts.hidden.iter().any(|h| *h);
        let kids = self.children(n, depth as usize);
        let mut any = false;
        for k in &kids {
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
            let mut below = false;
            if k.is_dir && (expanded || restricted) {
                below = self.visit(
                    k.node,
                    depth + 1,
                    filtering && (parent_matched || matches),
                    emit && expanded,
                );
            }
            if filtering {
                self.path.truncate(plen);
                self.lower.truncate(plen);
            }
            if visible || below {
                any = true;
                if !emit {
                    break;
                }
            } else if emit {
                self.out.truncate(row_at);
            }
        }
        if self.kids.len() <= depth as usize {
            self.kids.resize_with(depth as usize + 1, Vec::new);
        }
        self.kids[depth as usize] = kids;
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
        path: Vec::new(),
        lower: Vec::new(),
        kids: Vec::new(),
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
