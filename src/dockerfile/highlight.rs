//! Syntax classes for showing a Dockerfile (the explorer's Dockerfile pane): a walk of
//! the tree-sitter tree, no terminal types here.

/// What a span of text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Keyword,
    Comment,
    /// `--from=…`, `--mount=…` and other flags.
    Flag,
    String,
    /// `$VAR`, `${VAR:-x}`.
    Variable,
    /// The image of a FROM and its `AS` name.
    Image,
    /// Heredoc markers and bodies.
    Heredoc,
    /// Parser directives (`# syntax=`, `# escape=`, `# check=`).
    Directive,
    /// What tree-sitter could not parse.
    Error,
}

/// A classified part of one line: 0-based line, byte columns `start..end` in that line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub line: usize,
    pub start: usize,
    pub end: usize,
    pub class: Class,
}

fn class_of(kind: &str, named: bool) -> Option<Class> {
    if !named {
        return match kind {
            k if k.len() > 1 && k.chars().all(|c| c.is_ascii_uppercase() || c == '_') => {
                Some(Class::Keyword)
            }
            _ => None,
        };
    }
    Some(match kind {
        "comment" => Class::Comment,
        "param" | "mount_param" => Class::Flag,
        "double_quoted_string" | "single_quoted_string" | "json_string" => Class::String,
        "expansion" => Class::Variable,
        "image_spec" | "image_alias" => Class::Image,
        "heredoc_block" | "heredoc_marker" => Class::Heredoc,
        "ERROR" => Class::Error,
        _ => return None,
    })
}

/// Spans in document order; a span inside another (a variable in a string) comes after
/// it, so painting them in order shows the inner one.
pub fn highlight(text: &str) -> Vec<Span> {
    let mut out = Vec::new();
    let mut parser = tree_sitter::Parser::new();
    if parser
        .set_language(&tree_sitter_containerfile::LANGUAGE.into())
        .is_err()
    {
        return out;
    }
    let Some(tree) = parser.parse(text, None) else {
        return out;
    };
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let directives = directive_lines(text);
    let mut push = |start: usize, end: usize, class: Class| {
        let mut s = start;
        while s < end {
            let line = line_starts.partition_point(|&b| b <= s) - 1;
            let line_end = text[s..]
                .find('\n')
                .map(|i| s + i)
                .unwrap_or(text.len())
                .min(end);
            if line_end > s {
                let class = if class == Class::Comment && line < directives {
                    Class::Directive
                } else {
                    class
                };
                out.push(Span {
                    line,
                    start: s - line_starts[line],
                    end: line_end - line_starts[line],
                    class,
                });
            }
            s = line_end + 1;
        }
    };
    let mut stack = vec![tree.root_node()];
    while let Some(n) = stack.pop() {
        let class = class_of(n.kind(), n.is_named());
        if let Some(c) = class {
            let end = if c == Class::Comment {
                // Comments include their newline.
                let t = &text[n.byte_range()];
                n.start_byte() + t.trim_end_matches(['\n', '\r']).len()
            } else {
                n.end_byte()
            };
            push(n.start_byte(), end, c);
        }
        // Descend, except into what is painted whole (strings keep their variables).
        if matches!(
            class,
            None | Some(Class::String) | Some(Class::Image) | Some(Class::Error)
        ) {
            let mut c = n.walk();
            let children: Vec<_> = n.children(&mut c).collect();
            stack.extend(children.into_iter().rev());
        }
    }
    out
}

/// Number of directive lines at the top of the file.
fn directive_lines(text: &str) -> usize {
    let mut n = 0;
    for line in text.lines() {
        let t = line.trim();
        let Some(rest) = t.strip_prefix('#') else {
            break;
        };
        let Some((k, _)) = rest.split_once('=') else {
            break;
        };
        let k = k.trim().to_ascii_lowercase();
        if !matches!(k.as_str(), "syntax" | "escape" | "check") {
            break;
        }
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(text: &str) -> Vec<(usize, String, Class)> {
        let lines: Vec<&str> = text.split('\n').collect();
        highlight(text)
            .into_iter()
            .map(|s| (s.line, lines[s.line][s.start..s.end].to_string(), s.class))
            .collect()
    }

    #[test]
    fn classes_of_a_dockerfile() {
        let text = "# syntax=docker/dockerfile:1\nFROM alpine:3 AS base\n# note\nCOPY --from=base $SRC /c\nENV A=\"x $HOME\"\nRUN cat <<EOF\nbody\nEOF\nFROOM x\n";
        let c = classes(text);
        let has = |line: usize, t: &str, class: Class| {
            c.iter()
                .any(|(l, s, k)| *l == line && s == t && *k == class)
        };
        assert!(
            has(0, "# syntax=docker/dockerfile:1", Class::Directive),
            "{c:?}"
        );
        assert!(has(1, "FROM", Class::Keyword), "{c:?}");
        assert!(has(1, "alpine:3", Class::Image), "{c:?}");
        assert!(has(1, "AS", Class::Keyword), "{c:?}");
        assert!(has(2, "# note", Class::Comment), "{c:?}");
        assert!(has(3, "--from=base", Class::Flag), "{c:?}");
        assert!(has(3, "$SRC", Class::Variable), "{c:?}");
        assert!(has(4, "\"x $HOME\"", Class::String), "{c:?}");
        assert!(has(4, "$HOME", Class::Variable), "{c:?}");
        // The variable comes after the string it is in (painted over it).
        let string = c.iter().position(|x| x.2 == Class::String).unwrap();
        let var = c.iter().position(|x| x.1 == "$HOME").unwrap();
        assert!(var > string);
        assert!(has(5, "<<EOF", Class::Heredoc), "{c:?}");
        assert!(has(6, "body", Class::Heredoc), "{c:?}");
        assert!(has(8, "FROOM x", Class::Error), "{c:?}");
        // Spans stay inside their line, whatever the input.
        for junk in ["", "\n", "RUN <<A\n", "\u{1b}[31m FROM", "é\nFROM é AS ü\n"] {
            let lines: Vec<&str> = junk.split('\n').collect();
            for s in highlight(junk) {
                assert!(
                    s.start < s.end && s.end <= lines[s.line].len(),
                    "{junk:?}: {s:?}"
                );
            }
        }
    }
}
