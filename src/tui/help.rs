//! The help overlay, generated from the keymap: the keys of the screen that is open
//! (explorer, diff or picker), as bound, with what they do.

use super::keymap::{Action, Context};
use super::widgets::{Ctx, overlay_area};
use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

/// Which screen the help describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelpFor {
    Explorer,
    Diff,
    Picker,
}

impl HelpFor {
    fn contexts(self) -> &'static [Context] {
        match self {
            HelpFor::Explorer => &[
                Context::Global,
                Context::Tree,
                Context::Overlay,
                Context::Prompt,
            ],
            HelpFor::Diff => &[
                Context::Global,
                Context::Diff,
                Context::Overlay,
                Context::Prompt,
            ],
            HelpFor::Picker => &[Context::Picker],
        }
    }

    fn title(self) -> &'static str {
        match self {
            HelpFor::Explorer => "Help: explorer",
            HelpFor::Diff => "Help: diff",
            HelpFor::Picker => "Help: image picker",
        }
    }
}

/// Global actions that mean nothing on a screen.
fn applies(a: Action, on: HelpFor) -> bool {
    match on {
        HelpFor::Diff => !matches!(a, Action::Diff | Action::Picker),
        _ => true,
    }
}

pub fn lines(ctx: Ctx, on: HelpFor, config: Option<&std::path::Path>) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let km = ctx.keymap;
    let key_w = Action::ALL
        .iter()
        .map(|a| {
            km.keys(*a)
                .iter()
                .map(|k| k.label())
                .collect::<Vec<_>>()
                .join(", ")
                .chars()
                .count()
        })
        .max()
        .unwrap_or(10)
        .min(18)
        + 2;
    for c in on.contexts() {
        lines.push(Line::styled(c.title().to_string(), ctx.theme.header));
        for a in Action::ALL
            .iter()
            .filter(|a| a.context() == *c && applies(**a, on))
        {
            let keys: Vec<String> = km.keys(*a).iter().map(|k| k.label()).collect();
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<key_w$}", keys.join(", ")), ctx.theme.key),
                Span::raw(a.description().to_string()),
            ]));
        }
        lines.push(Line::from(""));
    }
    match on {
        HelpFor::Explorer => {
            lines.push(Line::styled("Mouse", ctx.theme.header));
            lines.push(Line::from(
                "  click a layer or a file to select it (again on a directory to fold it); wheel scrolls",
            ));
            lines.push(Line::from(""));
            lines.push(Line::styled("Colours", ctx.theme.header));
            lines.push(Line::from(vec![
                Span::raw("  "),
                Span::styled("+added  ", ctx.theme.added),
                Span::styled("~modified  ", ctx.theme.modified),
                Span::styled("-removed  ", ctx.theme.removed),
                Span::raw("unchanged; dim rows are shown only for what is below them"),
            ]));
            lines.push(Line::from(""));
        }
        HelpFor::Diff => {
            lines.push(Line::styled("Colours", ctx.theme.header));
            lines.push(Line::from(vec![
                Span::raw("  "),
                Span::styled("reused  ", ctx.theme.dim),
                Span::styled("rebuilt  ", ctx.theme.modified),
                Span::styled("added  ", ctx.theme.added),
                Span::styled("dropped  ", ctx.theme.removed),
                Span::styled("▶bust", ctx.theme.error),
                Span::raw(" the first layer the cache missed"),
            ]));
            lines.push(Line::from(""));
        }
        HelpFor::Picker => {
            lines.push(Line::from(
                "Letters, digits and punctuation type into the filter (names and ids).",
            ));
            lines.push(Line::from(""));
        }
    }
    lines.push(Line::from(format!(
        "Keys and theme can be changed in {} (`layerlens --default-config` prints the defaults to start from).",
        config
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "~/.config/layerlens/config.toml".into())
    )));
    lines
}

pub fn draw(f: &mut Frame, ctx: Ctx, on: HelpFor, config: Option<&std::path::Path>, scroll: usize) {
    let size = f.area();
    let area = overlay_area(size);
    f.render_widget(Clear, area);
    let lines = lines(ctx, on, config);
    let max = lines
        .len()
        .saturating_sub(area.height.saturating_sub(2) as usize);
    let title = format!(
        "{} ({} to close)",
        on.title(),
        ctx.keymap.label(Action::Close)
    );
    let p = Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((scroll.min(max) as u16, 0))
        .block(ctx.block(&title, true));
    f.render_widget(p, area);
}
