//! The image picker: local images from the daemon, filtered as you type (letters are
//! text here; arrows and Ctrl-N/Ctrl-P move), to open one or to diff against it.

use super::keymap::{Action, Context, Keymap};
use super::widgets::{Ctx, format_unix, highlight, short_id, truncate};
use crate::model::ImageSummary;
use crate::report::human;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

/// What choosing an image in the picker does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickerPurpose {
    Open,
    /// Diff the open image (A) against the chosen one (B).
    DiffAgainst,
}

#[derive(Debug, Clone)]
pub struct Picker {
    pub purpose: PickerPurpose,
    /// List images of this repository first (diffing against another tag).
    pub prefer_repo: Option<String>,
    /// Leave this image out (the one being diffed).
    pub exclude_id: Option<String>,
    pub images: Vec<ImageSummary>,
    pub filter: String,
    pub selected: usize,
    pub loading: bool,
    pub error: Option<String>,
}

impl Default for Picker {
    fn default() -> Self {
        Picker {
            purpose: PickerPurpose::Open,
            prefer_repo: None,
            exclude_id: None,
            images: Vec::new(),
            filter: String::new(),
            selected: 0,
            loading: false,
            error: None,
        }
    }
}

/// What a key in the picker asks of the explorer.
pub enum PickerOutcome {
    None,
    /// Open (or diff against) this reference.
    Choose(String),
    Back,
    Help,
}

impl Picker {
    pub fn on_key(&mut self, km: &Keymap, k: &KeyEvent) -> PickerOutcome {
        let n = self.visible().len();
        let last = n.saturating_sub(1);
        match km.action_in(Context::Picker, k) {
            Some(Action::PickerBack) => return PickerOutcome::Back,
            Some(Action::PickerHelp) => return PickerOutcome::Help,
            Some(Action::PickerOpen) => {
                let chosen = self
                    .visible()
                    .get(self.selected)
                    .map(|i| i.repo_tags.first().cloned().unwrap_or_else(|| i.id.clone()));
                return match chosen {
                    Some(r) => PickerOutcome::Choose(r),
                    None => PickerOutcome::None,
                };
            }
            Some(Action::PickerUp) => self.selected = self.selected.saturating_sub(1),
            Some(Action::PickerDown) => self.selected = (self.selected + 1).min(last),
            Some(Action::PickerPageUp) => self.selected = self.selected.saturating_sub(10),
            Some(Action::PickerPageDown) => self.selected = (self.selected + 10).min(last),
            Some(Action::PickerClear) => {
                self.filter.clear();
                self.selected = 0;
            }
            _ => match k.code {
                KeyCode::Backspace => {
                    self.filter.pop();
                    self.selected = 0;
                }
                KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => {
                    self.filter.push(c);
                    self.selected = 0;
                }
                _ => {}
            },
        }
        PickerOutcome::None
    }

    pub fn visible(&self) -> Vec<&ImageSummary> {
        let f = self.filter.to_lowercase();
        let mut v: Vec<&ImageSummary> = self
            .images
            .iter()
            .filter(|i| {
                f.is_empty()
                    || i.repo_tags.iter().any(|t| t.to_lowercase().contains(&f))
                    || i.id.trim_start_matches("sha256:").starts_with(&f)
            })
            .filter(|i| self.exclude_id.as_deref() != Some(i.id.as_str()))
            .collect();
        // Choosing what to diff against: the other tags of the same repository first.
        if let Some(repo) = &self.prefer_repo {
            let same = |i: &ImageSummary| i.repo_tags.iter().any(|t| repo_of(t) == repo.as_str());
            v.sort_by_key(|i| !same(i));
        }
        v
    }
}

/// "repo/name" of "repo/name:tag" (digests and ports handled).
pub fn repo_of(tag: &str) -> &str {
    let t = tag.split('@').next().unwrap_or(tag);
    match t.rfind(':') {
        Some(i) if !t[i..].contains('/') => &t[..i],
        _ => t,
    }
}

/// Footer hints of the picker, most important first; `can_go_back`: Esc returns to an
/// open image (else it quits).
pub fn hints(ctx: Ctx, can_go_back: bool) -> Vec<(String, String)> {
    let km = ctx.keymap;
    let nth = |i: usize| -> Option<String> {
        let up = km.keys(Action::PickerUp).get(i)?;
        let down = km.keys(Action::PickerDown).get(i)?;
        Some(format!("{}/{}", up.label(), down.label()))
    };
    let mut h = Vec::new();
    if let Some(k) = nth(0) {
        h.push((k, "select".to_string()));
    }
    h.push((km.label(Action::PickerOpen), "open".to_string()));
    h.push((
        km.label(Action::PickerBack),
        if can_go_back { "back" } else { "quit" }.to_string(),
    ));
    h.push(("letters".to_string(), "filter".to_string()));
    if let Some(k) = nth(1) {
        h.push((k, "select".to_string()));
    }
    h.push((km.label(Action::PickerHelp), "help".to_string()));
    // Quit keys with Ctrl work on every screen.
    if let Some(k) = km
        .keys(Action::Quit)
        .iter()
        .find(|k| k.mods.contains(KeyModifiers::CONTROL))
    {
        h.push((k.label(), "quit".to_string()));
    }
    h
}

pub fn draw(f: &mut Frame, body: Rect, ctx: Ctx, picker: &Picker) {
    let title = format!(
        "Local images · filter: {}",
        if picker.filter.is_empty() {
            "(type to filter)"
        } else {
            &picker.filter
        }
    );
    let b = ctx.block(&title, true);
    let inner = b.inner(body);
    f.render_widget(b, body);
    if picker.loading {
        f.render_widget(
            Paragraph::new(Line::styled("asking the Docker daemon…", ctx.theme.dim)),
            inner,
        );
        return;
    }
    if let Some(e) = &picker.error {
        f.render_widget(
            Paragraph::new(Line::styled(e.clone(), ctx.theme.error)).wrap(Wrap { trim: false }),
            inner,
        );
        return;
    }
    let vis = picker.visible();
    // The name column takes what the fixed columns leave.
    let nw = (inner.width as usize)
        .saturating_sub(14 + 1 + 10 + 1 + 7 + 2 + 16 + 1)
        .max(12);
    let mut lines = vec![Line::styled(
        format!(
            "{:<nw$} {:<14} {:>10} {:>7}  {}",
            "Repository:tag", "Id", "Size", "Layers", "Created"
        ),
        ctx.theme.header,
    )];
    if vis.is_empty() {
        lines.push(Line::styled("no image matches", ctx.theme.dim));
    }
    let page = inner.height.saturating_sub(1) as usize;
    let offset = picker.selected.saturating_sub(page.saturating_sub(1));
    for (i, im) in vis.iter().enumerate().skip(offset).take(page) {
        let name = if im.repo_tags.is_empty() {
            "<none>".to_string()
        } else {
            im.repo_tags.join(", ")
        };
        let created = format_unix(im.created);
        let layers = im.layer_count.map(|n| n.to_string()).unwrap_or_default();
        let mut line = Line::from(format!(
            "{:<nw$} {:<14} {:>10} {:>7}  {}",
            truncate(&crate::report::escape_controls(&name), nw),
            short_id(&im.id),
            human(im.size),
            layers,
            created
        ));
        if i == picker.selected {
            line = highlight(line, ctx.theme.selected, inner.width);
        }
        lines.push(line);
    }
    f.render_widget(Paragraph::new(lines), inner);
}
