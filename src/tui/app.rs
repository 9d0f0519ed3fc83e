//! Explorer state and its update function. Everything that happens — keys, mouse,
//! resize, results of background jobs — arrives as a [`Msg`]; `update` changes the
//! state and returns the [`Cmd`]s (I/O) for the runner to start. No I/O here, so key
//! sequences can be tested by feeding messages.

use super::keymap::{Action, Keymap};
use super::theme::Theme;
use super::treeview::{self, Expansion, Filter, Mode, Row, SizeCache, Sort, ViewOptions};
use crate::analysis::waste::Waste;
use crate::error::Error;
use crate::model::{Change, EntryKind, Image, ImageBuilder, LayerContent, NodeId};
use crate::source::ImageSource;
use crate::source::daemon::ImageSummary;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use std::sync::Arc;
use std::time::Instant;

pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    Tick,
    Images(Result<Vec<ImageSummary>, Error>),
    Load {
        generation: u64,
        event: LoadMsg,
    },
    Preview {
        generation: u64,
        result: Result<Vec<u8>, Error>,
    },
    Extracted(Result<String, Error>),
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
        old: Option<Result<Vec<u8>, Error>>,
        new: Option<Result<Vec<u8>, Error>>,
    },
}

/// Two images and their diff, as a background job delivers them.
pub struct DiffLoaded {
    pub a: Image,
    pub b: Image,
    pub diff: crate::analysis::diff::ImageDiff,
}

pub enum LoadMsg {
    Meta(Box<Image>),
    Layer(usize, Arc<LayerContent>),
    Done(Result<(), Error>),
    Waste(Box<Waste>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cmd {
    Load {
        generation: u64,
        reference: String,
    },
    ListImages,
    Analyze {
        generation: u64,
    },
    Preview {
        generation: u64,
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
        old: Option<(ImageSource, String, Vec<u8>)>,
        new: Option<(ImageSource, String, Vec<u8>)>,
    },
    Suspend,
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Layers,
    Tree,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Picker,
    Explorer,
    Diff,
}

/// What choosing an image in the picker does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickerPurpose {
    Open,
    /// Diff the open image (A) against the chosen one (B).
    DiffAgainst,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Filter,
    Search,
    ExtractPath,
}

#[derive(Debug, Clone)]
pub struct Input {
    pub kind: InputKind,
    pub text: String,
    /// Filter text before editing started (restored on Esc).
    pub previous: String,
}

#[derive(Debug, Clone)]
pub enum PreviewBody {
    Loading,
    Data(Vec<u8>),
    Error(String),
    /// Both versions of a file (diff mode); None: the path is absent on that side.
    Pair {
        old: Option<Result<Vec<u8>, String>>,
        new: Option<Result<Vec<u8>, String>>,
    },
}

#[derive(Debug, Clone)]
pub struct Preview {
    pub node: NodeId,
    pub layer: usize,
    pub title: String,
    pub meta: String,
    pub body: PreviewBody,
    pub scroll: usize,
}

#[derive(Debug, Clone)]
pub enum Overlay {
    Help {
        scroll: usize,
    },
    Preview(Preview),
    ConfirmOverwrite {
        dest: std::path::PathBuf,
        node: NodeId,
        layer: usize,
    },
}

/// One row of the layers pane: a history entry, and the layer in effect there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerRow {
    pub history: Option<usize>,
    /// The layer this instruction made (None for empty-layer instructions).
    pub made: Option<usize>,
    /// The layer whose filesystem is shown when the row is selected.
    pub effective: usize,
}

#[derive(Debug, Clone)]
pub struct Picker {
    pub purpose: PickerPurpose,
    /// List images of this repository first (diffing against another tag).
    pub prefer_repo: Option<String>,
    /// Leave this image out (the one being diffed).
    pub exclude_id: Option<String>,
    pub images: Vec<ImageSummary>,
    pub filter: String,
    pub selected: usize,
    pub loading: bool,
    pub error: Option<String>,
}

impl Picker {
    pub fn visible(&self) -> Vec<&ImageSummary> {
        let f = self.filter.to_lowercase();
        let mut v: Vec<&ImageSummary> = self
            .images
            .iter()
            .filter(|i| {
                f.is_empty()
                    || i.repo_tags.iter().any(|t| t.to_lowercase().contains(&f))
                    || i.id.trim_start_matches("sha256:").starts_with(&f)
            })
            .filter(|i| self.exclude_id.as_deref() != Some(i.id.as_str()))
            .collect();
        // Choosing what to diff against: the other tags of the same repository first.
        if let Some(repo) = &self.prefer_repo {
            let same = |i: &ImageSummary| i.repo_tags.iter().any(|t| repo_of(t) == repo.as_str());
            v.sort_by_key(|i| !same(i));
        }
        v
    }
}

#[derive(Debug, Clone)]
pub struct Status {
    pub text: String,
    pub error: bool,
    pub at: Instant,
}

/// Rectangles of the explorer's panes for a terminal size (shared by the view and
/// the mouse handler).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Areas {
    pub title: Rect,
    pub layers: Rect,
    pub details: Rect,
    pub image: Rect,
    pub tree: Rect,
    pub status: Rect,
    /// Too small for the full layout: one pane at a time.
    pub compact: bool,
}

pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 15;

pub fn areas(size: Rect) -> Areas {
    use ratatui::layout::{Constraint, Layout};
    let [title, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(size);
    if size.width < 100 || size.height < 24 {
        // Compact: the focused pane takes the body.
        return Areas {
            title,
            layers: body,
            details: Rect::default(),
            image: Rect::default(),
            tree: body,
            status,
            compact: true,
        };
    }
    let [left, tree] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(body);
    let [layers, details, image] = Layout::vertical([
        Constraint::Percentage(45),
        Constraint::Percentage(27),
        Constraint::Percentage(28),
    ])
    .areas(left);
    Areas {
        title,
        layers,
        details,
        image,
        tree,
        status,
        compact: false,
    }
}

pub struct App {
    pub screen: Screen,
    /// Diff mode: the loaded diff.
    pub diff: Option<super::diffview::DiffState>,
    /// Diff mode: the two references (A, B) being compared.
    pub diff_refs: Option<(String, String)>,
    /// Per layer: other local images that share it (empty until known).
    pub shared: Vec<Vec<String>>,
    pub keymap: Keymap,
    pub theme: Theme,
    pub size: Rect,
    pub picker: Picker,
    /// Daemon available (picker can list images).
    pub daemon: bool,

    // Loading.
    pub generation: u64,
    pub reference: String,
    pub source: Option<ImageSource>,
    pub progress: Arc<crate::source::Progress>,
    pub load_started: Option<Instant>,
    pub load_error: Option<String>,
    pub loading: bool,
    pub builder: Option<ImageBuilder>,
    pub waste: Option<Waste>,
    /// Note shown in the title (e.g. "no Docker daemon: showing the bundled sample").
    pub note: Option<String>,

    // Layers pane.
    pub layer_rows: Vec<LayerRow>,
    pub layer_sel: usize,
    pub layer_offset: usize,

    // Tree pane.
    pub focus: Pane,
    pub view: ViewOptions,
    pub show_attrs: bool,
    pub expansion: Expansion,
    pub rows: Vec<Row>,
    rows_key: Option<(usize, usize)>,
    pub rows_dirty: bool,
    pub tree_sel: usize,
    pub tree_offset: usize,
    pub sizes: SizeCache,
    pub search: Option<Filter>,

    pub input: Option<Input>,
    pub overlay: Option<Overlay>,
    pub status: Option<Status>,
    pub quit: bool,
}

impl App {
    pub fn new(keymap: Keymap, theme: Theme, size: Rect) -> App {
        App {
            screen: Screen::Explorer,
            keymap,
            theme,
            size,
            diff: None,
            diff_refs: None,
            shared: Vec::new(),
            picker: Picker {
                purpose: PickerPurpose::Open,
                prefer_repo: None,
                exclude_id: None,
                images: Vec::new(),
                filter: String::new(),
                selected: 0,
                loading: false,
                error: None,
            },
            daemon: false,
            generation: 0,
            reference: String::new(),
            source: None,
            progress: Arc::new(Default::default()),
            load_started: None,
            load_error: None,
            loading: false,
            builder: None,
            waste: None,
            note: None,
            layer_rows: Vec::new(),
            layer_sel: 0,
            layer_offset: 0,
            focus: Pane::Layers,
            view: ViewOptions::default(),
            show_attrs: true,
            expansion: Expansion::default(),
            rows: Vec::new(),
            rows_key: None,
            rows_dirty: true,
            tree_sel: 0,
            tree_offset: 0,
            sizes: SizeCache::default(),
            search: None,
            input: None,
            overlay: None,
            status: None,
            quit: false,
        }
    }

    pub fn image(&self) -> Option<&Image> {
        self.builder.as_ref().map(|b| &b.image)
    }

    pub fn set_status(&mut self, text: impl Into<String>, error: bool) {
        let text: String = text.into();
        self.status = Some(Status {
            text: crate::report::escape_controls(&text).replace('\n', " "),
            error,
            at: Instant::now(),
        });
    }

    /// Start loading `reference`; results of any earlier load are dropped as stale.
    pub fn open(&mut self, reference: &str) -> Vec<Cmd> {
        self.generation += 1;
        self.reference = reference.to_string();
        self.source = ImageSource::parse(reference).ok();
        self.progress = Arc::new(Default::default());
        self.load_started = Some(Instant::now());
        self.load_error = None;
        self.loading = true;
        self.builder = None;
        self.waste = None;
        self.shared.clear();
        self.layer_rows.clear();
        self.layer_sel = 0;
        self.layer_offset = 0;
        self.rows.clear();
        self.rows_key = None;
        self.rows_dirty = true;
        self.tree_sel = 0;
        self.tree_offset = 0;
        self.expansion = Expansion::default();
        self.sizes = SizeCache::default();
        self.overlay = None;
        self.screen = Screen::Explorer;
        vec![Cmd::Load {
            generation: self.generation,
            reference: reference.to_string(),
        }]
    }

    /// Start diff mode: load A and B (layers they share are parsed once) and diff them.
    pub fn open_diff(&mut self, a: &str, b: &str) -> Vec<Cmd> {
        self.generation += 1;
        self.diff = None;
        self.diff_refs = Some((a.to_string(), b.to_string()));
        self.progress = Arc::new(Default::default());
        self.load_started = Some(Instant::now());
        self.load_error = None;
        self.loading = true;
        self.overlay = None;
        self.screen = Screen::Diff;
        vec![Cmd::LoadDiff {
            generation: self.generation,
            a: a.to_string(),
            b: b.to_string(),
        }]
    }

    /// The layer whose tree is shown.
    pub fn selected_layer(&self) -> Option<usize> {
        self.layer_rows.get(self.layer_sel).map(|r| r.effective)
    }

    pub fn layer_loaded(&self, layer: usize) -> bool {
        self.image().is_some_and(|i| i.layers_loaded() > layer)
    }

    pub fn areas(&self) -> Areas {
        areas(self.size)
    }

    fn tree_page(&self) -> usize {
        (self.areas().tree.height as usize).saturating_sub(3).max(1)
    }

    fn layers_page(&self) -> usize {
        (self.areas().layers.height as usize)
            .saturating_sub(2)
            .max(1)
    }

    /// Recompute the tree rows if anything they depend on changed.
    pub fn refresh_rows(&mut self) {
        let Some(layer) = self.selected_layer() else {
            self.rows.clear();
            return;
        };
        let loaded = self.image().map(|i| i.layers_loaded()).unwrap_or(0);
        let key = (layer, loaded.min(layer + 1));
        if !self.rows_dirty && self.rows_key == Some(key) {
            return;
        }
        let selected_node = self.rows.get(self.tree_sel).map(|r| r.node);
        let Some(b) = self.builder.as_ref() else {
            return;
        };
        let img = &b.image;
        if layer >= img.layers_loaded() {
            self.rows.clear();
        } else {
            let sizes = self.sizes.get(&img.tree, layer);
            self.rows = treeview::build_rows(img, layer, &self.view, &self.expansion, &sizes);
        }
        self.rows_key = Some(key);
        self.rows_dirty = false;
        if let Some(n) = selected_node {
            // Stay on the same path, else on its nearest shown ancestor, else the top.
            let tree = &self.builder.as_ref().expect("checked above").image.tree;
            let mut want = n;
            let mut found = None;
            loop {
                if let Some(i) = self.rows.iter().position(|r| r.node == want) {
                    found = Some(i);
                    break;
                }
                if want == crate::model::ROOT {
                    break;
                }
                want = tree.parent(want);
            }
            self.tree_sel = found.unwrap_or(0);
        }
        self.clamp_tree();
    }

    fn clamp_tree(&mut self) {
        if self.rows.is_empty() {
            self.tree_sel = 0;
            self.tree_offset = 0;
            return;
        }
        self.tree_sel = self.tree_sel.min(self.rows.len() - 1);
        let page = self.tree_page();
        if self.tree_sel < self.tree_offset {
            self.tree_offset = self.tree_sel;
        } else if self.tree_sel >= self.tree_offset + page {
            self.tree_offset = self.tree_sel + 1 - page;
        }
        self.tree_offset = self.tree_offset.min(self.rows.len().saturating_sub(1));
    }

    fn clamp_layers(&mut self) {
        if self.layer_rows.is_empty() {
            return;
        }
        self.layer_sel = self.layer_sel.min(self.layer_rows.len() - 1);
        let page = self.layers_page();
        if self.layer_sel < self.layer_offset {
            self.layer_offset = self.layer_sel;
        } else if self.layer_sel >= self.layer_offset + page {
            self.layer_offset = self.layer_sel + 1 - page;
        }
    }

    fn select_layer(&mut self, row: usize) {
        let before = self.selected_layer();
        self.layer_sel = row;
        self.clamp_layers();
        if self.selected_layer() != before {
            self.rows_dirty = true;
        }
    }

    fn move_cursor(&mut self, delta: isize) {
        match self.focus {
            Pane::Layers => {
                let n = self.layer_rows.len();
                if n == 0 {
                    return;
                }
                let to = (self.layer_sel as isize + delta).clamp(0, n as isize - 1) as usize;
                self.select_layer(to);
            }
            Pane::Tree => {
                if self.rows.is_empty() {
                    return;
                }
                self.tree_sel = (self.tree_sel as isize + delta)
                    .clamp(0, self.rows.len() as isize - 1)
                    as usize;
                self.clamp_tree();
            }
        }
    }

    fn selected_row(&self) -> Option<Row> {
        self.rows.get(self.tree_sel).copied()
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Cmd> {
        let cmds = match msg {
            Msg::Key(k) => self.on_key(k),
            Msg::Mouse(m) => self.on_mouse(m),
            Msg::Resize(w, h) => {
                self.size = Rect::new(0, 0, w, h);
                self.clamp_layers();
                self.clamp_tree();
                Vec::new()
            }
            Msg::Tick => {
                if self
                    .status
                    .as_ref()
                    .is_some_and(|s| s.at.elapsed().as_secs() >= 6)
                {
                    self.status = None;
                }
                Vec::new()
            }
            Msg::Images(r) => {
                self.picker.loading = false;
                match r {
                    Ok(list) => {
                        self.picker.images = list;
                        self.picker.error = None;
                    }
                    Err(e) => self.picker.error = Some(e.message),
                }
                Vec::new()
            }
            Msg::Load { generation, event } => {
                if generation != self.generation {
                    return Vec::new(); // stale
                }
                self.on_load(event)
            }
            Msg::Preview { generation, result } => {
                if generation != self.generation {
                    return Vec::new();
                }
                if let Some(Overlay::Preview(p)) = &mut self.overlay {
                    p.body = match result {
                        Ok(d) => PreviewBody::Data(d),
                        Err(e) => PreviewBody::Error(e.message),
                    };
                }
                Vec::new()
            }
            Msg::LocalImages { generation, images } => {
                if generation == self.generation {
                    if let Some(img) = self.image() {
                        self.shared = crate::analysis::cache::shared_with(img, &images);
                    }
                }
                Vec::new()
            }
            Msg::DiffReady { generation, result } => {
                if generation != self.generation {
                    return Vec::new();
                }
                self.loading = false;
                match result {
                    Ok(d) => {
                        let d = *d;
                        self.diff = Some(super::diffview::DiffState::new(
                            Arc::new(d.a),
                            Arc::new(d.b),
                            d.diff,
                        ));
                    }
                    Err(e) => {
                        self.load_error =
                            Some(crate::report::escape_controls(&e.message).into_owned());
                        self.set_status(e.message, true);
                    }
                }
                Vec::new()
            }
            Msg::PreviewPair {
                generation,
                old,
                new,
            } => {
                if generation != self.generation {
                    return Vec::new();
                }
                if let Some(Overlay::Preview(p)) = &mut self.overlay {
                    let conv =
                        |r: Option<Result<Vec<u8>, Error>>| r.map(|x| x.map_err(|e| e.message));
                    p.body = PreviewBody::Pair {
                        old: conv(old),
                        new: conv(new),
                    };
                }
                Vec::new()
            }
            Msg::Extracted(r) => {
                match r {
                    Ok(s) => self.set_status(s, false),
                    Err(e) => self.set_status(format!("extract failed: {}", e.message), true),
                }
                Vec::new()
            }
        };
        self.refresh_rows();
        cmds
    }

    fn on_load(&mut self, event: LoadMsg) -> Vec<Cmd> {
        match event {
            LoadMsg::Meta(img) => {
                // A daemon image is described twice: from inspect + history at once,
                // then from its config once the export is read. Keep the selection
                // and the layers stacked meanwhile.
                let keep = self.selected_layer();
                if let Some(b) = self.builder.as_mut() {
                    if b.image.layers_loaded() > 0 {
                        if b.replace_meta(*img) {
                            self.layer_rows = layer_rows(&b.image);
                            if let Some(l) = keep {
                                if let Some(i) =
                                    self.layer_rows.iter().position(|r| r.made == Some(l))
                                {
                                    self.layer_sel = i;
                                }
                            }
                            self.clamp_layers();
                            self.rows_dirty = true;
                        }
                        return Vec::new();
                    }
                }
                self.layer_rows = layer_rows(&img);
                self.builder = Some(ImageBuilder::new(*img));
                if let Some(l) = keep {
                    if let Some(i) = self.layer_rows.iter().position(|r| r.made == Some(l)) {
                        self.layer_sel = i;
                    }
                }
                self.clamp_layers();
                self.rows_dirty = true;
                Vec::new()
            }
            LoadMsg::Layer(i, c) => {
                if let Some(b) = self.builder.as_mut() {
                    b.add(i, c);
                }
                Vec::new()
            }
            LoadMsg::Done(r) => {
                self.loading = false;
                match r {
                    Ok(()) => {
                        if self.image().is_some_and(|i| i.is_complete()) {
                            let mut cmds = vec![Cmd::Analyze {
                                generation: self.generation,
                            }];
                            if self.daemon {
                                cmds.push(Cmd::LocalImages {
                                    generation: self.generation,
                                });
                            }
                            return cmds;
                        }
                        Vec::new()
                    }
                    Err(e) => {
                        self.load_error =
                            Some(crate::report::escape_controls(&e.message).into_owned());
                        self.set_status(e.message, true);
                        Vec::new()
                    }
                }
            }
            LoadMsg::Waste(w) => {
                self.waste = Some(*w);
                Vec::new()
            }
        }
    }

    fn on_mouse(&mut self, m: MouseEvent) -> Vec<Cmd> {
        if self.screen != Screen::Explorer || self.overlay.is_some() || self.input.is_some() {
            return Vec::new();
        }
        let a = self.areas();
        let pos = Position::new(m.column, m.row);
        let in_layers = a.layers.contains(pos) && (!a.compact || self.focus == Pane::Layers);
        let in_tree = a.tree.contains(pos) && (!a.compact || self.focus == Pane::Tree);
        match m.kind {
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
                let d = if m.kind == MouseEventKind::ScrollDown {
                    3
                } else {
                    -3
                };
                if in_layers {
                    self.focus = Pane::Layers;
                } else if in_tree {
                    self.focus = Pane::Tree;
                } else {
                    return Vec::new();
                }
                self.move_cursor(d);
            }
            MouseEventKind::Down(MouseButton::Left) => {
                if in_layers {
                    self.focus = Pane::Layers;
                    let row = (m.row.saturating_sub(a.layers.y + 1)) as usize + self.layer_offset;
                    if row < self.layer_rows.len() && m.row > a.layers.y {
                        self.select_layer(row);
                    }
                } else if in_tree {
                    self.focus = Pane::Tree;
                    // Two header lines (border + column titles).
                    if m.row >= a.tree.y + 2 {
                        let row = (m.row - a.tree.y - 2) as usize + self.tree_offset;
                        if row < self.rows.len() {
                            if row == self.tree_sel && self.rows[row].is_dir {
                                self.toggle_dir(row, None);
                            }
                            self.tree_sel = row;
                            self.clamp_tree();
                        }
                    }
                }
            }
            _ => {}
        }
        Vec::new()
    }

    fn toggle_dir(&mut self, row: usize, to: Option<bool>) {
        let r = self.rows[row];
        if !r.is_dir {
            return;
        }
        let expanded = to.unwrap_or(!r.expanded);
        self.expansion.set(r.node, expanded);
        self.rows_dirty = true;
    }

    fn on_key(&mut self, k: KeyEvent) -> Vec<Cmd> {
        if k.kind == crossterm::event::KeyEventKind::Release {
            return Vec::new();
        }
        // Ctrl-Z suspends anywhere; Ctrl-C quits anywhere.
        if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('z') {
            return vec![Cmd::Suspend];
        }
        if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
            self.quit = true;
            return vec![Cmd::Quit];
        }
        if self.input.is_some() {
            return self.on_input_key(k);
        }
        if let Some(o) = self.overlay.clone() {
            return self.on_overlay_key(o, k);
        }
        if self.screen == Screen::Picker {
            return self.on_picker_key(k);
        }
        if self.screen == Screen::Diff {
            return self.on_diff_key(k);
        }
        let Some(action) = self.keymap.action(&k) else {
            if k.code == KeyCode::Esc && self.view.filter.is_some() {
                self.view.filter = None;
                self.rows_dirty = true;
            }
            return Vec::new();
        };
        self.on_action(action)
    }

    pub fn on_action(&mut self, action: Action) -> Vec<Cmd> {
        let compact = self.areas().compact;
        match action {
            Action::Quit => {
                self.quit = true;
                return vec![Cmd::Quit];
            }
            Action::Help => self.overlay = Some(Overlay::Help { scroll: 0 }),
            Action::NextPane | Action::PrevPane => {
                self.focus = if self.focus == Pane::Layers {
                    Pane::Tree
                } else {
                    Pane::Layers
                };
            }
            Action::Up => self.move_cursor(-1),
            Action::Down => self.move_cursor(1),
            Action::PageUp => {
                let p = if self.focus == Pane::Tree {
                    self.tree_page()
                } else {
                    self.layers_page()
                };
                self.move_cursor(-(p as isize));
            }
            Action::PageDown => {
                let p = if self.focus == Pane::Tree {
                    self.tree_page()
                } else {
                    self.layers_page()
                };
                self.move_cursor(p as isize);
            }
            Action::Top => self.move_cursor(isize::MIN / 2),
            Action::Bottom => self.move_cursor(isize::MAX / 2),
            Action::Diff => {
                if self.image().is_none() {
                    return Vec::new();
                }
                if !self.daemon {
                    self.set_status(
                        "diff needs a second image: run `layerlens diff A B` (archives work too)",
                        true,
                    );
                    return Vec::new();
                }
                self.picker.purpose = PickerPurpose::DiffAgainst;
                self.picker.prefer_repo = self
                    .image()
                    .and_then(|i| i.repo_tags.first())
                    .map(|t| repo_of(t).to_string());
                self.picker.exclude_id = self.image().map(|i| i.id.clone());
                self.picker.filter.clear();
                self.picker.selected = 0;
                self.screen = Screen::Picker;
                self.picker.loading = true;
                return vec![Cmd::ListImages];
            }
            Action::Picker => {
                if self.daemon {
                    self.picker.purpose = PickerPurpose::Open;
                    self.picker.prefer_repo = None;
                    self.picker.exclude_id = None;
                    self.screen = Screen::Picker;
                    self.picker.loading = true;
                    return vec![Cmd::ListImages];
                }
                self.set_status(
                    "no Docker daemon answers: start layerlens with an archive or layout path",
                    true,
                );
            }
            _ => {
                // Tree actions work from any pane (and focus the tree in compact mode).
                if compact && self.focus != Pane::Tree {
                    self.focus = Pane::Tree;
                }
                return self.on_tree_action(action);
            }
        }
        Vec::new()
    }

    fn on_tree_action(&mut self, action: Action) -> Vec<Cmd> {
        match action {
            Action::ToggleChanges => {
                self.view.mode = if self.view.mode == Mode::Merged {
                    Mode::Changes
                } else {
                    Mode::Merged
                };
                self.rows_dirty = true;
            }
            Action::ToggleAttrs => self.show_attrs = !self.show_attrs,
            Action::ToggleSort => {
                self.view.sort = if self.view.sort == Sort::Size {
                    Sort::Name
                } else {
                    Sort::Size
                };
                self.rows_dirty = true;
            }
            Action::ShowAdded
            | Action::ShowModified
            | Action::ShowRemoved
            | Action::ShowUnchanged => {
                let i = match action {
                    Action::ShowAdded => 0,
                    Action::ShowModified => 1,
                    Action::ShowRemoved => 2,
                    _ => 3,
                };
                self.view.hidden[i] = !self.view.hidden[i];
                self.rows_dirty = true;
            }
            Action::Toggle => {
                if let Some(r) = self.selected_row() {
                    if r.is_dir {
                        self.toggle_dir(self.tree_sel, None);
                    }
                }
            }
            Action::Expand => {
                if let Some(r) = self.selected_row() {
                    if r.is_dir && !r.expanded {
                        self.toggle_dir(self.tree_sel, Some(true));
                    }
                }
            }
            Action::Collapse => {
                if let Some(r) = self.selected_row() {
                    if r.is_dir && r.expanded {
                        self.toggle_dir(self.tree_sel, Some(false));
                    } else if r.depth > 0 {
                        // Go to the parent.
                        if let Some(p) = self.rows[..self.tree_sel]
                            .iter()
                            .rposition(|x| x.depth < r.depth)
                        {
                            self.tree_sel = p;
                            self.clamp_tree();
                        }
                    }
                }
            }
            Action::CollapseAll => {
                self.expansion.collapse_all();
                self.rows_dirty = true;
            }
            Action::ExpandAll => {
                self.expansion.expand_all();
                self.rows_dirty = true;
            }
            Action::Filter => {
                let previous = self
                    .view
                    .filter
                    .as_ref()
                    .map(|f| f.text.clone())
                    .unwrap_or_default();
                self.input = Some(Input {
                    kind: InputKind::Filter,
                    text: previous.clone(),
                    previous,
                });
            }
            Action::Search => {
                self.input = Some(Input {
                    kind: InputKind::Search,
                    text: String::new(),
                    previous: String::new(),
                });
            }
            Action::SearchNext => self.jump_search(true),
            Action::SearchPrev => self.jump_search(false),
            Action::Preview => {
                // On a directory, Enter folds or unfolds it.
                if let Some(r) = self.selected_row() {
                    if r.is_dir {
                        self.toggle_dir(self.tree_sel, None);
                        return Vec::new();
                    }
                }
                return self.open_preview();
            }
            Action::Extract => {
                if let Some(r) = self.selected_row() {
                    if r.change == Change::Removed {
                        self.set_status("removed in this layer: nothing to extract", true);
                    } else if let Some(img) = self.image() {
                        let name = String::from_utf8_lossy(img.tree.name(r.node)).to_string();
                        self.input = Some(Input {
                            kind: InputKind::ExtractPath,
                            text: format!("./{name}"),
                            previous: String::new(),
                        });
                    }
                }
            }
            _ => {}
        }
        Vec::new()
    }

    fn jump_search(&mut self, forward: bool) {
        let (Some(pattern), Some(layer)) = (self.search.clone(), self.selected_layer()) else {
            self.set_status("no search yet: press / to search", true);
            return;
        };
        let Some(b) = self.builder.as_ref() else {
            return;
        };
        if layer >= b.image.layers_loaded() {
            return;
        }
        let sizes = self.sizes.get(&b.image.tree, layer);
        let matches = treeview::search(&b.image, layer, &self.view, &sizes, &pattern);
        if matches.is_empty() {
            self.set_status(format!("no match for \"{}\"", pattern.text), true);
            return;
        }
        // Position of the current node in the full (expanded) order.
        let current = self.selected_row().map(|r| r.node);
        let order = {
            let mut all = Expansion::default();
            all.expand_all();
            treeview::build_rows(&b.image, layer, &self.view, &all, &sizes)
        };
        let pos_of = |n: NodeId| order.iter().position(|r| r.node == n).unwrap_or(0);
        let cur = current.map(pos_of).unwrap_or(0);
        let target = if forward {
            matches
                .iter()
                .copied()
                .find(|&m| pos_of(m) > cur)
                .unwrap_or(matches[0])
        } else {
            matches
                .iter()
                .rev()
                .copied()
                .find(|&m| pos_of(m) < cur)
                .unwrap_or(*matches.last().unwrap())
        };
        let idx = matches.iter().position(|&m| m == target).unwrap_or(0);
        // Expand its ancestors.
        let tree = &b.image.tree;
        let mut p = tree.parent(target);
        let mut ancestors = Vec::new();
        while p != crate::model::ROOT {
            ancestors.push(p);
            p = tree.parent(p);
        }
        for a in ancestors {
            self.expansion.set(a, true);
        }
        self.rows_dirty = true;
        self.refresh_rows();
        if let Some(i) = self.rows.iter().position(|r| r.node == target) {
            self.tree_sel = i;
            self.focus = Pane::Tree;
            self.clamp_tree();
        }
        self.set_status(
            format!(
                "match {} of {} for \"{}\"",
                idx + 1,
                matches.len(),
                pattern.text
            ),
            false,
        );
    }

    fn open_preview(&mut self) -> Vec<Cmd> {
        let (Some(r), Some(layer)) = (self.selected_row(), self.selected_layer()) else {
            return Vec::new();
        };
        let Some(img) = self.image() else {
            return Vec::new();
        };
        let tree = &img.tree;
        let path_str = tree.display_path(r.node);
        // The version shown: at this layer, or (removed) the one below.
        let at = if r.change == Change::Removed {
            layer.saturating_sub(1)
        } else {
            layer
        };
        let Some(v) = tree
            .state_at(r.node, at)
            .copied()
            .filter(|v| v.is_present())
        else {
            return Vec::new();
        };
        let e = tree.entry(&v).clone();
        let mut meta = format!(
            "{}  mode {:04o}  owner {}:{}  size {}",
            e.kind.as_str(),
            e.mode,
            e.uid,
            e.gid,
            crate::report::human(e.size)
        );
        if let Some(l) = &e.link {
            let arrow = if e.kind == EntryKind::Hardlink {
                "⇒ /"
            } else {
                "→ "
            };
            meta.push_str(&format!("  {arrow}{}", String::from_utf8_lossy(l)));
        }
        meta.push_str(&format!("  (stored in layer {})", v.layer));
        let mut p = Preview {
            node: r.node,
            layer,
            title: path_str,
            meta,
            body: PreviewBody::Loading,
            scroll: 0,
        };
        let cmds = match e.kind {
            EntryKind::File | EntryKind::Hardlink => {
                let Some((blob_layer, path)) = tree.content_location(r.node, at) else {
                    return Vec::new();
                };
                match &self.source {
                    Some(src) if e.size > 0 => vec![Cmd::Preview {
                        generation: self.generation,
                        source: src.clone(),
                        blob: img.layers[blob_layer].blob.clone(),
                        path,
                    }],
                    _ => {
                        p.body = PreviewBody::Data(Vec::new());
                        Vec::new()
                    }
                }
            }
            _ => {
                p.body = PreviewBody::Data(Vec::new());
                Vec::new()
            }
        };
        self.overlay = Some(Overlay::Preview(p));
        cmds
    }

    fn on_overlay_key(&mut self, o: Overlay, k: KeyEvent) -> Vec<Cmd> {
        let action = self.keymap.action(&k);
        match o {
            Overlay::ConfirmOverwrite { dest, node, layer } => {
                match k.code {
                    KeyCode::Char('y') | KeyCode::Char('Y') => {
                        self.overlay = None;
                        return vec![Cmd::Extract {
                            layer,
                            node,
                            dest,
                            overwrite: true,
                        }];
                    }
                    _ => {
                        self.overlay = None;
                        self.set_status("extract cancelled", false);
                    }
                }
                Vec::new()
            }
            Overlay::Help { scroll } | Overlay::Preview(Preview { scroll, .. }) => {
                let close = matches!(k.code, KeyCode::Esc)
                    || matches!(action, Some(Action::Quit) | Some(Action::Help))
                    || (matches!(action, Some(Action::Preview))
                        && matches!(o, Overlay::Preview(_)));
                if close {
                    self.overlay = None;
                    return Vec::new();
                }
                let page = (self.size.height as usize).saturating_sub(6).max(1);
                let new = match action {
                    Some(Action::Down) => scroll + 1,
                    Some(Action::Up) => scroll.saturating_sub(1),
                    Some(Action::PageDown) => scroll + page,
                    Some(Action::PageUp) => scroll.saturating_sub(page),
                    Some(Action::Top) => 0,
                    Some(Action::Bottom) => usize::MAX / 4,
                    _ => scroll,
                };
                match &mut self.overlay {
                    Some(Overlay::Help { scroll }) => *scroll = new,
                    Some(Overlay::Preview(p)) => p.scroll = new,
                    _ => {}
                }
                Vec::new()
            }
        }
    }

    fn on_input_key(&mut self, k: KeyEvent) -> Vec<Cmd> {
        let Some(mut input) = self.input.take() else {
            return Vec::new();
        };
        match k.code {
            KeyCode::Esc => {
                if input.kind == InputKind::Filter {
                    self.apply_filter(&input.previous);
                }
                return Vec::new();
            }
            KeyCode::Enter => {
                return match input.kind {
                    InputKind::Filter => {
                        self.apply_filter(&input.text);
                        Vec::new()
                    }
                    InputKind::Search => {
                        if !input.text.is_empty() {
                            match Filter::new(&input.text) {
                                Ok(f) => {
                                    self.search = Some(f);
                                    self.jump_search(true);
                                }
                                Err(e) => self.set_status(e, true),
                            }
                        }
                        Vec::new()
                    }
                    InputKind::ExtractPath => self.start_extract(&input.text),
                };
            }
            KeyCode::Backspace => {
                input.text.pop();
            }
            KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => input.text.push(c),
            KeyCode::Char('u') => input.text.clear(),
            _ => {}
        }
        if input.kind == InputKind::Filter {
            // Live filtering as the user types.
            let text = input.text.clone();
            self.apply_filter_quiet(&text);
        }
        self.input = Some(input);
        Vec::new()
    }

    fn apply_filter_quiet(&mut self, text: &str) {
        if self.screen == Screen::Diff {
            if let Some(d) = self.diff.as_mut() {
                d.filter = if text.is_empty() {
                    None
                } else {
                    Filter::new(text).ok()
                };
                d.file_sel = 0;
                d.file_offset = 0;
                d.refresh_files();
            }
            return;
        }
        let new = if text.is_empty() {
            None
        } else {
            Filter::new(text).ok()
        };
        if text.is_empty() || new.is_some() {
            self.view.filter = new;
            self.rows_dirty = true;
        }
    }

    fn apply_filter(&mut self, text: &str) {
        if self.screen == Screen::Diff {
            self.apply_filter_quiet(text);
            return;
        }
        if text.is_empty() {
            self.view.filter = None;
        } else {
            match Filter::new(text) {
                Ok(f) => self.view.filter = Some(f),
                Err(e) => self.set_status(e, true),
            }
        }
        self.rows_dirty = true;
    }

    fn start_extract(&mut self, text: &str) -> Vec<Cmd> {
        let (Some(r), Some(layer)) = (self.selected_row(), self.selected_layer()) else {
            return Vec::new();
        };
        if text.trim().is_empty() {
            self.set_status("extract cancelled: no destination", false);
            return Vec::new();
        }
        let dest = expand_tilde(text.trim());
        if dest.symlink_metadata().is_ok() {
            self.overlay = Some(Overlay::ConfirmOverwrite {
                dest,
                node: r.node,
                layer,
            });
            return Vec::new();
        }
        self.set_status(format!("extracting to {} …", dest.display()), false);
        vec![Cmd::Extract {
            layer,
            node: r.node,
            dest,
            overwrite: false,
        }]
    }

    fn on_picker_key(&mut self, k: KeyEvent) -> Vec<Cmd> {
        let n = self.picker.visible().len();
        match k.code {
            KeyCode::Esc => {
                if self.builder.is_some() || self.loading {
                    self.screen = Screen::Explorer;
                } else {
                    self.quit = true;
                    return vec![Cmd::Quit];
                }
            }
            KeyCode::Enter => {
                let chosen = self
                    .picker
                    .visible()
                    .get(self.picker.selected)
                    .map(|i| i.repo_tags.first().cloned().unwrap_or_else(|| i.id.clone()));
                if let Some(r) = chosen {
                    if self.picker.purpose == PickerPurpose::DiffAgainst {
                        self.picker.purpose = PickerPurpose::Open;
                        let a = self.reference.clone();
                        return self.open_diff(&a, &r);
                    }
                    return self.open(&r);
                }
            }
            KeyCode::Up => self.picker.selected = self.picker.selected.saturating_sub(1),
            KeyCode::Down => {
                self.picker.selected = (self.picker.selected + 1).min(n.saturating_sub(1))
            }
            KeyCode::PageUp => self.picker.selected = self.picker.selected.saturating_sub(10),
            KeyCode::PageDown => {
                self.picker.selected = (self.picker.selected + 10).min(n.saturating_sub(1))
            }
            KeyCode::Backspace => {
                self.picker.filter.pop();
                self.picker.selected = 0;
            }
            KeyCode::Char(c) => {
                self.picker.filter.push(c);
                self.picker.selected = 0;
            }
            _ => {}
        }
        Vec::new()
    }
}

impl App {
    fn on_diff_key(&mut self, k: KeyEvent) -> Vec<Cmd> {
        let action = self.keymap.action(&k);
        if k.code == KeyCode::Esc {
            if self.diff.as_ref().is_some_and(|d| d.filter.is_some()) {
                if let Some(d) = self.diff.as_mut() {
                    d.filter = None;
                    d.refresh_files();
                }
            } else if self.builder.is_some() {
                self.screen = Screen::Explorer;
            }
            return Vec::new();
        }
        let Some(action) = action else {
            return Vec::new();
        };
        match action {
            Action::Quit => {
                self.quit = true;
                return vec![Cmd::Quit];
            }
            Action::Help => {
                self.overlay = Some(Overlay::Help { scroll: 0 });
                return Vec::new();
            }
            Action::Filter | Action::Search => {
                let previous = self
                    .diff
                    .as_ref()
                    .and_then(|d| d.filter.as_ref())
                    .map(|f| f.text.clone())
                    .unwrap_or_default();
                self.input = Some(Input {
                    kind: InputKind::Filter,
                    text: previous.clone(),
                    previous,
                });
                return Vec::new();
            }
            Action::Preview => return self.preview_pair(),
            _ => {}
        }
        let page = (self.size.height as usize).saturating_sub(8).max(1);
        if let Some(d) = self.diff.as_mut() {
            d.on_action(action, page);
            let a = super::diffview::areas(self.size);
            d.scroll(
                a.layers.height.saturating_sub(3) as usize,
                a.files.height.saturating_sub(2) as usize,
            );
        }
        Vec::new()
    }

    fn preview_pair(&mut self) -> Vec<Cmd> {
        let Some(d) = self.diff.as_ref() else {
            return Vec::new();
        };
        let Some(row) = d.files.get(d.file_sel).cloned() else {
            return Vec::new();
        };
        let Some((ra, rb)) = self.diff_refs.clone() else {
            return Vec::new();
        };
        let (Ok(sa), Ok(sb)) = (ImageSource::parse(&ra), ImageSource::parse(&rb)) else {
            return Vec::new();
        };
        let path = row
            .path
            .trim_end_matches(" (deletion)")
            .trim_start_matches('/')
            .as_bytes()
            .to_vec();
        // Which layer holds each version: the paired layers, or the top of each image.
        let locate = |img: &Image, layer: Option<usize>| -> Option<(String, Vec<u8>)> {
            let top = img.layers.len().checked_sub(1)?;
            let at = layer.unwrap_or(top);
            let node = img.tree.lookup_path(&path)?;
            let (l, p) = img.tree.content_location(node, at)?;
            Some((img.layers[l].blob.clone(), p))
        };
        let pair_view = d.view == super::diffview::FilesView::Pair;
        let (la, lb) = if pair_view {
            let l = &d.diff.layers[d.sel];
            (l.a_index, l.b_index)
        } else {
            (None, None)
        };
        let old = if pair_view && la.is_none() {
            None
        } else {
            locate(&d.a, la)
        };
        let new = if pair_view && lb.is_none() {
            None
        } else {
            locate(&d.b, lb)
        };
        let size = |s: Option<u64>| {
            s.map(crate::report::human)
                .unwrap_or_else(|| "absent".into())
        };
        let meta = format!(
            "{}  A: {}  →  B: {}",
            row.mark,
            size(row.old_size),
            size(row.new_size)
        );
        self.overlay = Some(Overlay::Preview(Preview {
            node: crate::model::ROOT,
            layer: 0,
            title: row.path.clone(),
            meta,
            body: PreviewBody::Loading,
            scroll: 0,
        }));
        vec![Cmd::PreviewPair {
            generation: self.generation,
            old: old.map(|(blob, p)| (sa.clone(), blob, p)),
            new: new.map(|(blob, p)| (sb.clone(), blob, p)),
        }]
    }
}

/// "repo/name" of "repo/name:tag" (digests and ports handled).
pub fn repo_of(tag: &str) -> &str {
    let t = tag.split('@').next().unwrap_or(tag);
    match t.rfind(':') {
        Some(i) if !t[i..].contains('/') => &t[..i],
        _ => t,
    }
}

fn expand_tilde(s: &str) -> std::path::PathBuf {
    if let Some(rest) = s.strip_prefix("~/") {
        if let Some(home) = std::env::var_os("HOME") {
            return std::path::PathBuf::from(home).join(rest);
        }
    }
    std::path::PathBuf::from(s)
}

/// One row per history entry; layers with no history entry get a row of their own.
pub fn layer_rows(img: &Image) -> Vec<LayerRow> {
    let mut rows = Vec::new();
    let mut effective = 0usize;
    let mut seen_layers = 0usize;
    for (i, h) in img.history.iter().enumerate() {
        match h.layer {
            Some(l) => {
                // Layers the history skipped.
                while seen_layers < l {
                    rows.push(LayerRow {
                        history: None,
                        made: Some(seen_layers),
                        effective: seen_layers,
                    });
                    seen_layers += 1;
                }
                effective = l;
                seen_layers = l + 1;
                rows.push(LayerRow {
                    history: Some(i),
                    made: Some(l),
                    effective,
                });
            }
            None => rows.push(LayerRow {
                history: Some(i),
                made: None,
                effective,
            }),
        }
    }
    while seen_layers < img.layers.len() {
        rows.push(LayerRow {
            history: None,
            made: Some(seen_layers),
            effective: seen_layers,
        });
        seen_layers += 1;
    }
    if img.layers.is_empty() {
        rows.clear();
    }
    rows
}
