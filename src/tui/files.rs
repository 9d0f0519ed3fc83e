//! The file tree pane: the merged filesystem at the selected layer (or only that
//! layer's changes), folding, sorting, filtering, search, and what Enter and `x` act on.

use super::keymap::Action;
use super::prompt::{Input, InputKind};
use super::treeview::{self, Expansion, Filter, Mode, Row, SizeCache, Sort, ViewOptions};
use super::widgets::{Ctx, change_mark, highlight, mode_string, reveal, scroll_to};
use crate::model::{Change, EntryKind, Image, NodeId, ROOT};
use crate::report::human;
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub struct FilesPane {
    pub view: ViewOptions,
    pub show_attrs: bool,
    pub expansion: Expansion,
    pub rows: Vec<Row>,
    rows_key: Option<(usize, usize)>,
    pub dirty: bool,
    pub sel: usize,
    pub offset: usize,
    pub sizes: SizeCache,
    pub search: Option<Filter>,
    /// Trees with more nodes than this are filtered off the UI thread.
    pub big_tree: usize,
    /// The filter job whose answer is awaited (a newer one, or any rebuild of the
    /// rows, makes older answers stale).
    filter_token: u64,
    pub filtering: bool,
    /// Whether rows may be computed by a job (the image is fully loaded and shared).
    pub background: bool,
    /// A job [`FilesPane::refresh`] wants run (taken by the app).
    pub pending_job: Option<FilterJob>,
}

/// Rows to compute off the UI thread for a filter (big trees).
#[derive(Debug, Clone)]
pub struct FilterJob {
    pub token: u64,
    pub layer: usize,
    /// `(layer, layers loaded)`: what the rows are for.
    pub key: (usize, usize),
    pub view: ViewOptions,
    pub expansion: Expansion,
    /// The layer's sizes, if cached (else the job computes them).
    pub sizes: Option<std::sync::Arc<treeview::LayerSizes>>,
    /// Unfold the directories on the way to the filter's matches.
    pub unfold: bool,
}

impl PartialEq for FilterJob {
    fn eq(&self, o: &FilterJob) -> bool {
        self.token == o.token && self.layer == o.layer
    }
}

/// What a filter job found.
#[derive(Debug)]
pub struct FilterDone {
    pub token: u64,
    pub layer: usize,
    pub key: (usize, usize),
    pub expansion: Expansion,
    pub rows: Vec<Row>,
    pub sizes: std::sync::Arc<treeview::LayerSizes>,
}

/// Nodes above which filtering runs off the UI thread.
pub const BIG_TREE: usize = 250_000;

impl Default for FilesPane {
    fn default() -> Self {
        FilesPane {
            view: ViewOptions::default(),
            show_attrs: true,
            expansion: Expansion::default(),
            rows: Vec::new(),
            rows_key: None,
            dirty: true,
            sel: 0,
            offset: 0,
            sizes: SizeCache::default(),
            search: None,
            big_tree: BIG_TREE,
            filter_token: 0,
            filtering: false,
            background: false,
            pending_job: None,
        }
    }
}

/// What an action asks of the explorer beyond this pane.
pub enum Effect {
    None,
    Status(String, bool),
    Prompt(Input),
    Preview,
}

impl FilesPane {
    /// Forget the rows (another image).
    pub fn reset(&mut self) {
        let view = std::mem::take(&mut self.view);
        let show_attrs = self.show_attrs;
        *self = FilesPane::default();
        self.view = view;
        self.show_attrs = show_attrs;
    }

    pub fn selected_row(&self) -> Option<Row> {
        self.rows.get(self.sel).copied()
    }

    /// Recompute the rows if anything they depend on changed. The selected path keeps
    /// its row on screen (else its nearest shown ancestor is selected).
    pub fn refresh(&mut self, img: Option<&Image>, layer: Option<usize>, page: usize) {
        let (Some(img), Some(layer)) = (img, layer) else {
            self.rows.clear();
            return;
        };
        let loaded = img.layers_loaded();
        let key = (layer, loaded.min(layer + 1));
        if !self.dirty && self.rows_key == Some(key) {
            return;
        }
        if layer < loaded && self.background && img.tree.node_count() > self.big_tree {
            // A big tree: the rows (and the layer's sizes, unless cached) are computed
            // by a job; the rows shown stay until it answers.
            let sizes = self.sizes.cached(&img.tree, layer);
            let job = self.job(layer, key, sizes, false);
            self.pending_job = Some(job);
            self.rows_key = Some(key);
            self.dirty = false;
            return;
        }
        let rows = if layer >= loaded {
            Vec::new()
        } else {
            let sizes = self.sizes.get(&img.tree, layer);
            treeview::build_rows(img, layer, &self.view, &self.expansion, &sizes)
        };
        // Rows built here include the filter: an awaited filter answer is stale.
        self.filtering = false;
        self.filter_token += 1;
        self.place_rows(img, rows, key, page);
    }

    /// Show `rows`; the selected path keeps its screen row (else its nearest shown
    /// ancestor is selected).
    fn place_rows(&mut self, img: &Image, rows: Vec<Row>, key: (usize, usize), page: usize) {
        let selected_node = self.rows.get(self.sel).map(|r| r.node);
        let screen_row = self.sel.saturating_sub(self.offset);
        self.rows = rows;
        self.rows_key = Some(key);
        self.dirty = false;
        if let Some(n) = selected_node {
            let tree = &img.tree;
            let mut want = n;
            let mut found = None;
            loop {
                if let Some(i) = self.rows.iter().position(|r| r.node == want) {
                    found = Some(i);
                    break;
                }
                if want == ROOT {
                    break;
                }
                want = tree.parent(want);
            }
            self.sel = found.unwrap_or(0);
            // No scrolling while the selection fits on the first page; past it, the
            // selection keeps its screen row (the view does not jump under the cursor).
            self.offset = if self.sel < page.max(1) {
                0
            } else {
                self.sel.saturating_sub(screen_row)
            };
        }
        self.clamp(page);
    }

    pub fn clamp(&mut self, page: usize) {
        if self.rows.is_empty() {
            self.sel = 0;
            self.offset = 0;
            return;
        }
        self.sel = self.sel.min(self.rows.len() - 1);
        self.offset = scroll_to(self.sel, self.offset, page);
    }

    pub fn move_by(&mut self, delta: isize, page: usize) {
        if self.rows.is_empty() {
            return;
        }
        self.sel = (self.sel as isize)
            .saturating_add(delta)
            .clamp(0, self.rows.len() as isize - 1) as usize;
        self.clamp(page);
    }

    pub fn toggle_dir(&mut self, row: usize, to: Option<bool>) {
        let Some(r) = self.rows.get(row).copied() else {
            return;
        };
        if !r.is_dir {
            return;
        }
        let expanded = to.unwrap_or(!r.expanded);
        self.expansion.set(r.node, expanded);
        self.dirty = true;
    }

    /// Set (or clear, with "") the filter; the directories on the way to what it
    /// matches are unfolded. The same text again changes nothing. On a big tree the
    /// rows are computed off the UI thread: the job to run is returned, the rows shown
    /// stay until [`FilesPane::filter_done`] brings the answer.
    pub fn apply_filter(
        &mut self,
        text: &str,
        img: Option<&Image>,
        layer: Option<usize>,
        page: usize,
        background: bool,
    ) -> Result<Option<FilterJob>, String> {
        let big = background && img.is_some_and(|i| i.tree.node_count() > self.big_tree);
        let current = self.view.filter.as_ref().map_or("", |f| f.text.as_str());
        if text == current && !self.filtering {
            return Ok(None);
        }
        self.view.filter = if text.is_empty() {
            None
        } else {
            Some(Filter::new(text)?)
        };
        let (Some(img), Some(layer)) = (img, layer) else {
            self.dirty = true;
            return Ok(None);
        };
        if layer >= img.layers_loaded() {
            self.dirty = true;
            return Ok(None);
        }
        let key = (layer, img.layers_loaded().min(layer + 1));
        if big {
            let sizes = self.sizes.cached(&img.tree, layer);
            let unfold = self.view.filter.is_some();
            return Ok(Some(self.job(layer, key, sizes, unfold)));
        }
        if self.view.filter.is_none() {
            // Clearing: the rows under the current expansion.
            self.dirty = true;
            return Ok(None);
        }
        let sizes = self.sizes.get(&img.tree, layer);
        let (expansion, rows) =
            treeview::filter_rows(img, layer, &self.view, &self.expansion, &sizes);
        self.expansion = expansion;
        self.filtering = false;
        self.filter_token += 1;
        self.place_rows(img, rows, key, page);
        Ok(None)
    }

    fn job(
        &mut self,
        layer: usize,
        key: (usize, usize),
        sizes: Option<std::sync::Arc<treeview::LayerSizes>>,
        unfold: bool,
    ) -> FilterJob {
        self.filter_token += 1;
        self.filtering = true;
        FilterJob {
            token: self.filter_token,
            layer,
            key,
            view: self.view.clone(),
            expansion: self.expansion.clone(),
            sizes,
            unfold,
        }
    }

    /// The answer of a filter job: shown if it is the one awaited.
    pub fn filter_done(&mut self, img: Option<&Image>, done: FilterDone, page: usize) {
        let Some(img) = img else { return };
        if !self.filtering || done.token != self.filter_token {
            return;
        }
        self.filtering = false;
        self.expansion = done.expansion;
        self.sizes.insert(&img.tree, done.layer, done.sizes);
        self.place_rows(img, done.rows, done.key, page);
    }

    /// Jump to the next (or previous) search match; the status to show.
    pub fn jump_search(
        &mut self,
        forward: bool,
        img: &Image,
        layer: usize,
        page: usize,
    ) -> (String, bool) {
        let Some(pattern) = self.search.clone() else {
            return ("no search yet: press / to search".into(), true);
        };
        if layer >= img.layers_loaded() {
            return ("this layer is still loading".into(), true);
        }
        let sizes = self.sizes.get(&img.tree, layer);
        let matches = treeview::search(img, layer, &self.view, &sizes, &pattern);
        if matches.is_empty() {
            return (format!("no match for \"{}\"", pattern.text), true);
        }
        // Position of the current node in the full (expanded) order.
        let current = self.selected_row().map(|r| r.node);
        let order = {
            let mut all = Expansion::default();
            all.expand_all();
            treeview::build_rows(img, layer, &self.view, &all, &sizes)
        };
        let index: rustc_hash::FxHashMap<NodeId, usize> =
            order.iter().enumerate().map(|(i, r)| (r.node, i)).collect();
        let pos_of = |n: NodeId| index.get(&n).copied().unwrap_or(0);
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
                .unwrap_or(*matches.last().expect("not empty"))
        };
        let idx = matches.iter().position(|&m| m == target).unwrap_or(0);
        let tree = &img.tree;
        let mut p = tree.parent(target);
        while p != ROOT {
            self.expansion.set(p, true);
            p = tree.parent(p);
        }
        self.dirty = true;
        self.refresh(Some(img), Some(layer), page);
        if let Some(i) = self.rows.iter().position(|r| r.node == target) {
            self.sel = i;
            // With context above and below, not on the last row.
            self.offset = reveal(i, self.offset, page, self.rows.len());
        }
        (
            format!(
                "match {} of {} for \"{}\"",
                idx + 1,
                matches.len(),
                pattern.text
            ),
            false,
        )
    }

    pub fn on_action(
        &mut self,
        action: Action,
        img: &Image,
        layer: Option<usize>,
        page: usize,
    ) -> Effect {
        match action {
            Action::ToggleChanges => {
                self.view.mode = if self.view.mode == Mode::Merged {
                    Mode::Changes
                } else {
                    Mode::Merged
                };
                self.dirty = true;
            }
            Action::ToggleAttrs => self.show_attrs = !self.show_attrs,
            Action::ToggleSort => {
                self.view.sort = if self.view.sort == Sort::Size {
                    Sort::Name
                } else {
                    Sort::Size
                };
                self.dirty = true;
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
                self.dirty = true;
            }
            Action::Toggle => {
                if self.selected_row().is_some_and(|r| r.is_dir) {
                    self.toggle_dir(self.sel, None);
                }
            }
            Action::Expand => {
                if self.selected_row().is_some_and(|r| r.is_dir && !r.expanded) {
                    self.toggle_dir(self.sel, Some(true));
                }
            }
            Action::Collapse => {
                if let Some(r) = self.selected_row() {
                    if r.is_dir && r.expanded {
                        self.toggle_dir(self.sel, Some(false));
                    } else if r.depth > 0 {
                        // Go to the parent.
                        if let Some(p) = self.rows[..self.sel]
                            .iter()
                            .rposition(|x| x.depth < r.depth)
                        {
                            self.sel = p;
                            self.clamp(page);
                        }
                    }
                }
            }
            Action::CollapseAll => {
                self.expansion.collapse_all();
                self.dirty = true;
            }
            Action::ExpandAll => {
                self.expansion.expand_all();
                self.dirty = true;
            }
            Action::Filter => {
                let previous = self
                    .view
                    .filter
                    .as_ref()
                    .map(|f| f.text.clone())
                    .unwrap_or_default();
                return Effect::Prompt(Input::new(InputKind::Filter, previous));
            }
            Action::Search => return Effect::Prompt(Input::new(InputKind::Search, String::new())),
            Action::SearchNext | Action::SearchPrev => {
                let Some(layer) = layer else {
                    return Effect::None;
                };
                let (text, error) =
                    self.jump_search(action == Action::SearchNext, img, layer, page);
                return Effect::Status(text, error);
            }
            Action::Preview => {
                // On a directory, Enter folds or unfolds it.
                if self.selected_row().is_some_and(|r| r.is_dir) {
                    self.toggle_dir(self.sel, None);
                    return Effect::None;
                }
                return Effect::Preview;
            }
            Action::Extract => {
                if let Some(r) = self.selected_row() {
                    if r.change == Change::Removed {
                        return Effect::Status(
                            "removed in this layer: nothing to extract".into(),
                            true,
                        );
                    }
                    let name = String::from_utf8_lossy(img.tree.name(r.node)).to_string();
                    return Effect::Prompt(Input::new(InputKind::ExtractPath, format!("./{name}")));
                }
            }
            _ => {}
        }
        Effect::None
    }
}

/// What the pane draws besides its own state.
pub struct FilesView<'a> {
    pub img: &'a Image,
    pub layer: usize,
    pub focused: bool,
    pub load_failed: bool,
}

pub fn draw(f: &mut Frame, area: Rect, ctx: Ctx, pane: &FilesPane, v: &FilesView) {
    let img = v.img;
    let layer = v.layer;
    let view = &pane.view;
    let mode = match view.mode {
        Mode::Merged => "merged",
        Mode::Changes => "changes only",
    };
    let sort = match view.sort {
        Sort::Size => "size",
        Sort::Name => "name",
    };
    let mut title = format!("Files at layer {layer} · {mode} · by {sort}");
    if let Some(fl) = &view.filter {
        title.push_str(&format!(" · filter \"{}\"", fl.text));
    }
    if pane.filtering {
        title.push_str(" · updating…");
    }
    let names = ["added", "modified", "removed", "unchanged"];
    let hidden: Vec<&str> = names
        .iter()
        .zip(view.hidden.iter())
        .filter(|(_, h)| **h)
        .map(|(n, _)| *n)
        .collect();
    if !hidden.is_empty() {
        title.push_str(&format!(" · hiding {}", hidden.join(",")));
    }
    // The legend says which kinds are shown and which are hidden (with the key that
    // brings them back).
    let keys = [
        Action::ShowAdded,
        Action::ShowModified,
        Action::ShowRemoved,
        Action::ShowUnchanged,
    ];
    let styles = [
        ctx.theme.added,
        ctx.theme.modified,
        ctx.theme.removed,
        ctx.theme.unchanged,
    ];
    let marks = ["+", "~", "-", ""];
    let mut legend = vec![Span::raw(" ")];
    for i in 0..4 {
        if view.hidden[i] {
            legend.push(Span::styled(
                format!("{}:{} hidden ", ctx.keymap.label(keys[i]), names[i]),
                ctx.theme.dim,
            ));
        } else {
            legend.push(Span::styled(
                format!("{}{} ", marks[i], names[i]),
                styles[i],
            ));
        }
    }
    let b = ctx
        .block(&title, v.focused)
        .title_bottom(Line::from(legend).alignment(Alignment::Right));
    let inner = b.inner(area);
    f.render_widget(b, area);
    if inner.height < 2 {
        return;
    }
    if img.layers.is_empty() {
        f.render_widget(
            Paragraph::new(Line::styled(
                "this image has no layers: no files",
                ctx.theme.dim,
            )),
            inner,
        );
        return;
    }
    if img.layers_loaded() <= layer {
        let msg = if v.load_failed {
            "layer not loaded (the load failed)".to_string()
        } else {
            format!(
                "loading layer {layer}… ({} of {} parsed)",
                img.layers_loaded(),
                img.layers.len()
            )
        };
        f.render_widget(Paragraph::new(Line::styled(msg, ctx.theme.dim)), inner);
        return;
    }
    let [header, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    let tree = &img.tree;
    let visible: Vec<(usize, &Row)> = pane
        .rows
        .iter()
        .enumerate()
        .skip(pane.offset)
        .take(body.height as usize)
        .collect();
    let at_of = |r: &Row| {
        if r.change == Change::Removed {
            layer.saturating_sub(1)
        } else {
            layer
        }
    };
    let entry_of = |r: &Row| tree.entry_at(r.node, at_of(r));
    // Attributes only where names keep room; the owner column as wide as the widest
    // owner shown (long UID:GID pairs do not eat into names).
    let show_attrs = pane.show_attrs && inner.width >= 80;
    let owner_w = visible
        .iter()
        .filter_map(|(_, r)| entry_of(r).map(|e| format!("{}:{}", e.uid, e.gid).len()))
        .max()
        .unwrap_or(7)
        .clamp(7, 23);
    let hdr = if show_attrs {
        format!(
            "{:<10} {:>owner_w$} {:>10}  Name",
            "Mode", "UID:GID", "Size"
        )
    } else {
        format!("{:>10}  Name", "Size")
    };
    f.render_widget(Paragraph::new(Line::styled(hdr, ctx.theme.header)), header);
    if pane.rows.is_empty() {
        let msg = if view.filter.is_some() || view.hidden.iter().any(|h| *h) {
            "nothing matches at this layer (try another layer, or Esc to clear the filter)"
        } else if view.mode == Mode::Changes {
            "this layer changed no files"
        } else {
            "empty filesystem"
        };
        f.render_widget(Paragraph::new(Line::styled(msg, ctx.theme.dim)), body);
        return;
    }
    let mut lines = Vec::with_capacity(body.height as usize);
    for (i, r) in visible {
        let e = entry_of(r);
        let mut spans = Vec::new();
        if show_attrs {
            let (m, owner) = match e {
                Some(e) => (
                    mode_string(e.kind, u32::from(e.mode)),
                    format!("{}:{}", e.uid, e.gid),
                ),
                None => (String::new(), String::new()),
            };
            spans.push(Span::styled(
                format!("{m:<10} {owner:>owner_w$} "),
                ctx.theme.dim,
            ));
        }
        let size = match e {
            Some(e) if e.kind == EntryKind::Dir => human(r.size),
            Some(e) if e.kind.has_content() => human(e.size),
            _ => String::new(),
        };
        spans.push(Span::raw(format!("{size:>10}  ")));
        // Guides for the deepest levels that fit in a third of the pane; deeper
        // paths start with "…".
        let mut guide = String::new();
        let fit = (body.width as u32 / 3 / 3).max(1);
        let first = r.depth.saturating_sub(fit);
        if first > 0 {
            guide.push_str("… ");
        }
        for d in first..r.depth {
            guide.push_str(if d < 64 && r.guides & (1u64 << d) != 0 {
                "│  "
            } else {
                "   "
            });
        }
        guide.push_str(if r.last { "└─" } else { "├─" });
        guide.push(change_mark(r.change));
        spans.push(Span::styled(guide, ctx.theme.dim));
        let mut name = crate::report::escape_controls(&String::from_utf8_lossy(tree.name(r.node)))
            .into_owned();
        if r.is_dir {
            name.push('/');
            if !r.expanded {
                name.push_str(" …");
            }
        }
        let style = if r.context {
            ctx.theme.dim
        } else {
            ctx.theme.change(r.change)
        };
        spans.push(Span::styled(name, style));
        if let Some(e) = e {
            if let Some(l) = tree.link_at(r.node, at_of(r)) {
                let arrow = if e.kind == EntryKind::Hardlink {
                    " ⇒ /"
                } else {
                    " → "
                };
                spans.push(Span::styled(
                    format!(
                        "{arrow}{}",
                        crate::report::escape_controls(&String::from_utf8_lossy(l))
                    ),
                    ctx.theme.dim,
                ));
            }
        }
        let mut line = Line::from(spans);
        if i == pane.sel {
            line = highlight(line, ctx.theme.selection(v.focused), body.width);
        }
        lines.push(line);
    }
    f.render_widget(Paragraph::new(lines), body);
}
