//! Dockerfiles: parsing (tree-sitter, the `tree-sitter-containerfile` grammar) into
//! instructions with their lines, stages, flags, heredocs and substituted values, and
//! mapping an image's history to the instructions that made it ([`map`]).
//!
//! No tokio, no ratatui: the explorer and the reports both read [`Dockerfile`] and
//! [`map::Mapping`].
//!
//! What is survived (what BuildKit accepts): the `# syntax=`, `# escape=` (`\` or
//! `` ` ``) and `# check=` directives before anything else; comment and blank lines
//! inside continuations (dropped); a `#` mid-line is not a comment; heredocs in RUN,
//! COPY and ADD (`<<EOF`, `<<-EOF`, quoted delimiters, several per line); JSON and shell
//! forms; lowercase keywords; `ARG` before `FROM`; named and indexed stages; ONBUILD.
//! A syntax error becomes a warning with its line; the other instructions still parse.

pub mod highlight;
pub mod map;
pub mod subst;

use crate::error::{Error, Result};
use std::path::Path;
use subst::Env;

/// Parser directives (`# name=value` lines before anything else).
#[derive(Debug, Clone, PartialEq)]
pub struct Directives {
    pub syntax: Option<String>,
    /// `\` unless `# escape=` says `` ` ``.
    pub escape: char,
    pub check: Option<String>,
}

impl Default for Directives {
    fn default() -> Self {
        Directives {
            syntax: None,
            escape: '\\',
            check: None,
        }
    }
}

/// A heredoc of RUN, COPY or ADD.
#[derive(Debug, Clone, PartialEq)]
pub struct Heredoc {
    /// The delimiter word (`EOF`).
    pub name: String,
    /// `<<-`: leading tabs removed from the body.
    pub strip_tabs: bool,
    /// The delimiter was quoted: no expansion in the body.
    pub quoted: bool,
    /// The body, each line ending with a newline (BuildKit's `Data`).
    pub body: String,
}

/// One instruction.
#[derive(Debug, Clone, PartialEq)]
pub struct Instruction {
    /// Upper-case keyword (`RUN`, `COPY`, …, `ONBUILD`).
    pub keyword: String,
    /// First line (1-based).
    pub line: usize,
    /// Last line, heredoc bodies included.
    pub end_line: usize,
    /// Index of the stage it belongs to (`None`: an ARG before the first FROM).
    pub stage: Option<usize>,
    /// The instruction on one line: continuations joined, comment and blank lines
    /// inside them dropped, keyword upper-cased (no heredoc bodies).
    pub text: String,
    /// Flags (`--from=build` → ("from", Some("build")); `--link` → ("link", None)).
    pub flags: Vec<(String, Option<String>)>,
    /// What follows the keyword and the flags.
    pub args: String,
    /// JSON (exec) form: the array's strings.
    pub json: Option<Vec<String>>,
    pub heredocs: Vec<Heredoc>,
    /// Recovered from a part of the file tree-sitter could not parse.
    pub recovered: bool,
}

impl Instruction {
    pub fn flag(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_deref().unwrap_or(""))
    }
}

/// One build stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub index: usize,
    /// `AS name`, lower-cased (stage names are case-insensitive).
    pub name: Option<String>,
    /// The FROM image as written, and with global ARGs substituted.
    pub from_raw: String,
    pub from: String,
    /// Index of its FROM in [`Dockerfile::instructions`].
    pub from_instruction: usize,
    /// The stage this one builds on (`FROM <stage name>`).
    pub parent: Option<usize>,
}

impl Stage {
    /// Name, else index: what reports show.
    pub fn label(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.index.to_string())
    }
}

/// A parsed Dockerfile.
#[derive(Debug, Clone, Default)]
pub struct Dockerfile {
    /// The path as given (for reports and SARIF).
    pub path: String,
    pub directives: Directives,
    pub instructions: Vec<Instruction>,
    pub stages: Vec<Stage>,
    /// Syntax errors and other problems, each with its line.
    pub warnings: Vec<String>,
}

const KEYWORDS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// Read and parse a Dockerfile; a missing or unreadable file is a usage error.
pub fn load(path: &Path) -> Result<Dockerfile> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::usage(format!("cannot read Dockerfile {}: {e}", path.display())))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::usage(format!("Dockerfile {} is not UTF-8 text", path.display())))?;
    if text.contains('\0') {
        return Err(Error::usage(format!(
            "Dockerfile {} is not a text file",
            path.display()
        )));
    }
    let mut df = parse(&text);
    df.path = path.display().to_string();
    Ok(df)
}

/// Parser directives at the top of the file.
fn directives(text: &str) -> Directives {
    let mut d = Directives::default();
    for line in text.lines() {
        let t = line.trim();
        let Some(rest) = t.strip_prefix('#') else {
            break;
        };
        let Some((k, v)) = rest.split_once('=') else {
            break;
        };
        let k = k.trim().to_ascii_lowercase();
        if k.is_empty() || k.contains(char::is_whitespace) {
            break;
        }
        let v = v.trim().to_string();
        match k.as_str() {
            "syntax" => d.syntax = Some(v),
            "escape" => {
                if v == "`" {
                    d.escape = '`';
                } else if v == "\\" {
                    d.escape = '\\';
                }
            }
            "check" => d.check = Some(v),
            _ => break,
        }
    }
    d
}

/// Parse Dockerfile text. Never fails: what cannot be parsed becomes a warning.
pub fn parse(text: &str) -> Dockerfile {
    let mut df = Dockerfile {
        path: "Dockerfile".into(),
        directives: directives(text),
        ..Default::default()
    };
    let mut parser = tree_sitter::Parser::new();
    if parser
        .set_language(&tree_sitter_containerfile::LANGUAGE.into())
        .is_err()
    {
        df.warnings
            .push("the Dockerfile grammar could not be loaded".into());
        return df;
    }
    let Some(tree) = parser.parse(text, None) else {
        df.warnings
            .push("the Dockerfile could not be parsed".into());
        return df;
    };
    let escape = df.directives.escape;
    let root = tree.root_node();
    let mut cursor = root.walk();
    for node in root.children(&mut cursor) {
        let kind = node.kind();
        if node.is_error() {
            let line = node.start_position().row + 1;
            let snippet: String = text[node.byte_range()]
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(60)
                .collect();
            df.warnings.push(format!(
                "line {line}: syntax error near `{}`",
                snippet.trim()
            ));
            // What BuildKit would still read: logical lines that start with a keyword.
            recover(text, node, escape, &mut df.instructions);
            continue;
        }
        if !kind.ends_with("_instruction") {
            continue;
        }
        if let Some(i) = instruction(text, node, escape) {
            df.instructions.push(i);
        }
        report_missing(text, node, &mut df.warnings);
    }
    df.instructions.sort_by_key(|i| i.line);
    assign_stages(&mut df);
    df
}

/// MISSING tokens tree-sitter inserted outside shell commands (inside them, quoting is
/// the shell's business, not the Dockerfile's).
fn report_missing(text: &str, node: tree_sitter::Node, warnings: &mut Vec<String>) {
    if !node.has_error() {
        return;
    }
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        if n.kind() == "shell_command" || n.kind() == "heredoc_block" {
            continue;
        }
        if n.is_missing() || n.is_error() {
            let line = n.start_position().row + 1;
            let near: String = text[node.byte_range()]
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(60)
                .collect();
            warnings.push(format!("line {line}: syntax error in `{}`", near.trim()));
            return;
        }
        let mut c = n.walk();
        stack.extend(n.children(&mut c));
    }
}

/// Last line of a node (a node ending right after a newline ends on the line before).
fn end_line(node: tree_sitter::Node) -> usize {
    let s = node.start_position();
    let e = node.end_position();
    if e.column == 0 && e.row > s.row {
        e.row
    } else {
        e.row + 1
    }
}

fn instruction(text: &str, node: tree_sitter::Node, escape: char) -> Option<Instruction> {
    let mut heredoc_blocks = Vec::new();
    let mut c = node.walk();
    for ch in node.children(&mut c) {
        if ch.kind() == "heredoc_block" {
            heredoc_blocks.push(ch);
        }
    }
    let head_end = heredoc_blocks
        .first()
        .map(|b| b.start_byte())
        .unwrap_or(node.end_byte());
    let head = &text[node.start_byte()..head_end];
    let mut ins = from_text(head, node.start_position().row + 1, escape)?;
    ins.end_line = end_line(node).max(ins.line);
    // Heredoc markers in the command line, in order; bodies from the blocks.
    let markers = heredoc_markers(&ins.args);
    for (k, b) in heredoc_blocks.iter().enumerate() {
        let (name, strip_tabs, quoted) = markers
            .get(k)
            .cloned()
            .unwrap_or_else(|| (String::new(), false, false));
        let raw = &text[b.byte_range()];
        let raw = raw.strip_prefix('\n').unwrap_or(raw);
        let mut lines: Vec<&str> = raw.split('\n').collect();
        // The last line is the delimiter.
        lines.pop();
        let mut body = String::new();
        for l in lines {
            let l = if strip_tabs {
                l.trim_start_matches('\t')
            } else {
                l
            };
            body.push_str(l);
            body.push('\n');
        }
        ins.heredocs.push(Heredoc {
            name,
            strip_tabs,
            quoted,
            body,
        });
    }
    Some(ins)
}

/// `<<EOF`, `<<-EOF`, `<<"EOF"`, `<<'EOF'` in a command line.
pub fn heredoc_markers(s: &str) -> Vec<(String, bool, bool)> {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r#"<<(-?)\s*(?:"([A-Za-z0-9_.-]+)"|'([A-Za-z0-9_.-]+)'|([A-Za-z0-9_.-]+))"#,
        )
        .unwrap()
    });
    RE.captures_iter(s)
        .map(|c| {
            let quoted = c.get(2).or(c.get(3));
            let name = quoted.or(c.get(4)).map(|m| m.as_str()).unwrap_or("");
            (name.to_string(), !c[1].is_empty(), quoted.is_some())
        })
        .collect()
}

/// Join the physical lines of one instruction: a line ending with the escape character
/// continues on the next; comment and blank lines inside are dropped.
pub fn join_lines(head: &str, escape: char) -> String {
    let mut out = String::new();
    let mut first = true;
    for line in head.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if !first {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
        }
        let trimmed = line.trim_end();
        if let Some(stripped) = trimmed.strip_suffix(escape) {
            out.push_str(if first {
                stripped.trim_start()
            } else {
                stripped
            });
            first = false;
            continue;
        }
        out.push_str(if first { line.trim_start() } else { line });
        break;
    }
    out
}

/// An instruction from its source text (without heredoc bodies).
pub(crate) fn from_text(head: &str, line: usize, escape: char) -> Option<Instruction> {
    let joined = join_lines(head, escape);
    let joined = joined.trim();
    let (kw, rest) = match joined.find(char::is_whitespace) {
        Some(p) => (&joined[..p], joined[p..].trim_start()),
        None => (joined, ""),
    };
    let keyword = kw.to_ascii_uppercase();
    if !KEYWORDS.contains(&keyword.as_str()) {
        return None;
    }
    let physical = head.trim_end_matches(['\n', '\r']).matches('\n').count();
    let mut flags = Vec::new();
    let mut args = rest;
    if matches!(
        keyword.as_str(),
        "RUN" | "COPY" | "ADD" | "FROM" | "HEALTHCHECK"
    ) {
        while let Some(f) = args.strip_prefix("--") {
            let end = f.find(char::is_whitespace).unwrap_or(f.len());
            let tok = &f[..end];
            if tok.is_empty() {
                break;
            }
            let (k, v) = match tok.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (tok.to_string(), None),
            };
            flags.push((k.to_ascii_lowercase(), v));
            args = f[end..].trim_start();
        }
    }
    let json = if matches!(
        keyword.as_str(),
        "RUN" | "CMD" | "ENTRYPOINT" | "SHELL" | "COPY" | "ADD" | "VOLUME"
    ) && args.starts_with('[')
    {
        serde_json::from_str::<Vec<String>>(args).ok()
    } else {
        None
    };
    let text = if rest.is_empty() {
        keyword.clone()
    } else {
        format!("{keyword} {rest}")
    };
    Some(Instruction {
        keyword,
        line,
        end_line: line + physical,
        stage: None,
        text,
        flags,
        args: args.to_string(),
        json,
        heredocs: Vec::new(),
        recovered: false,
    })
}

/// Instructions in a region tree-sitter marked as an error.
fn recover(text: &str, node: tree_sitter::Node, escape: char, out: &mut Vec<Instruction>) {
    let start_line = node.start_position().row + 1;
    let region = &text[node.byte_range()];
    let lines: Vec<&str> = region.split('\n').collect();
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].trim();
        if t.is_empty() || t.starts_with('#') {
            i += 1;
            continue;
        }
        // Gather this logical line.
        let mut j = i;
        while j + 1 < lines.len() && lines[j].trim_end().ends_with(escape) {
            j += 1;
        }
        let head = lines[i..=j].join("\n");
        if let Some(mut ins) = from_text(&head, start_line + i, escape) {
            ins.recovered = true;
            out.push(ins);
        }
        i = j + 1;
    }
}

/// Stages and each instruction's stage.
fn assign_stages(df: &mut Dockerfile) {
    let escape = df.directives.escape;
    let mut global: Env = Vec::new();
    let mut stage: Option<usize> = None;
    for (k, ins) in df.instructions.iter_mut().enumerate() {
        if ins.keyword == "FROM" {
            let words = subst::split_words(&ins.args, escape);
            let from_raw = words.first().cloned().unwrap_or_default();
            let name = match (words.get(1), words.get(2)) {
                (Some(a), Some(n)) if a.eq_ignore_ascii_case("as") => Some(n.to_ascii_lowercase()),
                _ => None,
            };
            let from = subst::process(&from_raw, &global, escape);
            let idx = df.stages.len();
            let parent = df
                .stages
                .iter()
                .rev()
                .find(|s| s.name.as_deref() == Some(from.to_ascii_lowercase().as_str()))
                .map(|s| s.index);
            df.stages.push(Stage {
                index: idx,
                name,
                from_raw,
                from,
                from_instruction: k,
                parent,
            });
            stage = Some(idx);
        } else if stage.is_none() && ins.keyword == "ARG" {
            for (key, v) in subst::key_values(&ins.args, &global, escape, false) {
                subst::set(&mut global, &key, v);
            }
        }
        ins.stage = stage;
    }
}

impl Dockerfile {
    /// ARGs declared before the first FROM, with their defaults.
    pub fn global_args(&self) -> Env {
        let mut env = Vec::new();
        for ins in self.instructions.iter().take_while(|i| i.stage.is_none()) {
            if ins.keyword == "ARG" {
                for (k, v) in subst::key_values(&ins.args, &env, self.directives.escape, false) {
                    subst::set(&mut env, &k, v);
                }
            }
        }
        env
    }

    /// The stage label of an instruction ("build", "1"), if it has one.
    pub fn stage_label(&self, ins: &Instruction) -> Option<String> {
        ins.stage.map(|s| self.stages[s].label())
    }

    /// The final stage's chain, bottom first: the stages it builds on (`FROM <stage>`),
    /// then itself.
    pub fn final_chain(&self) -> Vec<usize> {
        match self.stages.len().checked_sub(1) {
            Some(last) => self.chain_of(last),
            None => Vec::new(),
        }
    }

    /// The chain of stage `stage`, bottom first: the stages it builds on, then itself.
    pub fn chain_of(&self, stage: usize) -> Vec<usize> {
        let mut chain = Vec::new();
        let mut cur = Some(stage).filter(|&s| s < self.stages.len());
        while let Some(s) = cur {
            if chain.contains(&s) {
                break;
            }
            chain.push(s);
            cur = self.stages[s].parent;
        }
        chain.reverse();
        chain
    }

    /// Instruction indexes of a stage, FROM excluded.
    pub fn stage_instructions(&self, stage: usize) -> Vec<usize> {
        self.instructions
            .iter()
            .enumerate()
            .filter(|(_, i)| i.stage == Some(stage) && i.keyword != "FROM")
            .map(|(k, _)| k)
            .collect()
    }
}

#[cfg(test)]
mod tests;
