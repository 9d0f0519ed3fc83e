//! Measures how long the explorer takes to handle a keystroke and redraw, on a real
//! archive, through the same update + draw path the terminal uses (rendered into an
//! off-screen 200x50 buffer).
//!
//!     cargo run --release --example tui_latency -- IMAGE.tar

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use layerlens::source::{self, ImageSource, LoadEvent, LoadOptions};
use layerlens::tui::app::{App, LoadMsg, Msg};
use layerlens::tui::{keymap::Keymap, theme::Theme, view};
use ratatui::{Terminal, backend::TestBackend, layout::Rect};
use std::time::{Duration, Instant};

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}
fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn main() {
    // As the layerlens binary does.
    layerlens::tune_allocator();
    let path = std::env::args()
        .nth(1)
        .expect("usage: tui_latency IMAGE.tar");
    let reference = format!("docker-archive:{path}");
    let mut app = App::new(
        Keymap::new(None).unwrap(),
        Theme::dark(),
        Rect::new(0, 0, 200, 50),
    );
    let generation = match app.open(&reference).first() {
        Some(layerlens::tui::app::Cmd::Load { generation, .. }) => *generation,
        _ => unreachable!(),
    };
    let t0 = Instant::now();
    let src = ImageSource::parse(&reference).unwrap();
    let mut events = Vec::new();
    source::load_with(&src, &reference, &LoadOptions::default(), &mut |ev| {
        events.push(ev)
    })
    .unwrap();
    let load = t0.elapsed();
    let t1 = Instant::now();
    for ev in events {
        let event = match ev {
            LoadEvent::Meta(m) => LoadMsg::Meta(Box::new(m)),
            LoadEvent::Layer(i, c) => LoadMsg::Layer(i, c),
        };
        app.update(Msg::Load { generation, event });
    }
    app.update(Msg::Load {
        generation,
        event: LoadMsg::Done(Ok(())),
    });
    let stack = t1.elapsed();
    let img = app.image().unwrap();
    println!(
        "{}: {} layers, {} paths; parse {:.0} ms, stack {:.0} ms",
        path,
        img.layers.len(),
        img.tree.node_count(),
        load.as_secs_f64() * 1e3,
        stack.as_secs_f64() * 1e3
    );
    let mut term = Terminal::new(TestBackend::new(200, 50)).unwrap();
    term.draw(|f| view::draw(f, &app)).unwrap();
    let top = app.layers.rows.len();
    let mut script: Vec<(&str, Msg)> = Vec::new();
    for _ in 0..top.min(45) {
        script.push(("next layer (j)", key('j')));
    }
    for _ in 0..10 {
        script.push(("previous layer (k)", key('k')));
    }
    script.push(("focus tree (Tab)", code(KeyCode::Tab)));
    for _ in 0..20 {
        script.push(("move in tree (j)", key('j')));
    }
    script.push(("page down", code(KeyCode::PageDown)));
    script.push(("toggle changes-only (c)", key('c')));
    script.push(("toggle changes-only (c)", key('c')));
    script.push(("sort by name (s)", key('s')));
    script.push(("sort by size (s)", key('s')));
    script.push(("collapse all ([)", key('[')));
    script.push(("expand all (])", key(']')));
    script.push(("hide unchanged (4)", key('4')));
    script.push(("show unchanged (4)", key('4')));
    script.push(("open filter (f)", key('f')));
    for c in "layer1".chars() {
        script.push(("type in filter", key(c)));
    }
    script.push(("apply filter (Enter)", code(KeyCode::Enter)));
    script.push(("clear filter (Esc)", code(KeyCode::Esc)));
    let mut stats: Vec<(&str, Vec<Duration>)> = Vec::new();
    let record = |stats: &mut Vec<(&str, Vec<Duration>)>, name, d| match stats
        .iter_mut()
        .find(|(n, _)| *n == name)
    {
        Some((_, v)) => v.push(d),
        None => stats.push((name, vec![d])),
    };
    for (name, msg) in script {
        let t = Instant::now();
        let cmds = app.update(msg);
        term.draw(|f| view::draw(f, &app)).unwrap();
        record(&mut stats, name, t.elapsed());
        // A filter on a big tree is computed by a job, off the UI thread: run it here,
        // in place, and time it apart (the keystroke above did not wait for it).
        for c in cmds {
            if let layerlens::tui::app::Cmd::FilterRows { generation, job } = c {
                let t = Instant::now();
                let img = app.image_arc().unwrap();
                let done = layerlens::tui::jobs::run_filter_job(&img, *job);
                app.update(Msg::FilterRows {
                    generation,
                    done: Box::new(done),
                });
                term.draw(|f| view::draw(f, &app)).unwrap();
                record(&mut stats, "  filter job (background)", t.elapsed());
            }
        }
    }
    println!(
        "{:<28} {:>6} {:>9} {:>9}",
        "keystroke", "count", "mean ms", "max ms"
    );
    let mut worst = Duration::ZERO;
    for (name, v) in &stats {
        let max = *v.iter().max().unwrap();
        if !name.contains("background") {
            worst = worst.max(max);
        }
        let mean = v.iter().sum::<Duration>() / v.len() as u32;
        println!(
            "{:<28} {:>6} {:>9.2} {:>9.2}",
            name,
            v.len(),
            mean.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3
        );
    }
    println!(
        "worst keystroke: {:.2} ms (background jobs not counted: the UI does not wait for them)",
        worst.as_secs_f64() * 1e3
    );
}
