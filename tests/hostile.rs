//! Hostile images (issue #11): crafted inputs must not crash, hang, escape, hide files,
//! lie or inject into the terminal. Each input is generated here, tiny.

#[allow(dead_code)]
mod common;
mod tui_support;

use layerlens::fixture::{Compression, FEntry, FImage, FLayer, Format, write_image};
use std::process::Command;
use std::time::{Duration, Instant};

fn bin() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_layerlens"))
}

/// Run layerlens with a time limit; (exit code, stdout, stderr). A crash (signal) or a
/// timeout fails the test.
fn run_limited(args: &[&str], limit: Duration) -> (i32, String, String) {
    let child = Command::new(bin())
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    // Reading the pipes on another thread: a big output never blocks the child.
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(limit) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("layerlens {args:?} still running after {limit:?}");
        }
    };
    let code = out.status.code().unwrap_or_else(|| {
        panic!(
            "layerlens {args:?} died of a signal: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        code,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One file `depth` directories deep.
fn deep_archive(dir: &std::path::Path, depth: usize) -> std::path::PathBuf {
    let path = format!("{}f", "d/".repeat(depth));
    let p = dir.join(format!("deep{depth}.tar"));
    write_image(
        &FImage::new(
            "deep:1",
            vec![FLayer::new(
                "ADD deep",
                vec![FEntry::file(&path, b"x".to_vec())],
            )],
        ),
        Format::DockerLegacy,
        Compression::Gzip,
        &p,
    )
    .unwrap();
    p
}

/// Row 1: a file 40,000 directories deep: every command finishes in linear time, no
/// stack overflow (no recursion on depth), the explorer builds its rows.
#[test]
fn a_very_deep_tree_neither_crashes_nor_goes_quadratic() {
    let dir = tempfile::tempdir().unwrap();
    let p = deep_archive(dir.path(), 40_000);
    let ps = p.to_str().unwrap();
    for cmd in [&["report", ps][..], &["report", ps, "--format", "json"]] {
        let (code, out, err) = run_limited(cmd, Duration::from_secs(20));
        assert_eq!(code, 0, "{cmd:?}: {err}");
        assert!(!out.is_empty());
    }
    // `files` prints every directory's full path: 1.6 GB here. It streams them (1 GB of
    // address space is plenty) in time proportional to the output.
    for format in ["text", "json"] {
        let started = Instant::now();
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit -v 1000000; exec '{}' files '{ps}' --format {format} > /dev/null",
                bin().display()
            ))
            .status()
            .unwrap();
        assert!(status.success(), "files --format {format}: {status:?}");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "files --format {format} took {:?}",
            started.elapsed()
        );
    }
    // And what it prints is right (a shallower tree, read back).
    let small = deep_archive(dir.path(), 300);
    let (code, out, err) =
        run_limited(&["files", small.to_str().unwrap()], Duration::from_secs(20));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 301);
    assert!(
        out.lines()
            .last()
            .unwrap()
            .ends_with(&format!("/{}f", "d/".repeat(300)))
    );
    let (code, out, err) = run_limited(
        &["files", small.to_str().unwrap(), "--format", "json"],
        Duration::from_secs(20),
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 301);

    // The explorer's model: rows, sizes, expand all, search, in this thread (its stack
    // is the default 2 MiB of a test thread, smaller than the main thread's).
    let started = Instant::now();
    let mut app = tui_support::new_app(layerlens::tui::theme::Theme::dark(), 120, 40);
    let reference = format!("docker-archive:{ps}");
    let g = tui_support::open(&mut app, &reference);
    tui_support::feed(&mut app, g, &tui_support::load_events(&reference));
    tui_support::press(&mut app, crossterm::event::KeyCode::Tab);
    tui_support::ch(&mut app, ']');
    assert_eq!(app.files.rows.len(), 40_001);
    tui_support::ch(&mut app, 'G');
    tui_support::ch(&mut app, '/');
    tui_support::keys(&mut app, "f");
    tui_support::enter(&mut app);
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).unwrap();
    t.draw(|f| layerlens::tui::view::draw(f, &app)).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the explorer took {:?}",
        started.elapsed()
    );
}

/// Row 3: a layout whose manifest names absolute paths, `..` or symlinks out of it (to
/// `/dev/zero`, `/etc/passwd`) is refused at once, naming the path; nothing is read.
#[test]
fn a_layout_cannot_make_us_read_local_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("layout");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(
        root.join("cfg.json"),
        r#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:00"]}}"#,
    )
    .unwrap();
    std::os::unix::fs::symlink("/dev/zero", root.join("zero.tar")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", root.join("passwd.json")).unwrap();
    std::fs::create_dir(root.join("fifo-dir")).unwrap();
    let cases = [
        (
            r#"[{"Config":"/etc/passwd","Layers":["l.tar"]}]"#,
            "/etc/passwd",
        ),
        (
            r#"[{"Config":"cfg.json","Layers":["/dev/zero"]}]"#,
            "/dev/zero",
        ),
        (
            r#"[{"Config":"../../../../etc/passwd","Layers":["l.tar"]}]"#,
            "etc/passwd",
        ),
        (
            r#"[{"Config":"cfg.json","Layers":["zero.tar"]}]"#,
            "zero.tar",
        ),
        (
            r#"[{"Config":"passwd.json","Layers":["l.tar"]}]"#,
            "passwd.json",
        ),
        (
            r#"[{"Config":"cfg.json","Layers":["fifo-dir"]}]"#,
            "fifo-dir",
        ),
    ];
    for (manifest, named) in cases {
        std::fs::write(root.join("manifest.json"), manifest).unwrap();
        let (code, out, err) =
            run_limited(&["report", root.to_str().unwrap()], Duration::from_secs(10));
        assert_eq!(code, 2, "{manifest}: {out}{err}");
        assert!(
            err.contains(named) && err.contains("refusing"),
            "{manifest}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

/// A ustar header block: `name`, `size`, type flag, checksum filled in.
fn ustar(name: &str, size: u64, typ: u8) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..107].copy_from_slice(b"0000644");
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    h[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
    h[136..147].copy_from_slice(b"00000000000");
    h[156] = typ;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    h
}

fn pad(v: &mut Vec<u8>) {
    while v.len() % 512 != 0 {
        v.push(0);
    }
}

/// Row 6: a PAX header whose `path` record holds a newline (valid for GNU tar and
/// Python, which list a setuid backdoor with 1 KiB of data) while the tar reader drops
/// the header and reads the data as headers (decoys). A malformed PAX header is a
/// corrupt layer: exit 2, never decoys.
#[test]
fn a_pax_header_it_cannot_parse_is_a_corrupt_layer_not_decoys() {
    let mut pax = Vec::new();
    let mut record = |k: &str, v: &str| {
        // LEN counts the whole record, its own digits included.
        let body = format!(" {k}={v}\n");
        let mut len = body.len() + 1;
        while format!("{len}{body}").len() != len {
            len += 1;
        }
        pax.extend_from_slice(format!("{len}{body}").as_bytes());
    };
    record("size", "1024");
    record("path", "usr/bin/backdoor\nx");
    let mut layer = Vec::new();
    layer.extend_from_slice(&ustar("PaxHeaders/backdoor", pax.len() as u64, b'x'));
    layer.extend_from_slice(&pax);
    pad(&mut layer);
    // The header says 0 bytes; the PAX size says 1024: the decoy lives in those bytes.
    layer.extend_from_slice(&ustar("usr/bin/backdoor", 0, b'0'));
    let mut data = ustar("decoy", 0, b'0').to_vec();
    data.resize(1024, 0);
    layer.extend_from_slice(&data);
    layer.extend_from_slice(&[0u8; 1024]);
    let archive = common::layers_archive("pax:1", &[layer]);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pax.tar");
    std::fs::write(&p, &archive.bytes).unwrap();
    for cmd in ["report", "files"] {
        let (code, out, err) = run_limited(&[cmd, p.to_str().unwrap()], Duration::from_secs(10));
        assert_eq!(code, 2, "{cmd} listed: {out}");
        assert!(!out.contains("decoy"), "{out}");
        assert!(err.contains("malformed PAX"), "{err}");
    }
}

/// Row 8: a newline (or escape sequence) in a file name cannot fake or split output lines
/// in any text output: `report`, `files`, `diff`, `advise`, `ci`.
#[test]
fn names_cannot_fake_output_lines() {
    let dir = tempfile::tempdir().unwrap();
    let evil = "evil\nFAKE LINE\x1b[2J\u{9b}";
    let make = |name: &str, content: &[u8]| {
        let p = dir.path().join(name);
        write_image(
            &FImage::new(
                "evil:1",
                vec![
                    FLayer::new("ADD evil", vec![FEntry::file(evil, vec![b'x'; 5000])]),
                    FLayer::new("RUN again", vec![FEntry::file(evil, content.to_vec())]),
                ],
            ),
            Format::DockerLegacy,
            Compression::None,
            &p,
        )
        .unwrap();
        p
    };
    let a = make("a.tar", b"y");
    let b = make("b.tar", b"z");
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    for args in [
        vec!["report", a],
        vec!["files", a],
        vec!["files", a, "--changes"],
        vec!["diff", a, b, "--format", "text"],
        vec!["advise", a],
        vec!["ci", a],
    ] {
        let (_, out, err) = run_limited(&args, Duration::from_secs(20));
        for text in [&out, &err] {
            assert!(
                !text.lines().any(|l| l.starts_with("FAKE LINE")),
                "{args:?}: a name split a line:\n{text}"
            );
            assert!(
                !text.contains('\x1b') && !text.contains('\u{9b}'),
                "{args:?}: {text:?}"
            );
        }
    }
}

/// Row 10: a layer that is not a tar says so, without quoting its bytes; a symlink cycle
/// in a layout names the path.
#[test]
fn clear_messages_for_broken_layers() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("layout");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(
        root.join("cfg.json"),
        r#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:00"]}}"#,
    )
    .unwrap();
    std::fs::write(
        root.join("manifest.json"),
        r#"[{"Config":"cfg.json","Layers":["l.tar"]}]"#,
    )
    .unwrap();
    // 3000 bytes that are not a tar (and not UTF-8).
    let junk: Vec<u8> = (0..3000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8 | 0x80)
        .collect();
    std::fs::write(root.join("l.tar"), &junk).unwrap();
    let (code, _, err) = run_limited(&["report", root.to_str().unwrap()], Duration::from_secs(10));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a valid tar"), "{err}");
    assert!(
        !err.contains('\u{fffd}') && err.len() < 200,
        "quotes the junk: {err}"
    );
    // A symlink cycle.
    std::fs::remove_file(root.join("l.tar")).unwrap();
    std::os::unix::fs::symlink("l2.tar", root.join("l.tar")).unwrap();
    std::os::unix::fs::symlink("l.tar", root.join("l2.tar")).unwrap();
    let (code, _, err) = run_limited(&["report", root.to_str().unwrap()], Duration::from_secs(10));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("l.tar"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// Found by `fuzz/registry_manifest`: `liAnux/arm64/v8` parsed as a Docker Hub
/// repository with a capital, whose qualified name (`docker.io/liAnux/arm64/v8`, what
/// is requested and shown) is not a reference at all. Rejected up front; every
/// reference that parses prints as one that parses again.
#[test]
fn a_registry_reference_prints_as_one_that_parses() {
    use layerlens::source::registry::RegistryRef;
    let e = RegistryRef::parse("liAnux/arm64/v8").unwrap_err();
    assert!(e.message.contains("lowercase"), "{}", e.message);
    for good in [
        "alpine",
        "alpine:3.20",
        "library/alpine",
        "ghcr.io/org/app:1",
        "127.0.0.1:5000/team/app:1",
        "localhost/app",
    ] {
        let r = RegistryRef::parse(good).unwrap();
        let again = RegistryRef::parse(&r.to_string()).unwrap();
        assert_eq!(again, r, "{good}");
    }
    let (code, _, err) = run_limited(
        &["report", "registry://liAnux/arm64/v8"],
        Duration::from_secs(10),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("lowercase"), "{err}");
}
