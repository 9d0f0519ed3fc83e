//! Docker Engine access through bollard. This module is the only place in layerlens
//! that talks to the daemon. It is strictly read-only: inspect, history, list, export.
//!
//! (Stub: being implemented.)

use crate::error::{Error, ErrorKind, Result};

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

/// One row of `docker images`.
#[derive(Debug, Clone, Default)]
pub struct ImageSummary {
    pub id: String,
    pub repo_tags: Vec<String>,
    pub size: u64,
    /// Unix seconds.
    pub created: i64,
    pub layer_count: Option<usize>,
}

pub struct DaemonExport {
    pub image: DaemonImage,
    /// The `docker save` tar of the image, streamed as the daemon produces it.
    pub stream: Box<dyn std::io::Read + Send>,
}

pub fn export_image(_reference: &str) -> Result<DaemonExport> {
    Err(Error::new(
        ErrorKind::NoDaemon,
        "daemon support not built yet",
    ))
}

pub fn ping() -> Result<()> {
    Err(Error::new(
        ErrorKind::NoDaemon,
        "daemon support not built yet",
    ))
}

pub fn list_images() -> Result<Vec<ImageSummary>> {
    Err(Error::new(
        ErrorKind::NoDaemon,
        "daemon support not built yet",
    ))
}
