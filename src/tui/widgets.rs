//! What every pane draws with: the drawing context (theme and keymap), bordered blocks,
//! the selection highlight, footers fitted to the width, and small text helpers.

use super::keymap::{Action, Keymap};
use super::theme::Theme;
use crate::model::{Change, EntryKind};
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders};

/// What a pane needs besides its own state to draw itself.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub theme: &'a Theme,
    pub keymap: &'a Keymap,
}

impl<'a> Ctx<'a> {
    pub fn block<'t>(&self, title: &'t str, focused: bool) -> Block<'t> {
        Block::default()
            .borders(Borders::ALL)
            .border_style(if focused {
                self.theme.border_focus
            } else {
                self.theme.border
            })
            .title(Span::styled(
                format!(" {title} "),
                if focused {
                    self.theme.title
                } else {
                    self.theme.base.add_modifier(Modifier::BOLD)
                },
            ))
    }

    /// Footer hints for `actions`: each action's keys (as bound) and its hint word.
    pub fn hints(&self, actions: &[Action]) -> Vec<(String, String)> {
        actions
            .iter()
            .map(|a| (self.keymap.label(*a), a.hint().to_string()))
            .collect()
    }

    /// A footer line: as many hints as fit in `width`, in order; the last `keep` hints
    /// (help, quit) are always shown.
    pub fn footer(&self, hints: &[(String, String)], keep: usize, width: u16) -> Line<'static> {
        let w = |(k, d): &(String, String)| {
            unicode_width::UnicodeWidthStr::width(k.as_str())
                + 1
                + unicode_width::UnicodeWidthStr::width(d.as_str())
                + 2
        };
        let keep = keep.min(hints.len());
        let (optional, kept) = hints.split_at(hints.len() - keep);
        let mut room = (width as usize).saturating_sub(1 + kept.iter().map(w).sum::<usize>());
        let mut shown: Vec<&(String, String)> = Vec::new();
        // In order of importance; one that does not fit leaves room for shorter ones.
        for h in optional {
            if w(h) <= room {
                room -= w(h);
                shown.push(h);
            }
        }
        shown.extend(kept.iter());
        let mut spans = vec![Span::raw(" ")];
        for (k, d) in shown {
            spans.push(Span::styled(k.clone(), self.theme.key));
            spans.push(Span::raw(format!(" {d}  ")));
        }
        Line::from(spans)
    }
}

pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// Where overlays go: everything between the title and the status line, so nothing
/// of the screen below peeks out at the sides.
pub fn overlay_area(size: Rect) -> Rect {
    Rect::new(
        size.x,
        size.y + 1,
        size.width,
        size.height.saturating_sub(2),
    )
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

pub fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!(
            "{}…",
            s.chars().take(n.saturating_sub(1)).collect::<String>()
        )
    }
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

pub fn short_id(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

pub fn change_mark(c: Change) -> char {
    match c {
        Change::Added => '+',
        Change::Modified => '~',
        Change::Removed => '-',
        Change::Unchanged => ' ',
    }
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

/// Keep `sel` visible in a window of `page` rows starting at `offset`.
pub fn scroll_to(sel: usize, offset: usize, page: usize) -> usize {
    let page = page.max(1);
    if sel < offset {
        sel
    } else if sel >= offset + page {
        sel + 1 - page
    } else {
        offset
    }
}

/// Show `sel` with context: unchanged when visible and not on an edge row, else placed
/// a third of the way down the window (search hits, jumps).
pub fn reveal(sel: usize, offset: usize, page: usize, len: usize) -> usize {
    let page = page.max(1);
    let visible = sel >= offset && sel < offset + page;
    let on_edge = visible && page > 4 && (sel + 1 == offset + page) && sel + 1 < len;
    if visible && !on_edge {
        return offset;
    }
    let max_offset = len.saturating_sub(page);
    sel.saturating_sub(page / 3).min(max_offset)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn reveal_keeps_visible_rows_and_gives_context_to_others() {
        // Visible, not on the bottom edge: no scroll.
        assert_eq!(reveal(5, 0, 10, 100), 0);
        // Below the window: a third of the way down, not on the bottom row.
        assert_eq!(reveal(50, 0, 10, 100), 47);
        // On the bottom edge with more below: moved up.
        assert_eq!(reveal(9, 0, 10, 100), 6);
        // Near the end: never past the last page.
        assert_eq!(reveal(99, 0, 10, 100), 90);
    }
}
