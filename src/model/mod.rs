//! The layer model: entries, layers, the layered file tree and the image. No I/O
//! beyond `Read`, no async, no UI.

pub mod entry;
pub mod image;
pub mod layer;
pub mod tarstream;
pub mod tree;

pub use entry::{Entry, EntryKind, RawPath, display_path};
pub use image::{HistoryItem, Image, ImageBuilder, ImageSummary, Layer};
pub use layer::{LayerContent, parse_layer};
pub use tree::{Change, FileTree, NodeId, ROOT, Version};
