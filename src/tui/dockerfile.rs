//! The Dockerfile pane: the file the image was built from, syntax-highlighted
//! (tree-sitter), each instruction that made a layer annotated with the layer's size and
//! reclaimable bytes, and advice marked on the lines it concerns with the bytes a fix
//! saves. Moving in the layers pane moves here, and moving here selects the layer.

use super::layers::{LayerRow, layer_size};
use super::widgets::{Ctx, highlight, scroll_to};
use crate::analysis::advice::Finding;
use crate::analysis::waste::Waste;
use crate::dockerfile::Dockerfile;
use crate::dockerfile::highlight::{Class, Span as HSpan};
use crate::dockerfile::map::Mapping;
use crate::error::Result;
use crate::model::Image;
use crate::report::human;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use std::path::Path;

pub struct DockerfilePane {
    pub df: Dockerfile,
    /// The file's lines (tabs expanded, control characters escaped).
    pub lines: Vec<String>,
    /// Highlight spans per line.
    spans: Vec<Vec<HSpan>>,
    pub mapping: Option<Mapping>,
    /// Advice, once the analysis is done.
    pub findings: Vec<Finding>,
    /// Cursor line (0-based) and first line shown.
    pub cursor: usize,
    pub offset: usize,
}

impl DockerfilePane {
    /// Read and parse `path` (an unreadable file is an error before the explorer opens).
    pub fn load(path: &Path) -> Result<DockerfilePane> {
        let df = crate::dockerfile::load(path)?;
        let text = std::fs::read_to_string(path).map_err(|e| {
            crate::error::Error::usage(format!("cannot read Dockerfile {}: {e}", path.display()))
        })?;
        Ok(Self::from_text(df, &text))
    }

    pub fn from_text(df: Dockerfile, text: &str) -> DockerfilePane {
        let raw: Vec<&str> = text.split('\n').collect();
        let mut spans = vec![Vec::new(); raw.len()];
        for s in crate::dockerfile::highlight::highlight(text) {
            if let Some(v) = spans.get_mut(s.line) {
                v.push(s);
            }
        }
        let lines = raw
            .iter()
            .map(|l| l.trim_end_matches('\r').to_string())
            .collect();
        DockerfilePane {
            df,
            lines,
            spans,
            mapping: None,
            findings: Vec::new(),
            cursor: 0,
            offset: 0,
        }
    }

    /// Map the image's history to the instructions (again when it is re-described).
    pub fn map(&mut self, img: &Image) {
        self.mapping = Some(crate::dockerfile::map::map(&self.df, img));
    }

    /// The instruction whose lines hold `line` (0-based).
    pub fn instruction_at(&self, line: usize) -> Option<usize> {
        self.df
            .instructions
            .iter()
            .position(|i| i.line <= line + 1 && line + 1 <= i.end_line)
    }

    /// The instruction a layers-pane row maps to.
    pub fn instruction_of_row(&self, row: &LayerRow) -> Option<usize> {
        let m = self.mapping.as_ref()?;
        row.history.and_then(|h| m.instruction_of_history(h))
    }

    /// Put the cursor on the first line of instruction `i`, in view with context.
    pub fn show_instruction(&mut self, i: usize, page: usize) {
        if let Some(ins) = self.df.instructions.get(i) {
            self.cursor = ins.line.saturating_sub(1);
            self.offset = super::widgets::reveal(self.cursor, self.offset, page, self.lines.len());
        }
    }

    pub fn move_by(&mut self, delta: isize, page: usize) {
        let n = self.lines.len().max(1);
        self.cursor = (self.cursor as isize)
            .saturating_add(delta)
            .clamp(0, n as isize - 1) as usize;
        self.offset = scroll_to(self.cursor, self.offset, page);
    }

    /// The row of the layers pane for the instruction under the cursor.
    pub fn row_for_cursor(&self, rows: &[LayerRow]) -> Option<usize> {
        let i = self.instruction_at(self.cursor)?;
        rows.iter()
            .position(|r| self.instruction_of_row(r) == Some(i))
    }

    /// The one-line status of the mapping (for the pane's title).
    pub fn status(&self) -> String {
        match &self.mapping {
            None => "not mapped yet".into(),
            Some(m) => match &m.mismatch {
                Some(x) => {
                    let line = self
                        .df
                        .instructions
                        .get(x.instruction)
                        .map(|i| i.line)
                        .unwrap_or(0);
                    format!("does not match the image from line {line} on")
                }
                None => "matches the image".into(),
            },
        }
    }
}

fn class_style(ctx: Ctx, c: Class) -> Style {
    let t = ctx.theme;
    match c {
        Class::Keyword => t.title,
        Class::Comment | Class::Directive => t.dim,
        Class::Flag => t.modified,
        Class::String | Class::Heredoc => t.added,
        Class::Variable => t.warn,
        Class::Image => t.header,
        Class::Error => t.error,
    }
}

/// What the pane draws besides its own state.
pub struct DockerfileView<'a> {
    pub img: &'a Image,
    pub waste: Option<&'a Waste>,
    /// The instruction of the selected layers-pane row.
    pub selected: Option<usize>,
    pub focused: bool,
}

pub fn draw(f: &mut Frame, area: Rect, ctx: Ctx, pane: &DockerfilePane, v: &DockerfileView) {
    let title = format!(
        "Dockerfile {} · {}",
        crate::report::escape_controls(&pane.df.path),
        pane.status()
    );
    let b = ctx.block(&title, v.focused);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let img = v.img;
    let m = pane.mapping.as_ref();
    // Per instruction: the layer it made (first line gets the annotation).
    let layer_of = |i: usize| m.and_then(|m| m.layer_of_instruction(img, i));
    // Advice bytes per instruction line.
    let mut advice: rustc_hash::FxHashMap<usize, u64> = Default::default();
    for fnd in &pane.findings {
        if let Some(loc) = &fnd.dockerfile {
            *advice.entry(loc.line).or_default() += fnd.bytes;
        }
    }
    let sel_range = v
        .selected
        .and_then(|i| pane.df.instructions.get(i))
        .map(|i| (i.line, i.end_line));
    let mut out = Vec::new();
    for (n, text) in pane
        .lines
        .iter()
        .enumerate()
        .skip(pane.offset)
        .take(inner.height as usize)
    {
        let line_no = n + 1;
        let first_of = pane.df.instructions.iter().position(|i| i.line == line_no);
        let (size, waste) = match first_of.and_then(layer_of) {
            Some(l) if l < img.layers.len() => (
                human(layer_size(img, l)),
                v.waste
                    .and_then(|w| w.layer_reclaimable.get(l).copied())
                    .filter(|b| *b > 0)
                    .map(human)
                    .unwrap_or_default(),
            ),
            _ => (String::new(), String::new()),
        };
        // Narrow panes keep the text readable: only the size and a `!` for advice.
        let wide = inner.width >= 80;
        let mark = match (advice.get(&line_no), wide) {
            (Some(b), true) => Span::styled(format!("!{:>9} ", human(*b)), ctx.theme.error),
            (Some(_), false) => Span::styled("! ", ctx.theme.error),
            (None, true) => Span::raw(" ".repeat(11)),
            (None, false) => Span::raw("  "),
        };
        let in_sel = sel_range.is_some_and(|(a, b)| a <= line_no && line_no <= b);
        let mut spans = vec![Span::styled(format!("{size:>10} "), ctx.theme.base)];
        if wide {
            spans.push(Span::styled(format!("{waste:>10} "), ctx.theme.warn));
        }
        spans.push(mark);
        spans.push(Span::styled(
            format!("{}{line_no:>4} ", if in_sel { "▌" } else { " " }),
            if in_sel {
                ctx.theme.title
            } else {
                ctx.theme.dim
            },
        ));
        spans.extend(highlighted(
            ctx,
            text,
            pane.spans.get(n).map(|v| &v[..]).unwrap_or(&[]),
        ));
        let mut line = Line::from(spans);
        if n == pane.cursor && v.focused {
            line = highlight(line, ctx.theme.selection(true), inner.width);
        } else if in_sel {
            line = line.patch_style(Style::default().add_modifier(Modifier::BOLD));
        }
        out.push(line);
    }
    if pane.lines.is_empty() {
        out.push(Line::styled("(empty Dockerfile)", ctx.theme.dim));
    }
    f.render_widget(Paragraph::new(out), inner);
}

/// One line of the file cut into styled spans (byte ranges from tree-sitter).
fn highlighted(ctx: Ctx, text: &str, spans: &[HSpan]) -> Vec<Span<'static>> {
    // Byte columns from tree-sitter index the raw line; tabs are shown as one space so
    // they stay aligned with them.
    let text = text.replace('\t', " ");
    let mut styles: Vec<Option<Style>> = vec![None; text.len()];
    for s in spans {
        let end = s.end.min(text.len());
        for st in styles.iter_mut().take(end).skip(s.start.min(end)) {
            *st = Some(class_style(ctx, s.class));
        }
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut cur_style: Option<Style> = None;
    for (i, ch) in text.char_indices() {
        let st = styles.get(i).copied().flatten();
        if st != cur_style && !cur.is_empty() {
            out.push(Span::styled(
                crate::report::escape_controls(&cur).into_owned(),
                cur_style.unwrap_or(ctx.theme.base),
            ));
            cur.clear();
        }
        cur_style = st;
        cur.push(ch);
    }
    if !cur.is_empty() {
        out.push(Span::styled(
            crate::report::escape_controls(&cur).into_owned(),
            cur_style.unwrap_or(ctx.theme.base),
        ));
    }
    out
}
