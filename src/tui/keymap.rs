//! Actions and their key bindings. Defaults live in `assets/config.toml` (embedded);
//! `~/.config/layerlens/config.toml` (or `$LAYERLENS_CONFIG`) overrides any binding.
//! The help overlay and the status line are generated from this table.

use crate::error::{Error, Result};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::BTreeMap;

/// Where a binding applies. A key is looked up in the context of the screen that is
/// open; contexts that inherit `Global` fall back to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    /// The explorer's and the diff's shared keys: quit, help, panes, movement.
    Global,
    /// The explorer's file tree (and its layers pane).
    Tree,
    /// Diff mode.
    Diff,
    /// The image picker: letters type into its filter, so nothing is inherited.
    Picker,
    /// Help and preview overlays.
    Overlay,
    /// A text prompt (filter, search, extract path).
    Prompt,
    /// A yes/no question.
    Confirm,
}

impl Context {
    pub fn inherits_global(self) -> bool {
        matches!(self, Context::Tree | Context::Diff | Context::Overlay)
    }

    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Everywhere",
            Context::Tree => "Layers and file tree",
            Context::Diff => "Diff",
            Context::Picker => "Image picker",
            Context::Overlay => "Help and preview",
            Context::Prompt => "Prompts",
            Context::Confirm => "Questions",
        }
    }
}

macro_rules! actions {
    ($( $variant:ident => $name:literal, $ctx:ident, $hint:literal, $desc:literal; )*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action { $( $variant, )* }
        impl Action {
            pub const ALL: &'static [Action] = &[ $( Action::$variant, )* ];
            /// The name used in the `[keys]` table of the config file.
            pub fn name(self) -> &'static str { match self { $( Action::$variant => $name, )* } }
            pub fn context(self) -> Context { match self { $( Action::$variant => Context::$ctx, )* } }
            /// A word or two for the footer.
            pub fn hint(self) -> &'static str { match self { $( Action::$variant => $hint, )* } }
            /// A sentence for the help overlay.
            pub fn description(self) -> &'static str { match self { $( Action::$variant => $desc, )* } }
            pub fn from_name(n: &str) -> Option<Action> { match n { $( $name => Some(Action::$variant), )* _ => None } }
        }
    };
}

actions! {
    Quit => "quit", Global, "quit", "quit";
    Suspend => "suspend", Global, "suspend", "suspend to the shell (`fg` comes back)";
    Help => "help", Global, "help", "show or hide the help of this screen";
    Back => "back", Global, "back", "clear the filter, or go back to the explorer from a diff";
    NextPane => "next_pane", Global, "next pane", "focus the next pane (in a small terminal: show it)";
    PrevPane => "prev_pane", Global, "prev pane", "focus the previous pane";
    Up => "up", Global, "up", "move up";
    Down => "down", Global, "down", "move down";
    PageUp => "page_up", Global, "page up", "page up";
    PageDown => "page_down", Global, "page down", "page down";
    Top => "top", Global, "top", "go to the first row";
    Bottom => "bottom", Global, "bottom", "go to the last row";
    Picker => "picker", Global, "open image", "open another image";
    Triage => "triage", Global, "triage", "before you push: what uploads (with --to), what nodes pull, secrets that would ship, advice";
    Diff => "diff", Global, "diff", "diff this image against another (cache hits, rebuilds and why)";
    ToggleChanges => "toggle_changes", Tree, "changes only", "merged tree / this layer's changes only";
    ToggleAttrs => "toggle_attrs", Tree, "attributes", "show or hide mode, owner and size columns";
    ToggleSort => "toggle_sort", Tree, "sort", "sort by size / by name";
    Toggle => "toggle", Tree, "fold", "collapse or expand the directory";
    Collapse => "collapse", Tree, "collapse", "collapse the directory (or go to its parent)";
    Expand => "expand", Tree, "expand", "expand the directory";
    CollapseAll => "collapse_all", Tree, "collapse all", "collapse every directory";
    ExpandAll => "expand_all", Tree, "expand all", "expand every directory";
    ShowAdded => "toggle_added", Tree, "added", "show or hide added paths";
    ShowModified => "toggle_modified", Tree, "modified", "show or hide modified paths";
    ShowRemoved => "toggle_removed", Tree, "removed", "show or hide removed paths";
    ShowUnchanged => "toggle_unchanged", Tree, "unchanged", "show or hide unchanged paths";
    Filter => "filter", Tree, "filter", "filter paths (substring, or /regex/); matches are unfolded";
    Search => "search", Tree, "search", "search for a file and jump to it";
    SearchNext => "search_next", Tree, "next match", "next search match";
    SearchPrev => "search_prev", Tree, "prev match", "previous search match";
    Preview => "preview", Tree, "preview", "preview the file (text, or hex and metadata)";
    Extract => "extract", Tree, "extract", "extract the file or directory to a path";
    DiffFilesView => "diff_files_view", Diff, "pair/final", "files between the selected layer pair / between the final filesystems";
    DiffSort => "diff_sort", Diff, "sort", "sort files by name / by size";
    DiffFilter => "diff_filter", Diff, "filter", "filter the files (substring, or /regex/)";
    DiffPreview => "diff_preview", Diff, "both versions", "show both versions of the file (a unified diff for text)";
    PickerUp => "picker_up", Picker, "select", "select the image above";
    PickerDown => "picker_down", Picker, "select", "select the image below";
    PickerPageUp => "picker_page_up", Picker, "page", "a page up";
    PickerPageDown => "picker_page_down", Picker, "page", "a page down";
    PickerOpen => "picker_open", Picker, "open", "open the selected image";
    PickerBack => "picker_back", Picker, "back", "back to the open image (quit if there is none)";
    PickerHelp => "picker_help", Picker, "help", "show the picker's keys";
    PickerClear => "picker_clear", Picker, "clear", "clear the filter (other letters type into it)";
    Close => "close", Overlay, "close", "close the overlay";
    PromptAccept => "prompt_accept", Prompt, "accept", "accept the text";
    PromptCancel => "prompt_cancel", Prompt, "cancel", "cancel (a filter returns to what it was)";
    PromptClear => "prompt_clear", Prompt, "clear", "clear the text";
    ConfirmYes => "confirm_yes", Confirm, "yes", "answer yes";
    ConfirmNo => "confirm_no", Confirm, "no", "answer no (any other key too)";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    pub fn from_event(e: &KeyEvent) -> Key {
        let mut mods = e.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        let code = match e.code {
            KeyCode::Char(c) => KeyCode::Char(c),
            KeyCode::BackTab => KeyCode::BackTab,
            other => {
                if e.modifiers.contains(KeyModifiers::SHIFT) {
                    mods |= KeyModifiers::SHIFT;
                }
                other
            }
        };
        Key { code, mods }
    }

    /// "ctrl-c", "shift-tab", "pagedown", "G", "?", "space", "f1"...
    pub fn parse(s: &str) -> Result<Key> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = s;
        loop {
            let lower = rest.to_ascii_lowercase();
            if lower.starts_with("ctrl-") && rest.len() > 5 {
                mods |= KeyModifiers::CONTROL;
                rest = &rest[5..];
            } else if lower.starts_with("alt-") && rest.len() > 4 {
                mods |= KeyModifiers::ALT;
                rest = &rest[4..];
            } else if lower.starts_with("shift-") && rest.len() > 6 {
                mods |= KeyModifiers::SHIFT;
                rest = &rest[6..];
            } else {
                break;
            }
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" if mods.contains(KeyModifiers::SHIFT) => {
                mods -= KeyModifiers::SHIFT;
                KeyCode::BackTab
            }
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pageup" | "pgup" => KeyCode::PageUp,
            "pagedown" | "pgdn" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            f if f.len() >= 2 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                KeyCode::F(f[1..].parse().unwrap())
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => KeyCode::Char(c),
                    _ => return Err(Error::usage(format!("unknown key {s:?}"))),
                }
            }
        };
        Ok(Key { code, mods })
    }

    pub fn label(&self) -> String {
        let mut s = String::new();
        if self.mods.contains(KeyModifiers::CONTROL) {
            s.push_str("Ctrl-");
        }
        if self.mods.contains(KeyModifiers::ALT) {
            s.push_str("Alt-");
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            s.push_str("Shift-");
        }
        match self.code {
            KeyCode::Char(' ') => s.push_str("Space"),
            KeyCode::Char(c) => s.push(c),
            KeyCode::Enter => s.push_str("Enter"),
            KeyCode::Esc => s.push_str("Esc"),
            KeyCode::Tab => s.push_str("Tab"),
            KeyCode::BackTab => s.push_str("Shift-Tab"),
            KeyCode::Up => s.push('↑'),
            KeyCode::Down => s.push('↓'),
            KeyCode::Left => s.push('←'),
            KeyCode::Right => s.push('→'),
            KeyCode::PageUp => s.push_str("PgUp"),
            KeyCode::PageDown => s.push_str("PgDn"),
            KeyCode::Home => s.push_str("Home"),
            KeyCode::End => s.push_str("End"),
            KeyCode::F(n) => s.push_str(&format!("F{n}")),
            other => s.push_str(&format!("{other:?}")),
        }
        s
    }
}

/// The default configuration, also shipped as `assets/config.toml`.
pub const DEFAULT_CONFIG: &str = include_str!("../../assets/config.toml");

#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: std::collections::HashMap<(Context, Key), Action>,
    by_action: BTreeMap<Action, Vec<Key>>,
}

impl Keymap {
    /// Defaults, then the overrides of `user` (the `[keys]` table of a config file).
    pub fn new(user: Option<&toml::Table>) -> Result<Keymap> {
        let defaults: toml::Table = DEFAULT_CONFIG
            .parse()
            .expect("assets/config.toml is valid TOML");
        let mut by_action: BTreeMap<Action, Vec<Key>> = BTreeMap::new();
        let mut apply = |t: &toml::Table, origin: &str| -> Result<()> {
            if let Some(keys) = t.get("keys").and_then(|k| k.as_table()) {
                for (name, v) in keys {
                    let action = Action::from_name(name).ok_or_else(|| {
                        Error::usage(format!("{origin}: unknown action {name:?} in [keys]"))
                    })?;
                    let list: Vec<String> = match v {
                        toml::Value::String(s) => vec![s.clone()],
                        toml::Value::Array(a) => a
                            .iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect(),
                        _ => {
                            return Err(Error::usage(format!(
                                "{origin}: [keys] {name} must be a string or a list"
                            )));
                        }
                    };
                    let keys = list
                        .iter()
                        .map(|k| {
                            Key::parse(k).map_err(|e| {
                                Error::usage(format!("{origin}: [keys] {name}: {}", e.message))
                            })
                        })
                        .collect::<Result<Vec<_>>>()?;
                    // A key the user binds is taken from whatever action of the same
                    // context had it (for a global action: also of the contexts that
                    // inherit the global keys, where it would otherwise be shadowed).
                    for (other, ks) in by_action.iter_mut() {
                        let (c, o) = (action.context(), other.context());
                        if c == o
                            || (c == Context::Global
                                && o.inherits_global()
                                && o != Context::Overlay)
                        {
                            ks.retain(|k| !keys.contains(k));
                        }
                    }
                    by_action.insert(action, keys);
                }
            }
            Ok(())
        };
        apply(&defaults, "assets/config.toml")?;
        if let Some(u) = user {
            apply(u, "config")?;
        }
        let mut bindings = std::collections::HashMap::new();
        for (a, keys) in &by_action {
            for k in keys {
                bindings.insert((a.context(), *k), *a);
            }
        }
        Ok(Keymap {
            bindings,
            by_action,
        })
    }

    fn lookup(&self, ctx: Context, k: Key) -> Option<Action> {
        self.bindings.get(&(ctx, k)).copied().or_else(|| {
            if ctx.inherits_global() {
                self.bindings.get(&(Context::Global, k)).copied()
            } else {
                None
            }
        })
    }

    /// The action `e` triggers in `ctx` (its own bindings first, then the global ones
    /// for contexts that inherit them).
    pub fn action_in(&self, ctx: Context, e: &KeyEvent) -> Option<Action> {
        let k = Key::from_event(e);
        if let Some(a) = self.lookup(ctx, k) {
            return Some(a);
        }
        // Shifted letters arrive as uppercase chars with SHIFT; also accept plain.
        if let KeyCode::Char(_) = k.code {
            let plain = Key {
                code: k.code,
                mods: k.mods - KeyModifiers::SHIFT,
            };
            return self.lookup(ctx, plain);
        }
        None
    }

    /// The explorer's lookup: the tree's keys, then the global ones.
    pub fn action(&self, e: &KeyEvent) -> Option<Action> {
        self.action_in(Context::Tree, e)
    }

    pub fn keys(&self, a: Action) -> &[Key] {
        self.by_action.get(&a).map(|v| v.as_slice()).unwrap_or(&[])
    }

    /// "j/↓" for the status line and help.
    pub fn label(&self, a: Action) -> String {
        let ks = self.keys(a);
        if ks.is_empty() {
            return "(unbound)".into();
        }
        let labels: Vec<String> = ks.iter().take(2).map(|k| k.label()).collect();
        // "f,/" rather than "f//" when a key is the slash itself.
        let sep = if labels.iter().any(|l| l == "/") {
            ","
        } else {
            "/"
        };
        labels.join(sep)
    }

    /// "j/↓/k/↑"-style label of two actions shown as one hint ("down/up").
    pub fn pair_label(&self, a: Action, b: Action) -> String {
        let first = |x: Action| self.keys(x).first().map(|k| k.label());
        match (first(a), first(b)) {
            (Some(x), Some(y)) => format!("{x}/{y}"),
            (Some(x), None) | (None, Some(x)) => x,
            (None, None) => "(unbound)".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_keys() {
        assert_eq!(
            Key::parse("ctrl-c").unwrap(),
            Key {
                code: KeyCode::Char('c'),
                mods: KeyModifiers::CONTROL
            }
        );
        assert_eq!(Key::parse("shift-tab").unwrap().code, KeyCode::BackTab);
        assert_eq!(Key::parse("pagedown").unwrap().code, KeyCode::PageDown);
        assert_eq!(Key::parse("G").unwrap().code, KeyCode::Char('G'));
        assert!(Key::parse("hyper-x").is_err());
    }

    #[test]
    fn every_action_has_a_default_binding() {
        let km = Keymap::new(None).unwrap();
        for a in Action::ALL {
            assert!(!km.keys(*a).is_empty(), "{} unbound", a.name());
        }
    }

    #[test]
    fn contexts_keep_their_own_bindings() {
        let km = Keymap::new(None).unwrap();
        let j = KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE);
        let down = KeyEvent::new(KeyCode::Down, KeyModifiers::NONE);
        let ctrl_n = KeyEvent::new(KeyCode::Char('n'), KeyModifiers::CONTROL);
        // In the picker letters are text: `j` is not bound there, arrows and Ctrl-N are.
        assert_eq!(km.action_in(Context::Picker, &j), None);
        assert_eq!(
            km.action_in(Context::Picker, &down),
            Some(Action::PickerDown)
        );
        assert_eq!(
            km.action_in(Context::Picker, &ctrl_n),
            Some(Action::PickerDown)
        );
        // Elsewhere `j` moves (inherited from the global context).
        assert_eq!(km.action_in(Context::Tree, &j), Some(Action::Down));
        assert_eq!(km.action_in(Context::Diff, &j), Some(Action::Down));
        // A prompt does not inherit: `q` is text there.
        let q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(km.action_in(Context::Prompt, &q), None);
        assert_eq!(km.action_in(Context::Overlay, &q), Some(Action::Close));
    }

    #[test]
    fn no_key_is_bound_twice_in_a_context() {
        let km = Keymap::new(None).unwrap();
        let mut seen = std::collections::HashMap::new();
        for a in Action::ALL {
            for k in km.keys(*a) {
                if let Some(b) = seen.insert((a.context(), *k), *a) {
                    panic!("{} bound to {} and {}", k.label(), a.name(), b.name());
                }
            }
        }
    }

    #[test]
    fn user_overrides() {
        let user: toml::Table = "[keys]\nquit = [\"x\"]\n".parse().unwrap();
        let km = Keymap::new(Some(&user)).unwrap();
        let x = KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE);
        let q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(km.action(&x), Some(Action::Quit));
        assert_eq!(km.action(&q), None);
        let bad: toml::Table = "[keys]\nfly = \"f\"\n".parse().unwrap();
        assert!(Keymap::new(Some(&bad)).is_err());
    }
}
