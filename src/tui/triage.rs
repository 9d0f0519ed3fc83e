//! The triage overlay (`t`): before you push — what a push uploads (with `--to`), what
//! nodes pull and what it costs, secrets that would ship, and the advice — the same
//! report as `layerlens triage`, scrollable. The layers pane marks each layer's push
//! action once it is known.

use super::keymap::Action;
use super::widgets::{Ctx, overlay_area};
use crate::analysis::push::{Action as Push, Triage};
use ratatui::Frame;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

/// The overlay's text: the triage report, or where it stands.
pub fn lines(
    ctx: Ctx,
    state: Option<&Result<Box<Triage>, String>>,
    loading: bool,
) -> Vec<Line<'static>> {
    match state {
        Some(Ok(t)) => crate::report::triage::render_text(t)
            .lines()
            .map(|l| Line::from(crate::report::escape_controls(l).into_owned()))
            .collect(),
        Some(Err(e)) => vec![Line::styled(
            format!("triage failed: {}", crate::report::escape_controls(e)),
            ctx.theme.error,
        )],
        None if loading => vec![Line::styled(
            "measuring what a push uploads and what nodes pull (asking the registry, compressing layers)…",
            ctx.theme.dim,
        )],
        None => Vec::new(),
    }
}

pub fn draw(
    f: &mut Frame,
    ctx: Ctx,
    state: Option<&Result<Box<Triage>, String>>,
    loading: bool,
    scroll: usize,
) {
    let area = overlay_area(f.area());
    f.render_widget(Clear, area);
    let lines = lines(ctx, state, loading);
    let max = lines
        .len()
        .saturating_sub(area.height.saturating_sub(2) as usize);
    let title = format!(
        "Before you push ({} to close)",
        ctx.keymap.label(Action::Close)
    );
    f.render_widget(
        Paragraph::new(lines)
            .scroll((scroll.min(max) as u16, 0))
            .block(ctx.block(&title, true)),
        area,
    );
}

/// The mark the layers pane shows for `layer`'s push action.
pub fn push_mark(t: &Triage, layer: usize) -> Option<&'static str> {
    let p = t.push.as_ref()?;
    let l = p.layers.iter().find(|l| l.index == layer)?;
    Some(match l.action {
        Push::Upload => "↑",
        Push::Mount => "⇢",
        Push::Exists => "=",
    })
}
