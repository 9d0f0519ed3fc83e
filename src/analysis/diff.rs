//! What changed between two builds: layer alignment (reused / rebuilt / added /
//! dropped), the cache-bust point, why each rebuilt layer was rebuilt, and the
//! file-level difference of the two final filesystems.

use crate::model::{Entry, EntryKind, Image, LayerContent, display_path};
use rustc_hash::FxHashMap;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Same chain id: the build hit the cache (or the base was the same).
    Reused,
    /// Above the bust point, with a partner in the other image.
    Rebuilt,
    /// Only in B.
    Added,
    /// Only in A.
    Dropped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonKind {
    /// The instruction text differs.
    InstructionChanged,
    /// A layer of the base image differs.
    BaseChanged,
    /// Same instruction, different files (for COPY/ADD: its inputs changed).
    ContentChanged,
    /// Same instruction and files; rebuilt because an earlier layer was.
    UpstreamRebuilt,
    /// Same instruction and files except timestamps/ownership, and nothing earlier
    /// changed: the build is not reproducible.
    NonReproducible,
    /// A new instruction.
    NewInstruction,
    /// An instruction that is gone.
    RemovedInstruction,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct FileChanges {
    pub added: Vec<String>,
    pub modified: Vec<String>,
    pub removed: Vec<String>,
    /// Paths whose only difference is the modification time.
    pub mtime_only: usize,
    /// Paths whose only difference is owner or permissions.
    pub metadata_only: Vec<String>,
}

impl FileChanges {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.modified.is_empty() && self.removed.is_empty()
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Reason {
    pub kind: ReasonKind,
    /// One sentence for people.
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<FileChanges>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LayerPair {
    pub status: Status,
    pub a_index: Option<usize>,
    pub b_index: Option<usize>,
    pub a_created_by: Option<String>,
    pub b_created_by: Option<String>,
    pub a_diff_id: Option<String>,
    pub b_diff_id: Option<String>,
    /// Size of B's layer (A's for a dropped layer).
    pub size_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Meta {
    pub old_size: u64,
    pub new_size: u64,
    pub old_mode: String,
    pub new_mode: String,
    pub old_owner: String,
    pub new_owner: String,
    pub old_kind: EntryKind,
    pub new_kind: EntryKind,
}

impl Meta {
    /// What changed besides content, for people: "file → dir", "mode 0644 → 0755",
    /// "owner 0:0 → 1000:1000".
    pub fn describe(&self) -> Vec<String> {
        let mut d = Vec::new();
        if self.old_kind != self.new_kind {
            d.push(format!(
                "{} → {}",
                self.old_kind.as_str(),
                self.new_kind.as_str()
            ));
        }
        if self.old_mode != self.new_mode {
            d.push(format!("mode {} → {}", self.old_mode, self.new_mode));
        }
        if self.old_owner != self.new_owner {
            d.push(format!("owner {} → {}", self.old_owner, self.new_owner));
        }
        d
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FileDiff {
    pub path: String,
    pub change: &'static str,
    pub kind: EntryKind,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified: Option<Meta>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct FileTotals {
    pub added: usize,
    pub removed: usize,
    pub modified: usize,
    pub added_bytes: u64,
    pub removed_bytes: u64,
    /// New minus old size over modified files.
    pub modified_bytes_delta: i64,
    /// Paths that differ only in modification time (not listed).
    pub mtime_only: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    pub reused_layers: usize,
    pub rebuilt_layers: usize,
    pub added_layers: usize,
    pub dropped_layers: usize,
    pub reused_bytes: u64,
    /// Bytes of B's layers that are not reused: what a push uploads, a pull downloads.
    pub rebuilt_bytes: u64,
    /// Index in B of the first layer that is not reused (None: B is all cache hits).
    pub bust_point: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bust_reason: Option<Reason>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ImageDiff {
    pub summary: Summary,
    /// Aligned layers, bottom first.
    pub layers: Vec<LayerPair>,
    /// Final filesystem differences, sorted by path.
    pub files: Vec<FileDiff>,
    pub file_totals: FileTotals,
}

/// An instruction as written in the Dockerfile: shell prefix dropped, spaces folded,
/// and the content digests the classic builder puts in COPY/ADD lines
/// (`COPY dir:<sha256> in /app`) masked, since they change whenever the inputs do.
pub fn norm_instruction(s: &str) -> String {
    static DIGEST: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        // No word boundary before: the classic builder writes `--chown=1:1file:<hex>`.
        regex::Regex::new(r"(file|dir|multi):[0-9a-f]{64}\b").unwrap()
    });
    let s = s.trim();
    let s = s.strip_prefix("/bin/sh -c ").unwrap_or(s);
    let s = s.strip_prefix("#(nop) ").unwrap_or(s);
    let s = DIGEST.replace_all(s, "$1:…");
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The instruction that made each layer, normalised ("" when unknown).
fn instructions(img: &Image) -> Vec<String> {
    (0..img.layers.len())
        .map(|i| norm_instruction(img.created_by(i)))
        .collect()
}

/// Longest common subsequence of two string lists: matched index pairs.
fn lcs(a: &[String], b: &[String]) -> Vec<(usize, usize)> {
    let (n, m) = (a.len(), b.len());
    let mut t = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            t[i][j] = if a[i] == b[j] && !a[i].is_empty() {
                t[i + 1][j + 1] + 1
            } else {
                t[i + 1][j].max(t[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < n && j < m {
        if a[i] == b[j] && !a[i].is_empty() {
            out.push((i, j));
            i += 1;
            j += 1;
        } else if t[i + 1][j] >= t[i][j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// Compare the own entries of two layers, ignoring modification times.
pub fn compare_layers(a: &LayerContent, b: &LayerContent) -> FileChanges {
    let mut out = FileChanges::default();
    let amap: FxHashMap<&[u8], &Entry> = a.entries.iter().map(|e| (a.path(e), e)).collect();
    let bmap: FxHashMap<&[u8], &Entry> = b.entries.iter().map(|e| (b.path(e), e)).collect();
    for e in &b.entries {
        match amap.get(b.path(e)) {
            None => out.added.push(b.path_lossy(e)),
            Some(o)
                if !o.same_content(e, (a.link(o), b.link(e)))
                    && !(o.kind == EntryKind::Dir && e.kind == EntryKind::Dir) =>
            {
                out.modified.push(b.path_lossy(e))
            }
            Some(o) if !o.same_content_and_meta(e, (a.link(o), b.link(e))) => {
                out.metadata_only.push(b.path_lossy(e))
            }
            Some(o) => {
                if o.mtime != e.mtime {
                    out.mtime_only += 1;
                }
            }
        }
    }
    for e in &a.entries {
        if !bmap.contains_key(a.path(e)) {
            out.removed.push(a.path_lossy(e));
        }
    }
    // Whiteouts are changes too.
    let aw: std::collections::BTreeSet<&[u8]> = a
        .whiteouts
        .iter()
        .chain(a.opaque.iter())
        .map(|w| &w[..])
        .collect();
    let bw: std::collections::BTreeSet<&[u8]> = b
        .whiteouts
        .iter()
        .chain(b.opaque.iter())
        .map(|w| &w[..])
        .collect();
    for w in bw.difference(&aw) {
        out.added.push(format!("{} (deletion)", display_path(w)));
    }
    for w in aw.difference(&bw) {
        out.removed.push(format!("{} (deletion)", display_path(w)));
    }
    out.added.sort();
    out.modified.sort();
    out.removed.sort();
    out.metadata_only.sort();
    out
}

fn looks_like_base(created_by: &str, index: usize) -> bool {
    let c = norm_instruction(created_by);
    index == 0 || c.starts_with("ADD file:") || c.starts_with("Imported from")
}

pub fn diff(a: &Image, b: &Image) -> ImageDiff {
    let (na, nb) = (a.layers.len(), b.layers.len());
    let mut k = 0;
    while k < na && k < nb && a.layers[k].chain_id == b.layers[k].chain_id {
        k += 1;
    }
    let ia = instructions(a);
    let ib = instructions(b);
    let mut layers: Vec<LayerPair> = Vec::new();
    let pair = |status: Status, ai: Option<usize>, bi: Option<usize>| LayerPair {
        status,
        a_index: ai,
        b_index: bi,
        a_created_by: ai.map(|i| a.created_by(i).to_string()),
        b_created_by: bi.map(|i| b.created_by(i).to_string()),
        a_diff_id: ai.map(|i| a.layers[i].diff_id.clone()),
        b_diff_id: bi.map(|i| b.layers[i].diff_id.clone()),
        size_bytes: match bi {
            Some(i) => b.layer_size(i),
            None => ai.map(|i| a.layer_size(i)).unwrap_or(0),
        },
        reason: None,
    };
    for i in 0..k {
        layers.push(pair(Status::Reused, Some(i), Some(i)));
    }
    // Above the bust point: pair by instruction text, then pair what is left in each
    // gap position by position (changed instructions).
    let ra: Vec<String> = ia[k..].to_vec();
    let rb: Vec<String> = ib[k..].to_vec();
    let matched = lcs(&ra, &rb);
    let mut anchors = matched.clone();
    anchors.push((ra.len(), rb.len()));
    let (mut pa, mut pb) = (0usize, 0usize);
    let mut upstream_changed: Option<usize> = None; // lowest B layer with a real change
    for (ma, mb) in anchors {
        // Gap: ra[pa..ma] vs rb[pb..mb].
        let ga = ma - pa;
        let gb = mb - pb;
        let common = ga.min(gb);
        for t in 0..common {
            let (ai, bi) = (k + pa + t, k + pb + t);
            let mut p = pair(Status::Rebuilt, Some(ai), Some(bi));
            let base = ai == bi
                && looks_like_base(b.created_by(bi), bi)
                && looks_like_base(a.created_by(ai), ai);
            p.reason = Some(if base && ia[ai] == ib[bi] {
                Reason {
                    kind: ReasonKind::BaseChanged,
                    text: format!("the base image changed: its layer {bi} differs"),
                    files: Some(compare_layers(a.content(ai), b.content(bi))),
                }
            } else if base && ai == 0 {
                Reason {
                    kind: ReasonKind::BaseChanged,
                    text: format!(
                        "the base image changed: {:?} became {:?}",
                        a.created_by(ai),
                        b.created_by(bi)
                    ),
                    files: Some(compare_layers(a.content(ai), b.content(bi))),
                }
            } else {
                Reason {
                    kind: ReasonKind::InstructionChanged,
                    text: format!("the instruction changed: {:?} became {:?}", ia[ai], ib[bi]),
                    files: Some(compare_layers(a.content(ai), b.content(bi))),
                }
            });
            upstream_changed.get_or_insert(bi);
            layers.push(p);
        }
        for t in common..ga {
            let ai = k + pa + t;
            let mut p = pair(Status::Dropped, Some(ai), None);
            p.reason = Some(Reason {
                kind: ReasonKind::RemovedInstruction,
                text: format!("the instruction {:?} is gone", ia[ai]),
                files: None,
            });
            layers.push(p);
        }
        for t in common..gb {
            let bi = k + pb + t;
            let mut p = pair(Status::Added, None, Some(bi));
            p.reason = Some(Reason {
                kind: ReasonKind::NewInstruction,
                text: format!("a new instruction: {:?}", ib[bi]),
                files: None,
            });
            upstream_changed.get_or_insert(bi);
            layers.push(p);
        }
        if ma < ra.len() {
            let (ai, bi) = (k + ma, k + mb);
            let mut p = pair(Status::Rebuilt, Some(ai), Some(bi));
            let files = compare_layers(a.content(ai), b.content(bi));
            let same_tar = a.layers[ai].diff_id == b.layers[bi].diff_id;
            let reason = if bi == k && looks_like_base(b.created_by(bi), bi) && !files.is_empty() {
                Reason {
                    kind: ReasonKind::BaseChanged,
                    text: "the base image changed".into(),
                    files: Some(files),
                }
            } else if !files.is_empty() {
                let what = if ib[bi].starts_with("COPY") || ib[bi].starts_with("ADD") {
                    "its inputs changed: "
                } else {
                    ""
                };
                Reason {
                    kind: ReasonKind::ContentChanged,
                    text: format!(
                        "same instruction, different files: {what}{} added, {} modified, {} removed",
                        files.added.len(),
                        files.modified.len(),
                        files.removed.len()
                    ),
                    files: Some(files),
                }
            } else if let Some(up) = upstream_changed {
                let detail = if same_tar {
                    "identical layer contents".to_string()
                } else if !files.metadata_only.is_empty() {
                    format!(
                        "same contents; {} path(s) differ in owner or permissions",
                        files.metadata_only.len()
                    )
                } else {
                    "same files, only timestamps differ".to_string()
                };
                Reason {
                    kind: ReasonKind::UpstreamRebuilt,
                    text: format!("rebuilt only because layer {up} changed ({detail})"),
                    files: Some(files),
                }
            } else if same_tar {
                Reason {
                    kind: ReasonKind::UpstreamRebuilt,
                    text: "identical layer contents; rebuilt because an earlier layer was".into(),
                    files: Some(files),
                }
            } else {
                let detail = if files.metadata_only.is_empty() {
                    format!(
                        "{} path(s) differ only in modification time",
                        files.mtime_only
                    )
                } else {
                    format!(
                        "{} path(s) differ only in modification time, {} in owner or permissions",
                        files.mtime_only,
                        files.metadata_only.len()
                    )
                };
                Reason {
                    kind: ReasonKind::NonReproducible,
                    text: format!("not reproducible: same instruction and file contents, {detail}"),
                    files: Some(files),
                }
            };
            if matches!(
                reason.kind,
                ReasonKind::ContentChanged | ReasonKind::BaseChanged
            ) {
                upstream_changed.get_or_insert(bi);
            }
            p.reason = Some(reason);
            layers.push(p);
        }
        pa = ma + 1;
        pb = mb + 1;
    }
    // Order by B's index (A-only layers after their predecessor).
    let bust_point = if k < nb { Some(k) } else { None };
    let bust_reason = bust_point.and_then(|bp| {
        layers
            .iter()
            .find(|l| l.b_index == Some(bp))
            .and_then(|l| l.reason.clone())
    });
    let mut summary = Summary {
        reused_layers: 0,
        rebuilt_layers: 0,
        added_layers: 0,
        dropped_layers: 0,
        reused_bytes: 0,
        rebuilt_bytes: 0,
        bust_point,
        bust_reason,
    };
    for l in &layers {
        match l.status {
            Status::Reused => {
                summary.reused_layers += 1;
                summary.reused_bytes += l.size_bytes;
            }
            Status::Rebuilt => {
                summary.rebuilt_layers += 1;
                summary.rebuilt_bytes += l.size_bytes;
            }
            Status::Added => {
                summary.added_layers += 1;
                summary.rebuilt_bytes += l.size_bytes;
            }
            Status::Dropped => summary.dropped_layers += 1,
        }
    }
    let (files, file_totals) = diff_final(a, b);
    ImageDiff {
        summary,
        layers,
        files,
        file_totals,
    }
}

fn owner(e: &Entry) -> String {
    format!("{}:{}", e.uid, e.gid)
}

/// Differences between the two final filesystems (modification times ignored).
pub fn diff_final(a: &Image, b: &Image) -> (Vec<FileDiff>, FileTotals) {
    // Path → (entry, link target) at the top layer.
    let top = |img: &Image| -> FxHashMap<Vec<u8>, (Entry, Option<Vec<u8>>)> {
        let mut m = FxHashMap::default();
        if let Some(top) = img.layers.len().checked_sub(1) {
            img.tree.walk_at(top, |n, _, e| {
                let link = img.tree.link_at(n, top).map(<[u8]>::to_vec);
                m.insert(img.tree.path(n), (e.clone(), link));
            });
        }
        m
    };
    let am = top(a);
    let bm = top(b);
    let mut out = Vec::new();
    let mut t = FileTotals::default();
    for (p, (e, e_link)) in &bm {
        match am.get(p) {
            None => {
                t.added += 1;
                t.added_bytes += if e.kind == EntryKind::File { e.size } else { 0 };
                out.push(FileDiff {
                    path: display_path(p),
                    change: "added",
                    kind: e.kind,
                    size: e.size,
                    modified: None,
                });
            }
            Some((o, o_link)) => {
                let dirs = o.kind == EntryKind::Dir && e.kind == EntryKind::Dir;
                let changed = if dirs {
                    o.mode != e.mode || o.uid != e.uid || o.gid != e.gid
                } else {
                    !o.same_content_and_meta(e, (o_link.as_deref(), e_link.as_deref()))
                };
                if changed {
                    t.modified += 1;
                    t.modified_bytes_delta += e.size as i64 - o.size as i64;
                    out.push(FileDiff {
                        path: display_path(p),
                        change: "modified",
                        kind: e.kind,
                        size: e.size,
                        modified: Some(Meta {
                            old_size: o.size,
                            new_size: e.size,
                            old_mode: format!("{:04o}", o.mode),
                            new_mode: format!("{:04o}", e.mode),
                            old_owner: owner(o),
                            new_owner: owner(e),
                            old_kind: o.kind,
                            new_kind: e.kind,
                        }),
                    });
                } else if o.mtime != e.mtime {
                    t.mtime_only += 1;
                }
            }
        }
    }
    for (p, (e, _)) in &am {
        if !bm.contains_key(p) {
            t.removed += 1;
            t.removed_bytes += if e.kind == EntryKind::File { e.size } else { 0 };
            out.push(FileDiff {
                path: display_path(p),
                change: "removed",
                kind: e.kind,
                size: e.size,
                modified: None,
            });
        }
    }
    out.sort_by(|x, y| x.path.cmp(&y.path));
    (out, t)
}
