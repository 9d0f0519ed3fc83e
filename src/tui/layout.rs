//! Where the explorer's panes go for a terminal size (shared by the views and the mouse
//! handler), and which pane has the focus.

use ratatui::layout::{Constraint, Layout, Rect};

/// The explorer's panes. In a small terminal one is shown at a time (the layers pane
/// with the selected layer's details below it), and Tab cycles through all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Layers,
    Image,
    Dockerfile,
    Tree,
}

impl Pane {
    /// Tab order. With the full layout the image summary is always on screen and has
    /// nothing to select, so Tab skips it.
    pub fn next(self, compact: bool, dockerfile: bool, back: bool) -> Pane {
        let order: &[Pane] = match (compact, dockerfile) {
            (true, true) => &[Pane::Layers, Pane::Image, Pane::Dockerfile, Pane::Tree],
            (true, false) => &[Pane::Layers, Pane::Image, Pane::Tree],
            (false, true) => &[Pane::Layers, Pane::Dockerfile, Pane::Tree],
            (false, false) => &[Pane::Layers, Pane::Tree],
        };
        let i = order.iter().position(|p| *p == self).unwrap_or(0);
        let n = order.len();
        order[if back { (i + n - 1) % n } else { (i + 1) % n }]
    }
}

/// Rectangles of the explorer's panes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Areas {
    pub title: Rect,
    pub layers: Rect,
    pub details: Rect,
    pub image: Rect,
    /// The Dockerfile pane (empty without `--dockerfile`).
    pub dockerfile: Rect,
    pub tree: Rect,
    pub status: Rect,
    /// Too small for the full layout: one pane at a time.
    pub compact: bool,
}

pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 15;

pub fn areas(size: Rect) -> Areas {
    areas_with(size, false)
}

/// The layout with (or without) a Dockerfile pane: with the full layout it takes the top
/// of the right column, above the file tree.
pub fn areas_with(size: Rect, dockerfile: bool) -> Areas {
    let [title, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(size);
    if size.width < 100 || size.height < 24 {
        // Compact: the focused pane takes the body; the layers pane shares it with the
        // selected layer's details.
        let [top, bottom] =
            Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(body);
        return Areas {
            title,
            layers: top,
            details: bottom,
            image: body,
            dockerfile: if dockerfile { body } else { Rect::default() },
            tree: body,
            status,
            compact: true,
        };
    }
    // Narrower screens give the tree more: deep paths keep their names.
    let left_pct = if size.width < 140 { 40 } else { 45 };
    let [left, tree] = Layout::horizontal([
        Constraint::Percentage(left_pct),
        Constraint::Percentage(100 - left_pct),
    ])
    .areas(body);
    let (df, tree) = if dockerfile {
        let [d, t] =
            Layout::vertical([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(tree);
        (d, t)
    } else {
        (Rect::default(), tree)
    };
    let [layers, details, image] = Layout::vertical([
        Constraint::Percentage(45),
        Constraint::Percentage(27),
        Constraint::Percentage(28),
    ])
    .areas(left);
    Areas {
        title,
        layers,
        details,
        image,
        dockerfile: df,
        tree,
        status,
        compact: false,
    }
}
