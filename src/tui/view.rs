//! Drawing the whole screen from the state: which screen and panes are shown, the
//! title bar, the loading gauge, the footer (generated from the keymap for the screen
//! and pane that are open) and the overlays. Pure: no clock reads, no I/O; each pane
//! draws itself from its own module.

use super::app::{App, Overlay, Screen};
use super::help::HelpFor;
use super::keymap::Action;
use super::layout::{MIN_WIDTH, Pane};
use super::widgets::{Ctx, centered, short_id, wrapped_lines};
use crate::report::human;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Gauge, Paragraph, Wrap};
use std::sync::atomic::Ordering;

pub fn draw(f: &mut Frame, app: &App) {
    let size = f.area();
    if size.width < MIN_WIDTH.min(20) || size.height < 5 {
        f.render_widget(Paragraph::new("terminal too small"), size);
        return;
    }
    let ctx = Ctx {
        theme: &app.theme,
        keymap: &app.keymap,
    };
    let [title, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(size);
    match app.screen {
        Screen::Picker => {
            f.render_widget(
                Paragraph::new(Line::styled(
                    " layerlens │ choose an image",
                    app.theme.title,
                )),
                title,
            );
            super::picker::draw(f, body, ctx, &app.picker);
        }
        Screen::Explorer => draw_explorer(f, app, ctx),
        Screen::Diff => match &app.diff {
            Some(d) => super::diff::draw(f, ctx, d),
            None => {
                let (a, b) = app.diff_refs.clone().unwrap_or_default();
                f.render_widget(
                    Paragraph::new(Line::styled(
                        crate::report::escape_controls(&format!(" layerlens diff │ {a} → {b}"))
                            .into_owned(),
                        app.theme.title,
                    )),
                    title,
                );
                draw_loading(f, app, ctx, body);
            }
        },
    }
    draw_footer(f, app, ctx, status);
    match &app.overlay {
        Some(Overlay::Help { scroll }) => {
            let on = match app.screen {
                Screen::Explorer => HelpFor::Explorer,
                Screen::Diff => HelpFor::Diff,
                Screen::Picker => HelpFor::Picker,
            };
            super::help::draw(f, ctx, on, app.config_path.as_deref(), *scroll)
        }
        Some(Overlay::Preview(p)) => super::preview::draw(f, ctx, p),
        Some(Overlay::Triage { scroll }) => {
            super::triage::draw(f, ctx, app.triage.as_ref(), app.triage_loading, *scroll)
        }
        Some(Overlay::ConfirmOverwrite { dest, .. }) => {
            super::prompt::draw_confirm(f, size, ctx, dest)
        }
        None => {}
    }
}

fn draw_explorer(f: &mut Frame, app: &App, ctx: Ctx) {
    let a = app.areas();
    draw_title(f, app, a.title);
    let Some(img) = app.image() else {
        draw_loading(
            f,
            app,
            ctx,
            Rect::new(
                a.title.x,
                a.title.y + 1,
                a.title.width,
                a.status.y.saturating_sub(a.title.y + 1),
            ),
        );
        return;
    };
    let details = super::details::Details {
        img,
        row: app.layers.selected(),
        counts: app
            .counts
            .filter(|(l, _)| app.layers.selected().and_then(|r| r.made) == Some(*l))
            .map(|(_, c)| c),
        waste: app.waste.as_ref(),
        shared: &app.shared,
        findings: app
            .dockerfile
            .as_ref()
            .map(|d| &d.findings[..])
            .unwrap_or(&[]),
    };
    let summary = |focused| super::summary::Summary {
        img,
        waste: app.waste.as_ref(),
        causes: &app.causes,
        load_failed: app.load_error.is_some(),
        focused,
        scroll: app.summary_scroll,
    };
    let files = |focused| super::files::FilesView {
        img,
        layer: app.selected_layer().unwrap_or(0),
        focused,
        load_failed: app.load_error.is_some(),
    };
    let push = app
        .triage
        .as_ref()
        .and_then(|t| t.as_ref().ok())
        .map(|t| &**t);
    let dockerfile = |focused| super::dockerfile::DockerfileView {
        img,
        waste: app.waste.as_ref(),
        selected: app
            .dockerfile
            .as_ref()
            .zip(app.layers.selected())
            .and_then(|(d, r)| d.instruction_of_row(r)),
        focused,
    };
    if a.compact {
        match app.focus {
            Pane::Layers => {
                super::layers::draw(f, a.layers, ctx, img, &app.layers, true, push);
                super::details::draw(f, a.details, ctx, &details);
            }
            Pane::Image => super::summary::draw(f, a.image, ctx, &summary(true)),
            Pane::Dockerfile => {
                if let Some(d) = &app.dockerfile {
                    super::dockerfile::draw(f, a.dockerfile, ctx, d, &dockerfile(true));
                }
            }
            Pane::Tree => super::files::draw(f, a.tree, ctx, &app.files, &files(true)),
        }
    } else {
        let focused = app.focus == Pane::Layers;
        super::layers::draw(f, a.layers, ctx, img, &app.layers, focused, push);
        super::details::draw(f, a.details, ctx, &details);
        super::summary::draw(f, a.image, ctx, &summary(false));
        if let Some(d) = &app.dockerfile {
            let focused = app.focus == Pane::Dockerfile;
            super::dockerfile::draw(f, a.dockerfile, ctx, d, &dockerfile(focused));
        }
        super::files::draw(f, a.tree, ctx, &app.files, &files(app.focus == Pane::Tree));
    }
}

fn draw_title(f: &mut Frame, app: &App, area: Rect) {
    let mut spans = vec![Span::styled(" layerlens ", app.theme.title)];
    let esc = |s: &str| crate::report::escape_controls(s).into_owned();
    if let Some(img) = app.image() {
        let name = if img.repo_tags.is_empty() {
            img.reference.clone()
        } else {
            img.repo_tags.join(", ")
        };
        spans.push(Span::raw(format!("│ {} ", esc(&name))));
        spans.push(Span::styled(
            format!("{} ", short_id(&img.id)),
            app.theme.dim,
        ));
        let size = if img.is_complete() {
            img.size_bytes()
        } else {
            img.layers.iter().map(|l| l.blob_size.unwrap_or(0)).sum()
        };
        spans.push(Span::raw(format!("│ {} ", human(size))));
        spans.push(Span::raw(format!("│ {} layers ", img.layers.len())));
        if !img.loaded_via.is_empty() {
            spans.push(Span::styled(
                format!("│ via {} ", img.loaded_via),
                app.theme.dim,
            ));
        }
        if app.loading {
            let done = img.layers_loaded();
            spans.push(Span::styled(
                format!("│ loading {done}/{} layers ", img.layers.len()),
                app.theme.warn,
            ));
        }
    } else if !app.reference.is_empty() {
        spans.push(Span::raw(format!("│ {} ", esc(&app.reference))));
    }
    if let Some(n) = &app.note {
        spans.push(Span::styled(format!("│ {n}"), app.theme.warn));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_loading(f: &mut Frame, app: &App, ctx: Ctx, area: Rect) {
    let full = area;
    let area = centered(area, 70, 7);
    if let Some(err) = &app.load_error {
        // Tall enough for the wrapped message and the key hints.
        let w = full.width.min(90).max(20);
        let inner_w = w.saturating_sub(2).max(1) as usize;
        let msg_lines = wrapped_lines(err, inner_w) as u16;
        let area = centered(full, w, (msg_lines + 5).min(full.height));
        let mut keys = Vec::new();
        if app.daemon {
            keys.push(Span::styled(
                app.keymap.label(Action::Picker),
                app.theme.key,
            ));
            keys.push(Span::raw(" pick another image   "));
        }
        keys.push(Span::styled(app.keymap.label(Action::Quit), app.theme.key));
        keys.push(Span::raw(" quit"));
        let text = vec![
            Line::styled("Could not load the image", app.theme.error),
            Line::from(err.as_str()),
            Line::from(""),
            Line::from(keys),
        ];
        f.render_widget(
            Paragraph::new(text)
                .wrap(Wrap { trim: false })
                .block(ctx.block("Error", true)),
            area,
        );
        return;
    }
    let read = app.progress.read.load(Ordering::Relaxed);
    let total = app.progress.total.load(Ordering::Relaxed);
    let ratio = if total > 0 {
        (read as f64 / total as f64).min(1.0)
    } else {
        0.0
    };
    let elapsed = app.elapsed;
    // The export's tar is larger than the size Docker reports (headers, padding):
    // past the estimate, show what was read without a total that would be wrong.
    let label = if total > 0 && read <= total {
        format!("{} / {}  ({elapsed:.1} s)", human(read), human(total))
    } else {
        format!("{}  ({elapsed:.1} s)", human(read))
    };
    let what = app.progress.label();
    let title = format!(
        "Loading {}",
        crate::report::escape_controls(if what.is_empty() {
            &app.reference
        } else {
            &what
        })
    );
    let g = Gauge::default()
        .block(ctx.block(&title, true))
        .gauge_style(app.theme.bar)
        .ratio(ratio)
        .label(label);
    f.render_widget(g, area);
}

/// The footer: a prompt, a status message, or the keys of what is open (from the
/// keymap), as many as fit, help and quit always.
fn draw_footer(f: &mut Frame, app: &App, ctx: Ctx, area: Rect) {
    if let Some(input) = &app.input {
        super::prompt::draw(f, area, ctx, input);
        return;
    }
    if let Some(s) = &app.status {
        f.render_widget(
            Paragraph::new(Line::styled(
                format!(" {}", s.text),
                if s.error {
                    app.theme.error
                } else {
                    app.theme.warn
                },
            )),
            area,
        );
        return;
    }
    let (hints, keep) = footer_hints(app, ctx);
    f.render_widget(Paragraph::new(ctx.footer(&hints, keep, area.width)), area);
}

/// The footer's hints for what is open, and how many at the end are always shown.
pub fn footer_hints(app: &App, ctx: Ctx) -> (Vec<(String, String)>, usize) {
    let km = &app.keymap;
    let move_hint = |what: &str| (km.pair_label(Action::Down, Action::Up), what.to_string());
    match &app.overlay {
        Some(Overlay::ConfirmOverwrite { .. }) => {
            return (
                vec![
                    (km.label(Action::ConfirmYes), "overwrite".into()),
                    ("any other key".into(), "cancel".into()),
                ],
                2,
            );
        }
        Some(_) => {
            return (
                vec![
                    move_hint("scroll"),
                    (
                        km.pair_label(Action::PageDown, Action::PageUp),
                        "page".into(),
                    ),
                    (km.label(Action::Close), "close".into()),
                ],
                1,
            );
        }
        None => {}
    }
    let tail = |mut h: Vec<(String, String)>| {
        h.extend(ctx.hints(&[Action::Help, Action::Quit]));
        (h, 2)
    };
    match app.screen {
        Screen::Picker => {
            let back = app.image().is_some() || app.loading || app.diff.is_some();
            let h = super::picker::hints(ctx, back);
            let n = h.len();
            (h, 2.min(n))
        }
        Screen::Diff => {
            if app.diff.is_none() {
                return tail(Vec::new());
            }
            let mut h = vec![move_hint("select")];
            h.extend(ctx.hints(&[
                Action::NextPane,
                Action::DiffPreview,
                Action::DiffFilesView,
                Action::DiffFilter,
                Action::DiffSort,
            ]));
            if app.diff_can_go_back() {
                h.push((km.label(Action::Back), "back to the image".into()));
            }
            tail(h)
        }
        Screen::Explorer => {
            if app.image().is_none() {
                let mut h = Vec::new();
                if app.daemon {
                    h.extend(ctx.hints(&[Action::Picker]));
                }
                h.extend(ctx.hints(&[Action::Quit]));
                let n = h.len();
                return (h, n);
            }
            let mut h = Vec::new();
            let compact = app.areas().compact;
            let next = app.focus.next(compact, app.dockerfile.is_some(), false);
            let name = |p: Pane| match p {
                Pane::Layers => "layers",
                Pane::Image => "image",
                Pane::Dockerfile => "Dockerfile",
                Pane::Tree => "files",
            };
            h.push((km.label(Action::NextPane), name(next).to_string()));
            match app.focus {
                Pane::Layers => {
                    h.push(move_hint("layer"));
                    h.extend(ctx.hints(&[Action::ToggleChanges, Action::Triage]));
                    if app.daemon {
                        // Both need images from the daemon.
                        h.extend(ctx.hints(&[Action::Diff, Action::Picker]));
                    }
                }
                Pane::Image => h.push(move_hint("scroll")),
                Pane::Dockerfile => h.push(move_hint("line (selects its layer)")),
                Pane::Tree => {
                    h.extend(ctx.hints(&[
                        Action::Preview,
                        Action::Toggle,
                        Action::Filter,
                        Action::Search,
                        Action::ToggleChanges,
                        Action::Extract,
                        Action::ToggleSort,
                    ]));
                    if app.files.view.filter.is_some() {
                        h.insert(1, (km.label(Action::Back), "clear filter".into()));
                    }
                }
            }
            tail(h)
        }
    }
}
