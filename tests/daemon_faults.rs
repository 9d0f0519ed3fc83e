//! Faults between layerlens and a real daemon: the export stream cut mid-way (a unix
//! socket proxy in front of the real daemon closes the connection after a few hundred
//! kilobytes of `docker save`), and a socket we may not use.

#[macro_use]
mod common;

use common::*;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

const DAEMON: &str = "/var/run/docker.sock";

/// Forward connections to the daemon; once a request for an image export is seen on a
/// connection, close it after `cut` bytes of response.
fn cutting_proxy(path: &std::path::Path, cut: u64) -> Arc<AtomicU64> {
    let listener = UnixListener::bind(path).unwrap();
    let cuts = Arc::new(AtomicU64::new(0));
    let cuts2 = cuts.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { break };
            let Ok(daemon) = UnixStream::connect(DAEMON) else {
                break;
            };
            let armed = Arc::new(AtomicBool::new(false));
            let (mut c_in, mut d_out) = (client.try_clone().unwrap(), daemon.try_clone().unwrap());
            let armed_w = armed.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 16384];
                while let Ok(n) = c_in.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if String::from_utf8_lossy(&buf[..n]).contains("/get") {
                        armed_w.store(true, Ordering::SeqCst);
                    }
                    if d_out.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
            let (mut d_in, mut c_out) = (daemon, client);
            let cuts = cuts2.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 16384];
                let mut sent = 0u64;
                while let Ok(n) = d_in.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if armed.load(Ordering::SeqCst) {
                        sent += n as u64;
                        if sent > cut {
                            cuts.fetch_add(1, Ordering::SeqCst);
                            let _ = c_out.shutdown(std::net::Shutdown::Both);
                            let _ = d_in.shutdown(std::net::Shutdown::Both);
                            break;
                        }
                    }
                    if c_out.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    cuts
}

#[test]
fn a_daemon_that_drops_mid_export_is_a_clean_error() {
    require_docker!();
    let base = base_image();
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("proxy.sock");
    let cuts = cutting_proxy(&sock, 300_000);
    let host = format!("unix://{}", sock.display());
    // The export path is the one that streams (the layer store is read from files).
    for args in [
        vec!["report", "--format", "json", "--daemon-read", "export"],
        vec!["files", "--daemon-read", "export"],
    ] {
        let mut a: Vec<&str> = args.clone();
        a.push(&base);
        let out = layerlens_env(&a, &[("DOCKER_HOST", host.as_str())]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}", describe_output(&a, &out));
        assert!(
            out.stdout.is_empty(),
            "partial output: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            err.contains("mid-way") || err.contains("truncated"),
            "{err}"
        );
    }
    assert!(
        cuts.load(Ordering::SeqCst) >= 2,
        "the proxy never cut an export"
    );
}

#[test]
fn permission_denied_on_the_socket_says_so() {
    require_docker!();
    // Only root can drop to another user; as root the socket's permissions are moot.
    if unsafe_geteuid() != 0 {
        eprintln!("skipped: needs root to run layerlens as another user");
        return;
    }
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(layerlens_bin())
        .args(["report", "layerlens-test/busybox:base"])
        .env("DOCKER_HOST", format!("unix://{DAEMON}"))
        .env("HOME", "/tmp")
        .output()
        .expect("setpriv");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.to_lowercase().contains("permission denied"), "{err}");
    assert!(
        err.contains("docker group") || err.contains("group"),
        "{err}"
    );
}

fn unsafe_geteuid() -> u32 {
    let out = std::process::Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(1)
}
