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
    fix_checksum(&mut h);
    h
}

/// Recompute a tar header's checksum after editing it.
fn fix_checksum(h: &mut [u8; 512]) {
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
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

/// A gzip layer: one extension entry of type `typ` (`L` GNU long name, `x` PAX) whose
/// data is `len` bytes of `a` (a PAX `path` record for `x`), then a file and the end.
/// Streamed through the compressor: the test never holds the big name.
fn long_name_layer(typ: u8, len: u64) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let (prefix, suffix) = if typ == b'x' {
        // "LEN path=aaa…\n", LEN counting its own digits.
        let body = len + " path=\n".len() as u64;
        let mut total = body + 1;
        while (total.to_string().len() as u64 + body) != total {
            total += 1;
        }
        (format!("{total} path=").into_bytes(), b"\n".to_vec())
    } else {
        (Vec::new(), Vec::new())
    };
    let size = prefix.len() as u64 + len + suffix.len() as u64;
    gz.write_all(&ustar("././@LongLink", size, typ)).unwrap();
    gz.write_all(&prefix).unwrap();
    let chunk = vec![b'a'; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        gz.write_all(&chunk[..n]).unwrap();
        left -= n as u64;
    }
    gz.write_all(&suffix).unwrap();
    gz.write_all(&vec![0u8; ((512 - size % 512) % 512) as usize])
        .unwrap();
    gz.write_all(&ustar("short", 0, b'0')).unwrap();
    gz.write_all(&[0u8; 1024]).unwrap();
    gz.finish().unwrap()
}

/// Run layerlens with at most `bytes` of data memory (RLIMIT_DATA): going over aborts it,
/// which fails the test as a crash.
fn run_with_memory_limit(args: &[&str], bytes: u64) -> (i32, String, String) {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(bin());
    cmd.args(args);
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(libc::RLIMIT_DATA, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
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

/// Row 5: a layer holding a 512 MiB GNU long name or PAX path (about 0.5 MB of gzip)
/// is refused with one line, exit 2, without holding the name in memory (the run is
/// limited to 256 MiB of data memory); a 300 KiB name is over the name limit.
#[test]
fn huge_long_names_are_refused_without_reading_them_into_memory() {
    let dir = tempfile::tempdir().unwrap();
    for (typ, len, says) in [
        (b'L', 512u64 << 20, "long-name/PAX headers"),
        (b'x', 512u64 << 20, "long-name/PAX headers"),
        (b'L', 300 << 10, "has a name of 307200 bytes"),
        (b'x', 300 << 10, "has a name of 307200 bytes"),
    ] {
        let layer = long_name_layer(typ, len);
        let archive = common::layers_archive("long:1", &[layer]);
        let p = dir.path().join("long.tar");
        std::fs::write(&p, &archive.bytes).unwrap();
        let (code, out, err) = run_with_memory_limit(&["report", p.to_str().unwrap()], 256 << 20);
        let what = format!("{} name of {len} bytes", typ as char);
        assert_eq!(code, 2, "{what}: {out}{err}");
        assert!(err.contains(says), "{what}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{what}: {err}");
    }
    // A long name under the limit is still read.
    let layer = long_name_layer(b'L', 5000);
    let archive = common::layers_archive("long:1", &[layer]);
    let p = dir.path().join("ok.tar");
    std::fs::write(&p, &archive.bytes).unwrap();
    let (code, out, err) = run_limited(&["files", p.to_str().unwrap()], Duration::from_secs(10));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&"a".repeat(5000)), "{out}");
}

/// Row 7: lying layers. A docker-save archive whose layer tars are not what its config's
/// diff ids say (here: B claims A's layers but holds other files) is refused, naming the
/// layer, by `report` and by `diff A B` (which used to call every layer a cache hit); an
/// OCI blob whose bytes do not match its digest is refused too.
#[test]
fn layers_that_do_not_match_their_digests_are_refused() {
    use common::{LayerBuilder, layers_archive, layers_archive_claiming};
    let dir = tempfile::tempdir().unwrap();
    let base = LayerBuilder::new()
        .file("etc/base", b"base", 0o644)
        .finish();
    let app_a = LayerBuilder::new().file("app/a", b"honest", 0o644).finish();
    let app_b = LayerBuilder::new()
        .file("app/a", b"honest", 0o644)
        .file("app/backdoor", b"evil", 0o755)
        .finish();
    let a = layers_archive("a:1", &[base.clone(), app_a.clone()]);
    let a_ids: Vec<String> = [&base, &app_a]
        .iter()
        .map(|l| format!("sha256:{}", common::sha256_hex(l)))
        .collect();
    let b = layers_archive_claiming("b:1", &[base.clone(), app_b], Some(&a_ids));
    let (pa, pb) = (dir.path().join("a.tar"), dir.path().join("b.tar"));
    std::fs::write(&pa, &a.bytes).unwrap();
    std::fs::write(&pb, &b.bytes).unwrap();
    let (pa, pb) = (pa.to_str().unwrap(), pb.to_str().unwrap());
    let (code, _, err) = run_limited(&["report", pa], Duration::from_secs(10));
    assert_eq!(code, 0, "the honest archive loads: {err}");
    for cmd in [&["report", pb][..], &["diff", pa, pb], &["files", pb]] {
        let (code, out, err) = run_limited(cmd, Duration::from_secs(10));
        assert_eq!(code, 2, "{cmd:?} accepted a lying layer: {out}");
        assert!(
            !out.contains("cache hit") && !out.contains("backdoor"),
            "{out}"
        );
        assert!(
            err.contains("layer 1") && err.contains("does not match its diff id"),
            "{cmd:?}: {err}"
        );
    }

    // OCI layout: a blob whose file content was changed in place.
    let oci = dir.path().join("oci");
    write_image(
        &FImage::new(
            "o:1",
            vec![
                FLayer::new("ADD base", vec![FEntry::file("etc/base", b"base".to_vec())]),
                FLayer::new("ADD app", vec![FEntry::file("app/a", b"honest".to_vec())]),
            ],
        ),
        Format::OciDir,
        Compression::None,
        &oci,
    )
    .unwrap();
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(oci.join("index.json")).unwrap()).unwrap();
    let blob = |d: &str| {
        oci.join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(blob(index["manifests"][0]["digest"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    let layer1 = blob(manifest["layers"][1]["digest"].as_str().unwrap());
    // Read (and verified, its digests remembered) while honest; tampered afterwards.
    let (code, _, err) = run_limited(&["report", oci.to_str().unwrap()], Duration::from_secs(10));
    assert_eq!(code, 0, "{err}");
    // Same length and valid tar headers: only the digest can tell.
    let honest = std::fs::read(&layer1).unwrap();
    let at = honest.windows(6).position(|w| w == b"honest").unwrap();
    let mut evil = honest.clone();
    evil[at..at + 6].copy_from_slice(b"HACKED");
    std::fs::write(&layer1, &evil).unwrap();
    let (code, out, err) = run_limited(&["report", oci.to_str().unwrap()], Duration::from_secs(10));
    assert_eq!(code, 2, "a tampered OCI blob was accepted: {out}");
    assert!(
        err.contains("layer 1") && err.contains("does not match"),
        "{err}"
    );
}

/// Row 10: garbage numeric fields (a gid in base-256 too big for a gid, a uid that is
/// not octal) are reported as warnings, never shown as a silent 4227528960.
#[test]
fn garbage_owner_fields_are_warned_about() {
    let mut big_gid = ustar("big-gid", 0, b'0');
    big_gid[116..124].copy_from_slice(&[0x80, 0, 0, 0xff, 0xfb, 0xfb, 0xfb, 0x00]);
    fix_checksum(&mut big_gid);
    let mut bad_uid = ustar("bad-uid", 0, b'0');
    bad_uid[108..115].copy_from_slice(b"zz9zz9z");
    fix_checksum(&mut bad_uid);
    let mut layer = Vec::new();
    layer.extend_from_slice(&big_gid);
    layer.extend_from_slice(&bad_uid);
    layer.extend_from_slice(&[0u8; 1024]);
    let archive = common::layers_archive("garbage:1", &[layer]);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("g.tar");
    std::fs::write(&p, &archive.bytes).unwrap();
    let (code, out, err) = run_limited(&["report", p.to_str().unwrap()], Duration::from_secs(10));
    assert_eq!(code, 0, "{err}");
    let all = format!("{out}{err}");
    assert!(all.contains("\"big-gid\": unreadable gid"), "{all}");
    assert!(all.contains("\"bad-uid\": unreadable uid"), "{all}");
    let (_, json, _) = run_limited(
        &["files", p.to_str().unwrap(), "--format", "json"],
        Duration::from_secs(10),
    );
    assert!(
        !json.contains("4227528960") && !json.contains("4294"),
        "{json}"
    );
}

/// The inputs the issue lists as already right stay so: each ends in one line and exit 2
/// (or a clean exit 0), quickly, within 256 MiB of data memory, never a crash.
#[test]
fn inputs_already_handled_stay_handled() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let end = [0u8; 1024];
    let archive_of = |name: &str, layer: Vec<u8>| {
        let p = dir.path().join(name);
        std::fs::write(&p, common::layers_archive("x:1", &[layer]).bytes).unwrap();
        p
    };
    let mut cases: Vec<(&str, std::path::PathBuf, i32)> = Vec::new();
    // A file claiming 2^60 bytes (base-256 size) with none present.
    let mut h = ustar("huge", 0, b'0');
    h[124..136].copy_from_slice(&[0x80, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0]);
    fix_checksum(&mut h);
    cases.push((
        "2^60-byte entry",
        archive_of("huge.tar", [&h[..], &end].concat()),
        2,
    ));
    // A size field that is not a number.
    let mut h = ustar("garbage-size", 0, b'0');
    h[124..135].copy_from_slice(b"zz9zz9zz9zz");
    fix_checksum(&mut h);
    cases.push((
        "garbage size",
        archive_of("gsize.tar", [&h[..], &end].concat()),
        2,
    ));
    // A bad header checksum.
    let mut h = ustar("bad-sum", 0, b'0');
    h[148] = b'7';
    cases.push((
        "bad checksum",
        archive_of("sum.tar", [&h[..], &end].concat()),
        2,
    ));
    // 100 000 GNU long-name records in a row.
    let mut chain = Vec::new();
    for _ in 0..100_000 {
        chain.extend_from_slice(&ustar("././@LongLink", 4, b'L'));
        let mut data = b"name".to_vec();
        pad(&mut data);
        chain.extend_from_slice(&data);
    }
    chain.extend_from_slice(&ustar("file", 0, b'0'));
    chain.extend_from_slice(&end);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&chain).unwrap();
    cases.push((
        "long-name chain",
        archive_of("chain.tar", gz.finish().unwrap()),
        2,
    ));
    // 200 000 entries on one path: one file in the end.
    let mut same = Vec::new();
    for _ in 0..200_000 {
        same.extend_from_slice(&ustar("same", 0, b'0'));
    }
    same.extend_from_slice(&end);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&same).unwrap();
    cases.push((
        "one path 200k times",
        archive_of("same.tar", gz.finish().unwrap()),
        0,
    ));
    // A gzip bomb: 1 GiB of zeros (an empty tar and its padding) in 1 MB.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        gz.write_all(&zeros).unwrap();
    }
    cases.push((
        "1 GiB gzip bomb",
        archive_of("bomb.tar", gz.finish().unwrap()),
        0,
    ));
    // Nested OCI indexes that lead to no image (index.json → index → empty index). A
    // true cycle cannot be written with content digests; depth and emptiness can.
    let oci = dir.path().join("cycle");
    std::fs::create_dir_all(oci.join("blobs/sha256")).unwrap();
    std::fs::write(oci.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let inner = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
    let inner_digest = common::sha256_hex(inner);
    let outer = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:{inner_digest}","size":{}}}]}}"#,
        inner.len()
    );
    let outer_digest = common::sha256_hex(outer.as_bytes());
    let looping = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:{outer_digest}","size":{}}}]}}"#,
        outer.len()
    );
    std::fs::write(oci.join("blobs/sha256").join(&inner_digest), inner).unwrap();
    std::fs::write(oci.join("blobs/sha256").join(&outer_digest), &outer).unwrap();
    std::fs::write(oci.join("index.json"), &looping).unwrap();
    cases.push(("index without images", oci, 2));
    // Special and empty inputs.
    let empty = dir.path().join("empty.tar");
    std::fs::write(&empty, b"").unwrap();
    cases.push(("0-byte file", empty, 2));
    cases.push(("/dev/null", "/dev/null".into(), 2));
    cases.push(("/dev/zero", "/dev/zero".into(), 2));
    for (what, p, want) in cases {
        let t = Instant::now();
        let (code, out, err) = run_with_memory_limit(&["report", p.to_str().unwrap()], 256 << 20);
        assert_eq!(code, want, "{what}: {out}{err}");
        if want == 2 {
            assert_eq!(err.trim().lines().count(), 1, "{what}: {err}");
            assert!(out.is_empty(), "{what}: {out}");
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "{what} took {:?}",
            t.elapsed()
        );
    }
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
