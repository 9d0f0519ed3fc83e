//! The layers pane: one row per history entry (instructions that made no layer
//! included), the layer in effect there, its size and a bar.

use super::widgets::{Ctx, highlight, scroll_to};
use crate::model::Image;
use crate::report::human;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// One row of the layers pane: a history entry, and the layer in effect there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerRow {
    pub history: Option<usize>,
    /// The layer this instruction made (None for empty-layer instructions).
    pub made: Option<usize>,
    /// The layer whose filesystem is shown when the row is selected.
    pub effective: usize,
}

#[derive(Debug, Clone, Default)]
pub struct LayersPane {
    pub rows: Vec<LayerRow>,
    pub sel: usize,
    pub offset: usize,
}

impl LayersPane {
    /// The layer whose tree is shown.
    pub fn selected_layer(&self) -> Option<usize> {
        self.rows.get(self.sel).map(|r| r.effective)
    }

    pub fn selected(&self) -> Option<&LayerRow> {
        self.rows.get(self.sel)
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

    /// Rows for a (re)described image; the selection stays on the layer it was on.
    pub fn set_rows(&mut self, rows: Vec<LayerRow>, keep_layer: Option<usize>, page: usize) {
        self.rows = rows;
        if let Some(l) = keep_layer {
            if let Some(i) = self.rows.iter().position(|r| r.made == Some(l)) {
                self.sel = i;
            }
        }
        self.clamp(page);
    }

    /// Select row `row`; true when the layer shown changed.
    pub fn select(&mut self, row: usize, page: usize) -> bool {
        let before = self.selected_layer();
        self.sel = row;
        self.clamp(page);
        self.selected_layer() != before
    }

    pub fn move_by(&mut self, delta: isize, page: usize) -> bool {
        let n = self.rows.len();
        if n == 0 {
            return false;
        }
        let to = (self.sel as isize)
            .saturating_add(delta)
            .clamp(0, n as isize - 1) as usize;
        self.select(to, page)
    }
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

/// A layer's size: measured once parsed, else what the manifest says.
pub fn layer_size(img: &Image, l: usize) -> u64 {
    if img.layers_loaded() > l {
        img.layer_size(l)
    } else {
        img.layers[l].blob_size.unwrap_or(0)
    }
}

/// The instruction as the layers pane shows it (`RUN` kept, as in the details pane).
pub fn row_command(created_by: &str, width: usize) -> String {
    crate::report::text::display_command(created_by, width)
}

/// `push`: the triage, when done: each layer shows its push action (↑ upload, ⇢ mount,
/// = exists).
pub fn draw(
    f: &mut Frame,
    area: Rect,
    ctx: Ctx,
    img: &Image,
    pane: &LayersPane,
    focused: bool,
    push: Option<&crate::analysis::push::Triage>,
) {
    let title = format!(
        "Layers ({}; {} instructions)",
        img.layers.len(),
        img.history.len()
    );
    let b = ctx.block(&title, focused);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let max = (0..img.layers.len())
        .map(|i| layer_size(img, i))
        .max()
        .unwrap_or(1)
        .max(1);
    let bar_w = 8usize;
    let mut lines = Vec::new();
    for (i, r) in pane
        .rows
        .iter()
        .enumerate()
        .skip(pane.offset)
        .take(inner.height as usize)
    {
        let cmd = r.history.map(|h| {
            let item = &img.history[h];
            if item.created_by.is_empty() {
                item.comment.clone().unwrap_or_default()
            } else {
                item.created_by.clone()
            }
        });
        let cmd = cmd.unwrap_or_else(|| "(no history)".into());
        let selected = i == pane.sel;
        let (num, size, bar, style) = match r.made {
            Some(l) => {
                let s = layer_size(img, l);
                let mark = push
                    .and_then(|t| super::triage::push_mark(t, l))
                    .unwrap_or(" ");
                let filled = ((s as f64 / max as f64) * bar_w as f64).ceil() as usize;
                let loaded = img.layers_loaded() > l;
                (
                    format!("{l:>3}{mark}"),
                    if loaded || img.layers[l].blob_size.is_some() {
                        human(s)
                    } else {
                        "…".into()
                    },
                    format!(
                        "{}{}",
                        "█".repeat(filled.min(bar_w)),
                        "·".repeat(bar_w - filled.min(bar_w))
                    ),
                    if loaded {
                        ctx.theme.base
                    } else {
                        ctx.theme.dim
                    },
                )
            }
            None => (
                "    ".into(),
                String::new(),
                " ".repeat(bar_w),
                ctx.theme.dim,
            ),
        };
        let width = inner.width as usize;
        let fixed = 4 + 1 + 10 + 1 + bar_w + 1;
        let cmd =
            crate::report::escape_controls(&row_command(&cmd, width.saturating_sub(fixed).max(4)))
                .into_owned();
        let line = Line::from(vec![
            Span::styled(num, style),
            Span::raw(" "),
            Span::styled(format!("{size:>10}"), style),
            Span::raw(" "),
            Span::styled(
                bar,
                if r.made.is_some() {
                    ctx.theme.bar
                } else {
                    ctx.theme.dim
                },
            ),
            Span::raw(" "),
            Span::styled(cmd, style),
        ]);
        let line = if selected {
            highlight(line, ctx.theme.selection(focused), inner.width)
        } else {
            line
        };
        lines.push(line);
    }
    f.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_kept_in_rows() {
        assert_eq!(row_command("/bin/sh -c apk add x", 40), "RUN apk add x");
        assert_eq!(row_command("|1 A=1 /bin/sh -c make", 40), "RUN make");
        assert_eq!(row_command("/bin/sh -c #(nop)  ENV A=1", 40), "ENV A=1");
        assert_eq!(
            row_command("RUN /bin/sh -c make # buildkit", 40),
            "RUN make"
        );
        assert!(
            row_command("/bin/sh -c apk add a-very-long-package-name", 16)
                .chars()
                .count()
                <= 16
        );
    }
}
