//! Explorer state tests: key sequences driven through `App::update` with the bundled
//! sample loaded synchronously (no terminal, no threads).
//!
//! The sample (examples/make_sample.rs) has 5 layers and 10 history rows:
//!   row 0 layer 0 ADD, row 1 CMD, row 2 layer 1 apt-get, row 3 WORKDIR, row 4 layer 2 COPY,
//!   row 5 layer 3 pip, row 6 layer 4 rm/chmod, rows 7..9 ENV/EXPOSE/CMD.

mod tui_support;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use layerlens::error::Error;
use layerlens::model::Change;
use layerlens::report::files;
use layerlens::source::{self, ImageSource, LoadOptions};
use layerlens::tui::app::{self, Cmd, InputKind, LoadMsg, Msg, Overlay, Pane, PreviewBody, Screen};
use layerlens::tui::theme::Theme;
use layerlens::tui::treeview::{Mode, Sort};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::collections::BTreeSet;
use tui_support::*;

fn top_level(app: &layerlens::tui::app::App) -> Vec<String> {
    let tree = &app.image().unwrap().tree;
    app.files
        .rows
        .iter()
        .filter(|r| r.depth == 0)
        .map(|r| tree.display_path(r.node))
        .collect()
}

fn status_text(app: &layerlens::tui::app::App) -> String {
    app.status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default()
}

fn screen_text(app: &layerlens::tui::app::App) -> String {
    let mut t = Terminal::new(TestBackend::new(app.size.width, app.size.height)).unwrap();
    t.draw(|f| layerlens::tui::view::draw(f, app)).unwrap();
    t.backend().to_string()
}

#[test]
fn layer_navigation_moves_the_selection_and_the_rows() {
    let mut app = sample_app();
    assert_eq!(app.layers.rows.len(), 10);
    assert_eq!((app.layers.sel, app.selected_layer()), (0, Some(0)));
    let at0 = row_paths(&app);
    assert!(at0.contains(&"/bin/busybox".to_string()), "{at0:?}");
    assert!(!at0.contains(&"/usr/bin/gcc".to_string()));

    // k at the top stays there.
    ch(&mut app, 'k');
    assert_eq!(app.layers.sel, 0);
    // Row 1 is `CMD ["sh"]`: no layer of its own, still layer 0's filesystem.
    ch(&mut app, 'j');
    assert_eq!((app.layers.sel, app.selected_layer()), (1, Some(0)));
    assert_eq!(row_paths(&app), at0);
    ch(&mut app, 'j');
    assert_eq!((app.layers.sel, app.selected_layer()), (2, Some(1)));
    let at1 = row_paths(&app);
    assert!(at1.contains(&"/usr/bin/gcc".to_string()), "{at1:?}");
    ch(&mut app, 'k');
    assert_eq!((app.layers.sel, app.selected_layer()), (1, Some(0)));
    assert_eq!(row_paths(&app), at0);
    press(&mut app, KeyCode::Down);
    assert_eq!(app.selected_layer(), Some(1));

    ch(&mut app, 'G');
    assert_eq!((app.layers.sel, app.selected_layer()), (9, Some(4)));
    let img = app.image().unwrap();
    let tree = &img.tree;
    let cache = app
        .files
        .rows
        .iter()
        .find(|r| tree.display_path(r.node) == "/root/.cache")
        .expect("/root/.cache shown (removed) at layer 4");
    assert_eq!(cache.change, Change::Removed);
    assert!(row_paths(&app).contains(&"/app/app.py".to_string()));

    ch(&mut app, 'g');
    assert_eq!((app.layers.sel, app.selected_layer()), (0, Some(0)));
    assert_eq!(row_paths(&app), at0);
    // 10 rows fit the layers pane: a page goes to the end and back.
    press(&mut app, KeyCode::PageDown);
    assert_eq!((app.layers.sel, app.selected_layer()), (9, Some(4)));
    press(&mut app, KeyCode::PageUp);
    assert_eq!(app.layers.sel, 0);
    press(&mut app, KeyCode::End);
    assert_eq!(app.layers.sel, 9);
    press(&mut app, KeyCode::Home);
    assert_eq!(app.layers.sel, 0);
}

#[test]
fn page_down_in_a_short_layers_pane_moves_by_a_page() {
    // 100x24: full layout, layers pane 45 % of 22 rows -> 9 rows, 7 inside the border.
    let mut app = loaded_with(Theme::dark(), 100, 24, SAMPLE, sample_events());
    let inner = app::areas(app.size).layers.height as usize - 2;
    press(&mut app, KeyCode::PageDown);
    assert_eq!(app.layers.sel, inner.min(9));
    assert!(app.layers.offset > 0 || inner >= 9);
    assert!(
        app.layers.sel >= app.layers.offset && app.layers.sel < app.layers.offset + inner,
        "selection {} scrolled out of view (offset {}, page {inner})",
        app.layers.sel,
        app.layers.offset
    );
}

#[test]
fn tab_switches_focus_and_keys_follow_it() {
    let mut app = sample_app();
    assert_eq!(app.focus, Pane::Layers);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Pane::Tree);
    // j now moves in the tree, not between layers.
    ch(&mut app, 'j');
    ch(&mut app, 'j');
    assert_eq!((app.files.sel, app.layers.sel), (2, 0));
    ch(&mut app, 'k');
    assert_eq!(app.files.sel, 1);
    ch(&mut app, 'G');
    assert_eq!(app.files.sel, app.files.rows.len() - 1);
    let page = app::areas(app.size).tree.height as usize - 3;
    assert!(
        app.files.sel >= app.files.offset && app.files.sel < app.files.offset + page,
        "last row must be scrolled into view"
    );
    ch(&mut app, 'g');
    assert_eq!((app.files.sel, app.files.offset), (0, 0));
    app.update(Msg::Key(KeyEvent::new(
        KeyCode::BackTab,
        KeyModifiers::SHIFT,
    )));
    assert_eq!(app.focus, Pane::Layers);
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Pane::Layers);
}

#[test]
fn changes_only_shows_changed_paths_and_their_parents() {
    let mut app = sample_app();
    ch(&mut app, 'G');
    assert_eq!(app.selected_layer(), Some(4));
    let merged = row_paths(&app);
    ch(&mut app, 'c');
    assert_eq!(app.files.view.mode, Mode::Changes);
    let img = app.image().unwrap();
    let tree = &img.tree;
    let changed: BTreeSet<String> = files::changes(img, 4, false)
        .into_iter()
        .map(|r| r.path)
        .collect();
    assert!(changed.contains("/app/bin/start.sh"));
    assert!(changed.contains("/root/.cache"));
    let shown: BTreeSet<String> = row_paths(&app).into_iter().collect();
    // Every change is shown ...
    for p in &changed {
        assert!(
            shown.contains(p),
            "{p} changed in layer 4 but not shown: {shown:?}"
        );
    }
    // ... and everything else shown is an ancestor of a change (context) or a path the
    // layer wrote again unchanged.
    let rewritten: BTreeSet<String> = files::changes(img, 4, true)
        .into_iter()
        .map(|r| r.path)
        .collect();
    for r in &app.files.rows {
        let p = tree.display_path(r.node);
        if changed.contains(&p) {
            assert!(!r.context, "{p} is a change, shown as context");
            continue;
        }
        let is_ancestor = changed.iter().any(|c| c.starts_with(&format!("{p}/")));
        assert!(
            is_ancestor || rewritten.contains(&p),
            "{p} shown in changes-only mode but neither changed nor a parent of a change"
        );
    }
    assert!(!shown.contains("/bin/busybox"));
    assert!(!shown.contains("/app/app.py"));
    assert!(shown.len() < merged.len());
    // Back to the merged tree.
    ch(&mut app, 'c');
    assert_eq!(app.files.view.mode, Mode::Merged);
    assert_eq!(row_paths(&app), merged);
}

#[test]
fn changes_only_on_a_row_without_layer_shows_the_layer_below() {
    // Row 3 (WORKDIR) shows layer 1's filesystem; changes-only lists layer 1's changes.
    let mut app = sample_app();
    keys(&mut app, "jjj");
    assert_eq!(app.selected_layer(), Some(1));
    ch(&mut app, 'c');
    let shown = row_paths(&app);
    assert!(shown.contains(&"/usr/bin/gcc".to_string()), "{shown:?}");
    assert!(!shown.contains(&"/bin/busybox".to_string()), "{shown:?}");
}

#[test]
fn sort_toggles_between_size_and_name() {
    let mut app = sample_app();
    assert_eq!(app.files.view.sort, Sort::Size);
    // Layer 0 by size: /lib (1.2 MB) > /usr (934 KiB) > /bin (879 KiB; hardlinks count 0).
    let by_size = top_level(&app);
    assert_eq!(&by_size[..3], ["/lib", "/usr", "/bin"], "{by_size:?}");
    ch(&mut app, 's');
    assert_eq!(app.files.view.sort, Sort::Name);
    let by_name = top_level(&app);
    let mut sorted = by_name.clone();
    sorted.sort();
    assert_eq!(by_name, sorted);
    assert_eq!(
        by_name,
        [
            "/bin", "/dev", "/etc", "/lib", "/root", "/tmp", "/usr", "/var"
        ]
    );
    // Children are sorted too.
    let tree = &app.image().unwrap().tree;
    let python: Vec<String> = app
        .files
        .rows
        .iter()
        .map(|r| tree.display_path(r.node))
        .filter(|p| p.starts_with("/usr/lib/python3/"))
        .collect();
    assert_eq!(
        python.first().map(String::as_str),
        Some("/usr/lib/python3/asyncio.py")
    );
    assert_eq!(
        python.last().map(String::as_str),
        Some("/usr/lib/python3/ssl.py")
    );
    ch(&mut app, 's');
    assert_eq!(top_level(&app), by_size);
}

#[test]
fn number_keys_hide_change_kinds() {
    let mut app = sample_app();
    ch(&mut app, 'G'); // layer 4: 1 modified, 11 removed, the rest unchanged
    let all = row_paths(&app);
    let visible_changes = |app: &layerlens::tui::app::App| -> BTreeSet<Change> {
        app.files
            .rows
            .iter()
            .filter(|r| !r.context)
            .map(|r| r.change)
            .collect()
    };
    assert_eq!(
        visible_changes(&app),
        [Change::Modified, Change::Removed, Change::Unchanged]
            .into_iter()
            .collect()
    );
    ch(&mut app, '4'); // hide unchanged
    assert_eq!(app.files.view.hidden, [false, false, false, true]);
    assert_eq!(
        visible_changes(&app),
        [Change::Modified, Change::Removed].into_iter().collect()
    );
    assert!(!row_paths(&app).contains(&"/bin/busybox".to_string()));
    assert!(row_paths(&app).contains(&"/app/bin/start.sh".to_string()));
    ch(&mut app, '3'); // and removed
    assert_eq!(
        visible_changes(&app),
        [Change::Modified].into_iter().collect()
    );
    assert!(!row_paths(&app).contains(&"/root/.cache".to_string()));
    ch(&mut app, '2'); // and modified: nothing left
    assert!(app.files.rows.is_empty(), "{:?}", row_paths(&app));
    assert!(screen_text(&app).contains("nothing matches"));
    keys(&mut app, "234");
    assert_eq!(app.files.view.hidden, [false; 4]);
    assert_eq!(row_paths(&app), all);
    // Layer 0: everything was added; hiding "added" empties the view.
    ch(&mut app, 'g');
    ch(&mut app, '1');
    assert!(app.files.rows.is_empty());
    ch(&mut app, '1');
    assert!(!app.files.rows.is_empty());
}

#[test]
fn collapse_and_expand() {
    let mut app = sample_app();
    press(&mut app, KeyCode::Tab);
    let full = row_paths(&app);
    assert_eq!(selected_path(&app).as_deref(), Some("/lib"));
    assert!(full.contains(&"/lib/libc.so.6".to_string()));
    // space toggles
    ch(&mut app, ' ');
    assert!(!row_paths(&app).contains(&"/lib/libc.so.6".to_string()));
    assert!(!app.files.rows[0].expanded);
    ch(&mut app, ' ');
    assert_eq!(row_paths(&app), full);
    // h collapses, l expands; h on a file goes to its parent
    ch(&mut app, 'h');
    assert_eq!(row_paths(&app).len(), full.len() - 2);
    ch(&mut app, 'h'); // collapsed top-level dir: stays
    assert_eq!(selected_path(&app).as_deref(), Some("/lib"));
    ch(&mut app, 'l');
    assert_eq!(row_paths(&app), full);
    select_path(&mut app, "/usr/lib/python3/json.py");
    ch(&mut app, 'h');
    assert_eq!(selected_path(&app).as_deref(), Some("/usr/lib/python3"));
    press(&mut app, KeyCode::Left);
    assert!(!row_paths(&app).contains(&"/usr/lib/python3/json.py".to_string()));
    assert_eq!(selected_path(&app).as_deref(), Some("/usr/lib/python3"));
    press(&mut app, KeyCode::Right);
    assert_eq!(row_paths(&app), full);
    // l on a file does nothing
    select_path(&mut app, "/etc/passwd");
    ch(&mut app, 'l');
    assert_eq!(row_paths(&app), full);
    // [ collapses everything, ] expands everything
    ch(&mut app, '[');
    assert_eq!(
        row_paths(&app),
        [
            "/lib", "/usr", "/bin", "/etc", "/dev", "/root", "/tmp", "/var"
        ]
    );
    assert!(app.files.rows.iter().all(|r| r.is_dir && !r.expanded));
    assert!(app.files.sel < app.files.rows.len());
    // expanding one directory after [ shows only its children
    app.files.sel = 1; // /usr
    ch(&mut app, 'l');
    assert_eq!(
        row_paths(&app),
        [
            "/lib", "/usr", "/usr/bin", "/usr/lib", "/bin", "/etc", "/dev", "/root", "/tmp", "/var"
        ]
    );
    ch(&mut app, ']');
    assert_eq!(row_paths(&app), full);
}

#[test]
fn filter_is_live_and_esc_restores_the_previous_one() {
    let mut app = sample_app();
    let full = row_paths(&app);
    ch(&mut app, 'f');
    assert!(matches!(&app.input, Some(i) if i.kind == InputKind::Filter && i.text.is_empty()));
    ch(&mut app, '.');
    ch(&mut app, 'p');
    // Live: applied while typing.
    assert_eq!(
        app.files.view.filter.as_ref().map(|f| f.text.as_str()),
        Some(".p")
    );
    keys(&mut app, "y");
    let filtered = row_paths(&app);
    assert!(filtered.contains(&"/usr/lib/python3/json.py".to_string()));
    assert!(!filtered.contains(&"/bin/busybox".to_string()));
    assert!(!filtered.contains(&"/usr/bin/python3".to_string()));
    for r in app.files.rows.iter().filter(|r| !r.context) {
        let p = app.image().unwrap().tree.display_path(r.node);
        assert!(p.contains(".py"), "{p} shown for filter .py");
    }
    enter(&mut app);
    assert!(app.input.is_none());
    assert_eq!(
        app.files.view.filter.as_ref().map(|f| f.text.as_str()),
        Some(".py")
    );
    // Edit it, then cancel: the kept filter comes back.
    ch(&mut app, 'f');
    assert_eq!(app.input.as_ref().unwrap().text, ".py");
    keys(&mut app, "zz");
    assert!(app.files.rows.is_empty(), "nothing matches .pyzz");
    press(&mut app, KeyCode::Backspace);
    assert_eq!(app.input.as_ref().unwrap().text, ".pyz");
    esc(&mut app);
    assert!(app.input.is_none());
    assert_eq!(
        app.files.view.filter.as_ref().map(|f| f.text.as_str()),
        Some(".py")
    );
    assert_eq!(row_paths(&app), filtered);
    // Esc outside the prompt clears the filter.
    esc(&mut app);
    assert!(app.files.view.filter.is_none());
    assert_eq!(row_paths(&app), full);
    // Regex filters; an invalid one while typing leaves the view alone.
    ch(&mut app, 'f');
    keys(&mut app, "/so\\.");
    let before = row_paths(&app);
    keys(&mut app, "[");
    assert_eq!(row_paths(&app), before);
    press(&mut app, KeyCode::Backspace);
    keys(&mut app, "6/");
    enter(&mut app);
    let shown = row_paths(&app);
    assert!(shown.contains(&"/lib/libc.so.6".to_string()), "{shown:?}");
    assert!(!shown.contains(&"/etc/passwd".to_string()), "{shown:?}");
    // Filtering keys do not trigger actions (q must not quit while typing).
    ch(&mut app, 'f');
    let cmds = keys(&mut app, "q");
    assert!(cmds.is_empty() && !app.quit);
    esc(&mut app);
}

#[test]
fn search_jumps_to_matches_and_expands_their_parents() {
    let mut app = sample_app();
    ch(&mut app, '[');
    assert!(!row_paths(&app).contains(&"/usr/lib/python3/json.py".to_string()));
    ch(&mut app, '/');
    assert!(matches!(&app.input, Some(i) if i.kind == InputKind::Search));
    keys(&mut app, "json");
    // Search is not live: nothing moved yet.
    assert_eq!(app.focus, Pane::Layers);
    enter(&mut app);
    assert_eq!(app.focus, Pane::Tree);
    assert_eq!(
        selected_path(&app).as_deref(),
        Some("/usr/lib/python3/json.py")
    );
    let shown = row_paths(&app);
    for p in ["/usr", "/usr/lib", "/usr/lib/python3"] {
        assert!(
            shown.contains(&p.to_string()),
            "{p} not expanded: {shown:?}"
        );
    }
    // Only the ancestors were expanded.
    assert!(!shown.contains(&"/lib/libc.so.6".to_string()));
    assert!(
        status_text(&app).contains("match 1 of 1"),
        "{}",
        status_text(&app)
    );
    // The selected row is on screen.
    let page = app::areas(app.size).tree.height as usize - 3;
    assert!(app.files.sel >= app.files.offset && app.files.sel < app.files.offset + page);

    // Several matches: n / N walk them in display order and wrap around.
    ch(&mut app, 'g');
    ch(&mut app, '/');
    keys(&mut app, ".py");
    enter(&mut app);
    assert_eq!(
        selected_path(&app).as_deref(),
        Some("/usr/lib/python3/ssl.py")
    );
    assert!(
        status_text(&app).contains("match 1 of 8"),
        "{}",
        status_text(&app)
    );
    ch(&mut app, 'n');
    assert_eq!(
        selected_path(&app).as_deref(),
        Some("/usr/lib/python3/asyncio.py")
    );
    assert!(status_text(&app).contains("match 2 of 8"));
    ch(&mut app, 'N');
    assert_eq!(
        selected_path(&app).as_deref(),
        Some("/usr/lib/python3/ssl.py")
    );
    ch(&mut app, 'N');
    assert_eq!(
        selected_path(&app).as_deref(),
        Some("/usr/lib/python3/os.py")
    );
    assert!(status_text(&app).contains("match 8 of 8"));
    ch(&mut app, 'n');
    assert_eq!(
        selected_path(&app).as_deref(),
        Some("/usr/lib/python3/ssl.py")
    );

    // No match: an error in the status line, the selection stays.
    ch(&mut app, '/');
    keys(&mut app, "nosuchfile");
    enter(&mut app);
    assert_eq!(
        selected_path(&app).as_deref(),
        Some("/usr/lib/python3/ssl.py")
    );
    assert!(app.status.as_ref().is_some_and(|s| s.error));
    assert!(status_text(&app).contains("no match"));
}

#[test]
fn n_without_a_search_says_so() {
    let mut app = sample_app();
    ch(&mut app, 'n');
    assert!(
        status_text(&app).contains("press /"),
        "{}",
        status_text(&app)
    );
}

#[test]
fn enter_on_a_file_asks_for_a_preview_of_the_right_blob() {
    let mut app = sample_app();
    let generation = app.generation;
    let src = ImageSource::parse(SAMPLE).unwrap();
    let blob =
        |app: &layerlens::tui::app::App, l: usize| app.image().unwrap().layers[l].blob.clone();
    press(&mut app, KeyCode::Tab);
    select_path(&mut app, "/etc/passwd");
    let cmds = enter(&mut app);
    assert_eq!(
        cmds,
        vec![Cmd::Preview {
            generation,
            token: app.preview_token,
            source: src.clone(),
            blob: blob(&app, 0),
            path: b"etc/passwd".to_vec(),
        }]
    );
    let Some(Overlay::Preview(p)) = &app.overlay else {
        panic!("no preview overlay")
    };
    assert_eq!(p.title, "/etc/passwd");
    assert!(matches!(p.body, PreviewBody::Loading));
    // A stale result is dropped, the current one shown.
    let token = app.preview_token;
    app.update(Msg::Preview {
        generation: generation - 1,
        token,
        result: Ok(b"stale".to_vec()),
    });
    assert!(
        matches!(&app.overlay, Some(Overlay::Preview(p)) if matches!(p.body, PreviewBody::Loading))
    );
    app.update(Msg::Preview {
        generation,
        token,
        result: Ok(b"root:x:0:0\n".to_vec()),
    });
    assert!(
        matches!(&app.overlay, Some(Overlay::Preview(p)) if matches!(&p.body, PreviewBody::Data(d) if d == b"root:x:0:0\n"))
    );
    // Keys scroll the preview instead of moving the tree.
    let sel = app.files.sel;
    ch(&mut app, 'j');
    assert_eq!(app.files.sel, sel);
    assert!(matches!(&app.overlay, Some(Overlay::Preview(p)) if p.scroll == 1));
    esc(&mut app);
    assert!(app.overlay.is_none());

    // A hardlink: the content is read at its target.
    select_path(&mut app, "/bin/sh");
    let cmds = ch(&mut app, 'p');
    assert_eq!(
        cmds,
        vec![Cmd::Preview {
            generation,
            token: app.preview_token,
            source: src.clone(),
            blob: blob(&app, 0),
            path: b"bin/busybox".to_vec(),
        }]
    );
    let Some(Overlay::Preview(p)) = &app.overlay else {
        panic!("no preview overlay")
    };
    assert_eq!(p.title, "/bin/sh");
    // Enter (preview key) closes the preview too.
    enter(&mut app);
    assert!(app.overlay.is_none());

    // A directory: Enter folds it instead (no preview, no job), and unfolds it again.
    select_path(&mut app, "/etc");
    let expanded = app.files.rows[app.files.sel].expanded;
    assert!(enter(&mut app).is_empty());
    assert!(app.overlay.is_none());
    assert_eq!(app.files.rows[app.files.sel].expanded, !expanded);
    enter(&mut app);
    assert_eq!(app.files.rows[app.files.sel].expanded, expanded);

    // At layer 4 a file stored in layer 0 is read from layer 0's blob; a file modified in
    // layer 4 from layer 4's; a file removed in layer 4 from the layer that had it.
    press(&mut app, KeyCode::Tab);
    ch(&mut app, 'G');
    press(&mut app, KeyCode::Tab);
    for (path, layer) in [
        ("/etc/passwd", 0),
        ("/app/bin/start.sh", 4),
        ("/root/.cache/pip/flask.whl", 3),
    ] {
        select_path(&mut app, path);
        let cmds = enter(&mut app);
        assert_eq!(
            cmds,
            vec![Cmd::Preview {
                generation,
                token: app.preview_token,
                source: src.clone(),
                blob: blob(&app, layer),
                path: path[1..].as_bytes().to_vec(),
            }],
            "{path}"
        );
        esc(&mut app);
    }
}

#[test]
fn extract_prompt_and_overwrite_confirmation() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = sample_app();
    press(&mut app, KeyCode::Tab);
    select_path(&mut app, "/etc/passwd");
    let node = app.files.rows[app.files.sel].node;
    assert!(ch(&mut app, 'x').is_empty());
    let input = app.input.as_ref().expect("extract prompt");
    assert_eq!(input.kind, InputKind::ExtractPath);
    assert_eq!(input.text, "./passwd");
    let s = screen_text(&app);
    assert!(
        s.contains("Extract to (Enter extract, Esc cancel): ./passwd"),
        "{s}"
    );
    // Ctrl-U clears; type a destination that does not exist.
    app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )));
    assert_eq!(app.input.as_ref().unwrap().text, "");
    let dest = tmp.path().join("out-passwd");
    keys(&mut app, dest.to_str().unwrap());
    let cmds = enter(&mut app);
    assert_eq!(
        cmds,
        vec![Cmd::Extract {
            layer: 0,
            node,
            dest: dest.clone(),
            overwrite: false,
        }]
    );
    assert!(app.input.is_none());

    // An existing destination asks first; y overwrites.
    std::fs::write(&dest, b"old").unwrap();
    ch(&mut app, 'x');
    app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )));
    keys(&mut app, dest.to_str().unwrap());
    assert!(enter(&mut app).is_empty());
    assert!(matches!(&app.overlay, Some(Overlay::ConfirmOverwrite { dest: d, .. }) if *d == dest));
    assert!(screen_text(&app).contains("exists."));
    let cmds = ch(&mut app, 'y');
    assert_eq!(
        cmds,
        vec![Cmd::Extract {
            layer: 0,
            node,
            dest: dest.clone(),
            overwrite: true,
        }]
    );
    assert!(app.overlay.is_none());

    // Any other key cancels.
    ch(&mut app, 'x');
    app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )));
    keys(&mut app, dest.to_str().unwrap());
    enter(&mut app);
    assert!(ch(&mut app, 'n').is_empty());
    assert!(app.overlay.is_none());
    assert!(status_text(&app).contains("cancelled"));

    // Esc in the prompt cancels without a command; an empty destination too.
    ch(&mut app, 'x');
    assert!(esc(&mut app).is_empty());
    assert!(app.input.is_none());
    ch(&mut app, 'x');
    app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )));
    assert!(enter(&mut app).is_empty());

    // The job's result is shown.
    app.update(Msg::Extracted(Ok("extracted 1 file(s) to x".into())));
    assert_eq!(status_text(&app), "extracted 1 file(s) to x");
    app.update(Msg::Extracted(Err(Error::io("disk full"))));
    assert!(status_text(&app).contains("extract failed: disk full"));
    assert!(app.status.as_ref().unwrap().error);

    // Nothing to extract from a removed path.
    press(&mut app, KeyCode::Tab);
    ch(&mut app, 'G');
    press(&mut app, KeyCode::Tab);
    select_path(&mut app, "/root/.cache");
    assert!(ch(&mut app, 'x').is_empty());
    assert!(app.input.is_none());
    assert!(status_text(&app).contains("removed"));
}

#[test]
fn help_overlay_opens_scrolls_and_closes() {
    let mut app = sample_app();
    ch(&mut app, '?');
    assert!(matches!(app.overlay, Some(Overlay::Help { scroll: 0 })));
    assert!(screen_text(&app).contains("Help: explorer (Esc/q to close)"));
    // Keys scroll the help, they do not act on the explorer.
    ch(&mut app, 'j');
    assert!(matches!(app.overlay, Some(Overlay::Help { scroll: 1 })));
    assert_eq!(app.layers.sel, 0);
    assert!(ch(&mut app, 'c').is_empty());
    assert_eq!(app.files.view.mode, Mode::Merged);
    esc(&mut app);
    assert!(app.overlay.is_none());
    // ? closes it too; q closes it without quitting.
    ch(&mut app, '?');
    ch(&mut app, '?');
    assert!(app.overlay.is_none());
    press(&mut app, KeyCode::F(1));
    assert!(app.overlay.is_some());
    assert!(ch(&mut app, 'q').is_empty());
    assert!(app.overlay.is_none() && !app.quit);
    // And q now quits.
    assert_eq!(ch(&mut app, 'q'), vec![Cmd::Quit]);
    assert!(app.quit);
}

#[test]
fn ctrl_c_quits_from_anywhere_and_ctrl_z_suspends() {
    let mut app = sample_app();
    ch(&mut app, 'f');
    let cmds = app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('z'),
        KeyModifiers::CONTROL,
    )));
    assert_eq!(cmds, vec![Cmd::Suspend]);
    let cmds = app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    )));
    assert_eq!(cmds, vec![Cmd::Quit]);
}

#[test]
fn stale_load_messages_are_ignored() {
    let ev = sample_events();
    let mut app = new_app(Theme::dark(), W, H);
    let old = open(&mut app, SAMPLE);
    let new = open(&mut app, SAMPLE);
    assert!(new > old);
    // Everything from the first load is dropped.
    app.update(Msg::Load {
        generation: old,
        event: LoadMsg::Meta(Box::new(ev.meta.clone())),
    });
    assert!(app.image().is_none());
    assert!(app.layers.rows.is_empty());
    let cmds = app.update(Msg::Load {
        generation: old,
        event: LoadMsg::Done(Err(Error::io("old load failed"))),
    });
    assert!(cmds.is_empty());
    assert!(app.load_error.is_none());
    assert!(app.loading);
    // The current one goes through, and stale layers arriving later change nothing.
    feed(&mut app, new, ev);
    let rows = row_paths(&app);
    let (i, c) = &ev.layers[0];
    app.update(Msg::Load {
        generation: old,
        event: LoadMsg::Layer(*i, c.clone()),
    });
    app.update(Msg::Load {
        generation: old,
        event: LoadMsg::Done(Err(Error::io("late"))),
    });
    assert!(app.load_error.is_none() && !app.loading);
    assert_eq!(row_paths(&app), rows);
    assert!(app.waste.is_some());
}

#[test]
fn layers_arriving_one_by_one() {
    // While layers load, the tree of a layer not yet parsed is empty and fills in later.
    let ev = sample_events();
    let mut app = new_app(Theme::dark(), W, H);
    let g = open(&mut app, SAMPLE);
    assert!(app.loading && app.image().is_none());
    app.update(Msg::Load {
        generation: g,
        event: LoadMsg::Meta(Box::new(ev.meta.clone())),
    });
    assert_eq!(app.layers.rows.len(), 10);
    assert!(app.files.rows.is_empty());
    ch(&mut app, 'G');
    for (i, c) in &ev.layers {
        app.update(Msg::Load {
            generation: g,
            event: LoadMsg::Layer(*i, c.clone()),
        });
    }
    assert!(row_paths(&app).contains(&"/app/app.py".to_string()));
}

#[test]
fn mouse_clicks_select_layers_and_files() {
    let mut app = sample_app();
    let a = app::areas(app.size);
    assert!(!a.compact);
    // Third row inside the layers border: row 2 = layer 1 (apt-get).
    click(&mut app, a.layers.x + 5, a.layers.y + 3);
    assert_eq!((app.layers.sel, app.selected_layer()), (2, Some(1)));
    assert_eq!(app.focus, Pane::Layers);
    // Clicking the border does nothing.
    click(&mut app, a.layers.x + 5, a.layers.y);
    assert_eq!(app.layers.sel, 2);
    // Below the last layer row: nothing.
    click(&mut app, a.layers.x + 5, a.layers.y + 15);
    assert_eq!(app.layers.sel, 2);
    click(&mut app, a.layers.x + 5, a.layers.y + 1);
    assert_eq!(app.selected_layer(), Some(0));
    // Tree: border + header line, then rows.
    let full = row_paths(&app);
    click(&mut app, a.tree.x + 40, a.tree.y + 2 + 3);
    assert_eq!(app.focus, Pane::Tree);
    assert_eq!(app.files.sel, 3);
    assert_eq!(selected_path(&app), Some(full[3].clone()));
    // A second click on a selected directory folds it.
    click(&mut app, a.tree.x + 40, a.tree.y + 2);
    assert_eq!(selected_path(&app).as_deref(), Some("/lib"));
    assert_eq!(row_paths(&app), full);
    click(&mut app, a.tree.x + 40, a.tree.y + 2);
    assert!(!app.files.rows[0].expanded);
    assert_eq!(row_paths(&app).len(), full.len() - 2);
    // The header line selects nothing.
    click(&mut app, a.tree.x + 40, a.tree.y + 1);
    assert_eq!(app.files.sel, 0);
    // Clicks are ignored under an overlay.
    ch(&mut app, '?');
    click(&mut app, a.layers.x + 5, a.layers.y + 3);
    assert_eq!(app.layers.sel, 0);
}

#[test]
fn resizing_to_tiny_sizes_never_panics() {
    let mut app = sample_app();
    let sizes = [
        (0, 0),
        (1, 1),
        (3, 2),
        (10, 3),
        (19, 4),
        (20, 5),
        (40, 8),
        (59, 14),
        (60, 15),
        (99, 23),
        (100, 24),
        (160, 45),
        (300, 100),
    ];
    let script: &[KeyCode] = &[
        KeyCode::Char('G'),
        KeyCode::PageDown,
        KeyCode::Tab,
        KeyCode::PageDown,
        KeyCode::Char('j'),
        KeyCode::Char('c'),
        KeyCode::Enter,
        KeyCode::Char('j'),
        KeyCode::Esc,
        KeyCode::Char('?'),
        KeyCode::PageDown,
        KeyCode::Char('G'),
        KeyCode::Esc,
        KeyCode::Char('c'),
        KeyCode::PageUp,
        KeyCode::Tab,
    ];
    for &(w, h) in &sizes {
        app.update(Msg::Resize(w, h));
        for k in script {
            press(&mut app, *k);
            let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
            t.draw(|f| layerlens::tui::view::draw(f, &app)).unwrap();
            // A few clicks all over the screen.
            for (x, y) in [
                (0, 0),
                (w / 2, h / 2),
                (w.saturating_sub(1), h.saturating_sub(1)),
            ] {
                click(&mut app, x, y);
            }
        }
        assert!(app.files.sel < app.files.rows.len().max(1));
        assert!(app.layers.sel < app.layers.rows.len());
    }
    // Shrinking and growing back keeps the selection visible.
    app.update(Msg::Resize(160, 45));
    press(&mut app, KeyCode::Tab);
    if app.focus != Pane::Tree {
        press(&mut app, KeyCode::Tab);
    }
    ch(&mut app, 'G');
    app.update(Msg::Resize(60, 15));
    let page = app::areas(app.size).tree.height as usize - 3;
    assert!(
        app.files.sel >= app.files.offset && app.files.sel < app.files.offset + page,
        "selection {} not visible after shrinking (offset {}, page {page})",
        app.files.sel,
        app.files.offset
    );
}

#[test]
fn compact_layout_shows_the_focused_pane() {
    let mut app = loaded_with(Theme::dark(), 60, 15, SAMPLE, sample_events());
    assert!(app.areas().compact);
    let s = screen_text(&app);
    assert!(s.contains("Layers (5; 10 instructions)"), "{s}");
    // Every pane is reachable: Tab shows the image summary, then the files.
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Pane::Image);
    let s = screen_text(&app);
    assert!(s.contains("Image") && s.contains("Size"), "{s}");
    press(&mut app, KeyCode::Tab);
    let s = screen_text(&app);
    assert!(s.contains("Files at layer 0"), "{s}");
    // Shift-Tab goes back the same way.
    press(&mut app, KeyCode::BackTab);
    assert_eq!(app.focus, Pane::Image);
    press(&mut app, KeyCode::Tab);
    // Tree actions from the layers pane focus the tree in compact mode.
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Pane::Layers);
    ch(&mut app, 'c');
    assert_eq!(app.focus, Pane::Tree);
}

#[test]
fn a_load_error_is_shown() {
    let mut app = new_app(Theme::dark(), W, H);
    let reference = "docker-archive:tests/no-such-image.tar";
    let g = open(&mut app, reference);
    let src = ImageSource::parse(reference).unwrap();
    let err = source::load_with(&src, reference, &LoadOptions::default(), &mut |_| {})
        .expect_err("loading a missing archive must fail");
    let message = err.message.clone();
    let cmds = app.update(Msg::Load {
        generation: g,
        event: LoadMsg::Done(Err(err)),
    });
    assert!(cmds.is_empty());
    assert!(!app.loading);
    assert_eq!(app.load_error.as_deref(), Some(message.as_str()));
    assert!(app.status.as_ref().is_some_and(|s| s.error));
    let s = screen_text(&app);
    assert!(s.contains("Could not load the image"), "{s}");
    assert!(s.contains("no-such-image.tar"), "{s}");
    // Keys do not panic without an image.
    for c in "jkGgc s1234hl[]f/nNxpq".chars() {
        ch(&mut app, c);
    }
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Enter);
}

#[test]
fn a_load_error_after_some_layers_keeps_what_loaded() {
    let ev = sample_events();
    let mut app = new_app(Theme::dark(), W, H);
    let g = open(&mut app, SAMPLE);
    app.update(Msg::Load {
        generation: g,
        event: LoadMsg::Meta(Box::new(ev.meta.clone())),
    });
    let (i, c) = ev.layers.iter().find(|(i, _)| *i == 0).unwrap();
    app.update(Msg::Load {
        generation: g,
        event: LoadMsg::Layer(*i, c.clone()),
    });
    let cmds = app.update(Msg::Load {
        generation: g,
        event: LoadMsg::Done(Err(Error::corrupt("layer 1: unexpected end of file"))),
    });
    assert!(cmds.is_empty(), "no analysis of a partial image");
    assert!(!app.files.rows.is_empty());
    ch(&mut app, 'G');
    let s = screen_text(&app);
    assert!(s.contains("layer not loaded (the load failed)"), "{s}");
    assert!(s.contains("unexpected end of file"), "{s}");
}

#[test]
fn picker_lists_filters_and_opens() {
    use layerlens::source::daemon::ImageSummary;
    let mut app = sample_app();
    // Without a daemon, o explains.
    assert!(ch(&mut app, 'o').is_empty());
    assert!(status_text(&app).contains("no Docker daemon"));
    app.daemon = true;
    assert_eq!(ch(&mut app, 'o'), vec![Cmd::ListImages]);
    assert_eq!(app.screen, Screen::Picker);
    let img = |tag: &str, id: &str| ImageSummary {
        id: format!("sha256:{id}"),
        repo_tags: vec![tag.to_string()],
        size: 1000,
        created: 1_700_000_000,
        layer_count: Some(3),
        ..Default::default()
    };
    app.update(Msg::Images(Ok(vec![
        img("alpine:3.20", "aaaa1111"),
        img("app/web:1.0", "bbbb2222"),
        img("app/worker:1.0", "cccc3333"),
    ])));
    assert!(!app.picker.loading);
    assert_eq!(app.picker.visible().len(), 3);
    keys(&mut app, "app/");
    assert_eq!(app.picker.visible().len(), 2);
    // Picker keys are text: q filters, it does not quit.
    assert!(ch(&mut app, 'q').is_empty());
    assert!(!app.quit);
    assert!(app.picker.visible().is_empty());
    press(&mut app, KeyCode::Backspace);
    assert_eq!(app.picker.visible().len(), 2);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    assert_eq!(app.picker.selected, 1, "selection stays within the list");
    let cmds = enter(&mut app);
    assert!(matches!(&cmds[..], [Cmd::Load { reference, .. }] if reference == "app/worker:1.0"));
    assert_eq!(app.screen, Screen::Explorer);
    // An id prefix matches too.
    app.screen = Screen::Picker;
    app.picker.filter.clear();
    keys(&mut app, "cccc");
    assert_eq!(app.picker.visible().len(), 1);
    // Esc goes back to the explorer while an image is open.
    esc(&mut app);
    assert_eq!(app.screen, Screen::Explorer);
}

#[test]
fn picker_esc_quits_without_an_image() {
    let mut app = new_app(Theme::dark(), W, H);
    app.daemon = true;
    app.screen = Screen::Picker;
    app.update(Msg::Images(Err(Error::other("daemon said no"))));
    assert_eq!(app.picker.error.as_deref(), Some("daemon said no"));
    assert_eq!(esc(&mut app), vec![Cmd::Quit]);
}

// ----- extraction (the job itself) --------------------------------------------------------

/// `layerlens files IMAGE --layer N --format json`: path -> (kind, size, mode).
fn files_json(layer: usize) -> std::collections::BTreeMap<String, (String, u64, String)> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_layerlens"))
        .args([
            "files",
            "assets/sample.tar",
            "--layer",
            &layer.to_string(),
            "--format",
            "json",
        ])
        .env_remove("LAYERLENS_CONFIG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_string(),
                (
                    e["kind"].as_str().unwrap().to_string(),
                    e["size"].as_u64().unwrap(),
                    e["mode"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

#[test]
fn extract_now_writes_files_and_directories() {
    use layerlens::tui::extract::extract_now;
    use std::os::unix::fs::PermissionsExt;
    let src = ImageSource::parse(SAMPLE).unwrap();
    let img = source::load(&src, SAMPLE, &LoadOptions::default()).unwrap();
    let tree = &img.tree;
    let tmp = tempfile::tempdir().unwrap();
    let node = |p: &str| {
        tree.lookup_path(p.as_bytes())
            .unwrap_or_else(|| panic!("{p}"))
    };

    // One file: the fixture's bytes.
    let dest = tmp.path().join("passwd");
    let msg = extract_now(&img, &src, 4, node("/etc/passwd"), &dest, false).unwrap();
    assert!(msg.contains("extracted 1 file(s)"), "{msg}");
    assert_eq!(
        std::fs::read(&dest).unwrap(),
        b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n"
    );
    // It exists now: refused without overwrite, replaced with it.
    assert!(extract_now(&img, &src, 4, node("/etc/passwd"), &dest, false).is_err());
    extract_now(&img, &src, 4, node("/etc/group"), &dest, true).unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), b"root:x:0:\napp:x:1000:\n");

    // A hardlink: the content of its target.
    let sh = tmp.path().join("sh");
    extract_now(&img, &src, 0, node("/bin/sh"), &sh, false).unwrap();
    assert_eq!(std::fs::metadata(&sh).unwrap().len(), 900_000);
    assert_eq!(
        std::fs::read(&sh).unwrap(),
        std::fs::read({
            let b = tmp.path().join("busybox");
            extract_now(&img, &src, 0, node("/bin/busybox"), &b, false).unwrap();
            b
        })
        .unwrap()
    );

    // A directory at layer 4: every file under /app with the sizes `layerlens files` lists,
    // start.sh with the mode layer 4 gave it; nothing removed comes back.
    let app_dir = tmp.path().join("app");
    let msg = extract_now(&img, &src, 4, node("/app"), &app_dir, false).unwrap();
    let listed = files_json(4);
    let mut expected_files = 0;
    for (path, (kind, size, mode)) in listed.range("/app/".to_string().."/app0".to_string()) {
        let out = app_dir.join(&path["/app/".len()..]);
        let md = std::fs::symlink_metadata(&out).unwrap_or_else(|e| panic!("{path}: {e}"));
        match kind.as_str() {
            "dir" => assert!(md.is_dir(), "{path}"),
            "file" => {
                expected_files += 1;
                assert!(md.is_file(), "{path}");
                assert_eq!(md.len(), *size, "{path}");
                assert_eq!(
                    format!("{:04o}", md.permissions().mode() & 0o7777),
                    *mode,
                    "{path}"
                );
            }
            other => panic!("unexpected {other} {path}"),
        }
    }
    assert_eq!(expected_files, 7, "{listed:?}");
    assert!(
        msg.contains(&format!("extracted {expected_files} file(s)")),
        "{msg}"
    );
    assert_eq!(
        std::fs::read_to_string(app_dir.join("app.py")).unwrap(),
        "from flask import Flask\napp = Flask(__name__)\n\n@app.get('/')\ndef index():\n    return 'hello'\n"
    );
    assert_eq!(
        std::fs::metadata(app_dir.join("bin/start.sh"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o755
    );
    // Same directory at layer 2: start.sh not yet executable.
    let app2 = tmp.path().join("app2");
    extract_now(&img, &src, 2, node("/app"), &app2, false).unwrap();
    assert_eq!(
        std::fs::metadata(app2.join("bin/start.sh"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o644
    );
    // /root at layer 4: .cache was removed.
    let root = tmp.path().join("root");
    extract_now(&img, &src, 4, node("/root"), &root, false).unwrap();
    assert!(root.is_dir());
    assert!(!root.join(".cache").exists());
    // /root at layer 3 had the pip cache; sizes as listed.
    let root3 = tmp.path().join("root3");
    extract_now(&img, &src, 3, node("/root"), &root3, false).unwrap();
    let listed3 = files_json(3);
    let whl = "/root/.cache/pip/urllib3.whl";
    assert_eq!(
        std::fs::metadata(root3.join(".cache/pip/urllib3.whl"))
            .unwrap()
            .len(),
        listed3[whl].1
    );
    // A symlink is written as a symlink.
    let lib = tmp.path().join("lib");
    extract_now(&img, &src, 0, node("/lib"), &lib, false).unwrap();
    assert_eq!(
        std::fs::read_link(lib.join("ld-linux-x86-64.so.2")).unwrap(),
        std::path::PathBuf::from("libc.so.6")
    );
    assert_eq!(
        std::fs::metadata(lib.join("libc.so.6")).unwrap().len(),
        1_200_000
    );
}

// ----- known app bugs: these tests fail until the app is fixed ---------------------------

#[test]
fn bug_a_removed_directory_shows_the_size_of_what_it_held() {
    // Layer 4 removes /root/.cache (the pip wheels, 990,000 bytes). The removed files
    // show their sizes; their removed parent directories show 0 B (merged and
    // changes-only mode alike).
    let mut app = sample_app();
    ch(&mut app, 'G');
    for mode in ["merged", "changes"] {
        if mode == "changes" {
            ch(&mut app, 'c');
        }
        let tree = &app.image().unwrap().tree;
        let size_of = |p: &str| {
            app.files
                .rows
                .iter()
                .find(|r| tree.display_path(r.node) == p)
                .unwrap_or_else(|| panic!("{p} not shown"))
                .size
        };
        let wheels: u64 = app
            .files
            .rows
            .iter()
            .filter(|r| tree.display_path(r.node).starts_with("/root/.cache/pip/"))
            .map(|r| r.size)
            .sum();
        assert_eq!(wheels, 990_000, "{mode}");
        assert_eq!(
            size_of("/root/.cache/pip"),
            wheels,
            "{mode}: removed /root/.cache/pip"
        );
        assert_eq!(
            size_of("/root/.cache"),
            wheels,
            "{mode}: removed /root/.cache"
        );
    }
}

#[test]
fn bug_an_image_without_layers_is_not_shown_as_loading() {
    use layerlens::fixture::{Compression, FImage, Format, write_image};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.tar");
    let img = FImage::new("layerlens-test/empty:1", vec![]);
    write_image(&img, Format::DockerLegacy, Compression::None, &path).unwrap();
    let reference = format!("docker-archive:{}", path.display());
    let app = loaded_with(Theme::dark(), W, H, &reference, &load_events(&reference));
    assert!(!app.loading);
    let s = screen_text(&app);
    assert!(
        !s.contains("loading layer"),
        "a fully loaded image with no layers says it is loading:\n{s}"
    );
}

#[test]
fn bug_the_filter_is_shown_as_typed() {
    let mut app = sample_app();
    ch(&mut app, 'f');
    keys(&mut app, r"/\.sh$/");
    enter(&mut app);
    let s = screen_text(&app);
    assert!(
        s.contains(r"/\.sh$/") && !s.contains(r"\\."),
        "the tree title shows the filter Debug-escaped:\n{}",
        s.lines().nth(1).unwrap_or("")
    );
}

#[test]
fn bug_picker_key_hints_do_what_they_say() {
    let mut app = new_app(Theme::dark(), W, H);
    app.daemon = true;
    app.screen = Screen::Picker;
    app.update(Msg::Images(Ok(Vec::new())));
    let s = screen_text(&app);
    let status = s.lines().last().unwrap().to_string();
    if status.contains("F1 help") {
        press(&mut app, KeyCode::F(1));
        assert!(
            matches!(app.overlay, Some(Overlay::Help { .. })),
            "the picker's status line says {status:?} but F1 does nothing"
        );
        app.overlay = None;
    }
    if status.contains("q/") {
        let cmds = ch(&mut app, 'q');
        assert_eq!(
            cmds,
            vec![Cmd::Quit],
            "the picker's status line says {status:?} but q is typed into the filter ({:?})",
            app.picker.filter
        );
    }
}

#[test]
fn bug_a_long_load_error_keeps_the_key_hints_visible() {
    let mut app = new_app(Theme::dark(), 80, 24);
    app.daemon = true;
    let g = open(
        &mut app,
        "docker://registry.example.com/team/service:latest",
    );
    app.update(Msg::Load {
        generation: g,
        event: LoadMsg::Done(Err(Error::not_found(
            "image registry.example.com/team/service:latest is not in the Docker daemon (pull it first: docker pull registry.example.com/team/service:latest), or give an archive path",
        ))),
    });
    let s = screen_text(&app);
    assert!(
        s.contains("pick another image") && s.contains("quit"),
        "the error box cuts off its key hints when the message wraps:\n{s}"
    );
}

#[test]
fn a_slow_preview_of_a_file_left_never_replaces_the_next_one() {
    let mut app = sample_app();
    let generation = app.generation;
    press(&mut app, KeyCode::Tab);
    select_path(&mut app, "/etc/passwd");
    enter(&mut app);
    let first = app.preview_token;
    esc(&mut app);
    select_path(&mut app, "/etc/group");
    enter(&mut app);
    let second = app.preview_token;
    assert_ne!(first, second, "every request has its own token");
    // The first file's answer arrives late: dropped.
    app.update(Msg::Preview {
        generation,
        token: first,
        result: Ok(b"root:x:0:0\n".to_vec()),
    });
    let Some(Overlay::Preview(p)) = &app.overlay else {
        panic!("no preview overlay")
    };
    assert_eq!(p.title, "/etc/group");
    assert!(matches!(p.body, PreviewBody::Loading), "{:?}", p.body);
    app.update(Msg::Preview {
        generation,
        token: second,
        result: Ok(b"root:x:0:\n".to_vec()),
    });
    assert!(
        matches!(&app.overlay, Some(Overlay::Preview(p)) if matches!(&p.body, PreviewBody::Data(d) if d == b"root:x:0:\n"))
    );
}

fn footer(app: &layerlens::tui::app::App) -> String {
    screen_text(app)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn the_overwrite_question_footer_shows_only_its_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("exists");
    std::fs::write(&dest, b"x").unwrap();
    let mut app = sample_app();
    press(&mut app, KeyCode::Tab);
    select_path(&mut app, "/etc/passwd");
    ch(&mut app, 'x');
    app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )));
    keys(&mut app, dest.to_str().unwrap());
    enter(&mut app);
    assert!(matches!(
        app.overlay,
        Some(Overlay::ConfirmOverwrite { .. })
    ));
    let f = footer(&app);
    assert!(
        f.contains("overwrite") && f.contains("any other key cancel"),
        "{f}"
    );
    assert!(!f.contains("help") && !f.contains("files"), "{f}");
}

#[test]
fn the_filter_unfolds_the_directories_of_its_matches() {
    let mut app = sample_app();
    ch(&mut app, 'G'); // last history row: layer 4's filesystem
    press(&mut app, KeyCode::Tab);
    ch(&mut app, '['); // everything folded
    assert!(row_paths(&app).iter().all(|p| p.matches('/').count() == 1));
    ch(&mut app, 'f');
    keys(&mut app, "gunicorn");
    enter(&mut app);
    let rows = row_paths(&app);
    assert!(
        rows.contains(&"/root/.cache/pip/gunicorn.whl".to_string()),
        "the match stays folded away: {rows:?}"
    );
    // Folding stays the user's: a matching branch can be folded again.
    select_path(&mut app, "/root/.cache");
    ch(&mut app, 'h');
    assert!(!row_paths(&app).contains(&"/root/.cache/pip/gunicorn.whl".to_string()));
}

#[test]
fn the_cursor_keeps_its_screen_row_when_the_rows_change() {
    let mut app = sample_app();
    press(&mut app, KeyCode::Tab);
    select_path(&mut app, "/etc/passwd");
    let row_on_screen = |app: &layerlens::tui::app::App| app.files.sel - app.files.offset;
    let before = row_on_screen(&app);
    // Another layer (G in the layers pane), then back to the files.
    press(&mut app, KeyCode::Tab);
    ch(&mut app, 'G');
    press(&mut app, KeyCode::Tab);
    assert_eq!(selected_path(&app).as_deref(), Some("/etc/passwd"));
    let page = app.areas().tree.height as usize - 3;
    if app.files.sel < page {
        assert_eq!(app.files.offset, 0, "scrolled although everything fits");
    } else {
        assert_eq!(row_on_screen(&app), before, "the files pane jumped");
    }
    // Fold everything, unfold everything: the selected directory stays put on screen.
    select_path(&mut app, "/etc");
    ch(&mut app, '[');
    let folded = row_on_screen(&app);
    ch(&mut app, ']');
    assert_eq!(selected_path(&app).as_deref(), Some("/etc"));
    assert!(
        app.files.sel >= page,
        "the test needs /etc below the first page"
    );
    assert_eq!(row_on_screen(&app), folded, "] moved the cursor's row");
}

#[test]
fn a_search_hit_is_shown_with_context_below_it() {
    let mut app = new_app(Theme::dark(), 100, 20);
    let g = open(&mut app, SAMPLE);
    feed(&mut app, g, sample_events());
    press(&mut app, KeyCode::Tab); // files
    ch(&mut app, '/');
    keys(&mut app, "os.py");
    enter(&mut app);
    assert_eq!(
        selected_path(&app).as_deref(),
        Some("/usr/lib/python3/os.py")
    );
    let page = app.areas().tree.height as usize - 3;
    let on_screen = app.files.sel - app.files.offset;
    assert!(
        on_screen + 1 < page || app.files.sel + 1 == app.files.rows.len(),
        "the hit is on the last row ({on_screen} of {page})"
    );
}

#[test]
fn the_picker_types_letters_and_moves_with_arrows_and_ctrl_n_p() {
    let mut app = sample_app();
    app.daemon = true;
    ch(&mut app, 'o');
    app.update(Msg::Images(Ok(vec![
        layerlens::model::ImageSummary {
            id: "sha256:aaa".into(),
            repo_tags: vec!["jq:1".into()],
            ..Default::default()
        },
        layerlens::model::ImageSummary {
            id: "sha256:bbb".into(),
            repo_tags: vec!["jk:2".into()],
            ..Default::default()
        },
        layerlens::model::ImageSummary {
            id: "sha256:ccc".into(),
            repo_tags: vec!["other:1".into()],
            ..Default::default()
        },
    ])));
    ch(&mut app, 'j');
    assert_eq!(app.picker.filter, "j", "j is text in the picker");
    assert_eq!(app.picker.visible().len(), 2);
    press(&mut app, KeyCode::Down);
    assert_eq!(app.picker.selected, 1);
    app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('p'),
        KeyModifiers::CONTROL,
    )));
    assert_eq!(app.picker.selected, 0);
    app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('n'),
        KeyModifiers::CONTROL,
    )));
    assert_eq!(app.picker.selected, 1);
    let f = footer(&app);
    assert!(
        f.contains("↑/↓ select") && f.contains("Ctrl-p/Ctrl-n select"),
        "{f}"
    );
    // F1 shows the picker's own keys.
    app.update(Msg::Key(KeyEvent::new(KeyCode::F(1), KeyModifiers::NONE)));
    let s = screen_text(&app);
    assert!(
        s.contains("Help: image picker") && s.contains("select the image below"),
        "{s}"
    );
}

#[test]
fn legend_rows_and_columns_say_what_is_shown() {
    let mut app = sample_app();
    press(&mut app, KeyCode::Tab);
    ch(&mut app, '4'); // hide unchanged
    let s = screen_text(&app);
    assert!(
        s.contains("4:unchanged hidden"),
        "the legend must say it:\n{s}"
    );
    // RUN is kept in the layers pane, as the details pane shows it.
    assert!(
        s.contains("RUN pip install -r /app/requirements.txt"),
        "{s}"
    );
    // At 100 columns names are not squeezed by the attribute columns.
    let mut app = new_app(Theme::dark(), 100, 30);
    let g = open(&mut app, SAMPLE);
    feed(&mut app, g, sample_events());
    app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('j'),
        KeyModifiers::NONE,
    )));
    app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('j'),
        KeyModifiers::NONE,
    )));
    press(&mut app, KeyCode::Tab);
    ch(&mut app, 'g');
    let s = screen_text(&app);
    assert!(
        s.contains("deb_main_binary-amd64_Packages"),
        "name cut:\n{s}"
    );
}

fn with_sample_dockerfile(w: u16, h: u16) -> layerlens::tui::app::App {
    let mut app = new_app(Theme::dark(), w, h);
    app.dockerfile = Some(
        layerlens::tui::dockerfile::DockerfilePane::load(std::path::Path::new(
            "assets/sample.Dockerfile",
        ))
        .unwrap(),
    );
    let g = open(&mut app, SAMPLE);
    feed(&mut app, g, sample_events());
    let w = layerlens::analysis::waste::analyze(app.image().unwrap());
    app.update(Msg::Load {
        generation: g,
        event: LoadMsg::Waste(Box::new(w)),
    });
    app
}

#[test]
fn the_dockerfile_pane_follows_the_layers_and_selects_them() {
    let mut app = with_sample_dockerfile(160, 45);
    let s = screen_text(&app);
    assert!(
        s.contains("Dockerfile assets/sample.Dockerfile · matches the image"),
        "{s}"
    );
    // The pip install line is annotated with its layer's size.
    let pip = s
        .lines()
        .find(|l| l.contains("  10 RUN pip install -r /app/requirements.txt"))
        .unwrap_or_else(|| panic!("no annotated pip line:\n{s}"));
    let pip = pip.split("││").nth(1).unwrap_or(pip);
    assert!(pip.contains("1.65 MiB"), "the layer's size: {pip}");
    assert!(
        pip.contains("966.80 KiB"),
        "reclaimable bytes of the layer: {pip}"
    );
    // Moving in the layers pane moves the Dockerfile's cursor to the instruction.
    for _ in 0..5 {
        ch(&mut app, 'j');
    }
    assert_eq!(app.selected_layer(), Some(3));
    let d = app.dockerfile.as_ref().unwrap();
    assert_eq!(d.cursor + 1, 10, "the pip line is line 10");
    // Tab: the Dockerfile pane; moving there selects the layer of the line.
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Pane::Dockerfile);
    ch(&mut app, 'j'); // line 11: the cleanup RUN
    assert_eq!(app.selected_layer(), Some(4));
    ch(&mut app, 'k');
    ch(&mut app, 'k'); // line 9: COPY
    assert_eq!(app.selected_layer(), Some(2));
    // Advice marks the lines it concerns with the bytes a fix saves.
    let w = app
        .image()
        .map(layerlens::analysis::waste::analyze)
        .unwrap();
    let d = app.dockerfile.as_ref().unwrap();
    let findings = layerlens::analysis::advice::analyze(
        app.image().unwrap(),
        &w,
        Some(layerlens::analysis::advice::WithDockerfile {
            df: &d.df,
            mapping: d.mapping.as_ref().unwrap(),
        }),
    );
    app.update(Msg::Load {
        generation: app.generation,
        event: LoadMsg::Findings(findings),
    });
    let s = screen_text(&app);
    let cleanup_line = s
        .lines()
        .find(|l| l.contains("5 RUN apt-get update"))
        .unwrap_or_else(|| panic!("{s}"));
    assert!(cleanup_line.contains('!'), "no advice mark: {cleanup_line}");
    // The details pane lists the advice about the selected layer (COPY: cache-order).
    assert!(s.contains("cache-order: "), "{s}");
}

#[test]
fn the_dockerfile_pane_is_reachable_in_a_small_terminal() {
    let mut app = with_sample_dockerfile(80, 24);
    assert!(app.areas().compact);
    press(&mut app, KeyCode::Tab); // image
    press(&mut app, KeyCode::Tab); // Dockerfile
    assert_eq!(app.focus, Pane::Dockerfile);
    let s = screen_text(&app);
    assert!(s.contains("FROM busybox:base"), "{s}");
    assert!(s.lines().last().unwrap().contains("line"), "{s}");
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Pane::Tree);
}

#[test]
fn t_opens_the_triage_and_the_layers_pane_marks_what_uploads() {
    use layerlens::analysis::push::{Action as Push, PushLayer, PushPlan};
    let mut app = sample_app();
    let cmds = ch(&mut app, 't');
    assert_eq!(
        cmds,
        vec![Cmd::Triage {
            generation: app.generation
        }]
    );
    assert!(matches!(app.overlay, Some(Overlay::Triage { .. })));
    assert!(screen_text(&app).contains("measuring what a push uploads"));
    // The job's answer: the real computation on the sample, with a push plan.
    let src = ImageSource::parse(SAMPLE).unwrap();
    let img = app.image().unwrap();
    let args = layerlens::cli::triage::TriageArgs::for_image(SAMPLE);
    let mut t = layerlens::cli::triage::compute(&args, &src, img, None).unwrap();
    let actions = [
        Push::Exists,
        Push::Exists,
        Push::Mount,
        Push::Upload,
        Push::Upload,
    ];
    t.push = Some(PushPlan {
        registry: "registry.example".into(),
        repository: "team/app".into(),
        tag: "2".into(),
        layers: actions
            .iter()
            .enumerate()
            .map(|(i, a)| PushLayer {
                index: i,
                diff_id: img.layers[i].diff_id.clone(),
                digest: None,
                action: *a,
                from: (*a == Push::Mount).then(|| "team/base".to_string()),
                bytes: if *a == Push::Upload { 1000 } else { 0 },
                blob_size: 1000,
            })
            .collect(),
        upload_layers: 2,
        upload_bytes: 2000,
        exists_layers: 2,
        mount_layers: 1,
        seconds: 0.1,
        bandwidth_bits_per_second: 1e8,
    });
    app.update(Msg::Triage {
        generation: app.generation,
        result: Ok(Box::new(t)),
    });
    let s = screen_text(&app);
    assert!(
        s.contains("Before you push") && s.contains("Secrets"),
        "{s}"
    );
    // `t` again (or Esc) closes it; the layers pane marks each layer's push action.
    ch(&mut app, 't');
    assert!(app.overlay.is_none());
    let s = screen_text(&app);
    for (l, mark) in [(0, "="), (2, "⇢"), (3, "↑"), (4, "↑")] {
        assert!(
            s.lines()
                .any(|line| line.contains(&format!("│  {l}{mark} "))),
            "layer {l} not marked {mark}:\n{s}"
        );
    }
    // Asked again: shown at once, no second job.
    assert!(ch(&mut app, 't').is_empty());
}

/// Run the rows jobs among `cmds` in place and deliver their answers (what the runner
/// does on its worker thread).
fn run_row_jobs(app: &mut layerlens::tui::app::App, cmds: Vec<Cmd>) -> usize {
    let mut n = 0;
    for c in cmds {
        if let Cmd::FilterRows { generation, job } = c {
            let img = app.image_arc().unwrap();
            let done = layerlens::tui::jobs::run_filter_job(&img, *job);
            app.update(Msg::FilterRows {
                generation,
                done: Box::new(done),
            });
            n += 1;
        }
    }
    n
}

/// Issue #12: on a big tree the keys that rebuild the rows (another layer, a filter, a
/// sort) return at once: the rows come from a job, the pane says it is updating, an
/// answer overtaken by a newer key is dropped, and the final rows are the ones the
/// synchronous path gives.
#[test]
fn big_trees_rebuild_rows_off_the_ui_thread_and_drop_stale_answers() {
    let mut sync = sample_app();
    let mut app = sample_app();
    app.files.big_tree = 0; // every tree is "big"
    for a in [&mut app, &mut sync] {
        let cmds = ch(a, 'G'); // the last layer (pip's cache is there)
        run_row_jobs(a, cmds);
        press(a, KeyCode::Tab);
    }
    // A filter: no job while the rows already match, one job per change of text.
    ch(&mut app, 'f');
    ch(&mut sync, 'f');
    let before = row_paths(&app);
    let first = keys(&mut app, "pip");
    keys(&mut sync, "pip");
    assert_eq!(
        row_paths(&app),
        before,
        "rows changed before the job answered"
    );
    assert!(app.files.filtering);
    assert!(
        screen_text(&app).contains("updating…"),
        "{}",
        screen_text(&app)
    );
    // The answers for "p" and "pi" are stale: dropped; the one for "pip" is shown.
    let jobs: Vec<Cmd> = first
        .into_iter()
        .filter(|c| matches!(c, Cmd::FilterRows { .. }))
        .collect();
    assert_eq!(jobs.len(), 3, "one job per keystroke");
    let mut jobs = jobs;
    let last = jobs.pop().unwrap();
    assert_eq!(run_row_jobs(&mut app, jobs), 2);
    assert_eq!(row_paths(&app), before, "a stale answer was shown");
    run_row_jobs(&mut app, vec![last]);
    assert!(!app.files.filtering);
    assert_eq!(row_paths(&app), row_paths(&sync));
    assert!(row_paths(&app).iter().any(|p| p.contains("/pip")));
    // Enter on the same text: nothing to recompute.
    assert!(
        !enter(&mut app)
            .iter()
            .any(|c| matches!(c, Cmd::FilterRows { .. })),
        "Enter recomputed the rows"
    );
    enter(&mut sync);
    // Another layer: a job, the same rows as the synchronous path once it answers.
    press(&mut app, KeyCode::Tab);
    press(&mut sync, KeyCode::Tab);
    let cmds = ch(&mut app, 'g');
    ch(&mut sync, 'g');
    assert_eq!(run_row_jobs(&mut app, cmds), 1);
    assert_eq!(row_paths(&app), row_paths(&sync));
    // A sort on the tree.
    press(&mut app, KeyCode::Tab);
    press(&mut sync, KeyCode::Tab);
    let cmds = ch(&mut app, 's');
    ch(&mut sync, 's');
    assert_eq!(run_row_jobs(&mut app, cmds), 1);
    assert_eq!(row_paths(&app), row_paths(&sync));
}
