//! Diff mode of the explorer: snapshots of the screen and key handling, on a pair of
//! synthetic images written with the fixture writer (no daemon needed).

mod tui_support;

use crossterm::event::KeyCode;
use layerlens::fixture::{Compression, FEntry, FImage, FLayer, Format, write_image};
use layerlens::source::daemon::ImageSummary;
use layerlens::tui::app::{App, Cmd, DiffLoaded, Msg, Overlay, PreviewBody, Screen};
use layerlens::tui::diff::FilesView;
use layerlens::tui::picker::PickerPurpose;
use layerlens::tui::theme::Theme;
use ratatui::{Terminal, backend::TestBackend};
use tui_support::*;

fn base() -> FLayer {
    FLayer::new(
        "ADD file:0123 in /",
        vec![
            FEntry::dir("etc"),
            FEntry::file("etc/os-release", "ID=test\n"),
            FEntry::dir("app"),
        ],
    )
}

fn image(tag: &str, deps: &str, main: &str, extra: bool) -> FImage {
    let mut layers = vec![
        base(),
        FLayer::new(
            "COPY deps.txt /app/deps.txt",
            vec![FEntry::dir("app"), FEntry::file("app/deps.txt", deps)],
        ),
        FLayer::new(
            "RUN install",
            vec![
                FEntry::dir("app"),
                FEntry::file("app/installed", format!("from {deps}")),
            ],
        ),
    ];
    if extra {
        layers.push(FLayer::new(
            "RUN echo extra > /app/extra",
            vec![FEntry::dir("app"), FEntry::file("app/extra", "extra\n")],
        ));
    }
    layers.push(FLayer::new(
        "COPY main.sh /app/main.sh",
        vec![FEntry::dir("app"), FEntry::file("app/main.sh", main)],
    ));
    FImage::new(tag, layers)
}

struct Pair {
    _dir: tempfile::TempDir,
    a: String,
    b: String,
}

fn pair(b_img: FImage) -> Pair {
    let dir = tempfile::tempdir().unwrap();
    let pa = dir.path().join("a.tar");
    let pb = dir.path().join("b.tar");
    write_image(
        &image("app:1", "flask==1\n", "echo 1\n", false),
        Format::DockerLegacy,
        Compression::None,
        &pa,
    )
    .unwrap();
    write_image(&b_img, Format::Docker25, Compression::Gzip, &pb).unwrap();
    Pair {
        a: format!("docker-archive:{}", pa.display()),
        b: format!("docker-archive:{}", pb.display()),
        _dir: dir,
    }
}

/// An app in diff mode with the diff delivered as the background job would.
fn diff_app(p: &Pair, w: u16, h: u16) -> App {
    let mut app = new_app(Theme::dark(), w, h);
    let cmds = app.open_diff(&p.a, &p.b);
    let generation = match &cmds[0] {
        Cmd::LoadDiff { generation, .. } => *generation,
        other => panic!("{other:?}"),
    };
    let load = |r: &str| {
        let src = layerlens::source::ImageSource::parse(r).unwrap();
        layerlens::source::load(&src, r, &Default::default()).unwrap()
    };
    let (a, b) = (load(&p.a), load(&p.b));
    let diff = layerlens::analysis::diff::diff(&a, &b);
    app.update(Msg::DiffReady {
        generation,
        result: Ok(Box::new(DiffLoaded {
            a: a.into(),
            b: b.into(),
            diff,
        })),
    });
    app
}

fn render(app: &App) -> String {
    let mut t = Terminal::new(TestBackend::new(app.size.width, app.size.height)).unwrap();
    t.draw(|f| layerlens::tui::view::draw(f, app)).unwrap();
    // Temp paths differ per run.
    let re = regex::Regex::new(r"docker-archive:/\S*?/([ab])\.tar").unwrap();
    re.replace_all(&t.backend().to_string(), "docker-archive:$1.tar")
        .into_owned()
}

#[test]
fn source_edit_opens_on_the_bust_point_with_its_reason_and_files() {
    let p = pair(image("app:2", "flask==1\n", "echo 2\n", false));
    let app = diff_app(&p, 160, 40);
    assert_eq!(app.screen, Screen::Diff);
    let d = app.diff.as_ref().unwrap();
    assert_eq!(d.diff.summary.bust_point, Some(3));
    // The selection starts on the bust point; its files are the edited one.
    assert_eq!(d.diff.layers[d.sel].b_index, Some(3));
    assert_eq!(
        d.files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
        vec!["/app/main.sh"]
    );
    insta::assert_snapshot!("diff_source_edit", render(&app));
}

#[test]
fn inserted_instruction_and_final_view() {
    let p = pair(image("app:3", "flask==1\n", "echo 1\n", true));
    let mut app = diff_app(&p, 160, 40);
    insta::assert_snapshot!("diff_inserted", render(&app));
    // c: the final filesystems: exactly the new file.
    ch(&mut app, 'c');
    let d = app.diff.as_ref().unwrap();
    assert_eq!(d.view, FilesView::Final);
    assert_eq!(
        d.files
            .iter()
            .map(|f| (f.mark, f.path.as_str()))
            .collect::<Vec<_>>(),
        vec![('+', "/app/extra")]
    );
    insta::assert_snapshot!("diff_inserted_final", render(&app));
}

#[test]
fn keys_move_filter_sort_and_preview_both_versions() {
    let p = pair(image("app:4", "flask==2\n", "echo 2\n", false));
    let mut app = diff_app(&p, 160, 40);
    // Bust at the deps COPY (layer 1); moving down selects the RUN and updates files.
    assert_eq!(app.diff.as_ref().unwrap().diff.summary.bust_point, Some(1));
    ch(&mut app, 'j');
    let d = app.diff.as_ref().unwrap();
    assert_eq!(d.diff.layers[d.sel].b_index, Some(2));
    assert_eq!(
        d.files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
        vec!["/app/installed"]
    );
    // Final view, filter, sort.
    ch(&mut app, 'c');
    assert_eq!(app.diff.as_ref().unwrap().files.len(), 3);
    ch(&mut app, 'f');
    keys(&mut app, "main");
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        app.diff
            .as_ref()
            .unwrap()
            .files
            .iter()
            .map(|f| f.path.as_str())
            .collect::<Vec<_>>(),
        vec!["/app/main.sh"]
    );
    esc(&mut app);
    assert_eq!(app.diff.as_ref().unwrap().files.len(), 3);
    // Preview of both versions of the selected file.
    press(&mut app, KeyCode::Tab);
    select_file(&mut app, "/app/deps.txt");
    let cmds = enter(&mut app);
    let Some(Cmd::PreviewPair {
        generation,
        token,
        old,
        new,
    }) = cmds.first().cloned()
    else {
        panic!("{cmds:?}")
    };
    assert_eq!(old.as_ref().unwrap().2, b"app/deps.txt".to_vec());
    assert!(new.is_some());
    app.update(Msg::PreviewPair {
        generation,
        token,
        old: Some(Ok(b"flask==1\n".to_vec())),
        new: Some(Ok(b"flask==2\n".to_vec())),
    });
    assert!(
        matches!(&app.overlay, Some(Overlay::Preview(p)) if matches!(p.body, PreviewBody::Pair { .. }))
    );
    insta::assert_snapshot!("diff_preview_pair", render(&app));
    esc(&mut app);
    assert!(app.overlay.is_none());
}

fn select_file(app: &mut App, path: &str) {
    for _ in 0..50 {
        let d = app.diff.as_ref().unwrap();
        if d.files.get(d.file_sel).is_some_and(|f| f.path == path) {
            return;
        }
        ch(app, 'j');
    }
    panic!("{path} not in the files pane");
}

#[test]
fn the_picker_lists_other_tags_of_the_same_repository_first() {
    let mut app = sample_app();
    app.daemon = true;
    let cmds = ch(&mut app, 'd');
    assert_eq!(cmds, vec![Cmd::ListImages]);
    assert_eq!(app.picker.purpose, PickerPurpose::DiffAgainst);
    let img = |tag: &str, id: &str, created: i64| ImageSummary {
        id: format!("sha256:{id}"),
        repo_tags: vec![tag.to_string()],
        created,
        ..Default::default()
    };
    let this_id = app.image().unwrap().id.clone();
    app.update(Msg::Images(Ok(vec![
        img("other/thing:9", "aaa", 300),
        img("layerlens/sample-app:0.9", "bbb", 100),
        img("zzz:1", "ccc", 200),
        ImageSummary {
            id: this_id,
            repo_tags: vec!["layerlens/sample-app:1.0".into()],
            created: 400,
            ..Default::default()
        },
    ])));
    let shown: Vec<String> = app
        .picker
        .visible()
        .iter()
        .map(|i| i.repo_tags[0].clone())
        .collect();
    assert_eq!(
        shown,
        vec!["layerlens/sample-app:0.9", "other/thing:9", "zzz:1"],
        "same repository first; the open image left out"
    );
    let cmds = press(&mut app, KeyCode::Enter);
    assert!(
        matches!(&cmds[0], Cmd::LoadDiff { a, b, .. } if a == SAMPLE && b == "layerlens/sample-app:0.9"),
        "{cmds:?}"
    );
    assert_eq!(app.screen, Screen::Diff);
}

#[test]
fn diff_load_errors_are_shown_and_stale_results_dropped() {
    let mut app = new_app(Theme::dark(), 100, 30);
    let cmds = app.open_diff(
        "docker-archive:/nonexistent/a.tar",
        "docker-archive:/nonexistent/b.tar",
    );
    let Cmd::LoadDiff { generation, .. } = cmds[0].clone() else {
        panic!()
    };
    app.update(Msg::DiffReady {
        generation: generation + 7,
        result: Err(layerlens::error::Error::io("stale")),
    });
    assert!(app.load_error.is_none(), "a stale result was applied");
    app.update(Msg::DiffReady {
        generation,
        result: Err(layerlens::error::Error::io("loading a: no such file")),
    });
    assert!(render(&app).contains("no such file"));
}

/// A changed instruction whose difference lies past the column width must not read
/// "(same)" in the B column (issue: `diff app:v1 :v3` showed `4 (same)` for a changed
/// RUN line while the Why pane said the instruction changed).
#[test]
fn changed_instruction_past_the_column_width_is_not_same() {
    let long = "RUN apt-get install -y --no-install-recommends build-essential curl git ca-certificates && make -j4 && make install PREFIX=/usr/local VERSION=";
    let img = |tag: &str, v: &str| {
        FImage::new(
            tag,
            vec![
                base(),
                FLayer::new(
                    &format!("{long}{v}"),
                    vec![FEntry::dir("app"), FEntry::file("app/v", v)],
                ),
            ],
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let (pa, pb) = (dir.path().join("a.tar"), dir.path().join("b.tar"));
    write_image(
        &img("app:1", "1"),
        Format::DockerLegacy,
        Compression::None,
        &pa,
    )
    .unwrap();
    write_image(
        &img("app:2", "2"),
        Format::DockerLegacy,
        Compression::None,
        &pb,
    )
    .unwrap();
    let p = Pair {
        a: format!("docker-archive:{}", pa.display()),
        b: format!("docker-archive:{}", pb.display()),
        _dir: dir,
    };
    let app = diff_app(&p, 160, 40);
    let d = app.diff.as_ref().unwrap();
    assert_eq!(d.diff.summary.bust_point, Some(1));
    let screen = render(&app);
    let bust_row = screen
        .lines()
        .find(|l| l.contains("bust"))
        .unwrap_or_else(|| panic!("no bust row:\n{screen}"));
    assert!(!bust_row.contains("(same)"), "{screen}");
    assert!(bust_row.matches("RUN apt-get").count() == 2, "{bust_row}");
}

#[test]
fn help_footer_and_esc_describe_the_diff_screen() {
    use crossterm::event::{KeyEvent, KeyModifiers};
    let p = pair(image("app:2", "flask==1\n", "echo 2\n", false));
    let mut app = diff_app(&p, 160, 40);
    let key = |app: &mut App, c: char| {
        app.update(Msg::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )))
    };
    // A standalone diff has no explorer to go back to: the footer does not offer it and
    // Esc stays in the diff.
    let s = render(&app);
    let footer = s.lines().nth(39).unwrap().to_string();
    assert!(!footer.contains("back"), "{footer}");
    assert!(
        footer.contains("both versions") && footer.contains("pair/final"),
        "{footer}"
    );
    esc(&mut app);
    assert_eq!(app.screen, Screen::Diff);
    // `?` shows the diff's keys, not the explorer's.
    key(&mut app, '?');
    let s = render(&app);
    assert!(s.contains("Help: diff"), "{s}");
    assert!(s.contains("files between the selected layer pair"), "{s}");
    assert!(!s.contains("Layers and file tree"), "{s}");
    assert!(!s.contains("extract the file"), "{s}");
    esc(&mut app);
    assert!(app.overlay.is_none());
    // A diff opened from the explorer: Esc goes back there, and the footer says so.
    let mut app = new_app(Theme::dark(), 160, 40);
    let g = match app.open(&p.a).remove(0) {
        Cmd::Load { generation, .. } => generation,
        other => panic!("{other:?}"),
    };
    tui_support::feed(&mut app, g, &tui_support::load_events(&p.a));
    assert!(app.image().is_some());
    let cmds = app.open_diff(&p.a, &p.b);
    let generation = match &cmds[0] {
        Cmd::LoadDiff { generation, .. } => *generation,
        other => panic!("{other:?}"),
    };
    let load = |r: &str| {
        let src = layerlens::source::ImageSource::parse(r).unwrap();
        std::sync::Arc::new(layerlens::source::load(&src, r, &Default::default()).unwrap())
    };
    let (a, b) = (load(&p.a), load(&p.b));
    let diff = layerlens::analysis::diff::diff(&a, &b);
    app.update(Msg::DiffReady {
        generation,
        result: Ok(Box::new(DiffLoaded { a, b, diff })),
    });
    let s = render(&app);
    assert!(s.lines().nth(39).unwrap().contains("Esc back"), "{s}");
    esc(&mut app);
    assert_eq!(app.screen, Screen::Explorer);
}
