//! Daemon-side failures: exit 2, nothing on stdout, exactly one line on stderr that says
//! what went wrong, never a panic. The no-daemon cases point DOCKER_HOST somewhere dead and
//! need no Docker at all; the unknown-image cases need a daemon.

#[macro_use]
mod common;

use std::process::Output;
use std::time::{Duration, Instant};

use common::*;

const DEAD_HOSTS: &[&str] = &["unix:///nonexistent.sock", "tcp://127.0.0.1:1"];

/// Exit 2, empty stdout, one non-empty stderr line containing each of `needles`
/// (case-insensitive), no panic.
fn assert_one_line_failure(args: &[&str], out: &Output, needles: &[&str]) {
    assert_no_panic(args, out);
    let ctx = describe_output(args, out);
    assert_eq!(out.status.code(), Some(2), "expected exit 2:\n{ctx}");
    assert!(
        out.stdout.is_empty(),
        "nothing may be printed on stdout:\n{ctx}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected exactly one stderr line:\n{ctx}");
    assert!(
        !err.contains("stack backtrace") && !err.contains("RUST_BACKTRACE"),
        "{ctx}"
    );
    let lower = lines[0].to_lowercase();
    for n in needles {
        assert!(
            lower.contains(&n.to_lowercase()),
            "stderr line should mention {n:?}:\n{ctx}"
        );
    }
}

#[test]
fn unknown_image_from_daemon() {
    require_docker!();
    let missing = "layerlens-test/does-not-exist:nope";
    assert!(!image_exists(missing));
    let daemon = format!("docker://{missing}");
    let no_tag = "docker://layerlens-test/does-not-exist-either";
    for args in [
        vec!["report", missing],
        vec!["report", &daemon, "--format", "json"],
        vec!["files", &daemon, "--format", "json"],
        vec!["ci", &daemon],
        vec!["report", no_tag],
    ] {
        let out = layerlens(&args);
        let needle = if args[1] == no_tag {
            "does-not-exist-either"
        } else {
            "does-not-exist"
        };
        assert_one_line_failure(&args, &out, &[needle]);
    }
}

#[test]
fn no_daemon_at_docker_host() {
    for host in DEAD_HOSTS {
        for args in [
            vec!["report", "somename:tag"],
            vec!["report", "docker://somename:tag", "--format", "json"],
            vec!["files", "docker://somename:tag", "--format", "json"],
            vec!["ci", "somename:tag"],
        ] {
            let start = Instant::now();
            let out = layerlens_env(&args, &[("DOCKER_HOST", host)]);
            let took = start.elapsed();
            let what = format!("DOCKER_HOST={host} layerlens {}", args.join(" "));
            assert_one_line_failure(&args, &out, &["docker"]);
            assert!(took < Duration::from_secs(60), "{what} took {took:?}");
        }
    }
}

#[test]
fn malformed_docker_host() {
    let args = ["report", "somename:tag"];
    let out = layerlens_env(&args, &[("DOCKER_HOST", "not-a-scheme://what")]);
    assert_one_line_failure(&args, &out, &["docker"]);
}

/// A saved archive is read without the daemon, even when DOCKER_HOST is dead.
#[test]
fn archive_source_needs_no_daemon() {
    require_docker!();
    let tag = build_image(
        "layerlens-test/errors-archive:1",
        "FROM layerlens-test/busybox:base\nRUN echo hi > /hi\n",
        &[],
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("a.tar");
    save_image(&tag, &archive);
    let truth = export_fs(&tag);
    let with_transport = format!("docker-archive:{}", archive.display());
    for host in DEAD_HOSTS {
        for source in [with_transport.as_str(), archive.to_str().unwrap()] {
            let args = ["report", source, "--format", "json"];
            let out = layerlens_env(&args, &[("DOCKER_HOST", host)]);
            assert_no_panic(&args, &out);
            assert!(
                out.status.success(),
                "DOCKER_HOST={host}:\n{}",
                describe_output(&args, &out)
            );
        }
    }
    assert_files_match(&with_transport, &[], &truth);
}
