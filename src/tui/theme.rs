//! Colours. `NO_COLOR` (any value) or `theme = "mono"` gives a theme that uses only
//! bold, underline, dim and reverse.

use crate::model::Change;
use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone)]
pub struct Theme {
    pub name: &'static str,
    pub base: Style,
    pub dim: Style,
    pub title: Style,
    pub border: Style,
    pub border_focus: Style,
    pub selected: Style,
    pub selected_unfocused: Style,
    pub added: Style,
    pub modified: Style,
    pub removed: Style,
    pub unchanged: Style,
    pub bar: Style,
    pub bar_bg: Style,
    pub key: Style,
    pub warn: Style,
    pub error: Style,
    pub header: Style,
}

impl Theme {
    pub fn by_name(name: &str) -> Option<Theme> {
        match name {
            "dark" => Some(Theme::dark()),
            "light" => Some(Theme::light()),
            "mono" => Some(Theme::mono()),
            _ => None,
        }
    }

    /// The theme to use: mono when NO_COLOR is set, else the configured one.
    pub fn resolve(configured: Option<&str>) -> Theme {
        if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            return Theme::mono();
        }
        configured
            .and_then(Theme::by_name)
            .unwrap_or_else(Theme::dark)
    }

    pub fn dark() -> Theme {
        Theme {
            name: "dark",
            base: Style::default(),
            dim: Style::default().fg(Color::DarkGray),
            title: Style::default()
                .fg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
            border: Style::default().fg(Color::DarkGray),
            border_focus: Style::default().fg(Color::Cyan),
            selected: Style::default()
                .bg(Color::Blue)
                .fg(Color::White)
                .add_modifier(Modifier::BOLD),
            selected_unfocused: Style::default().bg(Color::DarkGray).fg(Color::White),
            added: Style::default().fg(Color::Green),
            modified: Style::default().fg(Color::Yellow),
            removed: Style::default().fg(Color::Red),
            unchanged: Style::default(),
            bar: Style::default().fg(Color::Magenta),
            bar_bg: Style::default().fg(Color::DarkGray),
            key: Style::default()
                .fg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
            warn: Style::default().fg(Color::Yellow),
            error: Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
            header: Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
        }
    }

    pub fn light() -> Theme {
        Theme {
            name: "light",
            dim: Style::default().fg(Color::Gray),
            title: Style::default()
                .fg(Color::Blue)
                .add_modifier(Modifier::BOLD),
            border: Style::default().fg(Color::Gray),
            border_focus: Style::default().fg(Color::Blue),
            selected: Style::default()
                .bg(Color::LightBlue)
                .fg(Color::Black)
                .add_modifier(Modifier::BOLD),
            selected_unfocused: Style::default().bg(Color::Gray).fg(Color::Black),
            added: Style::default().fg(Color::Green),
            modified: Style::default().fg(Color::Rgb(160, 110, 0)),
            removed: Style::default().fg(Color::Red),
            key: Style::default()
                .fg(Color::Blue)
                .add_modifier(Modifier::BOLD),
            bar: Style::default().fg(Color::Magenta),
            ..Theme::dark()
        }
    }

    pub fn mono() -> Theme {
        let plain = Style::default();
        Theme {
            name: "mono",
            base: plain,
            dim: plain.add_modifier(Modifier::DIM),
            title: plain.add_modifier(Modifier::BOLD),
            border: plain,
            border_focus: plain.add_modifier(Modifier::BOLD),
            selected: plain.add_modifier(Modifier::REVERSED),
            selected_unfocused: plain.add_modifier(Modifier::UNDERLINED),
            added: plain.add_modifier(Modifier::BOLD),
            modified: plain.add_modifier(Modifier::ITALIC),
            removed: plain.add_modifier(Modifier::CROSSED_OUT),
            unchanged: plain,
            bar: plain,
            bar_bg: plain.add_modifier(Modifier::DIM),
            key: plain.add_modifier(Modifier::BOLD),
            warn: plain.add_modifier(Modifier::BOLD),
            error: plain.add_modifier(Modifier::BOLD | Modifier::REVERSED),
            header: plain.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
        }
    }

    /// The style of a selected row, in a focused pane or not.
    pub fn selection(&self, focused: bool) -> Style {
        if focused {
            self.selected
        } else {
            self.selected_unfocused
        }
    }

    pub fn change(&self, c: Change) -> Style {
        match c {
            Change::Added => self.added,
            Change::Modified => self.modified,
            Change::Removed => self.removed,
            Change::Unchanged => self.unchanged,
        }
    }
}
