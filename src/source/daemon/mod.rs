//! Docker Engine access through bollard. This module is the only place in layerlens
//! that talks to the daemon. It is strictly read-only: version, ping, list, inspect and
//! export (`docker save`); it never deletes, tags, pulls, pushes or creates anything.
//!
//! The daemon is found the way the docker CLI finds it:
//! 1. `DOCKER_HOST` (`unix://`, `tcp://`, `http://`, `https://`), with TLS when
//!    `DOCKER_TLS_VERIFY` (verified) or `DOCKER_TLS` (unverified) is set, using
//!    `ca.pem`, `cert.pem` and `key.pem` from `DOCKER_CERT_PATH` (default: the docker
//!    config directory, `DOCKER_CONFIG` or `~/.docker`);
//! 2. else the current docker context (`DOCKER_CONTEXT`, or `currentContext` in
//!    `config.json`), read from `contexts/meta/<sha256 of name>/meta.json` with its TLS
//!    material in `contexts/tls/<sha256 of name>/docker/`;
//! 3. else the local socket `/var/run/docker.sock` (also what context "default" means).
//!
//! The public functions are blocking. Each runs its own small current-thread tokio
//! runtime (on a helper thread when called from inside a runtime), so callers need not
//! be async.

use std::fmt;
use std::future::Future;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use bollard::query_parameters::ListImagesOptions;
use bollard::{API_DEFAULT_VERSION, BollardRequest, Docker};
use bytes::{Buf, Bytes};
use futures_util::{Stream, StreamExt};

use crate::error::{Error, ErrorKind, Result};

/// How long connecting and the first request (version negotiation) may take: a dead
/// tcp host must fail fast.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Timeout for ordinary requests (inspect, list) once the daemon has answered.
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the export may go without sending a byte. Older daemons (the classic image
/// store) write the whole image to a temporary directory before sending the first
/// byte, which can take minutes for large images.
pub(super) const EXPORT_STALL_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// How much time `list_images` may spend inspecting images for their layer counts.
pub(super) const LAYER_COUNT_BUDGET: Duration = Duration::from_secs(2);
/// Concurrent inspects while counting layers.
pub(super) const LAYER_COUNT_CONCURRENCY: usize = 8;
/// Chunks buffered between the export thread and the reader (hyper hands out chunks of
/// a few KiB up to a few hundred KiB, so this bounds the buffer to a few MiB).
pub(super) const EXPORT_CHANNEL_CHUNKS: usize = 16;
/// The socket used when nothing else is configured.
pub(super) const DEFAULT_SOCKET: &str = "/var/run/docker.sock";
/// Hint appended to every "no daemon" message.
pub(super) const NO_DAEMON_HINT: &str =
    "is Docker running? set DOCKER_HOST or switch docker context (`docker context use`)";

/// What the daemon knows about an image before we read its export.
#[derive(Debug, Clone, Default)]
pub struct DaemonImage {
    /// Full image id, "sha256:<hex>".
    pub id: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    /// Size reported by inspect (uncompressed bytes), used as the progress total.
    pub size: u64,
    pub os: String,
    pub architecture: String,
    pub created: Option<String>,
    /// RootFS.Layers: diff ids, bottom first.
    pub diff_ids: Vec<String>,
}

pub use crate::model::ImageSummary;

/// An image being exported from the daemon: what inspect said, and the tar stream.
pub struct DaemonExport {
    pub image: DaemonImage,
    /// The reference handed to `docker save`: the user's name (with `:latest` added when
    /// it had no tag), so `manifest.json` carries its RepoTags, or the full image id when
    /// the user gave an id or a digest (then `manifest.json` has no RepoTags).
    pub exported_as: String,
    /// The `docker save` tar of the image, streamed as the daemon produces it.
    ///
    /// If the daemon fails or the stream ends early, `read` returns an `io::Error` of kind
    /// `Other` wrapping an [`Error`] (kind `Corrupt` once bytes have flowed), which
    /// `crate::error::from_io` unwraps. Dropping the reader stops the export.
    pub stream: Box<dyn std::io::Read + Send>,
}

/// Resolves `reference` (name[:tag], name@digest, short or full id) with inspect, then
/// starts `docker save` and returns the tar as a stream.
///
/// The tar is not buffered: a background thread pulls it from the daemon and hands it
/// to the reader chunk by chunk, with a small bounded buffer in between.
pub fn export_image(reference: &str) -> Result<DaemonExport> {
    let (mut images, stream) = export_images(&[reference])?;
    let (image, exported_as) = images.remove(0);
    Ok(DaemonExport {
        image,
        exported_as,
        stream,
    })
}

/// Like [`export_image`] for several images in one `docker save` (each layer they share
/// is written once): what inspect said of each, the name each was saved as, and the tar.
#[allow(clippy::type_complexity)]
pub fn export_images(
    references: &[&str],
) -> Result<(Vec<(DaemonImage, String)>, Box<dyn std::io::Read + Send>)> {
    for r in references {
        validate_reference(r)?;
    }
    let host = current_host()?;
    let references: Vec<String> = references.iter().map(|r| r.to_string()).collect();
    let (meta_tx, meta_rx) = mpsc::sync_channel(1);
    let (data_tx, data_rx) = mpsc::sync_channel(EXPORT_CHANNEL_CHUNKS);
    let (cancel_tx, cancel_rx) = tokio::sync::oneshot::channel();
    let thread = thread::Builder::new()
        .name("docker-export".into())
        .spawn(move || export_thread(host, references, meta_tx, data_tx, cancel_rx))
        .map_err(|e| Error::other(format!("cannot start the Docker export thread: {e}")))?;
    let stream = ExportStream::new(data_rx, cancel_tx, thread);
    match meta_rx.recv() {
        Ok(Ok(images)) => Ok((images, Box::new(stream))),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(Error::other(
            "the Docker export thread stopped before inspecting the image",
        )),
    }
}

/// Checks that a Docker daemon answers at the resolved host.
pub fn ping() -> Result<()> {
    let host = current_host()?;
    block_on(async move {
        let docker = connect(&host).await?;
        docker
            .ping()
            .await
            .map_err(|e| map_error(e, &host, Op::Connect))?;
        Ok(())
    })
}

/// The daemon's images, like `docker images` (no intermediate images), newest first.
///
/// `layer_count` is filled from inspect for as many images as a short time budget
/// allows (all of them on a local daemon); the others keep `None`.
pub fn list_images() -> Result<Vec<ImageSummary>> {
    let host = current_host()?;
    block_on(async move {
        let docker = connect(&host).await?;
        let summaries = docker
            .list_images(None::<ListImagesOptions>)
            .await
            .map_err(|e| map_error(e, &host, Op::List))?;
        let mut images: Vec<ImageSummary> = summaries
            .into_iter()
            .map(|s| ImageSummary {
                id: s.id,
                repo_tags: s
                    .repo_tags
                    .into_iter()
                    .filter(|t| t != "<none>:<none>")
                    .collect(),
                size: u64::try_from(s.size).unwrap_or(0),
                created: s.created,
                layer_count: None,
                diff_ids: Vec::new(),
            })
            .collect();
        fill_layer_counts(&docker, &mut images).await;
        images.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
        Ok(images)
    })
}

/// Local images that were pushed or pulled (they have `RepoDigests`), with their layers:
/// where the daemon learnt compressed digests (for the push plan).
pub fn pushed_images() -> Result<Vec<crate::source::registry::facts::LocalPushed>> {
    let host = current_host()?;
    block_on(async move {
        let docker = connect(&host).await?;
        let summaries = docker
            .list_images(None::<ListImagesOptions>)
            .await
            .map_err(|e| map_error(e, &host, Op::List))?;
        let mut out = Vec::new();
        for s in summaries.into_iter().filter(|s| !s.repo_digests.is_empty()) {
            let Ok(inspect) = docker.inspect_image(&s.id).await else {
                continue;
            };
            out.push(crate::source::registry::facts::LocalPushed {
                name: s.repo_tags.first().cloned().unwrap_or_else(|| s.id.clone()),
                diff_ids: inspect.root_fs.and_then(|r| r.layers).unwrap_or_default(),
                repo_digests: s.repo_digests,
            });
        }
        Ok(out)
    })
}

/// One row of `docker history`, oldest first.
#[derive(Debug, Clone, Default)]
pub struct HistoryRow {
    /// Unix seconds.
    pub created: i64,
    pub created_by: String,
    /// Size of the layer the instruction made (0 for metadata-only instructions).
    pub size: u64,
    pub comment: String,
}

/// Inspect and history of an image: enough to paint its layers before the (slow)
/// export is read.
pub fn describe_image(reference: &str) -> Result<(DaemonImage, Vec<HistoryRow>)> {
    validate_reference(reference)?;
    let host = current_host()?;
    let reference = reference.to_string();
    block_on(async move {
        let docker = connect(&host).await?;
        let image = inspect(&docker, &host, &reference).await?;
        let rows = docker
            .image_history(&image.id)
            .await
            .map_err(|e| map_error(e, &host, Op::Inspect(&reference)))?;
        let mut history: Vec<HistoryRow> = rows
            .into_iter()
            .map(|h| HistoryRow {
                created: h.created,
                created_by: h.created_by,
                size: u64::try_from(h.size).unwrap_or(0),
                comment: h.comment,
            })
            .collect();
        history.reverse();
        Ok((image, history))
    })
}

/// Where the daemon keeps its data, as `docker info` says.
#[derive(Debug, Clone, Default)]
pub struct StorageInfo {
    /// `DockerRootDir`, e.g. `/var/lib/docker` (a path on the daemon's machine).
    pub root_dir: String,
    /// The storage driver (`overlay2`, `fuse-overlayfs`, `vfs`, …).
    pub driver: String,
    /// Images live in containerd's content store (Docker 25+ with the containerd
    /// snapshotter), not in the classic layer store.
    pub containerd_store: bool,
    /// The daemon listens on a local unix socket (so its paths are this machine's).
    pub local: bool,
}

/// `docker info`: data root and storage driver.
pub fn storage_info() -> Result<StorageInfo> {
    let host = current_host()?;
    let local = host.is_local_socket();
    block_on(async move {
        let docker = connect(&host).await?;
        let info = docker
            .info()
            .await
            .map_err(|e| map_error(e, &host, Op::Connect))?;
        let containerd_store = info.driver_status.iter().flatten().any(|kv| {
            kv.iter()
                .any(|v| v.starts_with("io.containerd.snapshotter"))
        });
        Ok(StorageInfo {
            root_dir: info.docker_root_dir.unwrap_or_default(),
            driver: info.driver.unwrap_or_default(),
            containerd_store,
            local,
        })
    })
}

/// The Docker host layerlens uses, for messages: e.g. `unix:///var/run/docker.sock`,
/// `tcp://10.0.0.5:2376 (docker context "build")` or `unix:///tmp/d.sock (from
/// DOCKER_HOST)`. Reading it never contacts the daemon.
pub fn describe_host() -> String {
    match current_host() {
        Ok(host) => host.to_string(),
        Err(e) => format!("(unresolved Docker host: {e})"),
    }
}

mod connect;
mod errors;
mod export;
mod host;
mod images;

use connect::*;
use errors::*;
use export::*;
use host::*;
use images::*;

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn env_with_home(home: &Path) -> HostEnv {
        HostEnv {
            home: Some(home.to_path_buf()),
            ..HostEnv::default()
        }
    }

    /// Writes a context like `docker context create` does; returns its TLS dir.
    fn write_context(config_dir: &Path, name: &str, meta: &str) -> PathBuf {
        use sha2::{Digest, Sha256};
        let hash = hex::encode(Sha256::digest(name.as_bytes()));
        let meta_dir = config_dir.join("contexts/meta").join(&hash);
        fs::create_dir_all(&meta_dir).unwrap();
        fs::write(meta_dir.join("meta.json"), meta).unwrap();
        config_dir.join("contexts/tls").join(&hash).join("docker")
    }

    fn tcp(addr: &str, tls: Option<Tls>) -> Endpoint {
        Endpoint::Tcp {
            addr: addr.into(),
            tls,
        }
    }

    #[test]
    fn nothing_configured_means_default_socket() {
        let home = tempfile::tempdir().unwrap();
        let host = resolve_host(&env_with_home(home.path())).unwrap();
        assert_eq!(host, ResolvedHost::default_socket());
        assert_eq!(host.to_string(), "unix:///var/run/docker.sock");
        // No home at all: still the default socket.
        let host = resolve_host(&HostEnv::default()).unwrap();
        assert_eq!(host, ResolvedHost::default_socket());
    }

    #[test]
    fn docker_host_forms() {
        let home = tempfile::tempdir().unwrap();
        let env = |host: &str| HostEnv {
            docker_host: Some(host.into()),
            ..env_with_home(home.path())
        };
        let endpoint = |host: &str| resolve_host(&env(host)).unwrap().endpoint;
        assert_eq!(
            endpoint("unix:///tmp/d.sock"),
            Endpoint::Unix("/tmp/d.sock".into())
        );
        assert_eq!(
            endpoint("/tmp/d.sock"),
            Endpoint::Unix("/tmp/d.sock".into())
        );
        assert_eq!(endpoint("tcp://10.1.2.3:2375"), tcp("10.1.2.3:2375", None));
        assert_eq!(endpoint("tcp://10.1.2.3"), tcp("10.1.2.3:2375", None));
        assert_eq!(endpoint("tcp://:2375"), tcp("localhost:2375", None));
        assert_eq!(endpoint("tcp://[::1]"), tcp("[::1]:2375", None));
        assert_eq!(endpoint("tcp://[::1]:99/"), tcp("[::1]:99", None));
        assert_eq!(endpoint("example.com:2375"), tcp("example.com:2375", None));
        assert_eq!(endpoint("http://example.com"), tcp("example.com:80", None));
        let host = resolve_host(&env("tcp://h:1")).unwrap();
        assert_eq!(host.origin, Origin::Env);
        assert_eq!(host.to_string(), "tcp://h:1 (from DOCKER_HOST)");

        for bad in [
            "ssh://me@box",
            "npipe:////./pipe/docker_engine",
            "unix://",
            "tcp://h/x",
        ] {
            let err = resolve_host(&env(bad)).unwrap_err();
            assert_eq!(err.kind, ErrorKind::Usage, "{bad}");
            assert!(err.message.starts_with("DOCKER_HOST: "), "{}", err.message);
        }
    }

    #[test]
    fn docker_host_with_tls() {
        let home = tempfile::tempdir().unwrap();
        let certs = tempfile::tempdir().unwrap();
        for f in ["ca.pem", "cert.pem", "key.pem"] {
            fs::write(certs.path().join(f), "x").unwrap();
        }
        let env = HostEnv {
            docker_host: Some("tcp://box".into()),
            docker_tls_verify: Some("1".into()),
            docker_cert_path: Some(certs.path().to_string_lossy().into()),
            ..env_with_home(home.path())
        };
        let dir = certs.path().to_path_buf();
        let expected = Tls {
            ca: Some(dir.join("ca.pem")),
            cert: Some(dir.join("cert.pem")),
            key: Some(dir.join("key.pem")),
            dir,
            verify: true,
        };
        assert_eq!(
            resolve_host(&env).unwrap().endpoint,
            tcp("box:2376", Some(expected))
        );

        // Without DOCKER_CERT_PATH the material comes from the config dir; DOCKER_TLS
        // alone means TLS without verification.
        let config = home.path().join(".docker");
        fs::create_dir_all(&config).unwrap();
        fs::write(config.join("ca.pem"), "x").unwrap();
        let env = HostEnv {
            docker_host: Some("tcp://box:1234".into()),
            docker_tls: Some("1".into()),
            ..env_with_home(home.path())
        };
        let expected = Tls {
            ca: Some(config.join("ca.pem")),
            cert: None,
            key: None,
            dir: config,
            verify: false,
        };
        assert_eq!(
            resolve_host(&env).unwrap().endpoint,
            tcp("box:1234", Some(expected))
        );

        // TLS settings do not apply to unix sockets or http://.
        let env = HostEnv {
            docker_host: Some("http://box".into()),
            docker_tls_verify: Some("1".into()),
            ..env_with_home(home.path())
        };
        assert_eq!(resolve_host(&env).unwrap().endpoint, tcp("box:80", None));
    }

    #[test]
    fn docker_host_wins_over_context() {
        let home = tempfile::tempdir().unwrap();
        let config = home.path().join(".docker");
        write_context(
            &config,
            "remote",
            r#"{"Name":"remote","Endpoints":{"docker":{"Host":"tcp://r:2375"}}}"#,
        );
        let env = HostEnv {
            docker_host: Some("unix:///x.sock".into()),
            docker_context: Some("remote".into()),
            ..env_with_home(home.path())
        };
        assert_eq!(
            resolve_host(&env).unwrap().endpoint,
            Endpoint::Unix("/x.sock".into())
        );
    }

    #[test]
    fn current_context_from_config_json() {
        let home = tempfile::tempdir().unwrap();
        let config = home.path().join(".docker");
        write_context(
            &config,
            "colima",
            r#"{"Name":"colima","Metadata":{},"Endpoints":{"docker":{"Host":"unix:///home/u/.colima/docker.sock","SkipTLSVerify":false}}}"#,
        );
        fs::write(
            config.join("config.json"),
            r#"{"auths":{},"currentContext":"colima"}"#,
        )
        .unwrap();
        let host = resolve_host(&env_with_home(home.path())).unwrap();
        assert_eq!(
            host.endpoint,
            Endpoint::Unix("/home/u/.colima/docker.sock".into())
        );
        assert_eq!(
            host.to_string(),
            "unix:///home/u/.colima/docker.sock (docker context \"colima\")"
        );

        // DOCKER_CONTEXT overrides config.json; "default" is the default socket.
        let env = HostEnv {
            docker_context: Some("default".into()),
            ..env_with_home(home.path())
        };
        assert_eq!(resolve_host(&env).unwrap(), ResolvedHost::default_socket());
    }

    #[test]
    fn docker_config_dir_is_respected() {
        let home = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        write_context(
            other.path(),
            "ci",
            r#"{"Name":"ci","Endpoints":{"docker":{"Host":"tcp://ci:2375"}}}"#,
        );
        fs::write(
            other.path().join("config.json"),
            r#"{"currentContext":"ci"}"#,
        )
        .unwrap();
        let env = HostEnv {
            docker_config: Some(other.path().to_string_lossy().into()),
            ..env_with_home(home.path())
        };
        assert_eq!(resolve_host(&env).unwrap().endpoint, tcp("ci:2375", None));
    }

    #[test]
    fn context_tls_material_and_skip_verify() {
        let home = tempfile::tempdir().unwrap();
        let config = home.path().join(".docker");
        let tls_dir = write_context(
            &config,
            "secure",
            r#"{"Name":"secure","Endpoints":{"docker":{"Host":"tcp://s:2376","SkipTLSVerify":false}}}"#,
        );
        fs::create_dir_all(&tls_dir).unwrap();
        for f in ["ca.pem", "cert.pem", "key.pem"] {
            fs::write(tls_dir.join(f), "x").unwrap();
        }
        let env = HostEnv {
            docker_context: Some("secure".into()),
            ..env_with_home(home.path())
        };
        let expected = Tls {
            ca: Some(tls_dir.join("ca.pem")),
            cert: Some(tls_dir.join("cert.pem")),
            key: Some(tls_dir.join("key.pem")),
            dir: tls_dir,
            verify: true,
        };
        assert_eq!(
            resolve_host(&env).unwrap().endpoint,
            tcp("s:2376", Some(expected))
        );

        // SkipTLSVerify without material: TLS, unverified.
        let tls_dir = write_context(
            &config,
            "lax",
            r#"{"Name":"lax","Endpoints":{"docker":{"Host":"tcp://l:2376","SkipTLSVerify":true}}}"#,
        );
        let env = HostEnv {
            docker_context: Some("lax".into()),
            ..env_with_home(home.path())
        };
        let expected = Tls {
            ca: None,
            cert: None,
            key: None,
            dir: tls_dir,
            verify: false,
        };
        assert_eq!(
            resolve_host(&env).unwrap().endpoint,
            tcp("l:2376", Some(expected))
        );
    }

    #[test]
    fn context_errors_are_usage_errors() {
        let home = tempfile::tempdir().unwrap();
        let config = home.path().join(".docker");
        let env = |name: &str| HostEnv {
            docker_context: Some(name.into()),
            ..env_with_home(home.path())
        };
        let err = resolve_host(&env("missing")).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Usage);
        assert!(
            err.message
                .starts_with("docker context \"missing\" (from DOCKER_CONTEXT): no such context"),
            "{}",
            err.message
        );

        write_context(&config, "broken", "{not json");
        assert_eq!(
            resolve_host(&env("broken")).unwrap_err().kind,
            ErrorKind::Usage
        );
        write_context(&config, "nohost", r#"{"Name":"nohost","Endpoints":{}}"#);
        let err = resolve_host(&env("nohost")).unwrap_err();
        assert!(
            err.message.contains("Endpoints.docker.Host"),
            "{}",
            err.message
        );

        // A context named only in config.json says where it came from.
        fs::write(config.join("config.json"), r#"{"currentContext":"gone"}"#).unwrap();
        let err = resolve_host(&env_with_home(home.path())).unwrap_err();
        assert!(err.message.contains("currentContext in"), "{}", err.message);
    }

    #[test]
    fn invalid_config_json_is_ignored() {
        let home = tempfile::tempdir().unwrap();
        let config = home.path().join(".docker");
        fs::create_dir_all(&config).unwrap();
        fs::write(config.join("config.json"), "{oops").unwrap();
        assert_eq!(
            resolve_host(&env_with_home(home.path())).unwrap(),
            ResolvedHost::default_socket()
        );
    }

    #[test]
    fn references_are_validated() {
        for ok in [
            "alpine",
            "alpine:3.20",
            "localhost:5000/team/app:v1.2_rc-1",
            "sha256:0123abcd",
            "0123abcd",
            "alpine@sha256:0123456789abcdef",
        ] {
            assert!(validate_reference(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a b",
            "../containers/x",
            "a/../b",
            "x?y",
            "x#y",
            "-x",
            "/x",
            "a/./b",
        ] {
            let err = validate_reference(bad).unwrap_err();
            assert_eq!(err.kind, ErrorKind::Usage, "{bad}");
        }
    }

    #[test]
    fn save_reference_keeps_names_and_uses_ids_for_ids() {
        let image = DaemonImage {
            id: "sha256:abcdef0123456789".into(),
            repo_tags: vec!["app:latest".into(), "ubuntu:22.04".into()],
            ..DaemonImage::default()
        };
        assert_eq!(save_reference("app", &image), "app:latest");
        assert_eq!(save_reference("app:latest", &image), "app:latest");
        assert_eq!(
            save_reference("docker.io/library/ubuntu:22.04", &image),
            "docker.io/library/ubuntu:22.04"
        );
        assert_eq!(
            save_reference("localhost:5000/app", &image),
            "localhost:5000/app:latest"
        );
        assert_eq!(save_reference("abcdef", &image), image.id);
        assert_eq!(save_reference("sha256:abcdef01", &image), image.id);
        assert_eq!(save_reference(&image.id, &image), image.id);
        assert_eq!(save_reference("app@sha256:ffff", &image), image.id);

        // A repository whose name looks like an id prefix is still a name.
        let image = DaemonImage {
            id: "sha256:abc123".into(),
            repo_tags: vec!["abc:latest".into()],
            ..DaemonImage::default()
        };
        assert_eq!(save_reference("abc", &image), "abc:latest");
    }

    fn host() -> ResolvedHost {
        ResolvedHost::default_socket()
    }

    #[test]
    fn error_mapping() {
        use bollard::errors::Error as B;
        let err = map_error(B::SocketNotFoundError("/x".into()), &host(), Op::Connect);
        assert_eq!(err.kind, ErrorKind::NoDaemon);
        assert_eq!(
            err.message,
            format!(
                "cannot connect to the Docker daemon at unix:///var/run/docker.sock: \
                 no socket there; {NO_DAEMON_HINT}"
            )
        );

        let refused = B::IOError {
            err: io::Error::from(io::ErrorKind::ConnectionRefused),
        };
        assert_eq!(
            map_error(refused, &host(), Op::Connect).kind,
            ErrorKind::NoDaemon
        );
        let err = map_error(B::RequestTimeoutError, &host(), Op::Connect);
        assert_eq!(err.kind, ErrorKind::NoDaemon);
        assert!(
            err.message.contains("no answer within 5 s"),
            "{}",
            err.message
        );
        assert_eq!(
            map_error(B::RequestTimeoutError, &host(), Op::List).kind,
            ErrorKind::Other
        );

        let denied = B::IOError {
            err: io::Error::from(io::ErrorKind::PermissionDenied),
        };
        let err = map_error(denied, &host(), Op::Connect);
        assert_eq!(err.kind, ErrorKind::PermissionDenied);
        assert!(
            err.message
                .starts_with("permission denied on the Docker socket /var/run/docker.sock"),
            "{}",
            err.message
        );
        assert!(err.message.contains("docker group"));

        // How hyper-rustls reports a certificate the CA does not vouch for.
        let tls = io::Error::other(io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        ));
        let err = map_error(B::IOError { err: tls }, &host(), Op::Connect);
        assert_eq!(err.kind, ErrorKind::Other);
        assert!(err.message.starts_with("TLS handshake"), "{}", err.message);

        let status = |code: u16| B::DockerResponseServerError {
            status_code: code,
            message: "No such image: nope:latest".into(),
        };
        let err = map_error(status(404), &host(), Op::Inspect("nope"));
        assert_eq!(err.kind, ErrorKind::NotFound);
        assert_eq!(
            err.message,
            "image not found in the Docker daemon: nope (see `docker images`)"
        );
        assert_eq!(
            map_error(status(404), &host(), Op::Export("nope")).kind,
            ErrorKind::NotFound
        );
        // A 404 while connecting is not about an image (e.g. not a Docker daemon).
        assert_eq!(
            map_error(status(404), &host(), Op::Connect).kind,
            ErrorKind::Other
        );
        assert_eq!(
            map_error(status(400), &host(), Op::Inspect("X")).kind,
            ErrorKind::Usage
        );
        let err = map_error(status(500), &host(), Op::List);
        assert_eq!(err.kind, ErrorKind::Other);
        assert!(err.message.contains("HTTP 500"), "{}", err.message);
    }

    /// A tar archive built with the `tar` crate, like `docker save` output.
    fn tar_bytes() -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        let data = vec![7u8; 3000];
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, "blob", &data[..]).unwrap();
        builder.into_inner().unwrap()
    }

    #[test]
    fn tar_tail_checks_the_end_of_archive() {
        let archive = tar_bytes();
        let mut tail = TarTail::default();
        for chunk in archive.chunks(700) {
            tail.push(chunk);
        }
        assert_eq!(tail.total, archive.len() as u64);
        assert!(tail.check_complete().is_ok());

        let mut cut = TarTail::default();
        cut.push(&archive[..2048]);
        assert!(cut.check_complete().is_err());
        assert!(TarTail::default().check_complete().is_err());

        let mut failed = TarTail::default();
        failed.push(&archive[..1536]);
        failed.push(b"{\"errorDetail\":{\"message\":\"layer gone\"},\"error\":\"layer gone\"}\r\n");
        assert_eq!(
            failed.check_complete().unwrap_err(),
            "the daemon reported: layer gone"
        );
    }

    /// Runs `pump` over `items` on a thread, like `export_thread` does, and returns the
    /// reader.
    fn reader_over(
        items: Vec<std::result::Result<Bytes, bollard::errors::Error>>,
        capacity: usize,
    ) -> ExportStream {
        let (data_tx, data_rx) = mpsc::sync_channel(capacity);
        let (cancel_tx, cancel_rx) = tokio::sync::oneshot::channel();
        let thread = thread::spawn(move || {
            let rt = runtime().unwrap();
            let stream = futures_util::stream::iter(items);
            pump(
                &rt,
                stream,
                &data_tx,
                cancel_rx,
                EXPORT_STALL_TIMEOUT,
                |_| Error::not_found("start error"),
            );
        });
        ExportStream::new(data_rx, cancel_tx, thread)
    }

    fn chunks(data: &[u8], size: usize) -> Vec<std::result::Result<Bytes, bollard::errors::Error>> {
        data.chunks(size)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect()
    }

    #[test]
    fn reader_yields_the_whole_stream() {
        let archive = tar_bytes();
        let mut reader = reader_over(chunks(&archive, 1000), 2);
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        assert_eq!(out, archive);
        let mut entries = tar::Archive::new(&out[..]);
        assert_eq!(entries.entries().unwrap().count(), 1);
        // Reading after the end keeps returning EOF.
        assert_eq!(reader.read(&mut [0u8; 10]).unwrap(), 0);
    }

    #[test]
    fn errors_mid_stream_are_corrupt_not_eof() {
        let archive = tar_bytes();
        let mut items = chunks(&archive[..1024], 512);
        items.push(Err(bollard::errors::Error::IOError {
            err: io::Error::new(io::ErrorKind::UnexpectedEof, "connection reset"),
        }));
        let mut reader = reader_over(items, 2);
        let mut out = Vec::new();
        let err = reader.read_to_end(&mut out).unwrap_err();
        assert_eq!(out.len(), 1024);
        assert_eq!(err.kind(), io::ErrorKind::Other);
        let ours = crate::error::from_io(err, "reading the export");
        assert_eq!(ours.kind, ErrorKind::Corrupt);
        assert!(
            ours.message.starts_with(
                "reading the export: the Docker daemon closed the export stream mid-way"
            ),
            "{}",
            ours.message
        );
        assert!(
            ours.message.contains("connection reset"),
            "{}",
            ours.message
        );
        // The error sticks.
        assert!(reader.read(&mut [0u8; 10]).is_err());
    }

    #[test]
    fn a_cut_stream_is_corrupt() {
        let archive = tar_bytes();
        let mut reader = reader_over(chunks(&archive[..2048], 512), 2);
        let err = io::copy(&mut reader, &mut io::sink()).unwrap_err();
        let ours = crate::error::from_io(err, "export");
        assert_eq!(ours.kind, ErrorKind::Corrupt);
        assert!(ours.message.contains("end-of-archive"), "{}", ours.message);
    }

    #[test]
    fn errors_before_the_first_byte_keep_their_mapping() {
        let items = vec![Err(bollard::errors::Error::RequestTimeoutError)];
        let mut reader = reader_over(items, 2);
        let err = reader.read(&mut [0u8; 10]).unwrap_err();
        let ours = crate::error::from_io(err, "export");
        assert_eq!(ours.kind, ErrorKind::NotFound);
    }

    #[test]
    fn dropping_the_reader_stops_the_thread() {
        // An endless stream: the producer blocks on the full channel until the reader
        // goes away; dropping must not hang.
        let (data_tx, data_rx) = mpsc::sync_channel(1);
        let (cancel_tx, cancel_rx) = tokio::sync::oneshot::channel();
        let thread = thread::spawn(move || {
            let rt = runtime().unwrap();
            let stream = futures_util::stream::repeat_with(|| Ok(Bytes::from_static(&[0u8; 512])));
            pump(
                &rt,
                stream,
                &data_tx,
                cancel_rx,
                EXPORT_STALL_TIMEOUT,
                |e| Error::other(e.to_string()),
            );
        });
        let mut reader = ExportStream::new(data_rx, cancel_tx, thread);
        let mut buf = [0u8; 100];
        assert_eq!(reader.read(&mut buf).unwrap(), 100);
        drop(reader);

        // A stream that never yields: the producer waits in the runtime; the cancel
        // signal wakes it.
        let (data_tx, data_rx) = mpsc::sync_channel(1);
        let (cancel_tx, cancel_rx) = tokio::sync::oneshot::channel();
        let thread = thread::spawn(move || {
            let rt = runtime().unwrap();
            let stream = futures_util::stream::pending();
            pump(
                &rt,
                stream,
                &data_tx,
                cancel_rx,
                EXPORT_STALL_TIMEOUT,
                |e| Error::other(e.to_string()),
            );
        });
        let started = std::time::Instant::now();
        drop(ExportStream::new(data_rx, cancel_tx, thread));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_stalled_stream_times_out() {
        let (data_tx, data_rx) = mpsc::sync_channel(1);
        let (cancel_tx, cancel_rx) = tokio::sync::oneshot::channel();
        let thread = thread::spawn(move || {
            let rt = runtime().unwrap();
            let first = futures_util::stream::iter(vec![Ok(Bytes::from_static(&[1u8; 512]))]);
            let stream = first.chain(futures_util::stream::pending());
            pump(
                &rt,
                stream,
                &data_tx,
                cancel_rx,
                Duration::from_millis(50),
                |e| Error::other(e.to_string()),
            );
        });
        let mut reader = ExportStream::new(data_rx, cancel_tx, thread);
        let err = io::copy(&mut reader, &mut io::sink()).unwrap_err();
        let ours = crate::error::from_io(err, "export");
        assert_eq!(ours.kind, ErrorKind::Corrupt);
        assert!(ours.message.contains("no data for"), "{}", ours.message);
    }

    #[test]
    fn block_on_works_inside_a_runtime() {
        let outer = runtime().unwrap();
        let value = outer
            .block_on(async { block_on(async { Ok(42) }) })
            .unwrap();
        assert_eq!(value, 42);
    }
}
