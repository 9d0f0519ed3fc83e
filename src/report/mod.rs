//! Headless output: JSON and text reports, file listings, the CI gate.

pub mod advice;
pub mod ci;
pub mod diff;
pub mod dockerfile;
pub mod files;
pub mod json;
pub mod markdown;
pub mod sarif;
pub mod text;
pub mod triage;

use humansize::{BINARY, format_size};

/// Human size ("1.5 MiB").
pub fn human(bytes: u64) -> String {
    format_size(bytes, BINARY)
}

/// Text for a terminal: every control character except newline and tab (C0, DEL, C1 —
/// escape sequences, bells, carriage returns, NULs from names, history or errors that
/// quote an image) is shown escaped (`\x1b`, `\u{9b}`), so an image cannot drive the
/// terminal or fake output. Text without such characters is returned as is.
pub fn escape_controls(s: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !s.chars().any(bad) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if bad(c) {
            if (c as u32) < 0x80 {
                out.push_str(&format!("\\x{:02x}", c as u32));
            } else {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A name on one line of text output: like [`escape_controls`], and newlines and tabs
/// escaped too, so a name cannot fake or split output lines.
pub fn escape_name(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(|c| c.is_control()) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&escape_controls(&c.to_string())),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_cannot_split_lines() {
        assert_eq!(super::escape_name("a\nb\tc\x1b"), "a\\nb\\tc\\x1b");
        assert!(matches!(
            super::escape_name("plain"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn controls_are_escaped() {
        let s = "a\x1b[31mred\x07\r\u{9b}2J\u{7f}\nnext\tcol";
        assert_eq!(
            super::escape_controls(s),
            "a\\x1b[31mred\\x07\\x0d\\u{9b}2J\\x7f\nnext\tcol"
        );
        assert!(matches!(
            super::escape_controls("plain ünïcode ☃\n"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
