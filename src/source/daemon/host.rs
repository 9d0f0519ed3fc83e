//! Which daemon to talk to: `DOCKER_HOST` (with TLS settings), the current docker
//! context, or the local socket. Pure: environment values in, endpoint out; reads only
//! the docker config files the environment points at.

use super::*;

// ---------------------------------------------------------------------------------
// Host resolution (pure: environment values in, endpoint out; reads only the docker
// config files the environment points at).

/// The environment values that decide which daemon we talk to. Empty values count as
/// unset, as for the docker CLI.
#[derive(Debug, Clone, Default)]
pub(super) struct HostEnv {
    pub(super) docker_host: Option<String>,
    pub(super) docker_tls: Option<String>,
    pub(super) docker_tls_verify: Option<String>,
    pub(super) docker_cert_path: Option<String>,
    pub(super) docker_context: Option<String>,
    pub(super) docker_config: Option<String>,
    pub(super) home: Option<PathBuf>,
}

impl HostEnv {
    pub(super) fn from_process() -> Self {
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
    pub(super) fn config_dir(&self) -> Option<PathBuf> {
        match (&self.docker_config, &self.home) {
            (Some(dir), _) => Some(PathBuf::from(dir)),
            (None, Some(home)) => Some(home.join(".docker")),
            (None, None) => None,
        }
    }
}

/// Where the daemon is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Endpoint {
    /// A unix socket path.
    Unix(String),
    /// `host:port`, plain HTTP or HTTPS.
    Tcp { addr: String, tls: Option<Tls> },
}

/// TLS settings for a tcp endpoint. File paths are set only for files that exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Tls {
    /// The directory the material came from, for messages.
    pub(super) dir: PathBuf,
    pub(super) ca: Option<PathBuf>,
    pub(super) cert: Option<PathBuf>,
    pub(super) key: Option<PathBuf>,
    /// Verify the daemon's certificate against `ca` (false: accept any certificate).
    pub(super) verify: bool,
}

impl Tls {
    pub(super) fn from_dir(dir: PathBuf, verify: bool) -> Tls {
        let existing = |name: &str| Some(dir.join(name)).filter(|p| p.is_file());
        Tls {
            ca: existing("ca.pem"),
            cert: existing("cert.pem"),
            key: existing("key.pem"),
            dir,
            verify,
        }
    }

    pub(super) fn has_material(&self) -> bool {
        self.ca.is_some() || self.cert.is_some() || self.key.is_some()
    }
}

/// Which setting chose the endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Origin {
    Default,
    Env,
    Context(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ResolvedHost {
    pub(super) endpoint: Endpoint,
    pub(super) origin: Origin,
}

impl ResolvedHost {
    pub(super) fn is_local_socket(&self) -> bool {
        matches!(self.endpoint, Endpoint::Unix(_))
    }

    pub(super) fn default_socket() -> Self {
        ResolvedHost {
            endpoint: Endpoint::Unix(DEFAULT_SOCKET.into()),
            origin: Origin::Default,
        }
    }

    /// The endpoint as a URL-ish string: `unix:///path`, `tcp://host:port`.
    pub(super) fn url(&self) -> String {
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

pub(super) fn current_host() -> Result<ResolvedHost> {
    resolve_host(&HostEnv::from_process())
}

/// Decides which daemon to use, following the docker CLI's precedence (see the module
/// documentation). Reads `config.json`, the context's `meta.json` and checks for TLS
/// files; never contacts anything.
pub(super) fn resolve_host(env: &HostEnv) -> Result<ResolvedHost> {
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
pub(super) fn current_context(config_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(config_dir.join("config.json")).ok()?;
    let config: serde_json::Value = serde_json::from_str(&text).ok()?;
    config
        .get("currentContext")?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The docker endpoint of context `name`, stored under its sha256 in the config dir.
pub(super) fn context_endpoint(config_dir: &Path, name: &str) -> Result<Endpoint> {
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
pub(super) fn parse_host(host: &str, tls: Option<Tls>) -> Result<Endpoint> {
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
pub(super) fn with_port(addr: &str, port: u16) -> String {
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
