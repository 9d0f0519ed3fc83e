//! The image pane: size, efficiency, wasted and reclaimable bytes, and the files that
//! waste the most. In a small terminal it is a pane of its own (Tab) that scrolls.

use super::widgets::Ctx;
use crate::analysis::waste::{ReclaimableCause, Waste};
use crate::model::Image;
use crate::report::human;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub struct Summary<'a> {
    pub img: &'a Image,
    pub waste: Option<&'a Waste>,
    /// Reclaimable bytes by cause, biggest first.
    pub causes: &'a [ReclaimableCause],
    pub load_failed: bool,
    pub focused: bool,
    /// First row of the file list shown.
    pub scroll: usize,
}

/// Rows of the list (for scrolling).
pub fn list_len(w: &Waste, causes: &[ReclaimableCause]) -> usize {
    if causes.is_empty() {
        w.inefficient_files.len()
    } else {
        causes.len()
    }
}

fn layer_sizes_total(img: &Image) -> u64 {
    img.layers.iter().map(|l| l.blob_size.unwrap_or(0)).sum()
}

pub fn draw(f: &mut Frame, area: Rect, ctx: Ctx, s: &Summary) {
    let img = s.img;
    let b = ctx.block("Image", s.focused);
    let mut lines = Vec::new();
    match s.waste {
        None => {
            lines.push(Line::from(format!(
                "Size          {}",
                human(layer_sizes_total(img).max(img.size_bytes()))
            )));
            lines.push(Line::styled(
                if s.load_failed {
                    "analysis unavailable: load failed"
                } else {
                    "analysing…"
                },
                ctx.theme.dim,
            ));
        }
        Some(w) => {
            lines.push(Line::from(vec![
                Span::styled("Size          ", ctx.theme.dim),
                Span::raw(human(w.size_bytes)),
            ]));
            let eff_style = if w.efficiency < 0.9 {
                ctx.theme.warn
            } else {
                ctx.theme.base
            };
            lines.push(Line::from(vec![
                Span::styled("Efficiency    ", ctx.theme.dim),
                Span::styled(format!("{:.2} %", w.efficiency * 100.0), eff_style),
            ]));
            lines.push(Line::from(vec![
                Span::styled("Wasted        ", ctx.theme.dim),
                Span::raw(format!(
                    "{} ({:.1} % of user size, dive)",
                    human(w.wasted_bytes),
                    w.user_wasted_percent * 100.0
                )),
            ]));
            lines.push(Line::from(vec![
                Span::styled("Reclaimable   ", ctx.theme.dim),
                Span::styled(
                    human(w.reclaimable_bytes),
                    if w.reclaimable_bytes > 0 {
                        ctx.theme.warn
                    } else {
                        ctx.theme.base
                    },
                ),
            ]));
            if !s.causes.is_empty() {
                lines.push(Line::styled(
                    "Reclaimable by cause (layer → hidden by):",
                    ctx.theme.header,
                ));
                for c in s
                    .causes
                    .iter()
                    .skip(s.scroll)
                    .take(area.height.saturating_sub(7) as usize)
                {
                    let files = if c.files > 1 {
                        format!(" ({} files)", c.files)
                    } else {
                        String::new()
                    };
                    lines.push(Line::from(vec![
                        Span::raw(format!("{:>10}  ", human(c.bytes))),
                        Span::styled(format!("{}→{} ", c.layer, c.hidden_in), ctx.theme.dim),
                        Span::raw(crate::report::escape_controls(&c.path).into_owned()),
                        Span::styled(files, ctx.theme.dim),
                    ]));
                }
            } else if !w.inefficient_files.is_empty() {
                lines.push(Line::styled("Inefficient files (dive):", ctx.theme.header));
                for r in w
                    .inefficient_files
                    .iter()
                    .skip(s.scroll)
                    .take(area.height.saturating_sub(7) as usize)
                {
                    lines.push(Line::from(format!(
                        "{:>10}  x{}  {}",
                        human(r.wasted_bytes),
                        r.count,
                        crate::report::escape_controls(&r.path)
                    )));
                }
            }
        }
    }
    f.render_widget(Paragraph::new(lines).block(b), area);
}
