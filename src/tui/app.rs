//! Explorer state and its update function. Everything that happens — keys, mouse,
//! resize, results of background jobs — arrives as a [`Msg`]; `update` changes the
//! state and returns the [`Cmd`]s (I/O) for the runner to start. No I/O and no drawing
//! here: each pane owns its state and keys (`layers`, `files`, `picker`, `diff`,
//! `prompt`, `preview`), and this module routes to them. Keys are looked up in the
//! keymap context of the screen that is open.

use super::diff::DiffState;
use super::files::{Effect, FilesPane};
use super::keymap::{Action, Context, Keymap};
use super::layers::{LayersPane, layer_rows};
use super::picker::{Picker, PickerOutcome, PickerPurpose, repo_of};
use super::prompt::{Answer, Edit};
use super::theme::Theme;
use crate::analysis::waste::Waste;
use crate::error::Error;
use crate::model::{Change, EntryKind, Image, ImageBuilder, NodeId};
use crate::source::ImageSource;
use crossterm::event::{KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use std::sync::Arc;
use std::time::Instant;

pub use super::layers::LayerRow;
pub use super::layout::{Areas, MIN_HEIGHT, MIN_WIDTH, Pane, areas, areas_with};
pub use super::msg::{Cmd, DiffLoaded, LoadMsg, Msg};
pub use super::preview::{Preview, PreviewBody};
pub use super::prompt::{Input, InputKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Picker,
    Explorer,
    Diff,
}

#[derive(Debug, Clone)]
pub enum Overlay {
    Help {
        scroll: usize,
    },
    Preview(Preview),
    /// The triage of the open image.
    Triage {
        scroll: usize,
    },
    ConfirmOverwrite {
        dest: std::path::PathBuf,
        node: NodeId,
        layer: usize,
    },
}

#[derive(Debug, Clone)]
pub struct Status {
    pub text: String,
    pub error: bool,
    pub at: Instant,
}

pub struct App {
    pub screen: Screen,
    /// Diff mode: the loaded diff.
    pub diff: Option<DiffState>,
    /// Diff mode: the two references (A, B) being compared.
    pub diff_refs: Option<(String, String)>,
    /// Per layer: other local images that share it (empty until known).
    pub shared: Vec<Vec<String>>,
    pub keymap: Keymap,
    pub theme: Theme,
    /// Where the user's config file is (named in the help).
    pub config_path: Option<std::path::PathBuf>,
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
    /// Seconds since the load started, as of the last tick (views read no clock).
    pub elapsed: f64,
    pub load_error: Option<String>,
    pub loading: bool,
    /// The image while its layers arrive.
    pub builder: Option<ImageBuilder>,
    /// The image once loaded, shared with analysis, extraction and diff jobs.
    pub loaded: Option<Arc<Image>>,
    pub waste: Option<Waste>,
    /// The waste's reclaimable bytes grouped by cause (computed once it arrives).
    pub causes: Vec<crate::analysis::waste::ReclaimableCause>,
    /// Note shown in the title (e.g. "no Docker daemon: showing the bundled sample").
    pub note: Option<String>,

    pub focus: Pane,
    pub layers: LayersPane,
    /// The Dockerfile the image was built from (`--dockerfile`), mapped to its history.
    pub dockerfile: Option<super::dockerfile::DockerfilePane>,
    /// The layers-pane row the Dockerfile pane last followed.
    df_synced_row: Option<usize>,
    /// Change counts of a layer for the details pane: (layer, (added, modified, removed)).
    pub counts: Option<(usize, (usize, usize, usize))>,
    pub files: FilesPane,
    /// First row of the image pane's file list.
    pub summary_scroll: usize,

    pub input: Option<Input>,
    pub overlay: Option<Overlay>,
    pub status: Option<Status>,
    /// Where a push would go (`--to`), for the triage.
    pub triage_to: Option<String>,
    /// The triage of the open image: None until asked; `Err` when it failed.
    pub triage: Option<Result<Box<crate::analysis::push::Triage>, String>>,
    pub triage_loading: bool,
    /// Token of the latest preview request: older answers are dropped.
    pub preview_token: u64,
    pub quit: bool,
}

impl App {
    pub fn new(keymap: Keymap, theme: Theme, size: Rect) -> App {
        App {
            screen: Screen::Explorer,
            keymap,
            theme,
            config_path: None,
            size,
            diff: None,
            diff_refs: None,
            shared: Vec::new(),
            picker: Picker::default(),
            daemon: false,
            generation: 0,
            reference: String::new(),
            source: None,
            progress: Arc::new(Default::default()),
            load_started: None,
            elapsed: 0.0,
            load_error: None,
            loading: false,
            builder: None,
            loaded: None,
            waste: None,
            causes: Vec::new(),
            note: None,
            focus: Pane::Layers,
            layers: LayersPane::default(),
            dockerfile: None,
            df_synced_row: None,
            counts: None,
            files: FilesPane::default(),
            summary_scroll: 0,
            input: None,
            overlay: None,
            status: None,
            triage_to: None,
            triage: None,
            triage_loading: false,
            preview_token: 0,
            quit: false,
        }
    }

    pub fn image(&self) -> Option<&Image> {
        match &self.loaded {
            Some(i) => Some(i),
            None => self.builder.as_ref().map(|b| &b.image),
        }
    }

    /// The loaded image, shared (None while it is still loading).
    pub fn image_arc(&self) -> Option<Arc<Image>> {
        self.loaded.clone()
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
        self.elapsed = 0.0;
        self.load_error = None;
        self.loading = true;
        self.builder = None;
        self.loaded = None;
        self.waste = None;
        self.causes.clear();
        self.shared.clear();
        self.layers = LayersPane::default();
        self.counts = None;
        self.files.reset();
        self.summary_scroll = 0;
        if let Some(d) = self.dockerfile.as_mut() {
            d.mapping = None;
            d.findings.clear();
        }
        self.df_synced_row = None;
        self.triage = None;
        self.triage_loading = false;
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
        self.elapsed = 0.0;
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
        self.layers.selected_layer()
    }

    pub fn layer_loaded(&self, layer: usize) -> bool {
        self.image().is_some_and(|i| i.layers_loaded() > layer)
    }

    pub fn areas(&self) -> Areas {
        areas_with(self.size, self.dockerfile.is_some())
    }

    fn dockerfile_page(&self) -> usize {
        (self.areas().dockerfile.height as usize)
            .saturating_sub(2)
            .max(1)
    }

    fn tree_page(&self) -> usize {
        (self.areas().tree.height as usize).saturating_sub(3).max(1)
    }

    fn layers_page(&self) -> usize {
        (self.areas().layers.height as usize)
            .saturating_sub(2)
            .max(1)
    }

    /// Bring derived state up to date after a change: the tree rows, and the change
    /// counts the details pane shows.
    pub fn refresh_rows(&mut self) {
        let page = self.tree_page();
        self.files.background = self.loaded.is_some();
        let layer = self.selected_layer();
        let img = match &self.loaded {
            Some(i) => Some(&**i),
            None => self.builder.as_ref().map(|b| &b.image),
        };
        self.files.refresh(img, layer, page);
        let made = self.layers.selected().and_then(|r| r.made);
        let counts = match (img, made) {
            (Some(img), Some(l)) if img.layers_loaded() > l => {
                if self.counts.is_some_and(|(cl, _)| cl == l) {
                    self.counts
                } else {
                    Some((l, crate::report::files::change_counts(img, l)))
                }
            }
            _ => None,
        };
        self.counts = counts;
        // The Dockerfile pane follows the layers pane (unless it leads).
        if self.df_synced_row != Some(self.layers.sel) && self.focus != Pane::Dockerfile {
            let page = self.dockerfile_page();
            if let (Some(d), Some(row)) = (self.dockerfile.as_mut(), self.layers.selected()) {
                if let Some(i) = d.instruction_of_row(row) {
                    d.show_instruction(i, page);
                }
            }
            self.df_synced_row = Some(self.layers.sel);
        }
    }

    fn select_layer(&mut self, row: usize) {
        let page = self.layers_page();
        if self.layers.select(row, page) {
            self.files.dirty = true;
        }
    }

    fn move_cursor(&mut self, delta: isize) {
        match self.focus {
            Pane::Layers => {
                let page = self.layers_page();
                if self.layers.move_by(delta, page) {
                    self.files.dirty = true;
                }
            }
            Pane::Tree => {
                let page = self.tree_page();
                self.files.move_by(delta, page);
            }
            Pane::Dockerfile => {
                let page = self.dockerfile_page();
                let row = match self.dockerfile.as_mut() {
                    Some(d) => {
                        d.move_by(delta, page);
                        d.row_for_cursor(&self.layers.rows)
                    }
                    None => None,
                };
                // Selecting a line selects its layer.
                if let Some(r) = row {
                    let lp = self.layers_page();
                    if self.layers.select(r, lp) {
                        self.files.dirty = true;
                    }
                    self.df_synced_row = Some(self.layers.sel);
                }
            }
            Pane::Image => {
                let len = self
                    .waste
                    .as_ref()
                    .map(|w| super::summary::list_len(w, &self.causes))
                    .unwrap_or(0);
                self.summary_scroll = (self.summary_scroll as isize)
                    .saturating_add(delta)
                    .clamp(0, len.saturating_sub(1) as isize)
                    as usize;
            }
        }
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Cmd> {
        let cmds = match msg {
            Msg::Key(k) => self.on_key(k),
            Msg::Mouse(m) => self.on_mouse(m),
            Msg::Resize(w, h) => {
                self.size = Rect::new(0, 0, w, h);
                if !self.areas().compact && self.focus == Pane::Image {
                    self.focus = Pane::Layers;
                }
                let (lp, tp) = (self.layers_page(), self.tree_page());
                self.layers.clamp(lp);
                self.files.clamp(tp);
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
                if self.loading {
                    self.elapsed = self
                        .load_started
                        .map(|t| t.elapsed().as_secs_f64())
                        .unwrap_or(0.0);
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
            Msg::Preview {
                generation,
                token,
                result,
            } => {
                if generation != self.generation || token != self.preview_token {
                    return Vec::new(); // another image, or a file the user has left
                }
                if let Some(Overlay::Preview(p)) = &mut self.overlay {
                    if p.token == token {
                        p.body = match result {
                            Ok(d) => PreviewBody::Data(d),
                            Err(e) => PreviewBody::Error(e.message),
                        };
                    }
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
                        self.diff = Some(DiffState::new(d.a, d.b, d.diff));
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
                token,
                old,
                new,
            } => {
                if generation != self.generation || token != self.preview_token {
                    return Vec::new();
                }
                if let Some(Overlay::Preview(p)) = &mut self.overlay {
                    if p.token == token {
                        let conv =
                            |r: Option<Result<Vec<u8>, Error>>| r.map(|x| x.map_err(|e| e.message));
                        p.body = PreviewBody::Pair {
                            old: conv(old),
                            new: conv(new),
                        };
                    }
                }
                Vec::new()
            }
            Msg::FilterRows { generation, done } => {
                if generation == self.generation {
                    let page = self.tree_page();
                    let img = self.loaded.clone();
                    self.files.filter_done(img.as_deref(), *done, page);
                }
                Vec::new()
            }
            Msg::Triage { generation, result } => {
                if generation != self.generation {
                    return Vec::new();
                }
                self.triage_loading = false;
                self.triage = Some(result.map_err(|e| e.message));
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
        let mut cmds = cmds;
        if let Some(job) = self.files.pending_job.take() {
            cmds.push(Cmd::FilterRows {
                generation: self.generation,
                job: Box::new(job),
            });
        }
        cmds
    }

    fn on_load(&mut self, event: LoadMsg) -> Vec<Cmd> {
        let page = self.layers_page();
        match event {
            LoadMsg::Meta(img) => {
                // A daemon image is described twice: from inspect + history at once,
                // then from its config once the export is read. Keep the selection
                // and the layers stacked meanwhile.
                let keep = self.layers.selected().and_then(|r| r.made);
                if let Some(b) = self.builder.as_mut() {
                    if b.image.layers_loaded() > 0 {
                        if b.replace_meta(*img) {
                            self.layers.set_rows(layer_rows(&b.image), keep, page);
                            self.files.dirty = true;
                            if let Some(d) = self.dockerfile.as_mut() {
                                d.map(&b.image);
                            }
                            self.df_synced_row = None;
                        }
                        return Vec::new();
                    }
                }
                self.layers.set_rows(layer_rows(&img), keep, page);
                if let Some(d) = self.dockerfile.as_mut() {
                    d.map(&img);
                    for w in d.mapping.iter().flat_map(|m| m.warnings.clone()) {
                        self.status = Some(Status {
                            text: crate::report::escape_controls(&w).replace('\n', " "),
                            error: true,
                            at: Instant::now(),
                        });
                    }
                }
                self.df_synced_row = None;
                self.builder = Some(ImageBuilder::new(*img));
                self.files.dirty = true;
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
                        if self.builder.as_ref().is_some_and(|b| b.image.is_complete()) {
                            // From now on the image is shared, never copied.
                            let b = self.builder.take().expect("checked");
                            self.loaded = Some(Arc::new(b.image));
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
            LoadMsg::Findings(f) => {
                if let Some(d) = self.dockerfile.as_mut() {
                    d.findings = f;
                }
                Vec::new()
            }
            LoadMsg::Waste(w) => {
                self.causes = crate::analysis::waste::reclaimable_by_cause(&w);
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
                    let row = (m.row.saturating_sub(a.layers.y + 1)) as usize + self.layers.offset;
                    if row < self.layers.rows.len() && m.row > a.layers.y {
                        self.select_layer(row);
                    }
                } else if in_tree {
                    self.focus = Pane::Tree;
                    // Two header lines (border + column titles).
                    if m.row >= a.tree.y + 2 {
                        let row = (m.row - a.tree.y - 2) as usize + self.files.offset;
                        if row < self.files.rows.len() {
                            if row == self.files.sel && self.files.rows[row].is_dir {
                                self.files.toggle_dir(row, None);
                            }
                            self.files.sel = row;
                            let page = self.tree_page();
                            self.files.clamp(page);
                        }
                    }
                }
            }
            _ => {}
        }
        Vec::new()
    }

    /// The keymap context keys are looked up in right now.
    pub fn context(&self) -> Context {
        if self.input.is_some() {
            return Context::Prompt;
        }
        match &self.overlay {
            Some(Overlay::ConfirmOverwrite { .. }) => return Context::Confirm,
            Some(_) => return Context::Overlay,
            None => {}
        }
        match self.screen {
            Screen::Picker => Context::Picker,
            Screen::Diff => Context::Diff,
            Screen::Explorer => Context::Tree,
        }
    }

    fn on_key(&mut self, k: KeyEvent) -> Vec<Cmd> {
        if k.kind == crossterm::event::KeyEventKind::Release {
            return Vec::new();
        }
        // Control-key bindings of quit and suspend work on every screen, prompts too.
        if k.modifiers.contains(KeyModifiers::CONTROL) {
            match self.keymap.action_in(Context::Global, &k) {
                Some(Action::Suspend) => return vec![Cmd::Suspend],
                Some(Action::Quit) => {
                    self.quit = true;
                    return vec![Cmd::Quit];
                }
                _ => {}
            }
        }
        if self.input.is_some() {
            return self.on_input_key(k);
        }
        if let Some(o) = self.overlay.clone() {
            return self.on_overlay_key(o, k);
        }
        match self.screen {
            Screen::Picker => self.on_picker_key(k),
            Screen::Diff => self.on_diff_key(k),
            Screen::Explorer => match self.keymap.action_in(Context::Tree, &k) {
                Some(a) => self.on_action(a),
                None => Vec::new(),
            },
        }
    }

    pub fn on_action(&mut self, action: Action) -> Vec<Cmd> {
        let compact = self.areas().compact;
        match action {
            Action::Quit => {
                self.quit = true;
                return vec![Cmd::Quit];
            }
            Action::Suspend => return vec![Cmd::Suspend],
            Action::Help => self.overlay = Some(Overlay::Help { scroll: 0 }),
            Action::Back => {
                if self.files.view.filter.is_some() {
                    return self.apply_filter("", false);
                }
            }
            Action::NextPane | Action::PrevPane => {
                self.focus = self.focus.next(
                    compact,
                    self.dockerfile.is_some(),
                    action == Action::PrevPane,
                );
            }
            Action::Up => self.move_cursor(-1),
            Action::Down => self.move_cursor(1),
            Action::PageUp | Action::PageDown => {
                let p = match self.focus {
                    Pane::Tree => self.tree_page(),
                    Pane::Layers => self.layers_page(),
                    Pane::Image => (self.areas().image.height as usize)
                        .saturating_sub(8)
                        .max(1),
                    Pane::Dockerfile => self.dockerfile_page(),
                } as isize;
                self.move_cursor(if action == Action::PageUp { -p } else { p });
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
            Action::Triage => {
                if self.loaded.is_none() {
                    self.set_status("the image is still loading: triage when it is loaded", true);
                    return Vec::new();
                }
                self.overlay = Some(Overlay::Triage { scroll: 0 });
                if self.triage.is_none() && !self.triage_loading {
                    self.triage_loading = true;
                    return vec![Cmd::Triage {
                        generation: self.generation,
                    }];
                }
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
            a if a.context() == Context::Tree => {
                // Tree actions work from any pane (and show the tree in compact mode).
                if compact && self.focus != Pane::Tree {
                    self.focus = Pane::Tree;
                }
                return self.on_tree_action(a);
            }
            _ => {}
        }
        Vec::new()
    }

    fn on_tree_action(&mut self, action: Action) -> Vec<Cmd> {
        let page = self.tree_page();
        let layer = self.selected_layer();
        let effect = if let Some(img) = self.loaded.clone() {
            self.files.on_action(action, &img, layer, page)
        } else if let Some(b) = self.builder.as_ref() {
            // Still loading: the layers that arrived can be browsed.
            self.files.on_action(action, &b.image, layer, page)
        } else {
            return Vec::new();
        };
        if matches!(action, Action::SearchNext | Action::SearchPrev) {
            self.focus = Pane::Tree;
        }
        self.on_effect(effect)
    }

    fn on_effect(&mut self, effect: Effect) -> Vec<Cmd> {
        match effect {
            Effect::None => Vec::new(),
            Effect::Status(t, e) => {
                self.set_status(t, e);
                Vec::new()
            }
            Effect::Prompt(i) => {
                self.input = Some(i);
                Vec::new()
            }
            Effect::Preview => self.open_preview(),
        }
    }

    fn open_preview(&mut self) -> Vec<Cmd> {
        let (Some(r), Some(layer)) = (self.files.selected_row(), self.selected_layer()) else {
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
        if let Some(l) = tree.link(&v) {
            let arrow = if e.kind == EntryKind::Hardlink {
                "⇒ /"
            } else {
                "→ "
            };
            meta.push_str(&format!("  {arrow}{}", String::from_utf8_lossy(l)));
        }
        meta.push_str(&format!("  (stored in layer {})", v.layer));
        let token = self.preview_token + 1;
        let mut p = Preview {
            node: r.node,
            layer,
            title: path_str,
            meta,
            body: PreviewBody::Loading,
            scroll: 0,
            token,
        };
        let mut cmds = Vec::new();
        match e.kind {
            EntryKind::File | EntryKind::Hardlink => {
                let Some((blob_layer, path)) = tree.content_location(r.node, at) else {
                    return Vec::new();
                };
                match &self.source {
                    Some(src) if e.size > 0 => cmds.push(Cmd::Preview {
                        generation: self.generation,
                        token,
                        source: src.clone(),
                        blob: img.layers[blob_layer].blob.clone(),
                        path,
                    }),
                    _ => p.body = PreviewBody::Data(Vec::new()),
                }
            }
            _ => p.body = PreviewBody::Data(Vec::new()),
        }
        self.preview_token = token;
        self.overlay = Some(Overlay::Preview(p));
        cmds
    }

    fn on_overlay_key(&mut self, o: Overlay, k: KeyEvent) -> Vec<Cmd> {
        if let Overlay::ConfirmOverwrite { dest, node, layer } = o {
            self.overlay = None;
            return match super::prompt::confirm_key(&self.keymap, &k) {
                Answer::Yes => vec![Cmd::Extract {
                    layer,
                    node,
                    dest,
                    overwrite: true,
                }],
                Answer::No => {
                    self.set_status("extract cancelled", false);
                    Vec::new()
                }
            };
        }
        let action = self.keymap.action_in(Context::Overlay, &k);
        // The keys that opened an overlay close it too (help, preview).
        let reopen = match (&o, self.keymap.action_in(self.under_overlay(), &k)) {
            (Overlay::Help { .. }, Some(Action::Help | Action::PickerHelp)) => true,
            (Overlay::Triage { .. }, Some(Action::Triage)) => true,
            (Overlay::Preview(_), Some(Action::Preview | Action::DiffPreview)) => true,
            _ => false,
        };
        if action == Some(Action::Close) || reopen {
            self.overlay = None;
            return Vec::new();
        }
        let scroll = match &o {
            Overlay::Help { scroll } | Overlay::Triage { scroll } => *scroll,
            Overlay::Preview(p) => p.scroll,
            Overlay::ConfirmOverwrite { .. } => 0,
        };
        let page = (self.size.height as usize).saturating_sub(6).max(1);
        let new = match action {
            Some(Action::Down) => scroll + 1,
            Some(Action::Up) => scroll.saturating_sub(1),
            Some(Action::PageDown) => scroll + page,
            Some(Action::PageUp) => scroll.saturating_sub(page),
            Some(Action::Top) => 0,
            Some(Action::Bottom) => usize::MAX / 4,
            Some(Action::Quit) => {
                self.quit = true;
                return vec![Cmd::Quit];
            }
            _ => scroll,
        };
        match &mut self.overlay {
            Some(Overlay::Help { scroll }) | Some(Overlay::Triage { scroll }) => *scroll = new,
            Some(Overlay::Preview(p)) => p.scroll = new,
            _ => {}
        }
        Vec::new()
    }

    /// The context of the screen below an overlay.
    fn under_overlay(&self) -> Context {
        match self.screen {
            Screen::Picker => Context::Picker,
            Screen::Diff => Context::Diff,
            Screen::Explorer => Context::Tree,
        }
    }

    fn on_input_key(&mut self, k: KeyEvent) -> Vec<Cmd> {
        let Some(mut input) = self.input.take() else {
            return Vec::new();
        };
        match super::prompt::on_key(&mut input, &self.keymap, &k) {
            Edit::Cancel => {
                if input.kind == InputKind::Filter {
                    return self.apply_filter(&input.previous, false);
                }
                Vec::new()
            }
            Edit::Accept => match input.kind {
                InputKind::Filter => self.apply_filter(&input.text, true),
                InputKind::Search => {
                    if !input.text.is_empty() {
                        match super::treeview::Filter::new(&input.text) {
                            Ok(f) => {
                                self.files.search = Some(f);
                                return self.on_tree_action(Action::SearchNext);
                            }
                            Err(e) => self.set_status(e, true),
                        }
                    }
                    Vec::new()
                }
                InputKind::ExtractPath => self.start_extract(&input.text),
            },
            Edit::Editing => {
                let mut cmds = Vec::new();
                if input.kind == InputKind::Filter {
                    // Live filtering as the user types.
                    let text = input.text.clone();
                    cmds = self.apply_filter(&text, false);
                }
                self.input = Some(input);
                cmds
            }
        }
    }

    /// Filter the explorer's tree or the diff's files; `report` shows a bad pattern's
    /// error (while typing, a half-written regex is not an error). On a big loaded tree
    /// the rows are computed by a job (the Cmd returned).
    fn apply_filter(&mut self, text: &str, report: bool) -> Vec<Cmd> {
        if self.screen == Screen::Diff {
            if let Some(d) = self.diff.as_mut() {
                d.filter = if text.is_empty() {
                    None
                } else {
                    super::treeview::Filter::new(text).ok()
                };
                d.file_sel = 0;
                d.file_offset = 0;
                d.refresh_files();
            }
            return Vec::new();
        }
        let layer = self.selected_layer();
        let page = self.tree_page();
        let background = self.loaded.is_some();
        let img = match &self.loaded {
            Some(i) => Some(&**i),
            None => self.builder.as_ref().map(|b| &b.image),
        };
        match self.files.apply_filter(text, img, layer, page, background) {
            Ok(Some(job)) => vec![Cmd::FilterRows {
                generation: self.generation,
                job: Box::new(job),
            }],
            Ok(None) => Vec::new(),
            Err(e) => {
                if report {
                    self.set_status(e, true);
                }
                Vec::new()
            }
        }
    }

    fn start_extract(&mut self, text: &str) -> Vec<Cmd> {
        let (Some(r), Some(layer)) = (self.files.selected_row(), self.selected_layer()) else {
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
        match self.picker.on_key(&self.keymap, &k) {
            PickerOutcome::None => Vec::new(),
            PickerOutcome::Help => {
                self.overlay = Some(Overlay::Help { scroll: 0 });
                Vec::new()
            }
            PickerOutcome::Back => {
                if self.image().is_some() || self.loading || self.diff.is_some() {
                    self.screen = if self.diff.is_some() && self.image().is_none() {
                        Screen::Diff
                    } else {
                        Screen::Explorer
                    };
                    Vec::new()
                } else {
                    self.quit = true;
                    vec![Cmd::Quit]
                }
            }
            PickerOutcome::Choose(r) => {
                if self.picker.purpose == PickerPurpose::DiffAgainst {
                    self.picker.purpose = PickerPurpose::Open;
                    let a = self.reference.clone();
                    return self.open_diff(&a, &r);
                }
                self.open(&r)
            }
        }
    }

    /// Whether Esc in diff mode has an explorer to go back to.
    pub fn diff_can_go_back(&self) -> bool {
        self.image().is_some()
    }

    fn on_diff_key(&mut self, k: KeyEvent) -> Vec<Cmd> {
        let Some(action) = self.keymap.action_in(Context::Diff, &k) else {
            return Vec::new();
        };
        match action {
            Action::Quit => {
                self.quit = true;
                return vec![Cmd::Quit];
            }
            Action::Suspend => return vec![Cmd::Suspend],
            Action::Help => {
                self.overlay = Some(Overlay::Help { scroll: 0 });
                return Vec::new();
            }
            Action::Back => {
                if self.diff.as_ref().is_some_and(|d| d.filter.is_some()) {
                    if let Some(d) = self.diff.as_mut() {
                        d.filter = None;
                        d.refresh_files();
                    }
                } else if self.diff_can_go_back() {
                    self.screen = Screen::Explorer;
                }
                return Vec::new();
            }
            Action::DiffFilter => {
                let previous = self
                    .diff
                    .as_ref()
                    .and_then(|d| d.filter.as_ref())
                    .map(|f| f.text.clone())
                    .unwrap_or_default();
                self.input = Some(Input::new(InputKind::Filter, previous));
                return Vec::new();
            }
            Action::DiffPreview => return self.preview_pair(),
            _ => {}
        }
        let page = (self.size.height as usize).saturating_sub(8).max(1);
        if let Some(d) = self.diff.as_mut() {
            d.on_action(action, page);
            let a = super::diff::areas(self.size);
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
        let pair_view = d.view == super::diff::FilesView::Pair;
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
        let token = self.preview_token + 1;
        self.preview_token = token;
        self.overlay = Some(Overlay::Preview(Preview {
            node: crate::model::ROOT,
            layer: 0,
            title: row.path.clone(),
            meta,
            body: PreviewBody::Loading,
            scroll: 0,
            token,
        }));
        vec![Cmd::PreviewPair {
            generation: self.generation,
            token,
            old: old.map(|(blob, p)| (sa.clone(), blob, p)),
            new: new.map(|(blob, p)| (sb.clone(), blob, p)),
        }]
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
