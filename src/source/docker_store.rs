//! Docker's own layer store, read directly and strictly read-only: the fast path for
//! daemon images when this process can read the daemon's data root (root, or a user
//! given read access) and the daemon uses a classic graph driver.
//!
//! Layout (under `DockerRootDir`, `image/<driver>/`):
//! - `imagedb/content/sha256/<image id>`: the image config (checked against its id);
//! - `layerdb/sha256/<chain id>/`: `diff` (the diff id, checked), `cache-id` (the
//!   driver's directory) and `tar-split.json.gz` (every tar header of the layer and a
//!   CRC-64 of every file's content, see [`super::tarsplit`]).
//!
//! File bytes (preview, extract) are read on demand from the driver's directory of the
//! layer (`<driver>/<cache-id>/diff` for overlay drivers), opening each path component
//! without following symlinks. Nothing here writes, locks or renames anything.

use super::blob::{Progress, ProgressReader};
use super::layout::{MetaStore, Plan, PlanLayer};
use super::store::BlobStore;
use crate::error::{Error, ErrorKind, Result, from_io};
use crate::model::LayerContent;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Prefix of the blob names of layers read from the store (the rest is the layer's
/// `layerdb` directory), so previews know to read the driver's directory.
pub const BLOB_PREFIX: &str = "docker-store:";

/// Environment variable that points layerlens at a Docker data root other than the one
/// `docker info` reports (a copy, a mounted disk, a test fixture).
pub const ROOT_ENV: &str = "LAYERLENS_DOCKER_ROOT";

/// The classic image store of one daemon.
#[derive(Debug, Clone)]
pub struct DockerStore {
    pub root: PathBuf,
    pub driver: String,
}

impl DockerStore {
    /// The store described by `docker info`, when this process can read it.
    pub fn locate(info: &super::daemon::StorageInfo) -> Result<DockerStore> {
        let overridden = std::env::var_os(ROOT_ENV).filter(|v| !v.is_empty());
        if info.containerd_store {
            return Err(Error::other(
                "the daemon keeps images in containerd's content store, which layerlens does not read yet",
            ));
        }
        if !info.local && overridden.is_none() {
            return Err(Error::other(
                "the daemon is not on a local socket, so its data root is not on this machine",
            ));
        }
        if info.driver.is_empty() || info.driver.contains('/') {
            return Err(Error::other("the daemon reported no usable storage driver"));
        }
        let root = match overridden {
            Some(r) => PathBuf::from(r),
            None if info.root_dir.is_empty() => {
                return Err(Error::other("the daemon reported no data root"));
            }
            None => PathBuf::from(&info.root_dir),
        };
        let store = DockerStore {
            root,
            driver: info.driver.clone(),
        };
        let probe = store.image_dir().join("imagedb/content/sha256");
        std::fs::read_dir(&probe).map_err(|e| {
            let mut err = from_io(e, probe.display());
            if err.kind == ErrorKind::PermissionDenied || err.message.contains("ermission") {
                err.kind = ErrorKind::PermissionDenied;
                err.message = format!(
                    "cannot read Docker's layer store at {}: permission denied (run as root, or use --daemon-read export)",
                    store.root.display()
                );
            }
            err
        })?;
        Ok(store)
    }

    fn image_dir(&self) -> PathBuf {
        self.root.join("image").join(&self.driver)
    }

    /// The layerdb directory of the layer stack with `chain_id` ("sha256:…").
    pub fn layer_dir(&self, chain_id: &str) -> Result<PathBuf> {
        let hex = digest_hex(chain_id)?;
        Ok(self.image_dir().join("layerdb/sha256").join(hex))
    }

    /// Read what loading image `id` with layers `diff_ids` needs, checking every piece
    /// against the digests that name it, before anything is reported. Also returns the
    /// total size of the tar-split records (what loading reads, for progress).
    pub fn plan(&self, id: &str, diff_ids: &[String]) -> Result<(Plan, u64)> {
        let hex = digest_hex(id)?;
        let cfg_path = self.image_dir().join("imagedb/content/sha256").join(hex);
        let config = std::fs::read(&cfg_path).map_err(|e| from_io(e, cfg_path.display()))?;
        if hex_sha256(&config) != hex {
            return Err(Error::corrupt(format!(
                "{}: content does not match the image id",
                cfg_path.display()
            )));
        }
        let mut layers = Vec::with_capacity(diff_ids.len());
        let mut total = 0;
        let mut chain = String::new();
        for (i, d) in diff_ids.iter().enumerate() {
            digest_hex(d)?;
            chain = if i == 0 {
                d.clone()
            } else {
                format!("sha256:{}", hex_sha256(format!("{chain} {d}").as_bytes()))
            };
            let dir = self.layer_dir(&chain)?;
            let diff_path = dir.join("diff");
            let recorded =
                std::fs::read_to_string(&diff_path).map_err(|e| from_io(e, diff_path.display()))?;
            if recorded.trim() != d {
                return Err(Error::corrupt(format!(
                    "layer {i}: {} says {} but the image has {d}",
                    diff_path.display(),
                    recorded.trim()
                )));
            }
            let split = dir.join("tar-split.json.gz");
            let md = std::fs::metadata(&split).map_err(|e| from_io(e, split.display()))?;
            total += md.len();
            layers.push(PlanLayer {
                blob: format!("{BLOB_PREFIX}{}", dir.display()),
                media_type: None,
                size: None,
                digest: None,
            });
        }
        let plan = Plan {
            config,
            layers,
            repo_tags: Vec::new(),
        };
        Ok((plan, total))
    }
}

fn digest_hex(d: &str) -> Result<&str> {
    match d.strip_prefix("sha256:") {
        Some(h) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(h),
        _ => Err(Error::corrupt(format!("not a sha256 digest: {d:?}"))),
    }
}

fn hex_sha256(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// The layerdb directory named by a store blob name.
fn blob_dir(name: &str) -> Result<PathBuf> {
    name.strip_prefix(BLOB_PREFIX)
        .map(PathBuf::from)
        .ok_or_else(|| Error::other(format!("{name:?} is not a layer of Docker's store")))
}

impl MetaStore for DockerStore {
    fn read_small(&self, _name: &str) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }
    fn has(&self, _name: &str) -> bool {
        false
    }
}

impl BlobStore for DockerStore {
    fn is_dockers_own(&self) -> bool {
        true
    }

    fn parse_layer(
        &self,
        name: &str,
        _size: Option<u64>,
        _media_type: Option<&str>,
        progress: Option<Arc<Progress>>,
    ) -> Result<Arc<LayerContent>> {
        let split = blob_dir(name)?.join("tar-split.json.gz");
        let f = File::open(&split).map_err(|e| from_io(e, split.display()))?;
        let gz = flate2::bufread::MultiGzDecoder::new(BufReader::with_capacity(
            256 * 1024,
            ProgressReader { inner: f, progress },
        ));
        super::tarsplit::parse_layer(BufReader::with_capacity(256 * 1024, gz))
            .map(Arc::new)
            .map_err(|e| e.context(split.display()))
    }
}

/// The directory holding the files of the layer whose layerdb directory is `layer_dir`
/// (as the driver stores them), for drivers whose layout is known.
fn driver_dir(layer_dir: &Path) -> Result<PathBuf> {
    // layer_dir = <root>/image/<driver>/layerdb/sha256/<chain>
    let driver_of = layer_dir.ancestors().nth(3);
    let root = layer_dir.ancestors().nth(5);
    let (Some(d), Some(root)) = (driver_of, root) else {
        return Err(Error::other("unexpected layer store path"));
    };
    let driver = d
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let cache_path = layer_dir.join("cache-id");
    let cache_id =
        std::fs::read_to_string(&cache_path).map_err(|e| from_io(e, cache_path.display()))?;
    let cache_id = cache_id.trim();
    if cache_id.is_empty() || cache_id.contains('/') || cache_id.contains("..") {
        return Err(Error::corrupt(format!("{}: invalid", cache_path.display())));
    }
    let base = root.join(&driver);
    Ok(match driver.as_str() {
        "overlay2" | "fuse-overlayfs" | "overlay" => base.join(cache_id).join("diff"),
        "vfs" => base.join("dir").join(cache_id),
        "btrfs" => base.join("subvolumes").join(cache_id),
        "aufs" => base.join("diff").join(cache_id),
        other => {
            return Err(Error::other(format!(
                "reading files of the {other} storage driver is not supported"
            )));
        }
    })
}

/// Open the file `path` (normalised, relative) of the store layer `blob` for reading,
/// never following a symlink on the way.
pub fn open_file(blob: &str, path: &[u8]) -> Result<File> {
    let dir = driver_dir(&blob_dir(blob)?)?;
    open_beneath(&dir, path)
}

/// Open `rel` under `dir`, refusing symlinks in any component.
fn open_beneath(dir: &Path, rel: &[u8]) -> Result<File> {
    use std::ffi::CString;
    use std::os::fd::FromRawFd;
    use std::os::unix::ffi::OsStrExt;
    let shown = || format!("{}/{}", dir.display(), String::from_utf8_lossy(rel));
    let cdir = CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| Error::other("path contains a NUL byte"))?;
    // SAFETY: plain open(2)/openat(2)/close(2) on NUL-terminated strings; every fd
    // opened here is either closed or handed to a File that owns it.
    unsafe {
        let mut fd = libc::open(
            cdir.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        );
        if fd < 0 {
            return Err(from_io(std::io::Error::last_os_error(), dir.display()));
        }
        let comps: Vec<&[u8]> = rel
            .split(|&b| b == b'/')
            .filter(|c| !c.is_empty())
            .collect();
        for (i, c) in comps.iter().enumerate() {
            if *c == b".." || *c == b"." {
                libc::close(fd);
                return Err(Error::other(format!("refusing path {}", shown())));
            }
            let cc = CString::new(*c).map_err(|_| Error::other("path contains a NUL byte"))?;
            let last = i + 1 == comps.len();
            let flags = libc::O_RDONLY
                | libc::O_NOFOLLOW
                | libc::O_CLOEXEC
                | if last { 0 } else { libc::O_DIRECTORY };
            let next = libc::openat(fd, cc.as_ptr(), flags);
            let err = std::io::Error::last_os_error();
            libc::close(fd);
            if next < 0 {
                return Err(from_io(err, shown()));
            }
            fd = next;
        }
        let f = File::from_raw_fd(fd);
        let md = f.metadata().map_err(|e| from_io(e, shown()))?;
        if !md.is_file() {
            return Err(Error::other(format!("{} is not a regular file", shown())));
        }
        Ok(f)
    }
}
