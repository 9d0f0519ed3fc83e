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
//! | [`model`] | entries, one layer's content ([`model::LayerContent`]: entries of 56 bytes, their paths in one name arena, parsed by [`model::layer::parse_input`] over the tar reader of [`model::tarstream`], which reads headers in place), whiteouts, the layered file tree (40 bytes a path), the image and its history; no tokio, no ratatui | — |
//! | [`source`] | where images come from: the Docker daemon ([`source::daemon`], bollard; the only code that talks to it; split into host resolution, connection and TLS, errors, images and the export stream), Docker's own layer store ([`source::docker_store`] + [`source::tarsplit`], read-only), `docker save` archives and OCI layouts ([`source::store`], [`source::layout`]), layer blobs ([`source::blob`]: every streamed layer hashed on its own thread by [`source::digest`] and checked against its diff id and digest; digests remembered per file by [`source::verified`], parsed layers of proven diff ids by [`source::parsed`]), the kept export ([`source::spool`]), file bytes on demand ([`source::read`]), registries ([`source::registry`]: read-only client on `oci-client`, `registry://` loading, the push facts and Go-gzip sizes for triage) | model (registry facts: analysis::push types) |
//! | [`dockerfile`] | Dockerfiles: the tree-sitter parser (instructions, lines, stages, flags, heredocs, substitution; [`dockerfile::subst`]) and the history → line mapping ([`dockerfile::map`]), syntax classes for display ([`dockerfile::highlight`]); no tokio, no ratatui | model |
//! | [`analysis`] | waste (dive-compatible and reclaimable), the diff of two images with cache-bust reasons, layers shared with other local images, advice measured in bytes ([`analysis::advice`]), the push/pull/egress plan and its `Triage` ([`analysis::push`]), secrets in layers ([`analysis::secrets`]) | model, dockerfile |
//! | [`report`] | headless output: text, JSON, file listings, the CI gate, advice as text/JSON/SARIF/Markdown, triage ([`report::triage`]: text, JSON, Markdown); [`report::escape_controls`] for every text that reaches a terminal | model, analysis, dockerfile |
//! | [`tui`] | the explorer, see below | model, analysis, source (through jobs) |
//! | [`cli`] | argument parsing, [`cli::dispatch`] (the one place commands are chosen) and the headless commands ([`cli::triage`]: gathering the triage facts, `compute` for a loaded image); `main.rs` only turns the result into an exit code | all |
//! | [`error`] | one error type: a kind and a one-line message (exit code 2) | — |
//! | [`fixture`] | writes synthetic images in every archive format, for tests and the sample | model |
//!
//! # The explorer
//!
//! Elm-style: [`tui::msg::Msg`]s in (keys, mouse, ticks, job results), state changed by
//! [`tui::app::App::update`], [`tui::msg::Cmd`]s out for the runner ([`tui`]'s
//! `run_start`) to start as background jobs ([`tui::jobs`]); results carry a generation
//! (and previews a token) so stale answers are dropped. [`tui::view`] draws the whole
//! screen from the state; each pane is one module with its state, keys and drawing:
//! [`tui::layers`], [`tui::details`], [`tui::summary`] (the image pane), [`tui::files`]
//! (on top of [`tui::treeview`]'s rows), [`tui::dockerfile`] (`--dockerfile`),
//! [`tui::preview`], [`tui::picker`], [`tui::prompt`], [`tui::help`], [`tui::triage`]
//! (`t`) and [`tui::diff`]; [`tui::extract`] writes extracted files beneath the
//! destination without following symlinks. Shared drawing helpers live in
//! [`tui::widgets`], pane rectangles in [`tui::layout`]. Every key goes through
//! [`tui::keymap`], whose contexts (global, tree, diff, picker, overlay, prompt,
//! confirm) also generate the help and the footers. Panes import neither `app` nor
//! `view` (checked by `tests/architecture.rs`); the loaded image is shared as an
//! `Arc<Image>` with analysis, extraction and diff jobs. On trees of more than
//! [`tui::files::BIG_TREE`] paths the file rows (another layer, a filter, a sort) are
//! computed by one background worker ([`tui::jobs::filter_rows`]; a newer request
//! replaces one not started, older answers are dropped by token), so a keystroke never
//! waits for millions of rows.
//!
//! # Untrusted input
//!
//! Everything read from an image is data: [`model::layer`] bounds names and extension
//! headers, no code recurses on tree depth, layers are verified against their digests,
//! [`report::escape_controls`] guards every terminal line, and `fuzz/` has a cargo-fuzz
//! target per parser.
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
//! - A new pane: a module in `tui/` with its state, key handling and `draw(f, area,
//!   ctx, …)`; a field for its state in [`tui::app::App`], a [`tui::layout::Pane`]
//!   variant, a call in [`tui::view`]; its keys as actions of a [`tui::keymap::Context`]
//!   with defaults in `assets/config.toml` (help and footers follow).

pub mod analysis;
pub mod cli;
pub mod dockerfile;
pub mod error;
pub mod fixture;
pub mod model;
pub mod report;
pub mod source;
pub mod tui;

/// Make glibc serve allocations of 1 MiB and more from their own mappings, always. By
/// default its threshold grows after the first such block is freed, and the layer
/// model's big vectors (entries, name arenas, the tree's tables) then double inside the
/// heap, leaving the blocks they grew out of behind: on 2.4 M entries that is ~5 % more
/// peak memory. Mapped blocks grow in place (`mremap`) and return to the system when freed.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's tuning; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
