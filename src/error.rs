//! One error type for the whole tool: a kind (for callers that react to it, like the
//! TUI falling back to the bundled sample) and a single-line, actionable message.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad command line or configuration.
    Usage,
    /// No Docker daemon answers (socket missing, connection refused, timeout).
    NoDaemon,
    /// The daemon socket exists but we may not use it.
    PermissionDenied,
    /// The image reference is unknown to the source.
    NotFound,
    /// The archive/layout/stream is truncated, corrupt or not what it claims to be.
    Corrupt,
    /// Any other I/O failure (file missing, unreadable...).
    Io,
    /// Anything else.
    Other,
}

#[derive(Debug, Clone)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let message: String = message.into();
        // Errors are printed on one line: fold any newline a library put in.
        let message = message.replace(['\n', '\r'], " ");
        Error { kind, message }
    }
    pub fn usage(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::Usage, m)
    }
    pub fn corrupt(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::Corrupt, m)
    }
    pub fn not_found(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, m)
    }
    pub fn io(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::Io, m)
    }
    pub fn other(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::Other, m)
    }
    /// Prefix the message with context ("reading layer 3: ...").
    pub fn context(mut self, ctx: impl fmt::Display) -> Self {
        self.message = format!("{ctx}: {}", self.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// I/O errors while reading an image are, unless the OS says otherwise, a sign of a
/// truncated or corrupt input.
pub fn from_io(e: std::io::Error, what: impl fmt::Display) -> Error {
    use std::io::ErrorKind as K;
    let kind = match e.kind() {
        K::UnexpectedEof | K::InvalidData | K::InvalidInput => ErrorKind::Corrupt,
        K::NotFound => ErrorKind::Io,
        K::PermissionDenied => ErrorKind::PermissionDenied,
        _ => {
            // Errors that wrap one of ours (e.g. a daemon stream adapter) keep their kind.
            if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<Error>()) {
                return inner.clone().context(what);
            }
            ErrorKind::Io
        }
    };
    if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<Error>()) {
        return inner.clone().context(what);
    }
    let msg = match e.kind() {
        K::UnexpectedEof => {
            format!("{what}: unexpected end of data (truncated archive or stream?)")
        }
        _ => format!("{what}: {e}"),
    };
    Error::new(kind, msg)
}
