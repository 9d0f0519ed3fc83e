//! The interactive explorer (ratatui + crossterm).
//!
//! The UI thread owns the [`app::App`] state; terminal events and background jobs
//! (loading, analysis, listing images, previews, extraction) reach it as messages on
//! one channel. Results of an earlier image's jobs carry an older generation number and
//! are dropped.

pub mod app;
pub mod config;
pub mod details;
pub mod diff;
pub mod dockerfile;
pub mod extract;
pub mod files;
pub mod help;
pub mod jobs;
pub mod keymap;
pub mod layers;
pub mod layout;
pub mod msg;
pub mod picker;
pub mod preview;
pub mod prompt;
pub mod summary;
pub mod theme;
pub mod treeview;
pub mod triage;
pub mod view;
pub mod widgets;

use crate::error::{Error, ErrorKind, Result};
use app::{App, Cmd, Msg};
use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use std::io::Stdout;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

pub use config::{config_path, load_config};

type Term = Terminal<CrosstermBackend<Stdout>>;

fn setup_terminal() -> Result<Term> {
    enable_raw_mode().map_err(|e| Error::io(format!("cannot use the terminal: {e}")))?;
    let mut out = std::io::stdout();
    execute!(out, EnterAlternateScreen, EnableMouseCapture)
        .map_err(|e| Error::io(format!("cannot use the terminal: {e}")))?;
    Terminal::new(CrosstermBackend::new(out))
        .map_err(|e| Error::io(format!("cannot use the terminal: {e}")))
}

fn restore_terminal() {
    let _ = disable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        LeaveAlternateScreen,
        DisableMouseCapture,
        crossterm::cursor::Show
    );
}

/// Restore the terminal before a panic message prints.
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous(info);
    }));
}

/// Run the explorer. `image`: what to open (None: picker, or the sample without a
/// daemon).
pub fn run(
    image: Option<String>,
    platform: Option<crate::source::layout::Platform>,
    sample: PathBuf,
) -> Result<i32> {
    run_start(Start::Image(image), platform, sample)
}

/// What the explorer opens with.
pub enum Start {
    /// An image (None: the picker, or the sample without a daemon).
    Image(Option<String>),
    /// Diff mode on two images.
    Diff(String, String),
}

pub fn run_start(
    start: Start,
    platform: Option<crate::source::layout::Platform>,
    sample: PathBuf,
) -> Result<i32> {
    run_with(start, platform, sample, None)
}

/// The explorer with the Dockerfile the image was built from (a pane beside the layers).
pub fn run_with(
    start: Start,
    platform: Option<crate::source::layout::Platform>,
    sample: PathBuf,
    dockerfile: Option<PathBuf>,
) -> Result<i32> {
    run_opts(
        start,
        platform,
        sample,
        Options {
            dockerfile,
            push_to: None,
        },
    )
}

/// What the explorer is started with besides the image.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The Dockerfile the image was built from (a pane beside the layers).
    pub dockerfile: Option<PathBuf>,
    /// Where a push would go, for the triage (`t`): `[HOST/]REPO[:TAG]`.
    pub push_to: Option<String>,
}

pub fn run_opts(
    start: Start,
    platform: Option<crate::source::layout::Platform>,
    sample: PathBuf,
    options: Options,
) -> Result<i32> {
    let dockerfile = options.dockerfile.clone();
    let (km, theme) = load_config()?;
    // An unreadable Dockerfile is an error before the terminal is taken over.
    let df_pane = dockerfile
        .as_deref()
        .map(dockerfile::DockerfilePane::load)
        .transpose()?;
    // Fail before taking over the terminal when the image cannot be opened at all.
    match &start {
        Start::Image(Some(r)) => crate::source::precheck(r)?,
        Start::Diff(a, b) => {
            crate::source::precheck(a)?;
            crate::source::precheck(b)?;
        }
        Start::Image(None) => {}
    }
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return Err(Error::usage(
            "the explorer needs a terminal; use `layerlens report IMAGE` for text output",
        ));
    }
    let (w, h) = crossterm::terminal::size().unwrap_or((80, 24));
    let mut app = App::new(km, theme, Rect::new(0, 0, w, h));
    app.config_path = config_path();
    app.dockerfile = df_pane;
    app.triage_to = options.push_to.clone();
    let (tx, rx) = mpsc::channel::<Msg>();
    let mut first: Vec<Cmd> = Vec::new();
    match start {
        Start::Diff(a, b) => {
            app.daemon = true;
            first.extend(app.open_diff(&a, &b));
        }
        Start::Image(Some(r)) => {
            app.daemon = true;
            first.extend(app.open(&r));
        }
        Start::Image(None) => match crate::source::daemon::ping() {
            Ok(()) => {
                app.daemon = true;
                app.screen = app::Screen::Picker;
                app.picker.loading = true;
                first.push(Cmd::ListImages);
            }
            Err(e) => {
                let _ = e;
                app.note = Some("no Docker daemon answers — showing the bundled sample".into());
                first.extend(app.open(&format!("docker-archive:{}", sample.display())));
            }
        },
    }

    install_panic_hook();
    let mut term = setup_terminal()?;
    // Terminal events on their own thread.
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            loop {
                match event::poll(Duration::from_millis(250)) {
                    Ok(true) => {
                        let msg = match event::read() {
                            Ok(Event::Key(k)) => Msg::Key(k),
                            Ok(Event::Mouse(m)) => Msg::Mouse(m),
                            Ok(Event::Resize(w, h)) => Msg::Resize(w, h),
                            Ok(_) => continue,
                            Err(_) => break,
                        };
                        if tx.send(msg).is_err() {
                            break;
                        }
                    }
                    Ok(false) => {
                        if tx.send(Msg::Tick).is_err() {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        });
    }
    let result = event_loop(&mut term, &mut app, &tx, &rx, first, platform);
    restore_terminal();
    // Quitting after the image could not be loaded is a failure, for scripts too.
    match (result, &app.load_error) {
        (Ok(_), Some(e)) if app.image().is_none() && app.diff.is_none() => {
            Err(Error::new(ErrorKind::Other, e.clone()))
        }
        (r, _) => r,
    }
}

fn event_loop(
    term: &mut Term,
    app: &mut App,
    tx: &mpsc::Sender<Msg>,
    rx: &mpsc::Receiver<Msg>,
    first: Vec<Cmd>,
    platform: Option<crate::source::layout::Platform>,
) -> Result<i32> {
    let draw = |term: &mut Term, app: &App| {
        term.draw(|f| view::draw(f, app))
            .map(|_| ())
            .map_err(|e| Error::io(format!("drawing: {e}")))
    };
    run_cmds(app, tx, first, &platform, term)?;
    app.refresh_rows();
    draw(term, app)?;
    loop {
        let Ok(msg) = rx.recv() else { return Ok(0) };
        let mut cmds = app.update(msg);
        // Drain what else is queued before redrawing (layers arriving in bursts).
        let deadline = std::time::Instant::now() + Duration::from_millis(12);
        while std::time::Instant::now() < deadline {
            match rx.try_recv() {
                Ok(m) => cmds.extend(app.update(m)),
                Err(_) => break,
            }
        }
        if cmds.contains(&Cmd::Quit) || app.quit {
            return Ok(0);
        }
        run_cmds(app, tx, cmds, &platform, term)?;
        draw(term, app)?;
    }
}

fn run_cmds(
    app: &mut App,
    tx: &mpsc::Sender<Msg>,
    cmds: Vec<Cmd>,
    platform: &Option<crate::source::layout::Platform>,
    term: &mut Term,
) -> Result<()> {
    for c in cmds {
        match c {
            Cmd::FilterRows { generation, job } => {
                if let Some(img) = app.image_arc() {
                    jobs::filter_rows(tx.clone(), generation, img, *job);
                }
            }
            Cmd::Load {
                generation,
                reference,
            } => jobs::load(
                tx.clone(),
                generation,
                reference,
                app.progress.clone(),
                platform.clone(),
            ),
            Cmd::ListImages => jobs::list_images(tx.clone()),
            Cmd::Analyze { generation } => {
                if let Some(img) = app.image_arc() {
                    let df = app
                        .dockerfile
                        .as_ref()
                        .and_then(|d| d.mapping.clone().map(|m| (d.df.clone(), m)));
                    jobs::analyze(tx.clone(), generation, img, df);
                }
            }
            Cmd::Preview {
                generation,
                token,
                source,
                blob,
                path,
            } => jobs::preview(tx.clone(), generation, token, source, blob, path),
            Cmd::LocalImages { generation } => jobs::local_images(tx.clone(), generation),
            Cmd::LoadDiff { generation, a, b } => {
                // The open image is A: hand it over instead of loading it again.
                let loaded_a = app
                    .image_arc()
                    .filter(|i| i.is_complete() && i.reference == a);
                jobs::load_diff(
                    tx.clone(),
                    generation,
                    a,
                    b,
                    loaded_a,
                    app.progress.clone(),
                    platform.clone(),
                )
            }
            Cmd::PreviewPair {
                generation,
                token,
                old,
                new,
            } => jobs::preview_pair(tx.clone(), generation, token, old, new),
            Cmd::Extract {
                layer,
                node,
                dest,
                overwrite,
            } => {
                if let (Some(img), Some(src)) = (app.image_arc(), app.source.clone()) {
                    jobs::extract(tx.clone(), img, src, layer, node, dest, overwrite);
                }
            }
            Cmd::Triage { generation } => {
                if let (Some(img), Some(src)) = (app.image_arc(), app.source.clone()) {
                    let mut args = crate::cli::triage::TriageArgs::for_image(&app.reference);
                    args.to = app.triage_to.clone();
                    jobs::triage(tx.clone(), generation, img, src, args, platform.clone());
                }
            }
            Cmd::Suspend => {
                restore_terminal();
                // SAFETY: raising SIGTSTP on ourselves stops the process until the shell
                // continues it; no memory is shared with a signal handler.
                unsafe {
                    libc::raise(libc::SIGTSTP);
                }
                enable_raw_mode().map_err(|e| Error::io(e.to_string()))?;
                execute!(std::io::stdout(), EnterAlternateScreen, EnableMouseCapture)
                    .map_err(|e| Error::io(e.to_string()))?;
                term.clear().map_err(|e| Error::io(e.to_string()))?;
            }
            Cmd::Quit => {}
        }
    }
    Ok(())
}
