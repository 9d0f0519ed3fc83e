//! Analyses over the layer model: wasted space (dive-compatible) and reclaimable bytes.

pub mod advice;
pub mod cache;
pub mod diff;
pub mod push;
pub mod secrets;
pub mod waste;
