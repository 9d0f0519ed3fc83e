//! What flows through the explorer: [`Msg`]s in (keys, mouse, resize, ticks, results of
//! background jobs), [`Cmd`]s out (I/O for the runner to start).

use crate::analysis::waste::Waste;
use crate::error::Error;
use crate::model::{Image, ImageSummary, LayerContent, NodeId};
use crate::source::ImageSource;
use crossterm::event::{KeyEvent, MouseEvent};
use std::sync::Arc;

pub enum Msg {
    Key(KeyEvent),
    /// The rows of a filter computed off the UI thread (big trees).
    FilterRows {
        generation: u64,
        done: Box<super::files::FilterDone>,
    },
    Mouse(MouseEvent),
    Resize(u16, u16),
    Tick,
    Images(Result<Vec<ImageSummary>, Error>),
    Load {
        generation: u64,
        event: LoadMsg,
    },
    /// A file's first bytes for the preview that asked with `token`.
    Preview {
        generation: u64,
        token: u64,
        result: Result<Vec<u8>, Error>,
    },
    Extracted(Result<String, Error>),
    /// The triage of the open image (`t`).
    Triage {
        generation: u64,
        result: Result<Box<crate::analysis::push::Triage>, Error>,
    },
    DiffReady {
        generation: u64,
        result: Result<Box<DiffLoaded>, Error>,
    },
    /// Other local images, for the per-layer cache status.
    LocalImages {
        generation: u64,
        images: Vec<ImageSummary>,
    },
    PreviewPair {
        generation: u64,
        token: u64,
        old: Option<Result<Vec<u8>, Error>>,
        new: Option<Result<Vec<u8>, Error>>,
    },
}

/// Two images and their diff, as a background job delivers them.
pub struct DiffLoaded {
    pub a: Arc<Image>,
    pub b: Arc<Image>,
    pub diff: crate::analysis::diff::ImageDiff,
}

pub enum LoadMsg {
    Meta(Box<Image>),
    Layer(usize, Arc<LayerContent>),
    Done(Result<(), Error>),
    Waste(Box<Waste>),
    /// Advice measured in bytes (with a Dockerfile).
    Findings(Vec<crate::analysis::advice::Finding>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cmd {
    /// Compute a filter's rows off the UI thread.
    FilterRows {
        generation: u64,
        job: Box<super::files::FilterJob>,
    },
    Load {
        generation: u64,
        reference: String,
    },
    ListImages,
    Analyze {
        generation: u64,
    },
    /// Read a file for the preview; the answer carries `token` so a slow answer for a
    /// file the user has left is dropped.
    Preview {
        generation: u64,
        token: u64,
        source: ImageSource,
        blob: String,
        path: Vec<u8>,
    },
    Extract {
        layer: usize,
        node: NodeId,
        dest: std::path::PathBuf,
        overwrite: bool,
    },
    LoadDiff {
        generation: u64,
        a: String,
        b: String,
    },
    /// List local images to tell which layers other images share.
    LocalImages {
        generation: u64,
    },
    /// Read `path` from a layer of each image (None: absent on that side).
    PreviewPair {
        generation: u64,
        token: u64,
        old: Option<(ImageSource, String, Vec<u8>)>,
        new: Option<(ImageSource, String, Vec<u8>)>,
    },
    /// Triage the open image (push plan to `to`, pull plan, secrets, advice).
    Triage {
        generation: u64,
    },
    Suspend,
    Quit,
}
