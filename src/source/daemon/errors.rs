//! Turning bollard and I/O errors into one clear line that names the daemon and what
//! was asked of it.

use super::*;

// ---------------------------------------------------------------------------------
// Error mapping.

/// What we were doing when a bollard call failed.
#[derive(Debug, Clone, Copy)]
pub(super) enum Op<'a> {
    Connect,
    List,
    Inspect(&'a str),
    Export(&'a str),
}

/// The gist of a bollard error.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Cause {
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

pub(super) fn classify(err: &bollard::errors::Error) -> Cause {
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
pub(super) fn io_cause(io: &io::Error) -> Option<Cause> {
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
pub(super) fn chain_message(err: &(dyn std::error::Error + 'static)) -> String {
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

pub(super) fn innermost_message(err: &(dyn std::error::Error + 'static)) -> String {
    let mut last = err;
    while let Some(e) = last.source() {
        last = e;
    }
    last.to_string()
}

/// Turns a bollard error into one actionable line of ours.
pub(super) fn map_error(err: bollard::errors::Error, host: &ResolvedHost, op: Op<'_>) -> Error {
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
