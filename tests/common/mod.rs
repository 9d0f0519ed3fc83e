//! Helpers shared by the integration tests that run against a real Docker daemon.
//!
//! Use from a test file with:
//!
//! ```ignore
//! #[macro_use]
//! mod common;
//!
//! #[test]
//! fn something() {
//!     require_docker!();
//!     let tag = common::build_image("layerlens-test/x:1", "FROM layerlens-test/busybox:base\n", &[]);
//!     ...
//! }
//! ```
//!
//! Conventions:
//! - Every image a test builds is tagged `layerlens-test/...`; each distinct Dockerfile gets
//!   its own tag. Images are never removed: rebuilding identical inputs hits the cache, and
//!   other test binaries running at the same time may be using them.
//! - Containers are only ever *created* (never started) and are always removed again, also
//!   when the test panics (see [`Container`]).
//! - Without a daemon, tests return early printing "skipped: no docker daemon", unless
//!   `LAYERLENS_REQUIRE_DOCKER=1`, in which case they fail.
//!
//! What `docker export` adds (checked on Engine 20.10): the container's init layer puts
//! `/.dockerenv`, `/dev/` (with `console`, `pts/`, `shm/`), `/etc/hostname`, `/etc/hosts`,
//! `/etc/mtab -> /proc/mounts`, `/etc/resolv.conf`, `/proc/` and `/sys/` into every
//! container, creating `/etc`, `/dev`, `/proc`, `/sys` (0755 root) when the image lacks them.
//! An export alone cannot tell whether the image had those directories, so the rule used
//! here, on BOTH sides of every comparison, is:
//! - drop `/.dockerenv`, `/etc/hostname`, `/etc/hosts`, `/etc/resolv.conf`, `/etc/mtab`;
//! - drop `/dev`, `/proc`, `/sys` themselves and everything below them;
//! - drop `/etc` itself when nothing else remains below it (an image with an empty `/etc`
//!   and one without `/etc` therefore compare equal; the busybox base always has a populated
//!   `/etc`, whose attributes the export copies up from the image, so they are compared);
//! - drop `/` (the export has no entry for the root).
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// The base every test Dockerfile starts `FROM`.
pub const BASE_IMAGE: &str = "layerlens-test/busybox:base";
/// Bump when the base root filesystem below changes: an existing base image with another
/// value of this label is re-imported.
const BASE_VERSION: &str = "1";
/// Applets linked to /bin/busybox in the base image.
const APPLETS: &[&str] = &[
    "sh", "ls", "cat", "echo", "mkdir", "rm", "rmdir", "mv", "cp", "ln", "chmod", "chown", "touch",
    "dd", "head", "tail", "true", "false", "sed", "tar", "gzip", "find", "mkfifo", "mknod",
    "sleep", "printf", "test", "[", "stat", "id", "grep", "wc", "readlink", "env", "truncate",
    "sync", "xargs", "seq", "tr",
];

/// Time limit for one docker command (builds included).
const DOCKER_TIMEOUT: Duration = Duration::from_secs(300);
/// Time limit for one run of the layerlens binary.
const LAYERLENS_TIMEOUT: Duration = Duration::from_secs(180);

// ---------------------------------------------------------------------------------------
// Running commands
// ---------------------------------------------------------------------------------------

/// Run `cmd` with an optional stdin, killing it after `timeout`. `Err` when it could not be
/// spawned or timed out.
pub fn run_with_timeout(
    mut cmd: Command,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
) -> Result<Output, String> {
    let desc = format!("{cmd:?}");
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("cannot run {desc}: {e}"))?;
    let stdin_thread = stdin.map(|data| {
        let mut pipe = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&data);
        })
    });
    let mut out_pipe = child.stdout.take().unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let out_thread = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out_pipe.read_to_end(&mut v);
        v
    });
    let err_thread = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err_pipe.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(format!("waiting for {desc}: {e}")),
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{desc} timed out after {timeout:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if let Some(t) = stdin_thread {
        let _ = t.join();
    }
    let stdout = out_thread.join().unwrap_or_default();
    let stderr = err_thread.join().unwrap_or_default();
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

fn docker_cmd(args: &[&str]) -> Command {
    let mut c = Command::new("docker");
    c.args(args);
    c
}

/// Run `docker ARGS`; panic (with its output) unless it succeeds. Returns trimmed stdout.
pub fn docker(args: &[&str]) -> String {
    docker_stdin(args, None)
}

fn docker_stdin(args: &[&str], stdin: Option<Vec<u8>>) -> String {
    let out =
        run_with_timeout(docker_cmd(args), stdin, DOCKER_TIMEOUT).unwrap_or_else(|e| panic!("{e}"));
    if !out.status.success() {
        panic!(
            "docker {} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Run `docker ARGS`, returning whether it succeeded (output discarded).
pub fn docker_succeeds(args: &[&str]) -> bool {
    run_with_timeout(docker_cmd(args), None, DOCKER_TIMEOUT)
        .map(|o| o.status.success())
        .unwrap_or(false)
}

// ---------------------------------------------------------------------------------------
// Availability / skipping
// ---------------------------------------------------------------------------------------

/// `LAYERLENS_REQUIRE_DOCKER=1`: missing prerequisites fail the tests instead of skipping.
pub fn docker_required() -> bool {
    std::env::var("LAYERLENS_REQUIRE_DOCKER")
        .map(|v| v == "1")
        .unwrap_or(false)
}

/// Whether a Docker daemon answers (checked once per test binary).
pub fn docker_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        match run_with_timeout(
            docker_cmd(&["version", "--format", "{{.Server.Version}}"]),
            None,
            Duration::from_secs(30),
        ) {
            Ok(o) => o.status.success() && !o.stdout.trim_ascii().is_empty(),
            Err(_) => false,
        }
    })
}

/// For [`require_docker!`]: `true` when the test may go on; `false` (after printing
/// "skipped: no docker daemon") when it should return; panics when the daemon is missing
/// but required.
pub fn docker_ready_or_skip() -> bool {
    if docker_available() {
        return true;
    }
    if docker_required() {
        panic!("no docker daemon answers (`docker version` failed) and LAYERLENS_REQUIRE_DOCKER=1");
    }
    eprintln!("skipped: no docker daemon");
    false
}

/// First statement of every test that needs the daemon.
#[macro_export]
macro_rules! require_docker {
    () => {
        if !$crate::common::docker_ready_or_skip() {
            return;
        }
    };
}

/// Skip (or fail, under `LAYERLENS_REQUIRE_DOCKER=1`) when `program --version` does not run.
pub fn tool_ready_or_skip(program: &str) -> bool {
    let ok = run_with_timeout(
        {
            let mut c = Command::new(program);
            c.arg("--version");
            c
        },
        None,
        Duration::from_secs(60),
    )
    .map(|o| o.status.success())
    .unwrap_or(false);
    if ok {
        return true;
    }
    if docker_required() {
        panic!(
            "`{program}` is not installed (or `{program} --version` fails) and LAYERLENS_REQUIRE_DOCKER=1"
        );
    }
    eprintln!("skipped: {program} not installed");
    false
}

// ---------------------------------------------------------------------------------------
// Locks (tests in several test binaries may run at the same time)
// ---------------------------------------------------------------------------------------

/// An exclusive advisory lock on a file in the temp dir, held until dropped. Works between
/// threads of one process (each call opens its own file description) and between processes.
pub struct Lock(#[allow(unused)] File);

pub fn lock(name: &str) -> Lock {
    let dir = std::env::temp_dir().join("layerlens-test-locks");
    fs::create_dir_all(&dir).expect("creating lock dir");
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = dir.join(format!("{safe}.lock"));
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("opening {}: {e}", path.display()));
    f.lock()
        .unwrap_or_else(|e| panic!("locking {}: {e}", path.display()));
    Lock(f)
}

// ---------------------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------------------

pub fn image_exists(reference: &str) -> bool {
    docker_succeeds(&["image", "inspect", "--format", "{{.Id}}", reference])
}

/// "sha256:..." id of an image.
pub fn image_id(reference: &str) -> String {
    docker(&["image", "inspect", "--format", "{{.Id}}", reference])
}

/// RootFS.Layers (diff ids) of an image, bottom first.
pub fn diff_ids(reference: &str) -> Vec<String> {
    let out = docker(&[
        "image",
        "inspect",
        "--format",
        "{{json .RootFS.Layers}}",
        reference,
    ]);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("parsing RootFS.Layers {out:?}: {e}"))
}

/// Number of filesystem layers (so the top layer's 0-based index is `layer_count - 1`).
pub fn layer_count(reference: &str) -> usize {
    diff_ids(reference).len()
}

fn base_rootfs_tar() -> Vec<u8> {
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .map(Path::new)
        .find(|p| p.is_file())
        .expect("busybox-static is not installed (/bin/busybox missing): apt-get install busybox-static");
    let busybox = fs::read(busybox).expect("reading busybox");
    let mut b = LayerBuilder::new();
    for (dir, mode, owner) in [
        ("bin", 0o755, 0),
        ("sbin", 0o755, 0),
        ("usr", 0o755, 0),
        ("usr/bin", 0o755, 0),
        ("etc", 0o755, 0),
        ("tmp", 0o1777, 0),
        ("root", 0o700, 0),
        ("var", 0o755, 0),
        ("home", 0o755, 0),
        ("home/user", 0o755, 1000),
    ] {
        b = b.dir_owned(dir, mode, owner, owner);
    }
    b = b.file("bin/busybox", &busybox, 0o755);
    for applet in APPLETS {
        b = b.symlink(&format!("bin/{applet}"), "busybox");
    }
    b = b
        .file(
            "etc/passwd",
            b"root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n",
            0o644,
        )
        .file("etc/group", b"root:x:0:\nuser:x:1000:\n", 0o644);
    b.finish()
}

/// `layerlens-test/busybox:base`: busybox-static plus a few directories, `docker import`ed
/// once (per machine, and again only when [`BASE_VERSION`] changes). Safe to call from
/// many tests and processes at once.
pub fn base_image() -> String {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let _l = lock("base-image");
        let current = run_with_timeout(
            docker_cmd(&[
                "image",
                "inspect",
                "--format",
                "{{index .Config.Labels \"layerlens.test.base\"}}",
                BASE_IMAGE,
            ]),
            None,
            DOCKER_TIMEOUT,
        )
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        if current.as_deref() == Some(BASE_VERSION) {
            return;
        }
        let label = format!("LABEL layerlens.test.base={BASE_VERSION}");
        docker_stdin(
            &[
                "import",
                "--change",
                "CMD [\"/bin/sh\"]",
                "--change",
                &label,
                "-",
                BASE_IMAGE,
            ],
            Some(base_rootfs_tar()),
        );
        assert!(
            image_exists(BASE_IMAGE),
            "{BASE_IMAGE} missing right after docker import"
        );
    });
    BASE_IMAGE.to_string()
}

/// `docker build` (classic builder, offline) of `dockerfile` with the given context files
/// (relative paths, parent directories created, mode 0644), tagged `tag`. Identical inputs
/// hit the build cache, so calling this again (from any test or process) is cheap and gives
/// the same image. Builds the base image first.
pub fn build_image(tag: &str, dockerfile: &str, context_files: &[(&str, &[u8])]) -> String {
    base_image();
    // One lock per repository: builds of `repo:full` and `repo:uptoN` share their first
    // steps, and two concurrent cold builds would make two different images of them.
    let repo = tag.rsplit_once(':').map_or(tag, |(r, _)| r);
    let _l = lock(&format!("build-{repo}"));
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("Dockerfile"), dockerfile).expect("writing Dockerfile");
    for (name, data) in context_files {
        let p = dir.path().join(name);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).expect("creating context dir");
        }
        fs::write(&p, data).unwrap_or_else(|e| panic!("writing {}: {e}", p.display()));
    }
    let ctx = dir.path().to_str().expect("utf-8 temp dir");
    let mut cmd = docker_cmd(&["build", "--force-rm", "--network", "none", "-t", tag, ctx]);
    cmd.env("DOCKER_BUILDKIT", "0");
    let out = run_with_timeout(cmd, None, DOCKER_TIMEOUT).unwrap_or_else(|e| panic!("{e}"));
    if !out.status.success() {
        panic!(
            "docker build -t {tag} failed ({}):\n--- Dockerfile\n{dockerfile}\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    tag.to_string()
}

/// `docker save -o PATH TAG` (the legacy archive format on Engine 20.10).
pub fn save_image(tag: &str, path: &Path) {
    docker(&["save", "-o", path.to_str().expect("utf-8 path"), tag]);
}

/// Load an image made of the given layer tars (bottom first; see [`LayerBuilder`]) with
/// `docker load`, tagged `tag`. Deterministic: the same layers give the same image id, and
/// an image already present with that id is not loaded again. Returns the tag.
pub fn load_layers_image(tag: &str, layers: &[Vec<u8>]) -> String {
    let archive = layers_archive(tag, layers);
    let _l = lock(&format!("load-{tag}"));
    if image_exists(tag) && image_id(tag) == archive.image_id {
        return tag.to_string();
    }
    docker_stdin(&["load"], Some(archive.bytes));
    assert_eq!(
        image_id(tag),
        archive.image_id,
        "image id after docker load of {tag}"
    );
    tag.to_string()
}

pub struct BuiltArchive {
    pub bytes: Vec<u8>,
    pub image_id: String,
}

/// A legacy `docker save`-style archive (manifest.json, config, `<hex>/layer.tar`).
pub fn layers_archive(tag: &str, layers: &[Vec<u8>]) -> BuiltArchive {
    layers_archive_claiming(tag, layers, None)
}

/// [`layers_archive`] whose config claims `diff_ids` (a lying archive) when given.
pub fn layers_archive_claiming(
    tag: &str,
    layers: &[Vec<u8>],
    claimed: Option<&[String]>,
) -> BuiltArchive {
    // A diff id is the digest of the uncompressed tar.
    let mut diff_ids: Vec<String> = layers
        .iter()
        .map(|l| {
            if l.starts_with(&[0x1f, 0x8b]) {
                use sha2::Digest;
                use std::io::Read;
                // Streamed: a test layer may inflate to gigabytes.
                let mut h = sha2::Sha256::new();
                let mut r = flate2::read::MultiGzDecoder::new(&l[..]);
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    let n = r.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    h.update(&buf[..n]);
                }
                format!("sha256:{}", hex::encode(h.finalize()))
            } else {
                format!("sha256:{}", sha256_hex(l))
            }
        })
        .collect();
    if let Some(c) = claimed {
        diff_ids = c.to_vec();
    }
    let history: Vec<serde_json::Value> = (0..layers.len())
        .map(|i| {
            serde_json::json!({
                "created": "2024-01-01T00:00:00Z",
                "created_by": format!("/bin/sh -c #(nop) layerlens test layer {i}"),
            })
        })
        .collect();
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-01-01T00:00:00Z",
        "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    });
    let config = serde_json::to_vec(&config).unwrap();
    let config_hex = sha256_hex(&config);
    let mut b = LayerBuilder::new();
    let mut layer_paths = Vec::new();
    for l in layers {
        let dir = sha256_hex(l);
        b = b
            .dir(&dir, 0o755)
            .file(&format!("{dir}/layer.tar"), l, 0o644);
        layer_paths.push(format!("{dir}/layer.tar"));
    }
    let manifest = serde_json::json!([{
        "Config": format!("{config_hex}.json"),
        "RepoTags": [tag],
        "Layers": layer_paths,
    }]);
    b = b.file(&format!("{config_hex}.json"), &config, 0o644).file(
        "manifest.json",
        &serde_json::to_vec(&manifest).unwrap(),
        0o644,
    );
    BuiltArchive {
        bytes: b.finish(),
        image_id: format!("sha256:{config_hex}"),
    }
}

/// Builds a layer (or any) tar in memory; GNU headers (long names via GNU long-name
/// records), fixed mtime, root-owned unless said otherwise.
pub struct LayerBuilder {
    b: tar::Builder<Vec<u8>>,
}

impl Default for LayerBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl LayerBuilder {
    pub fn new() -> Self {
        LayerBuilder {
            b: tar::Builder::new(Vec::new()),
        }
    }
    fn header(kind: tar::EntryType, mode: u32, uid: u64, gid: u64, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(uid);
        h.set_gid(gid);
        h.set_size(size);
        h.set_mtime(1_700_000_000);
        h
    }
    pub fn dir(self, path: &str, mode: u32) -> Self {
        self.dir_owned(path, mode, 0, 0)
    }
    pub fn dir_owned(mut self, path: &str, mode: u32, uid: u64, gid: u64) -> Self {
        let mut h = Self::header(tar::EntryType::Directory, mode, uid, gid, 0);
        let p = format!("{}/", path.trim_end_matches('/'));
        self.b.append_data(&mut h, p, &[][..]).expect("tar dir");
        self
    }
    pub fn file(self, path: &str, data: &[u8], mode: u32) -> Self {
        self.file_owned(path, data, mode, 0, 0)
    }
    pub fn file_owned(mut self, path: &str, data: &[u8], mode: u32, uid: u64, gid: u64) -> Self {
        let mut h = Self::header(tar::EntryType::Regular, mode, uid, gid, data.len() as u64);
        self.b.append_data(&mut h, path, data).expect("tar file");
        self
    }
    pub fn symlink(mut self, path: &str, target: &str) -> Self {
        let mut h = Self::header(tar::EntryType::Symlink, 0o777, 0, 0, 0);
        self.b
            .append_link(&mut h, path, target)
            .expect("tar symlink");
        self
    }
    pub fn hardlink(mut self, path: &str, target: &str) -> Self {
        let mut h = Self::header(tar::EntryType::Link, 0o644, 0, 0, 0);
        self.b
            .append_link(&mut h, path, target)
            .expect("tar hardlink");
        self
    }
    /// `.wh.NAME` next to `path`: removes `path` from the layers below.
    pub fn whiteout(self, path: &str) -> Self {
        let p = Path::new(path);
        let name = p.file_name().unwrap().to_str().unwrap();
        let wh = match p
            .parent()
            .and_then(|d| d.to_str())
            .filter(|d| !d.is_empty())
        {
            Some(d) => format!("{d}/.wh.{name}"),
            None => format!(".wh.{name}"),
        };
        self.file(&wh, b"", 0o644)
    }
    /// `DIR/.wh..wh..opq`: hides everything the layers below have under `dir`.
    pub fn opaque(self, dir: &str) -> Self {
        self.file(
            &format!("{}/.wh..wh..opq", dir.trim_end_matches('/')),
            b"",
            0o644,
        )
    }
    pub fn finish(self) -> Vec<u8> {
        self.b.into_inner().expect("finishing tar")
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    let d = Sha256::digest(data);
    let mut s = String::with_capacity(64);
    for byte in d.iter() {
        s.push_str(&format!("{byte:02x}"));
    }
    s
}

// ---------------------------------------------------------------------------------------
// Ground truth: docker create + docker export
// ---------------------------------------------------------------------------------------

/// A container this test created; removed on drop (also when the test panics).
pub struct Container {
    pub id: String,
}

impl Container {
    /// `docker create` (never started) from `image`.
    pub fn create(image: &str) -> Container {
        let id = docker(&[
            "create",
            "--network",
            "none",
            "--entrypoint",
            "",
            image,
            "true",
        ]);
        Container { id }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = run_with_timeout(docker_cmd(&["rm", "-f", &self.id]), None, DOCKER_TIMEOUT);
    }
}

/// One entry of a filesystem listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsEntry {
    /// Absolute path ("/etc/passwd"), non-UTF-8 bytes replaced (lossy).
    pub path: String,
    /// The same path's raw bytes.
    pub raw_path: Vec<u8>,
    /// file | dir | symlink | hardlink | char | block | fifo
    pub kind: String,
    /// Content size (for a hardlink: its target's).
    pub size: u64,
    /// `mode & 0o7777` as 4 octal digits ("0755").
    pub mode: String,
    pub uid: u64,
    pub gid: u64,
    /// Symlink target as stored; for a hardlink, the absolute path of the entry it links to.
    pub link: Option<String>,
    /// sha256 of the content, for files and hardlinks.
    pub hash: Option<String>,
}

/// Paths docker puts into every container (see the module docs).
pub fn is_docker_injected(path: &str) -> bool {
    matches!(
        path,
        "/" | "/.dockerenv" | "/etc/hostname" | "/etc/hosts" | "/etc/resolv.conf" | "/etc/mtab"
    ) || ["/dev", "/proc", "/sys"]
        .iter()
        .any(|d| path == *d || path.starts_with(&format!("{d}/")))
}

fn abs_path(raw: &[u8]) -> Vec<u8> {
    let mut s: &[u8] = raw;
    while let Some(rest) = s.strip_prefix(b"./") {
        s = rest;
    }
    while let Some(rest) = s.strip_prefix(b"/") {
        s = rest;
    }
    let s = if s == b"." { &b""[..] } else { s };
    let mut s = s.to_vec();
    while s.last() == Some(&b'/') {
        s.pop();
    }
    let mut out = vec![b'/'];
    out.extend_from_slice(&s);
    out
}

fn kind_of(t: tar::EntryType) -> &'static str {
    use tar::EntryType as E;
    match t {
        E::Regular | E::Continuous => "file",
        E::Directory => "dir",
        E::Symlink => "symlink",
        E::Link => "hardlink",
        E::Char => "char",
        E::Block => "block",
        E::Fifo => "fifo",
        _ => "other",
    }
}

/// List a tar of a whole filesystem (as `docker export` writes it) into [`FsEntry`]s, in
/// archive order, without any filtering.
pub fn list_fs_tar(tar_bytes: impl Read) -> Vec<FsEntry> {
    let mut ar = tar::Archive::new(tar_bytes);
    let mut out: Vec<FsEntry> = Vec::new();
    let mut by_path: HashMap<Vec<u8>, usize> = HashMap::new();
    for entry in ar.entries().expect("reading tar") {
        let mut e = entry.expect("reading tar entry");
        let raw_path = abs_path(&e.path_bytes());
        let h = e.header();
        let kind = kind_of(h.entry_type());
        let mode = format!("{:04o}", h.mode().expect("mode") & 0o7777);
        let uid = h.uid().expect("uid");
        let gid = h.gid().expect("gid");
        let link_raw = e.link_name_bytes().map(|l| l.into_owned());
        let mut entry = FsEntry {
            path: String::from_utf8_lossy(&raw_path).into_owned(),
            raw_path: raw_path.clone(),
            kind: kind.to_string(),
            size: 0,
            mode,
            uid,
            gid,
            link: None,
            hash: None,
        };
        match kind {
            "file" => {
                let mut data = Vec::new();
                e.read_to_end(&mut data).expect("reading tar entry data");
                entry.size = data.len() as u64;
                entry.hash = Some(sha256_hex(&data));
            }
            "symlink" => {
                entry.link = link_raw.map(|l| String::from_utf8_lossy(&l).into_owned());
            }
            "hardlink" => {
                let target = abs_path(&link_raw.expect("hardlink without target"));
                let t = by_path
                    .get(&target)
                    .map(|&i| out[i].clone())
                    .unwrap_or_else(|| {
                        panic!(
                            "hardlink {} -> {} before its target",
                            entry.path,
                            String::from_utf8_lossy(&target)
                        )
                    });
                entry.size = t.size;
                entry.mode = t.mode;
                entry.uid = t.uid;
                entry.gid = t.gid;
                entry.hash = t.hash;
                entry.link = Some(String::from_utf8_lossy(&target).into_owned());
            }
            _ => {}
        }
        if let Some(&i) = by_path.get(&raw_path) {
            out[i] = entry; // a later entry for the same path wins
        } else {
            by_path.insert(raw_path, out.len());
            out.push(entry);
        }
    }
    out
}

/// Drop what docker adds to every container (module docs), including `/etc` when nothing
/// else is left below it.
pub fn drop_docker_injected(entries: Vec<FsEntry>) -> Vec<FsEntry> {
    let kept: Vec<FsEntry> = entries
        .into_iter()
        .filter(|e| !is_docker_injected(&e.path))
        .collect();
    let etc_has_children = kept.iter().any(|e| e.path.starts_with("/etc/"));
    kept.into_iter()
        .filter(|e| e.path != "/etc" || etc_has_children)
        .collect()
}

/// Ground truth for an image's merged filesystem: `docker create` (not started),
/// `docker export`, `docker rm`, then list the export (docker-injected paths dropped).
pub fn export_fs(tag: &str) -> Vec<FsEntry> {
    let dir = tempfile::tempdir().expect("tempdir");
    let tar_path = dir.path().join("export.tar");
    {
        let c = Container::create(tag);
        docker(&["export", "-o", tar_path.to_str().unwrap(), &c.id]);
    }
    let f = File::open(&tar_path).expect("opening export");
    drop_docker_injected(list_fs_tar(std::io::BufReader::new(f)))
}

/// [`export_fs`] as a map by path.
pub fn export_map(tag: &str) -> BTreeMap<String, FsEntry> {
    export_fs(tag)
        .into_iter()
        .map(|e| (e.path.clone(), e))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Running layerlens
// ---------------------------------------------------------------------------------------

pub fn layerlens_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_layerlens"))
}

/// Run the built binary with `args` (stdin closed, time-limited).
pub fn layerlens(args: &[&str]) -> Output {
    layerlens_env(args, &[])
}

/// [`layerlens`] with extra environment variables.
pub fn layerlens_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(layerlens_bin());
    cmd.args(args);
    cmd.env_remove("LAYERLENS_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_with_timeout(cmd, None, LAYERLENS_TIMEOUT).unwrap_or_else(|e| panic!("{e}"))
}

pub fn describe_output(args: &[&str], out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stdout: String = stdout.chars().take(4000).collect();
    format!(
        "layerlens {}\n--- exit: {}\n--- stderr\n{}\n--- stdout (first 4000 chars)\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr),
        stdout
    )
}

/// Panic if the output shows a Rust panic.
pub fn assert_no_panic(args: &[&str], out: &Output) {
    let err = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !err.contains("panicked") && !stdout.contains("panicked") && out.status.code() != Some(101),
        "layerlens panicked:\n{}",
        describe_output(args, out)
    );
}

/// Run layerlens, require exit 0, parse stdout as JSON.
pub fn layerlens_json(args: &[&str]) -> serde_json::Value {
    let out = layerlens(args);
    assert_no_panic(args, &out);
    assert!(
        out.status.success(),
        "layerlens failed:\n{}",
        describe_output(args, &out)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", describe_output(args, &out)))
}

// ---------------------------------------------------------------------------------------
// Comparing `files --format json` with the ground truth
// ---------------------------------------------------------------------------------------

/// What is compared for one path. Hardlinks count as files (their size/mode/owner are the
/// content's); `size` is compared for files only (a directory's or symlink's size is not
/// part of the contract); `link` for symlinks only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Norm {
    pub kind: String,
    pub size: Option<u64>,
    pub mode: String,
    pub uid: u64,
    pub gid: u64,
    pub link: Option<String>,
}

impl std::fmt::Display for Norm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} mode={} owner={}:{}",
            self.kind, self.mode, self.uid, self.gid
        )?;
        if let Some(s) = self.size {
            write!(f, " size={s}")?;
        }
        if let Some(l) = &self.link {
            write!(f, " -> {l:?}")?;
        }
        Ok(())
    }
}

fn norm(kind: &str, size: u64, mode: &str, uid: u64, gid: u64, link: Option<&str>) -> Norm {
    let kind = if kind == "hardlink" { "file" } else { kind };
    Norm {
        kind: kind.to_string(),
        size: (kind == "file").then_some(size),
        mode: mode.to_string(),
        uid,
        gid,
        link: if kind == "symlink" {
            link.map(str::to_string)
        } else {
            None
        },
    }
}

/// Apply the docker-injected rule to a normalised map (module docs).
fn drop_injected_map(mut m: BTreeMap<String, Norm>) -> BTreeMap<String, Norm> {
    m.retain(|p, _| !is_docker_injected(p));
    if !m.keys().any(|p| p.starts_with("/etc/")) {
        m.remove("/etc");
    }
    m
}

pub fn normalise_fs(entries: &[FsEntry]) -> BTreeMap<String, Norm> {
    let mut m = BTreeMap::new();
    for e in entries {
        let n = norm(&e.kind, e.size, &e.mode, e.uid, e.gid, e.link.as_deref());
        if m.insert(e.path.clone(), n).is_some() {
            panic!(
                "ground truth has two entries for {:?} (lossy UTF-8 collision?)",
                e.path
            );
        }
    }
    drop_injected_map(m)
}

/// One entry of layerlens' `files --format json` output, schema-checked.
#[derive(Debug, Clone)]
pub struct ToolEntry {
    pub path: String,
    pub kind: String,
    pub size: u64,
    pub mode: String,
    pub uid: u64,
    pub gid: u64,
    pub link: Option<String>,
    pub change: Option<String>,
}

/// Parse `files --format json` output; panics with a precise message on schema violations.
pub fn parse_files_json(v: &serde_json::Value) -> Vec<ToolEntry> {
    let arr = v.as_array().unwrap_or_else(|| {
        panic!(
            "files --format json: expected a JSON array, got {}",
            short(v)
        )
    });
    arr.iter()
        .map(|e| {
            let s = |k: &str| -> String {
                e.get(k)
                    .and_then(|x| x.as_str())
                    .unwrap_or_else(|| panic!("files entry without string {k:?}: {}", short(e)))
                    .to_string()
            };
            let n = |k: &str| -> u64 {
                e.get(k)
                    .and_then(|x| x.as_u64())
                    .unwrap_or_else(|| panic!("files entry without integer {k:?}: {}", short(e)))
            };
            let mode = s("mode");
            assert!(
                mode.len() == 4 && mode.chars().all(|c| ('0'..='7').contains(&c)),
                "mode must be 4 octal digits like \"0755\": {}",
                short(e)
            );
            let path = s("path");
            assert!(path.starts_with('/'), "path must be absolute: {}", short(e));
            let kind = s("kind");
            assert!(
                [
                    "file", "dir", "symlink", "hardlink", "char", "block", "fifo"
                ]
                .contains(&kind.as_str()),
                "unknown kind: {}",
                short(e)
            );
            ToolEntry {
                path,
                kind,
                size: n("size"),
                mode,
                uid: n("uid"),
                gid: n("gid"),
                link: e.get("link").and_then(|x| x.as_str()).map(str::to_string),
                change: e.get("change").and_then(|x| x.as_str()).map(str::to_string),
            }
        })
        .collect()
}

fn short(v: &serde_json::Value) -> String {
    let s = v.to_string();
    if s.len() > 300 {
        format!("{}...", &s[..s.floor_char_boundary(300)])
    } else {
        s
    }
}

pub fn normalise_tool(entries: &[ToolEntry]) -> BTreeMap<String, Norm> {
    let mut m = BTreeMap::new();
    let mut dups = Vec::new();
    for e in entries {
        let n = norm(&e.kind, e.size, &e.mode, e.uid, e.gid, e.link.as_deref());
        if m.insert(e.path.clone(), n).is_some() {
            dups.push(e.path.clone());
        }
    }
    assert!(
        dups.is_empty(),
        "layerlens lists these paths more than once: {dups:?}"
    );
    drop_injected_map(m)
}

/// Human-readable differences (empty when equal).
pub fn diff_maps(
    expected: &BTreeMap<String, Norm>,
    actual: &BTreeMap<String, Norm>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (p, e) in expected {
        match actual.get(p) {
            None => out.push(format!("  missing  {p:?}: expected {e}")),
            Some(a) if a != e => out.push(format!(
                "  differs  {p:?}:\n             expected {e}\n             got      {a}"
            )),
            _ => {}
        }
    }
    for (p, a) in actual {
        if !expected.contains_key(p) {
            out.push(format!("  extra    {p:?}: got {a}"));
        }
    }
    out
}

/// Run `layerlens files --format json IMAGE EXTRA...` and compare with `expected`
/// (normally [`export_fs`] of the same image), panicking with a readable diff.
pub fn assert_files_match(image_arg: &str, extra_args: &[&str], expected: &[FsEntry]) {
    let mut args = vec!["files", image_arg, "--format", "json"];
    args.extend_from_slice(extra_args);
    let v = layerlens_json(&args);
    let actual = normalise_tool(&parse_files_json(&v));
    let expected = normalise_fs(expected);
    let diff = diff_maps(&expected, &actual);
    if !diff.is_empty() {
        let shown: Vec<&String> = diff.iter().take(60).collect();
        panic!(
            "`layerlens {}` differs from docker export ({} paths expected, {} listed, {} differences{}):\n{}",
            args.join(" "),
            expected.len(),
            actual.len(),
            diff.len(),
            if diff.len() > 60 {
                ", first 60 shown"
            } else {
                ""
            },
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

// ---------------------------------------------------------------------------------------
// Reference merge (validates the harness itself)
// ---------------------------------------------------------------------------------------

/// Layer tars of a `docker save` archive (bottom first), read through `manifest.json`
/// (works for the legacy layout and the OCI-layout one of newer engines).
pub fn archive_layers(archive: &Path) -> Vec<Vec<u8>> {
    let mut files: HashMap<String, Vec<u8>> = HashMap::new();
    let mut ar = tar::Archive::new(File::open(archive).expect("opening archive"));
    for e in ar.entries().expect("reading archive") {
        let mut e = e.expect("archive entry");
        if e.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let p = String::from_utf8_lossy(&e.path_bytes())
            .trim_start_matches("./")
            .to_string();
        let mut data = Vec::new();
        e.read_to_end(&mut data).expect("reading archive member");
        files.insert(p, data);
    }
    let manifest: serde_json::Value = serde_json::from_slice(
        files
            .get("manifest.json")
            .expect("archive without manifest.json"),
    )
    .unwrap();
    manifest[0]["Layers"]
        .as_array()
        .expect("manifest Layers")
        .iter()
        .map(|l| {
            files
                .get(l.as_str().unwrap())
                .cloned()
                .expect("layer listed in manifest missing")
        })
        .collect()
}

/// An independent, deliberately simple application of layer tars (whiteouts, opaque
/// whiteouts, type replacement, hardlinks) giving the merged tree after layer `upto`
/// (0-based; all layers when `None`). Used to check that the daemon's saved layers and its
/// export agree, i.e. that a correct tool *can* match the ground truth.
pub fn reference_merge(layers: &[Vec<u8>], upto: Option<usize>) -> Vec<FsEntry> {
    let n = upto.map_or(layers.len(), |u| u + 1);
    let mut tree: BTreeMap<Vec<u8>, FsEntry> = BTreeMap::new();
    let under = |p: &[u8], dir: &[u8]| -> bool {
        p.len() > dir.len() && p.starts_with(dir) && (dir == b"/" || p[dir.len()] == b'/')
    };
    for layer in &layers[..n] {
        let entries = list_layer_tar(layer);
        let mut added_here: std::collections::HashSet<Vec<u8>> = std::collections::HashSet::new();
        for mut e in entries {
            let p = e.raw_path.clone();
            let (dir, base) = match p.iter().rposition(|&c| c == b'/') {
                Some(i) => (
                    if i == 0 {
                        b"/".to_vec()
                    } else {
                        p[..i].to_vec()
                    },
                    p[i + 1..].to_vec(),
                ),
                None => (b"/".to_vec(), p.clone()),
            };
            if base == b".wh..wh..opq" {
                tree.retain(|k, _| !under(k, &dir) || added_here.contains(k));
                continue;
            }
            if let Some(name) = base.strip_prefix(b".wh.") {
                let mut target = if dir == b"/" {
                    b"/".to_vec()
                } else {
                    [dir.as_slice(), b"/"].concat()
                };
                target.extend_from_slice(name);
                tree.retain(|k, _| *k != target && !under(k, &target));
                continue;
            }
            if e.kind == "hardlink" {
                let t = tree
                    .get(e.link.as_ref().unwrap().as_bytes())
                    .cloned()
                    .unwrap_or_else(|| panic!("hardlink {} to missing {:?}", e.path, e.link));
                e.size = t.size;
                e.mode = t.mode;
                e.uid = t.uid;
                e.gid = t.gid;
                e.hash = t.hash;
            }
            let replace_children = match tree.get(&p) {
                Some(old) => !(old.kind == "dir" && e.kind == "dir"),
                None => false,
            };
            if replace_children {
                tree.retain(|k, _| !under(k, &p));
            }
            // Missing parents are created as 0755 root directories.
            let mut i = 1;
            while let Some(j) = p[i..].iter().position(|&c| c == b'/') {
                let parent = p[..i + j].to_vec();
                tree.entry(parent.clone()).or_insert_with(|| FsEntry {
                    path: String::from_utf8_lossy(&parent).into_owned(),
                    raw_path: parent,
                    kind: "dir".into(),
                    size: 0,
                    mode: "0755".into(),
                    uid: 0,
                    gid: 0,
                    link: None,
                    hash: None,
                });
                i += j + 1;
            }
            added_here.insert(p.clone());
            tree.insert(p, e);
        }
    }
    drop_docker_injected(tree.into_values().collect())
}

/// A layer tar's entries; unlike [`list_fs_tar`], hardlinks are kept unresolved (their
/// `link` is the absolute target path) since the target may come from the merged tree.
fn list_layer_tar(layer: &[u8]) -> Vec<FsEntry> {
    let mut ar = tar::Archive::new(layer);
    let mut out = Vec::new();
    for entry in ar.entries().expect("reading layer") {
        let mut e = entry.expect("reading layer entry");
        let raw_path = abs_path(&e.path_bytes());
        let h = e.header();
        let kind = kind_of(h.entry_type());
        let mode = format!("{:04o}", h.mode().expect("mode") & 0o7777);
        let (uid, gid) = (h.uid().expect("uid"), h.gid().expect("gid"));
        let link_raw = e.link_name_bytes().map(|l| l.into_owned());
        let mut fe = FsEntry {
            path: String::from_utf8_lossy(&raw_path).into_owned(),
            raw_path,
            kind: kind.into(),
            size: 0,
            mode,
            uid,
            gid,
            link: None,
            hash: None,
        };
        match kind {
            "file" => {
                let mut data = Vec::new();
                e.read_to_end(&mut data).expect("layer data");
                fe.size = data.len() as u64;
                fe.hash = Some(sha256_hex(&data));
            }
            "symlink" => fe.link = link_raw.map(|l| String::from_utf8_lossy(&l).into_owned()),
            "hardlink" => {
                fe.link = Some(String::from_utf8_lossy(&abs_path(&link_raw.unwrap())).into_owned())
            }
            _ => {}
        }
        out.push(fe);
    }
    out
}

/// Panic unless [`reference_merge`] of the saved archive equals `truth` (the export).
pub fn assert_reference_merge_matches(archive: &Path, upto: Option<usize>, truth: &[FsEntry]) {
    let merged = reference_merge(&archive_layers(archive), upto);
    let diff = diff_maps(&normalise_fs(truth), &normalise_fs(&merged));
    assert!(
        diff.is_empty(),
        "HARNESS/DAEMON problem, not a layerlens bug: merging the layers of {} (upto {upto:?}) \
         does not give what docker export shows ({} differences; 'got' is the merge):\n{}",
        archive.display(),
        diff.len(),
        diff.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
    );
}
