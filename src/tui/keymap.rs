//! Actions and their key bindings. Defaults live in `assets/config.toml` (embedded);
//! `~/.config/layerlens/config.toml` (or `$LAYERLENS_CONFIG`) overrides any binding.
//! The help overlay and the status line are generated from this table.

use crate::error::{Error, Result};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::BTreeMap;

macro_rules! actions {
    ($( $variant:ident => $name:literal, $ctx:literal, $desc:literal; )*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action { $( $variant, )* }
        impl Action {
            pub const ALL: &'static [Action] = &[ $( Action::$variant, )* ];
            pub fn name(self) -> &'static str { match self { $( Action::$variant => $name, )* } }
            /// Where the action applies: "global", "layers", "tree", "picker".
            pub fn context(self) -> &'static str { match self { $( Action::$variant => $ctx, )* } }
            pub fn description(self) -> &'static str { match self { $( Action::$variant => $desc, )* } }
            pub fn from_name(n: &str) -> Option<Action> { match n { $( $name => Some(Action::$variant), )* _ => None } }
        }
    };
}

actions! {
    Quit => "quit", "global", "quit";
    Help => "help", "global", "show or hide this help";
    NextPane => "next_pane", "global", "focus the next pane";
    PrevPane => "prev_pane", "global", "focus the previous pane";
    Up => "up", "global", "move up";
    Down => "down", "global", "move down";
    PageUp => "page_up", "global", "page up";
    PageDown => "page_down", "global", "page down";
    Top => "top", "global", "go to the first row";
    Bottom => "bottom", "global", "go to the last row";
    Picker => "picker", "global", "open another image";
    Diff => "diff", "global", "diff this image against another (cache hits, rebuilds and why)";
    ToggleChanges => "toggle_changes", "tree", "merged tree / this layer's changes only";
    ToggleAttrs => "toggle_attrs", "tree", "show or hide mode, owner and size columns";
    ToggleSort => "toggle_sort", "tree", "sort by size / by name";
    Toggle => "toggle", "tree", "collapse or expand the directory";
    Collapse => "collapse", "tree", "collapse the directory (or go to its parent)";
    Expand => "expand", "tree", "expand the directory";
    CollapseAll => "collapse_all", "tree", "collapse every directory";
    ExpandAll => "expand_all", "tree", "expand every directory";
    ShowAdded => "toggle_added", "tree", "show or hide added paths";
    ShowModified => "toggle_modified", "tree", "show or hide modified paths";
    ShowRemoved => "toggle_removed", "tree", "show or hide removed paths";
    ShowUnchanged => "toggle_unchanged", "tree", "show or hide unchanged paths";
    Filter => "filter", "tree", "filter paths (substring, or /regex/)";
    Search => "search", "tree", "search for a file and jump to it";
    SearchNext => "search_next", "tree", "next search match";
    SearchPrev => "search_prev", "tree", "previous search match";
    Preview => "preview", "tree", "preview the file (text, or hex and metadata)";
    Extract => "extract", "tree", "extract the file or directory to a path";
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
    bindings: std::collections::HashMap<Key, Action>,
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
                        .map(|k| Key::parse(k))
                        .collect::<Result<Vec<_>>>()?;
                    // A key the user binds is taken from whatever action had it.
                    for other in by_action.values_mut() {
                        other.retain(|k| !keys.contains(k));
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
                bindings.insert(*k, *a);
            }
        }
        Ok(Keymap {
            bindings,
            by_action,
        })
    }

    pub fn action(&self, e: &KeyEvent) -> Option<Action> {
        let k = Key::from_event(e);
        if let Some(a) = self.bindings.get(&k) {
            return Some(*a);
        }
        // Shifted letters arrive as uppercase chars with SHIFT; also accept plain.
        if let KeyCode::Char(_) = k.code {
            let plain = Key {
                code: k.code,
                mods: k.mods - KeyModifiers::SHIFT,
            };
            return self.bindings.get(&plain).copied();
        }
        None
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
        ks.iter()
            .take(2)
            .map(|k| k.label())
            .collect::<Vec<_>>()
            .join("/")
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
