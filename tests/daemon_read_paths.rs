//! The two ways of reading a daemon image (`--daemon-read storage|export|auto`) beyond
//! the ground truth (which `ground_truth_daemon` and `diff_daemon` check on both):
//! - previews read a file's bytes from the layer store's driver directory, and on the
//!   export path from the export kept in an anonymous temporary file (no second export);
//! - the kept export is gone when the process ends (nothing is left in `$TMPDIR`);
//! - `auto` falls back to the export when a layer of the store cannot be read, and
//!   `storage` then fails with one clear line;
//! - Docker's directories are only read: their listing and modification times are the
//!   same after layerlens has read them.

#[macro_use]
mod common;

use common::*;
use layerlens::source::{self, DaemonRead, ImageSource, LoadOptions};
use std::path::{Path, PathBuf};

const TAG: &str = "layerlens-test/read-paths:1";

fn build() -> String {
    build_as(TAG)
}

/// The same image under another tag (a reference no other test has loaded).
fn build_as(tag: &str) -> String {
    build_image(
        tag,
        "FROM layerlens-test/busybox:base\n\
         RUN mkdir -p /app && echo 'hello from the layer store' > /app/greeting.txt && ln /app/greeting.txt /app/hard\n\
         RUN echo second > /app/second.txt && rm /app/hard\n",
        &[],
    )
}

/// (data root, storage driver) as `docker info` says.
fn docker_root() -> (PathBuf, String) {
    let out = docker(&["info", "--format", "{{.DockerRootDir}} {{.Driver}}"]);
    let (root, driver) = out.trim().split_once(' ').expect("root and driver");
    (PathBuf::from(root), driver.to_string())
}

/// The read mode is process-wide: loads of this test binary take turns.
static MODE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn load(tag: &str, mode: DaemonRead) -> layerlens::model::Image {
    let _turn = MODE.lock().unwrap_or_else(|e| e.into_inner());
    source::set_daemon_read(mode);
    // As the explorer loads: keeping the export for previews.
    let opts = LoadOptions {
        keep_export: true,
        ..Default::default()
    };
    source::load(&ImageSource::Daemon(tag.to_string()), tag, &opts)
        .unwrap_or_else(|e| panic!("loading {tag} with {mode:?}: {e}"))
}

/// The bytes of `/path` as the explorer's preview reads them.
fn preview(img: &layerlens::model::Image, path: &str) -> Vec<u8> {
    let tree = &img.tree;
    let node = tree
        .lookup_path(path.trim_start_matches('/').as_bytes())
        .unwrap_or_else(|| panic!("{path} not in the tree"));
    let top = img.layers.len() - 1;
    let (layer, stored) = tree.content_location(node, top).expect("a file");
    source::read::read_head(
        &ImageSource::Daemon(img.reference.clone()),
        &img.layers[layer].blob,
        &stored,
        1 << 16,
    )
    .unwrap_or_else(|e| panic!("preview of {path}: {e}"))
}

#[test]
fn previews_read_the_store_and_the_kept_export() {
    require_docker!();
    let tag = build();
    let img = load(&tag, DaemonRead::Storage);
    assert!(
        img.loaded_via.starts_with("layer store"),
        "{}",
        img.loaded_via
    );
    assert!(
        img.layers[1].blob.starts_with("docker-store:"),
        "{}",
        img.layers[1].blob
    );
    assert_eq!(
        preview(&img, "/app/greeting.txt"),
        b"hello from the layer store\n"
    );
    assert_eq!(preview(&img, "/app/second.txt"), b"second\n");

    // Export path: the load keeps the export; the preview reads it, and a second load
    // of the same image within the process reads it too (no second export).
    let img = load(&tag, DaemonRead::Export);
    assert_eq!(img.loaded_via, "docker save export");
    assert!(
        source::spool::lookup(&tag).is_some(),
        "the export was not kept"
    );
    assert_eq!(
        preview(&img, "/app/greeting.txt"),
        b"hello from the layer store\n"
    );
    let again = load(&tag, DaemonRead::Export);
    assert_eq!(again.loaded_via, "docker save export, kept from earlier");
    assert_eq!(again.id, img.id);
    assert_eq!(preview(&again, "/app/second.txt"), b"second\n");
}

#[test]
fn the_kept_export_is_gone_after_exit() {
    require_docker!();
    let tag = build();
    let tmp = tempfile::tempdir().unwrap();
    let tmp_s = tmp.path().to_str().unwrap();
    let args = ["report", "--daemon-read", "export", &tag];
    // A one-shot command keeps no export unless told to (the explorer does).
    let out = layerlens_env(&args, &[("TMPDIR", tmp_s), ("LAYERLENS_TIMINGS", "1")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("export spooled"), "{err}");
    let out = layerlens_env(
        &args,
        &[
            ("TMPDIR", tmp_s),
            ("LAYERLENS_TIMINGS", "1"),
            ("LAYERLENS_KEEP_EXPORT", "1"),
        ],
    );
    assert!(out.status.success(), "{}", describe_output(&args, &out));
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.starts_with("export spooled:"))
        .unwrap_or_else(|| panic!("no spool line:\n{err}"));
    let bytes: u64 = line
        .trim_start_matches("export spooled: ")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(bytes > 1_000_000, "{line}");
    assert!(line.ends_with("kept: true"), "{line}");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");
}

/// A copy of what the layer store holds for `tag` (config and layerdb entries), under a
/// new data root, so a test can break one piece without touching Docker's own files.
fn copy_store(tag: &str, dest: &Path) -> Vec<PathBuf> {
    let (root, driver) = docker_root();
    let id = image_id(tag);
    let hex = id.trim_start_matches("sha256:");
    let img_dir = root.join("image").join(&driver);
    let new_img = dest.join("image").join(&driver);
    let cfg_dir = new_img.join("imagedb/content/sha256");
    std::fs::create_dir_all(&cfg_dir).unwrap();
    std::fs::copy(
        img_dir.join("imagedb/content/sha256").join(hex),
        cfg_dir.join(hex),
    )
    .unwrap();
    let mut chain = String::new();
    let mut dirs = Vec::new();
    for (i, d) in diff_ids(tag).iter().enumerate() {
        chain = if i == 0 {
            d.clone()
        } else {
            let mut h = sha2::Sha256::new();
            use sha2::Digest;
            h.update(format!("{chain} {d}").as_bytes());
            format!("sha256:{}", hex::encode(h.finalize()))
        };
        let c = chain.trim_start_matches("sha256:");
        let from = img_dir.join("layerdb/sha256").join(c);
        let to = new_img.join("layerdb/sha256").join(c);
        std::fs::create_dir_all(&to).unwrap();
        for f in ["diff", "cache-id", "tar-split.json.gz"] {
            std::fs::copy(from.join(f), to.join(f))
                .unwrap_or_else(|e| panic!("{}: {e}", from.join(f).display()));
        }
        dirs.push(to);
    }
    dirs
}

#[test]
fn auto_falls_back_to_the_export_when_a_layer_is_unreadable() {
    require_docker!();
    let tag = build();
    let root = tempfile::tempdir().unwrap();
    let dirs = copy_store(&tag, root.path());
    let root_s = root.path().to_str().unwrap();
    let env = [("LAYERLENS_DOCKER_ROOT", root_s)];
    // The copy is a faithful store: storage reads it and agrees with the export.
    let files = |mode: &str, env: &[(&str, &str)]| {
        let args = ["files", "--format", "json", "--daemon-read", mode, TAG];
        let out = layerlens_env(&args, env);
        (
            out.status.code(),
            out.stdout,
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, reference, _) = files("export", &[]);
    assert_eq!(code, Some(0));
    let (code, via_copy, err) = files("storage", &env);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(via_copy, reference);

    // Break the top layer's record: auto still answers (through the export), storage
    // says what is wrong in one line.
    let top = dirs.last().unwrap().join("tar-split.json.gz");
    std::fs::write(&top, b"this is not gzip").unwrap();
    let (code, via_auto, err) = files("auto", &env);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(via_auto, reference);
    let (code, out, err) = files("storage", &env);
    assert_eq!(code, Some(2), "{err}");
    assert!(out.is_empty());
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("tar-split.json.gz"), "{err}");

    // A layer missing from the store: the same.
    std::fs::remove_dir_all(dirs.last().unwrap()).unwrap();
    let (code, via_auto, err) = files("auto", &env);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(via_auto, reference);
    let (code, _, err) = files("storage", &env);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--daemon-read storage"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

#[test]
fn storage_without_a_readable_store_is_one_clear_line() {
    require_docker!();
    let tag = build();
    let empty = tempfile::tempdir().unwrap();
    let args = ["report", "--daemon-read", "storage", &tag];
    let out = layerlens_env(
        &args,
        &[("LAYERLENS_DOCKER_ROOT", empty.path().to_str().unwrap())],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        describe_output(&args, &out)
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("--daemon-read storage"), "{err}");
    // auto: the export answers.
    let args = ["report", "--daemon-read", "auto", &tag];
    let out = layerlens_env(
        &args,
        &[("LAYERLENS_DOCKER_ROOT", empty.path().to_str().unwrap())],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        describe_output(&args, &out)
    );
}

/// Names, sizes and modification times of everything under `dir`.
fn snapshot(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(md) = e.path().symlink_metadata() else {
                continue;
            };
            out.push((e.path(), md.len(), md.modified().unwrap()));
            if md.is_dir() {
                stack.push(e.path());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_store_is_only_read() {
    require_docker!();
    let tag = build();
    let img = load(&tag, DaemonRead::Storage);
    let (root, driver) = docker_root();
    let layerdb = root.join("image").join(&driver).join("layerdb/sha256");
    let top = img
        .layers
        .last()
        .unwrap()
        .chain_id
        .trim_start_matches("sha256:")
        .to_string();
    let watched = layerdb.join(&top);
    let before = snapshot(&watched);
    assert!(!before.is_empty());
    let _ = load(&tag, DaemonRead::Storage);
    let _ = preview(&img, "/app/second.txt");
    assert_eq!(snapshot(&watched), before);
}

#[test]
fn export_path_shows_history_at_once_and_each_layer_as_it_streams() {
    require_docker!();
    let tag = build_as("layerlens-test/read-paths:streamed");
    let _turn = MODE.lock().unwrap_or_else(|e| e.into_inner());
    source::set_daemon_read(DaemonRead::Export);
    let mut events: Vec<String> = Vec::new();
    let fresh = format!("docker://{tag}");
    source::load_with(
        &ImageSource::parse(&fresh).unwrap(),
        &fresh,
        &LoadOptions::default(),
        &mut |ev| match ev {
            source::LoadEvent::Meta(m) => events.push(format!(
                "meta:{}",
                (0..m.layers.len())
                    .map(|i| if m.created_by(i).is_empty() { "?" } else { "h" })
                    .collect::<String>()
            )),
            source::LoadEvent::Layer(i, _) => events.push(format!("layer:{i}")),
        },
    )
    .unwrap();
    // The first description (inspect + history) already pairs every layer with its
    // instruction; the layers arrive before the config (the end of the export).
    assert_eq!(events[0], "meta:hhh", "{events:?}");
    let second_meta = events[1..]
        .iter()
        .position(|e| e.starts_with("meta"))
        .map(|p| p + 1)
        .expect("the config's description");
    let early: Vec<&String> = events[1..second_meta].iter().collect();
    assert_eq!(early.len(), 3, "layers before the config: {events:?}");
}
