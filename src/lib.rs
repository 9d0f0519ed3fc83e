//! layerlens: explain Docker images layer by layer.
//!
//! # Map
//!
//! Data flows one way: a **source** reads an image into the **model**, **analyses** read
//! the model, and **reports** or the **explorer** show the results. Only `source` does
//! I/O on images; only `tui` draws.
//!
//! | module | owns | depends on |
//! |---|---|---|
//! | [`model`] | entries, one layer's content ([`model::LayerContent`], parsed from a tar by [`model::layer::parse_tar`]), whiteouts, the layered file tree, the image and its history; no tokio, no ratatui | — |
//! | [`source`] | where images come from: the Docker daemon ([`source::daemon`], bollard; the only code that talks to it), Docker's own layer store ([`source::docker_store`] + [`source::tarsplit`], read-only), `docker save` archives and OCI layouts ([`source::store`], [`source::layout`]), layer blobs ([`source::blob`]), the kept export ([`source::spool`]), file bytes on demand ([`source::read`]) | model |
//! | [`dockerfile`] | Dockerfiles: the tree-sitter parser (instructions, lines, stages, flags, heredocs, substitution; [`dockerfile::subst`]) and the history → line mapping ([`dockerfile::map`]), syntax classes for display ([`dockerfile::highlight`]); no tokio, no ratatui | model |
//! | [`analysis`] | waste (dive-compatible and reclaimable), the diff of two images with cache-bust reasons, layers shared with other local images, advice measured in bytes ([`analysis::advice`]) | model, dockerfile |
//! | [`report`] | headless output: text, JSON, file listings, the CI gate, advice as text/JSON/SARIF/Markdown; [`report::escape_controls`] for every text that reaches a terminal | model, analysis, dockerfile |
//! | [`tui`] | the explorer: app state ([`tui::app`]), views ([`tui::view`], [`tui::diffview`], [`tui::treeview`]), keymap and help, themes, background jobs ([`tui::jobs`]) that report with messages | model, analysis, source (through jobs) |
//! | [`cli`] | argument parsing and the headless commands; `main.rs` only dispatches | all |
//! | [`error`] | one error type: a kind and a one-line message (exit code 2) | — |
//! | [`fixture`] | writes synthetic images in every archive format, for tests and the sample | model |
//!
//! # Reading daemon images
//!
//! [`source::load_with`] reports an image as events: its description first
//! ([`source::LoadEvent::Meta`], enough to paint the layers pane), then each layer as it
//! is parsed, in any order; [`model::ImageBuilder`] stacks them. For a daemon image,
//! `--daemon-read` ([`source::DaemonRead`]) chooses between Docker's layer store
//! (tar-split headers and CRC-64 content checksums, no export) and the export (streamed,
//! each layer shown as it arrives, kept in an anonymous temporary file). File content is
//! fingerprinted with CRC-64/GO-ISO ([`model::layer::content_checksum`]) on every path,
//! so images compare file by file whatever loaded them.
//!
//! # Where new things go
//!
//! - A new image source (a registry): a module in `source/` that yields a
//!   [`source::layout::Plan`] and implements [`source::store::BlobStore`], plus a variant
//!   of [`source::ImageSource`]; share connection and TLS code with `source::daemon`.
//! - A new analysis: a module in `analysis/` over [`model::Image`], no I/O.
//! - A new report format: a module in `report/`, called from `cli`.
//! - A new pane: its state in `tui::app`, its drawing in a view module, its keys in
//!   `tui::keymap` (help and footers are generated from the keymap).

pub mod analysis;
pub mod cli;
pub mod dockerfile;
pub mod error;
pub mod fixture;
pub mod model;
pub mod report;
pub mod source;
pub mod tui;
