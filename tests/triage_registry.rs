//! Ground truth for `layerlens triage` and `registry://` sources: a real registry
//! (Debian's `docker-registry`, Distribution 2.8) and the real `docker push` / `docker
//! pull` of the daemon. Predictions are made first, then docker does it, then both are
//! compared layer by layer: `exists` ↔ "Layer already exists", `mount` ↔ "Mounted
//! from", `upload` ↔ "Pushed" (with the predicted bytes within 2% of what the registry
//! stored), and a pull plan ↔ the layers `docker pull` fetched.
//!
//! Every image is built from the shared busybox base with content unique to its test,
//! so removing a test's own image never touches a layer another test uses. Only tags
//! the tests made are removed (`layerlens-test/triage-…` and `127.0.0.1:PORT/…`).

#[macro_use]
mod common;
mod registry_support;

use registry_support::TestRegistry;
use serde_json::Value;
use std::collections::BTreeMap;

/// Tags to remove when the test ends (also on failure).
struct Tags(Vec<String>);

impl Drop for Tags {
    fn drop(&mut self) {
        for t in &self.0 {
            let _ = common::docker_succeeds(&["rmi", t]);
        }
    }
}

/// Deterministic text of about `n` bytes (compresses like source code does).
fn text(seed: &str, n: usize) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "fn", "let", "mut", "return", "match", "self", "impl", "struct", "layer", "image",
        "registry", "push", "pull", "value", "config", "error", "result", "option", "some", "none",
        "string", "vec", "map", "iter", "into", "from", "for", "in", "if", "else",
    ];
    let mut x: u64 = seed.bytes().fold(1469598103934665603, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(1099511628211)
    });
    let mut out = Vec::with_capacity(n + 32);
    out.extend_from_slice(format!("// {seed}\n").as_bytes());
    while out.len() < n {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let w = WORDS[(x >> 33) as usize % WORDS.len()];
        out.extend_from_slice(w.as_bytes());
        out.push(if (x >> 20).is_multiple_of(9) {
            b'\n'
        } else {
            b' '
        });
        if (x >> 40).is_multiple_of(13) {
            out.extend_from_slice(format!("{}", x % 100_000).as_bytes());
            out.push(b';');
        }
    }
    out
}

const APP_DOCKERFILE: &str = "FROM layerlens-test/busybox:base\n\
COPY deps.txt /deps/deps.txt\n\
RUN echo built > /etc/build-info\n\
COPY app.txt /app/app.txt\n";

/// Build `layerlens-test/triage-NAME:VERSION`: deps fixed per NAME, app per VERSION.
fn build_app(name: &str, version: &str) -> String {
    let deps = text(&format!("{name} deps"), 120_000);
    let app = text(&format!("{name} app {version}"), 60_000);
    common::build_image(
        &format!("layerlens-test/triage-{name}:{version}"),
        APP_DOCKERFILE,
        &[("deps.txt", &deps), ("app.txt", &app)],
    )
}

/// What `docker push` said per layer: short diff id → "exists" | "mount:REPO" | "upload".
fn docker_push(reference: &str) -> BTreeMap<String, String> {
    let out = common::docker(&["push", reference]);
    let mut m = BTreeMap::new();
    for line in out.lines() {
        let Some((id, what)) = line.split_once(": ") else {
            continue;
        };
        if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        let v = if what.starts_with("Layer already exists") {
            "exists".to_string()
        } else if let Some(from) = what.strip_prefix("Mounted from ") {
            format!("mount:{}", from.trim())
        } else if what.starts_with("Pushed") {
            "upload".to_string()
        } else {
            continue;
        };
        m.insert(id.to_string(), v);
    }
    m
}

/// What `docker pull` said per layer: short blob digest → "pulled" | "present".
fn docker_pull(reference: &str) -> BTreeMap<String, String> {
    let out = common::docker(&["pull", reference]);
    let mut m = BTreeMap::new();
    for line in out.lines() {
        let Some((id, what)) = line.split_once(": ") else {
            continue;
        };
        if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        if what.starts_with("Already exists") {
            m.insert(id.to_string(), "present".to_string());
        } else if what.starts_with("Pull complete") {
            m.insert(id.to_string(), "pulled".to_string());
        }
    }
    m
}

fn short(d: &str) -> String {
    d.trim_start_matches("sha256:").chars().take(12).collect()
}

fn triage_json(args: &[&str]) -> Value {
    let mut all = vec!["triage"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    common::layerlens_json(&all)
}

/// The registry's manifest of REPO:TAG: [(digest, size)] of its layers.
fn registry_layers(reg: &TestRegistry, repo: &str, tag: &str) -> Vec<(String, u64)> {
    let (status, body) = reg
        .get(&format!("/v2/{repo}/manifests/{tag}"))
        .expect("the registry answers");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let v: Value = serde_json::from_slice(&body).expect("manifest JSON");
    v["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| {
            (
                l["digest"].as_str().unwrap().to_string(),
                l["size"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Compare a predicted push with what docker did; returns the predicted layers.
fn assert_push_matches(
    predicted: &Value,
    actual: &BTreeMap<String, String>,
    reg: &TestRegistry,
    repo: &str,
    tag: &str,
) {
    let layers = predicted["push"]["layers"].as_array().expect("push.layers");
    let stored = registry_layers(reg, repo, tag);
    assert_eq!(layers.len(), stored.len(), "layer count");
    let mut predicted_total = 0u64;
    let mut stored_total = 0u64;
    for (l, (digest, size)) in layers.iter().zip(&stored) {
        let diff = l["diff_id"].as_str().unwrap();
        let got = actual
            .get(&short(diff))
            .unwrap_or_else(|| panic!("docker push said nothing about layer {diff}: {actual:?}"));
        let action = l["action"].as_str().unwrap();
        let want = match action {
            "mount" => format!("mount:{}", l["from"].as_str().unwrap()),
            a => a.to_string(),
        };
        assert_eq!(
            &want, got,
            "layer {} ({diff}): predicted {want}, docker push did {got}\n{predicted:#}",
            l["index"]
        );
        if action == "upload" {
            let bytes = l["bytes"].as_u64().unwrap();
            let on_disk = reg.blob_size(digest).expect("the registry stored the blob");
            assert_eq!(on_disk, *size, "manifest size vs stored blob");
            let err = (bytes as f64 - *size as f64).abs() / *size as f64;
            assert!(
                err <= 0.02,
                "layer {}: predicted {bytes} bytes, the registry stored {size} ({:.2} %)",
                l["index"],
                err * 100.0
            );
            predicted_total += bytes;
            stored_total += size;
        } else {
            assert_eq!(l["digest"].as_str(), Some(digest.as_str()), "known digest");
            assert_eq!(l["bytes"].as_u64(), Some(0));
        }
    }
    assert_eq!(
        predicted["push"]["upload_bytes"].as_u64(),
        Some(predicted_total)
    );
    if stored_total > 0 {
        let err = (predicted_total as f64 - stored_total as f64).abs() / stored_total as f64;
        assert!(
            err <= 0.02,
            "upload total {predicted_total} vs {stored_total}"
        );
    }
}

/// Only GET and HEAD ever came from layerlens.
fn assert_read_only(reg: &TestRegistry) {
    let sent = reg.requests_from("layerlens/");
    assert!(
        !sent.is_empty(),
        "no layerlens request in the registry log:\n{}",
        reg.log()
    );
    for (method, uri) in &sent {
        assert!(
            method == "GET" || method == "HEAD",
            "layerlens sent {method} {uri}"
        );
    }
}

#[test]
fn second_build_push_then_new_repository_then_pull_match_docker() {
    require_docker!();
    let Some(reg) = TestRegistry::start_or_skip() else {
        return;
    };
    let host = reg.host();
    let v1 = build_app("second", "1");
    let v2 = build_app("second", "2");
    let r1 = format!("{host}/app:1");
    let r2 = format!("{host}/app:2");
    let other = format!("{host}/other:1");
    let _tags = Tags(vec![r1.clone(), r2.clone(), other.clone()]);
    common::docker(&["tag", &v1, &r1]);
    let first = docker_push(&r1);
    assert!(first.values().all(|v| v == "upload"), "{first:?}");

    // Second build, same repository: only the app layer uploads.
    let predicted = triage_json(&[
        &v2,
        "--to",
        &format!("{host}/app:2"),
        "--nodes",
        "10",
        "--deploys-per-day",
        "3",
    ]);
    let layers = predicted["push"]["layers"].as_array().unwrap();
    let actions: Vec<&str> = layers
        .iter()
        .map(|l| l["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["exists", "exists", "exists", "upload"],
        "{predicted:#}"
    );
    // The pull plan (node running app:1, the newest image of the repository).
    let pull = &predicted["pull"];
    assert_eq!(pull["against"].as_str(), Some(r1.as_str()), "{pull:#}");
    let pulled: Vec<bool> = pull["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["pulled"].as_bool().unwrap())
        .collect();
    assert_eq!(pulled, [false, false, false, true]);
    // Egress arithmetic: 10 nodes × 3 deploys × 30 days × bytes per pull.
    let e = &predicted["egress"];
    assert_eq!(e["pulls_per_month"].as_f64(), Some(900.0));
    let per_pull = pull["pull_bytes"].as_u64().unwrap();
    assert_eq!(e["bytes_per_month"].as_f64(), Some(900.0 * per_pull as f64));

    common::docker(&["tag", &v2, &r2]);
    let actual = docker_push(&r2);
    assert_push_matches(&predicted, &actual, &reg, "app", "2");

    // A new repository on the same registry: every layer is mounted.
    let predicted = triage_json(&[&v2, "--to", &other]);
    let actions: Vec<&str> = predicted["push"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["action"].as_str().unwrap())
        .collect();
    assert!(actions.iter().all(|a| *a == "mount"), "{predicted:#}");
    assert_eq!(predicted["push"]["upload_bytes"].as_u64(), Some(0));
    common::docker(&["tag", &v2, &other]);
    let actual = docker_push(&other);
    assert_push_matches(&predicted, &actual, &reg, "other", "1");

    // What a node running app:1 really pulls for app:2: remove every tag of app:2 (all
    // made by this test), keep app:1, pull.
    let predicted = triage_json(&[&v2, "--to", &r2, "--against", ":1"]);
    let plan: Vec<(String, bool)> = predicted["pull"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["index"].to_string(), l["pulled"].as_bool().unwrap()))
        .collect();
    let stored = registry_layers(&reg, "app", "2");
    for t in [&r2, &other, &v2] {
        common::docker(&["rmi", t]);
    }
    let fetched = docker_pull(&r2);
    for ((index, pulled), (digest, _)) in plan.iter().zip(&stored) {
        let got = fetched
            .get(&short(digest))
            .unwrap_or_else(|| panic!("docker pull said nothing about {digest}: {fetched:?}"));
        assert_eq!(
            got,
            if *pulled { "pulled" } else { "present" },
            "layer {index}: predicted pulled={pulled}, docker pull: {got}"
        );
    }
    // Put the test's own tag back for later runs' build cache (same image id).
    common::docker(&["tag", &r2, &v2]);
    assert_read_only(&reg);
}

#[test]
fn cold_registry_uploads_everything_with_the_predicted_bytes() {
    require_docker!();
    let Some(reg) = TestRegistry::start_or_skip() else {
        return;
    };
    let img = build_app("cold", "1");
    let target = format!("{}/cold:1", reg.host());
    let _tags = Tags(vec![target.clone()]);
    let predicted = triage_json(&[&img, "--to", &target, "--bandwidth", "8Mbit"]);
    let push = &predicted["push"];
    assert!(
        push["layers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["action"] == "upload"),
        "{predicted:#}"
    );
    let bytes = push["upload_bytes"].as_u64().unwrap();
    // Time at 8 Mbit/s = 1 MB/s.
    let secs = push["seconds"].as_f64().unwrap();
    assert!(
        (secs - bytes as f64 / 1e6).abs() < 1e-6,
        "{secs} s for {bytes} bytes"
    );
    // Root reads Docker's layer store: the upload sizes come from rebuilding the layer
    // tars there (no export).
    if std::fs::read_dir("/var/lib/docker/image").is_ok() {
        let args = [
            "triage",
            img.as_str(),
            "--to",
            target.as_str(),
            "--bandwidth",
            "8Mbit",
            "--format",
            "json",
        ];
        let out = common::layerlens_env(&args, &[("LAYERLENS_TIMINGS", "1")]);
        assert!(
            out.status.success(),
            "{}",
            common::describe_output(&args, &out)
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("measured from the layer store"), "{err}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["push"], predicted["push"]);
    }
    // Read through the daemon's export instead of its layer store: the same plan.
    let via_export = triage_json(&[
        "--daemon-read",
        "export",
        &img,
        "--to",
        &target,
        "--bandwidth",
        "8Mbit",
    ]);
    assert_eq!(via_export["push"], predicted["push"]);
    // No earlier image: the warm node is a cold one.
    assert_eq!(
        predicted["pull"]["pull_bytes"],
        predicted["pull"]["cold_bytes"]
    );
    common::docker(&["tag", &img, &target]);
    let actual = docker_push(&target);
    assert_push_matches(&predicted, &actual, &reg, "cold", "1");
    assert_read_only(&reg);
}

#[test]
fn registry_images_load_like_daemon_images_and_diff() {
    require_docker!();
    let Some(reg) = TestRegistry::start_or_skip() else {
        return;
    };
    let v1 = build_app("source", "1");
    let v2 = build_app("source", "2");
    let r1 = format!("{}/src/app:1", reg.host());
    let _tags = Tags(vec![r1.clone()]);
    common::docker(&["tag", &v1, &r1]);
    common::docker(&["push", &r1]);
    let from_reg = format!("registry://{r1}");

    let files_reg = common::layerlens_json(&["files", &from_reg, "--format", "json"]);
    let files_daemon = common::layerlens_json(&["files", &v1, "--format", "json"]);
    assert_eq!(files_reg, files_daemon, "file entries differ");
    let rep_reg = common::layerlens_json(&["report", &from_reg, "--format", "json"]);
    let rep_daemon = common::layerlens_json(&["report", &v1, "--format", "json"]);
    let diff_ids = |v: &Value| -> Vec<String> {
        v["layers"]
            .as_array()
            .expect("layers")
            .iter()
            .map(|l| l["diff_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(diff_ids(&rep_reg), diff_ids(&rep_daemon));
    assert_eq!(diff_ids(&rep_reg), common::diff_ids(&v1));
    assert_eq!(rep_reg["image"]["id"], rep_daemon["image"]["id"]);
    // By digest too.
    let (_, body) = reg.get("/v2/src/app/manifests/1").unwrap();
    let digest = format!("sha256:{}", common::sha256_hex(&body));
    let by_digest = common::layerlens_json(&[
        "files",
        &format!("registry://{}/src/app@{digest}", reg.host()),
        "--format",
        "json",
    ]);
    assert_eq!(by_digest, files_daemon);

    // diff registry://…:1 against the local second build: only the app layer changed.
    let d = common::layerlens_json(&["diff", &from_reg, &v2, "--format", "json"]);
    let text = d.to_string();
    assert!(text.contains("app/app.txt"), "{d:#}");
    assert_read_only(&reg);
}

#[test]
fn registry_errors_are_one_line_exit_2() {
    require_docker!();
    let Some(reg) = TestRegistry::start_or_skip() else {
        return;
    };
    let img = build_app("errors", "1");
    let r = format!("{}/err/app:1", reg.host());
    let _tags = Tags(vec![r.clone()]);
    common::docker(&["tag", &img, &r]);
    common::docker(&["push", &r]);

    let check = |args: &[&str], env: &[(&str, &str)], want: &str| {
        let out = common::layerlens_env(args, env);
        common::assert_no_panic(args, &out);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}",
            common::describe_output(args, &out)
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            err.trim().lines().count(),
            1,
            "{}",
            common::describe_output(args, &out)
        );
        assert!(
            err.contains(want),
            "want {want:?}: {}",
            common::describe_output(args, &out)
        );
    };
    let unknown_tag = format!("registry://{}/err/app:nope", reg.host());
    check(&["report", &unknown_tag], &[], "no image err/app:nope");
    let unknown_repo = format!("registry://{}/nothing/here:1", reg.host());
    check(&["report", &unknown_repo], &[], "nothing/here");
    // Nothing listens on port 1.
    check(
        &["report", "registry://127.0.0.1:1/app:1"],
        &[],
        "cannot reach registry 127.0.0.1:1",
    );
    // A server that accepts and never answers.
    let stall = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let stall_ref = format!("registry://{}/app:1", stall.local_addr().unwrap());
    check(
        &["report", &stall_ref],
        &[("LAYERLENS_REGISTRY_TIMEOUT", "1")],
        "stalled",
    );
    // Bad input.
    check(
        &["report", "registry://"],
        &[],
        "invalid registry reference",
    );
    check(&["triage", &img, "--to", "bad ref"], &[], "--to");
    check(&["triage", &img, "--bandwidth", "fast"], &[], "--bandwidth");
    check(&["triage", &img, "--fail-on", "nope"], &[], "--fail-on");
    check(
        &["triage", &img, "--egress-price", "free"],
        &[],
        "--egress-price",
    );

    // A blob whose bytes no longer match its digest.
    let layers = registry_layers(&reg, "err/app", "1");
    let (digest, size) = layers.last().unwrap().clone();
    let hex = digest.trim_start_matches("sha256:");
    let data = reg
        .storage()
        .join("docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
        .join("data");
    let mut bytes = std::fs::read(&data).unwrap();
    assert_eq!(bytes.len() as u64, size);
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&data, &bytes).unwrap();
    check(&["report", &format!("registry://{r}")], &[], "digest");
    assert_read_only(&reg);
}

const SECRET_DOCKERFILE: &str = "FROM layerlens-test/busybox:base\n\
COPY credentials /root/.aws/credentials\n\
RUN rm /root/.aws/credentials\n\
COPY app.env /app/.env\n";

#[test]
fn a_secret_deleted_in_a_later_layer_is_found_and_redacted() {
    require_docker!();
    let key = "AKIAQWERTYUIOPASDFGH";
    let secret = "Zx9vLq2Wm4Nn8Bb7Cc6Dd5Ee4Ff3Gg2Hh1Jj0Kk1";
    let creds = format!("[default]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n");
    let env = "DATABASE_PASSWORD=correct-horse-battery-staple\n";
    let img = common::build_image(
        "layerlens-test/triage-secret:1",
        SECRET_DOCKERFILE,
        &[
            ("credentials", creds.as_bytes()),
            ("app.env", env.as_bytes()),
        ],
    );
    for format in ["json", "text", "markdown"] {
        let args = ["triage", img.as_str(), "--format", format];
        let out = common::layerlens(&args);
        common::assert_no_panic(&args, &out);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            common::describe_output(&args, &out)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        for s in [key, secret, "correct-horse", &secret[..10], &key[4..]] {
            assert!(
                !stdout.contains(s),
                "{format} output shows the secret {s:?}:\n{stdout}"
            );
        }
        assert!(stdout.contains("/root/.aws/credentials"), "{stdout}");
        assert!(stdout.contains("/app/.env"), "{stdout}");
    }
    let v = triage_json(&[&img]);
    let via_export = triage_json(&["--daemon-read", "export", &img]);
    assert_eq!(via_export["secrets"], v["secrets"]);
    let secrets = v["secrets"].as_array().unwrap();
    let aws: Vec<&Value> = secrets
        .iter()
        .filter(|s| s["path"] == "/root/.aws/credentials")
        .collect();
    assert!(aws.iter().any(|s| s["kind"] == "aws-access-key"), "{v:#}");
    assert!(
        aws.iter().all(|s| s["layer"] == 1 && s["visible"] == false),
        "{v:#}"
    );
    assert!(
        aws.iter()
            .any(|s| s["redacted"].as_str().unwrap().starts_with("AKIA…")),
        "{v:#}"
    );
    let dotenv: Vec<&Value> = secrets
        .iter()
        .filter(|s| s["path"] == "/app/.env")
        .collect();
    assert_eq!(dotenv.len(), 1, "{v:#}");
    assert_eq!(dotenv[0]["visible"], true);
    assert_eq!(dotenv[0]["layer"], 3);
    // With the Dockerfile, each secret names the line that put it there; the advice
    // (layerlens advise) and its gate come along.
    let dir = tempfile::tempdir().unwrap();
    let df = dir.path().join("Dockerfile");
    std::fs::write(&df, SECRET_DOCKERFILE).unwrap();
    let dfs = df.to_str().unwrap();
    let v = triage_json(&[&img, "--dockerfile", dfs]);
    let lines: Vec<(String, u64)> = v["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap().to_string(),
                s["dockerfile"]["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(
        lines.contains(&("/root/.aws/credentials".into(), 2)),
        "{lines:?}"
    );
    assert!(lines.contains(&("/app/.env".into(), 4)), "{lines:?}");
    let findings = v["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["rule"] == "cleanup-in-later-layer" && f["layer"] == 1),
        "{v:#}"
    );
    let advice = v["advice_bytes"].as_u64().unwrap();
    assert!(advice > 0);
    let limit = format!("advice-bytes={}", advice - 1);
    let args = ["triage", img.as_str(), "--fail-on", limit.as_str()];
    let out = common::layerlens(&args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        common::describe_output(&args, &out)
    );
    let limit = format!("advice-bytes={advice}");
    let args = ["triage", img.as_str(), "--fail-on", limit.as_str()];
    let out = common::layerlens(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        common::describe_output(&args, &out)
    );
    // --fail-on secrets turns them into exit 1.
    let args = ["triage", img.as_str(), "--fail-on", "secrets"];
    let out = common::layerlens(&args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        common::describe_output(&args, &out)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAIL"));
    // A clean image passes the same gate.
    let clean = build_app("clean", "1");
    let args = ["triage", clean.as_str(), "--fail-on", "secrets"];
    let out = common::layerlens(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        common::describe_output(&args, &out)
    );
}

#[test]
fn fail_on_upload_bytes_and_markdown() {
    require_docker!();
    let Some(reg) = TestRegistry::start_or_skip() else {
        return;
    };
    let img = build_app("gate", "1");
    let target = format!("{}/gate:1", reg.host());
    let args = [
        "triage",
        img.as_str(),
        "--to",
        target.as_str(),
        "--fail-on",
        "upload-bytes=1kB",
    ];
    let out = common::layerlens(&args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        common::describe_output(&args, &out)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("FAIL") && stdout.contains("upload-bytes"),
        "{stdout}"
    );
    let args = [
        "triage",
        img.as_str(),
        "--to",
        target.as_str(),
        "--fail-on",
        "upload-bytes=1GB",
        "--format",
        "markdown",
    ];
    let out = common::layerlens(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        common::describe_output(&args, &out)
    );
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.starts_with("### layerlens triage"), "{md}");
    assert!(
        md.contains("| **Push** |") && md.contains("| 3 | upload |"),
        "{md}"
    );
    assert_read_only(&reg);
}

#[test]
fn credentials_come_from_the_docker_config_and_a_refusal_is_one_line() {
    require_docker!();
    let Some(mut reg) = TestRegistry::start_or_skip() else {
        return;
    };
    let img = build_app("auth", "1");
    let r = format!("{}/auth/app:1", reg.host());
    let _tags = Tags(vec![r.clone()]);
    common::docker(&["tag", &img, &r]);
    common::docker(&["push", &r]);
    reg.restart_with_basic_auth();
    let src = format!("registry://{r}");
    let truth = common::layerlens_json(&["files", &img, "--format", "json"]);

    let dir = tempfile::tempdir().unwrap();
    let config_dir = |name: &str, json: &str| -> String {
        let d = dir.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("config.json"), json).unwrap();
        d.to_str().unwrap().to_string()
    };
    let b64 = |s: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(s)
    };
    let host = reg.host();
    let none = config_dir("none", "{}");
    let good = config_dir(
        "good",
        &format!(
            r#"{{"auths":{{"{host}":{{"auth":"{}"}}}}}}"#,
            b64(&format!(
                "{}:{}",
                registry_support::AUTH_USER,
                registry_support::AUTH_PASSWORD
            ))
        ),
    );
    let wrong = config_dir(
        "wrong",
        &format!(
            r#"{{"auths":{{"{host}":{{"auth":"{}"}}}}}}"#,
            b64("tester:nope")
        ),
    );
    // A credential helper (credHelpers) answering like docker-credential-* programs do.
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-layerlens-test");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nread server\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"{}\",\"Secret\":\"{}\"}}' \"$server\"\n",
            registry_support::AUTH_USER,
            registry_support::AUTH_PASSWORD
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let helped = config_dir(
        "helper",
        &format!(r#"{{"credHelpers":{{"{host}":"layerlens-test"}}}}"#),
    );
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    for (cfg, ok) in [
        (&none, false),
        (&wrong, false),
        (&good, true),
        (&helped, true),
    ] {
        let args = ["files", src.as_str(), "--format", "json"];
        let out = common::layerlens_env(&args, &[("DOCKER_CONFIG", cfg), ("PATH", &path)]);
        common::assert_no_panic(&args, &out);
        if ok {
            assert!(
                out.status.success(),
                "{cfg}: {}",
                common::describe_output(&args, &out)
            );
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(v, truth);
        } else {
            assert_eq!(
                out.status.code(),
                Some(2),
                "{cfg}: {}",
                common::describe_output(&args, &out)
            );
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(err.trim().lines().count(), 1, "{err}");
            assert!(
                err.contains("refused access") && err.contains("docker login"),
                "{err}"
            );
        }
    }
    // The push plan through the same credentials.
    let args = [
        "triage",
        img.as_str(),
        "--to",
        &format!("{host}/auth/app:2"),
        "--format",
        "json",
    ];
    let out = common::layerlens_env(&args, &[("DOCKER_CONFIG", &good)]);
    assert!(
        out.status.success(),
        "{}",
        common::describe_output(&args, &out)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let actions: Vec<&str> = v["push"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["action"].as_str().unwrap())
        .collect();
    assert!(actions.iter().all(|a| *a == "exists"), "{v:#}");
    assert_read_only(&reg);
}

/// The host's first non-loopback IPv4 address (`hostname -I`).
fn host_ip() -> Option<String> {
    let out = std::process::Command::new("hostname")
        .arg("-I")
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find(|a| {
            a.parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| !ip.is_loopback())
        })
        .map(str::to_string)
}

#[test]
fn https_unless_loopback_or_insecure_registry() {
    require_docker!();
    let Some(reg) = TestRegistry::start_or_skip() else {
        return;
    };
    let Some(ip) = host_ip() else {
        assert!(
            !common::docker_required(),
            "no non-loopback IPv4 address for this test"
        );
        eprintln!("skipped: no non-loopback IPv4 address");
        return;
    };
    let img = build_app("insecure", "1");
    let r = format!("{}/plain/app:1", reg.host());
    let _tags = Tags(vec![r.clone()]);
    common::docker(&["tag", &img, &r]);
    common::docker(&["push", &r]);
    let extra = reg
        .also_on(&ip)
        .expect("a second registry on the host address");
    let src = format!("registry://{}/plain/app:1", extra.addr);
    // Not loopback: HTTPS first, which a plain-HTTP registry cannot answer.
    let args = ["files", src.as_str(), "--format", "json"];
    let out = common::layerlens(&args);
    common::assert_no_panic(&args, &out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        common::describe_output(&args, &out)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains(&extra.addr), "{err}");
    assert!(err.contains("--insecure-registry"), "{err}");
    // --insecure-registry HOST:PORT: plain HTTP, same files as the daemon's image.
    let args = [
        "files",
        src.as_str(),
        "--format",
        "json",
        "--insecure-registry",
        extra.addr.as_str(),
    ];
    let v = common::layerlens_json(&args);
    assert_eq!(
        v,
        common::layerlens_json(&["files", &img, "--format", "json"])
    );
}

#[test]
fn an_index_resolves_to_the_platform_asked_for() {
    require_docker!();
    let Some(reg) = TestRegistry::start_or_skip() else {
        return;
    };
    let img = build_app("index", "1");
    let r = format!("{}/multi/app:1", reg.host());
    let _tags = Tags(vec![r.clone()]);
    common::docker(&["tag", &img, &r]);
    common::docker(&["push", &r]);
    let (_, manifest) = reg.get("/v2/multi/app/manifests/1").unwrap();
    let digest = format!("sha256:{}", common::sha256_hex(&manifest));
    let entry = |arch: &str| {
        format!(
            r#"{{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"{digest}","size":{},"platform":{{"os":"linux","architecture":"{arch}"}}}}"#,
            manifest.len()
        )
    };
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[{},{}]}}"#,
        entry("riscv64"),
        entry("amd64")
    );
    let status = reg.put_manifest(
        "multi/app",
        "multi",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        index.as_bytes(),
    );
    assert_eq!(status, Some(201), "{}", reg.log());
    let src = format!("registry://{}/multi/app:multi", reg.host());
    if std::env::consts::ARCH == "x86_64" {
        let v = common::layerlens_json(&["files", &src, "--format", "json"]);
        assert_eq!(
            v,
            common::layerlens_json(&["files", &img, "--format", "json"])
        );
    }
    let args = ["files", src.as_str(), "--platform", "linux/s390x"];
    let out = common::layerlens(&args);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        common::describe_output(&args, &out)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no image for platform linux/s390x") && err.contains("linux/riscv64"),
        "{err}"
    );
    // The riscv64 entry is picked, and its config says what it really is.
    let args = ["files", src.as_str(), "--platform", "linux/riscv64"];
    let out = common::layerlens(&args);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        common::describe_output(&args, &out)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("this image is linux/amd64"), "{err}");
    assert_read_only(&reg);
}
