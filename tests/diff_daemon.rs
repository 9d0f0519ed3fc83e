//! `layerlens diff` against real image pairs built by the Docker daemon (classic builder,
//! offline) on the busybox test base.
//!
//! Every pair is built from the same five-layer Dockerfile shape:
//!
//! ```text
//! 0  FROM <base>                                   (docker import)
//! 1  COPY deps.txt /app/deps.txt                   dependency manifest, early
//! 2  RUN cat /app/deps.txt > /app/installed        consumes it
//! 3  RUN mkdir -p /app/data && echo ... > ...      writes files of its own
//! 4  COPY src/ /app/src/                           sources, late
//!    CMD                                           (no layer)
//! ```
//!
//! A is the same image for cases (a) to (e): `layerlens-test/diff-a:1`. Each test builds it
//! first (the build lock of that repository makes the others wait for the first build and
//! then hit the cache), then its own B, which changes one thing: a source file, the
//! manifest, a RUN line, the base or an inserted instruction. No two B builds share a step
//! that is not already in A, so concurrent cold builds cannot give one step two different
//! images. (f) (`--no-cache`, which adds second images for the same steps to the cache)
//! has a repository and a manifest of its own.
//!
//! The final file list is checked against the ground truth (`docker export` of both
//! images, compared by kind, content hash, size, mode, owner and link target; modification
//! times ignored) as well as against the edit the test made.

#[macro_use]
mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use common::*;

const L_BASE: u64 = 0;
const L_DEPS: u64 = 1;
const L_INSTALL: u64 = 2;
const L_GEN: u64 = 3;
const L_SRC: u64 = 4;

const RUN_INSTALL: &str = "cat /app/deps.txt > /app/installed";
const RUN_GEN: &str =
    "mkdir -p /app/data && echo generated > /app/data/gen.txt && echo second > /app/data/other.txt";

/// The Dockerfile of every pair. `gen_line` replaces the file-writing RUN line; `insert` adds a
/// RUN line between the manifest-consuming RUN and the file-writing one.
fn dockerfile(base: &str, gen_line: &str, insert: Option<&str>) -> String {
    let mut s = format!(
        "FROM {base}\n\
         COPY deps.txt /app/deps.txt\n\
         RUN {RUN_INSTALL}\n"
    );
    if let Some(i) = insert {
        s.push_str(&format!("RUN {i}\n"));
    }
    s.push_str(&format!(
        "RUN {gen_line}\n\
         COPY src/ /app/src/\n\
         CMD [\"/bin/sh\", \"/app/src/main.sh\"]\n"
    ));
    s
}

/// Context files: the manifest (unique per test) and two sources.
fn context(case: &str, deps_extra: &str, main: &str) -> Vec<(String, Vec<u8>)> {
    vec![
        (
            "deps.txt".into(),
            format!("# {case}\nlibfoo==1.0\nlibbar==2.0\n{deps_extra}").into_bytes(),
        ),
        ("src/main.sh".into(), main.as_bytes().to_vec()),
        (
            "src/util.sh".into(),
            b"helper() { echo helping; }\n".to_vec(),
        ),
    ]
}

const MAIN_V1: &str = "#!/bin/sh\necho hello\n";
const MAIN_V2: &str = "#!/bin/sh\necho hello, world\n";

/// The A of cases (a) to (e).
const SHARED_A: &str = "layerlens-test/diff-a:1";

fn build_shared_a() -> String {
    let base = base_image();
    build(
        SHARED_A,
        &dockerfile(&base, RUN_GEN, None),
        &context("shared", "", MAIN_V1),
    )
}

fn build(tag: &str, dockerfile: &str, files: &[(String, Vec<u8>)]) -> String {
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, d)| (p.as_str(), d.as_slice()))
        .collect();
    build_image(tag, dockerfile, &refs)
}

/// `docker build --no-cache` (classic builder, offline): `build_image` has no way to pass
/// extra arguments.
fn build_no_cache(tag: &str, dockerfile: &str, files: &[(String, Vec<u8>)]) -> String {
    base_image();
    let repo = tag.rsplit_once(':').map_or(tag, |(r, _)| r);
    let _l = lock(&format!("build-{repo}"));
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    for (name, data) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, data).unwrap();
    }
    let mut cmd = Command::new("docker");
    cmd.args([
        "build",
        "--force-rm",
        "--network",
        "none",
        "--no-cache",
        "-t",
        tag,
        dir.path().to_str().unwrap(),
    ]);
    cmd.env("DOCKER_BUILDKIT", "0");
    let out =
        run_with_timeout(cmd, None, Duration::from_secs(300)).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "docker build --no-cache -t {tag} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    tag.to_string()
}

/// A second base: the busybox base's root filesystem plus `/etc/variant`, imported as
/// `layerlens-test/busybox:diff-variant`. Re-imported only when the base image changes.
fn variant_base() -> String {
    const TAG: &str = "layerlens-test/busybox:diff-variant";
    let base = base_image();
    let base_id = image_id(&base);
    let _l = lock("diff-variant-base");
    let label_of = |tag: &str| {
        let mut c = Command::new("docker");
        c.args([
            "image",
            "inspect",
            "--format",
            "{{index .Config.Labels \"layerlens.test.variant-of\"}}",
            tag,
        ]);
        run_with_timeout(c, None, Duration::from_secs(60))
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    if label_of(TAG).as_deref() == Some(base_id.as_str()) {
        return TAG.to_string();
    }
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("base.tar");
    save_image(&base, &saved);
    let layers = archive_layers(&saved);
    assert_eq!(layers.len(), 1, "the busybox base has one layer");
    let mut out = tar::Builder::new(Vec::new());
    let mut ar = tar::Archive::new(&layers[0][..]);
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let h = e.header().clone();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        out.append(&h, &data[..]).unwrap();
    }
    let extra = b"variant base\n";
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_size(extra.len() as u64);
    h.set_mtime(1_700_000_000);
    out.append_data(&mut h, "etc/variant", &extra[..]).unwrap();
    let rootfs = out.into_inner().unwrap();
    let label = format!("LABEL layerlens.test.variant-of={base_id}");
    let mut c = Command::new("docker");
    c.args([
        "import",
        "--change",
        "CMD [\"/bin/sh\"]",
        "--change",
        &label,
        "-",
        TAG,
    ]);
    let o = run_with_timeout(c, Some(rootfs), Duration::from_secs(300)).unwrap();
    assert!(
        o.status.success(),
        "docker import of the variant base failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    TAG.to_string()
}

// ---------------------------------------------------------------------------------------
// Running diff and reading its output
// ---------------------------------------------------------------------------------------

fn diff_json(a: &str, b: &str) -> Value {
    let v = layerlens_json(&["diff", a, b, "--format", "json", "--daemon-read", "storage"]);
    check_schema(&v);
    check_against_docker(&v);
    if daemon_ref(&v, "a").is_some() && daemon_ref(&v, "b").is_some() {
        // Through the export (one `docker save` of both images) the diff is the same.
        let e = layerlens_json(&["diff", a, b, "--format", "json", "--daemon-read", "export"]);
        assert!(
            e == v,
            "diff {a} {b} differs between --daemon-read storage and export:\n{}\n---\n{}",
            pretty(&v),
            pretty(&e)
        );
    }
    v
}

/// A side's daemon reference (`None` for an archive).
fn daemon_ref(v: &Value, side: &str) -> Option<String> {
    let r = v[side]["reference"].as_str().unwrap();
    if r.contains("archive:") || r.starts_with("oci:") {
        return None;
    }
    Some(r.trim_start_matches("docker://").to_string())
}

/// Layer ids and the reused prefix against what the daemon says: `a_diff_id`/`b_diff_id`
/// are the images' RootFS.Layers at those indexes, and exactly the layers of the longest
/// common diff-id prefix (= equal chain ids) are `reused`.
fn check_against_docker(v: &Value) {
    let (Some(a), Some(b)) = (daemon_ref(v, "a"), daemon_ref(v, "b")) else {
        return;
    };
    let (da, db) = (diff_ids(&a), diff_ids(&b));
    assert_eq!(v["a"]["layer_count"], da.len(), "a.layer_count");
    assert_eq!(v["b"]["layer_count"], db.len(), "b.layer_count");
    let common = da.iter().zip(&db).take_while(|(x, y)| x == y).count();
    for l in v["layers"].as_array().unwrap() {
        if let Some(i) = l["a_index"].as_u64() {
            assert_eq!(l["a_diff_id"], da[i as usize], "a_diff_id of {l}");
        }
        if let Some(i) = l["b_index"].as_u64() {
            assert_eq!(l["b_diff_id"], db[i as usize], "b_diff_id of {l}");
        }
        let truly_reused = l["a_index"] == l["b_index"]
            && l["b_index"].as_u64().is_some_and(|i| (i as usize) < common);
        assert_eq!(
            l["status"] == "reused",
            truly_reused,
            "diff {a} {b}: status of {l} (the images share their first {common} layers)"
        );
    }
    let expect_bust = (common < db.len()).then_some(common as u64);
    assert_eq!(
        v["summary"]["bust_point"].as_u64(),
        expect_bust,
        "diff {a} {b}: bust_point (the images share their first {common} layers)"
    );
}

/// `docker save` layer tars of an image, bottom first (saved once per image and process).
fn saved_layers(reference: &str) -> std::sync::Arc<Vec<Vec<u8>>> {
    use std::sync::{Arc, Mutex, OnceLock};
    static SAVED: OnceLock<Mutex<BTreeMap<String, Arc<Vec<Vec<u8>>>>>> = OnceLock::new();
    let id = image_id(reference);
    let cache = SAVED.get_or_init(Default::default);
    if let Some(l) = cache.lock().unwrap().get(&id) {
        return l.clone();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("image.tar");
    save_image(&id, &path);
    let layers = Arc::new(archive_layers(&path));
    cache.lock().unwrap().insert(id, layers.clone());
    layers
}

/// (kind, size, content hash, link) of every entry of a layer tar, by absolute path.
fn layer_entries(layer: &[u8]) -> BTreeMap<String, (String, u64, Option<String>, Option<String>)> {
    let mut out = BTreeMap::new();
    let mut ar = tar::Archive::new(layer);
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let path = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let path = format!("/{}", path.trim_start_matches("./").trim_matches('/'));
        let kind = format!("{:?}", e.header().entry_type());
        let link = e
            .link_name_bytes()
            .map(|l| String::from_utf8_lossy(&l).into_owned());
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        let hash = e.header().entry_type().is_file().then(|| sha256_hex(&data));
        out.insert(path, (kind, data.len() as u64, hash, link));
    }
    out
}

/// Ground truth of a layer pair's own differences (added, modified, removed paths; a
/// directory present in both is never "modified"), from the saved layer tars.
fn truth_layer_files(
    a: &str,
    ai: usize,
    b: &str,
    bi: usize,
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let ea = layer_entries(&saved_layers(a)[ai]);
    let eb = layer_entries(&saved_layers(b)[bi]);
    let (mut added, mut modified, mut removed) = (vec![], vec![], vec![]);
    for (p, e) in &eb {
        match ea.get(p) {
            None => added.push(p.clone()),
            Some(o) if o.0 == "Directory" && e.0 == "Directory" => {}
            Some(o) if o != e => modified.push(p.clone()),
            _ => {}
        }
    }
    for p in ea.keys() {
        if !eb.contains_key(p) {
            removed.push(p.clone());
        }
    }
    (added, modified, removed)
}

fn diff_text(a: &str, b: &str) -> String {
    let args = ["diff", a, b, "--format", "text"];
    let out = layerlens(&args);
    assert_no_panic(&args, &out);
    assert!(out.status.success(), "{}", describe_output(&args, &out));
    String::from_utf8(out.stdout).expect("utf-8 text output")
}

fn check_schema(v: &Value) {
    let ctx = || serde_json::to_string_pretty(v).unwrap();
    assert_eq!(v["schema_version"], 1, "schema_version:\n{}", ctx());
    for side in ["a", "b"] {
        let s = &v[side];
        assert!(s["reference"].is_string(), "{side}.reference:\n{}", ctx());
        assert!(
            s["id"].as_str().is_some_and(|i| i.starts_with("sha256:")),
            "{side}.id:\n{}",
            ctx()
        );
        assert!(s["tags"].is_array(), "{side}.tags:\n{}", ctx());
        assert!(s["layer_count"].is_u64(), "{side}.layer_count:\n{}", ctx());
        assert!(s["size_bytes"].is_u64(), "{side}.size_bytes:\n{}", ctx());
    }
    let sm = &v["summary"];
    for k in [
        "reused_layers",
        "rebuilt_layers",
        "added_layers",
        "dropped_layers",
        "reused_bytes",
        "rebuilt_bytes",
    ] {
        assert!(sm[k].is_u64(), "summary.{k}:\n{}", ctx());
    }
    assert!(
        sm["bust_point"].is_u64() || sm["bust_point"].is_null(),
        "summary.bust_point:\n{}",
        ctx()
    );
    let layers = v["layers"].as_array().expect("layers array");
    let count = |s: &str| layers.iter().filter(|l| l["status"] == s).count() as u64;
    assert_eq!(sm["reused_layers"], count("reused"), "{}", ctx());
    assert_eq!(sm["rebuilt_layers"], count("rebuilt"), "{}", ctx());
    assert_eq!(sm["added_layers"], count("added"), "{}", ctx());
    assert_eq!(sm["dropped_layers"], count("dropped"), "{}", ctx());
    for l in layers {
        assert!(
            ["reused", "rebuilt", "added", "dropped"].contains(&l["status"].as_str().unwrap_or("")),
            "layer status: {l}"
        );
        assert!(l["size_bytes"].is_u64(), "layer size_bytes: {l}");
    }
    let files = v["files"].as_array().expect("files array");
    for f in files {
        assert!(
            f["path"].as_str().is_some_and(|p| p.starts_with('/')),
            "{f}"
        );
        assert!(
            ["added", "modified", "removed"].contains(&f["change"].as_str().unwrap_or("")),
            "{f}"
        );
    }
    let t = &v["file_totals"];
    let n = |c: &str| files.iter().filter(|f| f["change"] == c).count() as u64;
    assert_eq!(t["added"], n("added"), "file_totals.added:\n{}", ctx());
    assert_eq!(
        t["removed"],
        n("removed"),
        "file_totals.removed:\n{}",
        ctx()
    );
    assert_eq!(
        t["modified"],
        n("modified"),
        "file_totals.modified:\n{}",
        ctx()
    );
    assert!(
        t["mtime_only"].is_u64(),
        "file_totals.mtime_only:\n{}",
        ctx()
    );
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap()
}

/// The layer entry with this B index.
fn b_layer(v: &Value, b: u64) -> &Value {
    v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["b_index"] == b)
        .unwrap_or_else(|| panic!("no layer with b_index {b}:\n{}", pretty(v)))
}

/// (status, a_index, b_index, reason kind) of every layer, in output order.
fn layer_rows(v: &Value) -> Vec<(String, Option<u64>, Option<u64>, Option<String>)> {
    v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["status"].as_str().unwrap().to_string(),
                l["a_index"].as_u64(),
                l["b_index"].as_u64(),
                l["reason"]["kind"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

/// Assert a layer's reason kind and its file lists (added, modified, removed).
fn assert_reason(
    v: &Value,
    b: u64,
    kind: &str,
    added: &[&str],
    modified: &[&str],
    removed: &[&str],
) {
    let l = b_layer(v, b);
    let ctx = format!(
        "layer b_index={b}: {}\n--- whole diff\n{}",
        pretty(l),
        pretty(v)
    );
    assert_eq!(l["reason"]["kind"], kind, "reason kind of {ctx}");
    assert!(
        l["reason"]["text"].as_str().is_some_and(|t| !t.is_empty()),
        "reason text of {ctx}"
    );
    if let (Some(ar), Some(br), Some(ai)) = (
        daemon_ref(v, "a"),
        daemon_ref(v, "b"),
        l["a_index"].as_u64(),
    ) {
        let own = |x: &[&str]| x.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        assert_eq!(
            truth_layer_files(&ar, ai as usize, &br, b as usize),
            (own(added), own(modified), own(removed)),
            "HARNESS problem: the saved layers {ai} of {ar} and {b} of {br} differ in other \
             ways than the test expects (added, modified, removed)"
        );
    }
    let f = &l["reason"]["files"];
    assert_eq!(strs(&f["added"]), added, "reason.files.added of {ctx}");
    assert_eq!(
        strs(&f["modified"]),
        modified,
        "reason.files.modified of {ctx}"
    );
    assert_eq!(
        strs(&f["removed"]),
        removed,
        "reason.files.removed of {ctx}"
    );
}

/// `files` of the diff as (path, change), in output order.
fn final_files(v: &Value) -> Vec<(String, String)> {
    v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["change"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Ground truth of the final filesystems' difference: `docker export` of both images,
/// compared by kind, size, content hash, mode, owner and link (not modification time;
/// a directory's size is not compared). Sorted by path.
fn truth_changes(a: &str, b: &str) -> Vec<(String, String)> {
    let key = |e: &FsEntry| {
        let file = e.kind == "file" || e.kind == "hardlink";
        (
            if file {
                "file".to_string()
            } else {
                e.kind.clone()
            },
            if file { e.size } else { 0 },
            e.hash.clone(),
            e.mode.clone(),
            e.uid,
            e.gid,
            if e.kind == "symlink" {
                e.link.clone()
            } else {
                None
            },
        )
    };
    let am = export_map(a);
    let bm = export_map(b);
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (p, e) in &bm {
        match am.get(p) {
            None => {
                out.insert(p.clone(), "added".into());
            }
            Some(o) if key(o) != key(e) => {
                out.insert(p.clone(), "modified".into());
            }
            _ => {}
        }
    }
    for p in am.keys() {
        if !bm.contains_key(p) {
            out.insert(p.clone(), "removed".into());
        }
    }
    out.into_iter().collect()
}

/// The final file list must be exactly `expected`; `expected` is first checked against
/// the ground truth (a failure there is a harness problem, not a layerlens one).
fn assert_final_files(v: &Value, a: &str, b: &str, expected: &[(&str, &str)]) {
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(p, c)| (p.to_string(), c.to_string()))
        .collect();
    let truth = truth_changes(a, b);
    assert_eq!(
        truth, expected,
        "HARNESS problem: docker export of {a} and {b} differs in other ways than the test made"
    );
    assert_eq!(
        final_files(v),
        expected,
        "diff {a} {b}: `files` must list exactly what changed:\n{}",
        pretty(v)
    );
}

fn assert_bust(v: &Value, point: Option<u64>, kind: Option<&str>) {
    let sm = &v["summary"];
    assert_eq!(
        sm["bust_point"].as_u64(),
        point,
        "summary.bust_point:\n{}",
        pretty(v)
    );
    assert_eq!(
        sm["bust_reason"]["kind"].as_str(),
        kind,
        "summary.bust_reason.kind:\n{}",
        pretty(v)
    );
    if let Some(p) = point {
        assert_eq!(
            sm["bust_reason"],
            b_layer(v, p)["reason"],
            "bust_reason must be the reason of layer {p}:\n{}",
            pretty(v)
        );
    }
}

/// The text output's layer table line marked "◀ cache bust": (B index, status).
fn text_bust_line(text: &str) -> Option<(String, String)> {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("◀ cache bust"))
        .collect();
    assert!(lines.len() <= 1, "more than one cache-bust mark:\n{text}");
    lines.first().map(|l| {
        let w: Vec<&str> = l.split_whitespace().collect();
        (w[1].to_string(), w[2].to_string())
    })
}

fn row(
    status: &str,
    a: Option<u64>,
    b: Option<u64>,
    kind: Option<&str>,
) -> (String, Option<u64>, Option<u64>, Option<String>) {
    (status.to_string(), a, b, kind.map(str::to_string))
}

fn reused(i: u64) -> (String, Option<u64>, Option<u64>, Option<String>) {
    row("reused", Some(i), Some(i), None)
}

fn rebuilt(a: u64, b: u64, kind: &str) -> (String, Option<u64>, Option<u64>, Option<String>) {
    row("rebuilt", Some(a), Some(b), Some(kind))
}

// ---------------------------------------------------------------------------------------
// The six cases
// ---------------------------------------------------------------------------------------

/// (a) A source file under the late COPY edited: everything up to that COPY reused.
/// Also: the `:TAG` shorthand, a diff of an image with itself, and a saved archive vs the
/// daemon copy of the same image.
#[test]
fn a_source_edit_busts_at_late_copy() {
    require_docker!();
    let base = base_image();
    let df = dockerfile(&base, RUN_GEN, None);
    let a = build_shared_a();
    let b = build(
        "layerlens-test/diff-a:2",
        &df,
        &context("shared", "", MAIN_V2),
    );

    let v = diff_json(&a, &b);
    assert_eq!(
        layer_rows(&v),
        vec![
            reused(L_BASE),
            reused(L_DEPS),
            reused(L_INSTALL),
            reused(L_GEN),
            rebuilt(L_SRC, L_SRC, "content_changed"),
        ],
        "{}",
        pretty(&v)
    );
    assert_bust(&v, Some(L_SRC), Some("content_changed"));
    assert_reason(
        &v,
        L_SRC,
        "content_changed",
        &[],
        &["/app/src/main.sh"],
        &[],
    );
    assert_final_files(&v, &a, &b, &[("/app/src/main.sh", "modified")]);
    let f = &v["files"][0];
    assert_eq!(f["modified"]["old_size"], MAIN_V1.len(), "{f}");
    assert_eq!(f["modified"]["new_size"], MAIN_V2.len(), "{f}");
    assert_eq!(
        v["file_totals"]["modified_bytes_delta"],
        MAIN_V2.len() as i64 - MAIN_V1.len() as i64
    );
    assert_eq!(v["a"]["id"], image_id(&a));
    assert_eq!(v["b"]["id"], image_id(&b));
    assert_eq!(v["a"]["layer_count"], 5);
    assert_eq!(v["b"]["layer_count"], 5);

    let t = diff_text(&a, &b);
    assert!(t.contains(&format!("Cache busted at layer {L_SRC}")), "{t}");
    assert!(t.contains("~ /app/src/main.sh"), "{t}");
    assert!(
        t.contains("Files: +0 added, ~1 modified, -0 removed"),
        "{t}"
    );
    assert_eq!(
        text_bust_line(&t),
        Some((L_SRC.to_string(), "rebuilt".into())),
        "{t}"
    );

    // `:TAG` is A's repository with that tag.
    let short = diff_json(&a, ":2");
    assert_eq!(short["b"]["id"], v["b"]["id"], "{}", pretty(&short));
    assert!(
        strs(&short["b"]["tags"]).contains(&b),
        "b.tags should contain {b}: {}",
        pretty(&short)
    );
    assert_eq!(short["layers"], v["layers"]);
    assert_eq!(short["files"], v["files"]);
    let short_docker = diff_json(&format!("docker://{a}"), ":2");
    assert_eq!(
        short_docker["b"]["id"],
        v["b"]["id"],
        "{}",
        pretty(&short_docker)
    );

    // An image against itself: all reused, no files.
    let same = diff_json(&b, &b);
    assert_eq!(
        layer_rows(&same),
        (0..5).map(reused).collect::<Vec<_>>(),
        "{}",
        pretty(&same)
    );
    assert_bust(&same, None, None);
    assert_eq!(same["summary"]["rebuilt_bytes"], 0);
    assert_eq!(final_files(&same), vec![]);
    assert_eq!(same["file_totals"]["mtime_only"], 0);
    let t = diff_text(&b, &b);
    assert!(t.contains("Same image: nothing changed."), "{t}");

    // A `docker save` archive against the daemon's copy of the same image.
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("b.tar");
    save_image(&b, &saved);
    let arch = format!("docker-archive:{}", saved.display());
    for (x, y) in [(arch.as_str(), b.as_str()), (b.as_str(), arch.as_str())] {
        let d = diff_json(x, y);
        assert_eq!(
            layer_rows(&d),
            (0..5).map(reused).collect::<Vec<_>>(),
            "diff {x} {y}:\n{}",
            pretty(&d)
        );
        assert_bust(&d, None, None);
        assert_eq!(final_files(&d), vec![], "diff {x} {y}");
        assert_eq!(d["file_totals"]["mtime_only"], 0, "diff {x} {y}");
        assert_eq!(d["a"]["id"], d["b"]["id"], "diff {x} {y}");
    }
}

/// (b) The dependency manifest copied early edited: bust at that COPY; the RUN consuming
/// it changed output; the layers whose files are identical were rebuilt only upstream.
#[test]
fn b_manifest_edit_busts_early() {
    require_docker!();
    let base = base_image();
    let df = dockerfile(&base, RUN_GEN, None);
    let a = build_shared_a();
    let b = build(
        "layerlens-test/diff-deps:2",
        &df,
        &context("shared", "libbaz==3.1\n", MAIN_V1),
    );

    let v = diff_json(&a, &b);
    assert_eq!(
        layer_rows(&v),
        vec![
            reused(L_BASE),
            rebuilt(L_DEPS, L_DEPS, "content_changed"),
            rebuilt(L_INSTALL, L_INSTALL, "content_changed"),
            rebuilt(L_GEN, L_GEN, "upstream_rebuilt"),
            rebuilt(L_SRC, L_SRC, "upstream_rebuilt"),
        ],
        "{}",
        pretty(&v)
    );
    assert_bust(&v, Some(L_DEPS), Some("content_changed"));
    assert_reason(&v, L_DEPS, "content_changed", &[], &["/app/deps.txt"], &[]);
    assert_reason(
        &v,
        L_INSTALL,
        "content_changed",
        &[],
        &["/app/installed"],
        &[],
    );
    assert_reason(&v, L_GEN, "upstream_rebuilt", &[], &[], &[]);
    assert_reason(&v, L_SRC, "upstream_rebuilt", &[], &[], &[]);
    assert_final_files(
        &v,
        &a,
        &b,
        &[
            ("/app/deps.txt", "modified"),
            ("/app/installed", "modified"),
        ],
    );

    let t = diff_text(&a, &b);
    assert!(
        t.contains(&format!("Cache busted at layer {L_DEPS}")),
        "{t}"
    );
    assert!(t.contains("~ /app/deps.txt"), "{t}");
    assert!(t.contains("~ /app/installed"), "{t}");
    assert!(
        t.contains("Files: +0 added, ~2 modified, -0 removed"),
        "{t}"
    );
    assert_eq!(
        text_bust_line(&t),
        Some((L_DEPS.to_string(), "rebuilt".into())),
        "{t}"
    );
}

/// (c) A RUN line changed: bust at that RUN, both instruction texts shown.
#[test]
fn c_changed_run_line() {
    require_docker!();
    let base = base_image();
    let gen2 = RUN_GEN.replace("echo generated", "echo generated-v2");
    let a = build_shared_a();
    let b = build(
        "layerlens-test/diff-run:2",
        &dockerfile(&base, &gen2, None),
        &context("shared", "", MAIN_V1),
    );

    let v = diff_json(&a, &b);
    assert_eq!(
        layer_rows(&v),
        vec![
            reused(L_BASE),
            reused(L_DEPS),
            reused(L_INSTALL),
            rebuilt(L_GEN, L_GEN, "instruction_changed"),
            rebuilt(L_SRC, L_SRC, "upstream_rebuilt"),
        ],
        "{}",
        pretty(&v)
    );
    assert_bust(&v, Some(L_GEN), Some("instruction_changed"));
    assert_reason(
        &v,
        L_GEN,
        "instruction_changed",
        &[],
        &["/app/data/gen.txt"],
        &[],
    );
    assert_reason(&v, L_SRC, "upstream_rebuilt", &[], &[], &[]);
    let reason = b_layer(&v, L_GEN)["reason"]["text"].as_str().unwrap();
    assert!(
        reason.contains(RUN_GEN) && reason.contains(&gen2),
        "reason should show both RUN lines: {reason:?}"
    );
    let l = b_layer(&v, L_GEN);
    assert!(l["a_created_by"].as_str().unwrap().contains(RUN_GEN), "{l}");
    assert!(l["b_created_by"].as_str().unwrap().contains(&gen2), "{l}");
    assert_final_files(&v, &a, &b, &[("/app/data/gen.txt", "modified")]);

    let t = diff_text(&a, &b);
    assert!(t.contains(&format!("Cache busted at layer {L_GEN}")), "{t}");
    assert!(t.contains(RUN_GEN) && t.contains(&gen2), "{t}");
    assert!(t.contains("~ /app/data/gen.txt"), "{t}");
    assert_eq!(
        text_bust_line(&t),
        Some((L_GEN.to_string(), "rebuilt".into())),
        "{t}"
    );
}

/// (d) A different base image: bust at layer 0, base_changed; nothing else differs.
#[test]
fn d_different_base() {
    require_docker!();
    let variant = variant_base();
    let files = context("shared", "", MAIN_V1);
    let a = build_shared_a();
    let b = build(
        "layerlens-test/diff-base:2",
        &dockerfile(&variant, RUN_GEN, None),
        &files,
    );

    let v = diff_json(&a, &b);
    assert_eq!(
        layer_rows(&v),
        vec![
            rebuilt(L_BASE, L_BASE, "base_changed"),
            rebuilt(L_DEPS, L_DEPS, "upstream_rebuilt"),
            rebuilt(L_INSTALL, L_INSTALL, "upstream_rebuilt"),
            rebuilt(L_GEN, L_GEN, "upstream_rebuilt"),
            rebuilt(L_SRC, L_SRC, "upstream_rebuilt"),
        ],
        "{}",
        pretty(&v)
    );
    assert_bust(&v, Some(L_BASE), Some("base_changed"));
    assert_reason(&v, L_BASE, "base_changed", &["/etc/variant"], &[], &[]);
    assert_final_files(&v, &a, &b, &[("/etc/variant", "added")]);
    assert_eq!(v["file_totals"]["added_bytes"], "variant base\n".len());
    assert_eq!(v["summary"]["reused_layers"], 0);

    let t = diff_text(&a, &b);
    assert!(t.contains("Cache busted at layer 0"), "{t}");
    assert!(t.contains("+ /etc/variant"), "{t}");
    assert!(
        t.contains("Files: +1 added, ~0 modified, -0 removed"),
        "{t}"
    );
    assert_eq!(
        text_bust_line(&t),
        Some(("0".into(), "rebuilt".into())),
        "{t}"
    );
}

/// (e) An instruction inserted in the middle: below it reused, it added, the later
/// instructions paired with their old selves as rebuilt.
#[test]
fn e_inserted_instruction() {
    require_docker!();
    let base = base_image();
    let files = context("shared", "", MAIN_V1);
    let extra = "echo extra > /app/extra.txt";
    let a = build_shared_a();
    let b = build(
        "layerlens-test/diff-insert:2",
        &dockerfile(&base, RUN_GEN, Some(extra)),
        &files,
    );

    let v = diff_json(&a, &b);
    assert_eq!(
        layer_rows(&v),
        vec![
            reused(L_BASE),
            reused(L_DEPS),
            reused(L_INSTALL),
            row("added", None, Some(3), Some("new_instruction")),
            rebuilt(L_GEN, 4, "upstream_rebuilt"),
            rebuilt(L_SRC, 5, "upstream_rebuilt"),
        ],
        "{}",
        pretty(&v)
    );
    assert_bust(&v, Some(3), Some("new_instruction"));
    assert!(
        b_layer(&v, 3)["reason"]["text"]
            .as_str()
            .unwrap()
            .contains(extra),
        "{}",
        pretty(&v)
    );
    assert_reason(&v, 4, "upstream_rebuilt", &[], &[], &[]);
    assert_reason(&v, 5, "upstream_rebuilt", &[], &[], &[]);
    assert_eq!(v["summary"]["added_layers"], 1);
    assert_eq!(v["summary"]["dropped_layers"], 0);
    assert_final_files(&v, &a, &b, &[("/app/extra.txt", "added")]);

    let t = diff_text(&a, &b);
    assert!(t.contains("Cache busted at layer 3"), "{t}");
    assert!(t.contains("+ /app/extra.txt"), "{t}");
    assert_eq!(
        text_bust_line(&t),
        Some(("3".into(), "added".into())),
        "{t}"
    );
}

/// (f) `--no-cache` rebuild of the same Dockerfile and context: every layer above the base
/// rebuilt, never "content changed", and no file listed (timestamps only).
#[test]
fn f_no_cache_rebuild() {
    require_docker!();
    let base = base_image();
    let df = dockerfile(&base, RUN_GEN, None);
    let files = context("nocache", "", MAIN_V1);
    let a = build("layerlens-test/diff-nocache:1", &df, &files);
    // B's timestamps differ from A's: A's build takes seconds after A's context files are
    // written, B's are written after it.
    let b = build_no_cache("layerlens-test/diff-nocache:2", &df, &files);
    assert_ne!(image_id(&a), image_id(&b), "--no-cache gave the same image");

    let v = diff_json(&a, &b);
    let rows = layer_rows(&v);
    assert_eq!(rows.len(), 5, "{}", pretty(&v));
    assert_eq!(rows[0], reused(L_BASE), "{}", pretty(&v));
    for (i, r) in rows.iter().enumerate().skip(1) {
        let i = i as u64;
        assert_eq!(
            (r.0.as_str(), r.1, r.2),
            ("rebuilt", Some(i), Some(i)),
            "layer {i}:\n{}",
            pretty(&v)
        );
        let kind = r.3.as_deref().unwrap_or("");
        assert!(
            kind == "non_reproducible" || kind == "upstream_rebuilt",
            "layer {i}: reason {kind:?}, expected non_reproducible or upstream_rebuilt:\n{}",
            pretty(&v)
        );
        assert_eq!(
            truth_layer_files(&a, i as usize, &b, i as usize),
            (vec![], vec![], vec![]),
            "HARNESS problem: layer {i} of {a} and {b} differ in content"
        );
        let l = b_layer(&v, i);
        let f = &l["reason"]["files"];
        assert!(
            strs(&f["added"]).is_empty()
                && strs(&f["modified"]).is_empty()
                && strs(&f["removed"]).is_empty(),
            "layer {i} lists changed files: {l}"
        );
        if kind == "upstream_rebuilt" && l["a_diff_id"] != l["b_diff_id"] {
            // Only a layer after a real change may be "upstream"; nothing changed here.
            panic!("layer {i}: upstream_rebuilt although no earlier layer changed: {l}");
        }
    }
    assert_bust(
        &v,
        Some(L_DEPS),
        b_layer(&v, L_DEPS)["reason"]["kind"].as_str(),
    );
    assert_eq!(
        b_layer(&v, L_DEPS)["reason"]["kind"],
        "non_reproducible",
        "{}",
        pretty(&v)
    );
    assert_final_files(&v, &a, &b, &[]);
    assert!(
        v["file_totals"]["mtime_only"].as_u64().unwrap() >= 1,
        "timestamps differ (/app/installed was written by two builds): {}",
        pretty(&v["file_totals"])
    );

    let t = diff_text(&a, &b);
    assert!(t.contains("Cache busted at layer 1"), "{t}");
    assert!(
        t.contains("Files: +0 added, ~0 modified, -0 removed"),
        "{t}"
    );
    assert!(t.contains("differ only in timestamps"), "{t}");
    assert!(!t.contains("Files (final filesystems)"), "{t}");
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

fn assert_one_line_failure(args: &[&str], needle: &str) {
    let out = layerlens(args);
    assert_no_panic(args, &out);
    let ctx = describe_output(args, &out);
    assert_eq!(out.status.code(), Some(2), "expected exit 2:\n{ctx}");
    assert!(out.stdout.is_empty(), "nothing on stdout:\n{ctx}");
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "exactly one stderr line:\n{ctx}");
    assert!(
        lines[0].contains(needle),
        "stderr should name {needle:?}:\n{ctx}"
    );
}

#[test]
fn unknown_image_exits_2_with_one_line() {
    require_docker!();
    let base = base_image();
    let missing = "layerlens-test/diff-missing:nope";
    assert!(!image_exists(missing));
    assert_one_line_failure(
        &["diff", &base, missing, "--format", "json"],
        "diff-missing",
    );
    assert_one_line_failure(
        &["diff", missing, &base, "--format", "json"],
        "diff-missing",
    );
    assert_one_line_failure(&["diff", &base, missing], "diff-missing");
    // `:TAG` expands to the base's repository.
    assert_one_line_failure(
        &["diff", &base, ":diff-missing-tag", "--format", "json"],
        "layerlens-test/busybox:diff-missing-tag",
    );
    let nofile = Path::new("/nonexistent/layerlens-diff.tar");
    assert_one_line_failure(
        &[
            "diff",
            &format!("docker-archive:{}", nofile.display()),
            &base,
            "--format",
            "json",
        ],
        "layerlens-diff.tar",
    );
}
