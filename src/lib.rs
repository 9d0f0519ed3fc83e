//! layerlens: explain Docker images layer by layer.

pub mod analysis;
pub mod error;
pub mod model;
pub mod report;
pub mod source;
