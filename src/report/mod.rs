//! Headless output: JSON and text reports, file listings, the CI gate.

pub mod ci;
pub mod diff;
pub mod files;
pub mod json;
pub mod text;

use humansize::{BINARY, format_size};

/// Human size ("1.5 MiB").
pub fn human(bytes: u64) -> String {
    format_size(bytes, BINARY)
}
