//! Diff mode: two layer stacks aligned side by side, coloured by cache status, the
//! bust point marked, why the selected layer was rebuilt, and the files that differ
//! (between the paired layers, or between the two final filesystems). Its keys are the
//! keymap's diff context (plus the global movement keys).

use super::keymap::Action;
use super::treeview::{Filter, Sort};
use super::widgets::{Ctx, highlight};
use crate::analysis::diff::{ImageDiff, Status, compare_layers};
use crate::model::{EntryKind, Image};
use crate::report::human;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilesView {
    /// What the selected layer pair changed differently.
    Pair,
    /// The two final filesystems.
    Final,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffFocus {
    Layers,
    Files,
}

/// One row of the files pane.
#[derive(Debug, Clone, PartialEq)]
pub struct FileRow {
    pub mark: char,
    pub path: String,
    pub old_size: Option<u64>,
    pub new_size: Option<u64>,
    pub detail: String,
}

pub struct DiffState {
    pub a: Arc<Image>,
    pub b: Arc<Image>,
    pub diff: ImageDiff,
    pub sel: usize,
    pub offset: usize,
    pub focus: DiffFocus,
    pub view: FilesView,
    pub sort: Sort,
    pub filter: Option<Filter>,
    pub files: Vec<FileRow>,
    pub file_sel: usize,
    pub file_offset: usize,
}

impl DiffState {
    pub fn new(a: Arc<Image>, b: Arc<Image>, diff: ImageDiff) -> DiffState {
        let sel = diff
            .summary
            .bust_point
            .and_then(|bp| diff.layers.iter().position(|l| l.b_index == Some(bp)))
            .unwrap_or(0);
        let mut s = DiffState {
            a,
            b,
            diff,
            sel,
            offset: 0,
            focus: DiffFocus::Layers,
            view: FilesView::Pair,
            sort: Sort::Name,
            filter: None,
            files: Vec::new(),
            file_sel: 0,
            file_offset: 0,
        };
        s.refresh_files();
        s
    }

    /// Recompute the files pane for the selection and view.
    pub fn refresh_files(&mut self) {
        let mut rows = Vec::new();
        match self.view {
            FilesView::Final => {
                for f in &self.diff.files {
                    let (mark, old, new) = match f.change {
                        "added" => ('+', None, Some(f.size)),
                        "removed" => ('-', Some(f.size), None),
                        _ => ('~', f.modified.as_ref().map(|m| m.old_size), Some(f.size)),
                    };
                    let detail = match &f.modified {
                        Some(m) => m.describe().join(", "),
                        None => String::new(),
                    };
                    rows.push(FileRow {
                        mark,
                        path: f.path.clone(),
                        old_size: old,
                        new_size: new,
                        detail,
                    });
                }
            }
            FilesView::Pair => {
                if let Some(l) = self.diff.layers.get(self.sel) {
                    let a = l.a_index.map(|i| self.a.content(i));
                    let b = l.b_index.map(|i| self.b.content(i));
                    let empty = crate::model::LayerContent::default();
                    let ch = compare_layers(a.unwrap_or(&empty), b.unwrap_or(&empty));
                    let size_in =
                        |c: Option<&crate::model::LayerContent>, p: &str| -> Option<u64> {
                            let raw = p.trim_start_matches('/').as_bytes();
                            c.and_then(|c| c.entries.iter().find(|e| c.path(e) == raw))
                                .filter(|e| e.kind != EntryKind::Dir)
                                .map(|e| e.size)
                        };
                    for p in &ch.added {
                        rows.push(FileRow {
                            mark: '+',
                            path: p.clone(),
                            old_size: None,
                            new_size: size_in(b, p),
                            detail: String::new(),
                        });
                    }
                    for p in &ch.modified {
                        rows.push(FileRow {
                            mark: '~',
                            path: p.clone(),
                            old_size: size_in(a, p),
                            new_size: size_in(b, p),
                            detail: String::new(),
                        });
                    }
                    for p in &ch.removed {
                        rows.push(FileRow {
                            mark: '-',
                            path: p.clone(),
                            old_size: size_in(a, p),
                            new_size: None,
                            detail: String::new(),
                        });
                    }
                    for p in &ch.metadata_only {
                        rows.push(FileRow {
                            mark: '~',
                            path: p.clone(),
                            old_size: size_in(a, p),
                            new_size: size_in(b, p),
                            detail: "owner/permissions only".into(),
                        });
                    }
                }
            }
        }
        if let Some(f) = &self.filter {
            rows.retain(|r| f.matches(&r.path));
        }
        match self.sort {
            Sort::Name => rows.sort_by(|x, y| x.path.cmp(&y.path)),
            Sort::Size => rows.sort_by(|x, y| {
                let s = |r: &FileRow| r.new_size.unwrap_or(0).max(r.old_size.unwrap_or(0));
                s(y).cmp(&s(x)).then_with(|| x.path.cmp(&y.path))
            }),
        }
        self.files = rows;
        self.file_sel = self.file_sel.min(self.files.len().saturating_sub(1));
    }

    pub fn on_action(&mut self, action: Action, page: usize) -> bool {
        let (len, sel) = match self.focus {
            DiffFocus::Layers => (self.diff.layers.len(), self.sel),
            DiffFocus::Files => (self.files.len(), self.file_sel),
        };
        let moved = |d: isize| (sel as isize + d).clamp(0, len.saturating_sub(1) as isize) as usize;
        let new = match action {
            Action::Up => moved(-1),
            Action::Down => moved(1),
            Action::PageUp => moved(-(page as isize)),
            Action::PageDown => moved(page as isize),
            Action::Top => 0,
            Action::Bottom => len.saturating_sub(1),
            Action::NextPane | Action::PrevPane => {
                self.focus = if self.focus == DiffFocus::Layers {
                    DiffFocus::Files
                } else {
                    DiffFocus::Layers
                };
                return true;
            }
            Action::DiffFilesView => {
                self.view = if self.view == FilesView::Pair {
                    FilesView::Final
                } else {
                    FilesView::Pair
                };
                self.file_sel = 0;
                self.file_offset = 0;
                self.refresh_files();
                return true;
            }
            Action::DiffSort => {
                self.sort = if self.sort == Sort::Name {
                    Sort::Size
                } else {
                    Sort::Name
                };
                self.refresh_files();
                return true;
            }
            _ => return false,
        };
        match self.focus {
            DiffFocus::Layers => {
                if new != self.sel {
                    self.sel = new;
                    if self.view == FilesView::Pair {
                        self.file_sel = 0;
                        self.file_offset = 0;
                        self.refresh_files();
                    }
                }
            }
            DiffFocus::Files => self.file_sel = new,
        }
        true
    }

    /// Keep selections visible in panes of the given heights.
    pub fn scroll(&mut self, layers_h: usize, files_h: usize) {
        if self.sel < self.offset {
            self.offset = self.sel;
        } else if layers_h > 0 && self.sel >= self.offset + layers_h {
            self.offset = self.sel + 1 - layers_h;
        }
        if self.file_sel < self.file_offset {
            self.file_offset = self.file_sel;
        } else if files_h > 0 && self.file_sel >= self.file_offset + files_h {
            self.file_offset = self.file_sel + 1 - files_h;
        }
    }
}

pub struct DiffAreas {
    pub title: Rect,
    pub layers: Rect,
    pub reason: Rect,
    pub files: Rect,
    pub status: Rect,
}

pub fn areas(size: Rect) -> DiffAreas {
    let [title, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(size);
    if size.width < 100 {
        let [layers, reason, files] = Layout::vertical([
            Constraint::Percentage(45),
            Constraint::Length(6),
            Constraint::Min(3),
        ])
        .areas(body);
        return DiffAreas {
            title,
            layers,
            reason,
            files,
            status,
        };
    }
    let [left, files] =
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(body);
    let [layers, reason] =
        Layout::vertical([Constraint::Percentage(65), Constraint::Percentage(35)]).areas(left);
    DiffAreas {
        title,
        layers,
        reason,
        files,
        status,
    }
}

fn status_style(ctx: Ctx, s: Status) -> Style {
    match s {
        Status::Reused => ctx.theme.dim,
        Status::Rebuilt => ctx.theme.modified,
        Status::Added => ctx.theme.added,
        Status::Dropped => ctx.theme.removed,
    }
}

/// The diff screen but its footer.
pub fn draw(f: &mut Frame, ctx: Ctx, d: &DiffState) {
    let a = areas(f.area());
    let name = |img: &Image| {
        img.repo_tags
            .first()
            .cloned()
            .unwrap_or_else(|| img.reference.clone())
    };
    let sm = &d.diff.summary;
    let title = Line::from(vec![
        Span::styled(" layerlens diff ", ctx.theme.title),
        Span::raw(
            crate::report::escape_controls(&format!("│ A {} → B {} ", name(&d.a), name(&d.b)))
                .into_owned(),
        ),
        Span::styled(
            format!(
                "│ {} reused ({}) · {} rebuilt · {} added · {} dropped · {} to push ",
                sm.reused_layers,
                human(sm.reused_bytes),
                sm.rebuilt_layers,
                sm.added_layers,
                sm.dropped_layers,
                human(sm.rebuilt_bytes)
            ),
            ctx.theme.warn,
        ),
    ]);
    f.render_widget(Paragraph::new(title), a.title);

    // Aligned layers.
    let focused = d.focus == DiffFocus::Layers;
    let block = ctx.block("Layers: A (old) │ B (new)", focused);
    let inner = block.inner(a.layers);
    f.render_widget(block, a.layers);
    let half = (inner.width.saturating_sub(22) / 2) as usize;
    let mut lines = vec![Line::styled(
        format!(
            "{:>3} {:<w$} {:<8} {:>3} {:<w$}",
            "A",
            "instruction",
            "status",
            "B",
            "instruction",
            w = half
        ),
        ctx.theme.header,
    )];
    for (i, l) in d
        .diff
        .layers
        .iter()
        .enumerate()
        .skip(d.offset)
        .take(inner.height.saturating_sub(1) as usize)
    {
        let idx = |x: Option<usize>| x.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
        let st = match l.status {
            Status::Reused => "reused",
            Status::Rebuilt => "rebuilt",
            Status::Added => "added",
            Status::Dropped => "dropped",
        };
        let bust = l.b_index.is_some() && l.b_index == sm.bust_point;
        let show = |c: &Option<String>| {
            crate::report::escape_controls(&super::layers::row_command(
                c.as_deref().unwrap_or(""),
                half.max(4),
            ))
            .into_owned()
        };
        let ca = show(&l.a_created_by);
        let mut cb = show(&l.b_created_by);
        // Compare the whole instructions: two lines that differ past the column width
        // shorten to the same text.
        let full = |c: &Option<String>| {
            crate::analysis::diff::norm_instruction(c.as_deref().unwrap_or(""))
        };
        if l.a_created_by.is_some() && full(&l.a_created_by) == full(&l.b_created_by) {
            cb = "(same)".to_string();
        }
        let mut line = Line::from(vec![
            Span::styled(
                format!("{:>3} {:<w$} ", idx(l.a_index), ca, w = half),
                status_style(ctx, l.status),
            ),
            Span::styled(
                format!("{:<8}", if bust { "▶bust" } else { st }),
                if bust {
                    ctx.theme.error
                } else {
                    status_style(ctx, l.status)
                },
            ),
            Span::styled(
                format!(" {:>3} {:<w$}", idx(l.b_index), cb, w = half),
                status_style(ctx, l.status),
            ),
        ]);
        if i == d.sel {
            line = highlight(line, ctx.theme.selection(focused), inner.width);
        }
        lines.push(line);
    }
    f.render_widget(Paragraph::new(lines), inner);

    // Why.
    let mut why = Vec::new();
    if let Some(l) = d.diff.layers.get(d.sel) {
        let st = format!("{:?}", l.status).to_lowercase();
        why.push(Line::from(vec![
            Span::styled("Status  ", ctx.theme.dim),
            Span::styled(st, status_style(ctx, l.status)),
        ]));
        if let Some(r) = &l.reason {
            why.push(Line::from(vec![
                Span::styled("Reason  ", ctx.theme.dim),
                Span::raw(r.text.clone()),
            ]));
        } else if l.status == Status::Reused {
            why.push(Line::from(vec![Span::styled("Reason  ", ctx.theme.dim), Span::raw("same layer and same layers below (cache hit): nothing to rebuild, push or pull")]));
        }
        if let (Some(x), Some(y)) = (&l.a_diff_id, &l.b_diff_id) {
            if x != y {
                why.push(Line::from(vec![
                    Span::styled("Diff id ", ctx.theme.dim),
                    Span::raw(format!(
                        "{} → {}",
                        &x[..x.len().min(19)],
                        &y[..y.len().min(19)]
                    )),
                ]));
            }
        }
        why.push(Line::from(vec![
            Span::styled("Size    ", ctx.theme.dim),
            Span::raw(human(l.size_bytes)),
        ]));
    }
    let rb = ctx.block("Why", false);
    f.render_widget(
        Paragraph::new(why).wrap(Wrap { trim: false }).block(rb),
        a.reason,
    );

    // Files.
    let focused = d.focus == DiffFocus::Files;
    let what = match d.view {
        FilesView::Pair => "between the selected layers",
        FilesView::Final => "between the final filesystems",
    };
    let mut title = format!("Files that differ {what}");
    if let Some(fl) = &d.filter {
        title.push_str(&format!(" · filter {:?}", fl.text));
    }
    let fb = ctx.block(&title, focused);
    let finner = fb.inner(a.files);
    f.render_widget(fb, a.files);
    let mut flines = Vec::new();
    if d.files.is_empty() {
        let msg = match (d.view, d.diff.layers.get(d.sel).map(|l| l.status)) {
            (FilesView::Pair, Some(Status::Reused)) => "reused layer: identical files",
            (FilesView::Pair, _) => "no file differs (only timestamps, if anything)",
            (FilesView::Final, _) => "the final filesystems are identical (timestamps aside)",
        };
        flines.push(Line::styled(msg, ctx.theme.dim));
    }
    for (i, r) in d
        .files
        .iter()
        .enumerate()
        .skip(d.file_offset)
        .take(finner.height as usize)
    {
        let style = match r.mark {
            '+' => ctx.theme.added,
            '-' => ctx.theme.removed,
            _ => ctx.theme.modified,
        };
        let size = match (r.old_size, r.new_size) {
            (Some(o), Some(n)) if o != n => format!("{} → {}", human(o), human(n)),
            (_, Some(n)) => human(n),
            (Some(o), None) => human(o),
            _ => String::new(),
        };
        let mut spans = vec![
            Span::styled(
                format!("{} {}", r.mark, crate::report::escape_controls(&r.path)),
                style,
            ),
            Span::styled(format!("  {size}"), ctx.theme.dim),
        ];
        if !r.detail.is_empty() {
            spans.push(Span::styled(format!("  {}", r.detail), ctx.theme.dim));
        }
        let mut line = Line::from(spans);
        if i == d.file_sel {
            line = highlight(line, ctx.theme.selection(focused), finner.width);
        }
        flines.push(line);
    }
    f.render_widget(Paragraph::new(flines), finner);
}
