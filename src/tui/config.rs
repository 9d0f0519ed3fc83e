//! The user's configuration file: key bindings and theme.

use super::{keymap, theme};
use crate::error::{Error, Result};
use std::path::PathBuf;

/// `$LAYERLENS_CONFIG`, else `$XDG_CONFIG_HOME/layerlens/config.toml`, else
/// `~/.config/layerlens/config.toml`.
pub fn config_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LAYERLENS_CONFIG") {
        return Some(PathBuf::from(p));
    }
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
        return Some(PathBuf::from(x).join("layerlens/config.toml"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/layerlens/config.toml"))
}

/// Keymap and theme from the user's config file (defaults when there is none).
pub fn load_config() -> Result<(keymap::Keymap, theme::Theme)> {
    let user: Option<toml::Table> = match config_path() {
        Some(p) if p.exists() => {
            let text = std::fs::read_to_string(&p)
                .map_err(|e| Error::usage(format!("cannot read {}: {e}", p.display())))?;
            Some(
                text.parse()
                    .map_err(|e| Error::usage(format!("{}: invalid TOML: {e}", p.display())))?,
            )
        }
        _ => None,
    };
    let km = keymap::Keymap::new(user.as_ref())?;
    let theme_name = user
        .as_ref()
        .and_then(|u| u.get("theme"))
        .and_then(|t| t.as_str())
        .map(String::from);
    if let Some(n) = &theme_name {
        if theme::Theme::by_name(n).is_none() {
            return Err(Error::usage(format!(
                "unknown theme {n:?} in the config: use dark, light or mono"
            )));
        }
    }
    Ok((km, theme::Theme::resolve(theme_name.as_deref())))
}
