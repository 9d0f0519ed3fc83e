//! The layer details pane: the selected layer's digest, size (stored, reclaimable),
//! other local images sharing it, its change counts and the full instruction.

use super::layers::{LayerRow, layer_size};
use super::widgets::Ctx;
use crate::analysis::waste::Waste;
use crate::model::Image;
use crate::report::human;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

/// What the pane shows (borrowed from the explorer's state).
pub struct Details<'a> {
    pub img: &'a Image,
    pub row: Option<&'a LayerRow>,
    /// Added, modified, removed paths of the selected layer (counted when the
    /// selection changes, not on every frame); None while it is not parsed.
    pub counts: Option<(usize, usize, usize)>,
    pub waste: Option<&'a Waste>,
    /// Per layer: other local images that share it.
    pub shared: &'a [Vec<String>],
    /// Advice (with a Dockerfile): the findings about the selected layer are listed.
    pub findings: &'a [crate::analysis::advice::Finding],
}

/// Split a shell command into readable lines: one per `&&`, `||` or `;` step.
pub fn split_command(cmd: &str) -> Vec<String> {
    let c = cmd.trim();
    let (prefix, body) = if let Some(rest) = c.strip_prefix("/bin/sh -c ") {
        if let Some(nop) = rest.strip_prefix("#(nop) ") {
            ("", nop.trim())
        } else {
            ("RUN ", rest)
        }
    } else {
        ("", c)
    };
    let mut out = Vec::new();
    let mut cur = String::from(prefix);
    let mut chars = body.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(ch) = chars.next() {
        match quote {
            Some(q) => {
                cur.push(ch);
                if ch == q {
                    quote = None;
                }
            }
            None => match ch {
                '\'' | '"' => {
                    quote = Some(ch);
                    cur.push(ch);
                }
                '&' | '|' if chars.peek() == Some(&ch) => {
                    chars.next();
                    out.push(cur.trim_end().to_string());
                    cur = format!("  {ch}{ch} ");
                    while chars.peek() == Some(&' ') {
                        chars.next();
                    }
                }
                ';' => {
                    cur.push(';');
                    out.push(cur.trim_end().to_string());
                    cur = String::from("  ");
                    while chars.peek() == Some(&' ') {
                        chars.next();
                    }
                }
                _ => cur.push(ch),
            },
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim_end().to_string());
    }
    out
}

pub fn draw(f: &mut Frame, area: Rect, ctx: Ctx, d: &Details) {
    let img = d.img;
    let Some(row) = d.row else {
        let msg = if img.layers.is_empty() {
            "this image has no layers"
        } else {
            ""
        };
        f.render_widget(
            Paragraph::new(Line::styled(msg, ctx.theme.dim)).block(ctx.block("Layer", false)),
            area,
        );
        return;
    };
    let l = row.effective;
    let title = match row.made {
        Some(l) => format!("Layer {l}"),
        None => format!("Instruction (no layer; filesystem of layer {l})"),
    };
    let b = ctx.block(&title, false);
    let mut lines = Vec::new();
    let layer = &img.layers[l];
    if row.made.is_some() {
        lines.push(Line::from(vec![
            Span::styled("Diff id   ", ctx.theme.dim),
            Span::raw({
                let room = (area.width as usize).saturating_sub(13);
                if layer.diff_id.chars().count() > room && room > 8 {
                    format!(
                        "{}…",
                        layer.diff_id.chars().take(room - 1).collect::<String>()
                    )
                } else {
                    layer.diff_id.clone()
                }
            }),
        ]));
        let mut size = vec![
            Span::styled("Size      ", ctx.theme.dim),
            Span::raw(human(layer_size(img, l))),
        ];
        if let (Some(bs), Some(_)) = (layer.blob_size, layer.media_type.as_ref()) {
            size.push(Span::styled(
                format!("  ({} stored)", human(bs)),
                ctx.theme.dim,
            ));
        }
        if let Some(w) = d.waste {
            if w.layer_reclaimable[l] > 0 {
                size.push(Span::styled(
                    format!("  {} reclaimable", human(w.layer_reclaimable[l])),
                    ctx.theme.warn,
                ));
            }
        }
        lines.push(Line::from(size));
        if let Some(others) = d.shared.get(l).filter(|o| !o.is_empty()) {
            let mut names = others.clone();
            names.sort();
            names.dedup();
            let shown: Vec<&str> = names.iter().take(3).map(|s| s.as_str()).collect();
            let more = if names.len() > 3 {
                format!(" +{}", names.len() - 3)
            } else {
                String::new()
            };
            lines.push(Line::from(vec![
                Span::styled("Shared    ", ctx.theme.dim),
                Span::styled(
                    format!(
                        "with {} other local image(s): {}{more}",
                        names.len(),
                        shown.join(", ")
                    ),
                    ctx.theme.added,
                ),
                Span::styled(" (costs nothing extra)", ctx.theme.dim),
            ]));
        }
        if let Some((a, m, r)) = d.counts {
            // A count in its colour, dim when zero.
            let count = |n: usize, text: String, style| {
                Span::styled(text, if n > 0 { style } else { ctx.theme.dim })
            };
            lines.push(Line::from(vec![
                Span::styled("Changes   ", ctx.theme.dim),
                count(a, format!("+{a} added  "), ctx.theme.added),
                count(m, format!("~{m} modified  "), ctx.theme.modified),
                count(r, format!("-{r} removed"), ctx.theme.removed),
            ]));
        }
    }
    for fnd in d.findings.iter().filter(|f| row.made == Some(f.layer)) {
        lines.push(Line::from(vec![
            Span::styled(format!("! {} ", human(fnd.bytes)), ctx.theme.error),
            Span::styled(format!("{}: ", fnd.rule), ctx.theme.warn),
            Span::raw(crate::report::escape_controls(&fnd.fix).replace('\n', " ")),
        ]));
    }
    if let Some(h) = row.history.map(|h| &img.history[h]) {
        if let Some(c) = &h.created {
            lines.push(Line::from(vec![
                Span::styled("Created   ", ctx.theme.dim),
                Span::raw(crate::report::escape_controls(c).into_owned()),
            ]));
        }
        lines.push(Line::styled("Command", ctx.theme.dim));
        let text = if h.created_by.is_empty() {
            h.comment.clone().unwrap_or_default()
        } else {
            h.created_by.clone()
        };
        for part in split_command(&text) {
            lines.push(Line::from(
                crate::report::escape_controls(&part).into_owned(),
            ));
        }
    }
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(b),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_into_steps() {
        let lines = split_command(
            "/bin/sh -c apt-get update && apt-get install -y 'a && b' && rm -rf /var/lib/apt/lists/*",
        );
        assert_eq!(
            lines,
            vec![
                "RUN apt-get update",
                "  && apt-get install -y 'a && b'",
                "  && rm -rf /var/lib/apt/lists/*"
            ]
        );
        assert_eq!(
            split_command("/bin/sh -c #(nop)  CMD [\"sh\"]"),
            vec!["CMD [\"sh\"]"]
        );
    }
}
