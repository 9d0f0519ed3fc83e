//! `layerlens advise`: for every rule, a bad Dockerfile and the one its fix produces are
//! built by the daemon, and the bytes the finding predicts must equal the real difference
//! in image size (`docker image inspect -f {{.Size}}`) within 1 %. For `cache-order`, a
//! code-only change must rebuild exactly the predicted install layer, and not after the fix.

#[macro_use]
mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/dockerfile/advise")
        .join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap()
}

fn line_of(text: &str, prefix: &str) -> u64 {
    text.lines()
        .position(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starts with {prefix:?}")) as u64
        + 1
}

/// Build fixture `name` as `tag` with the given context files.
fn build(tag: &str, name: &str, files: &[(&str, &[u8])]) -> String {
    build_image(tag, &read(name), files)
}

fn size(tag: &str) -> u64 {
    docker(&["image", "inspect", "-f", "{{.Size}}", tag])
        .parse()
        .unwrap()
}

fn advise(tag: &str, dockerfile: &str) -> Value {
    let p = fixture(dockerfile);
    layerlens_json(&[
        "advise",
        tag,
        "--dockerfile",
        p.to_str().unwrap(),
        "--format",
        "json",
    ])
}

fn findings<'a>(v: &'a Value, rule: &str) -> Vec<&'a Value> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

fn bytes(fs: &[&Value]) -> u64 {
    fs.iter().map(|f| f["bytes"].as_u64().unwrap()).sum()
}

/// `predicted` equals `real` within 1 %.
fn assert_close(what: &str, predicted: u64, real: i64) {
    assert!(
        real > 0,
        "{what}: the fix did not make the image smaller ({real})"
    );
    let diff = (predicted as i64 - real).abs();
    assert!(
        diff * 100 <= real,
        "{what}: predicted {predicted} bytes, the rebuilt image is {real} bytes smaller"
    );
}

#[test]
fn cleanup_in_later_layer_bytes_are_real() {
    require_docker!();
    let bad = build(
        "layerlens-test/advise-cleanup:bad",
        "cleanup.bad.Dockerfile",
        &[],
    );
    let fixed = build(
        "layerlens-test/advise-cleanup:fixed",
        "cleanup.fixed.Dockerfile",
        &[],
    );
    let v = advise(&bad, "cleanup.bad.Dockerfile");
    let text = read("cleanup.bad.Dockerfile");
    let fs = findings(&v, "cleanup-in-later-layer");
    // One finding per layer pair and directory: the deleted /tmp/build, the chmod copy.
    assert_eq!(fs.len(), 2, "{v:#}");
    let dir = fs
        .iter()
        .find(|f| {
            f["paths"][0]["path"]
                .as_str()
                .unwrap()
                .starts_with("/tmp/build/")
        })
        .expect("a finding for /tmp/build");
    assert_eq!(dir["dockerfile"]["line"], line_of(&text, "RUN mkdir"));
    assert_eq!(
        dir["related"][0]["dockerfile"]["line"],
        line_of(&text, "RUN rm -rf")
    );
    assert_eq!(dir["paths"].as_array().unwrap().len(), 2);
    let chmod = fs
        .iter()
        .find(|f| f["paths"][0]["path"] == "/app/tool")
        .expect("a finding for the chmod copy");
    assert_eq!(
        chmod["dockerfile"]["line"],
        line_of(&text, "RUN head -c 250000")
    );
    assert_eq!(
        chmod["related"][0]["dockerfile"]["line"],
        line_of(&text, "RUN chmod")
    );
    assert_close(
        "cleanup-in-later-layer",
        bytes(&fs),
        size(&bad) as i64 - size(&fixed) as i64,
    );
    assert!(
        findings(
            &advise(&fixed, "cleanup.fixed.Dockerfile"),
            "cleanup-in-later-layer"
        )
        .is_empty()
    );
}

#[test]
fn package_cache_bytes_are_real() {
    require_docker!();
    let bad = build(
        "layerlens-test/advise-cache:bad",
        "package-cache.bad.Dockerfile",
        &[],
    );
    let fixed = build(
        "layerlens-test/advise-cache:fixed",
        "package-cache.fixed.Dockerfile",
        &[],
    );
    let v = advise(&bad, "package-cache.bad.Dockerfile");
    let fs = findings(&v, "package-cache");
    assert_eq!(fs.len(), 2, "apt lists and pip cache: {v:#}");
    let text = read("package-cache.bad.Dockerfile");
    let lines: Vec<u64> = fs
        .iter()
        .map(|f| f["dockerfile"]["line"].as_u64().unwrap())
        .collect();
    assert!(
        lines.contains(&line_of(&text, "RUN mkdir -p /var/lib/apt")),
        "{lines:?}"
    );
    assert!(
        lines.contains(&line_of(&text, "RUN mkdir -p /root/.cache")),
        "{lines:?}"
    );
    assert_close(
        "package-cache",
        bytes(&fs),
        size(&bad) as i64 - size(&fixed) as i64,
    );
    assert!(
        findings(
            &advise(&fixed, "package-cache.fixed.Dockerfile"),
            "package-cache"
        )
        .is_empty()
    );
}

#[test]
fn build_tools_bytes_are_real() {
    require_docker!();
    let bad = build(
        "layerlens-test/advise-tools:bad",
        "build-tools.bad.Dockerfile",
        &[],
    );
    let fixed = build(
        "layerlens-test/advise-tools:fixed",
        "build-tools.fixed.Dockerfile",
        &[],
    );
    let v = advise(&bad, "build-tools.bad.Dockerfile");
    let fs = findings(&v, "build-tools-in-final-image");
    // /usr/lib/gcc and /usr/include.
    assert_eq!(fs.len(), 2, "{v:#}");
    assert!(
        fs.iter()
            .all(|f| f["fix"].as_str().unwrap().contains("COPY --from=build"))
    );
    assert_close(
        "build-tools-in-final-image",
        bytes(&fs),
        size(&bad) as i64 - size(&fixed) as i64,
    );
    assert!(
        findings(
            &advise(&fixed, "build-tools.fixed.Dockerfile"),
            "build-tools-in-final-image"
        )
        .is_empty()
    );
}

#[test]
fn leftover_archive_bytes_are_real() {
    require_docker!();
    let bad = build(
        "layerlens-test/advise-archive:bad",
        "leftover-archive.bad.Dockerfile",
        &[],
    );
    let fixed = build(
        "layerlens-test/advise-archive:fixed",
        "leftover-archive.fixed.Dockerfile",
        &[],
    );
    let v = advise(&bad, "leftover-archive.bad.Dockerfile");
    let fs = findings(&v, "leftover-archive");
    assert_eq!(fs.len(), 1, "{v:#}");
    assert_eq!(fs[0]["paths"][0]["path"], "/tmp/tool.tar.gz");
    assert_close(
        "leftover-archive",
        bytes(&fs),
        size(&bad) as i64 - size(&fixed) as i64,
    );
    assert!(
        findings(
            &advise(&fixed, "leftover-archive.fixed.Dockerfile"),
            "leftover-archive"
        )
        .is_empty()
    );
}

#[test]
fn base_image_bytes_are_real() {
    require_docker!();
    let app = vec![7u8; 20_000];
    let bad = build(
        "layerlens-test/advise-base:bad",
        "base-image.bad.Dockerfile",
        &[("app", &app)],
    );
    let fixed = build(
        "layerlens-test/advise-base:fixed",
        "base-image.fixed.Dockerfile",
        &[("app", &app)],
    );
    let v = advise(&bad, "base-image.bad.Dockerfile");
    let fs = findings(&v, "base-image");
    assert_eq!(fs.len(), 1, "{v:#}");
    assert_eq!(fs[0]["dockerfile"]["line"], 1, "points at the FROM");
    assert!(
        fs[0]["message"]
            .as_str()
            .unwrap()
            .contains("layerlens-test/busybox:base")
    );
    assert_close(
        "base-image",
        bytes(&fs),
        size(&bad) as i64 - size(&fixed) as i64,
    );
    assert!(findings(&advise(&fixed, "base-image.fixed.Dockerfile"), "base-image").is_empty());
}

#[test]
fn context_not_ignored_bytes_are_real() {
    require_docker!();
    let pack = vec![1u8; 300_000];
    let module = vec![2u8; 60_000];
    let files: Vec<(&str, &[u8])> = vec![
        ("app.sh", b"echo app\n"),
        (".git/HEAD", b"ref: refs/heads/main\n"),
        (".git/objects/pack/pack-1.pack", &pack),
        ("node_modules/left-pad/index.js", &module),
    ];
    let bad = build(
        "layerlens-test/advise-context:bad",
        "context.Dockerfile",
        &files,
    );
    let v = advise(&bad, "context.Dockerfile");
    let fs = findings(&v, "context-not-ignored");
    assert_eq!(fs.len(), 2, ".git and node_modules: {v:#}");
    // Apply the fix as written: the .dockerignore entries it names.
    let mut ignore = String::new();
    for f in &fs {
        let fix = f["fix"].as_str().unwrap();
        let entry = fix.lines().nth(1).expect("an entry line").trim();
        ignore.push_str(entry);
        ignore.push('\n');
    }
    assert!(
        ignore.contains(".git\n") && ignore.contains("node_modules\n"),
        "{ignore}"
    );
    let mut fixed_files = files.clone();
    fixed_files.push((".dockerignore", ignore.as_bytes()));
    let fixed = build(
        "layerlens-test/advise-context:fixed",
        "context.Dockerfile",
        &fixed_files,
    );
    assert_close(
        "context-not-ignored",
        bytes(&fs),
        size(&bad) as i64 - size(&fixed) as i64,
    );
    assert!(findings(&advise(&fixed, "context.Dockerfile"), "context-not-ignored").is_empty());
}

#[test]
fn cache_order_predicts_the_layer_a_code_change_rebuilds() {
    require_docker!();
    let v1: Vec<(&str, &[u8])> = vec![("requirements.txt", b"dep==1\n"), ("app.sh", b"echo v1\n")];
    let v2: Vec<(&str, &[u8])> = vec![("requirements.txt", b"dep==1\n"), ("app.sh", b"echo v2\n")];
    let bad1 = build(
        "layerlens-test/advise-order-bad:v1",
        "cache-order.bad.Dockerfile",
        &v1,
    );
    let bad2 = build(
        "layerlens-test/advise-order-bad:v2",
        "cache-order.bad.Dockerfile",
        &v2,
    );
    let v = advise(&bad1, "cache-order.bad.Dockerfile");
    let fs = findings(&v, "cache-order");
    assert_eq!(fs.len(), 1, "{v:#}");
    let f = fs[0];
    let text = read("cache-order.bad.Dockerfile");
    assert_eq!(f["dockerfile"]["line"], line_of(&text, "COPY . ."));
    assert_eq!(
        f["related"][0]["dockerfile"]["line"],
        line_of(&text, "RUN pip install")
    );
    assert!(
        f["fix"].as_str().unwrap().contains("COPY requirements.txt"),
        "{f:#}"
    );
    let install = f["related"][0]["layer"].as_u64().unwrap() as usize;
    // The code-only change rebuilt the predicted install layer (and what is above the COPY).
    let (d1, d2) = (diff_ids(&bad1), diff_ids(&bad2));
    let first_changed = d1.iter().zip(&d2).position(|(a, b)| a != b).unwrap();
    assert_eq!(
        first_changed,
        f["layer"].as_u64().unwrap() as usize,
        "the COPY layer"
    );
    assert_ne!(d1[install], d2[install], "the install layer was rebuilt");
    // Its bytes are the install layer's real size (docker history).
    let hist = docker(&[
        "history",
        "--no-trunc",
        "--human=false",
        "--format",
        "{{.Size}}\t{{.CreatedBy}}",
        &bad1,
    ]);
    let real: i64 = hist
        .lines()
        .find(|l| l.contains("pip install"))
        .and_then(|l| l.split('\t').next())
        .unwrap()
        .parse()
        .unwrap();
    assert_close("cache-order", f["bytes"].as_u64().unwrap(), real);

    // After the fix, the same change leaves the install layer as it was.
    let fixed1 = build(
        "layerlens-test/advise-order-fixed:v1",
        "cache-order.fixed.Dockerfile",
        &v1,
    );
    let fixed2 = build(
        "layerlens-test/advise-order-fixed:v2",
        "cache-order.fixed.Dockerfile",
        &v2,
    );
    let fixed_text = read("cache-order.fixed.Dockerfile");
    let report = layerlens_json(&[
        "report",
        &fixed1,
        "--format",
        "json",
        "--dockerfile",
        fixture("cache-order.fixed.Dockerfile").to_str().unwrap(),
    ]);
    let install_fixed = report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .position(|l| l["dockerfile"]["line"] == line_of(&fixed_text, "RUN pip install"))
        .expect("the install layer is mapped");
    assert_eq!(
        diff_ids(&fixed1)[install_fixed],
        diff_ids(&fixed2)[install_fixed]
    );
    assert_ne!(
        diff_ids(&fixed1).last(),
        diff_ids(&fixed2).last(),
        "the code layer changed"
    );
    assert!(
        findings(
            &advise(&fixed1, "cache-order.fixed.Dockerfile"),
            "cache-order"
        )
        .is_empty()
    );
}

#[test]
fn formats_sarif_markdown_and_report_findings() {
    require_docker!();
    let bad = build(
        "layerlens-test/advise-cleanup:bad",
        "cleanup.bad.Dockerfile",
        &[],
    );
    let df = fixture("cleanup.bad.Dockerfile");
    let dfp = df.to_str().unwrap();
    let json = advise(&bad, "cleanup.bad.Dockerfile");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("advice.sarif");
    let args = [
        "advise",
        &bad,
        "--dockerfile",
        dfp,
        "--format",
        "sarif",
        "-o",
        out.to_str().unwrap(),
    ];
    let o = layerlens(&args);
    assert!(o.status.success(), "{}", describe_output(&args, &o));
    let sarif: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let fs = json["findings"].as_array().unwrap();
    assert_eq!(results.len(), fs.len());
    for (r, f) in results.iter().zip(fs) {
        assert_eq!(r["ruleId"], f["rule"]);
        assert_eq!(r["level"], f["severity"]);
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], format!("file://{dfp}"));
        assert_eq!(loc["region"]["startLine"], f["dockerfile"]["line"]);
        assert_eq!(loc["region"]["endLine"], f["dockerfile"]["end_line"]);
        assert!(
            r["message"]["text"]
                .as_str()
                .unwrap()
                .contains(&format!("{} bytes", f["bytes"]))
        );
        let ids: Vec<&str> = sarif["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids[r["ruleIndex"].as_u64().unwrap() as usize], r["ruleId"]);
    }
    // Markdown: a table row per finding, naming the line.
    let o = layerlens(&["advise", &bad, "--dockerfile", dfp, "--format", "markdown"]);
    let md = String::from_utf8_lossy(&o.stdout);
    assert!(md.contains("| Bytes | Rule | Where | Finding |"), "{md}");
    for f in fs {
        assert!(
            md.contains(&format!("`{}:{}", dfp, f["dockerfile"]["line"])),
            "{md}"
        );
    }
    // Text names the line and the fix.
    let o = layerlens(&["advise", &bad, "--dockerfile", dfp]);
    let txt = String::from_utf8_lossy(&o.stdout);
    assert!(
        txt.contains(&format!("{dfp}:{}", fs[0]["dockerfile"]["line"])),
        "{txt}"
    );
    assert!(txt.contains("fix: "), "{txt}");
    // Without --dockerfile: the same findings, pointing at layers.
    let plain = layerlens_json(&["advise", &bad, "--format", "json"]);
    let pf = plain["findings"].as_array().unwrap();
    let rules = |v: &[Value]| -> Vec<(String, u64, u64)> {
        v.iter()
            .filter(|f| f["rule"] != "base-image")
            .map(|f| {
                (
                    f["rule"].as_str().unwrap().to_string(),
                    f["layer"].as_u64().unwrap(),
                    f["bytes"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(rules(pf), rules(fs));
    assert!(pf.iter().all(|f| f["dockerfile"].is_null()));
    // `report --format json` carries the findings too.
    let report = layerlens_json(&["report", &bad, "--format", "json", "--dockerfile", dfp]);
    assert_eq!(report["findings"], json["findings"]);
    // And `ci` gates on them.
    let total: u64 = rules(fs).iter().map(|r| r.2).sum();
    let args = [
        "ci",
        bad.as_str(),
        "--highest-advice-bytes",
        &(total - 1).to_string(),
        "--lowest-efficiency",
        "0",
        "--highest-user-wasted-percent",
        "disabled",
    ];
    let o = layerlens(&args);
    assert_eq!(o.status.code(), Some(1), "{}", describe_output(&args, &o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("FAIL  highest-advice-bytes"));
    let args = [
        "ci",
        bad.as_str(),
        "--highest-advice-bytes",
        &total.to_string(),
        "--lowest-efficiency",
        "0",
        "--highest-user-wasted-percent",
        "disabled",
    ];
    let o = layerlens(&args);
    assert_eq!(o.status.code(), Some(0), "{}", describe_output(&args, &o));
}

#[test]
fn hadolint_beside_measured_bytes() {
    require_docker!();
    if !tool_ready_or_skip("hadolint") {
        return;
    }
    let bad = build(
        "layerlens-test/advise-cleanup:bad",
        "cleanup.bad.Dockerfile",
        &[],
    );
    let df = fixture("cleanup.bad.Dockerfile");
    let text = read("cleanup.bad.Dockerfile");
    let out = std::process::Command::new("hadolint")
        .args(["--no-fail", "--format", "json"])
        .arg(&df)
        .output()
        .expect("running hadolint");
    let theirs: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "hadolint JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let ours = advise(&bad, "cleanup.bad.Dockerfile");
    eprintln!("hadolint: {theirs:#}");
    eprintln!("layerlens: {:#}", ours["findings"]);
    // hadolint sees the consecutive RUNs (DL3059) but cannot say what they cost; we name
    // the line that adds the bytes and how many the fix removes.
    let codes: Vec<(&str, u64)> = theirs
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["code"].as_str().unwrap(), f["line"].as_u64().unwrap()))
        .collect();
    assert!(
        codes.contains(&("DL3059", line_of(&text, "RUN chmod"))),
        "{codes:?}"
    );
    assert!(
        theirs
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f.get("bytes").is_none())
    );
    let f = &findings(&ours, "cleanup-in-later-layer")[0];
    assert!(f["bytes"].as_u64().unwrap() >= 250_000);
}
