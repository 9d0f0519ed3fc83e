//! `--dockerfile`: history entries mapped to Dockerfile lines, on images the daemon built
//! (legacy builder: BuildKit needs the buildx plugin, which this Docker 20.10 setup lacks),
//! the same images read from `docker save` archives, and BuildKit history from a fixture.

#[macro_use]
mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/dockerfile")
        .join(name)
}

/// 1-based line of the first line of `text` that starts with `prefix`.
fn line_of(text: &str, prefix: &str) -> usize {
    text.lines()
        .position(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starts with {prefix:?}"))
        + 1
}

/// `docker build` (classic builder) with build args, in a context holding `files`.
fn build_with_args(tag: &str, dockerfile: &Path, files: &[(&str, &[u8])], args: &[&str]) {
    let extra: Vec<String> = args.iter().map(|a| format!("--build-arg={a}")).collect();
    let extra: Vec<&str> = extra.iter().map(|s| s.as_str()).collect();
    build_raw(tag, dockerfile, files, &extra);
}

/// `docker build` (classic builder) with extra arguments.
fn build_raw(tag: &str, dockerfile: &Path, files: &[(&str, &[u8])], args: &[&str]) {
    base_image();
    let repo = tag.rsplit_once(':').map_or(tag, |(r, _)| r);
    let _l = lock(&format!("build-{repo}"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(dockerfile, dir.path().join("Dockerfile")).unwrap();
    for (name, data) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, data).unwrap();
    }
    let mut cmd = Command::new("docker");
    cmd.args(["build", "--force-rm", "--network", "none", "-t", tag]);
    cmd.args(args);
    cmd.arg(dir.path()).env("DOCKER_BUILDKIT", "0");
    let out = cmd.output().expect("running docker build");
    assert!(
        out.status.success(),
        "docker build failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Per layer and per empty-layer instruction: (created_by, line or None, base flag).
fn mapping(report: &Value) -> Vec<(String, Option<u64>, bool)> {
    let mut out = Vec::new();
    for l in report["layers"].as_array().unwrap() {
        out.push((
            l["created_by"].as_str().unwrap().to_string(),
            l["dockerfile"]["line"].as_u64(),
            l["base"].as_bool().unwrap_or(false),
        ));
        for i in l["instructions"].as_array().unwrap() {
            out.push((
                i["created_by"].as_str().unwrap().to_string(),
                i["dockerfile"]["line"].as_u64(),
                i["base"].as_bool().unwrap_or(false),
            ));
        }
    }
    out
}

fn run_ok(args: &[&str]) -> (String, String) {
    let out = layerlens(args);
    assert_no_panic(args, &out);
    assert!(out.status.success(), "{}", describe_output(args, &out));
    (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn multistage_legacy_build_maps_every_entry_daemon_and_archive() {
    require_docker!();
    let df = fixture("multistage.Dockerfile");
    let text = std::fs::read_to_string(&df).unwrap();
    let tag = "layerlens-test/df-multistage:v7";
    build_with_args(
        tag,
        &df,
        &[("files/a.txt", b"a\n"), ("files/sub/b.txt", b"b\n")],
        &["V=7", "GREETING=hi"],
    );
    let dfp = df.to_str().unwrap();
    let args = ["report", tag, "--format", "json", "--dockerfile", dfp];
    let (stdout, stderr) = run_ok(&args);
    assert!(!stderr.contains("warning"), "unexpected warnings: {stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let got = mapping(&report);
    // Expected: the base's entries are base; then the final stage, line by line.
    let expected_lines: Vec<usize> = [
        "ARG V=1",
        "ENV APP=",
        "workdir $APP",
        "COPY --from=build",
        "COPY --from=0",
        "COPY files/",
        "RUN echo",
        "ONBUILD",
        "LABEL",
        "CMD",
    ]
    .iter()
    .map(|p| line_of(&text, p))
    .collect();
    let base_entries = got.len() - expected_lines.len();
    assert!(base_entries >= 1, "{got:#?}");
    for (k, (cmd, line, base)) in got.iter().enumerate() {
        if k < base_entries {
            assert!(
                *base && line.is_none(),
                "entry {k} ({cmd}) should be base: {got:#?}"
            );
        } else {
            assert_eq!(
                *line,
                Some(expected_lines[k - base_entries] as u64),
                "entry {k} ({cmd}): {got:#?}"
            );
            assert!(!base);
        }
    }
    // The object carries path, end line and stage.
    let layers = report["layers"].as_array().unwrap();
    let run = layers
        .iter()
        .find(|l| l["dockerfile"]["line"] == line_of(&text, "RUN echo") as u64)
        .expect("the RUN layer");
    assert_eq!(run["dockerfile"]["path"], dfp);
    assert_eq!(run["dockerfile"]["end_line"], run["dockerfile"]["line"]);
    assert_eq!(run["dockerfile"]["stage"], "2");
    // The build args given on the command line were substituted (`|1 V=7` in history).
    assert!(run["created_by"].as_str().unwrap().contains("V=7"));

    // The text report shows the line beside each layer.
    let (txt, _) = run_ok(&["report", tag, "--dockerfile", dfp]);
    assert!(
        txt.contains(&format!(
            "multistage.Dockerfile:{}",
            line_of(&text, "RUN echo")
        )),
        "{txt}"
    );
    assert!(txt.contains("base"), "{txt}");

    // The same image from a `docker save` archive maps the same way.
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("img.tar");
    save_image(tag, &archive);
    let (stdout2, _) = run_ok(&[
        "report",
        archive.to_str().unwrap(),
        "--format",
        "json",
        "--dockerfile",
        dfp,
    ]);
    let report2: Value = serde_json::from_str(&stdout2).unwrap();
    assert_eq!(mapping(&report2), got);
}

#[test]
fn backtick_escape_and_stage_chain_map() {
    require_docker!();
    let df = fixture("backtick.Dockerfile");
    let text = std::fs::read_to_string(&df).unwrap();
    let tag = "layerlens-test/df-backtick:1";
    build_with_args(tag, &df, &[], &[]);
    let report = layerlens_json(&[
        "report",
        tag,
        "--format",
        "json",
        "--dockerfile",
        df.to_str().unwrap(),
    ]);
    let got = mapping(&report);
    // FROM builder: the builder stage's instructions come first, then the final ones.
    // The builder's ONBUILD is recorded in its stage, and its trigger runs first in the
    // stage built FROM it: both map to the ONBUILD line.
    let expected: Vec<usize> = [
        "ENV DIR",
        "RUN mkdir",
        "ONBUILD",
        "ONBUILD",
        "RUN echo done",
        "USER",
        "ENTRYPOINT",
    ]
    .iter()
    .map(|p| line_of(&text, p))
    .collect();
    let n = got.len();
    let tail: Vec<Option<u64>> = got[n - expected.len()..].iter().map(|g| g.1).collect();
    assert_eq!(
        tail,
        expected.iter().map(|&l| Some(l as u64)).collect::<Vec<_>>(),
        "{got:#?}"
    );
    assert!(got[..n - expected.len()].iter().all(|g| g.2), "{got:#?}");
    // A multi-line RUN reports its last line too.
    let l = report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["dockerfile"]["line"] == line_of(&text, "RUN echo done") as u64)
        .unwrap();
    assert_eq!(
        l["dockerfile"]["end_line"],
        line_of(&text, "    > /b/done.txt") as u64
    );
    assert_eq!(l["dockerfile"]["stage"], "1");
}

#[test]
fn an_edited_dockerfile_maps_only_what_still_matches() {
    require_docker!();
    let df = fixture("backtick.Dockerfile");
    let text = std::fs::read_to_string(&df).unwrap();
    let tag = "layerlens-test/df-backtick:1";
    build_with_args(tag, &df, &[], &[]);
    let dir = tempfile::tempdir().unwrap();
    let edited = dir.path().join("Dockerfile");
    std::fs::write(&edited, text.replace("USER 1000", "USER 2000")).unwrap();
    let args = [
        "report",
        tag,
        "--format",
        "json",
        "--dockerfile",
        edited.to_str().unwrap(),
    ];
    let (stdout, stderr) = run_ok(&args);
    let user = line_of(&text, "USER");
    assert!(
        stderr.contains(&format!("does not match the image from line {user} on")),
        "{stderr}"
    );
    let got = mapping(&serde_json::from_str(&stdout).unwrap());
    let n = got.len();
    // ENTRYPOINT (above the edit) still maps; USER and everything below does not.
    assert_eq!(got[n - 1].1, Some(line_of(&text, "ENTRYPOINT") as u64));
    assert!(
        got[..n - 1].iter().all(|g| g.1.is_none() && !g.2),
        "{got:#?}"
    );

    // A syntax error elsewhere (a stage the image does not use) is a warning with its
    // line; the final stage still maps.
    let broken = dir.path().join("Dockerfile.broken");
    let with_error = format!("FROM scratch AS unused\nFROOM nonsense\n{text}");
    std::fs::write(&broken, &with_error).unwrap();
    let (stdout, stderr) = run_ok(&[
        "report",
        tag,
        "--format",
        "json",
        "--dockerfile",
        broken.to_str().unwrap(),
    ]);
    assert!(stderr.contains("line 2: syntax error"), "{stderr}");
    let got = mapping(&serde_json::from_str(&stdout).unwrap());
    assert_eq!(
        got.last().unwrap().1,
        Some(line_of(&with_error, "ENTRYPOINT") as u64)
    );
}

#[test]
fn a_missing_dockerfile_is_one_line_and_exit_2() {
    let sample = layerlens::cli::sample_path();
    for cmd in ["report", "advise"] {
        let args = [
            cmd,
            sample.to_str().unwrap(),
            "--dockerfile",
            "/nonexistent/Dockerfile",
        ];
        let out = layerlens(&args);
        assert_no_panic(&args, &out);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}",
            describe_output(&args, &out)
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains("/nonexistent/Dockerfile"), "{err}");
    }
}

/// A docker-archive whose config carries `history` (one layer per non-empty entry).
fn archive_with_history(history: &[Value]) -> Vec<u8> {
    let n = history
        .iter()
        .filter(|h| !h["empty_layer"].as_bool().unwrap_or(false))
        .count();
    let layers: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            LayerBuilder::new()
                .file(&format!("layer{i}.txt"), format!("{i}\n").as_bytes(), 0o644)
                .finish()
        })
        .collect();
    let diff_ids: Vec<String> = layers
        .iter()
        .map(|l| format!("sha256:{}", sha256_hex(l)))
        .collect();
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["./app"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    });
    let config = serde_json::to_vec(&config).unwrap();
    let hex = sha256_hex(&config);
    let mut b = LayerBuilder::new();
    let mut paths = Vec::new();
    for l in &layers {
        let d = sha256_hex(l);
        b = b.dir(&d, 0o755).file(&format!("{d}/layer.tar"), l, 0o644);
        paths.push(format!("{d}/layer.tar"));
    }
    let manifest = serde_json::json!([{"Config": format!("{hex}.json"), "RepoTags": ["bk:1"], "Layers": paths}]);
    b.file(&format!("{hex}.json"), &config, 0o644)
        .file(
            "manifest.json",
            &serde_json::to_vec(&manifest).unwrap(),
            0o644,
        )
        .finish()
}

#[test]
fn buildkit_history_from_a_fixture_maps_heredocs_flags_and_stages() {
    let df = fixture("buildkit.Dockerfile");
    let text = std::fs::read_to_string(&df).unwrap();
    let hist: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("buildkit-history.json")).unwrap())
            .unwrap();
    let history = hist["history"].as_array().unwrap().clone();
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("bk.tar");
    std::fs::write(&archive, archive_with_history(&history)).unwrap();
    let args = [
        "report",
        archive.to_str().unwrap(),
        "--format",
        "json",
        "--dockerfile",
        df.to_str().unwrap(),
    ];
    let (stdout, stderr) = run_ok(&args);
    assert!(!stderr.contains("warning"), "{stderr}");
    let got = mapping(&serde_json::from_str(&stdout).unwrap());
    assert_eq!(got.len(), history.len());
    let expected: Vec<Option<u64>> = [
        None,
        None,
        Some("WORKDIR"),
        Some("ENV MODE"),
        Some("WORKDIR src"),
        Some("COPY --link"),
        Some("COPY . ."),
        Some("RUN echo \"$MODE"),
        Some("ARG REV"),
        Some("RUN echo \"${REV}"),
        Some("LABEL"),
        Some("RUN --mount=type=bind"),
        Some("EXPOSE"),
        Some("CMD"),
    ]
    .iter()
    .map(|p| p.map(|p| line_of(&text, p) as u64))
    .collect();
    assert_eq!(
        got.iter().map(|g| g.1).collect::<Vec<_>>(),
        expected,
        "{got:#?}"
    );
    assert!(got[0].2 && got[1].2, "the busybox entries are base");
}

#[test]
fn build_uses_its_dockerfile_and_diff_takes_one() {
    require_docker!();
    let base = base_image();
    let _l = lock("build-layerlens-test/df-build-cmd");
    let dir = tempfile::tempdir().unwrap();
    let dockerfile = format!(
        "FROM {base}\nCOPY deps.txt /app/deps.txt\nRUN cat /app/deps.txt > /app/installed\nCOPY main.sh /app/main.sh\nCMD [\"sh\", \"/app/main.sh\"]\n"
    );
    // A Dockerfile under another name, given with -f: the build must read it, not ./Dockerfile.
    std::fs::write(dir.path().join("app.Dockerfile"), &dockerfile).unwrap();
    std::fs::write(dir.path().join("deps.txt"), "dep==1\n").unwrap();
    let stamp = format!("{:?}", std::time::SystemTime::now());
    std::fs::write(dir.path().join("main.sh"), format!("echo {stamp}\n")).unwrap();
    let tag = "layerlens-test/df-build-cmd:dev";
    let args = [
        "build",
        "--format",
        "json",
        "-q",
        "--network",
        "none",
        "-f",
        "app.Dockerfile",
        "-t",
        tag,
        ".",
    ];
    let run = |args: &[&str]| {
        let out = Command::new(layerlens_bin())
            .args(args)
            .current_dir(dir.path())
            .env("DOCKER_BUILDKIT", "0")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    run(&args);
    let old_id = image_id(tag);
    std::fs::write(dir.path().join("main.sh"), format!("echo {stamp} again\n")).unwrap();
    let second = run(&args);
    let v: Value = serde_json::from_slice(&second.stdout).unwrap();
    let copy_main = line_of(&dockerfile, "COPY main.sh") as u64;
    assert_eq!(v["dockerfile"]["path"], "app.Dockerfile", "{v:#}");
    assert_eq!(v["dockerfile"]["bust_point"]["line"], copy_main, "{v:#}");
    let layers = v["dockerfile"]["layers"].as_array().unwrap();
    assert!(layers[0].is_null(), "the base layer has no line");
    assert_eq!(layers.last().unwrap()["line"], copy_main);

    // `diff --dockerfile` says the same in text.
    let df = dir.path().join("app.Dockerfile");
    let (txt, _) = run_ok(&[
        "diff",
        &old_id,
        tag,
        "--format",
        "text",
        "--dockerfile",
        df.to_str().unwrap(),
    ]);
    assert!(
        txt.contains(&format!("Cache busted at {}:{copy_main}", df.display())),
        "{txt}"
    );
}

#[test]
fn every_instruction_kind_maps_with_a_custom_shell_and_base_variables() {
    require_docker!();
    let df = fixture("every-instruction.Dockerfile");
    let text = std::fs::read_to_string(&df).unwrap();
    let tag = "layerlens-test/df-every:1";
    let data = LayerBuilder::new().file("d/x", b"x\n", 0o644).finish();
    build_with_args(
        tag,
        &df,
        &[("conf file.txt", b"hi\n"), ("data.tar", &data)],
        &[],
    );
    let args = [
        "report",
        tag,
        "--format",
        "json",
        "--dockerfile",
        df.to_str().unwrap(),
    ];
    let (stdout, stderr) = run_ok(&args);
    assert!(!stderr.contains("warning"), "{stderr}");
    let got = mapping(&serde_json::from_str(&stdout).unwrap());
    // Every line after FROM, in order (`$PATH` comes from the base image; SHELL changes
    // the prefix of every later history entry; HEALTHCHECK and EXPOSE print Go values).
    let expected: Vec<Option<u64>> = (2..=text.lines().count() as u64).map(Some).collect();
    let lines: Vec<Option<u64>> = got.iter().map(|g| g.1).collect();
    assert_eq!(
        lines[lines.len() - expected.len()..],
        expected[..],
        "{got:#?}"
    );
    assert!(got[..got.len() - expected.len()].iter().all(|g| g.2));
}

#[test]
fn the_dockerfile_of_a_build_command_line_and_the_explorer_flag() {
    use layerlens::cli::{Cli, build_dockerfile};
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        build_dockerfile(&v(&["-t", "x", "."])),
        Some(PathBuf::from("./Dockerfile"))
    );
    assert_eq!(
        build_dockerfile(&v(&["-t", "x", "ctx"])),
        Some(PathBuf::from("ctx/Dockerfile"))
    );
    assert_eq!(
        build_dockerfile(&v(&["-f", "d/app.Dockerfile", "ctx"])),
        Some(PathBuf::from("d/app.Dockerfile"))
    );
    assert_eq!(
        build_dockerfile(&v(&["--file=F", "."])),
        Some(PathBuf::from("F"))
    );
    assert_eq!(
        build_dockerfile(&v(&["-fF", "."])),
        Some(PathBuf::from("F"))
    );
    assert_eq!(
        build_dockerfile(&v(&["-t", "x", "-"])),
        None,
        "Dockerfile on stdin"
    );
    assert_eq!(build_dockerfile(&v(&["-f", "-", "."])), None);
    use clap::Parser;
    let cli =
        Cli::try_parse_from(["layerlens", "--dockerfile", "app/Dockerfile", "img:1"]).unwrap();
    assert_eq!(cli.dockerfile, Some(PathBuf::from("app/Dockerfile")));
    assert_eq!(cli.image.as_deref(), Some("img:1"));
}

#[test]
fn labels_added_by_docker_build_label_stay_unmapped() {
    require_docker!();
    let dir = tempfile::tempdir().unwrap();
    let df = dir.path().join("Dockerfile");
    let text = "FROM layerlens-test/busybox:base\nRUN echo hi > /hi\nCMD [\"sh\"]\n";
    std::fs::write(&df, text).unwrap();
    let tag = "layerlens-test/df-label:1";
    build_raw(tag, &df, &[], &["--label", "org.example.built-by=ci"]);
    let (stdout, stderr) = run_ok(&[
        "report",
        tag,
        "--format",
        "json",
        "--dockerfile",
        df.to_str().unwrap(),
    ]);
    assert!(!stderr.contains("warning"), "{stderr}");
    let got = mapping(&serde_json::from_str(&stdout).unwrap());
    let n = got.len();
    assert!(got[n - 1].0.contains("LABEL org.example.built-by=ci") && got[n - 1].1.is_none());
    assert_eq!(got[n - 2].1, Some(3));
    assert_eq!(got[n - 3].1, Some(2));
}
