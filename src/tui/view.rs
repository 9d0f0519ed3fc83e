//! Rendering: pure functions from the app state to a frame.

use super::app::{App, InputKind, MIN_WIDTH, Overlay, Pane, PreviewBody, Screen};
use super::keymap::Action;
use super::treeview::{Mode, Sort};
use crate::model::{Change, EntryKind};
use crate::report::human;
use crate::report::text::short_command;
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Gauge, Paragraph, Wrap};
use std::sync::atomic::Ordering;

pub fn draw(f: &mut Frame, app: &App) {
    let size = f.area();
    if size.width < MIN_WIDTH.min(20) || size.height < 5 {
        f.render_widget(Paragraph::new("terminal too small"), size);
        return;
    }
    match app.screen {
        Screen::Picker => draw_picker(f, app, size),
        Screen::Explorer => draw_explorer(f, app),
        Screen::Diff => match &app.diff {
            Some(d) => super::diffview::draw(f, app, d),
            None => {
                let [title, body, status] = Layout::vertical([
                    Constraint::Length(1),
                    Constraint::Min(1),
                    Constraint::Length(1),
                ])
                .areas(size);
                let (a, b) = app.diff_refs.clone().unwrap_or_default();
                f.render_widget(
                    Paragraph::new(Line::styled(
                        format!(" layerlens diff │ {a} → {b}"),
                        app.theme.title,
                    )),
                    title,
                );
                draw_status(f, app, status);
                draw_loading(f, app, body);
            }
        },
    }
    match &app.overlay {
        Some(Overlay::Help { scroll }) => draw_help(f, app, *scroll),
        Some(Overlay::Preview(p)) => draw_preview(f, app, p),
        Some(Overlay::ConfirmOverwrite { dest, .. }) => {
            let area = centered(size, 60, 5);
            f.render_widget(Clear, area);
            let text = vec![
                Line::from(format!("{} exists.", dest.display())),
                Line::from(vec![
                    Span::styled("y", app.theme.key),
                    Span::raw(" overwrite   "),
                    Span::styled("any other key", app.theme.key),
                    Span::raw(" cancel"),
                ]),
            ];
            f.render_widget(
                Paragraph::new(text).block(block(app, "Overwrite?", true)),
                area,
            );
        }
        None => {}
    }
}

fn block<'a>(app: &App, title: &'a str, focused: bool) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(if focused {
            app.theme.border_focus
        } else {
            app.theme.border
        })
        .title(Span::styled(
            format!(" {title} "),
            if focused {
                app.theme.title
            } else {
                app.theme.base.add_modifier(Modifier::BOLD)
            },
        ))
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn draw_explorer(f: &mut Frame, app: &App) {
    let a = app.areas();
    draw_title(f, app, a.title);
    draw_status(f, app, a.status);
    if app.image().is_none() {
        draw_loading(
            f,
            app,
            Rect::new(
                a.title.x,
                a.title.y + 1,
                a.title.width,
                a.status.y.saturating_sub(a.title.y + 1),
            ),
        );
        return;
    }
    if a.compact {
        match app.focus {
            Pane::Layers => {
                // Layers above, the selected layer's details below.
                let [top, bottom] =
                    Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)])
                        .areas(a.layers);
                draw_layers(f, app, top);
                draw_details(f, app, bottom);
            }
            Pane::Tree => draw_tree(f, app, a.tree),
        }
    } else {
        draw_layers(f, app, a.layers);
        draw_details(f, app, a.details);
        draw_image(f, app, a.image);
        draw_tree(f, app, a.tree);
    }
}

fn draw_title(f: &mut Frame, app: &App, area: Rect) {
    let mut spans = vec![Span::styled(" layerlens ", app.theme.title)];
    if let Some(img) = app.image() {
        let name = if img.repo_tags.is_empty() {
            img.reference.clone()
        } else {
            img.repo_tags.join(", ")
        };
        spans.push(Span::raw(format!("│ {name} ")));
        spans.push(Span::styled(
            format!("{} ", short_id(&img.id)),
            app.theme.dim,
        ));
        let size = if img.is_complete() {
            img.size_bytes()
        } else {
            layer_sizes_total(img)
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
        spans.push(Span::raw(format!("│ {} ", app.reference)));
    }
    if let Some(n) = &app.note {
        spans.push(Span::styled(format!("│ {n}"), app.theme.warn));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn layer_sizes_total(img: &crate::model::Image) -> u64 {
    img.layers
        .iter()
        .map(|l| l.blob_size.unwrap_or(0))
        .sum::<u64>()
        .min(u64::MAX)
}

fn short_id(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

fn draw_loading(f: &mut Frame, app: &App, area: Rect) {
    let full = area;
    let area = centered(area, 70, 7);
    if let Some(err) = &app.load_error {
        // Tall enough for the wrapped message and the key hints.
        let w = full.width.min(90).max(20);
        let inner_w = w.saturating_sub(2).max(1) as usize;
        let msg_lines = wrapped_lines(err, inner_w) as u16;
        let area = centered(full, w, (msg_lines + 5).min(full.height));
        let text = vec![
            Line::styled("Could not load the image", app.theme.error),
            Line::from(err.as_str()),
            Line::from(""),
            Line::from(vec![
                Span::styled(app.keymap.label(Action::Picker), app.theme.key),
                Span::raw(" pick another image   "),
                Span::styled(app.keymap.label(Action::Quit), app.theme.key),
                Span::raw(" quit"),
            ]),
        ];
        f.render_widget(
            Paragraph::new(text)
                .wrap(Wrap { trim: false })
                .block(block(app, "Error", true)),
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
    let elapsed = app
        .load_started
        .map(|t| t.elapsed().as_secs_f64())
        .unwrap_or(0.0);
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
        if what.is_empty() {
            &app.reference
        } else {
            &what
        }
    );
    let g = Gauge::default()
        .block(block(app, &title, true))
        .gauge_style(app.theme.bar)
        .ratio(ratio)
        .label(label);
    f.render_widget(g, area);
}

fn draw_layers(f: &mut Frame, app: &App, area: Rect) {
    let Some(img) = app.image() else { return };
    let focused = app.focus == Pane::Layers;
    let title = format!(
        "Layers ({}; {} instructions)",
        img.layers.len(),
        img.history.len()
    );
    let b = block(app, &title, focused);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let max = (0..img.layers.len())
        .map(|i| layer_size(img, i))
        .max()
        .unwrap_or(1)
        .max(1);
    let bar_w = 8usize;
    let mut lines = Vec::new();
    for (i, r) in app
        .layer_rows
        .iter()
        .enumerate()
        .skip(app.layer_offset)
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
        let selected = i == app.layer_sel;
        let (num, size, bar, style) = match r.made {
            Some(l) => {
                let s = layer_size(img, l);
                let filled = ((s as f64 / max as f64) * bar_w as f64).ceil() as usize;
                let loaded = img.layers_loaded() > l;
                (
                    format!("{l:>3}"),
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
                        app.theme.base
                    } else {
                        app.theme.dim
                    },
                )
            }
            None => (
                "   ".into(),
                String::new(),
                " ".repeat(bar_w),
                app.theme.dim,
            ),
        };
        let width = inner.width as usize;
        let fixed = 3 + 1 + 10 + 1 + bar_w + 1;
        let cmd = short_command(&cmd, width.saturating_sub(fixed).max(4));
        let line = Line::from(vec![
            Span::styled(num, style),
            Span::raw(" "),
            Span::styled(format!("{size:>10}"), style),
            Span::raw(" "),
            Span::styled(
                bar,
                if r.made.is_some() {
                    app.theme.bar
                } else {
                    app.theme.dim
                },
            ),
            Span::raw(" "),
            Span::styled(cmd, style),
        ]);
        let line = if selected {
            super::view::highlight(line, app.theme.selection(focused), inner.width)
        } else {
            line
        };
        lines.push(line);
    }
    f.render_widget(Paragraph::new(lines), inner);
}

fn layer_size(img: &crate::model::Image, l: usize) -> u64 {
    if img.layers_loaded() > l {
        img.layer_size(l)
    } else {
        img.layers[l].blob_size.unwrap_or(0)
    }
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

fn draw_details(f: &mut Frame, app: &App, area: Rect) {
    let Some(img) = app.image() else { return };
    let Some(row) = app.layer_rows.get(app.layer_sel) else {
        let msg = if img.layers.is_empty() {
            "this image has no layers"
        } else {
            ""
        };
        f.render_widget(
            Paragraph::new(Line::styled(msg, app.theme.dim)).block(block(app, "Layer", false)),
            area,
        );
        return;
    };
    let l = row.effective;
    let title = match row.made {
        Some(l) => format!("Layer {l}"),
        None => format!("Instruction (no layer; filesystem of layer {l})"),
    };
    let b = block(app, &title, false);
    let mut lines = Vec::new();
    let layer = &img.layers[l];
    if row.made.is_some() {
        lines.push(Line::from(vec![
            Span::styled("Diff id   ", app.theme.dim),
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
            Span::styled("Size      ", app.theme.dim),
            Span::raw(human(layer_size(img, l))),
        ];
        if let (Some(bs), Some(_)) = (layer.blob_size, layer.media_type.as_ref()) {
            size.push(Span::styled(
                format!("  ({} stored)", human(bs)),
                app.theme.dim,
            ));
        }
        if let Some(w) = &app.waste {
            if w.layer_reclaimable[l] > 0 {
                size.push(Span::styled(
                    format!("  {} reclaimable", human(w.layer_reclaimable[l])),
                    app.theme.warn,
                ));
            }
        }
        lines.push(Line::from(size));
        if let Some(others) = app.shared.get(l).filter(|o| !o.is_empty()) {
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
                Span::styled("Shared    ", app.theme.dim),
                Span::styled(
                    format!(
                        "with {} other local image(s): {}{more}",
                        names.len(),
                        shown.join(", ")
                    ),
                    app.theme.added,
                ),
                Span::styled(" (costs nothing extra)", app.theme.dim),
            ]));
        }
        if img.layers_loaded() > l {
            let (a, m, r) = crate::report::files::change_counts(img, l);
            lines.push(Line::from(vec![
                Span::styled("Changes   ", app.theme.dim),
                Span::styled(
                    format!("+{a} added  "),
                    if a > 0 {
                        app.theme.added
                    } else {
                        app.theme.dim
                    },
                ),
                Span::styled(
                    format!("~{m} modified  "),
                    if m > 0 {
                        app.theme.modified
                    } else {
                        app.theme.dim
                    },
                ),
                Span::styled(
                    format!("-{r} removed"),
                    if r > 0 {
                        app.theme.removed
                    } else {
                        app.theme.dim
                    },
                ),
            ]));
        }
    }
    if let Some(h) = row.history.map(|h| &img.history[h]) {
        if let Some(c) = &h.created {
            lines.push(Line::from(vec![
                Span::styled("Created   ", app.theme.dim),
                Span::raw(c.clone()),
            ]));
        }
        lines.push(Line::styled("Command", app.theme.dim));
        let text = if h.created_by.is_empty() {
            h.comment.clone().unwrap_or_default()
        } else {
            h.created_by.clone()
        };
        for part in split_command(&text) {
            lines.push(Line::from(part));
        }
    }
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(b),
        area,
    );
}

fn draw_image(f: &mut Frame, app: &App, area: Rect) {
    let Some(img) = app.image() else { return };
    let b = block(app, "Image", false);
    let mut lines = Vec::new();
    match &app.waste {
        None => {
            lines.push(Line::from(format!(
                "Size          {}",
                human(layer_sizes_total(img).max(img.size_bytes()))
            )));
            lines.push(Line::styled(
                if app.load_error.is_some() {
                    "analysis unavailable: load failed"
                } else {
                    "analysing…"
                },
                app.theme.dim,
            ));
        }
        Some(w) => {
            lines.push(Line::from(vec![
                Span::styled("Size          ", app.theme.dim),
                Span::raw(human(w.size_bytes)),
            ]));
            let eff_style = if w.efficiency < 0.9 {
                app.theme.warn
            } else {
                app.theme.base
            };
            lines.push(Line::from(vec![
                Span::styled("Efficiency    ", app.theme.dim),
                Span::styled(format!("{:.2} %", w.efficiency * 100.0), eff_style),
            ]));
            lines.push(Line::from(vec![
                Span::styled("Wasted        ", app.theme.dim),
                Span::raw(format!(
                    "{} ({:.1} % of user size, dive)",
                    human(w.wasted_bytes),
                    w.user_wasted_percent * 100.0
                )),
            ]));
            lines.push(Line::from(vec![
                Span::styled("Reclaimable   ", app.theme.dim),
                Span::styled(
                    human(w.reclaimable_bytes),
                    if w.reclaimable_bytes > 0 {
                        app.theme.warn
                    } else {
                        app.theme.base
                    },
                ),
            ]));
            if !w.reclaimable_files.is_empty() {
                lines.push(Line::styled(
                    "Top reclaimable (layer → hidden in):",
                    app.theme.header,
                ));
                for r in w
                    .reclaimable_files
                    .iter()
                    .take(area.height.saturating_sub(7) as usize)
                {
                    lines.push(Line::from(vec![
                        Span::raw(format!("{:>10}  ", human(r.bytes))),
                        Span::styled(format!("{}→{} ", r.layer, r.hidden_in), app.theme.dim),
                        Span::raw(r.path.clone()),
                    ]));
                }
            } else if !w.inefficient_files.is_empty() {
                lines.push(Line::styled("Inefficient files (dive):", app.theme.header));
                for r in w
                    .inefficient_files
                    .iter()
                    .take(area.height.saturating_sub(7) as usize)
                {
                    lines.push(Line::from(format!(
                        "{:>10}  x{}  {}",
                        human(r.wasted_bytes),
                        r.count,
                        r.path
                    )));
                }
            }
        }
    }
    f.render_widget(Paragraph::new(lines).block(b), area);
}

fn change_mark(c: Change) -> char {
    match c {
        Change::Added => '+',
        Change::Modified => '~',
        Change::Removed => '-',
        Change::Unchanged => ' ',
    }
}

fn draw_tree(f: &mut Frame, app: &App, area: Rect) {
    let Some(img) = app.image() else { return };
    let focused = app.focus == Pane::Tree;
    let layer = app.selected_layer().unwrap_or(0);
    let mode = match app.view.mode {
        Mode::Merged => "merged",
        Mode::Changes => "changes only",
    };
    let sort = match app.view.sort {
        Sort::Size => "size",
        Sort::Name => "name",
    };
    let mut title = format!("Files at layer {layer} · {mode} · by {sort}");
    if let Some(fl) = &app.view.filter {
        title.push_str(&format!(" · filter \"{}\"", fl.text));
    }
    let hidden: Vec<&str> = ["added", "modified", "removed", "unchanged"]
        .iter()
        .zip(app.view.hidden.iter())
        .filter(|(_, h)| **h)
        .map(|(n, _)| *n)
        .collect();
    if !hidden.is_empty() {
        title.push_str(&format!(" · hiding {}", hidden.join(",")));
    }
    let legend = Line::from(vec![
        Span::styled(" +added ", app.theme.added),
        Span::styled("~modified ", app.theme.modified),
        Span::styled("-removed ", app.theme.removed),
        Span::styled("unchanged ", app.theme.unchanged),
    ]);
    let b = block(app, &title, focused).title_bottom(legend.alignment(Alignment::Right));
    let inner = b.inner(area);
    f.render_widget(b, area);
    if inner.height < 2 {
        return;
    }
    if img.layers.is_empty() {
        f.render_widget(
            Paragraph::new(Line::styled(
                "this image has no layers: no files",
                app.theme.dim,
            )),
            inner,
        );
        return;
    }
    if img.layers_loaded() <= layer {
        let msg = if app.load_error.is_some() {
            "layer not loaded (the load failed)".to_string()
        } else {
            format!(
                "loading layer {layer}… ({} of {} parsed)",
                img.layers_loaded(),
                img.layers.len()
            )
        };
        f.render_widget(Paragraph::new(Line::styled(msg, app.theme.dim)), inner);
        return;
    }
    let [header, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    let attrs_w = if app.show_attrs { 10 + 12 } else { 0 };
    let hdr = if app.show_attrs {
        format!("{:<10}{:>11} {:>10}  Name", "Mode", "UID:GID", "Size")
    } else {
        format!("{:>10}  Name", "Size")
    };
    f.render_widget(Paragraph::new(Line::styled(hdr, app.theme.header)), header);
    if app.rows.is_empty() {
        let msg = if app.view.filter.is_some() || app.view.hidden.iter().any(|h| *h) {
            "nothing matches at this layer (try another layer, or Esc to clear the filter)"
        } else if app.view.mode == Mode::Changes {
            "this layer changed no files"
        } else {
            "empty filesystem"
        };
        f.render_widget(Paragraph::new(Line::styled(msg, app.theme.dim)), body);
        return;
    }
    let tree = &img.tree;
    let mut lines = Vec::with_capacity(body.height as usize);
    for (i, r) in app
        .rows
        .iter()
        .enumerate()
        .skip(app.tree_offset)
        .take(body.height as usize)
    {
        let at = if r.change == Change::Removed {
            layer.saturating_sub(1)
        } else {
            layer
        };
        let e = tree.entry_at(r.node, at);
        let mut spans = Vec::new();
        if app.show_attrs {
            let (m, owner) = match e {
                Some(e) => (mode_string(e.kind, e.mode), format!("{}:{}", e.uid, e.gid)),
                None => (String::new(), String::new()),
            };
            spans.push(Span::styled(format!("{m:<10}{owner:>11} "), app.theme.dim));
        }
        let _ = attrs_w;
        let size = match e {
            Some(e) if e.kind == EntryKind::Dir => human(r.size),
            Some(e) if e.kind.has_content() => human(e.size),
            _ => String::new(),
        };
        spans.push(Span::raw(format!("{size:>10}  ")));
        let mut guide = String::new();
        for d in 0..r.depth as u32 {
            guide.push_str(if d < 64 && r.guides & (1u64 << d) != 0 {
                "│  "
            } else {
                "   "
            });
        }
        guide.push_str(if r.last { "└─" } else { "├─" });
        guide.push(change_mark(r.change));
        spans.push(Span::styled(guide, app.theme.dim));
        let mut name = String::from_utf8_lossy(tree.name(r.node)).into_owned();
        if r.is_dir {
            name.push('/');
            if !r.expanded {
                name.push_str(" …");
            }
        }
        let style = if r.context {
            app.theme.dim
        } else {
            app.theme.change(r.change)
        };
        spans.push(Span::styled(name, style));
        if let Some(e) = e {
            if let Some(l) = &e.link {
                let arrow = if e.kind == EntryKind::Hardlink {
                    " ⇒ /"
                } else {
                    " → "
                };
                spans.push(Span::styled(
                    format!("{arrow}{}", String::from_utf8_lossy(l)),
                    app.theme.dim,
                ));
            }
        }
        let mut line = Line::from(spans);
        if i == app.tree_sel {
            line = super::view::highlight(line, app.theme.selection(focused), body.width);
        }
        lines.push(line);
    }
    f.render_widget(Paragraph::new(lines), body);
}

pub fn mode_string(kind: EntryKind, mode: u32) -> String {
    let t = kind.type_char();
    let mut s = String::with_capacity(10);
    s.push(t);
    for (i, c) in ['r', 'w', 'x', 'r', 'w', 'x', 'r', 'w', 'x']
        .iter()
        .enumerate()
    {
        let bit = 1 << (8 - i);
        let set = mode & bit != 0;
        let special = match i {
            2 => mode & 0o4000 != 0,
            5 => mode & 0o2000 != 0,
            8 => mode & 0o1000 != 0,
            _ => false,
        };
        s.push(match (set, special, i) {
            (true, true, 8) => 't',
            (false, true, 8) => 'T',
            (true, true, _) => 's',
            (false, true, _) => 'S',
            (true, false, _) => *c,
            (false, false, _) => '-',
        });
    }
    s
}

pub fn draw_status(f: &mut Frame, app: &App, area: Rect) {
    if let Some(input) = &app.input {
        let label = match input.kind {
            InputKind::Filter => "Filter (substring, /regex/; Enter keep, Esc cancel): ",
            InputKind::Search => "Search (Enter jump, n/N next/prev): ",
            InputKind::ExtractPath => "Extract to: ",
        };
        let line = Line::from(vec![
            Span::styled(label, app.theme.key),
            Span::raw(input.text.clone()),
            Span::styled("█", app.theme.dim),
        ]);
        f.render_widget(Paragraph::new(line), area);
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
    let km = &app.keymap;
    if app.overlay.is_some() {
        let spans = vec![
            Span::raw(" "),
            Span::styled("Esc", app.theme.key),
            Span::raw(" close  "),
            Span::styled(
                km.label(Action::Down) + "/" + &km.label(Action::Up),
                app.theme.key,
            ),
            Span::raw(" scroll  "),
            Span::styled(
                km.label(Action::PageDown) + "/" + &km.label(Action::PageUp),
                app.theme.key,
            ),
            Span::raw(" page"),
        ];
        f.render_widget(Paragraph::new(Line::from(spans)), area);
        return;
    }
    let mut hints: Vec<(String, &str)> = vec![(km.label(Action::NextPane), "switch pane")];
    match (app.screen, app.focus) {
        (Screen::Diff, _) => {
            hints = vec![
                (km.label(Action::NextPane), "switch pane"),
                (km.label(Action::ToggleChanges), "layer pair / final files"),
                (km.label(Action::ToggleSort), "sort"),
                (km.label(Action::Filter), "filter"),
                (km.label(Action::Preview), "both versions"),
                ("Esc".into(), "back"),
            ];
        }
        (Screen::Picker, _) => {
            hints = vec![
                ("type".into(), "filter"),
                ("↑/↓".into(), "select"),
                ("Enter".into(), "open"),
                ("Esc".into(), "back/quit"),
            ];
        }
        (_, Pane::Layers) => {
            hints.push((
                km.label(Action::Down) + "/" + &km.label(Action::Up),
                "layer",
            ));
            hints.push((km.label(Action::ToggleChanges), "changes only"));
        }
        (_, Pane::Tree) => {
            hints.push((km.label(Action::Toggle), "collapse"));
            hints.push((km.label(Action::ToggleChanges), "changes only"));
            hints.push((km.label(Action::Filter), "filter"));
            hints.push((km.label(Action::Search), "search"));
            hints.push((km.label(Action::Preview), "preview"));
            hints.push((km.label(Action::Extract), "extract"));
            hints.push((km.label(Action::ToggleSort), "sort"));
        }
    }
    if app.screen == Screen::Picker {
        hints.push(("Ctrl-c".into(), "quit"));
    } else if app.screen == Screen::Explorer && app.image().is_none() {
        hints = vec![
            (km.label(Action::Picker), "pick an image"),
            (km.label(Action::Quit), "quit"),
        ];
    } else {
        hints.push((km.label(Action::Help), "help"));
        hints.push((km.label(Action::Quit), "quit"));
    }
    let mut spans = vec![Span::raw(" ")];
    for (k, d) in hints {
        spans.push(Span::styled(k, app.theme.key));
        spans.push(Span::raw(format!(" {d}  ")));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

pub fn help_lines(app: &App) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for (ctx, title) in [("global", "Everywhere"), ("tree", "File tree")] {
        lines.push(Line::styled(title.to_string(), app.theme.header));
        for a in super::keymap::Action::ALL
            .iter()
            .filter(|a| a.context() == ctx)
        {
            let keys: Vec<String> = app.keymap.keys(*a).iter().map(|k| k.label()).collect();
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<22}", keys.join(", ")), app.theme.key),
                Span::raw(a.description().to_string()),
            ]));
        }
        lines.push(Line::from(""));
    }
    lines.push(Line::styled("Mouse", app.theme.header));
    lines.push(Line::from(
        "  click a layer or a file to select it (again on a directory to fold it); wheel scrolls",
    ));
    lines.push(Line::from(""));
    lines.push(Line::styled("Colours", app.theme.header));
    lines.push(Line::from(vec![
        Span::raw("  "),
        Span::styled("+added  ", app.theme.added),
        Span::styled("~modified  ", app.theme.modified),
        Span::styled("-removed  ", app.theme.removed),
        Span::raw("unchanged; dim rows are shown only for what is below them"),
    ]));
    lines.push(Line::from(""));
    lines.push(Line::from(format!(
        "Keys and theme can be changed in {} (`layerlens --default-config` prints the defaults to start from).",
        super::config_path()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "~/.config/layerlens/config.toml".into())
    )));
    lines
}

fn draw_help(f: &mut Frame, app: &App, scroll: usize) {
    let size = f.area();
    let area = overlay_area(size);
    f.render_widget(Clear, area);
    let lines = help_lines(app);
    let max = lines
        .len()
        .saturating_sub(area.height.saturating_sub(2) as usize);
    let p = Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((scroll.min(max) as u16, 0))
        .block(block(app, "Help (Esc to close)", true));
    f.render_widget(p, area);
}

/// Where overlays go: everything between the title and the status line, so nothing
/// of the screen below peeks out at the sides.
fn overlay_area(size: Rect) -> Rect {
    Rect::new(
        size.x,
        size.y + 1,
        size.width,
        size.height.saturating_sub(2),
    )
}

fn draw_preview(f: &mut Frame, app: &App, p: &super::app::Preview) {
    let size = f.area();
    let area = overlay_area(size);
    f.render_widget(Clear, area);
    let mut lines = vec![Line::styled(p.meta.clone(), app.theme.dim), Line::from("")];
    match &p.body {
        PreviewBody::Pair { old, new } => lines.extend(pair_lines(app, old.as_ref(), new.as_ref())),
        PreviewBody::Loading => lines.push(Line::styled(
            "reading the file from its layer…",
            app.theme.dim,
        )),
        PreviewBody::Error(e) => lines.push(Line::styled(e.clone(), app.theme.error)),
        PreviewBody::Data(d) if d.is_empty() => {
            lines.push(Line::styled("(no content)", app.theme.dim))
        }
        PreviewBody::Data(d) => {
            let text = std::str::from_utf8(d).ok().filter(|s| !s.contains('\0'));
            match text {
                Some(t) => {
                    for l in t.lines() {
                        lines.push(Line::from(l.replace('\t', "    ")));
                    }
                }
                None => {
                    lines.push(Line::styled(
                        "binary file: first bytes in hex",
                        app.theme.dim,
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
    let title = format!("{} (Esc to close)", p.title);
    let para = Paragraph::new(lines)
        .scroll((p.scroll.min(max) as u16, 0))
        .block(block(app, &title, true));
    f.render_widget(para, area);
}

fn draw_picker(f: &mut Frame, app: &App, size: Rect) {
    let [title, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(size);
    f.render_widget(
        Paragraph::new(Line::styled(
            " layerlens │ choose an image",
            app.theme.title,
        )),
        title,
    );
    draw_status(f, app, status);
    let title = format!(
        "Local images · filter: {}",
        if app.picker.filter.is_empty() {
            "(type to filter)"
        } else {
            &app.picker.filter
        }
    );
    let b = block(app, &title, true);
    let inner = b.inner(body);
    f.render_widget(b, body);
    if app.picker.loading {
        f.render_widget(
            Paragraph::new(Line::styled("asking the Docker daemon…", app.theme.dim)),
            inner,
        );
        return;
    }
    if let Some(e) = &app.picker.error {
        f.render_widget(
            Paragraph::new(Line::styled(e.clone(), app.theme.error)).wrap(Wrap { trim: false }),
            inner,
        );
        return;
    }
    let vis = app.picker.visible();
    // The name column takes what the fixed columns leave.
    let nw = (inner.width as usize)
        .saturating_sub(14 + 1 + 10 + 1 + 7 + 2 + 16 + 1)
        .max(12);
    let mut lines = vec![Line::styled(
        format!(
            "{:<nw$} {:<14} {:>10} {:>7}  {}",
            "Repository:tag", "Id", "Size", "Layers", "Created"
        ),
        app.theme.header,
    )];
    if vis.is_empty() {
        lines.push(Line::styled("no image matches", app.theme.dim));
    }
    let page = inner.height.saturating_sub(1) as usize;
    let offset = app.picker.selected.saturating_sub(page.saturating_sub(1));
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
            truncate(&name, nw),
            short_id(&im.id),
            human(im.size),
            layers,
            created
        ));
        if i == app.picker.selected {
            line = highlight(line, app.theme.selected, inner.width);
        }
        lines.push(line);
    }
    f.render_widget(Paragraph::new(lines), inner);
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

/// "2026-11-23 04:10" (UTC) from unix seconds.
pub fn format_unix(t: i64) -> String {
    if t <= 0 {
        return String::new();
    }
    let days = t.div_euclid(86400);
    let secs = t.rem_euclid(86400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z.rem_euclid(146097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        secs / 3600,
        (secs % 3600) / 60
    )
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

    #[test]
    fn modes() {
        assert_eq!(mode_string(EntryKind::Dir, 0o755), "drwxr-xr-x");
        assert_eq!(mode_string(EntryKind::Dir, 0o1777), "drwxrwxrwt");
        assert_eq!(mode_string(EntryKind::File, 0o4755), "-rwsr-xr-x");
    }

    #[test]
    fn dates() {
        assert_eq!(format_unix(0), "");
        assert_eq!(format_unix(1_700_000_000), "2023-11-14 22:13");
    }
}

/// Both versions of a file: a unified diff for text, sizes and first bytes otherwise.
fn pair_lines(
    app: &App,
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
            out.push(Line::styled(format!("{label}: {e}"), app.theme.error));
        }
    }
    match (text(old), text(new)) {
        (Some(a), Some(b)) => {
            if a == b {
                out.push(Line::styled("same content on both sides", app.theme.dim));
            }
            let diff = similar::TextDiff::from_lines(&a, &b);
            for change in diff.iter_all_changes() {
                let (sign, style) = match change.tag() {
                    similar::ChangeTag::Delete => ('-', app.theme.removed),
                    similar::ChangeTag::Insert => ('+', app.theme.added),
                    similar::ChangeTag::Equal => (' ', app.theme.base),
                };
                let line = change.value().trim_end_matches('\n').replace('\t', "    ");
                out.push(Line::styled(format!("{sign} {line}"), style));
            }
        }
        _ => {
            for (label, r) in [("A (old)", old), ("B (new)", new)] {
                match r {
                    None => out.push(Line::styled(format!("{label}: absent"), app.theme.dim)),
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

/// Lines `text` takes when word-wrapped to `width` columns.
pub fn wrapped_lines(text: &str, width: usize) -> usize {
    let width = width.max(1);
    let mut lines = 1;
    let mut col = 0;
    for word in text.split(' ') {
        let w = word.chars().count();
        let need = if col == 0 { w } else { col + 1 + w };
        if need <= width {
            col = need;
        } else {
            lines += 1;
            // Words longer than a line are broken.
            lines += w.saturating_sub(1) / width;
            col = w % width;
        }
    }
    lines
}

/// A selected row: one uniform, readable style over the whole line (per-span colours
/// such as dim text would vanish on the selection background), padded to `width`.
pub fn highlight(line: Line<'_>, style: ratatui::style::Style, width: u16) -> Line<'_> {
    let mut used = 0usize;
    let mut spans: Vec<Span> = line
        .spans
        .into_iter()
        .map(|sp| {
            used += unicode_width::UnicodeWidthStr::width(sp.content.as_ref());
            Span::styled(sp.content, style)
        })
        .collect();
    if (width as usize) > used {
        spans.push(Span::styled(" ".repeat(width as usize - used), style));
    }
    Line::from(spans)
}
