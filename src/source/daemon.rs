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
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Timeout for ordinary requests (inspect, list) once the daemon has answered.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the export may go without sending a byte. Older daemons (the classic image
/// store) write the whole image to a temporary directory before sending the first
/// byte, which can take minutes for large images.
const EXPORT_STALL_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// How much time `list_images` may spend inspecting images for their layer counts.
const LAYER_COUNT_BUDGET: Duration = Duration::from_secs(2);
/// Concurrent inspects while counting layers.
const LAYER_COUNT_CONCURRENCY: usize = 8;
/// Chunks buffered between the export thread and the reader (hyper hands out chunks of
/// a few KiB up to a few hundred KiB, so this bounds the buffer to a few MiB).
const EXPORT_CHANNEL_CHUNKS: usize = 16;
/// The socket used when nothing else is configured.
const DEFAULT_SOCKET: &str = "/var/run/docker.sock";
/// Hint appended to every "no daemon" message.
const NO_DAEMON_HINT: &str =
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

// ---------------------------------------------------------------------------------
// Host resolution (pure: environment values in, endpoint out; reads only the docker
// config files the environment points at).

/// The environment values that decide which daemon we talk to. Empty values count as
/// unset, as for the docker CLI.
#[derive(Debug, Clone, Default)]
struct HostEnv {
    docker_host: Option<String>,
    docker_tls: Option<String>,
    docker_tls_verify: Option<String>,
    docker_cert_path: Option<String>,
    docker_context: Option<String>,
    docker_config: Option<String>,
    home: Option<PathBuf>,
}

impl HostEnv {
    fn from_process() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        HostEnv {
            docker_host: var("DOCKER_HOST"),
            docker_tls: var("DOCKER_TLS"),
            docker_tls_verify: var("DOCKER_TLS_VERIFY"),
            docker_cert_path: var("DOCKER_CERT_PATH"),
            docker_context: var("DOCKER_CONTEXT"),
            docker_config: var("DOCKER_CONFIG"),
            home: var("HOME").map(PathBuf::from),
        }
    }

    /// The docker CLI config directory: `$DOCKER_CONFIG`, else `~/.docker`.
    fn config_dir(&self) -> Option<PathBuf> {
        match (&self.docker_config, &self.home) {
            (Some(dir), _) => Some(PathBuf::from(dir)),
            (None, Some(home)) => Some(home.join(".docker")),
            (None, None) => None,
        }
    }
}

/// Where the daemon is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Endpoint {
    /// A unix socket path.
    Unix(String),
    /// `host:port`, plain HTTP or HTTPS.
    Tcp { addr: String, tls: Option<Tls> },
}

/// TLS settings for a tcp endpoint. File paths are set only for files that exist.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tls {
    /// The directory the material came from, for messages.
    dir: PathBuf,
    ca: Option<PathBuf>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    /// Verify the daemon's certificate against `ca` (false: accept any certificate).
    verify: bool,
}

impl Tls {
    fn from_dir(dir: PathBuf, verify: bool) -> Tls {
        let existing = |name: &str| Some(dir.join(name)).filter(|p| p.is_file());
        Tls {
            ca: existing("ca.pem"),
            cert: existing("cert.pem"),
            key: existing("key.pem"),
            dir,
            verify,
        }
    }

    fn has_material(&self) -> bool {
        self.ca.is_some() || self.cert.is_some() || self.key.is_some()
    }
}

/// Which setting chose the endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
    Default,
    Env,
    Context(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ResolvedHost {
    endpoint: Endpoint,
    origin: Origin,
}

impl ResolvedHost {
    fn is_local_socket(&self) -> bool {
        matches!(self.endpoint, Endpoint::Unix(_))
    }

    fn default_socket() -> Self {
        ResolvedHost {
            endpoint: Endpoint::Unix(DEFAULT_SOCKET.into()),
            origin: Origin::Default,
        }
    }

    /// The endpoint as a URL-ish string: `unix:///path`, `tcp://host:port`.
    fn url(&self) -> String {
        match &self.endpoint {
            Endpoint::Unix(path) => format!("unix://{path}"),
            Endpoint::Tcp { addr, .. } => format!("tcp://{addr}"),
        }
    }
}

impl fmt::Display for ResolvedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url())?;
        match &self.origin {
            Origin::Default => Ok(()),
            Origin::Env => f.write_str(" (from DOCKER_HOST)"),
            Origin::Context(name) => write!(f, " (docker context {name:?})"),
        }
    }
}

fn current_host() -> Result<ResolvedHost> {
    resolve_host(&HostEnv::from_process())
}

/// Decides which daemon to use, following the docker CLI's precedence (see the module
/// documentation). Reads `config.json`, the context's `meta.json` and checks for TLS
/// files; never contacts anything.
fn resolve_host(env: &HostEnv) -> Result<ResolvedHost> {
    let config_dir = env.config_dir();
    if let Some(host) = &env.docker_host {
        let verify = env.docker_tls_verify.is_some();
        let tls = (verify || env.docker_tls.is_some()).then(|| {
            let dir = env
                .docker_cert_path
                .as_ref()
                .map(PathBuf::from)
                .or_else(|| config_dir.clone())
                .unwrap_or_default();
            Tls::from_dir(dir, verify)
        });
        let endpoint = parse_host(host, tls).map_err(|e| e.context("DOCKER_HOST"))?;
        return Ok(ResolvedHost {
            endpoint,
            origin: Origin::Env,
        });
    }

    let Some(config_dir) = config_dir else {
        return Ok(ResolvedHost::default_socket());
    };
    let (name, from) = match &env.docker_context {
        Some(name) => (name.clone(), "DOCKER_CONTEXT".to_string()),
        None => match current_context(&config_dir) {
            Some(name) => (
                name,
                format!(
                    "currentContext in {}",
                    config_dir.join("config.json").display()
                ),
            ),
            None => return Ok(ResolvedHost::default_socket()),
        },
    };
    if name == "default" {
        return Ok(ResolvedHost::default_socket());
    }
    let endpoint = context_endpoint(&config_dir, &name)
        .map_err(|e| e.context(format!("docker context {name:?} (from {from})")))?;
    Ok(ResolvedHost {
        endpoint,
        origin: Origin::Context(name),
    })
}

/// `currentContext` from `config.json`, if any. Like the docker CLI, an unreadable or
/// invalid config file is ignored.
fn current_context(config_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(config_dir.join("config.json")).ok()?;
    let config: serde_json::Value = serde_json::from_str(&text).ok()?;
    config
        .get("currentContext")?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The docker endpoint of context `name`, stored under its sha256 in the config dir.
fn context_endpoint(config_dir: &Path, name: &str) -> Result<Endpoint> {
    use sha2::{Digest, Sha256};
    let hash = hex::encode(Sha256::digest(name.as_bytes()));
    let meta_path = config_dir
        .join("contexts")
        .join("meta")
        .join(&hash)
        .join("meta.json");
    let text = std::fs::read_to_string(&meta_path).map_err(|e| {
        let why = if e.kind() == io::ErrorKind::NotFound {
            "no such context (see `docker context ls`)".to_string()
        } else {
            format!("cannot read {}: {e}", meta_path.display())
        };
        Error::usage(why)
    })?;
    let meta: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::usage(format!("invalid {}: {e}", meta_path.display())))?;
    let docker = meta.get("Endpoints").and_then(|e| e.get("docker"));
    let host = docker
        .and_then(|d| d.get("Host"))
        .and_then(|h| h.as_str())
        .filter(|h| !h.is_empty())
        .ok_or_else(|| {
            Error::usage(format!(
                "{} has no Endpoints.docker.Host",
                meta_path.display()
            ))
        })?;
    let skip_verify = docker
        .and_then(|d| d.get("SkipTLSVerify"))
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let tls_dir = config_dir
        .join("contexts")
        .join("tls")
        .join(&hash)
        .join("docker");
    // As in the docker CLI: TLS when the context stores TLS material or skips
    // verification; verified unless SkipTLSVerify.
    let tls = Tls::from_dir(tls_dir, !skip_verify);
    let tls = (tls.has_material() || skip_verify).then_some(tls);
    parse_host(host, tls)
}

/// Parses a docker host string. `tls` applies to `tcp://` hosts (and a bare
/// `host:port`); `http://` is always plain and `https://` always TLS.
fn parse_host(host: &str, tls: Option<Tls>) -> Result<Endpoint> {
    let (scheme, rest) = match host.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        None if host.starts_with('/') => ("unix".to_string(), host),
        None => ("tcp".to_string(), host),
    };
    let unsupported = |what: &str| {
        Error::usage(format!(
            "{host:?}: {what} hosts are not supported (use unix://, tcp://, http:// or \
             https://; for ssh, forward the socket with `ssh -NL /tmp/docker.sock:/var/run/docker.sock HOST` \
             and set DOCKER_HOST=unix:///tmp/docker.sock)"
        ))
    };
    let (tls, default_port) = match scheme.as_str() {
        "unix" => {
            if rest.is_empty() {
                return Err(Error::usage(format!("{host:?}: missing socket path")));
            }
            return Ok(Endpoint::Unix(rest.to_string()));
        }
        "tcp" => {
            let port = if tls.is_some() { 2376 } else { 2375 };
            (tls, port)
        }
        "http" => (None, 80),
        "https" => (
            Some(tls.unwrap_or_else(|| Tls::from_dir(PathBuf::new(), true))),
            443,
        ),
        "ssh" => return Err(unsupported("ssh://")),
        "npipe" => return Err(unsupported("npipe://")),
        "fd" => return Err(unsupported("fd://")),
        other => return Err(unsupported(&format!("{other}://"))),
    };
    let addr = rest.trim_end_matches('/');
    if addr.contains('/') {
        return Err(Error::usage(format!(
            "{host:?}: a path after the address is not supported"
        )));
    }
    Ok(Endpoint::Tcp {
        addr: with_port(addr, default_port),
        tls,
    })
}

/// Adds `port` to `addr` when it has none; an empty host means localhost.
fn with_port(addr: &str, port: u16) -> String {
    let addr = if addr.is_empty() || addr.starts_with(':') {
        format!("localhost{addr}")
    } else {
        addr.to_string()
    };
    let has_port = match addr.strip_prefix('[') {
        Some(v6) => v6.contains("]:"),
        None => addr.contains(':'),
    };
    if has_port {
        addr
    } else {
        format!("{addr}:{port}")
    }
}

// ---------------------------------------------------------------------------------
// Connecting.

/// A current-thread runtime with timers and I/O.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::other(format!("cannot start the Docker client runtime: {e}")))
}

/// Runs `fut` to completion on a fresh current-thread runtime. Inside an existing
/// runtime (where blocking on another one would panic) it runs on a helper thread.
fn block_on<T: Send>(fut: impl Future<Output = Result<T>> + Send) -> Result<T> {
    let run = move || runtime()?.block_on(fut);
    if tokio::runtime::Handle::try_current().is_err() {
        return run();
    }
    thread::scope(|s| {
        s.spawn(run)
            .join()
            .unwrap_or_else(|_| Err(Error::other("the Docker client thread panicked")))
    })
}

/// Connects to `host` and negotiates the API version, within [`CONNECT_TIMEOUT`]. The
/// returned client uses [`REQUEST_TIMEOUT`].
async fn connect(host: &ResolvedHost) -> Result<Docker> {
    let timeout = CONNECT_TIMEOUT.as_secs();
    let docker = match &host.endpoint {
        Endpoint::Unix(path) => Docker::connect_with_unix(path, timeout, API_DEFAULT_VERSION)
            .map_err(|e| map_error(e, host, Op::Connect))?,
        Endpoint::Tcp { addr, tls: None } => {
            Docker::connect_with_http(&format!("tcp://{addr}"), timeout, API_DEFAULT_VERSION)
                .map_err(|e| map_error(e, host, Op::Connect))?
        }
        Endpoint::Tcp {
            addr,
            tls: Some(tls),
        } => connect_tls(addr, tls, timeout).map_err(|e| {
            Error::usage(format!(
                "TLS setup for the Docker daemon at {host} failed: {e} (certificates from {})",
                tls.dir.display()
            ))
        })?,
    };
    let docker = docker
        .negotiate_version()
        .await
        .map_err(|e| map_error(e, host, Op::Connect))?;
    Ok(docker.with_timeout(REQUEST_TIMEOUT))
}

/// An HTTPS client for `addr`. bollard's own TLS connector always verifies the daemon
/// certificate and needs a CA file; contexts with `SkipTLSVerify` (and `DOCKER_TLS`
/// without `DOCKER_TLS_VERIFY`) need a custom one, so all TLS goes through this one.
fn connect_tls(addr: &str, tls: &Tls, timeout: u64) -> std::result::Result<Docker, String> {
    use hyper_util::client::legacy::Client;
    use hyper_util::client::legacy::connect::HttpConnector;
    use hyper_util::rt::TokioExecutor;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = if tls.verify {
        let ca = tls
            .ca
            .as_ref()
            .ok_or("TLS verification is on but there is no ca.pem")?;
        let mut roots = rustls::RootCertStore::empty();
        let certs = CertificateDer::pem_file_iter(ca)
            .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
            .map_err(|e| format!("cannot read {}: {e}", ca.display()))?;
        let (added, _) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(format!("no usable certificate in {}", ca.display()));
        }
        builder.with_root_certificates(roots)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert(provider)))
    };
    let config = match (&tls.cert, &tls.key) {
        (Some(cert), Some(key)) => {
            let certs = CertificateDer::pem_file_iter(cert)
                .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
                .map_err(|e| format!("cannot read {}: {e}", cert.display()))?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| format!("cannot read {}: {e}", key.display()))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| format!("unusable client certificate: {e}"))?
        }
        _ => builder.with_no_client_auth(),
    };

    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(Duration::from_secs(timeout)));
    let https = hyper_rustls::HttpsConnector::from((http, config));
    let client = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build(https);
    let transport = move |request: BollardRequest| {
        let client = client.clone();
        async move {
            client
                .request(request)
                .await
                .map_err(bollard::errors::Error::from)
        }
    };
    Docker::connect_with_custom_transport(
        transport,
        Some(format!("https://{addr}")),
        timeout,
        API_DEFAULT_VERSION,
    )
    .map_err(|e| e.to_string())
}

/// Certificate "verifier" for `SkipTLSVerify`: accepts any daemon certificate, but
/// still checks the handshake signatures.
#[derive(Debug)]
struct AcceptAnyServerCert(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

// ---------------------------------------------------------------------------------
// Error mapping.

/// What we were doing when a bollard call failed.
#[derive(Debug, Clone, Copy)]
enum Op<'a> {
    Connect,
    List,
    Inspect(&'a str),
    Export(&'a str),
}

/// The gist of a bollard error.
#[derive(Debug, PartialEq, Eq)]
enum Cause {
    /// No socket file at the path.
    NoSocket,
    /// Could not reach the daemon (refused, unreachable, DNS...).
    Unreachable(String),
    /// No answer within the client timeout.
    Timeout,
    PermissionDenied,
    Tls(String),
    /// The daemon answered with an HTTP error.
    Status(u16, String),
    Other(String),
}

fn classify(err: &bollard::errors::Error) -> Cause {
    use bollard::errors::Error as B;
    match err {
        B::SocketNotFoundError(_) => return Cause::NoSocket,
        B::RequestTimeoutError => return Cause::Timeout,
        B::DockerResponseServerError {
            status_code,
            message,
        } => return Cause::Status(*status_code, message.clone()),
        // A transparent variant: its source() skips the io::Error itself.
        B::IOError { err } => {
            if let Some(cause) = io_cause(err) {
                return cause;
            }
        }
        _ => {}
    }
    let mut connect_failed = false;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Cause::Tls(tls.to_string());
        }
        if let Some(cause) = e.downcast_ref::<io::Error>().and_then(io_cause) {
            return cause;
        }
        if let Some(legacy) = e.downcast_ref::<hyper_util::client::legacy::Error>() {
            connect_failed |= legacy.is_connect();
        }
        source = e.source();
    }
    if connect_failed {
        Cause::Unreachable(innermost_message(err))
    } else {
        Cause::Other(chain_message(err))
    }
}

/// The cause an I/O error stands for, if it says anything specific.
fn io_cause(io: &io::Error) -> Option<Cause> {
    // io::Error::source skips the wrapped error itself: look at it here, through any
    // nesting (hyper-rustls wraps rustls errors in two io::Errors).
    if let Some(inner) = io.get_ref() {
        if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
            return Some(Cause::Tls(tls.to_string()));
        }
        if let Some(cause) = inner.downcast_ref::<io::Error>().and_then(io_cause) {
            return Some(cause);
        }
    }
    use io::ErrorKind as K;
    match io.kind() {
        K::PermissionDenied => Some(Cause::PermissionDenied),
        K::NotFound
        | K::ConnectionRefused
        | K::ConnectionReset
        | K::ConnectionAborted
        | K::AddrNotAvailable
        | K::HostUnreachable
        | K::NetworkUnreachable => Some(Cause::Unreachable(io.to_string())),
        K::TimedOut => Some(Cause::Timeout),
        _ => None,
    }
}

/// An error and its sources on one line, skipping sources already quoted.
fn chain_message(err: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let part = e.to_string();
        if !msg.contains(&part) {
            msg = format!("{msg}: {part}");
        }
        source = e.source();
    }
    msg
}

fn innermost_message(err: &(dyn std::error::Error + 'static)) -> String {
    let mut last = err;
    while let Some(e) = last.source() {
        last = e;
    }
    last.to_string()
}

/// Turns a bollard error into one actionable line of ours.
fn map_error(err: bollard::errors::Error, host: &ResolvedHost, op: Op<'_>) -> Error {
    let no_daemon = |why: &str| {
        Error::new(
            ErrorKind::NoDaemon,
            format!("cannot connect to the Docker daemon at {host}: {why}; {NO_DAEMON_HINT}"),
        )
    };
    match classify(&err) {
        Cause::NoSocket => no_daemon("no socket there"),
        Cause::Unreachable(why) => no_daemon(&why),
        Cause::Timeout => match op {
            Op::Connect => no_daemon(&format!("no answer within {} s", CONNECT_TIMEOUT.as_secs())),
            _ => Error::other(format!(
                "the Docker daemon at {host} did not answer within {} s",
                REQUEST_TIMEOUT.as_secs()
            )),
        },
        Cause::PermissionDenied => {
            let what = match &host.endpoint {
                Endpoint::Unix(path) => format!("the Docker socket {path}"),
                Endpoint::Tcp { .. } => format!("the Docker daemon at {host}"),
            };
            Error::new(
                ErrorKind::PermissionDenied,
                format!(
                    "permission denied on {what}: add your user to the docker group \
                     (`sudo usermod -aG docker $USER`, then log in again) or run as root"
                ),
            )
        }
        Cause::Tls(why) => Error::other(format!(
            "TLS handshake with the Docker daemon at {host} failed: {why} \
             (check DOCKER_CERT_PATH / the context's certificates)"
        )),
        Cause::Status(404, _) if matches!(op, Op::Inspect(_) | Op::Export(_)) => {
            let (Op::Inspect(reference) | Op::Export(reference)) = op else {
                unreachable!()
            };
            Error::not_found(format!(
                "image not found in the Docker daemon: {reference} (see `docker images`)"
            ))
        }
        Cause::Status(400, msg) if matches!(op, Op::Inspect(_)) => {
            let Op::Inspect(reference) = op else {
                unreachable!()
            };
            Error::usage(format!("invalid image reference {reference:?}: {msg}"))
        }
        Cause::Status(code, msg) => {
            let doing = match op {
                Op::Connect => "connecting".to_string(),
                Op::List => "listing images".to_string(),
                Op::Inspect(r) => format!("inspecting {r}"),
                Op::Export(r) => format!("exporting {r}"),
            };
            Error::other(format!(
                "the Docker daemon at {host} refused {doing} (HTTP {code}): {msg}"
            ))
        }
        Cause::Other(msg) => Error::other(format!("talking to the Docker daemon at {host}: {msg}")),
    }
}

// ---------------------------------------------------------------------------------
// Images.

/// Rejects references that are not Docker references before they reach a URL path.
fn validate_reference(reference: &str) -> Result<()> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._-/:@".contains(c);
    let valid = !reference.is_empty()
        && reference.len() <= 512
        && reference.chars().all(allowed)
        && !reference.starts_with(['-', '/', '.', ':', '@'])
        && reference.split('/').all(|seg| seg != "." && seg != "..");
    if valid {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "invalid image reference {reference:?}: expected NAME[:TAG], NAME@DIGEST or an image id"
        )))
    }
}

async fn inspect(docker: &Docker, host: &ResolvedHost, reference: &str) -> Result<DaemonImage> {
    let inspect = docker
        .inspect_image(reference)
        .await
        .map_err(|e| map_error(e, host, Op::Inspect(reference)))?;
    let id = inspect.id.filter(|id| !id.is_empty()).ok_or_else(|| {
        Error::other(format!(
            "the Docker daemon at {host} returned no id for {reference}"
        ))
    })?;
    Ok(DaemonImage {
        id,
        repo_tags: inspect.repo_tags.unwrap_or_default(),
        repo_digests: inspect.repo_digests.unwrap_or_default(),
        size: inspect
            .size
            .and_then(|s| u64::try_from(s).ok())
            .unwrap_or(0),
        os: inspect.os.unwrap_or_default(),
        architecture: inspect.architecture.unwrap_or_default(),
        created: inspect.created.filter(|c| !c.is_empty()),
        diff_ids: inspect.root_fs.and_then(|r| r.layers).unwrap_or_default(),
    })
}

/// Fills `layer_count` by inspecting images concurrently, until the time budget runs
/// out. Failures just leave `None`.
async fn fill_layer_counts(docker: &Docker, images: &mut [ImageSummary]) {
    let deadline = tokio::time::Instant::now() + LAYER_COUNT_BUDGET;
    let ids: Vec<(usize, String)> = images
        .iter()
        .enumerate()
        .map(|(i, image)| (i, image.id.clone()))
        .collect();
    let mut lookups = futures_util::stream::iter(ids)
        .map(|(i, id)| {
            let docker = docker.clone();
            async move { (i, docker.inspect_image(&id).await) }
        })
        .buffer_unordered(LAYER_COUNT_CONCURRENCY);
    while let Ok(Some((i, result))) = tokio::time::timeout_at(deadline, lookups.next()).await {
        if let Ok(inspect) = result {
            let layers = inspect.root_fs.and_then(|r| r.layers);
            images[i].layer_count = layers.as_ref().map(|l| l.len());
            images[i].diff_ids = layers.unwrap_or_default();
        }
    }
}

/// What to hand to `docker save`: the full id when the user named the image by id or
/// digest, else the user's name with `:latest` added when untagged (an untagged name
/// would save every tag of the repository).
fn save_reference(reference: &str, image: &DaemonImage) -> String {
    let tagged = with_default_tag(reference);
    let is_tag = image
        .repo_tags
        .iter()
        .any(|t| normalize_name(t) == normalize_name(&tagged));
    if reference.contains('@') || (!is_tag && is_id_prefix(reference, &image.id)) {
        image.id.clone()
    } else {
        tagged
    }
}

/// `name` with `:latest` when its last path component has no tag.
fn with_default_tag(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') || name.contains('@') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

/// Drops the implicit Docker Hub parts of a name (`docker.io/library/x` is `x`).
fn normalize_name(name: &str) -> &str {
    let name = name
        .strip_prefix("docker.io/")
        .or_else(|| name.strip_prefix("index.docker.io/"))
        .unwrap_or(name);
    name.strip_prefix("library/").unwrap_or(name)
}

/// Whether `reference` is (a prefix of) the image id, with or without `sha256:`.
fn is_id_prefix(reference: &str, id: &str) -> bool {
    let hex = reference.strip_prefix("sha256:").unwrap_or(reference);
    let id_hex = id.strip_prefix("sha256:").unwrap_or(id);
    !hex.is_empty()
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && id_hex.starts_with(hex)
}

// ---------------------------------------------------------------------------------
// Streaming the export.

/// What the export thread sends to the reader.
enum Chunk {
    Data(Bytes),
    /// The archive ended completely.
    End,
    /// The export failed; the reader returns this error.
    Failed(Error),
}

/// The body of the export thread: connect, inspect, report the image, then stream.
#[allow(clippy::type_complexity)]
fn export_thread(
    host: ResolvedHost,
    references: Vec<String>,
    meta_tx: SyncSender<Result<Vec<(DaemonImage, String)>>>,
    data_tx: SyncSender<Chunk>,
    cancel_rx: tokio::sync::oneshot::Receiver<()>,
) {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            let _ = meta_tx.send(Err(e));
            return;
        }
    };
    let prepared = rt.block_on(async {
        let docker = connect(&host).await?;
        let mut images = Vec::new();
        for reference in &references {
            let image = inspect(&docker, &host, reference).await?;
            let exported_as = save_reference(reference, &image);
            images.push((image, exported_as));
        }
        Ok::<_, Error>((docker, images))
    });
    let (docker, images) = match prepared {
        Ok(prepared) => prepared,
        Err(e) => {
            let _ = meta_tx.send(Err(e));
            return;
        }
    };
    let mut names: Vec<String> = images.iter().map(|(_, n)| n.clone()).collect();
    names.dedup();
    if meta_tx.send(Ok(images)).is_err() {
        return;
    }
    drop(meta_tx);
    let reference = references.join(" ");
    // Our own stall timer (in `pump`) fires first, with a better message.
    let docker = docker.with_timeout(EXPORT_STALL_TIMEOUT + Duration::from_secs(60));
    let name_refs: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
    let stream = if name_refs.len() == 1 {
        docker.export_image(name_refs[0]).boxed()
    } else {
        docker.export_images(&name_refs).boxed()
    };
    pump(
        &rt,
        stream,
        &data_tx,
        cancel_rx,
        EXPORT_STALL_TIMEOUT,
        |e| map_error(e, &host, Op::Export(&reference)),
    );
}

/// Moves the export stream into the channel until it ends, fails, stalls for `stall`,
/// or the reader goes away (`cancel_rx` fires or the channel closes). Errors before
/// the first byte are mapped by `map_start_error`; later ones become `Corrupt`.
fn pump<S>(
    rt: &tokio::runtime::Runtime,
    stream: S,
    data_tx: &SyncSender<Chunk>,
    mut cancel_rx: tokio::sync::oneshot::Receiver<()>,
    stall: Duration,
    map_start_error: impl FnOnce(bollard::errors::Error) -> Error,
) where
    S: Stream<Item = std::result::Result<Bytes, bollard::errors::Error>>,
{
    let mut stream = std::pin::pin!(stream);
    let mut tail = TarTail::default();
    let mut map_start_error = Some(map_start_error);
    loop {
        let next = rt.block_on(async {
            tokio::select! {
                _ = &mut cancel_rx => None,
                next = tokio::time::timeout(stall, stream.next()) => Some(next),
            }
        });
        let chunk = match next {
            None => return,
            Some(Ok(Some(Ok(bytes)))) => {
                if bytes.is_empty() {
                    continue;
                }
                tail.push(&bytes);
                Chunk::Data(bytes)
            }
            Some(Ok(Some(Err(e)))) => Chunk::Failed(match map_start_error.take() {
                Some(map) if tail.total == 0 => map(e),
                _ => mid_way(&tail, &chain_message(&e)),
            }),
            Some(Ok(None)) => match tail.check_complete() {
                Ok(()) => Chunk::End,
                Err(why) => Chunk::Failed(mid_way(&tail, &why)),
            },
            Some(Err(_elapsed)) if tail.total == 0 => Chunk::Failed(Error::other(format!(
                "the Docker daemon did not start the export within {} minutes",
                stall.as_secs() / 60
            ))),
            Some(Err(_elapsed)) => Chunk::Failed(mid_way(
                &tail,
                &format!("no data for {} s", stall.as_secs()),
            )),
        };
        let last = !matches!(chunk, Chunk::Data(_));
        if data_tx.send(chunk).is_err() || last {
            return;
        }
    }
}

fn mid_way(tail: &TarTail, cause: &str) -> Error {
    Error::corrupt(format!(
        "the Docker daemon closed the export stream mid-way (after {} bytes): {cause}",
        tail.total
    ))
}

/// Tracks the end of the export to tell a complete tar from a cut one: a complete
/// archive is a whole number of 512-byte blocks ending in two zero blocks. A daemon
/// that fails after it started sending appends a JSON error message instead.
#[derive(Default)]
struct TarTail {
    total: u64,
    tail: Vec<u8>,
}

impl TarTail {
    /// Bytes kept: the end-of-archive marker plus room for a daemon error message.
    const KEEP: usize = 4096;

    fn push(&mut self, data: &[u8]) {
        self.total += data.len() as u64;
        let take = data.len().min(Self::KEEP);
        self.tail.extend_from_slice(&data[data.len() - take..]);
        if self.tail.len() > Self::KEEP {
            let excess = self.tail.len() - Self::KEEP;
            self.tail.drain(..excess);
        }
    }

    fn check_complete(&self) -> std::result::Result<(), String> {
        if self.total == 0 {
            return Err("the export was empty".into());
        }
        let marker =
            self.tail.len() >= 1024 && self.tail[self.tail.len() - 1024..].iter().all(|&b| b == 0);
        if self.total.is_multiple_of(512) && marker {
            return Ok(());
        }
        Err(daemon_error_in(&self.tail)
            .unwrap_or_else(|| "the archive ends without the tar end-of-archive marker".into()))
    }
}

/// The message of a JSON error (`{"errorDetail":{"message":...},"error":...}`) that
/// the daemon wrote into the stream, if any.
fn daemon_error_in(tail: &[u8]) -> Option<String> {
    let needle = b"{\"errorDetail\"";
    let start = tail.windows(needle.len()).rposition(|w| w == needle)?;
    let value = serde_json::Deserializer::from_slice(&tail[start..])
        .into_iter::<serde_json::Value>()
        .next()?
        .ok()?;
    let message = value
        .get("error")
        .and_then(|m| m.as_str())
        .or_else(|| value.get("errorDetail")?.get("message")?.as_str())?;
    Some(format!("the daemon reported: {message}"))
}

/// The reader side of the export: blocks for the next chunk from the export thread.
struct ExportStream {
    rx: Option<Receiver<Chunk>>,
    /// Dropping it tells the export thread to stop waiting for the daemon.
    cancel: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    current: Bytes,
    state: StreamState,
}

enum StreamState {
    Streaming,
    Done,
    Failed(Error),
}

impl ExportStream {
    fn new(
        rx: Receiver<Chunk>,
        cancel: tokio::sync::oneshot::Sender<()>,
        thread: JoinHandle<()>,
    ) -> Self {
        ExportStream {
            rx: Some(rx),
            cancel: Some(cancel),
            thread: Some(thread),
            current: Bytes::new(),
            state: StreamState::Streaming,
        }
    }

    /// Stops the export thread (if still running) and waits for it.
    fn stop(&mut self) {
        drop(self.cancel.take());
        drop(self.rx.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Read for ExportStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.current.is_empty() {
                let n = buf.len().min(self.current.len());
                buf[..n].copy_from_slice(&self.current[..n]);
                self.current.advance(n);
                return Ok(n);
            }
            match &self.state {
                StreamState::Streaming => {}
                StreamState::Done => return Ok(0),
                StreamState::Failed(e) => return Err(io::Error::other(e.clone())),
            }
            let received = match &self.rx {
                Some(rx) => rx.recv().ok(),
                None => None,
            };
            match received {
                Some(Chunk::Data(bytes)) => self.current = bytes,
                Some(Chunk::End) => {
                    self.state = StreamState::Done;
                    self.stop();
                }
                Some(Chunk::Failed(e)) => {
                    self.state = StreamState::Failed(e);
                    self.stop();
                }
                None => {
                    self.state = StreamState::Failed(Error::corrupt(
                        "the Docker daemon closed the export stream mid-way: \
                         the export thread stopped unexpectedly",
                    ));
                    self.stop();
                }
            }
        }
    }
}

impl Drop for ExportStream {
    fn drop(&mut self) {
        self.stop();
    }
}

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
