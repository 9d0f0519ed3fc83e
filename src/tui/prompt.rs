//! One-line prompts (filter, search, extract path) and the overwrite question. Keys go
//! through the keymap's prompt and confirm contexts; other characters are text.

use super::keymap::{Action, Context, Keymap};
use super::widgets::{Ctx, centered};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Filter,
    Search,
    ExtractPath,
}

#[derive(Debug, Clone)]
pub struct Input {
    pub kind: InputKind,
    pub text: String,
    /// Filter text before editing started (restored on cancel).
    pub previous: String,
}

impl Input {
    pub fn new(kind: InputKind, text: String) -> Input {
        Input {
            kind,
            previous: text.clone(),
            text,
        }
    }
}

pub enum Edit {
    /// Still editing (the text may have changed).
    Editing,
    Accept,
    Cancel,
}

pub fn on_key(input: &mut Input, km: &Keymap, k: &KeyEvent) -> Edit {
    match km.action_in(Context::Prompt, k) {
        Some(Action::PromptAccept) => return Edit::Accept,
        Some(Action::PromptCancel) => return Edit::Cancel,
        Some(Action::PromptClear) => {
            input.text.clear();
            return Edit::Editing;
        }
        _ => {}
    }
    match k.code {
        KeyCode::Backspace => {
            input.text.pop();
        }
        KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => input.text.push(c),
        _ => {}
    }
    Edit::Editing
}

/// The prompt in the status line: what is asked, the keys, the text and a cursor.
pub fn draw(f: &mut Frame, area: Rect, ctx: Ctx, input: &Input) {
    let km = ctx.keymap;
    let keys = format!(
        "{} {}, {} {}",
        km.label(Action::PromptAccept),
        match input.kind {
            InputKind::Filter => "keep",
            InputKind::Search => "jump",
            InputKind::ExtractPath => "extract",
        },
        km.label(Action::PromptCancel),
        "cancel"
    );
    let label = match input.kind {
        InputKind::Filter => format!("Filter (substring, /regex/; {keys}): "),
        InputKind::Search => format!(
            "Search ({keys}; then {}/{} next/prev): ",
            km.label(Action::SearchNext),
            km.label(Action::SearchPrev)
        ),
        InputKind::ExtractPath => format!("Extract to ({keys}): "),
    };
    let line = Line::from(vec![
        Span::styled(label, ctx.theme.key),
        Span::raw(input.text.clone()),
        Span::styled("█", ctx.theme.dim),
    ]);
    f.render_widget(Paragraph::new(line), area);
}

pub enum Answer {
    Yes,
    No,
}

/// Yes only for the confirm context's yes keys; anything else is no.
pub fn confirm_key(km: &Keymap, k: &KeyEvent) -> Answer {
    match km.action_in(Context::Confirm, k) {
        Some(Action::ConfirmYes) => Answer::Yes,
        _ => Answer::No,
    }
}

pub fn draw_confirm(f: &mut Frame, size: Rect, ctx: Ctx, dest: &std::path::Path) {
    let area = centered(size, 60, 5);
    f.render_widget(Clear, area);
    let text = vec![
        Line::from(format!(
            "{} exists.",
            crate::report::escape_controls(&dest.display().to_string())
        )),
        Line::from(vec![
            Span::styled(ctx.keymap.label(Action::ConfirmYes), ctx.theme.key),
            Span::raw(" overwrite   "),
            Span::styled("any other key", ctx.theme.key),
            Span::raw(" cancel"),
        ]),
    ];
    f.render_widget(
        Paragraph::new(text).block(ctx.block("Overwrite?", true)),
        area,
    );
}
