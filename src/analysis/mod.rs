//! Analyses over the layer model: wasted space (dive-compatible) and reclaimable bytes.

pub mod diff;
pub mod waste;
