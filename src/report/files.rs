//! `files`: the merged tree at a layer, or one layer's own changes.

use crate::model::tree::{Change, DELETED, IMPLICIT_DIR};
use crate::model::{Entry, EntryKind, Image};
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
    fn from_entry(path: String, e: &Entry, change: Option<Change>) -> Self {
        FileRecord {
            path,
            kind: e.kind,
            size: if e.kind == EntryKind::Dir { 0 } else { e.size },
            mode: format!("{:04o}", e.mode),
            uid: e.uid,
            gid: e.gid,
            link: e.link.as_ref().map(|l| {
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

/// Every path present at `layer`, sorted by path.
pub fn merged(img: &Image, layer: usize) -> Vec<FileRecord> {
    let mut out = Vec::new();
    img.tree.walk_at(layer, |n, _, e| {
        out.push(FileRecord::from_entry(img.tree.display_path(n), e, None));
    });
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// What `layer` itself changed: added, modified and removed paths (and, when
/// `include_unchanged`, paths it wrote again identically). Sorted by path.
pub fn changes(img: &Image, layer: usize, include_unchanged: bool) -> Vec<FileRecord> {
    let tree = &img.tree;
    let mut out = Vec::new();
    for &n in &tree.layer_changes[layer] {
        let Some(v) = tree.version_in(n, layer) else {
            continue;
        };
        if v.change == Change::Unchanged && !include_unchanged {
            continue;
        }
        let rec = match v.entry {
            DELETED => {
                // Describe what was removed, as it was below.
                let Some(e) = layer.checked_sub(1).and_then(|b| tree.entry_at(n, b)) else {
                    continue;
                };
                FileRecord::from_entry(tree.display_path(n), e, Some(Change::Removed))
            }
            IMPLICIT_DIR if v.change == Change::Unchanged => continue,
            _ => FileRecord::from_entry(tree.display_path(n), tree.entry(v), Some(v.change)),
        };
        out.push(rec);
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
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
    use std::fmt::Write;
    let mut s = String::new();
    for r in records {
        let change = r
            .change
            .map(|c| format!("{:<9} ", c.as_str()))
            .unwrap_or_default();
        let kind = r.kind.type_char();
        let _ = write!(
            s,
            "{change}{kind}{} {:>5}:{:<5} {:>10}  {}",
            r.mode, r.uid, r.gid, r.size, r.path
        );
        if let Some(l) = &r.link {
            let _ = write!(s, " -> {l}");
        }
        s.push('\n');
    }
    s
}
