//! The layered file tree: one node per path ever seen in the image, each with the list
//! of versions it went through, layer by layer. The merged filesystem at any layer and
//! each layer's own changes are read from it without rebuilding anything: this is what
//! lets the explorer switch layers instantly where dive rebuilds whole trees.

use super::entry::{Entry, EntryKind, NO_LINK, split_parent};
use super::layer::{LayerContent, fill_from_target};
use serde::Serialize;
use std::sync::{Arc, LazyLock};

pub type NodeId = u32;
pub const ROOT: NodeId = 0;

/// How a path changed in a layer, relative to the merged tree of the layers below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Added,
    Modified,
    /// Written again with the same content, permissions and owner.
    Unchanged,
    Removed,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Modified => "modified",
            Change::Unchanged => "unchanged",
            Change::Removed => "removed",
        }
    }
}

/// The entry index of a version that deletes the path.
pub const DELETED: u32 = u32::MAX;
/// The entry index of a directory the layer implies (a child was written) without
/// writing it.
pub const IMPLICIT_DIR: u32 = u32::MAX - 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    pub layer: u16,
    pub change: Change,
    /// Kind of the entry (for a deletion: of what was deleted). Kept here, with the
    /// size, so views never have to look at the entries themselves.
    pub kind: EntryKind,
    /// Index into that layer's entries, or [`DELETED`] / [`IMPLICIT_DIR`].
    pub entry: u32,
    /// Content size of the entry (for a deletion: of what was deleted).
    pub size: u64,
}

impl Version {
    pub fn is_present(&self) -> bool {
        self.entry != DELETED
    }
}

/// Directories with up to this many children are searched by a scan (see
/// `FileTree::lookup`).
const SMALL_DIR: usize = 16;

/// `Node::more` of a node with at most one version.
const NO_MORE: u32 = u32::MAX;
/// `Version::layer` of a node's empty first slot (no layer has this index).
const NO_LAYER: u16 = u16::MAX;
const EMPTY_VERSION: Version = Version {
    layer: NO_LAYER,
    change: Change::Added,
    kind: EntryKind::Dir,
    entry: DELETED,
    size: 0,
};

/// One path of the tree: 40 bytes. Most paths have one version, kept inline; a path
/// with more has all of them in [`FileTree`]'s overflow table.
#[derive(Debug, Clone)]
pub struct Node {
    /// Where the name's bytes are: in the name arena of the layer that created the node
    /// (inside the path of one of its entries): layer << 48 | offset << 16 | length; a
    /// name of 64 KiB or more: [`LONG_NAME`] << 48 | index in `FileTree::long_names`.
    name: u64,
    pub parent: NodeId,
    /// Index of its versions' range in `FileTree::more`, or [`NO_MORE`].
    more: u32,
    /// Its children (a pointer-sized vector: most nodes are files, with none).
    pub children: thin_vec::ThinVec<NodeId>,
    /// Its only version, while `more` is [`NO_MORE`] ([`NO_LAYER`]: none yet).
    first: Version,
}

/// The layer field of a node whose name is in `FileTree::long_names`.
const LONG_NAME: u64 = 0xFFFF;

static IMPLICIT_ENTRY: LazyLock<Entry> = LazyLock::new(|| Entry {
    mode: 0o755,
    ..Entry::blank(EntryKind::Dir)
});

#[derive(Debug, Clone, Default)]
pub struct FileTree {
    pub nodes: Vec<Node>,
    /// Names of 64 KiB or more (node names are otherwise read from the layers).
    long_names: Vec<Box<[u8]>>,
    /// The versions of nodes with more than one (see [`Node`]): (start, length) in
    /// `more_versions`, where a node's versions lie side by side (moved to the end when
    /// one is added and others follow them).
    more: Vec<(u32, u32)>,
    more_versions: Vec<Version>,
    /// The children of big directories (over [`SMALL_DIR`] children) by a 32-bit hash
    /// of (parent, name), kept beside the node id (8 bytes a node): probes compare the
    /// hash before touching a node, and growing the table never reads the nodes. A small
    /// directory's children are found by a scan: its few names sit side by side, where a
    /// table probe is a cache miss, and most directories are small.
    lookup: hashbrown::HashTable<(NodeId, u32)>,
    /// Per layer: the layer's parsed content.
    pub contents: Vec<Arc<LayerContent>>,
    /// Per layer: the nodes that have a version in that layer, sorted by node id.
    pub layer_changes: Vec<Vec<NodeId>>,
    /// Problems found while stacking layers (e.g. a file used as a directory).
    pub warnings: Vec<String>,
    /// The last parent path `ensure_parents` resolved, and its directories outermost
    /// first: (end of the component in that path, node). Tars list a directory's
    /// entries together and neighbours share most of their parents: only the
    /// components that differ are looked up.
    dirs_path: Vec<u8>,
    dirs: Vec<(u32, NodeId)>,
    /// The first node created by the layer being stacked.
    layer_first_node: NodeId,
    /// Nodes created by this layer that got a child as an implicit directory (not an
    /// entry of their own). Entry paths are unique in a layer, so below any other node
    /// new in this layer an entry's node cannot exist yet and is created unlooked.
    implicit_parents: rustc_hash::FxHashSet<NodeId>,
}

impl FileTree {
    pub fn new() -> Self {
        let root = Node {
            name: 0,
            parent: ROOT,
            more: NO_MORE,
            children: thin_vec::ThinVec::new(),
            first: EMPTY_VERSION,
        };
        FileTree {
            nodes: vec![root],
            ..Default::default()
        }
    }

    pub fn layer_count(&self) -> usize {
        self.contents.len()
    }

    fn entry_at_index(&self, layer: u16, entry: u32) -> &Entry {
        match entry {
            IMPLICIT_DIR => &IMPLICIT_ENTRY,
            i => &self.contents[layer as usize].entries[i as usize],
        }
    }

    pub fn entry(&self, v: &Version) -> &Entry {
        match v.entry {
            IMPLICIT_DIR => &IMPLICIT_ENTRY,
            DELETED => panic!("entry() of a deleted version"),
            i => &self.contents[v.layer as usize].entries[i as usize],
        }
    }

    /// The link target of the entry of version `v` (symlinks, hardlinks).
    pub fn link(&self, v: &Version) -> Option<&[u8]> {
        match v.entry {
            IMPLICIT_DIR | DELETED => None,
            i => {
                let c = &self.contents[v.layer as usize];
                c.link(&c.entries[i as usize])
            }
        }
    }

    /// The link target of the entry visible at `node` in `layer`.
    pub fn link_at(&self, node: NodeId, layer: usize) -> Option<&[u8]> {
        self.state_at(node, layer).and_then(|v| self.link(v))
    }

    /// The version of `node` in effect at `layer` (None: never existed so far).
    pub fn state_at(&self, node: NodeId, layer: usize) -> Option<&Version> {
        if node == ROOT {
            return None;
        }
        let vs = self.versions(node);
        let i = vs.partition_point(|v| (v.layer as usize) <= layer);
        if i == 0 { None } else { Some(&vs[i - 1]) }
    }

    /// The entry visible at `layer`, if the path exists there.
    pub fn entry_at(&self, node: NodeId, layer: usize) -> Option<&Entry> {
        match self.state_at(node, layer) {
            Some(v) if v.is_present() => Some(self.entry(v)),
            _ => None,
        }
    }

    pub fn present_at(&self, node: NodeId, layer: usize) -> bool {
        node == ROOT || self.state_at(node, layer).is_some_and(|v| v.is_present())
    }

    /// The version written by exactly `layer`, if any.
    pub fn version_in(&self, node: NodeId, layer: usize) -> Option<&Version> {
        self.versions(node)
            .iter()
            .find(|v| v.layer as usize == layer)
    }

    /// Every version of `node`, lowest layer first.
    pub fn versions(&self, node: NodeId) -> &[Version] {
        let n = &self.nodes[node as usize];
        if n.more != NO_MORE {
            let (at, len) = self.more[n.more as usize];
            &self.more_versions[at as usize..(at + len) as usize]
        } else if n.first.layer == NO_LAYER {
            &[]
        } else {
            std::slice::from_ref(&n.first)
        }
    }

    fn push_version(&mut self, node: NodeId, v: Version) {
        let n = &mut self.nodes[node as usize];
        if n.more != NO_MORE {
            let (at, len) = &mut self.more[n.more as usize];
            if (*at + *len) as usize != self.more_versions.len() {
                let from = *at as usize..(*at + *len) as usize;
                *at = self.more_versions.len() as u32;
                self.more_versions.extend_from_within(from);
            }
            *len += 1;
            self.more_versions.push(v);
        } else if n.first.layer == NO_LAYER {
            n.first = v;
        } else {
            n.more = self.more.len() as u32;
            self.more.push((self.more_versions.len() as u32, 2));
            self.more_versions.extend([n.first, v]);
        }
    }

    fn pop_version(&mut self, node: NodeId) {
        let n = &mut self.nodes[node as usize];
        if n.more != NO_MORE {
            let (at, len) = &mut self.more[n.more as usize];
            if *len > 0 {
                if (*at + *len) as usize == self.more_versions.len() {
                    self.more_versions.pop();
                }
                *len -= 1;
            }
        } else {
            n.first = EMPTY_VERSION;
        }
    }

    pub fn children(&self, node: NodeId) -> &[NodeId] {
        &self.nodes[node as usize].children
    }

    pub fn name(&self, node: NodeId) -> &[u8] {
        let packed = self.nodes[node as usize].name;
        let (layer, at, len) = (
            packed >> 48,
            ((packed >> 16) & 0xFFFF_FFFF) as usize,
            (packed & 0xFFFF) as usize,
        );
        if layer == LONG_NAME {
            &self.long_names[at]
        } else if len == 0 {
            &[]
        } else {
            &self.contents[layer as usize].names[at..at + len]
        }
    }

    pub fn parent(&self, node: NodeId) -> NodeId {
        self.nodes[node as usize].parent
    }

    /// Raw path without leading slash ("" for the root).
    pub fn path(&self, node: NodeId) -> Vec<u8> {
        match self.entry_path(node) {
            Some(p) => p.to_vec(),
            None => self.walked_path(node),
        }
    }

    /// The path of `node` as one of its tar entries spells it (normalised, in that
    /// layer's name arena): one read instead of a walk up the tree. `None` for a path
    /// no layer wrote (implicit directories, deletions only).
    fn entry_path(&self, node: NodeId) -> Option<&[u8]> {
        let v = self
            .versions(node)
            .iter()
            .rev()
            .find(|v| v.entry != DELETED && v.entry != IMPLICIT_DIR)?;
        let c = &self.contents[v.layer as usize];
        Some(c.path(&c.entries[v.entry as usize]))
    }

    /// The path of `node` from its ancestors' names.
    fn walked_path(&self, node: NodeId) -> Vec<u8> {
        let mut parts = Vec::new();
        let mut n = node;
        while n != ROOT {
            parts.push(n);
            n = self.nodes[n as usize].parent;
        }
        let mut out = Vec::new();
        for (i, p) in parts.iter().rev().enumerate() {
            if i > 0 {
                out.push(b'/');
            }
            out.extend_from_slice(self.name(*p));
        }
        out
    }

    /// "/a/b" (lossy) for display.
    pub fn display_path(&self, node: NodeId) -> String {
        match self.entry_path(node) {
            Some(p) => super::entry::display_path(p),
            None => super::entry::display_path(&self.walked_path(node)),
        }
    }

    pub fn child(&self, parent: NodeId, name: &[u8]) -> Option<NodeId> {
        self.find_child(parent, name)
    }

    /// The child `name` of `parent`: a scan of a small directory's children, a probe of
    /// the table for a big one's.
    fn find_child(&self, parent: NodeId, name: &[u8]) -> Option<NodeId> {
        let kids = &self.nodes[parent as usize].children;
        if kids.len() <= SMALL_DIR {
            return kids.iter().copied().find(|&c| same_name(self.name(c), name));
        }
        let h = name_hash(parent, name);
        self.lookup
            .find(spread(h), |&(n, nh)| {
                nh == h && self.nodes[n as usize].parent == parent && self.name(n) == name
            })
            .map(|&(n, _)| n)
    }

    pub fn lookup_path(&self, path: &[u8]) -> Option<NodeId> {
        let mut n = ROOT;
        for comp in path.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
            n = self.child(n, comp)?;
        }
        Some(n)
    }

    /// The child `name` of `parent`, created if missing; `at`: the offset of `name` in
    /// the name arena of the layer being stacked (the last one).
    fn get_or_create(&mut self, parent: NodeId, name: &[u8], at: u32) -> NodeId {
        match self.find_child(parent, name) {
            Some(n) => n,
            None => self.create(parent, name, at),
        }
    }

    /// A new child `name` of `parent`.
    fn create(&mut self, parent: NodeId, name: &[u8], at: u32) -> NodeId {
        let id = self.nodes.len() as NodeId;
        let packed = if name.len() < 0xFFFF {
            let layer = (self.contents.len() - 1) as u64;
            (layer << 48) | ((at as u64) << 16) | name.len() as u64
        } else {
            self.long_names.push(name.into());
            (LONG_NAME << 48) | (((self.long_names.len() - 1) as u64) << 16)
        };
        self.nodes.push(Node {
            name: packed,
            parent,
            more: NO_MORE,
            children: thin_vec::ThinVec::new(),
            first: EMPTY_VERSION,
        });
        let kids = &mut self.nodes[parent as usize].children;
        kids.push(id);
        match kids.len() {
            n if n <= SMALL_DIR => {}
            n if n == SMALL_DIR + 1 => {
                // Big now: its children go into the table.
                for i in 0..n {
                    let c = self.nodes[parent as usize].children[i];
                    let h = name_hash(parent, self.name(c));
                    self.lookup
                        .insert_unique(spread(h), (c, h), |&(_, nh)| spread(nh));
                }
            }
            _ => {
                let h = name_hash(parent, name);
                self.lookup
                    .insert_unique(spread(h), (id, h), |&(_, nh)| spread(nh));
            }
        }
        id
    }

    fn current(&self, node: NodeId) -> Option<&Version> {
        self.versions(node).last()
    }

    fn currently_present(&self, node: NodeId) -> bool {
        node == ROOT || self.current(node).is_some_and(|v| v.is_present())
    }

    /// Record the version of `node` for `layer`, replacing one the same layer already
    /// recorded; `change` is computed against the state below `layer`.
    fn set_version(&mut self, node: NodeId, layer: u16, entry: u32) {
        if self.versions(node).last().is_some_and(|v| v.layer == layer) {
            self.pop_version(node);
        }
        let below = self.versions(node).last().copied();
        let change = match below {
            None => {
                if entry == DELETED {
                    return;
                }
                Change::Added
            }
            Some(b) if !b.is_present() => {
                if entry == DELETED {
                    return;
                }
                Change::Added
            }
            Some(b) => {
                if entry == DELETED {
                    Change::Removed
                } else {
                    let old = self.entry(&b);
                    let new = self.entry_at_index(layer, entry);
                    let new_link = match entry {
                        IMPLICIT_DIR => None,
                        i => {
                            let c = &self.contents[layer as usize];
                            c.link(&c.entries[i as usize])
                        }
                    };
                    if old.same_content_and_meta(new, (self.link(&b), new_link)) {
                        Change::Unchanged
                    } else {
                        Change::Modified
                    }
                }
            }
        };
        let (kind, size) = match (entry, below) {
            (DELETED, Some(b)) => (b.kind, b.size),
            (DELETED, None) => (EntryKind::File, 0),
            _ => {
                let e = self.entry_at_index(layer, entry);
                (e.kind, e.size)
            }
        };
        self.push_version(
            node,
            Version {
                layer,
                change,
                kind,
                entry,
                size,
            },
        );
        self.layer_changes[layer as usize].push(node);
    }

    /// Delete `node` and everything currently below it, in `layer`.
    fn delete_subtree(&mut self, node: NodeId, layer: u16) {
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            if !self.currently_present(n) {
                continue;
            }
            for &c in &self.nodes[n as usize].children {
                stack.push(c);
            }
            if n != ROOT {
                self.set_version(n, layer, DELETED);
            }
        }
    }

    fn delete_children(&mut self, node: NodeId, layer: u16) {
        let children = self.nodes[node as usize].children.to_vec();
        for c in children {
            self.delete_subtree(c, layer);
        }
    }

    /// Make sure every directory above `path` exists as a directory in `layer`; returns
    /// the parent node of `path` and the final component.
    /// `at`: the offset of `path` in the layer's name arena.
    fn ensure_parents<'p>(&mut self, path: &'p [u8], at: u32, layer: u16) -> (NodeId, &'p [u8]) {
        let (parent_path, name) = split_parent(path);
        // The directories this parent path shares with the last one are known.
        let common = common_prefix(parent_path, &self.dirs_path);
        let mut keep = 0;
        for (i, &(end, _)) in self.dirs.iter().enumerate() {
            let end = end as usize;
            if end > common || !(end == parent_path.len() || parent_path[end] == b'/') {
                break;
            }
            keep = i + 1;
        }
        // They are still directories unless an entry replaced one (which clears
        // `dirs`); checked anyway, it costs one read.
        if keep > 0 {
            let node = self.dirs[keep - 1].1;
            if !self
                .current(node)
                .is_some_and(|v| v.is_present() && v.kind == EntryKind::Dir)
            {
                keep = 0;
            }
        }
        self.dirs.truncate(keep);
        let (mut n, start) = match self.dirs.last() {
            Some(&(end, node)) => (node, end as usize + 1),
            None => (ROOT, 0),
        };
        if start < parent_path.len() {
            let mut off = start;
            for comp in parent_path[start..].split(|&b| b == b'/') {
                n = self.ensure_dir(n, comp, at + off as u32, layer);
                off += comp.len();
                self.dirs.push((off as u32, n));
                off += 1;
            }
        }
        self.dirs_path.clear();
        self.dirs_path.extend_from_slice(parent_path);
        (n, name)
    }

    /// The directory `name` below `parent` in `layer`, made one (implicitly) if it is
    /// missing or not a directory.
    fn ensure_dir(&mut self, parent: NodeId, name: &[u8], at: u32, layer: u16) -> NodeId {
        let c = match self.find_child(parent, name) {
            Some(c) => c,
            None => {
                if parent >= self.layer_first_node {
                    self.implicit_parents.insert(parent);
                }
                self.create(parent, name, at)
            }
        };
        let is_dir = self
            .current(c)
            .is_some_and(|v| v.is_present() && v.kind == EntryKind::Dir);
        if !is_dir {
            if self.currently_present(c) {
                self.warnings.push(format!(
                    "layer {layer}: {} is not a directory below but has children; treated as a directory",
                    self.display_path(c)
                ));
                self.delete_children(c, layer);
            }
            self.set_version(c, layer, IMPLICIT_DIR);
        }
        c
    }

    /// Stack one more layer on top of the tree.
    pub fn push_layer(&mut self, mut content: Arc<LayerContent>) {
        let layer = self.contents.len();
        assert!(layer < u16::MAX as usize, "too many layers");
        let l = layer as u16;
        self.layer_changes.push(Vec::new());
        self.dirs.clear();
        self.dirs_path.clear();
        self.implicit_parents.clear();
        self.layer_first_node = self.nodes.len() as NodeId;

        // Hardlinks whose target was not in the layer itself point below.
        let unresolved: Vec<(usize, Vec<u8>)> = content
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.kind == EntryKind::Hardlink && !e.resolved)
            .map(|(i, e)| (i, content.link(e).unwrap_or_default().to_vec()))
            .collect();
        if !unresolved.is_empty() {
            let mut fills = Vec::new();
            for (i, target) in unresolved {
                if let Some(t) = self.lookup_path(&target).and_then(|n| {
                    self.current(n)
                        .filter(|v| v.is_present())
                        .map(|v| (self.entry(v).clone(), self.link(v).map(<[u8]>::to_vec)))
                }) {
                    fills.push((i, t));
                } else {
                    self.warnings.push(format!(
                        "layer {layer}: hardlink {} points to missing {}",
                        content.path_lossy(&content.entries[i]),
                        super::entry::display_path(&target)
                    ));
                }
            }
            let c = Arc::make_mut(&mut content);
            for (i, (t, t_link)) in fills {
                // The target's own link target, copied into this layer's names.
                let at = match t_link {
                    Some(l) => c.add_link(&l),
                    None => NO_LINK,
                };
                fill_from_target(&mut c.entries[i], &t, at);
            }
        }
        self.contents.push(content.clone());

        // Deletions first: opaque directories hide every lower child, wherever the
        // marker sits in the tar; `.wh.` markers delete lower paths.
        for dir in &content.opaque {
            if let Some(n) = self.lookup_path(dir) {
                if self.currently_present(n) {
                    self.delete_children(n, l);
                }
            }
        }
        for target in &content.whiteouts {
            if let Some(n) = self.lookup_path(target) {
                self.delete_subtree(n, l);
            }
        }
        // Then the layer's own entries.
        for (i, e) in content.entries.iter().enumerate() {
            let path = content.path(e);
            let (parent, name) = self.ensure_parents(path, e.at, l);
            let name_at = e.at + (path.len() - name.len()) as u32;
            let node = if parent >= self.layer_first_node && !self.implicit_parents.contains(&parent)
            {
                // New in this layer, with entries only below it: `name` is not there.
                self.create(parent, name, name_at)
            } else {
                self.get_or_create(parent, name, name_at)
            };
            if e.kind != EntryKind::Dir {
                // Replacing a directory by anything else removes its contents.
                let was_dir = self
                    .current(node)
                    .is_some_and(|v| v.is_present() && v.kind == EntryKind::Dir);
                if was_dir {
                    self.delete_children(node, l);
                    // It may be one of the known parent directories.
                    self.dirs.clear();
                }
            }
            self.set_version(node, l, i as u32);
        }
        let mut changes = std::mem::take(&mut self.layer_changes[layer]);
        changes.sort_unstable();
        changes.dedup();
        changes.retain(|&n| self.version_in(n, layer).is_some());
        self.layer_changes[layer] = changes;
    }

    /// Visit every path present at `layer`, depth first, parents before children
    /// (children in insertion order). The callback gets the node, its depth (1 for
    /// top-level entries) and its entry.
    pub fn walk_at(&self, layer: usize, mut f: impl FnMut(NodeId, usize, &Entry)) {
        let mut stack: Vec<(NodeId, usize)> =
            self.children(ROOT).iter().rev().map(|&c| (c, 1)).collect();
        while let Some((n, depth)) = stack.pop() {
            let Some(e) = self.entry_at(n, layer) else {
                continue;
            };
            f(n, depth, e);
            if e.kind == EntryKind::Dir {
                for &c in self.children(n).iter().rev() {
                    stack.push((c, depth + 1));
                }
            }
        }
    }

    /// Total content size (tar sizes) of everything present at `layer` under `node`.
    pub fn subtree_tar_size_at(&self, node: NodeId, layer: usize) -> u64 {
        let mut total = 0;
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            if n != ROOT {
                let Some(e) = self.entry_at(n, layer) else {
                    continue;
                };
                total += e.tar_size;
                if e.kind != EntryKind::Dir {
                    continue;
                }
            }
            stack.extend_from_slice(self.children(n));
        }
        total
    }

    /// Where the bytes of the file visible at `node` in `layer` are stored: the layer
    /// whose tar holds them and the path inside that tar (a hardlink's content sits
    /// at its target). None when the path is not a file there.
    pub fn content_location(&self, node: NodeId, layer: usize) -> Option<(usize, Vec<u8>)> {
        let v = self.state_at(node, layer).filter(|v| v.is_present())?;
        let e = self.entry(v);
        match e.kind {
            EntryKind::File => Some((v.layer as usize, self.path(node))),
            EntryKind::Hardlink => {
                let target = self.link(v)?.to_vec();
                let stored = self
                    .lookup_path(&target)
                    .and_then(|t| self.state_at(t, v.layer as usize))
                    .map(|tv| tv.layer as usize)
                    .unwrap_or(v.layer as usize);
                Some((stored, target))
            }
            _ => None,
        }
    }

    /// Number of nodes (paths ever seen).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }
}

/// The length of the longest common prefix of `a` and `b`, 8 bytes at a time.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let x = u64::from_le_bytes(a[i..i + 8].try_into().unwrap())
            ^ u64::from_le_bytes(b[i..i + 8].try_into().unwrap());
        if x != 0 {
            return i + (x.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// `a == b` for names: most differ in length or in their first bytes, and are short.
fn same_name(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && common_prefix(a, b) == a.len()
}

/// 32 bits of a hash of (parent, name).
fn name_hash(parent: NodeId, name: &[u8]) -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = rustc_hash::FxBuildHasher.build_hasher();
    h.write_u32(parent);
    h.write(name);
    let x = h.finish();
    (x ^ (x >> 32)) as u32
}

/// The table's 64-bit hash of a 32-bit one (its top bits pick the tag, its low bits
/// the bucket: both must vary).
fn spread(h: u32) -> u64 {
    (h as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::{FEntry, layer_tar};
    use crate::model::parse_layer;

    #[test]
    fn node_names_are_read_from_their_layers_and_long_ones_kept_apart() {
        let long = "n".repeat(70_000);
        let mut tree = FileTree::new();
        for entries in [
            vec![
                FEntry::file("usr/bin/tool", "1"),
                FEntry::file(&format!("d/{long}"), "2"),
            ],
            vec![
                FEntry::file("usr/lib/x", "3"),
                FEntry::file("usr/bin/tool", "4"),
            ],
        ] {
            let c = parse_layer(&layer_tar(&entries)[..]).unwrap();
            tree.push_layer(Arc::new(c));
        }
        for path in ["usr/bin/tool", "usr/lib/x", &format!("d/{long}")] {
            let n = tree.lookup_path(path.as_bytes()).expect(path);
            assert_eq!(tree.path(n), path.as_bytes());
        }
        // Created by layer 0, named from layer 0's arena; `lib` from layer 1's.
        let lib = tree.lookup_path(b"usr/lib").unwrap();
        assert_eq!(tree.nodes[lib as usize].name >> 48, 1);
        let d_long = tree.lookup_path(format!("d/{long}").as_bytes()).unwrap();
        assert_eq!(tree.nodes[d_long as usize].name >> 48, LONG_NAME);
        assert_eq!(
            tree.versions(tree.lookup_path(b"usr/bin/tool").unwrap())
                .len(),
            2
        );
    }

    #[test]
    fn common_prefixes() {
        for (a, b, n) in [
            ("", "", 0),
            ("abc", "abd", 2),
            ("abcdefgh", "abcdefgh", 8),
            ("abcdefghij", "abcdefghiX", 9),
            ("abcdefgh/x", "abcdefgh", 8),
            ("abcdefghijklmnopq", "abcdefghijklmnopq", 17),
            ("abcdefghijklmnopq", "abcdefghijXlmnopq", 10),
        ] {
            assert_eq!(common_prefix(a.as_bytes(), b.as_bytes()), n, "{a} {b}");
            assert_eq!(common_prefix(b.as_bytes(), a.as_bytes()), n, "{a} {b}");
            assert_eq!(same_name(a.as_bytes(), b.as_bytes()), a == b);
        }
    }

    /// A node's path read from one of its entries is the path its ancestors spell, on
    /// layers of odd spellings (`./`, `//`, leading `/`), files used as directories,
    /// rewrites, links and deletions.
    #[test]
    fn entry_paths_equal_walked_paths() {
        let mut next = crate::fixture::xorshift(0x2545_F491_4F6C_DD1D);
        let spell = ["", "./", "/", ".//"];
        let paths = ["a", "a/b", "a/b/c", "a//b/d", "e", "e/./f", "a/b/c/g"];
        let mut checked = 0;
        for _ in 0..200 {
            let mut tree = FileTree::new();
            for _ in 0..1 + next(4) {
                let mut entries = Vec::new();
                for _ in 0..1 + next(6) {
                    let p = format!(
                        "{}{}",
                        spell[next(4) as usize],
                        paths[next(paths.len() as u64) as usize]
                    );
                    entries.push(match next(5) {
                        0 => FEntry::dir(&p),
                        1 => FEntry::whiteout(&p),
                        2 => FEntry::hardlink(&p, paths[next(paths.len() as u64) as usize]),
                        3 => FEntry::symlink(&p, "x"),
                        _ => FEntry::file(&p, "data"),
                    });
                }
                let c = parse_layer(&layer_tar(&entries)[..]).unwrap();
                tree.push_layer(Arc::new(c));
            }
            for n in 1..tree.node_count() as NodeId {
                if let Some(p) = tree.entry_path(n) {
                    assert_eq!(p, tree.walked_path(n).as_slice());
                    checked += 1;
                }
                assert_eq!(
                    tree.display_path(n),
                    super::super::entry::display_path(&tree.walked_path(n))
                );
            }
        }
        assert!(checked > 500, "{checked}");
    }

    /// What each layer's filesystem holds, by a plain map of path → kind applying the
    /// same rules: deletions first, then entries in tar order, parents made
    /// directories, a directory replaced by anything else losing its contents.
    fn reference_states(contents: &[LayerContent]) -> Vec<Vec<(Vec<u8>, EntryKind)>> {
        use std::collections::BTreeMap;
        let under = |p: &[u8], q: &[u8]| q.len() > p.len() && q.starts_with(p) && q[p.len()] == b'/';
        let mut fs: BTreeMap<Vec<u8>, EntryKind> = BTreeMap::new();
        let mut states = Vec::new();
        for c in contents {
            for d in &c.opaque {
                fs.retain(|q, _| !under(d, q));
            }
            for w in &c.whiteouts {
                fs.retain(|q, _| q.as_slice() != &w[..] && !under(w, q));
            }
            for e in &c.entries {
                let p = c.path(e).to_vec();
                let mut end = 0;
                while let Some(i) = p[end..].iter().position(|&b| b == b'/') {
                    let dir = p[..end + i].to_vec();
                    if fs.get(&dir) != Some(&EntryKind::Dir) {
                        fs.retain(|q, _| !under(&dir, q));
                        fs.insert(dir, EntryKind::Dir);
                    }
                    end += i + 1;
                }
                if e.kind != EntryKind::Dir && fs.get(&p) == Some(&EntryKind::Dir) {
                    fs.retain(|q, _| !under(&p, q));
                }
                fs.insert(p, e.kind);
            }
            states.push(fs.iter().map(|(p, k)| (p.clone(), *k)).collect());
        }
        states
    }

    /// The tree's filesystem at every layer equals the plain map's, and its lookups
    /// find every node, on random layers: directories that grow past [`SMALL_DIR`]
    /// children (scanned, then in the table), children listed before their parents,
    /// files replacing directories and the reverse, deletions.
    #[test]
    fn stacking_matches_a_plain_map_of_paths() {
        let mut next = crate::fixture::xorshift(0x9E37_79B9_7F4A_7C15);
        let dirs = ["a", "a/b", "a/b/c", "d", "a/f3"];
        let mut big = 0;
        for round in 0..150 {
            let mut contents = Vec::new();
            let mut tree = FileTree::new();
            for _ in 0..1 + next(4) {
                let mut entries = Vec::new();
                for _ in 0..next(120) {
                    let dir = dirs[next(dirs.len() as u64) as usize];
                    let p = format!("{dir}/f{}", next(30));
                    entries.push(match next(12) {
                        0 => FEntry::dir(dir),
                        1 => FEntry::dir(&p),
                        2 => FEntry::whiteout(&p),
                        3 => FEntry::whiteout(dir),
                        4 => FEntry::opaque(dir),
                        5 => FEntry::file(dir, "dir as file"),
                        6 => FEntry::symlink(&p, "x"),
                        _ => FEntry::file(&p, "data"),
                    });
                }
                let c = parse_layer(&layer_tar(&entries)[..]).unwrap();
                contents.push(c.clone());
                tree.push_layer(Arc::new(c));
            }
            for (l, want) in reference_states(&contents).into_iter().enumerate() {
                let mut got = Vec::new();
                tree.walk_at(l, |n, _, e| got.push((tree.walked_path(n), e.kind)));
                got.sort();
                assert_eq!(got, want, "round {round}, layer {l}");
            }
            for n in 1..tree.node_count() as NodeId {
                assert_eq!(tree.lookup_path(&tree.walked_path(n)), Some(n), "round {round}");
                let mut names: Vec<&[u8]> = tree.children(n).iter().map(|&c| tree.name(c)).collect();
                names.sort();
                let len = names.len();
                names.dedup();
                assert_eq!(names.len(), len, "round {round}: a name twice");
                big += usize::from(len > SMALL_DIR);
            }
        }
        assert!(big > 50, "{big}");
    }
}
