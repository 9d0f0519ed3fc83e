//! Ground truth against a real Docker daemon: for images built (classic builder, offline)
//! on the busybox base, `layerlens files --format json` must list exactly what
//! `docker export` of a container created from the image contains, whether layerlens reads
//! the image from the daemon (`docker://TAG`) or from `docker save` (`docker-archive:PATH`).
//! `--layer N` is checked against the export of the same Dockerfile truncated after the
//! instruction that made layer N (the classic builder's cache makes that build free and the
//! layers identical — asserted via the diff ids).
//!
//! Layer indexes are 0-based from the bottom (the base image's single layer is 0), like the
//! `index` of `report --format json`.
//!
//! Each Dockerfile here keeps one instruction per line (no `\` continuations) so that
//! "truncated after line N" is well defined. Images are tagged `layerlens-test/gt-NAME:full`
//! and `:uptoN` and are left in place (cached; other test binaries may use them).
//!
//! Note on this daemon (Engine 20.10, fuse-overlayfs storage driver): a directory removed
//! and recreated in ONE `RUN` (`rm -rf /d && mkdir /d && ...`) is committed WITHOUT an opaque
//! whiteout, so the old contents of /d come back in the image (export and save agree on
//! that). Opaque whiteouts are therefore also exercised with an image loaded from a
//! hand-made archive (`opaque_whiteouts_loaded_archive`).

#[macro_use]
mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::*;

const BASE: &str = "FROM layerlens-test/busybox:base";

/// An image under test: its Dockerfile and context.
struct Case {
    name: &'static str,
    dockerfile: String,
    ctx: Vec<(String, Vec<u8>)>,
}

impl Case {
    fn new(name: &'static str, lines: &[&str]) -> Case {
        let mut dockerfile = String::new();
        for l in lines {
            assert!(
                !l.trim_end().ends_with('\\'),
                "keep one instruction per line"
            );
            dockerfile.push_str(l);
            dockerfile.push('\n');
        }
        Case {
            name,
            dockerfile,
            ctx: Vec::new(),
        }
    }

    fn with_file(mut self, name: &str, data: &[u8]) -> Case {
        self.ctx.push((name.to_string(), data.to_vec()));
        self
    }

    fn ctx(&self) -> Vec<(&str, &[u8])> {
        self.ctx
            .iter()
            .map(|(n, d)| (n.as_str(), d.as_slice()))
            .collect()
    }

    fn repo(&self) -> String {
        format!("layerlens-test/gt-{}", self.name)
    }

    /// Build the whole Dockerfile.
    fn build(&self) -> String {
        build_image(
            &format!("{}:full", self.repo()),
            &self.dockerfile,
            &self.ctx(),
        )
    }

    /// Build the Dockerfile truncated after its first `lines` lines.
    fn build_upto(&self, lines: usize) -> String {
        let df: String = self
            .dockerfile
            .lines()
            .take(lines)
            .map(|l| format!("{l}\n"))
            .collect();
        build_image(&format!("{}:upto{lines}", self.repo()), &df, &self.ctx())
    }
}

/// A built image, saved to a temp dir, with its ground truth.
struct Checked {
    tag: String,
    archive: PathBuf,
    truth: Vec<FsEntry>,
    _dir: tempfile::TempDir,
}

impl Checked {
    fn archive_arg(&self) -> String {
        format!("docker-archive:{}", self.archive.display())
    }
    fn daemon_arg(&self) -> String {
        format!("docker://{}", self.tag)
    }
    fn truth_map(&self) -> BTreeMap<String, FsEntry> {
        self.truth
            .iter()
            .map(|e| (e.path.clone(), e.clone()))
            .collect()
    }
}

/// Build, save and export the image, and check that the harness's own merge of the saved
/// layers agrees with the export (so a mismatch later is layerlens' fault).
fn prepare(case: &Case) -> Checked {
    let tag = case.build();
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join(format!("{}.tar", case.name));
    save_image(&tag, &archive);
    let truth = export_fs(&tag);
    assert_reference_merge_matches(&archive, None, &truth);
    Checked {
        tag,
        archive,
        truth,
        _dir: dir,
    }
}

/// The two ways of reading a daemon image (`--daemon-read`).
const READ_PATHS: [&str; 2] = ["storage", "export"];

/// `files` from the daemon (through Docker's layer store and through the export) and
/// from the archive must list what the export shows, and the two daemon read paths
/// must give identical `files` and `report` JSON.
fn compare_top(full: &Checked) {
    assert_files_match(&full.archive_arg(), &[], &full.truth);
    for mode in READ_PATHS {
        assert_files_match(&full.daemon_arg(), &["--daemon-read", mode], &full.truth);
    }
    assert_read_paths_agree(&full.daemon_arg(), &[]);
    assert_store_model_matches_archive(full);
}

/// Every layer read from Docker's layer store (tar-split headers and CRC-64 checksums)
/// has exactly the entries, content checksums included, of the same layer parsed from
/// the `docker save` tar: files compare across read paths.
fn assert_store_model_matches_archive(full: &Checked) {
    use layerlens::source::{self, DaemonRead, ImageSource, LoadOptions};
    source::set_daemon_read(DaemonRead::Storage);
    let opts = LoadOptions::default();
    let from_store = source::load(&ImageSource::Daemon(full.tag.clone()), &full.tag, &opts)
        .expect("load through the layer store");
    assert!(
        from_store.loaded_via.starts_with("layer store"),
        "loaded via {:?}",
        from_store.loaded_via
    );
    let from_tar = source::load(
        &ImageSource::DockerArchive(full.archive.clone(), None),
        &full.tag,
        &opts,
    )
    .expect("load the archive");
    assert_eq!(from_store.layers.len(), from_tar.layers.len());
    for i in 0..from_tar.layers.len() {
        let (a, b) = (from_store.content(i), from_tar.content(i));
        assert_eq!(
            a.entries, b.entries,
            "{}: layer {i} entries differ",
            full.tag
        );
        assert_eq!(a.whiteouts, b.whiteouts, "{}: layer {i}", full.tag);
        assert_eq!(a.opaque, b.opaque, "{}: layer {i}", full.tag);
        assert_eq!(a.tar_size, b.tar_size, "{}: layer {i}", full.tag);
        assert_eq!(a.stream_size, b.stream_size, "{}: layer {i}", full.tag);
    }
}

/// `shared_with` names the other local images that hold a layer: other tests create and
/// remove images meanwhile, so it is not part of what the read paths must agree on.
fn without_shared_with(mut v: serde_json::Value) -> serde_json::Value {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.remove("shared_with");
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v
}

/// `files` and `report` JSON of a daemon image are byte-identical through both read paths
/// (but for the list of other local images sharing a layer, which changes meanwhile).
fn assert_read_paths_agree(image_arg: &str, extra: &[&str]) {
    for cmd in ["files", "report"] {
        let outs: Vec<serde_json::Value> = READ_PATHS
            .iter()
            .map(|mode| {
                let mut args = vec![cmd, image_arg, "--format", "json", "--daemon-read", mode];
                args.extend_from_slice(extra);
                without_shared_with(layerlens_json(&args))
            })
            .collect();
        assert!(
            outs[0] == outs[1],
            "`layerlens {cmd} {image_arg} {}` differs between --daemon-read storage and export:\n{}\n---\n{}",
            extra.join(" "),
            serde_json::to_string_pretty(&outs[0]).unwrap(),
            serde_json::to_string_pretty(&outs[1]).unwrap()
        );
    }
}

/// The image of the Dockerfile truncated after some line: its top layer `n` is layer `n`
/// of the full image.
struct Upto {
    tag: String,
    n: usize,
    truth: Vec<FsEntry>,
}

fn prepare_upto(case: &Case, full: &Checked, lines: usize) -> Upto {
    let tag = case.build_upto(lines);
    let upto_layers = diff_ids(&tag);
    let full_layers = diff_ids(&full.tag);
    assert!(
        upto_layers.len() < full_layers.len() && full_layers.starts_with(&upto_layers),
        "{tag} should be a strict layer prefix of {}:\n{upto_layers:?}\n{full_layers:?}",
        full.tag
    );
    let n = upto_layers.len() - 1;
    let truth = export_fs(&tag);
    assert_reference_merge_matches(&full.archive, Some(n), &truth);
    Upto { tag, n, truth }
}

/// `files --layer N` of the full image (daemon and archive) against the truncated export.
fn compare_upto(full: &Checked, upto: &Upto) {
    let n = upto.n.to_string();
    assert_files_match(&full.archive_arg(), &["--layer", &n], &upto.truth);
    for mode in READ_PATHS {
        assert_files_match(
            &full.daemon_arg(),
            &["--layer", &n, "--daemon-read", mode],
            &upto.truth,
        );
    }
}

/// Compare an entry's observable state (hardlinks count as files).
fn same_state(a: &FsEntry, b: &FsEntry) -> bool {
    let k = |e: &FsEntry| {
        if e.kind == "hardlink" {
            "file".to_string()
        } else {
            e.kind.clone()
        }
    };
    k(a) == k(b)
        && a.size == b.size
        && a.mode == b.mode
        && a.uid == b.uid
        && a.gid == b.gid
        && a.hash == b.hash
        && (a.kind != "symlink" || a.link == b.link)
}

/// `files --layer N --changes` must be consistent with the difference between the exports
/// of the image below layer N (`lower`) and up to layer N (`upper`):
/// - a path only in `upper` is reported "added", with `upper`'s attributes;
/// - a path in both whose state differs is reported "modified" (or "added"), with
///   `upper`'s attributes;
/// - a path only in `lower` is reported "removed", or lies below a path reported
///   "removed", or below a reported path that is no longer a directory;
/// - nothing reported "removed" exists in `upper`, everything reported added/modified does.
/// (Unchanged paths may be reported "modified": a layer can rewrite identical content or
/// carry a parent directory unchanged.)
fn check_changes(image_arg: &str, layer: usize, lower_tag: &str, upper_tag: &str) {
    let lower: BTreeMap<String, FsEntry> = export_map(lower_tag);
    let upper: BTreeMap<String, FsEntry> = export_map(upper_tag);
    let n = layer.to_string();
    let args = [
        "files",
        image_arg,
        "--format",
        "json",
        "--layer",
        &n,
        "--changes",
    ];
    let v = layerlens_json(&args);
    let entries = parse_files_json(&v);
    let mut reported: BTreeMap<String, ToolEntry> = BTreeMap::new();
    let mut problems = Vec::new();
    for e in entries {
        match e.change.as_deref() {
            Some("added" | "modified" | "removed") => {}
            other => problems.push(format!(
                "  {:?}: change must be added|modified|removed, got {other:?}",
                e.path
            )),
        }
        if reported.insert(e.path.clone(), e.clone()).is_some() {
            problems.push(format!("  {:?} reported twice", e.path));
        }
    }
    let upper_norm = normalise_fs(&upper.values().cloned().collect::<Vec<_>>());
    let attrs_match = |p: &str, t: &ToolEntry| -> Option<String> {
        let want = upper_norm.get(p)?;
        let got = normalise_tool(std::slice::from_ref(t));
        let got = got.get(p)?;
        (got != want).then(|| format!("  {p:?}: attributes: expected {want}, got {got}"))
    };
    let ancestors = |p: &str| -> Vec<String> {
        let mut v = Vec::new();
        let mut cur = p;
        while let Some(i) = cur.rfind('/') {
            if i == 0 {
                break;
            }
            cur = &cur[..i];
            v.push(cur.to_string());
        }
        v
    };
    for (p, u) in &upper {
        if is_docker_injected(p) {
            continue;
        }
        match (lower.get(p), reported.get(p)) {
            (None, None) => problems.push(format!("  {p:?}: added by the layer but not reported")),
            (None, Some(t)) if t.change.as_deref() != Some("added") => problems.push(format!(
                "  {p:?}: added by the layer but reported {:?}",
                t.change
            )),
            (Some(l), None) if !same_state(l, u) => {
                problems.push(format!("  {p:?}: changed by the layer but not reported"))
            }
            (Some(l), Some(t)) if !same_state(l, u) && t.change.as_deref() == Some("removed") => {
                problems.push(format!(
                    "  {p:?}: changed by the layer but reported removed"
                ))
            }
            _ => {}
        }
        if let Some(t) = reported.get(p) {
            if t.change.as_deref() != Some("removed") {
                if let Some(m) = attrs_match(p, t) {
                    problems.push(m);
                }
            }
        }
    }
    for p in lower.keys() {
        if upper.contains_key(p) || is_docker_injected(p) {
            continue;
        }
        let covered = reported
            .get(p)
            .is_some_and(|t| t.change.as_deref() == Some("removed"))
            || ancestors(p).iter().any(|a| {
                reported.get(a).is_some_and(|t| {
                    t.change.as_deref() == Some("removed")
                        || upper.get(a).is_none_or(|u| u.kind != "dir")
                })
            });
        if !covered {
            problems.push(format!("  {p:?}: removed by the layer but not reported"));
        }
    }
    for (p, t) in &reported {
        if is_docker_injected(p) {
            continue;
        }
        match t.change.as_deref() {
            Some("removed") if upper.contains_key(p) => {
                problems.push(format!("  {p:?}: reported removed but still present"))
            }
            Some("added" | "modified") if !upper.contains_key(p) => problems.push(format!(
                "  {p:?}: reported {:?} but absent from the image",
                t.change
            )),
            Some("modified") if !lower.contains_key(p) => problems.push(format!(
                "  {p:?}: reported modified but did not exist below"
            )),
            _ => {}
        }
    }
    assert!(
        problems.is_empty(),
        "`layerlens {}` is inconsistent with the exports of {lower_tag} and {upper_tag}:\n{}",
        args.join(" "),
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------------------

fn whiteout_file_case() -> Case {
    Case::new(
        "whiteout-file",
        &[
            BASE,
            "RUN echo hello > /a.txt && echo keep > /keep.txt && mkdir -p /opt/d && echo 1 > /opt/d/one && echo 2 > /opt/d/two",
            "RUN rm /a.txt /opt/d/one",
            "RUN echo hello-again > /a.txt",
        ],
    )
}

#[test]
fn whiteout_of_file() {
    require_docker!();
    let case = whiteout_file_case();
    let full = prepare(&case);
    let truth = full.truth_map();
    assert!(truth.contains_key("/a.txt") && !truth.contains_key("/opt/d/one"));
    let upto2 = prepare_upto(&case, &full, 2);
    let upto3 = prepare_upto(&case, &full, 3);
    assert_eq!(upto2.n + 1, upto3.n);
    assert!(
        !upto3.truth.iter().any(|e| e.path == "/a.txt"),
        "/a.txt is deleted at line 3"
    );
    compare_top(&full);
    compare_upto(&full, &upto2);
    compare_upto(&full, &upto3);
    check_changes(&full.daemon_arg(), upto3.n, &upto2.tag, &upto3.tag);
    check_changes(&full.archive_arg(), upto3.n, &upto2.tag, &upto3.tag);
}

#[test]
fn image_argument_forms() {
    require_docker!();
    let case = whiteout_file_case();
    let full = prepare(&case);
    let base_truth = export_fs(&base_image());
    // No transport: an existing path is a file source, anything else a daemon reference.
    assert_files_match(full.archive.to_str().unwrap(), &[], &full.truth);
    assert_files_match(&full.tag, &[], &full.truth);
    // The base layer alone, as changes: everything is added.
    let v = layerlens_json(&[
        "files",
        &full.daemon_arg(),
        "--format",
        "json",
        "--layer",
        "0",
        "--changes",
    ]);
    let entries = parse_files_json(&v);
    let not_added: Vec<_> = entries
        .iter()
        .filter(|e| e.change.as_deref() != Some("added"))
        .map(|e| &e.path)
        .collect();
    assert!(
        not_added.is_empty(),
        "layer 0 changes must all be \"added\": {not_added:?}"
    );
    let diff = diff_maps(&normalise_fs(&base_truth), &normalise_tool(&entries));
    assert!(
        diff.is_empty(),
        "layer 0 --changes vs export of the base:\n{}",
        diff.join("\n")
    );
}

#[test]
fn whiteout_of_directory() {
    require_docker!();
    let case = Case::new(
        "whiteout-dir",
        &[
            BASE,
            "RUN mkdir -p /data/sub/deeper /data2/x && echo 1 > /data/sub/f && echo 2 > /data/sub/deeper/g && echo 3 > /data/top && echo k > /data2/x/k",
            "RUN rm -rf /data/sub /data2",
            "RUN echo back > /data/sub && mkdir /data2 && echo new > /data2/other",
        ],
    );
    let full = prepare(&case);
    let truth = full.truth_map();
    assert_eq!(truth["/data/sub"].kind, "file");
    assert!(!truth.contains_key("/data2/x/k") && truth.contains_key("/data2/other"));
    let upto2 = prepare_upto(&case, &full, 2);
    let upto3 = prepare_upto(&case, &full, 3);
    assert!(
        !upto3
            .truth
            .iter()
            .any(|e| e.path.starts_with("/data/sub") || e.path.starts_with("/data2"))
    );
    compare_top(&full);
    compare_upto(&full, &upto3);
    check_changes(&full.daemon_arg(), upto3.n, &upto2.tag, &upto3.tag);
    check_changes(&full.archive_arg(), upto3.n + 1, &upto3.tag, &full.tag);
}

#[test]
fn directory_emptied_and_refilled_in_one_run() {
    require_docker!();
    let case = Case::new(
        "refill-dir",
        &[
            BASE,
            "RUN mkdir -p /d/sub && echo a > /d/a && echo b > /d/sub/b && echo keep > /d/keep && chmod 700 /d",
            "RUN rm -rf /d && mkdir /d && echo x > /d/new && echo changed > /d/keep",
        ],
    );
    let full = prepare(&case);
    let upto2 = prepare_upto(&case, &full, 2);
    compare_top(&full);
    compare_upto(&full, &upto2);
    check_changes(&full.daemon_arg(), upto2.n + 1, &upto2.tag, &full.tag);
}

#[test]
fn opaque_whiteouts_loaded_archive() {
    require_docker!();
    let l0 = LayerBuilder::new()
        .dir("etc", 0o755)
        .file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n", 0o644)
        .dir("d", 0o755)
        .file("d/a", b"a\n", 0o644)
        .dir("d/sub", 0o755)
        .file("d/sub/b", b"b\n", 0o644)
        .dir("e", 0o750)
        .file("e/f", b"f\n", 0o600)
        .dir("keep", 0o755)
        .file("keep/k", b"k\n", 0o644)
        .finish();
    let l1 = LayerBuilder::new()
        .dir("d", 0o711)
        .opaque("d")
        .file("d/new", b"x\n", 0o644)
        .dir("e", 0o755)
        .opaque("e")
        .finish();
    let l2 = LayerBuilder::new()
        .dir("d", 0o711)
        .dir("d/sub", 0o755)
        .file("d/sub/c", b"c\n", 0o644)
        .whiteout("keep/k")
        .finish();
    let tag = load_layers_image("layerlens-test/gt-opaque:load", &[l0, l1, l2]);
    let truth = export_fs(&tag);
    let paths: Vec<&str> = truth.iter().map(|e| e.path.as_str()).collect();
    for p in ["/d/new", "/d/sub/c", "/e", "/keep"] {
        assert!(paths.contains(&p), "daemon should show {p}: {paths:?}");
    }
    for p in ["/d/a", "/d/sub/b", "/e/f", "/keep/k"] {
        assert!(!paths.contains(&p), "daemon should hide {p}: {paths:?}");
    }
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("opaque.tar");
    save_image(&tag, &archive);
    assert_reference_merge_matches(&archive, None, &truth);
    let arg = format!("docker-archive:{}", archive.display());
    assert_files_match(&format!("docker://{tag}"), &[], &truth);
    assert_files_match(&arg, &[], &truth);
    // Layer 1 on top of layer 0: /d holds only "new", /e is empty.
    let v = layerlens_json(&["files", &arg, "--format", "json", "--layer", "1"]);
    let got = normalise_tool(&parse_files_json(&v));
    let under: Vec<&String> = got
        .keys()
        .filter(|p| p.starts_with("/d/") || p.starts_with("/e/"))
        .collect();
    assert_eq!(under, vec!["/d/new"], "--layer 1 below /d and /e");
}

#[test]
fn type_changes() {
    require_docker!();
    let case = Case::new(
        "type-changes",
        &[
            BASE,
            "RUN mkdir -p /t/d2s /t/d2f /t/keep && echo f > /t/f2d && echo x > /t/d2s/inner && echo y > /t/d2f/inner && ln -s /bin /t/s2f && ln -s /etc /t/s2d && echo z > /t/f2s && echo k > /t/keep/k",
            "RUN rm /t/f2d && mkdir /t/f2d && echo c > /t/f2d/child && rm -rf /t/d2s && ln -s /tmp /t/d2s && rm -rf /t/d2f && echo now-a-file > /t/d2f && rm /t/s2f && echo now-a-file > /t/s2f && rm /t/s2d && mkdir /t/s2d && echo q > /t/s2d/q && rm /t/f2s && ln -s /etc/passwd /t/f2s",
        ],
    );
    let full = prepare(&case);
    let truth = full.truth_map();
    for (p, kind) in [
        ("/t/f2d", "dir"),
        ("/t/d2s", "symlink"),
        ("/t/d2f", "file"),
        ("/t/s2f", "file"),
        ("/t/s2d", "dir"),
        ("/t/f2s", "symlink"),
    ] {
        assert_eq!(truth[p].kind, kind, "{p}");
    }
    assert!(!truth.contains_key("/t/d2s/inner") && !truth.contains_key("/t/d2f/inner"));
    let upto2 = prepare_upto(&case, &full, 2);
    compare_top(&full);
    compare_upto(&full, &upto2);
    check_changes(&full.daemon_arg(), upto2.n + 1, &upto2.tag, &full.tag);
    check_changes(&full.archive_arg(), upto2.n + 1, &upto2.tag, &full.tag);
}

#[test]
fn hardlinks() {
    require_docker!();
    let case = Case::new(
        "hardlinks",
        &[
            BASE,
            "RUN echo content > /h1 && ln /h1 /h2 && mkdir /hd && ln /h1 /hd/h3 && echo original > /orig && ln /orig /linked && chmod 600 /orig && chown 1000:1000 /orig",
            "RUN ln /h1 /h4 && echo two > /pair-a && ln /pair-a /pair-b",
            "RUN rm /orig /pair-a",
        ],
    );
    let full = prepare(&case);
    let truth = full.truth_map();
    let linked = &truth["/linked"];
    assert_eq!(
        (linked.size, linked.mode.as_str(), linked.uid),
        (9, "0600", 1000)
    );
    assert!(!truth.contains_key("/orig") && truth.contains_key("/pair-b"));
    let upto2 = prepare_upto(&case, &full, 2);
    let upto3 = prepare_upto(&case, &full, 3);
    compare_top(&full);
    compare_upto(&full, &upto2);
    compare_upto(&full, &upto3);
    check_changes(&full.archive_arg(), upto3.n, &upto2.tag, &upto3.tag);
    check_changes(&full.archive_arg(), upto3.n + 1, &upto3.tag, &full.tag);
}

#[test]
fn metadata_only_changes() {
    require_docker!();
    let case = Case::new(
        "metadata",
        &[
            BASE,
            "RUN echo m > /m && echo o > /o && mkdir /md && echo inner > /md/inner && echo s > /suid && mkdir /owned && chown 1000:1000 /owned && echo t > /touched",
            "RUN chmod 600 /m && chown 1000:1000 /o && chmod 1750 /md && chown 1000:1000 /md && chmod 4755 /suid && chmod 2775 /owned && chown 0:1000 /owned && touch /touched",
            "USER 1000",
            "RUN echo u > /tmp/by-user && mkdir /home/user/dir && chmod 0640 /tmp/by-user",
            "USER root",
        ],
    );
    let full = prepare(&case);
    let truth = full.truth_map();
    assert_eq!(truth["/md"].mode, "1750");
    assert_eq!(truth["/suid"].mode, "4755");
    assert_eq!(
        (
            truth["/tmp/by-user"].uid,
            truth["/tmp/by-user"].mode.as_str()
        ),
        (1000, "0640")
    );
    let upto2 = prepare_upto(&case, &full, 2);
    let upto3 = prepare_upto(&case, &full, 3);
    compare_top(&full);
    compare_upto(&full, &upto3);
    check_changes(&full.daemon_arg(), upto3.n, &upto2.tag, &upto3.tag);
}

#[test]
fn special_files_and_identical_rewrite() {
    require_docker!();
    // (No chmod of a fifo/device in a later layer: fuse-overlayfs cannot copy them up, EIO.)
    let case = Case::new(
        "special",
        &[
            BASE,
            "RUN mkfifo /fifo && mkfifo -m 600 /fifo2 && mknod /cdev c 1 3 && mknod -m 640 /bdev b 7 0 && echo same > /same && echo short > /grow",
            "RUN echo same > /same && echo longer-than-before > /grow && rm /fifo2",
        ],
    );
    let full = prepare(&case);
    let truth = full.truth_map();
    assert_eq!(truth["/fifo"].kind, "fifo");
    assert_eq!(truth["/cdev"].kind, "char");
    assert_eq!(truth["/bdev"].kind, "block");
    let upto2 = prepare_upto(&case, &full, 2);
    compare_top(&full);
    compare_upto(&full, &upto2);
    check_changes(&full.archive_arg(), upto2.n + 1, &upto2.tag, &full.tag);
}

#[test]
fn long_and_deep_paths() {
    require_docker!();
    let a = "a".repeat(120);
    let b = "b".repeat(130);
    let c = "c".repeat(150);
    let f = format!("file-{}", "f".repeat(195));
    let g = format!("gone-{}", "g".repeat(180));
    let leaf = format!("/deep/{a}/{b}/{c}/{f}");
    assert!(leaf.len() > 255 && f.len() > 100);
    let deep_dirs: String = (1..=30).map(|i| format!("/level{i}")).collect();
    let run1 = format!(
        "RUN mkdir -p /deep/{a}/{b}/{c} /n{deep_dirs} && echo deep > {leaf} && ln -s {leaf} /deep/longlink && ln {leaf} /deep/{a}/hard-{f} && echo gone > /deep/{a}/{g} && echo leaf > /n{deep_dirs}/leaf"
    );
    let run2 = format!("RUN rm /deep/{a}/{g} && echo more >> {leaf}");
    let case = Case::new("long-paths", &[BASE, &run1, &run2]);
    let full = prepare(&case);
    let truth = full.truth_map();
    assert!(
        truth.contains_key(&leaf),
        "export should contain the long path"
    );
    assert_eq!(truth["/deep/longlink"].link.as_deref(), Some(leaf.as_str()));
    let upto2 = prepare_upto(&case, &full, 2);
    compare_top(&full);
    compare_upto(&full, &upto2);
    check_changes(&full.daemon_arg(), upto2.n + 1, &upto2.tag, &full.tag);
}

#[test]
fn unusual_names() {
    require_docker!();
    let case = Case::new(
        "names",
        &[
            BASE,
            r#"RUN touch "/with space" && mkdir "/dir with space" && echo x > "/dir with space/file name" && touch "$(printf '/caf\351')" && mkdir "$(printf '/d\351j\340')" && echo v > "$(printf '/d\351j\340/v\374')" && touch "/ünïcödé ☃" && touch "/quote\"and\\backslash" && touch '/dollar$sign' && touch "$(printf '/gone\377')" && touch /-dash /#hash && touch "$(printf '/tab\tname')""#,
            r#"RUN rm "$(printf '/gone\377')" "/with space" && echo y > "$(printf '/d\351j\340/v\374')""#,
        ],
    );
    let full = prepare(&case);
    let raw: Vec<&[u8]> = full.truth.iter().map(|e| e.raw_path.as_slice()).collect();
    assert!(
        raw.contains(&&b"/caf\xe9"[..]),
        "export keeps the raw non-UTF-8 name"
    );
    assert!(raw.contains(&&b"/d\xe9j\xe0/v\xfc"[..]));
    assert!(raw.contains(&"/ünïcödé ☃".as_bytes()));
    assert!(raw.contains(&&b"/quote\"and\\backslash"[..]));
    assert!(!raw.contains(&&b"/gone\xff"[..]));
    let upto2 = prepare_upto(&case, &full, 2);
    compare_top(&full);
    compare_upto(&full, &upto2);
    check_changes(&full.archive_arg(), upto2.n + 1, &upto2.tag, &full.tag);
}

#[test]
fn copy_from_context() {
    require_docker!();
    let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let bundle = LayerBuilder::new()
        .dir("pkg", 0o755)
        .file("pkg/readme", b"bundled\n", 0o644)
        .file_owned("pkg/owned", b"owned by 1000\n", 0o640, 1000, 1000)
        .symlink("pkg/link", "readme")
        .hardlink("pkg/hard", "pkg/readme")
        .finish();
    let case = Case::new(
        "copy",
        &[
            BASE,
            "COPY app.txt /app/",
            "COPY --chown=1000:1000 data.bin /app/data.bin",
            "COPY tree/ /app/tree/",
            "ADD bundle.tar /app/unpacked/",
            "WORKDIR /work/dir",
            "COPY app.txt .",
            "ENV FOO=bar",
            "RUN chmod 755 /app/app.txt && cp /app/data.bin /app/data.copy",
            "COPY app2.txt /app/app.txt",
            "CMD [\"/bin/sh\"]",
        ],
    )
    .with_file("app.txt", b"hello from the context\n")
    .with_file("app2.txt", b"replaced by a later COPY\n")
    .with_file("data.bin", &data)
    .with_file("tree/a/b.txt", b"b\n")
    .with_file("tree/c.txt", b"c\n")
    .with_file("bundle.tar", &bundle);
    let full = prepare(&case);
    let truth = full.truth_map();
    assert_eq!(truth["/app/data.bin"].uid, 1000);
    assert_eq!(truth["/app/data.bin"].size, 20_000);
    assert!(truth.contains_key("/app/unpacked/pkg/readme"));
    assert!(truth.contains_key("/work/dir/app.txt"));
    let upto5 = prepare_upto(&case, &full, 5);
    let upto8 = prepare_upto(&case, &full, 8);
    let upto9 = prepare_upto(&case, &full, 9);
    assert_eq!(upto8.n + 1, upto9.n, "ENV adds no layer");
    compare_top(&full);
    compare_upto(&full, &upto5);
    compare_upto(&full, &upto9);
    check_changes(&full.daemon_arg(), upto9.n, &upto8.tag, &upto9.tag);
}
