//! Snapshots of the explorer's screens: `view::draw` rendered into ratatui's
//! `TestBackend`, one per pane and state. Review changes with `cargo insta review` (or
//! `INSTA_UPDATE=always cargo test --release --test tui_snapshots` and `git diff`);
//! CI never writes snapshots (insta's default when `CI` is set).
//!
//! The only non-deterministic text on screen is the elapsed time of a load and the
//! path of the user's config file in the help; both are normalised below.

mod tui_support;

use crossterm::event::KeyCode;
use layerlens::fixture::{Compression, FEntry, FImage, FLayer, Format, write_image};
use layerlens::source::daemon::ImageSummary;
use layerlens::source::{ImageSource, read};
use layerlens::tui::app::{App, LoadMsg, Msg, Screen};
use layerlens::tui::theme::Theme;
use layerlens::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::{Color, Modifier};
use tui_support::*;

fn terminal(app: &App) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(app.size.width, app.size.height)).unwrap();
    t.draw(|f| view::draw(f, app)).unwrap();
    t
}

/// The screen as text, with the load timer and the config path made deterministic
/// (same width, so nothing else moves).
fn render(app: &App) -> String {
    normalise(&terminal(app).backend().to_string())
}

fn normalise(s: &str) -> String {
    let timer = regex::Regex::new(r"\(\d+\.\d s\)").unwrap();
    let s = timer.replace_all(s, |c: &regex::Captures| {
        let m = &c[0];
        m.chars()
            .map(|ch| if ch.is_ascii_digit() { '#' } else { ch })
            .collect::<String>()
    });
    let marker = "Keys and theme can be changed in ";
    s.lines()
        .map(|line| match line.find(marker) {
            Some(start) => {
                // Up to the box's right border (or the end of the line).
                let rest = &line[start..];
                let end = rest.find('│').unwrap_or(rest.trim_end_matches('"').len());
                let width = rest[..end].chars().count();
                let fixed = format!("{marker}$CONFIG (defaults: assets/config.toml).");
                let mut fixed: String = fixed.chars().take(width).collect();
                while fixed.chars().count() < width {
                    fixed.push(' ');
                }
                format!("{}{}{}", &line[..start], fixed, &rest[end..])
            }
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn sample_sized(w: u16, h: u16) -> App {
    loaded_with(Theme::dark(), w, h, SAMPLE, sample_events())
}

/// Write `img` as a docker-save archive in a temp dir and load it into an app.
fn fixture_app(img: &FImage, w: u16, h: u16) -> (App, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("image.tar");
    write_image(img, Format::DockerLegacy, Compression::None, &path).unwrap();
    let reference = format!("docker-archive:{}", path.display());
    let ev = load_events(&reference);
    (loaded_with(Theme::dark(), w, h, &reference, &ev), dir)
}

fn preview_bytes(app: &App, layer: usize, path: &str) -> Vec<u8> {
    let src = ImageSource::parse(SAMPLE).unwrap();
    let blob = app.image().unwrap().layers[layer].blob.clone();
    read::read_head(
        &src,
        &blob,
        path.as_bytes(),
        layerlens::tui::jobs::PREVIEW_LIMIT,
    )
    .unwrap()
}

#[test]
fn loading() {
    let mut app = new_app(Theme::dark(), W, H);
    open(&mut app, SAMPLE);
    insta::assert_snapshot!("loading", render(&app));
}

#[test]
fn loading_layers() {
    // Metadata known, two of five layers parsed, layer 4 selected.
    let ev = sample_events();
    let mut app = new_app(Theme::dark(), W, H);
    let g = open(&mut app, SAMPLE);
    app.update(Msg::Load {
        generation: g,
        event: LoadMsg::Meta(Box::new(ev.meta.clone())),
    });
    for (i, c) in ev.layers.iter().filter(|(i, _)| *i < 2) {
        app.update(Msg::Load {
            generation: g,
            event: LoadMsg::Layer(*i, c.clone()),
        });
    }
    ch(&mut app, 'G');
    insta::assert_snapshot!("loading_layers", render(&app));
}

#[test]
fn loaded() {
    let app = sample_app();
    insta::assert_snapshot!("loaded", render(&app));
}

#[test]
fn layer_details_long_run() {
    let mut app = sample_app();
    keys(&mut app, "jj"); // layer 1: apt-get update && apt-get install ... && echo done
    insta::assert_snapshot!("layer_details_run", render(&app));
}

#[test]
fn layer_details_instruction_without_layer() {
    let mut app = sample_app();
    ch(&mut app, 'G'); // CMD ["/app/bin/start.sh"]: shows layer 4's files
    insta::assert_snapshot!("layer_details_no_layer", render(&app));
}

#[test]
fn layer_details_very_long_command_and_names() {
    let long_name = format!("usr/share/{}.conf", "very-long-file-name".repeat(6));
    let img = FImage::new(
        "layerlens-test/long:1",
        vec![
            FLayer::new(
                "/bin/sh -c #(nop) ADD file:0123 in / ",
                vec![
                    FEntry::dir("usr"),
                    FEntry::dir("usr/share"),
                    FEntry::file(&long_name, "x"),
                    FEntry::symlink(
                        "usr/share/link",
                        "/a/rather/long/symlink/target/that/goes/on/and/on/and/on/for/quite/a/while/until/it/ends.txt",
                    ),
                ],
            ),
            FLayer::new(
                "/bin/sh -c set -eux; apt-get update; apt-get install -y --no-install-recommends ca-certificates curl gnupg2 dirmngr libssl-dev zlib1g-dev && curl -fsSL https://example.com/some/really/long/url/that/does/not/contain/any/separators/at/all/and/keeps/going/release.tar.gz | tar -xz -C /opt || echo 'download failed; continuing' && rm -rf /var/lib/apt/lists/*",
                vec![
                    FEntry::dir("opt"),
                    FEntry::file("opt/tool", vec![7u8; 5000]),
                ],
            ),
        ],
    );
    let (mut app, _dir) = fixture_app(&img, W, H);
    keys(&mut app, "j");
    insta::assert_snapshot!("layer_details_very_long", render(&app));
    ch(&mut app, 'k');
    press(&mut app, KeyCode::Tab);
    insta::assert_snapshot!("tree_long_names", render(&app));
}

#[test]
fn changes_only() {
    let mut app = sample_app();
    ch(&mut app, 'G');
    ch(&mut app, 'c');
    insta::assert_snapshot!("changes_only", render(&app));
}

#[test]
fn hidden_kinds_and_name_sort() {
    let mut app = sample_app();
    ch(&mut app, 'G');
    keys(&mut app, "4s");
    insta::assert_snapshot!("hidden_unchanged_by_name", render(&app));
}

#[test]
fn filter_while_typing() {
    let mut app = sample_app();
    ch(&mut app, 'G');
    ch(&mut app, 'f');
    keys(&mut app, "site");
    insta::assert_snapshot!("filter_typing", render(&app));
}

#[test]
fn filter_kept() {
    let mut app = sample_app();
    ch(&mut app, 'G');
    ch(&mut app, 'f');
    keys(&mut app, "/\\.(py|sh)$/");
    enter(&mut app);
    insta::assert_snapshot!("filter_regex_kept", render(&app));
}

#[test]
fn filter_matching_nothing() {
    let mut app = sample_app();
    ch(&mut app, 'f');
    keys(&mut app, "zzz");
    enter(&mut app);
    insta::assert_snapshot!("filter_nothing", render(&app));
}

#[test]
fn search_result() {
    let mut app = sample_app();
    ch(&mut app, 'G');
    ch(&mut app, '[');
    ch(&mut app, '/');
    keys(&mut app, "urllib3");
    enter(&mut app);
    insta::assert_snapshot!("search_result", render(&app));
}

#[test]
fn search_prompt() {
    let mut app = sample_app();
    ch(&mut app, '/');
    keys(&mut app, "json");
    insta::assert_snapshot!("search_prompt", render(&app));
}

#[test]
fn preview_text() {
    let mut app = sample_app();
    ch(&mut app, 'G');
    press(&mut app, KeyCode::Tab);
    select_path(&mut app, "/app/app.py");
    let g = app.generation;
    enter(&mut app);
    insta::assert_snapshot!("preview_loading", render(&app));
    let bytes = preview_bytes(&app, 2, "app/app.py");
    app.update(Msg::Preview {
        generation: g,
        token: app.preview_token,
        result: Ok(bytes),
    });
    insta::assert_snapshot!("preview_text", render(&app));
}

#[test]
fn preview_binary() {
    let mut app = sample_app();
    press(&mut app, KeyCode::Tab);
    select_path(&mut app, "/bin/sh"); // a hardlink to busybox
    let g = app.generation;
    enter(&mut app);
    let bytes = preview_bytes(&app, 0, "bin/busybox");
    app.update(Msg::Preview {
        generation: g,
        token: app.preview_token,
        result: Ok(bytes),
    });
    insta::assert_snapshot!("preview_binary", render(&app));
}

#[test]
fn preview_of_a_symlink_and_an_error() {
    let mut app = sample_app();
    press(&mut app, KeyCode::Tab);
    select_path(&mut app, "/lib/ld-linux-x86-64.so.2");
    enter(&mut app);
    insta::assert_snapshot!("preview_symlink", render(&app));
    esc(&mut app);
    select_path(&mut app, "/etc/passwd");
    let g = app.generation;
    enter(&mut app);
    app.update(Msg::Preview {
        generation: g,
        token: app.preview_token,
        result: Err(layerlens::error::Error::corrupt(
            "layer sha256:b537e03b6bb0: unexpected end of file",
        )),
    });
    insta::assert_snapshot!("preview_error", render(&app));
}

#[test]
fn extract_prompt_and_confirmation() {
    let mut app = sample_app();
    press(&mut app, KeyCode::Tab);
    select_path(&mut app, "/etc/passwd");
    ch(&mut app, 'x');
    insta::assert_snapshot!("extract_prompt", render(&app));
    // A destination that exists: the package root's Cargo.toml.
    app.update(Msg::Key(crossterm::event::KeyEvent::new(
        KeyCode::Char('u'),
        crossterm::event::KeyModifiers::CONTROL,
    )));
    keys(&mut app, "Cargo.toml");
    enter(&mut app);
    insta::assert_snapshot!("extract_confirm", render(&app));
}

#[test]
fn help_overlay() {
    let mut app = sample_app();
    ch(&mut app, '?');
    insta::assert_snapshot!("help", render(&app));
}

#[test]
fn help_overlay_small() {
    let mut app = sample_sized(80, 24);
    ch(&mut app, '?');
    insta::assert_snapshot!("help_80x24", render(&app));
    ch(&mut app, 'G');
    insta::assert_snapshot!("help_80x24_end", render(&app));
}

fn summaries() -> Vec<ImageSummary> {
    let s = |tag: Option<&str>, id: &str, size: u64, created: i64, layers: Option<usize>| {
        ImageSummary {
            id: format!("sha256:{id}{}", "0".repeat(64 - id.len())),
            repo_tags: tag.map(|t| vec![t.to_string()]).unwrap_or_default(),
            size,
            created,
            layer_count: layers,
            ..Default::default()
        }
    };
    vec![
        s(
            Some("app/web:1.4.2"),
            "3f2a9c81d4e7",
            187_654_321,
            1_767_225_600,
            Some(12),
        ),
        s(
            Some("app/worker:1.4.2"),
            "9b1d0e22aa51",
            201_000_000,
            1_767_139_200,
            Some(13),
        ),
        s(
            Some("alpine:3.20"),
            "c157a85ed455",
            7_800_000,
            1_717_000_000,
            Some(1),
        ),
        s(
            Some(
                "registry.example.com/team/a-service-with-a-very-long-name/api:2024-11-23-build-4711",
            ),
            "55aa00ff1234",
            1_234_567_890,
            1_732_330_000,
            None,
        ),
        s(None, "deadbeef0001", 5_000, 0, Some(2)),
    ]
}

#[test]
fn picker() {
    let mut app = new_app(Theme::dark(), W, H);
    app.daemon = true;
    app.screen = Screen::Picker;
    app.picker.loading = true;
    insta::assert_snapshot!("picker_loading", render(&app));
    app.update(Msg::Images(Ok(summaries())));
    insta::assert_snapshot!("picker", render(&app));
    keys(&mut app, "app/");
    press(&mut app, KeyCode::Down);
    insta::assert_snapshot!("picker_filtered", render(&app));
    keys(&mut app, "zzz");
    insta::assert_snapshot!("picker_no_match", render(&app));
}

#[test]
fn picker_small_and_error() {
    let mut app = new_app(Theme::dark(), 60, 15);
    app.daemon = true;
    app.screen = Screen::Picker;
    app.update(Msg::Images(Ok(summaries())));
    insta::assert_snapshot!("picker_60x15", render(&app));
    app.update(Msg::Images(Err(layerlens::error::Error::new(
        layerlens::error::ErrorKind::PermissionDenied,
        "permission denied on /var/run/docker.sock: add yourself to the docker group (then log in again) or run with sudo",
    ))));
    insta::assert_snapshot!("picker_error", render(&app));
}

#[test]
fn error_state() {
    let mut app = new_app(Theme::dark(), W, H);
    let g = open(&mut app, "docker-archive:images/missing.tar");
    app.update(Msg::Load {
        generation: g,
        event: LoadMsg::Done(Err(layerlens::error::Error::io(
            "images/missing.tar: no such file or directory",
        ))),
    });
    insta::assert_snapshot!("error", render(&app));
}

#[test]
fn error_state_long_message() {
    let mut app = new_app(Theme::dark(), 80, 24);
    let g = open(
        &mut app,
        "docker://registry.example.com/team/service:latest",
    );
    app.update(Msg::Load {
        generation: g,
        event: LoadMsg::Done(Err(layerlens::error::Error::not_found(
            "image registry.example.com/team/service:latest is not in the Docker daemon (pull it first: docker pull registry.example.com/team/service:latest), or give an archive path",
        ))),
    });
    insta::assert_snapshot!("error_long_80x24", render(&app));
}

#[test]
fn empty_image_without_layers() {
    let img = FImage::new("layerlens-test/empty:1", vec![]);
    let (app, _dir) = fixture_app(&img, W, H);
    insta::assert_snapshot!("empty_no_layers", render(&app));
}

#[test]
fn empty_layer() {
    let img = FImage::new(
        "layerlens-test/empty-layer:1",
        vec![
            FLayer::new("/bin/sh -c #(nop) ADD empty.tar / ", vec![]),
            FLayer::new(
                "/bin/sh -c #(nop) COPY file:1 in /a ",
                vec![FEntry::file("a", "A\n")],
            ),
        ],
    );
    let (mut app, _dir) = fixture_app(&img, W, H);
    insta::assert_snapshot!("empty_layer_merged", render(&app));
    ch(&mut app, 'c');
    insta::assert_snapshot!("empty_layer_changes", render(&app));
}

#[test]
fn small_terminal() {
    let mut app = sample_sized(60, 15);
    insta::assert_snapshot!("small_60x15_layers", render(&app));
    press(&mut app, KeyCode::Tab);
    insta::assert_snapshot!("small_60x15_tree", render(&app));
    press(&mut app, KeyCode::Enter);
    insta::assert_snapshot!("small_60x15_preview", render(&app));
}

#[test]
fn medium_terminal() {
    let app = sample_sized(100, 24);
    insta::assert_snapshot!("medium_100x24", render(&app));
}

#[test]
fn tiny_terminal() {
    let app = sample_sized(20, 5);
    insta::assert_snapshot!("tiny_20x5", render(&app));
    let app = sample_sized(19, 4);
    insta::assert_snapshot!("tiny_19x4", render(&app));
}

#[test]
fn mono_theme() {
    let mut app = loaded_with(Theme::mono(), W, H, SAMPLE, sample_events());
    ch(&mut app, 'G');
    press(&mut app, KeyCode::Tab);
    keys(&mut app, "jj");
    let t = terminal(&app);
    insta::assert_snapshot!("mono", normalise(&t.backend().to_string()));
    let buf = t.backend().buffer();
    // No colour anywhere.
    for (i, c) in buf.content().iter().enumerate() {
        assert!(
            c.fg == Color::Reset && c.bg == Color::Reset,
            "cell {i} ({:?}) is coloured: fg {:?} bg {:?}",
            c.symbol(),
            c.fg,
            c.bg
        );
    }
    // The selections are visible without colour: the tree's (focused) reversed, the
    // layers' (unfocused) underlined.
    let a = app.areas();
    let row_mods = |y: u16, x0: u16, x1: u16| -> Modifier {
        (x0..x1).fold(Modifier::empty(), |m, x| m | buf[(x, y)].modifier)
    };
    let tree_y = a.tree.y + 2 + (app.files.sel - app.files.offset) as u16;
    assert!(
        row_mods(tree_y, a.tree.x + 1, a.tree.x + a.tree.width - 1).contains(Modifier::REVERSED)
    );
    let layer_y = a.layers.y + 1 + (app.layers.sel - app.layers.offset) as u16;
    assert!(
        row_mods(layer_y, a.layers.x + 1, a.layers.x + a.layers.width - 1)
            .contains(Modifier::UNDERLINED)
    );
}
