//! Wasted space.
//!
//! Two views:
//! - dive-compatible figures (`efficiency`, `wasted_bytes`, `user_wasted_percent`,
//!   inefficient files), computed exactly the way dive 0.13.1 does so users can keep
//!   their CI thresholds: every leaf path of every layer (files, links, empty
//!   directories, whiteout markers) with its tar-header size; a whiteout of a directory
//!   weighs what it hid. A path met in two or more layers is "inefficient" and its
//!   cumulative size counts as wasted — including the copy that must be kept.
//! - `reclaimable_bytes`: file content stored in the layers that is not visible in the
//!   final filesystem (overwritten or deleted later). That is what rewriting the
//!   Dockerfile could really save; it is attributed to the layer and path that hold it.

use crate::model::tree::{DELETED, IMPLICIT_DIR, ROOT};
use crate::model::{EntryKind, Image, NodeId, display_path};
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::borrow::Cow;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InefficientFile {
    pub path: String,
    /// Number of layers the path appears in.
    pub count: u32,
    /// Cumulative size over those layers (dive's figure).
    pub wasted_bytes: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReclaimableFile {
    pub path: String,
    /// Layer that stores the bytes.
    pub layer: usize,
    pub bytes: u64,
    /// Layer where the bytes stopped being visible.
    pub hidden_in: usize,
    /// True when that layer deleted the path, false when it wrote it again.
    pub deleted: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Waste {
    pub size_bytes: u64,
    pub user_size_bytes: u64,
    pub efficiency: f64,
    pub wasted_bytes: u64,
    pub user_wasted_percent: f64,
    pub inefficient_files: Vec<InefficientFile>,
    pub reclaimable_bytes: u64,
    /// Per layer: bytes stored in that layer that are not visible at the top.
    pub layer_reclaimable: Vec<u64>,
    /// Every stored file whose content is not visible at the top, biggest first.
    pub reclaimable_files: Vec<ReclaimableFile>,
}

#[derive(Clone, Copy)]
struct Acc {
    cumulative: u64,
    min: u64,
    count: u32,
}

impl Acc {
    fn add(&mut self, size: u64) {
        if self.count == 0 || size < self.min {
            self.min = size;
        }
        self.cumulative += size;
        self.count += 1;
    }
}

const EMPTY: Acc = Acc {
    cumulative: 0,
    min: 0,
    count: 0,
};

pub fn analyze(img: &Image) -> Waste {
    // The two views are independent: compute them side by side.
    std::thread::scope(|scope| {
        let rec = scope.spawn(|| reclaimable(img));
        let mut w = dive_figures(img);
        let (bytes, per_layer, files) = rec.join().expect("reclaimable analysis");
        w.reclaimable_bytes = bytes;
        w.layer_reclaimable = per_layer;
        w.reclaimable_files = files;
        w
    })
}

/// dive's figures (the reclaimable fields are left empty).
///
/// dive counts an entry a layer writes (or a path it whites out) only where it is a
/// leaf of that layer: nothing below it was written or whited out in the same layer.
/// One walk of the tree, children before parents, carries the set of layers that
/// touched something below each node, so the memory is the walk's depth, not a counter
/// per path.
fn dive_figures(img: &Image) -> Waste {
    let tree = &img.tree;
    let n_layers = tree.layer_count();
    let words = n_layers.div_ceil(64).max(1);
    // Whiteouts by the node they delete (WH), and by the parent node of a path that
    // never existed (WP); those paths themselves are counted by path.
    let mut wh: Vec<(NodeId, usize)> = Vec::new();
    let mut wp: Vec<(NodeId, usize)> = Vec::new();
    let mut by_path: FxHashMap<Vec<u8>, Acc> = FxHashMap::default();
    for l in 0..n_layers {
        for w in &tree.contents[l].whiteouts {
            match tree.lookup_path(w) {
                Some(n) => wh.push((n, l)),
                None => {
                    let (parent, _) = crate::model::entry::split_parent(w);
                    if let Some(p) = tree.lookup_path(parent) {
                        wp.push((p, l));
                    }
                    by_path.entry(w.to_vec()).or_insert(EMPTY).add(0);
                }
            }
        }
    }
    wh.sort_unstable();
    wp.sort_unstable();
    let of = |v: &[(NodeId, usize)], n: NodeId| -> std::ops::Range<usize> {
        let a = v.partition_point(|&(m, _)| m < n);
        a..a + v[a..].partition_point(|&(m, _)| m == n)
    };
    let written = |v: &crate::model::Version| v.entry != DELETED && v.entry != IMPLICIT_DIR;

    let mut totals = Totals::default();
    // The walk: (node, next child) per level, and per level the layers that touched
    // something below that node (`words` u64s a level).
    let mut stack: Vec<(NodeId, usize)> = vec![(ROOT, 0)];
    let mut below: Vec<u64> = vec![0; words];
    while let Some(&mut (n, ref mut next)) = stack.last_mut() {
        let children = tree.children(n);
        if *next < children.len() {
            let c = children[*next];
            *next += 1;
            stack.push((c, 0));
            below.resize(stack.len() * words, 0);
            let at = (stack.len() - 1) * words;
            below[at..at + words].fill(0);
            continue;
        }
        // All children done: `n`'s own layers are final.
        stack.pop();
        let at = stack.len() * words;
        let (lower, mine) = below.split_at_mut(at);
        let mine = &mut mine[..words];
        for &(_, l) in &wp[of(&wp, n)] {
            mine[l / 64] |= 1 << (l % 64);
        }
        let has = |bits: &[u64], l: usize| bits[l / 64] & (1 << (l % 64)) != 0;
        if n != ROOT {
            let mut a = EMPTY;
            for v in tree.versions(n).iter().filter(|v| written(v)) {
                if !has(mine, v.layer as usize) {
                    a.add(tree.entry(v).tar_size);
                }
            }
            for &(_, l) in &wh[of(&wh, n)] {
                if !has(mine, l) {
                    let size = match l
                        .checked_sub(1)
                        .and_then(|b| tree.entry_at(n, b).map(|e| (e, b)))
                    {
                        Some((e, b)) if e.kind == EntryKind::Dir => tree.subtree_tar_size_at(n, b),
                        _ => 0,
                    };
                    a.add(size);
                }
            }
            totals.add(&a, || tree.display_path(n));
            // What the parent sees below it: this node's layers, and the layers that
            // wrote or whited out this node.
            let parent = &mut lower[at - words..at];
            for (p, m) in parent.iter_mut().zip(mine.iter()) {
                *p |= m;
            }
            for v in tree.versions(n).iter().filter(|v| written(v)) {
                let l = v.layer as usize;
                parent[l / 64] |= 1 << (l % 64);
            }
            for &(_, l) in &wh[of(&wh, n)] {
                parent[l / 64] |= 1 << (l % 64);
            }
        }
    }
    for (p, a) in &by_path {
        totals.add(a, || display_path(p));
    }
    totals.finish(img)
}

/// What dive adds up over the counted paths.
#[derive(Default)]
struct Totals {
    min: u64,
    cumulative: u64,
    inefficient: Vec<InefficientFile>,
}

impl Totals {
    /// Count one path's entries (`path` is only built for a path counted twice or more).
    fn add(&mut self, a: &Acc, path: impl FnOnce() -> String) {
        if a.count == 0 {
            return;
        }
        self.min += a.min;
        self.cumulative += a.cumulative;
        if a.count > 1 {
            self.inefficient.push(InefficientFile {
                path: path(),
                count: a.count,
                wasted_bytes: a.cumulative,
            });
        }
    }

    /// dive's efficiency and wasted bytes from the totals.
    fn finish(self, img: &Image) -> Waste {
        finish_dive_figures(img, self.min, self.cumulative, self.inefficient)
    }
}

/// dive's efficiency and wasted bytes from the counted totals.
fn finish_dive_figures(
    img: &Image,
    min_total: u64,
    cum_total: u64,
    mut inefficient: Vec<InefficientFile>,
) -> Waste {
    let n_layers = img.tree.layer_count();
    inefficient.sort_by(|a, b| {
        b.wasted_bytes
            .cmp(&a.wasted_bytes)
            .then_with(|| a.path.cmp(&b.path))
    });
    let wasted_bytes: u64 = inefficient.iter().map(|f| f.wasted_bytes).sum();
    let efficiency = if cum_total == 0 {
        1.0
    } else {
        min_total as f64 / cum_total as f64
    };
    let size_bytes = img.size_bytes();
    let user_size_bytes = size_bytes - if n_layers > 0 { img.layer_size(0) } else { 0 };
    let user_wasted_percent = if user_size_bytes == 0 {
        0.0
    } else {
        wasted_bytes as f64 / user_size_bytes as f64
    };
    Waste {
        size_bytes,
        user_size_bytes,
        efficiency,
        wasted_bytes,
        user_wasted_percent,
        inefficient_files: inefficient,
        reclaimable_bytes: 0,
        layer_reclaimable: Vec::new(),
        reclaimable_files: Vec::new(),
    }
}

/// [`dive_figures`] the first way it was written (a counter per node): the reference
/// the tests compare it with.
#[cfg(test)]
fn dive_figures_reference(img: &Image) -> Waste {
    let tree = &img.tree;
    let n_layers = tree.layer_count();
    let mut by_node: Vec<Acc> = vec![EMPTY; tree.node_count()];
    let mut by_path: FxHashMap<Vec<u8>, Acc> = FxHashMap::default();
    let mut stamp: Vec<u32> = vec![0; tree.node_count()];

    for l in 0..n_layers {
        let content = &tree.contents[l];
        let mark = l as u32 + 1;
        // Nodes written by this layer's tar entries.
        let written: Vec<(NodeId, u64)> = tree.layer_changes[l]
            .iter()
            .filter_map(|&n| {
                let v = tree.version_in(n, l)?;
                match v.entry {
                    DELETED | IMPLICIT_DIR => None,
                    _ => Some((n, tree.entry(v).tar_size)),
                }
            })
            .collect();
        // Whiteout markers, by the path they delete.
        let whiteouts: Vec<(Option<NodeId>, &[u8])> = content
            .whiteouts
            .iter()
            .map(|w| (tree.lookup_path(w), &w[..]))
            .collect();
        // Anything with a child in this layer is not a leaf.
        let mut mark_ancestors = |mut p: NodeId| {
            while p != ROOT && stamp[p as usize] != mark {
                stamp[p as usize] = mark;
                p = tree.parent(p);
            }
        };
        for &(n, _) in &written {
            mark_ancestors(tree.parent(n));
        }
        for (n, w) in &whiteouts {
            match n {
                Some(n) => mark_ancestors(tree.parent(*n)),
                None => {
                    let (parent, _) = crate::model::entry::split_parent(w);
                    if let Some(p) = tree.lookup_path(parent) {
                        mark_ancestors(p);
                    }
                }
            }
        }
        for &(n, size) in &written {
            if stamp[n as usize] != mark {
                by_node[n as usize].add(size);
            }
        }
        for (n, w) in whiteouts {
            match n {
                Some(n) if stamp[n as usize] != mark => {
                    let size = match l
                        .checked_sub(1)
                        .and_then(|below| tree.entry_at(n, below).map(|e| (e, below)))
                    {
                        Some((e, below)) if e.kind == EntryKind::Dir => {
                            tree.subtree_tar_size_at(n, below)
                        }
                        _ => 0,
                    };
                    by_node[n as usize].add(size);
                }
                Some(_) => {}
                None => by_path.entry(w.to_vec()).or_insert(EMPTY).add(0),
            }
        }
    }

    let mut totals = Totals::default();
    for (n, a) in by_node.iter().enumerate() {
        totals.add(a, || tree.display_path(n as NodeId));
    }
    for (p, a) in &by_path {
        totals.add(a, || display_path(p));
    }
    totals.finish(img)
}

/// Content identity of a stored file: (layer, entry index) of the regular file entry.
type Inode = (u16, u32);

fn reclaimable(img: &Image) -> (u64, Vec<u64>, Vec<ReclaimableFile>) {
    let tree = &img.tree;
    let n_layers = tree.layer_count();
    // Resolve a hardlink entry to the inode of its content.
    let inode_of = |layer: usize, idx: u32| -> Option<Inode> {
        let mut layer = layer;
        let mut idx = idx;
        for _ in 0..4 {
            let e = &tree.contents[layer].entries[idx as usize];
            match e.kind {
                EntryKind::File => return Some((layer as u16, idx)),
                EntryKind::Hardlink => {
                    let target = tree.contents[layer].link(e)?;
                    let node = tree.lookup_path(target)?;
                    // The target as seen by this layer: its own version, else below.
                    let v = match tree.version_in(node, layer) {
                        Some(v)
                            if v.entry != DELETED && v.entry != IMPLICIT_DIR && v.entry != idx =>
                        {
                            *v
                        }
                        _ => *tree.state_at(node, layer.checked_sub(1)?)?,
                    };
                    if v.entry == DELETED || v.entry == IMPLICIT_DIR {
                        return None;
                    }
                    layer = v.layer as usize;
                    idx = v.entry;
                }
                _ => return None,
            }
        }
        None
    };
    // visible[layer][entry]: that stored file is seen in the final filesystem.
    let mut visible: Vec<Vec<bool>> = tree
        .contents
        .iter()
        .map(|c| vec![false; c.entries.len()])
        .collect();
    // The versions carry their entry's kind and size: only hardlinks look at entries.
    if n_layers > 0 {
        for n in 0..tree.node_count() as NodeId {
            // Every version is at or below the top: the last one is what it shows.
            let Some(v) = tree.versions(n).last() else {
                continue;
            };
            if !v.is_present() || v.entry == IMPLICIT_DIR {
                continue;
            }
            let inode = match v.kind {
                EntryKind::File => Some((v.layer, v.entry)),
                EntryKind::Hardlink => inode_of(v.layer as usize, v.entry),
                _ => None,
            };
            if let Some(i) = inode {
                visible[i.0 as usize][i.1 as usize] = true;
            }
        }
    }
    let mut per_layer = vec![0u64; n_layers];
    let mut files = Vec::new();
    for n in 0..tree.node_count() as NodeId {
        let vs = tree.versions(n);
        for (k, v) in vs.iter().enumerate() {
            if v.kind != EntryKind::File || v.entry == DELETED || v.entry == IMPLICIT_DIR {
                continue;
            }
            if visible[v.layer as usize][v.entry as usize] {
                continue;
            }
            per_layer[v.layer as usize] += v.size;
            if v.size > 0 {
                let next = vs.get(k + 1);
                files.push(ReclaimableFile {
                    path: tree.display_path(n),
                    layer: v.layer as usize,
                    bytes: v.size,
                    hidden_in: next.map(|x| x.layer as usize).unwrap_or(v.layer as usize),
                    deleted: next.is_some_and(|x| !x.is_present()),
                });
            }
        }
    }
    files.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    (per_layer.iter().sum(), per_layer, files)
}

/// Reclaimable bytes of one cause: what one layer stored under one directory that a
/// later layer deleted (or wrote again).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReclaimableCause {
    /// The directory the files share (or the file itself, when it is alone).
    pub path: String,
    /// Layer that stores the bytes.
    pub layer: usize,
    /// Layer that hid them.
    pub hidden_in: usize,
    pub deleted: bool,
    pub bytes: u64,
    pub files: usize,
}

/// Reclaimable files grouped by cause: per (storing layer, hiding layer, deleted or
/// replaced) and top directories (three levels), each group named by the deepest
/// directory all its files share. Biggest first.
pub fn reclaimable_by_cause(w: &Waste) -> Vec<ReclaimableCause> {
    let mut groups: FxHashMap<(usize, usize, bool, Cow<str>), Vec<&ReclaimableFile>> =
        FxHashMap::default();
    for f in &w.reclaimable_files {
        groups
            .entry((f.layer, f.hidden_in, f.deleted, cause_dir(&f.path)))
            .or_default()
            .push(f);
    }
    let mut out: Vec<ReclaimableCause> = groups
        .into_values()
        .map(|files| {
            let first = files[0];
            let path = if files.len() == 1 {
                first.path.clone()
            } else {
                common_dir(files.iter().map(|f| f.path.as_str()))
            };
            ReclaimableCause {
                path,
                layer: first.layer,
                hidden_in: first.hidden_in,
                deleted: first.deleted,
                bytes: files.iter().map(|f| f.bytes).sum(),
                files: files.len(),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.bytes
            .cmp(&a.bytes)
            .then_with(|| a.path.cmp(&b.path))
            .then_with(|| a.layer.cmp(&b.layer))
    });
    out
}

/// The directory a reclaimable file is grouped under: its parent, at most three levels
/// deep ("/a/b/c" for "/a/b/c/d/f", "/" for "/f"). A slice of the path when it is
/// spelled as paths are displayed (one leading `/`, no empty component).
fn cause_dir(path: &str) -> Cow<'_, str> {
    let rest = path.trim_start_matches('/');
    if path.len() == rest.len() + 1 && !rest.contains("//") {
        // The end of the k-th component, k = min(components - 1, 3).
        let slashes: Vec<usize> = rest.match_indices('/').take(3).map(|(i, _)| i).collect();
        let end = match slashes.len() {
            0 => 0,
            n => slashes[n.min(3) - 1] + 1,
        };
        return Cow::Borrowed(&path[..end.max(1)]);
    }
    let parts: Vec<&str> = rest.split('/').collect();
    let dir_parts = &parts[..parts.len().saturating_sub(1).min(3)];
    Cow::Owned(format!("/{}", dir_parts.join("/")))
}

/// The deepest directory (with a trailing `/`) holding every path, "/" at least.
fn common_dir<'a>(mut paths: impl Iterator<Item = &'a str>) -> String {
    let dir_of = |p: &'a str| -> &'a str { p.rfind('/').map_or("", |i| &p[..=i]) };
    let Some(first) = paths.next() else {
        return "/".into();
    };
    let mut common = dir_of(first);
    for p in paths {
        let dir = dir_of(p);
        let same = common
            .bytes()
            .zip(dir.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        if same < common.len() {
            // Back to the last whole component both share.
            common = common[..same].rfind('/').map_or("", |i| &common[..=i]);
        }
    }
    if common.is_empty() {
        "/".into()
    } else {
        common.to_string()
    }
}

#[cfg(test)]
mod cause_tests {
    use super::*;

    fn file(path: &str, layer: usize, hidden_in: usize, bytes: u64) -> ReclaimableFile {
        ReclaimableFile {
            path: path.into(),
            layer,
            bytes,
            hidden_in,
            deleted: true,
        }
    }

    #[test]
    fn files_group_by_layer_pair_and_directory() {
        let w = Waste {
            size_bytes: 0,
            user_size_bytes: 0,
            efficiency: 1.0,
            wasted_bytes: 0,
            user_wasted_percent: 0.0,
            inefficient_files: Vec::new(),
            reclaimable_bytes: 0,
            layer_reclaimable: Vec::new(),
            reclaimable_files: vec![
                file("/var/lib/apt/lists/a", 1, 4, 300),
                file("/var/lib/apt/lists/b", 1, 4, 200),
                file("/var/lib/apt/lists/partial/c", 1, 4, 100),
                file("/root/.cache/pip/x.whl", 3, 4, 250),
                file("/root/.cache/pip/y.whl", 3, 4, 150),
                file("/app/big.bin", 2, 5, 50),
                // Same directory, another layer pair: another cause.
                file("/var/lib/apt/lists/d", 2, 4, 10),
            ],
        };
        let g = reclaimable_by_cause(&w);
        let summary: Vec<(String, usize, usize, u64, usize)> = g
            .iter()
            .map(|c| (c.path.clone(), c.layer, c.hidden_in, c.bytes, c.files))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("/var/lib/apt/lists/".to_string(), 1, 4, 600, 3),
                ("/root/.cache/pip/".to_string(), 3, 4, 400, 2),
                ("/app/big.bin".to_string(), 2, 5, 50, 1),
                ("/var/lib/apt/lists/d".to_string(), 2, 4, 10, 1),
            ]
        );
        assert_eq!(g.iter().map(|c| c.bytes).sum::<u64>(), 1060);
    }

    /// The slicing versions give what splitting into components and joining them gives.
    #[test]
    fn cause_dirs_and_common_dirs_are_those_of_components() {
        let paths = [
            "/f", "/a/f", "/a/b/f", "/a/b/c/f", "/a/b/c/d/e/f", "/a/bc/f", "/a/b/", "//x/y",
            "/a//b/c/d", "/é/ü/f", "x", "/", "/a/b/c/",
        ];
        for p in paths {
            let parts: Vec<&str> = p.trim_start_matches('/').split('/').collect();
            let dir_parts = &parts[..parts.len().saturating_sub(1).min(3)];
            assert_eq!(cause_dir(p), format!("/{}", dir_parts.join("/")), "{p}");
        }
        let joined = |group: &[&str]| {
            let mut common: Vec<&str> = group[0].split('/').collect();
            common.pop();
            for p in &group[1..] {
                let parts: Vec<&str> = p.split('/').collect();
                let dir = &parts[..parts.len().saturating_sub(1)];
                let n = common.iter().zip(dir.iter()).take_while(|(a, b)| a == b).count();
                common.truncate(n);
            }
            match common.join("/") {
                s if s.is_empty() => "/".to_string(),
                s => format!("{s}/"),
            }
        };
        for a in paths {
            for b in paths {
                for c in ["/a/b/c/g", "/a/bd/e", "/q"] {
                    let g = [a, b, c];
                    assert_eq!(common_dir(g.iter().copied()), joined(&g), "{g:?}");
                }
            }
        }
    }
}

#[cfg(test)]
mod dive_figure_tests {
    use super::*;
    use crate::fixture::{FEntry, layer_tar};
    use crate::model::{HistoryItem, Layer, parse_layer};
    use std::sync::Arc;

    fn image(layers: Vec<Vec<FEntry>>) -> Image {
        let n = layers.len();
        let layers = layers
            .iter()
            .enumerate()
            .map(|(i, entries)| {
                let c = parse_layer(&layer_tar(entries)[..]).expect("fixture layer");
                let l = Layer {
                    diff_id: format!("sha256:{i:064}"),
                    blob: format!("layer{i}"),
                    ..Default::default()
                };
                (l, Arc::new(c))
            })
            .collect();
        let history = (0..n)
            .map(|i| HistoryItem {
                created_by: format!("RUN step {i}"),
                ..Default::default()
            })
            .collect();
        Image::assemble(Image::default(), history, layers)
    }

    /// Layers of random writes, rewrites, whiteouts (of files, directories, and paths
    /// that never existed) and opaque directories over a small set of paths.
    fn random_layers(seed: u64) -> Vec<Vec<FEntry>> {
        let mut next = crate::fixture::xorshift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let dirs = ["a", "a/b", "a/b/c", "d", "d/e"];
        let names = ["f", "g", "h"];
        let mut layers = Vec::new();
        for _ in 0..1 + next(5) {
            let mut entries = Vec::new();
            for _ in 0..next(8) {
                let dir = dirs[next(dirs.len() as u64) as usize];
                let name = names[next(names.len() as u64) as usize];
                let path = format!("{dir}/{name}");
                match next(6) {
                    0 => entries.push(FEntry::dir(dir)),
                    1 => entries.push(FEntry::whiteout(&path)),
                    2 => entries.push(FEntry::whiteout(dir)),
                    3 => entries.push(FEntry::opaque(dir)),
                    4 => entries.push(FEntry::whiteout(&format!("{dir}/never"))),
                    _ => entries.push(FEntry::file(&path, vec![b'x'; next(900) as usize])),
                }
            }
            layers.push(entries);
        }
        layers
    }

    #[test]
    fn one_walk_counts_what_a_counter_per_path_counts() {
        let (mut wasteful, mut by_path) = (0, 0);
        for seed in 0..400 {
            let img = image(random_layers(seed));
            let w = dive_figures(&img);
            assert_eq!(w, dive_figures_reference(&img), "seed {seed}");
            wasteful += usize::from(w.wasted_bytes > 0);
            by_path += usize::from(
                w.inefficient_files
                    .iter()
                    .any(|f| f.path.ends_with("/never")),
            );
        }
        // The cases are there: files counted twice, and paths only ever whited out.
        assert!(wasteful > 100 && by_path > 10, "{wasteful} {by_path}");
    }
}
