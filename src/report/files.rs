//! `files`: the merged tree at a layer, or one layer's own changes.

use crate::model::tree::ROOT;
use crate::model::tree::{Change, DELETED, IMPLICIT_DIR};
use crate::model::{Entry, EntryKind, Image, NodeId, display_path};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileRecord {
    pub path: String,
    pub kind: EntryKind,
    pub size: u64,
    pub mode: String,
    pub uid: u32,
    pub gid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
}

impl FileRecord {
    fn from_entry(path: String, e: &Entry, link: Option<&[u8]>, change: Option<Change>) -> Self {
        FileRecord {
            path,
            kind: e.kind,
            size: if e.kind == EntryKind::Dir { 0 } else { e.size },
            mode: format!("{:04o}", e.mode),
            uid: e.uid,
            gid: e.gid,
            link: link.map(|l| {
                let s = String::from_utf8_lossy(l).into_owned();
                if e.kind == EntryKind::Hardlink {
                    format!("/{s}")
                } else {
                    s
                }
            }),
            change,
        }
    }
}

/// Every path present at `layer`, in tree order (siblings by name, each directory
/// followed by what it holds).
pub fn merged(img: &Image, layer: usize) -> Vec<FileRecord> {
    let mut out = Vec::new();
    for_each_merged(img, layer, |r| {
        out.push(r);
        Ok(())
    })
    .expect("collecting never fails");
    out
}

/// What `layer` itself changed: added, modified and removed paths (and, when
/// `include_unchanged`, paths it wrote again identically), in tree order.
pub fn changes(img: &Image, layer: usize, include_unchanged: bool) -> Vec<FileRecord> {
    let mut out = Vec::new();
    for_each_change(img, layer, include_unchanged, |r| {
        out.push(r);
        Ok(())
    })
    .expect("collecting never fails");
    out
}

/// Depth-first walk in tree order with the path kept incrementally (no recursion, no
/// walk to the root per node: linear in the paths, whatever the depth). `visit(node,
/// path)` returns whether to descend.
fn walk_sorted(
    img: &Image,
    mut visit: impl FnMut(NodeId, &[u8]) -> std::io::Result<bool>,
) -> std::io::Result<()> {
    let tree = &img.tree;
    let sorted = |n: NodeId| {
        let mut kids: Vec<NodeId> = tree.children(n).to_vec();
        kids.sort_unstable_by(|a, b| tree.name(*a).cmp(tree.name(*b)));
        kids
    };
    let mut path: Vec<u8> = Vec::new();
    // (node, length of the parent's path).
    let mut stack: Vec<(NodeId, usize)> = sorted(ROOT).into_iter().rev().map(|c| (c, 0)).collect();
    while let Some((n, parent_len)) = stack.pop() {
        path.truncate(parent_len);
        if parent_len > 0 {
            path.push(b'/');
        }
        path.extend_from_slice(tree.name(n));
        if visit(n, &path)? {
            let len = path.len();
            stack.extend(sorted(n).into_iter().rev().map(|c| (c, len)));
        }
    }
    Ok(())
}

/// Stream the paths present at `layer` (see [`merged`]).
pub fn for_each_merged(
    img: &Image,
    layer: usize,
    mut f: impl FnMut(FileRecord) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let tree = &img.tree;
    walk_sorted(img, |n, path| {
        let Some(e) = tree.entry_at(n, layer) else {
            return Ok(false);
        };
        f(FileRecord::from_entry(
            display_path(path),
            e,
            tree.link_at(n, layer),
            None,
        ))?;
        Ok(e.kind == EntryKind::Dir)
    })
}

/// Stream what `layer` changed (see [`changes`]).
pub fn for_each_change(
    img: &Image,
    layer: usize,
    include_unchanged: bool,
    mut f: impl FnMut(FileRecord) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let tree = &img.tree;
    // The changed nodes and their ancestors: the walk descends only there.
    let mut on_way = vec![false; tree.node_count()];
    for &n in &tree.layer_changes[layer] {
        let mut p = n;
        while p != ROOT && !on_way[p as usize] {
            on_way[p as usize] = true;
            p = tree.parent(p);
        }
    }
    walk_sorted(img, |n, path| {
        if !on_way[n as usize] {
            return Ok(false);
        }
        if let Some(v) = tree.version_in(n, layer) {
            let rec = match v.entry {
                _ if v.change == Change::Unchanged && !include_unchanged => None,
                // Describe what was removed, as it was below.
                DELETED => layer.checked_sub(1).and_then(|b| {
                    tree.entry_at(n, b).map(|e| {
                        let link = tree.link_at(n, b);
                        FileRecord::from_entry(display_path(path), e, link, Some(Change::Removed))
                    })
                }),
                IMPLICIT_DIR if v.change == Change::Unchanged => None,
                _ => Some(FileRecord::from_entry(
                    display_path(path),
                    tree.entry(v),
                    tree.link(v),
                    Some(v.change),
                )),
            };
            if let Some(r) = rec {
                f(r)?;
            }
        }
        Ok(true)
    })
}

/// Write the listing as text or pretty JSON (the same bytes as serialising the whole
/// list), record by record: memory stays flat however many or deep the paths are.
pub fn write_listing(
    img: &Image,
    layer: usize,
    changes: bool,
    json: bool,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let mut first = true;
    let mut emit = |r: FileRecord| -> std::io::Result<()> {
        if json {
            let body = serde_json::to_string_pretty(&r).expect("serializes");
            out.write_all(if first { b"[\n" } else { b",\n" })?;
            for (i, line) in body.lines().enumerate() {
                if i > 0 {
                    out.write_all(b"\n")?;
                }
                out.write_all(b"  ")?;
                out.write_all(line.as_bytes())?;
            }
        } else {
            out.write_all(text_line(&r).as_bytes())?;
        }
        first = false;
        Ok(())
    };
    if changes {
        for_each_change(img, layer, false, &mut emit)?;
    } else {
        for_each_merged(img, layer, &mut emit)?;
    }
    if json {
        out.write_all(if first { b"[]\n" } else { b"\n]\n" })?;
    }
    out.flush()
}

/// Counts of added / modified / removed paths in a layer.
pub fn change_counts(img: &Image, layer: usize) -> (usize, usize, usize) {
    let tree = &img.tree;
    let (mut a, mut m, mut r) = (0, 0, 0);
    for &n in &tree.layer_changes[layer] {
        if let Some(v) = tree.version_in(n, layer) {
            match v.change {
                Change::Added => a += 1,
                Change::Modified => m += 1,
                Change::Removed => r += 1,
                Change::Unchanged => {}
            }
        }
    }
    (a, m, r)
}

/// Text listing: one line per path.
pub fn to_text(records: &[FileRecord]) -> String {
    records.iter().map(text_line).collect()
}

/// One line of the text listing; names and link targets escaped (a newline in a name
/// cannot fake a line).
pub fn text_line(r: &FileRecord) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let change = r
        .change
        .map(|c| format!("{:<9} ", c.as_str()))
        .unwrap_or_default();
    let kind = r.kind.type_char();
    let _ = write!(
        s,
        "{change}{kind}{} {:>5}:{:<5} {:>10}  {}",
        r.mode,
        r.uid,
        r.gid,
        r.size,
        super::escape_name(&r.path)
    );
    if let Some(l) = &r.link {
        let _ = write!(s, " -> {}", super::escape_name(l));
    }
    s.push('\n');
    s
}
