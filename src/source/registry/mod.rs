//! A read-only registry client (OCI distribution / Docker registry v2), on top of
//! `oci-client`: manifests and indexes (Docker v2 and OCI media types), tag lists,
//! `HEAD` of a blob in a repository, and blobs streamed with their digest verified.
//! Only `GET` and `HEAD` are ever sent.
//!
//! Authentication like docker's: credentials for the registry from
//! `~/.docker/config.json` (`auths`, `credsStore`, `credHelpers`, through
//! `docker_credential`), then anonymous, basic or bearer-token challenges as the
//! registry asks. HTTPS with the system roots; plain HTTP for `localhost`,
//! 127.0.0.0/8, `::1` and registries named with `--insecure-registry`.
//!
//! Every failure is one line: unreachable, 401/403, unknown repository, tag or blob, a
//! digest mismatch, or a registry that stalls (connect and read timeouts).

pub mod facts;
pub mod gosize;
pub mod load;

use crate::error::{Error, ErrorKind, Result};
use futures_util::StreamExt;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::io::Read;
use std::sync::Mutex;
use std::time::Duration;

/// User agent of every request (tests find layerlens's requests in a registry's log).
pub const USER_AGENT: &str = concat!("layerlens/", env!("CARGO_PKG_VERSION"));

/// Environment variable: seconds for the connect and read timeouts (default 30).
pub const TIMEOUT_ENV: &str = "LAYERLENS_REGISTRY_TIMEOUT";

pub const MT_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const MT_DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const MT_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const MT_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// What a manifest request accepts.
pub const MANIFEST_TYPES: &[&str] = &[
    MT_DOCKER_MANIFEST,
    MT_DOCKER_LIST,
    MT_OCI_MANIFEST,
    MT_OCI_INDEX,
];

static INSECURE: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Registries (`HOST[:PORT]`) to reach over plain HTTP (`--insecure-registry`), for the
/// whole process.
pub fn add_insecure_registries<S: AsRef<str>>(hosts: &[S]) {
    let mut v = INSECURE.lock().unwrap_or_else(|e| e.into_inner());
    for h in hosts {
        let h = h.as_ref().trim().trim_end_matches('/');
        let h = h
            .strip_prefix("http://")
            .or_else(|| h.strip_prefix("https://"))
            .unwrap_or(h);
        if !h.is_empty() && !v.iter().any(|x| x == h) {
            v.push(h.to_string());
        }
    }
}

/// Whether `registry` (`HOST[:PORT]`) is spoken to over plain HTTP: loopback addresses
/// and names, and `--insecure-registry` hosts (with or without the port).
pub fn is_plain_http(registry: &str) -> bool {
    let host = host_part(registry);
    if host == "localhost" || host == "::1" || host == "[::1]" {
        return true;
    }
    if let Ok(ip) = host.parse::<std::net::Ipv4Addr>() {
        if ip.is_loopback() {
            return true;
        }
    }
    let v = INSECURE.lock().unwrap_or_else(|e| e.into_inner());
    v.iter().any(|x| x == registry || x == host)
}

fn host_part(registry: &str) -> &str {
    if registry.starts_with('[') {
        return registry
            .split(']')
            .next()
            .map_or(registry, |h| &registry[..h.len() + 1]);
    }
    registry.rsplit_once(':').map_or(registry, |(h, p)| {
        if p.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            registry
        }
    })
}

/// A reference to an image in a registry: `HOST/REPO[:TAG|@DIGEST]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryRef {
    /// `HOST[:PORT]` as docker names it (`docker.io` for Docker Hub).
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl RegistryRef {
    /// Parse `HOST/REPO:TAG`, `HOST/REPO@sha256:…` or a Docker Hub name (`alpine:3.20`).
    pub fn parse(s: &str) -> Result<RegistryRef> {
        let bad = |why: &str| {
            Error::usage(format!(
                "invalid registry reference {:?}: {why} (expected HOST/REPO[:TAG] or HOST/REPO@sha256:…)",
                crate::report::escape_controls(s)
            ))
        };
        if s.is_empty() || s.len() > 1024 || s.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(bad("empty or has spaces"));
        }
        let r: Reference = s.parse().map_err(|e| bad(&format!("{e}")))?;
        let digest = r.digest().map(str::to_string);
        if let Some(d) = &digest {
            if !valid_digest(d) {
                return Err(bad("the digest is not sha256:<64 hex digits>"));
            }
        }
        let parsed = RegistryRef {
            registry: r.registry().to_string(),
            repository: r.repository().to_string(),
            tag: r.tag().map(str::to_string),
            digest,
        };
        // The qualified name is what is requested and shown: it must be a reference too
        // (`Ab/c` reads as a Docker Hub repository with a capital, which none can have).
        if parsed.to_string().parse::<Reference>().is_err() {
            return Err(bad(&format!(
                "{parsed} is not a valid reference (repository names are lowercase)"
            )));
        }
        Ok(parsed)
    }

    /// The tag or digest this reference names (`latest` when neither).
    pub fn reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.clone(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".into(),
        }
    }
}

impl std::fmt::Display for RegistryRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

pub fn valid_digest(d: &str) -> bool {
    d.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn timeout() -> Duration {
    let secs = std::env::var(TIMEOUT_ENV)
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .unwrap_or(30.0);
    Duration::from_secs_f64(secs)
}

/// A fetched manifest or index.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub bytes: Vec<u8>,
    /// sha256 of `bytes` (checked against the reference when it named a digest).
    pub digest: String,
    pub media_type: String,
}

/// A descriptor in a manifest.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, PartialEq, Eq)]
pub struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub digest: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformDesc>,
}

#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, PartialEq, Eq)]
pub struct PlatformDesc {
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
}

/// An image manifest (Docker v2 schema 2 or OCI) or an index, as far as we need it.
#[derive(Debug, Clone, serde::Deserialize, Default)]
pub struct ManifestDoc {
    #[serde(rename = "schemaVersion", default)]
    pub schema_version: u32,
    #[serde(rename = "mediaType", default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub config: Option<Descriptor>,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}

impl ManifestDoc {
    pub fn parse(f: &Fetched) -> Result<ManifestDoc> {
        let doc: ManifestDoc = serde_json::from_slice(&f.bytes).map_err(|e| {
            Error::corrupt(format!(
                "the registry sent a manifest that is not valid JSON: {e}"
            ))
        })?;
        if doc.schema_version != 2 {
            return Err(Error::corrupt(format!(
                "the registry sent a schema {} manifest; only schema 2 (Docker v2, OCI) is supported",
                doc.schema_version
            )));
        }
        Ok(doc)
    }

    pub fn is_index(&self, header_type: &str) -> bool {
        let mt = self.media_type.as_deref().unwrap_or(header_type);
        mt == MT_DOCKER_LIST
            || mt == MT_OCI_INDEX
            || (self.config.is_none() && !self.manifests.is_empty())
    }
}

/// A client for one registry.
pub struct Registry {
    pub registry: String,
    client: Client,
    auth: RegistryAuth,
    /// Why the credentials could not be read (said when the registry then refuses us).
    auth_note: Option<String>,
    rt: tokio::runtime::Runtime,
    authed: Mutex<HashSet<String>>,
    timeout: Duration,
}

impl Registry {
    /// A client for `registry` (`HOST[:PORT]`, `docker.io` for Docker Hub). Nothing is
    /// sent until the first request.
    pub fn new(registry: &str) -> Result<Registry> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let timeout = timeout();
        let protocol = if is_plain_http(registry) {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        };
        let config = ClientConfig {
            protocol,
            read_timeout: Some(timeout),
            connect_timeout: Some(timeout.min(Duration::from_secs(10))),
            user_agent: USER_AGENT,
            platform_resolver: None,
            ..Default::default()
        };
        let client = Client::try_from(config).map_err(|e| {
            Error::other(format!(
                "cannot set up the registry client for {registry}: {e}"
            ))
        })?;
        let (auth, auth_note) = credentials(registry);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("registry")
            .enable_all()
            .build()
            .map_err(|e| Error::other(format!("cannot start the registry client runtime: {e}")))?;
        Ok(Registry {
            registry: registry.to_string(),
            client,
            auth,
            auth_note,
            rt,
            authed: Mutex::new(HashSet::new()),
            timeout,
        })
    }

    fn image(&self, repo: &str, reference: &str) -> Reference {
        if reference.starts_with("sha256:") {
            Reference::with_digest(
                self.registry.clone(),
                repo.to_string(),
                reference.to_string(),
            )
        } else {
            Reference::with_tag(
                self.registry.clone(),
                repo.to_string(),
                reference.to_string(),
            )
        }
    }

    /// Runs `fut` on this client's runtime, with an overall deadline (a registry that
    /// accepts and never answers must not hang us).
    fn run<T: Send>(
        &self,
        what: &str,
        fut: impl Future<Output = std::result::Result<T, OciDistributionError>> + Send,
    ) -> Result<T> {
        let deadline = self.timeout * 2 + Duration::from_secs(1);
        let run = || {
            self.rt.block_on(async {
                match tokio::time::timeout(deadline, fut).await {
                    Ok(r) => r.map_err(|e| self.map_err(e, what)),
                    Err(_) => Err(self.stalled(what)),
                }
            })
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            std::thread::scope(|s| {
                s.spawn(run)
                    .join()
                    .unwrap_or_else(|_| Err(Error::other("the registry client thread panicked")))
            })
        } else {
            run()
        }
    }

    fn stalled(&self, what: &str) -> Error {
        Error::io(format!(
            "registry {} stalled: no answer within {:.0} s while {what} (set {TIMEOUT_ENV}=SECONDS to wait longer)",
            self.registry,
            self.timeout.as_secs_f64()
        ))
    }

    /// Authenticates for pulling from `repo` once (GET /v2/, and the token realm when the
    /// registry asks for a bearer token).
    fn ensure_auth(&self, repo: &str) -> Result<()> {
        if self
            .authed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(repo)
        {
            return Ok(());
        }
        let image = self.image(repo, "latest");
        let what = format!("authenticating for {repo}");
        self.run(&what, async {
            self.client
                .auth(&image, &self.auth, RegistryOperation::Pull)
                .await
                .map(|_| ())
        })?;
        self.authed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(repo.to_string());
        Ok(())
    }

    /// GET a manifest or index by tag or digest; its digest is verified when the
    /// reference is a digest (and against the registry's `Docker-Content-Digest`).
    pub fn manifest(&self, repo: &str, reference: &str) -> Result<Fetched> {
        self.ensure_auth(repo)?;
        let image = self.image(repo, reference);
        let what = format!("fetching the manifest of {repo}:{reference}");
        let (bytes, digest) = self
            .run(&what, async {
                self.client
                    .pull_manifest_raw(&image, &self.auth, MANIFEST_TYPES)
                    .await
            })
            .map_err(|e| self.refine_not_found(e, repo, Some(reference)))?;
        let computed = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
        if reference.starts_with("sha256:") && computed != reference {
            return Err(Error::corrupt(format!(
                "digest mismatch: {}/{repo}@{reference} has content with digest {computed}",
                self.registry
            )));
        }
        let media_type = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v["mediaType"].as_str().map(str::to_string))
            .unwrap_or_default();
        let _ = digest;
        Ok(Fetched {
            bytes: bytes.to_vec(),
            digest: computed,
            media_type,
        })
    }

    /// The tags of `repo` (every page).
    pub fn tags(&self, repo: &str) -> Result<Vec<String>> {
        self.ensure_auth(repo)?;
        let image = self.image(repo, "latest");
        let what = format!("listing the tags of {repo}");
        let mut out: Vec<String> = Vec::new();
        let mut last: Option<String> = None;
        loop {
            let page = self
                .run(&what, async {
                    self.client
                        .list_tags(&image, &self.auth, Some(1000), last.as_deref())
                        .await
                })
                .map_err(|e| self.refine_not_found(e, repo, None))?;
            let n = page.tags.len();
            let new_last = page.tags.last().cloned();
            out.extend(page.tags);
            if n < 1000 || new_last.is_none() || new_last == last {
                break;
            }
            last = new_last;
        }
        Ok(out)
    }

    /// `HEAD /v2/<repo>/blobs/<digest>`: whether `repo` has the blob.
    pub fn blob_exists(&self, repo: &str, digest: &str) -> Result<bool> {
        if !valid_digest(digest) {
            return Err(Error::corrupt(format!("not a sha256 digest: {digest:?}")));
        }
        self.ensure_auth(repo)?;
        let image = self.image(repo, "latest");
        let what = format!("checking blob {digest} in {repo}");
        self.run(&what, async {
            self.client.blob_exists(&image, digest).await
        })
    }

    /// A whole small blob (an image config), its digest verified.
    pub fn blob_bytes(&self, repo: &str, digest: &str, limit: u64) -> Result<Vec<u8>> {
        let mut r = self.blob_reader(repo, digest, None)?;
        let mut v = Vec::new();
        (&mut r)
            .take(limit + 1)
            .read_to_end(&mut v)
            .map_err(|e| crate::error::from_io(e, format!("reading blob {digest}")))?;
        if v.len() as u64 > limit {
            return Err(Error::corrupt(format!(
                "blob {digest} in {}/{repo} is larger than {limit} bytes",
                self.registry
            )));
        }
        Ok(v)
    }

    /// Stream blob `digest` of `repo`. The reader fails at its end (an `io::Error`
    /// wrapping an [`Error`]) when the bytes do not hash to `digest` or their length
    /// differs from `size`.
    pub fn blob_reader(&self, repo: &str, digest: &str, size: Option<u64>) -> Result<BlobReader> {
        if !valid_digest(digest) {
            return Err(Error::corrupt(format!("not a sha256 digest: {digest:?}")));
        }
        self.ensure_auth(repo)?;
        let image = self.image(repo, "latest");
        let what = format!("fetching blob {digest} of {repo}");
        let stream = self
            .run(&what, async {
                self.client
                    .pull_blob_stream(&image, digest)
                    .await
                    .map(|s| s.stream)
            })
            .map_err(|e| self.refine_blob(e, repo, digest))?;
        let (tx, rx) =
            std::sync::mpsc::sync_channel::<std::result::Result<bytes::Bytes, Error>>(16);
        let stall = self.stalled(&what);
        let timeout = self.timeout;
        let registry = self.registry.clone();
        self.rt.spawn(async move {
            let mut stream = stream;
            loop {
                let next = tokio::time::timeout(timeout, stream.next()).await;
                let item = match next {
                    Err(_) => Some(Err(stall.clone())),
                    Ok(None) => None,
                    Ok(Some(Ok(b))) => Some(Ok(b)),
                    Ok(Some(Err(e))) => {
                        let m = one_line(&error_chain(&e));
                        Some(Err(if m.to_ascii_lowercase().contains("digest") {
                            Error::corrupt(format!(
                                "digest mismatch in a blob from registry {registry}: {m}"
                            ))
                        } else {
                            Error::io(format!("reading a blob from registry {registry}: {m}"))
                        }))
                    }
                };
                let Some(item) = item else { break };
                let stop = item.is_err();
                let tx = tx.clone();
                let sent = tokio::task::spawn_blocking(move || tx.send(item).is_ok())
                    .await
                    .unwrap_or(false);
                if !sent || stop {
                    break;
                }
            }
        });
        Ok(BlobReader {
            rx,
            buf: bytes::Bytes::new(),
            hasher: Sha256::new(),
            read: 0,
            digest: digest.to_string(),
            size,
            done: false,
        })
    }

    fn refine_not_found(&self, e: Error, repo: &str, reference: Option<&str>) -> Error {
        if e.kind != ErrorKind::NotFound {
            return e;
        }
        let m = &e.message;
        if m.contains("NAME_UNKNOWN") || m.contains("repository name not known") {
            Error::not_found(format!("registry {}: no repository {repo}", self.registry))
        } else if let Some(r) = reference {
            let sep = if r.starts_with("sha256:") { '@' } else { ':' };
            Error::not_found(format!(
                "registry {}: no image {repo}{sep}{r} (unknown tag or manifest)",
                self.registry
            ))
        } else {
            Error::not_found(format!("registry {}: no repository {repo}", self.registry))
        }
    }

    fn refine_blob(&self, e: Error, repo: &str, digest: &str) -> Error {
        if e.kind == ErrorKind::NotFound {
            Error::not_found(format!(
                "registry {}: {repo} has no blob {digest}",
                self.registry
            ))
        } else {
            e
        }
    }

    fn map_err(&self, e: OciDistributionError, what: &str) -> Error {
        let reg = &self.registry;
        let denied = |code: &str| {
            let mut m = format!(
                "registry {reg} refused access ({code}) while {what}: log in with `docker login {reg}`"
            );
            if let Some(n) = &self.auth_note {
                m.push_str(&format!(" ({n})"));
            }
            Error::new(ErrorKind::PermissionDenied, m)
        };
        match e {
            OciDistributionError::RequestError(re) => {
                let chain = error_chain(&re);
                if re.is_timeout() || chain.contains("timed out") {
                    self.stalled(what)
                } else if re.is_connect() {
                    let scheme = if is_plain_http(reg) { "http" } else { "https" };
                    let lower = chain.to_ascii_lowercase();
                    let hint = if scheme == "https"
                        && [
                            "tls",
                            "certificate",
                            "corrupt message",
                            "handshake",
                            "invalidcontenttype",
                        ]
                        .iter()
                        .any(|w| lower.contains(w))
                    {
                        format!(" (a plain-HTTP registry? add --insecure-registry {reg})")
                    } else {
                        String::new()
                    };
                    Error::io(format!(
                        "cannot reach registry {reg} over {scheme} while {what}: {}{hint}",
                        one_line(&chain)
                    ))
                } else {
                    Error::io(format!(
                        "registry {reg}, while {what}: {}",
                        one_line(&chain)
                    ))
                }
            }
            OciDistributionError::UnauthorizedError { .. } => denied("401 Unauthorized"),
            OciDistributionError::AuthenticationFailure(m) => denied(&format!(
                "the token service said: {}",
                one_line(&m).chars().take(160).collect::<String>()
            )),
            OciDistributionError::RegistryError { envelope, .. } => {
                let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
                let text = one_line(&envelope.to_string());
                if codes
                    .iter()
                    .any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied))
                {
                    denied(&text)
                } else if codes.iter().any(|c| matches!(c, OciErrorCode::NameUnknown)) {
                    Error::not_found(format!("NAME_UNKNOWN: {text}"))
                } else if codes.iter().any(|c| {
                    matches!(
                        c,
                        OciErrorCode::ManifestUnknown
                            | OciErrorCode::BlobUnknown
                            | OciErrorCode::NotFound
                    )
                }) {
                    Error::not_found(text)
                } else {
                    Error::other(format!("registry {reg}, while {what}: {text}"))
                }
            }
            OciDistributionError::ServerError { code, message, .. } => match code {
                401 => denied("401 Unauthorized"),
                403 => denied("403 Forbidden"),
                404 => Error::not_found(format!("404 {}", one_line(&message))),
                _ => Error::other(format!(
                    "registry {reg} answered {code} while {what}: {}",
                    one_line(&message).chars().take(200).collect::<String>()
                )),
            },
            OciDistributionError::ImageManifestNotFoundError(m) => {
                Error::not_found(format!("manifest unknown: {}", one_line(&m)))
            }
            OciDistributionError::DigestError(d) => Error::corrupt(format!(
                "digest mismatch from registry {reg} while {what}: {}",
                one_line(&d.to_string())
            )),
            other => Error::other(format!(
                "registry {reg}, while {what}: {}",
                one_line(&other.to_string())
            )),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

fn one_line(s: &str) -> String {
    let s = crate::report::escape_controls(s).replace(['\n', '\t'], " ");
    s.trim().to_string()
}

/// Credentials for `registry` from docker's config (helpers included); anonymous when
/// there are none. The second value says why reading them failed, if it did.
fn credentials(registry: &str) -> (RegistryAuth, Option<String>) {
    use docker_credential::{CredentialRetrievalError as E, DockerCredential};
    let server = if registry == "docker.io" || registry == "index.docker.io" {
        "https://index.docker.io/v1/".to_string()
    } else {
        registry.to_string()
    };
    let mut tries = vec![server.clone()];
    if server == registry {
        tries.push(format!("https://{registry}"));
        tries.push(format!("http://{registry}"));
    }
    for s in &tries {
        match docker_credential::get_credential(s) {
            Ok(DockerCredential::UsernamePassword(u, p)) => {
                return (RegistryAuth::Basic(u, p), None);
            }
            Ok(DockerCredential::IdentityToken(t)) => return (RegistryAuth::Bearer(t), None),
            Err(E::NoCredentialConfigured | E::ConfigNotFound | E::ConfigReadError) => {}
            Err(e) => {
                return (
                    RegistryAuth::Anonymous,
                    Some(format!("reading credentials for {registry} failed: {e}")),
                );
            }
        }
    }
    (RegistryAuth::Anonymous, None)
}

/// A blob streamed from a registry, hashed as it is read.
pub struct BlobReader {
    rx: std::sync::mpsc::Receiver<std::result::Result<bytes::Bytes, Error>>,
    buf: bytes::Bytes,
    hasher: Sha256,
    read: u64,
    digest: String,
    size: Option<u64>,
    done: bool,
}

impl Read for BlobReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.buf.is_empty() {
            if self.done {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Ok(b)) => self.buf = b,
                Ok(Err(e)) => return Err(std::io::Error::other(e)),
                Err(_) => {
                    self.done = true;
                    let got = format!("sha256:{}", hex::encode(self.hasher.clone().finalize()));
                    if let Some(s) = self.size {
                        if s != self.read {
                            return Err(std::io::Error::other(Error::corrupt(format!(
                                "blob {} is truncated or corrupt: expected {s} bytes, received {}",
                                self.digest, self.read
                            ))));
                        }
                    }
                    if got != self.digest {
                        return Err(std::io::Error::other(Error::corrupt(format!(
                            "digest mismatch: blob {} has content with digest {got}",
                            self.digest
                        ))));
                    }
                    return Ok(0);
                }
            }
        }
        let n = out.len().min(self.buf.len());
        let chunk = self.buf.split_to(n);
        out[..n].copy_from_slice(&chunk);
        self.hasher.update(&chunk);
        self.read += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse() {
        let r = RegistryRef::parse("127.0.0.1:5000/team/app:1").unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "team/app");
        assert_eq!(r.tag.as_deref(), Some("1"));
        assert_eq!(r.to_string(), "127.0.0.1:5000/team/app:1");
        let d = format!("sha256:{}", "a".repeat(64));
        let r = RegistryRef::parse(&format!("reg.example/app@{d}")).unwrap();
        assert_eq!(r.digest.as_deref(), Some(d.as_str()));
        assert_eq!(r.reference(), d);
        let r = RegistryRef::parse("alpine").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("docker.io", "library/alpine")
        );
        assert!(RegistryRef::parse("bad ref").is_err());
        assert!(RegistryRef::parse("reg/app@sha256:12").is_err());
        assert!(RegistryRef::parse("").is_err());
    }

    #[test]
    fn plain_http_only_for_loopback_and_insecure() {
        assert!(is_plain_http("127.0.0.1:5000"));
        assert!(is_plain_http("127.3.2.1"));
        assert!(is_plain_http("localhost:5000"));
        assert!(!is_plain_http("registry.example.com"));
        assert!(!is_plain_http("10.0.0.1:5000"));
        add_insecure_registries(&["10.0.0.9:5000"]);
        assert!(is_plain_http("10.0.0.9:5000"));
        assert!(!is_plain_http("10.0.0.8:5000"));
    }
}
