//! `layerlens build` (diff of what a tag pointed to before and after a real
//! `docker build`) and the per-layer cache status (layers shared with other local
//! images), against the real daemon.

#[macro_use]
mod common;

use common::*;
use std::process::Command;

fn build_cmd(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    Command::new(layerlens_bin())
        .args(args)
        .current_dir(dir)
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .expect("running layerlens build")
}

#[test]
fn build_reports_the_cache_bust_of_a_rebuild() {
    require_docker!();
    let base = base_image();
    let _l = lock("build-layerlens-test/build-cmd");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("FROM {base}\nCOPY deps.txt /app/deps.txt\nRUN cat /app/deps.txt > /app/installed\nCOPY main.sh /app/main.sh\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("deps.txt"), "dep==1\n").unwrap();
    // A value unique to this run, so the second build always changes main.sh.
    let stamp = format!("{:?}", std::time::SystemTime::now());
    std::fs::write(dir.path().join("main.sh"), format!("echo {stamp}\n")).unwrap();
    let tag = "layerlens-test/build-cmd:dev";
    let args = [
        "build",
        "--format",
        "json",
        "-q",
        "--network",
        "none",
        "-t",
        tag,
        ".",
    ];
    let first = build_cmd(&args, dir.path());
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // Edit the late COPY input and build again: the diff says exactly that.
    std::fs::write(dir.path().join("main.sh"), format!("echo {stamp} again\n")).unwrap();
    let second = build_cmd(&args, dir.path());
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&second.stdout)
        )
    });
    assert_eq!(v["summary"]["bust_point"], 3, "{v:#}");
    assert_eq!(v["summary"]["bust_reason"]["kind"], "content_changed");
    assert_eq!(v["summary"]["reused_layers"], 3);
    let files: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(files, vec!["/app/main.sh"]);
    assert_eq!(v["b"]["tags"][0], tag);
    // Building the same inputs again: a cache hit everywhere, nothing to compare.
    let third = build_cmd(&args, dir.path());
    assert!(third.status.success());
    let err = String::from_utf8_lossy(&third.stderr);
    assert!(err.contains("unchanged"), "{err}");
    assert!(third.stdout.is_empty());
}

#[test]
fn build_failure_exits_nonzero_with_one_line() {
    require_docker!();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM layerlens-test/does-not-exist:never\n",
    )
    .unwrap();
    let out = build_cmd(
        &[
            "build",
            "--format",
            "text",
            "-q",
            "--network",
            "none",
            "-t",
            "layerlens-test/build-fail:1",
            ".",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let ours: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("layerlens:"))
        .collect();
    assert_eq!(ours.len(), 1, "{err}");
    assert!(ours[0].contains("docker build failed"), "{err}");
}

#[test]
fn report_tells_which_layers_other_local_images_share() {
    require_docker!();
    let base = base_image();
    let a = build_image(
        "layerlens-test/shared-a:1",
        &format!("FROM {base}\nCOPY x /x\n"),
        &[("x", b"shared\n")],
    );
    let b = build_image(
        "layerlens-test/shared-b:1",
        &format!("FROM {base}\nCOPY x /x\nRUN echo own > /own\n"),
        &[("x", b"shared\n")],
    );
    let v = layerlens_json(&["report", "--format", "json", &format!("docker://{b}")]);
    let layers = v["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3);
    let shared = |i: usize| -> Vec<String> {
        layers[i]["shared_with"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    // The base and the COPY layer are also in A; the RUN layer is B's own.
    assert!(shared(0).contains(&a), "{:?}", shared(0));
    assert!(shared(1).contains(&a), "{:?}", shared(1));
    assert!(!shared(2).contains(&a), "{:?}", shared(2));
    assert!(
        !shared(1).contains(&b),
        "an image does not share with itself"
    );
}
