//! Helpers shared by the explorer tests (`tui_app.rs`, `tui_snapshots.rs`): build an
//! [`App`], load an image into it synchronously (the events the background loader
//! would send, fed through `App::update`), send keys and inspect the rows.
#![allow(dead_code)]

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use layerlens::analysis::waste;
use layerlens::model::{Image, LayerContent};
use layerlens::source::{self, ImageSource, LoadEvent, LoadOptions};
use layerlens::tui::app::{App, Cmd, LoadMsg, Msg};
use layerlens::tui::keymap::Keymap;
use layerlens::tui::theme::Theme;
use ratatui::layout::Rect;
use std::sync::{Arc, OnceLock};

/// The bundled sample, relative to the package root (the tests' working directory),
/// so that anything showing the reference is the same on every machine.
pub const SAMPLE: &str = "docker-archive:assets/sample.tar";

pub const W: u16 = 160;
pub const H: u16 = 45;

pub fn new_app(theme: Theme, w: u16, h: u16) -> App {
    App::new(Keymap::new(None).unwrap(), theme, Rect::new(0, 0, w, h))
}

/// What the loader reports for an image: metadata, then the layers.
pub struct Events {
    pub meta: Image,
    pub layers: Vec<(usize, Arc<LayerContent>)>,
}

pub fn load_events(reference: &str) -> Events {
    let src = ImageSource::parse(reference).unwrap_or_else(|e| panic!("{reference}: {e}"));
    let mut meta = None;
    let mut layers = Vec::new();
    source::load_with(
        &src,
        reference,
        &LoadOptions::default(),
        &mut |ev| match ev {
            LoadEvent::Meta(m) => meta = Some(m),
            LoadEvent::Layer(i, c) => layers.push((i, c)),
        },
    )
    .unwrap_or_else(|e| panic!("loading {reference}: {e}"));
    Events {
        meta: meta.expect("no Meta event"),
        layers,
    }
}

/// The sample's load events, read once per test binary.
pub fn sample_events() -> &'static Events {
    static EV: OnceLock<Events> = OnceLock::new();
    EV.get_or_init(|| load_events(SAMPLE))
}

/// `app.open(reference)`: the generation of the Cmd::Load it returns.
pub fn open(app: &mut App, reference: &str) -> u64 {
    let cmds = app.open(reference);
    match cmds.as_slice() {
        [
            Cmd::Load {
                generation,
                reference: r,
            },
        ] => {
            assert_eq!(r, reference);
            *generation
        }
        other => panic!("open returned {other:?}"),
    }
}

/// Feed Meta, every Layer, Done(Ok) and (when asked for) the waste analysis.
pub fn feed(app: &mut App, generation: u64, ev: &Events) {
    let cmds = app.update(Msg::Load {
        generation,
        event: LoadMsg::Meta(Box::new(ev.meta.clone())),
    });
    assert!(cmds.is_empty(), "Meta returned {cmds:?}");
    for (i, c) in &ev.layers {
        app.update(Msg::Load {
            generation,
            event: LoadMsg::Layer(*i, c.clone()),
        });
    }
    let cmds = app.update(Msg::Load {
        generation,
        event: LoadMsg::Done(Ok(())),
    });
    assert_eq!(cmds, vec![Cmd::Analyze { generation }]);
    let w = waste::analyze(app.image().expect("image after load"));
    app.update(Msg::Load {
        generation,
        event: LoadMsg::Waste(Box::new(w)),
    });
}

/// An app (160x45 unless said otherwise) with the image at `reference` fully loaded.
pub fn loaded_with(theme: Theme, w: u16, h: u16, reference: &str, ev: &Events) -> App {
    let mut app = new_app(theme, w, h);
    let g = open(&mut app, reference);
    feed(&mut app, g, ev);
    app
}

pub fn sample_app() -> App {
    loaded_with(Theme::dark(), W, H, SAMPLE, sample_events())
}

// ----- keys -----------------------------------------------------------------------------

pub fn key_event(code: KeyCode) -> KeyEvent {
    let mods = match code {
        KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
        _ => KeyModifiers::NONE,
    };
    KeyEvent::new(code, mods)
}

/// One key; returns the commands.
pub fn press(app: &mut App, code: KeyCode) -> Vec<Cmd> {
    app.update(Msg::Key(key_event(code)))
}

pub fn ch(app: &mut App, c: char) -> Vec<Cmd> {
    press(app, KeyCode::Char(c))
}

/// Each character of `s` as a key (uppercase with SHIFT, as crossterm reports them).
pub fn keys(app: &mut App, s: &str) -> Vec<Cmd> {
    let mut out = Vec::new();
    for c in s.chars() {
        out.extend(ch(app, c));
    }
    out
}

pub fn esc(app: &mut App) -> Vec<Cmd> {
    press(app, KeyCode::Esc)
}

pub fn enter(app: &mut App) -> Vec<Cmd> {
    press(app, KeyCode::Enter)
}

pub fn click(app: &mut App, column: u16, row: u16) -> Vec<Cmd> {
    app.update(Msg::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column,
        row,
        modifiers: KeyModifiers::NONE,
    }))
}

// ----- inspecting -----------------------------------------------------------------------

/// "/a/b" of every tree row.
pub fn row_paths(app: &App) -> Vec<String> {
    let tree = &app.image().expect("image").tree;
    app.files
        .rows
        .iter()
        .map(|r| tree.display_path(r.node))
        .collect()
}

/// Display path of the selected tree row.
pub fn selected_path(app: &App) -> Option<String> {
    let tree = &app.image()?.tree;
    app.files
        .rows
        .get(app.files.sel)
        .map(|r| tree.display_path(r.node))
}

/// Move the tree cursor to the row showing `path` (panics if it is not shown).
pub fn select_path(app: &mut App, path: &str) {
    let i = row_paths(app)
        .iter()
        .position(|p| p == path)
        .unwrap_or_else(|| panic!("{path} not among the rows {:?}", row_paths(app)));
    app.files.sel = i;
}
