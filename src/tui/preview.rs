//! The preview overlay: a file's text (or hex and metadata), or in diff mode both
//! versions of a file as a unified diff. Every request carries a token: an answer for
//! a file the user has already left is dropped.

use super::widgets::{Ctx, overlay_area};
use ratatui::Frame;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

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
    pub node: crate::model::NodeId,
    pub layer: usize,
    pub title: String,
    pub meta: String,
    pub body: PreviewBody,
    pub scroll: usize,
    /// The request this preview waits for.
    pub token: u64,
}

pub fn draw(f: &mut Frame, ctx: Ctx, p: &Preview) {
    let size = f.area();
    let area = overlay_area(size);
    f.render_widget(Clear, area);
    let mut lines = vec![
        Line::styled(
            crate::report::escape_controls(&p.meta).into_owned(),
            ctx.theme.dim,
        ),
        Line::from(""),
    ];
    match &p.body {
        PreviewBody::Pair { old, new } => lines.extend(pair_lines(ctx, old.as_ref(), new.as_ref())),
        PreviewBody::Loading => lines.push(Line::styled(
            "reading the file from its layer…",
            ctx.theme.dim,
        )),
        PreviewBody::Error(e) => lines.push(Line::styled(e.clone(), ctx.theme.error)),
        PreviewBody::Data(d) if d.is_empty() => {
            lines.push(Line::styled("(no content)", ctx.theme.dim))
        }
        PreviewBody::Data(d) => {
            let text = std::str::from_utf8(d).ok().filter(|s| !s.contains('\0'));
            match text {
                Some(t) => {
                    for l in t.lines() {
                        let l = l.replace('\t', "    ");
                        lines.push(Line::from(crate::report::escape_controls(&l).into_owned()));
                    }
                }
                None => {
                    lines.push(Line::styled(
                        "binary file: first bytes in hex",
                        ctx.theme.dim,
                    ));
                    for (i, chunk) in d.chunks(16).enumerate() {
                        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
                        let ascii: String = chunk
                            .iter()
                            .map(|&b| {
                                if (0x20..0x7f).contains(&b) {
                                    b as char
                                } else {
                                    '.'
                                }
                            })
                            .collect();
                        lines.push(Line::from(format!(
                            "{:08x}  {:<48} {ascii}",
                            i * 16,
                            hex.join(" ")
                        )));
                    }
                }
            }
        }
    }
    let max = lines
        .len()
        .saturating_sub(area.height.saturating_sub(2) as usize);
    let title = format!(
        "{} ({} to close)",
        crate::report::escape_controls(&p.title),
        ctx.keymap.label(super::keymap::Action::Close)
    );
    let para = Paragraph::new(lines)
        .scroll((p.scroll.min(max) as u16, 0))
        .block(ctx.block(&title, true));
    f.render_widget(para, area);
}

/// Both versions of a file: a unified diff for text, sizes and first bytes otherwise.
fn pair_lines(
    ctx: Ctx,
    old: Option<&Result<Vec<u8>, String>>,
    new: Option<&Result<Vec<u8>, String>>,
) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let text = |r: Option<&Result<Vec<u8>, String>>| -> Option<String> {
        match r {
            None => Some(String::new()),
            Some(Ok(d)) => std::str::from_utf8(d)
                .ok()
                .filter(|s| !s.contains('\0'))
                .map(String::from),
            Some(Err(_)) => None,
        }
    };
    for (label, r) in [("A (old)", old), ("B (new)", new)] {
        if let Some(Err(e)) = r {
            out.push(Line::styled(format!("{label}: {e}"), ctx.theme.error));
        }
    }
    match (text(old), text(new)) {
        (Some(a), Some(b)) => {
            if a == b {
                out.push(Line::styled("same content on both sides", ctx.theme.dim));
            }
            let diff = similar::TextDiff::from_lines(&a, &b);
            for change in diff.iter_all_changes() {
                let (sign, style) = match change.tag() {
                    similar::ChangeTag::Delete => ('-', ctx.theme.removed),
                    similar::ChangeTag::Insert => ('+', ctx.theme.added),
                    similar::ChangeTag::Equal => (' ', ctx.theme.base),
                };
                let line = change.value().trim_end_matches('\n').replace('\t', "    ");
                let line = crate::report::escape_controls(&line).into_owned();
                out.push(Line::styled(format!("{sign} {line}"), style));
            }
        }
        _ => {
            for (label, r) in [("A (old)", old), ("B (new)", new)] {
                match r {
                    None => out.push(Line::styled(format!("{label}: absent"), ctx.theme.dim)),
                    Some(Ok(d)) => {
                        let hex: Vec<String> =
                            d.iter().take(32).map(|b| format!("{b:02x}")).collect();
                        out.push(Line::from(format!(
                            "{label}: binary, first bytes {}",
                            hex.join(" ")
                        )));
                    }
                    Some(Err(_)) => {}
                }
            }
        }
    }
    out
}
