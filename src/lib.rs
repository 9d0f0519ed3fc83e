//! layerlens: explain Docker images layer by layer.

pub mod analysis;
pub mod cli;
pub mod error;
pub mod fixture;
pub mod model;
pub mod report;
pub mod source;
pub mod tui;
