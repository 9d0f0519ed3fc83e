//! Bad input: one clear line on stderr, exit code 2, never a panic, never a partial
//! report that looks complete.

use layerlens::fixture::{Compression, FEntry, FImage, FLayer, Format, write_image};
use std::path::Path;
use std::process::Command;

fn image() -> FImage {
    FImage::new(
        "bad:1",
        vec![
            FLayer::new(
                "ADD base",
                vec![
                    FEntry::dir("etc"),
                    FEntry::file("etc/big", vec![b'x'; 200_000]),
                ],
            ),
            FLayer::new(
                "RUN more",
                vec![
                    FEntry::dir("opt"),
                    FEntry::file("opt/data", vec![b'y'; 300_000]),
                ],
            ),
        ],
    )
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_layerlens"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Exit 2, nothing on stdout, exactly one stderr line containing every `needles`.
fn assert_clean_failure(args: &[&str], needles: &[&str]) {
    let (code, stdout, stderr) = run(args);
    assert_eq!(code, 2, "args {args:?}: stderr {stderr}");
    assert!(stdout.is_empty(), "partial output on stdout: {stdout}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "not one line: {stderr:?}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    for n in needles {
        assert!(
            stderr.to_lowercase().contains(&n.to_lowercase()),
            "{stderr:?} lacks {n:?}"
        );
    }
}

fn write(format: Format, comp: Compression, dir: &Path) -> std::path::PathBuf {
    let p = if format == Format::OciDir {
        dir.join("layout")
    } else {
        dir.join("img.tar")
    };
    write_image(&image(), format, comp, &p).unwrap();
    p
}

#[test]
fn truncated_archives_fail_cleanly() {
    for (format, comp) in [
        (Format::DockerLegacy, Compression::None),
        (Format::Docker25, Compression::Gzip),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let p = write(format, comp, dir.path());
        let full = std::fs::read(&p).unwrap();
        // Cut inside a layer, and cut at a 512-byte block boundary before the end.
        for cut in [full.len() / 2, (full.len() / 512 - 4) * 512] {
            std::fs::write(&p, &full[..cut]).unwrap();
            let ps = p.to_str().unwrap();
            assert_clean_failure(&["report", "--format", "json", ps], &[]);
            assert_clean_failure(&["files", ps], &[]);
        }
    }
}

#[test]
fn corrupt_compressed_layer_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(Format::OciDir, Compression::Gzip, dir.path());
    // Flip bytes in the middle of the biggest blob (a gzip layer).
    let blobs = p.join("blobs/sha256");
    let biggest = std::fs::read_dir(&blobs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let mut b = std::fs::read(&biggest).unwrap();
    let mid = b.len() / 2;
    for x in &mut b[mid..mid + 64] {
        *x ^= 0x5a;
    }
    std::fs::write(&biggest, b).unwrap();
    assert_clean_failure(&["report", p.to_str().unwrap()], &["layer"]);
}

#[test]
fn missing_blob_in_layout_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(Format::OciDir, Compression::Zstd, dir.path());
    let blobs = p.join("blobs/sha256");
    let biggest = std::fs::read_dir(&blobs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    std::fs::remove_file(&biggest).unwrap();
    let name = biggest.file_name().unwrap().to_str().unwrap().to_string();
    assert_clean_failure(
        &["report", &format!("oci:{}", p.display())],
        &["missing", &name[..12]],
    );
}

#[test]
fn not_an_archive_and_missing_paths() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.tar");
    std::fs::write(&junk, b"this is not a tar file at all, just some text\n").unwrap();
    assert_clean_failure(&["report", junk.to_str().unwrap()], &[]);
    let empty = dir.path().join("empty.tar");
    std::fs::write(&empty, b"").unwrap();
    assert_clean_failure(&["report", empty.to_str().unwrap()], &[]);
    assert_clean_failure(
        &["report", "docker-archive:/nonexistent/x.tar"],
        &["/nonexistent/x.tar"],
    );
    assert_clean_failure(
        &["report", "oci:/nonexistent/layout"],
        &["/nonexistent/layout"],
    );
    // A directory that is not a layout.
    assert_clean_failure(
        &["report", &format!("oci:{}", dir.path().display())],
        &["index.json"],
    );
}

#[test]
fn bad_usage_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(Format::DockerLegacy, Compression::None, dir.path());
    let ps = p.to_str().unwrap();
    assert_clean_failure(&["files", ps, "--layer", "9"], &["--layer 9"]);
    assert_clean_failure(&["ci", ps, "--highest-wasted-bytes", "lots"], &["lots"]);
    assert_clean_failure(&["report", ps, "--platform", "linux"], &["platform"]);
    let (code, _, _) = run(&["report"]);
    assert_eq!(code, 2);
}

#[test]
fn stream_loading_matches_file_loading() {
    // The daemon path parses a docker-save stream in one pass: check it against the
    // seekable-file path on both archive formats.
    for (format, comp) in [
        (Format::DockerLegacy, Compression::None),
        (Format::Docker25, Compression::Zstd),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let p = write(format, comp, dir.path());
        let opts = layerlens::source::LoadOptions::default();
        let a = layerlens::source::load(
            &layerlens::source::ImageSource::DockerArchive(p.clone(), None),
            "x",
            &opts,
        )
        .unwrap();
        let b =
            layerlens::source::load_stream(std::fs::File::open(&p).unwrap(), "x", &opts).unwrap();
        assert_eq!(
            layerlens::report::files::merged(&a, 1),
            layerlens::report::files::merged(&b, 1)
        );
        assert_eq!(a.id, b.id);
        // Truncated stream: an error, not a partial image.
        let full = std::fs::read(&p).unwrap();
        let r = layerlens::source::load_stream(&full[..full.len() * 2 / 3], "x", &opts);
        assert!(r.is_err(), "{format:?}: truncated stream loaded");
    }
}

/// `report` groups reclaimable bytes by cause (the layer pair and the directory), one
/// line per cause instead of one per file.
#[test]
fn report_groups_reclaimable_bytes_by_cause() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cache.tar");
    let cache: Vec<FEntry> = (0..50)
        .map(|i| FEntry::file(&format!("root/.cache/pip/pkg{i}.whl"), vec![b'w'; 1000 + i]))
        .collect();
    write_image(
        &FImage::new(
            "cache:1",
            vec![
                FLayer::new("RUN pip install", cache),
                FLayer::new(
                    "RUN rm -rf /root/.cache",
                    vec![FEntry::whiteout("root/.cache")],
                ),
            ],
        ),
        Format::DockerLegacy,
        Compression::None,
        &p,
    )
    .unwrap();
    let (code, out, err) = run(&["report", p.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let section = out
        .split("Reclaimable bytes by cause")
        .nth(1)
        .unwrap_or_else(|| panic!("{out}"));
    let section = section.split("\n\n").next().unwrap();
    let total: u64 = (0..50u64).map(|i| 1000 + i).sum();
    assert!(
        section.contains(&format!(
            "{}  /root/.cache/pip/ (50 files)",
            layerlens::report::human(total)
        )),
        "{section}"
    );
    assert!(
        !section.contains("pkg7.whl"),
        "one line per file:\n{section}"
    );
    assert!(
        section.contains(
            "stored by layer 0 (RUN pip install), deleted by layer 1 (RUN rm -rf /root/.cache)"
        ),
        "{section}"
    );
}

#[test]
fn ci_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(Format::DockerLegacy, Compression::None, dir.path());
    let ps = p.to_str().unwrap();
    let (code, out, _) = run(&["ci", ps, "--lowest-efficiency", "0.5"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("PASS  lowest-efficiency"));
    let (code, out, _) = run(&["ci", ps, "--highest-reclaimable-bytes", "1"]);
    // Nothing is reclaimable in this image.
    assert_eq!(code, 0, "{out}");
    // An image that rewrites a file: efficiency below 1.
    let wasteful = dir.path().join("wasteful.tar");
    write_image(
        &FImage::new(
            "waste:1",
            vec![
                FLayer::new("ADD base", vec![FEntry::file("big", vec![b'x'; 100_000])]),
                FLayer::new("RUN again", vec![FEntry::file("big", vec![b'y'; 100_000])]),
            ],
        ),
        Format::DockerLegacy,
        Compression::None,
        &wasteful,
    )
    .unwrap();
    let ws = wasteful.to_str().unwrap();
    let (code, out, _) = run(&["ci", ws, "--lowest-efficiency", "0.99"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL  lowest-efficiency"));
    // A failure names its culprits: the layer that holds the hidden bytes, the cause,
    // and dive's inefficient files.
    let culprits = out
        .split("Culprits:")
        .nth(1)
        .unwrap_or_else(|| panic!("{out}"));
    assert!(culprits.contains("layer 0  ADD base"), "{out}");
    assert!(
        culprits.contains(
            "/big\n              stored by layer 0 (ADD base), replaced by layer 1 (RUN again)"
        ),
        "{out}"
    );
    assert!(culprits.contains("x2  /big"), "{out}");
    // A passing run has none.
    let (code, out, _) = run(&[
        "ci",
        ws,
        "--lowest-efficiency",
        "0.1",
        "--highest-user-wasted-percent",
        "disabled",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("Culprits"), "{out}");
    // Config file, dive format.
    let cfg = dir.path().join(".dive-ci");
    std::fs::write(
        &cfg,
        "rules:\n  lowestEfficiency: 0.99\n  highestUserWastedPercent: disabled\n",
    )
    .unwrap();
    let (code, out, _) = run(&["ci", ws, "--config", cfg.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("SKIP  highest-user-wasted-percent"));
}

/// `--platform` naming a platform the image does not have is an error that names the
/// platform it has, on every format (it used to be ignored silently).
#[test]
fn platform_the_image_does_not_have_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    for (i, format) in [
        Format::DockerLegacy,
        Format::Docker25,
        Format::OciArchive,
        Format::OciDir,
    ]
    .into_iter()
    .enumerate()
    {
        let sub = dir.path().join(i.to_string());
        std::fs::create_dir_all(&sub).unwrap();
        let p = write(format, Compression::Gzip, &sub);
        let arg = p.to_str().unwrap();
        assert_clean_failure(
            &["report", "--platform", "linux/s390x", arg],
            &["linux/s390x", "linux/amd64"],
        );
        let (code, _, err) = run(&["report", "--platform", "linux/amd64", arg]);
        assert_eq!(code, 0, "{format:?}: {err}");
    }
}

/// CI thresholds out of range are usage errors, and a bad value in a rules file names
/// the file and the key.
#[test]
fn ci_rejects_out_of_range_ratios_and_names_bad_config_keys() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(Format::DockerLegacy, Compression::None, dir.path());
    let arg = p.to_str().unwrap();
    assert_clean_failure(
        &["ci", arg, "--lowest-efficiency", "2"],
        &["between 0 and 1"],
    );
    assert_clean_failure(
        &["ci", arg, "--lowest-efficiency=-0.5"],
        &["between 0 and 1"],
    );
    assert_clean_failure(
        &["ci", arg, "--highest-user-wasted-percent=-1"],
        &["0 or more"],
    );
    let toml = dir.path().join("rules.toml");
    std::fs::write(&toml, "[rules]\nlowest-efficiency = \"abc\"\n").unwrap();
    assert_clean_failure(
        &["ci", arg, "--config", toml.to_str().unwrap()],
        &["rules.toml", "lowest-efficiency", "abc"],
    );
    let dive = dir.path().join(".dive-ci");
    std::fs::write(
        &dive,
        "rules:\n  lowestEfficiency: 0.9\n  highestWastedBytes: 20XB\n",
    )
    .unwrap();
    assert_clean_failure(
        &["ci", arg, "--config", dive.to_str().unwrap()],
        &[".dive-ci:3", "highestWastedBytes", "20XB"],
    );
}

/// The explorer checks what it can before taking over the terminal: a missing archive
/// is one line on stderr (not a full-screen error box), and a FIFO is refused instead
/// of blocking forever in `open`.
#[test]
fn explorer_and_report_refuse_missing_files_and_fifos_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.tar");
    assert_clean_failure(&[missing.to_str().unwrap()], &["missing.tar"]);
    let fifo = dir.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let f = fifo.to_str().unwrap();
    assert_clean_failure(&["report", f], &["not a regular file"]);
    assert_clean_failure(&[f], &["not a regular file"]);
    assert_clean_failure(
        &["report", &format!("docker-archive:{f}")],
        &["not a regular file"],
    );
}

/// `diff ARCHIVE :TAG` says that `:TAG` needs a daemon reference; the text diff prints
/// its net change in human sizes.
#[test]
fn diff_shorthand_needs_a_daemon_reference_and_sizes_are_human() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(Format::DockerLegacy, Compression::None, dir.path());
    let a = format!("docker-archive:{}", p.display());
    assert_clean_failure(
        &["diff", &a, ":2", "--format", "text"],
        &[":TAG", "daemon", "write B in full"],
    );
    let b = dir.path().join("b.tar");
    let mut img = image();
    img.layers.push(FLayer::new(
        "RUN big",
        vec![FEntry::file("opt/big", vec![b'z'; 1_048_577])],
    ));
    write_image(&img, Format::DockerLegacy, Compression::None, &b).unwrap();
    let (code, out, err) = run(&[
        "diff",
        &a,
        &format!("docker-archive:{}", b.display()),
        "--format",
        "text",
    ]);
    assert_eq!(code, 0, "{err}");
    let files = out.lines().find(|l| l.starts_with("Files:")).unwrap();
    assert!(files.contains("(+1.00 MiB net)"), "{files}");
}

/// Bytes from the input quoted in an error (here a tar size field holding an escape
/// sequence, a bell and a C1 control) reach the terminal escaped, never raw.
#[test]
fn control_bytes_from_the_input_are_escaped_in_errors() {
    let mut h = vec![0u8; 512];
    h[0] = b'a';
    h[100..108].copy_from_slice(b"0000644\0");
    h[124..136].copy_from_slice(b"\x1b[2J\x07\xc2\x9b1;1H\0");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h.extend_from_slice(&[0u8; 1024]);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("evil.tar");
    std::fs::write(&p, &h).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_layerlens"))
        .args(["report", p.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.chars().any(|c| c.is_control() && c != '\n'),
        "raw control characters on stderr: {err:?}"
    );
    assert!(err.contains("\\x1b[2J"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

/// An OCI layout that names its image by a bare tag is titled `PATH:TAG`, not `latest`;
/// a full name in the index (containerd's) is kept.
#[test]
fn oci_images_named_by_a_bare_tag_show_their_layout() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(Format::OciDir, Compression::Gzip, dir.path());
    let tags = |arg: &str| -> Vec<String> {
        let (code, out, err) = run(&["report", "--format", "json", arg]);
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["image"]["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(tags(p.to_str().unwrap()), vec!["bad:1".to_string()]);
    // As skopeo and umoci write it: only the ref name, a bare tag.
    let index = p.join("index.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&index).unwrap()).unwrap();
    v["manifests"][0]["annotations"] =
        serde_json::json!({"org.opencontainers.image.ref.name": "latest"});
    std::fs::write(&index, serde_json::to_vec(&v).unwrap()).unwrap();
    assert_eq!(
        tags(p.to_str().unwrap()),
        vec![format!("{}:latest", p.display())]
    );
}

/// The explorer's `--dockerfile` is read before the terminal is taken over: a missing
/// file is one line, exit 2.
#[test]
fn explorer_dockerfile_that_cannot_be_read() {
    let (code, out, err) = run(&["assets/sample.tar", "--dockerfile", "no/such/Dockerfile"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("no/such/Dockerfile"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// `triage` of an archive named with its transport (as the explorer passes it) has no
/// push target, and is not an error.
#[test]
fn triage_of_an_archive_reference() {
    let (code, out, err) = run(&["triage", "docker-archive:assets/sample.tar"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("no push target"), "{out}");
}

/// `triage --format sarif`: a secret planted and deleted later is an `error` result,
/// redacted (the key itself never appears), marked as still in the layer's blob.
#[test]
fn triage_sarif_reports_secrets_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("secret.tar");
    let key = "AKIAQWERTYUIOPASDFGH";
    write_image(
        &FImage::new(
            "secret:1",
            vec![
                FLayer::new(
                    "COPY creds",
                    vec![FEntry::file(
                        "root/.aws/credentials",
                        format!("[default]\naws_access_key_id = {key}\n").into_bytes(),
                    )],
                ),
                FLayer::new(
                    "RUN rm creds",
                    vec![FEntry::whiteout("root/.aws/credentials")],
                ),
            ],
        ),
        Format::DockerLegacy,
        Compression::None,
        &p,
    )
    .unwrap();
    let (code, out, err) = run(&["triage", p.to_str().unwrap(), "--format", "sarif"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains(key), "the secret itself was printed");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let run = &v["runs"][0];
    assert_eq!(v["version"], "2.1.0");
    let secrets: Vec<&serde_json::Value> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ruleId"] == "secret")
        .collect();
    assert!(!secrets.is_empty(), "{out}");
    for s in &secrets {
        assert_eq!(s["level"], "error");
        assert_eq!(s["properties"]["visible"], false);
        assert!(
            s["message"]["text"]
                .as_str()
                .unwrap()
                .contains("still in this layer's blob")
        );
        let idx = s["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(run["tool"]["driver"]["rules"][idx]["id"], "secret");
    }
}
