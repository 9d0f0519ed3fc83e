//! End to end: the real binary in a real terminal (tmux), driven with keys, checked
//! with `capture-pane`. Each test runs its own tmux server (`tmux -L <unique socket>`,
//! 160x45) and kills it at the end, also when the test fails.
//!
//! Without tmux the tests are skipped, unless `LAYERLENS_REQUIRE_DOCKER=1` (CI, where
//! `.ci/run` installs tmux), in which case they fail. The daemon test also needs Docker
//! (`require_docker!`).

#[macro_use]
mod common;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Pause after each key, so that the app has drawn before the next one arrives (and an
/// Escape is never followed closely enough by another key to read as Alt+key).
const KEY_PAUSE: Duration = Duration::from_millis(300);
const WAIT: Duration = Duration::from_secs(15);
const PROMPT: &str = "lltest$";

struct Tmux {
    socket: String,
}

fn tmux_ready_or_skip() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        return true;
    }
    if common::docker_required() {
        panic!("tmux is not installed and LAYERLENS_REQUIRE_DOCKER=1 (.ci/run installs it)");
    }
    eprintln!("skipped: tmux not installed");
    false
}

impl Tmux {
    /// A new server on its own socket with one 160x45 window running `sh` (prompt
    /// `lltest$ `) in the package root.
    fn start(name: &str) -> Tmux {
        let socket = format!("layerlens-e2e-{}-{name}", std::process::id());
        let t = Tmux { socket };
        let dir = env!("CARGO_MANIFEST_DIR");
        let shell = format!(
            "env -u NO_COLOR PS1='{PROMPT} ' LAYERLENS_CONFIG=/nonexistent/layerlens.toml sh"
        );
        t.ok(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            "160",
            "-y",
            "45",
            "-s",
            "main",
            "-c",
            dir,
            &shell,
        ]);
        // The window keeps 160x45 whatever clients do.
        let _ = t.run(&["set-option", "-g", "window-size", "manual"]);
        t.wait_for("the shell prompt", |s| s.contains(PROMPT));
        t
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .env_remove("TMUX")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("running tmux")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Type a command line into the shell and press Enter.
    fn command_line(&self, line: &str) {
        self.ok(&["send-keys", "-t", "main", "-l", line]);
        self.ok(&["send-keys", "-t", "main", "Enter"]);
    }

    /// Literal text (each character a key press), then a pause.
    fn type_text(&self, text: &str) {
        self.ok(&["send-keys", "-t", "main", "-l", text]);
        std::thread::sleep(KEY_PAUSE);
    }

    /// One named key (Tab, Enter, Escape...) on its own, then a pause.
    fn key(&self, name: &str) {
        self.ok(&["send-keys", "-t", "main", name]);
        std::thread::sleep(KEY_PAUSE);
    }

    fn screen(&self) -> String {
        self.ok(&["capture-pane", "-p", "-t", "main"])
    }

    fn format(&self, f: &str) -> String {
        self.ok(&["display-message", "-p", "-t", "main", f])
            .trim()
            .to_string()
    }

    /// Poll the screen until `pred` holds; panic with the screen after [`WAIT`].
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if start.elapsed() > WAIT {
                panic!("timed out waiting for {what}; the screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_text(&self, text: &str) -> String {
        self.wait_for(&format!("{text:?}"), |s| s.contains(text))
    }

    /// After quitting: the shell is back in the foreground on the normal screen, the
    /// last line is its prompt and nothing of the explorer is left.
    fn assert_back_at_prompt(&self) {
        let s = self.wait_for("the shell prompt after quitting", |s| {
            s.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(str::trim_end)
                == Some(PROMPT)
        });
        assert_eq!(
            self.format("#{alternate_on}"),
            "0",
            "still on the alternate screen:\n{s}"
        );
        assert_eq!(self.format("#{pane_current_command}"), "sh", "{s}");
        assert!(!s.contains("layerlens │"), "explorer left on screen:\n{s}");
        assert!(
            !s.contains('┌') && !s.contains('│'),
            "box drawing left on screen:\n{s}"
        );
        assert!(!s.contains("panicked"), "{s}");
        // The terminal is usable (not left in raw mode): a command echoes and runs.
        self.command_line("echo still-$((40+2))");
        self.wait_text("still-42");
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // kill-server may leave the socket file behind: remove it too.
        let socket_path = self
            .run(&["display-message", "-p", "#{socket_path}"])
            .stdout;
        let _ = self.run(&["kill-server"]);
        let socket_path = String::from_utf8_lossy(&socket_path).trim().to_string();
        if socket_path.ends_with(&self.socket) {
            let _ = std::fs::remove_file(socket_path);
        }
    }
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_layerlens")
}

/// Status (last) line of a screen.
fn status_line(s: &str) -> &str {
    s.lines().last().unwrap_or("")
}

#[test]
fn no_daemon_opens_the_bundled_sample() {
    if !tmux_ready_or_skip() {
        return;
    }
    let t = Tmux::start("sample");
    t.command_line(&format!("DOCKER_HOST=unix:///nonexistent {}", bin()));
    let s = t.wait_for("the sample, analysed", |s| {
        s.contains("Efficiency") && s.contains("Reclaimable by cause")
    });
    assert!(s.contains("layerlens/sample-app:1.0"), "{s}");
    assert!(s.contains("no Docker daemon answers"), "{s}");
    assert!(s.contains("Layers (5; 10 instructions)"), "{s}");
    assert!(s.contains("ADD file:4b1c0e7a2d5f3e1a in /"), "{s}");
    assert!(s.contains("pip install -r /app/requirements.txt"), "{s}");
    assert!(s.contains("Files at layer 0 · merged · by size"), "{s}");
    assert!(s.contains("busybox") && s.contains("libc.so.6"), "{s}");
    assert_eq!(t.format("#{alternate_on}"), "1");

    // j: the next row is `CMD ["sh"]`, which made no layer.
    t.type_text("j");
    t.wait_text("Instruction (no layer; filesystem of layer 0)");
    t.type_text("j");
    let s = t.wait_text("Files at layer 1");
    assert!(s.contains("gcc"), "{s}");

    // Tab: the tree has the focus; the status line shows the tree's keys.
    t.key("Tab");
    let s = t.wait_for("tree key hints", |s| status_line(s).contains("preview"));
    assert!(status_line(&s).contains("extract"), "{s}");

    // c: only what layer 1 changed.
    t.type_text("c");
    let s = t.wait_text("Files at layer 1 · changes only");
    assert!(
        s.contains("cc1") && s.contains("deb_security_Packages"),
        "{s}"
    );
    assert!(!s.contains("busybox"), "{s}");

    // / + text + Enter: jumps to the match.
    t.type_text("/");
    t.wait_for("the search prompt", |s| status_line(s).contains("Search"));
    t.type_text("make");
    t.wait_for("the typed text", |s| status_line(s).contains("make"));
    t.key("Enter");
    let s = t.wait_text("match 1 of 1 for \"make\"");
    assert!(s.contains("make"), "{s}");

    // ?: help; Escape (alone) closes it.
    t.type_text("?");
    let s = t.wait_text("Help: explorer (Esc/q to close)");
    assert!(s.contains("search for a file and jump to it"), "{s}");
    t.key("Escape");
    t.wait_for("the help to close", |s| {
        !s.contains("Help: explorer (Esc/q to close)")
    });

    // q: back to the shell.
    t.type_text("q");
    t.assert_back_at_prompt();
}

#[test]
fn q_in_the_filter_prompt_is_text_and_ctrl_c_quits() {
    if !tmux_ready_or_skip() {
        return;
    }
    let t = Tmux::start("ctrlc");
    t.command_line(&format!("DOCKER_HOST=unix:///nonexistent {}", bin()));
    t.wait_text("Reclaimable by cause");
    t.type_text("f");
    t.wait_for("the filter prompt", |s| status_line(s).contains("Filter"));
    t.type_text("q");
    // q while typing a filter is text, not quit.
    let s = t.wait_text("filter \"q\"");
    assert_eq!(t.format("#{alternate_on}"), "1", "{s}");
    t.key("C-c");
    t.assert_back_at_prompt();
}

// ----- against a real daemon ------------------------------------------------------------

const E2E_TAG: &str = "layerlens-test/tui-e2e:1";

fn e2e_image() -> String {
    common::build_image(
        E2E_TAG,
        "FROM layerlens-test/busybox:base\n\
         RUN mkdir -p /srv/e2e && echo hello > /srv/e2e/greeting-e2e.txt\n\
         COPY marker-e2e.txt /srv/e2e/\n\
         ENV E2E_MARKER=tui\n",
        &[("marker-e2e.txt", b"marker\n")],
    )
}

#[test]
fn daemon_image_and_picker() {
    require_docker!();
    if !tmux_ready_or_skip() {
        return;
    }
    let tag = e2e_image();
    let t = Tmux::start("daemon");

    // An image named on the command line.
    t.command_line(&format!("{} docker://{tag}", bin()));
    let s = t.wait_for("the image, analysed", |s| s.contains("Efficiency"));
    assert!(s.contains(&tag), "{s}");
    assert!(s.contains("mkdir -p /srv/e2e && echo hello"), "{s}");
    assert!(s.contains("COPY file:"), "{s}");
    assert!(s.contains("ENV E2E_MARKER=tui"), "{s}");
    assert!(!s.contains("no Docker daemon"), "{s}");
    // The RUN and COPY rows: their full instructions in the details pane.
    t.type_text("j");
    let s = t.wait_text("Layer 1");
    assert!(s.contains("RUN mkdir -p /srv/e2e"), "{s}");
    assert!(
        s.contains("&& echo hello > /srv/e2e/greeting-e2e.txt"),
        "{s}"
    );
    t.type_text("j");
    let s = t.wait_text("Layer 2");
    assert!(s.contains("in /srv/e2e/"), "{s}");
    // The last row (ENV) shows the COPY layer's filesystem; filter it down to our files.
    t.type_text("G");
    t.type_text("f");
    t.type_text("e2e");
    t.key("Enter");
    let s = t.wait_text("filter \"e2e\"");
    assert!(s.contains("greeting-e2e.txt"), "{s}");
    assert!(s.contains("marker-e2e.txt"), "{s}");
    assert!(!s.contains("busybox"), "{s}");
    t.type_text("q");
    t.assert_back_at_prompt();

    // No image: the picker lists the daemon's images.
    t.command_line("clear");
    t.wait_for("a cleared screen", |s| s.trim() == PROMPT);
    t.command_line(bin());
    let s = t.wait_for("the image list", |s| {
        s.contains("choose an image") && s.contains("Repository:tag")
    });
    let images: usize = common::docker(&["images", "-q"]).lines().count();
    if images <= 35 {
        assert!(s.contains(&tag), "{tag} not listed:\n{s}");
    }
    // Typing part of the tag filters.
    t.type_text("tui-e2e");
    let s = t.wait_text("filter: tui-e2e");
    let listed: Vec<&str> = s
        .lines()
        .skip_while(|l| !l.contains("Repository:tag"))
        .skip(1)
        .take_while(|l| !l.starts_with('└'))
        .filter(|l| !l.trim_matches(|c| c == '│' || c == ' ').is_empty())
        .collect();
    assert_eq!(listed.len(), 1, "{listed:?}\n{s}");
    assert!(listed[0].contains(&tag), "{s}");
    // Enter opens it.
    t.key("Enter");
    let s = t.wait_for("the chosen image", |s| {
        s.contains("Efficiency") && s.contains("ENV E2E_MARKER=tui")
    });
    assert!(s.contains(&tag), "{s}");
    t.type_text("q");
    t.assert_back_at_prompt();
}
