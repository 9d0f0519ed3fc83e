//! History → Dockerfile lines.
//!
//! The final stage's chain (the stages it builds on with `FROM <stage>`, then itself)
//! is walked from its last instruction upwards while the image's history is walked from
//! its top entry downwards; each instruction must match the entry it faces (legacy
//! builder and BuildKit strings, values substituted, whitespace normalised). When the
//! chain is exhausted, the entries left below belong to the external base image. At the
//! first instruction that does not match, the walk stops: that instruction and those
//! above it in the file stay unmapped, and a warning says where — nothing is guessed.

use super::subst::{self, Env};
use super::{Dockerfile, Instruction};
use crate::model::{HistoryItem, Image};
use serde::Serialize;

/// What a history entry is, as far as the Dockerfile tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Made by this instruction (index into [`Dockerfile::instructions`]).
    Instruction(usize),
    /// Part of the external base image.
    Base,
}

/// Where the Dockerfile stopped matching.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// The instruction that does not match (index into the instructions).
    pub instruction: usize,
    /// The history entry it faced (None: the history ran out).
    pub history: Option<usize>,
}

/// The mapping of one image's history to one Dockerfile.
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    /// Per history entry.
    pub history: Vec<Option<Target>>,
    /// The external base image (the FROM of the chain's first stage), substituted.
    pub base_image: Option<String>,
    /// Index of that FROM instruction.
    pub base_from: Option<usize>,
    pub mismatch: Option<Mismatch>,
    pub warnings: Vec<String>,
    /// The stage the image was built as (the last one, unless built with `--target`).
    pub target: Option<usize>,
}

/// A Dockerfile location as reports show it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Location {
    pub path: String,
    pub line: usize,
    pub end_line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
}

impl Mapping {
    /// The instruction that made history entry `h`.
    pub fn instruction_of_history(&self, h: usize) -> Option<usize> {
        match self.history.get(h).copied().flatten() {
            Some(Target::Instruction(i)) => Some(i),
            _ => None,
        }
    }

    /// The instruction that made layer `layer`.
    pub fn instruction_of_layer(&self, img: &Image, layer: usize) -> Option<usize> {
        img.layers
            .get(layer)
            .and_then(|l| l.history)
            .and_then(|h| self.instruction_of_history(h))
    }

    pub fn is_base_history(&self, h: usize) -> bool {
        matches!(self.history.get(h).copied().flatten(), Some(Target::Base))
    }

    /// Whether layer `layer` belongs to the external base image.
    pub fn is_base_layer(&self, img: &Image, layer: usize) -> bool {
        img.layers
            .get(layer)
            .and_then(|l| l.history)
            .is_some_and(|h| self.is_base_history(h))
    }

    /// The layer an instruction made, if any.
    pub fn layer_of_instruction(&self, img: &Image, ins: usize) -> Option<usize> {
        (0..img.layers.len()).find(|&l| self.instruction_of_layer(img, l) == Some(ins))
    }
}

/// The location of instruction `i` (with its stage).
pub fn location(df: &Dockerfile, i: usize) -> Location {
    let ins = &df.instructions[i];
    Location {
        path: df.path.clone(),
        line: ins.line,
        end_line: ins.end_line,
        stage: df.stage_label(ins),
    }
}

/// A history string taken apart.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryCommand {
    /// Upper-case keyword, "" when unknown (e.g. `docker import`).
    pub keyword: String,
    /// What follows the keyword (for RUN: the command with its shell, without `|N …`).
    pub body: String,
    /// `|N A=1 B=2`: the build args in scope of a RUN.
    pub build_args: Vec<(String, String)>,
    pub buildkit: bool,
}

/// Parse a `created_by` string of either builder.
pub fn parse_history(created_by: &str) -> HistoryCommand {
    static NOP: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"^[^#]*?-c #\(nop\)\s*").unwrap());
    let mut s = created_by.trim();
    let mut buildkit = false;
    if let Some(x) = s.strip_suffix("# buildkit") {
        s = x.trim_end();
        buildkit = true;
    }
    let split_kw = |s: &str| -> (String, String) {
        let s = s.trim_start();
        let end = s.find(char::is_whitespace).unwrap_or(s.len());
        (s[..end].to_string(), s[end..].trim_start().to_string())
    };
    if let Some(m) = NOP.find(s) {
        let (kw, body) = split_kw(&s[m.end()..]);
        return HistoryCommand {
            keyword: kw.to_ascii_uppercase(),
            body,
            build_args: Vec::new(),
            buildkit,
        };
    }
    let (kw, body) = split_kw(s);
    if super::KEYWORDS.contains(&kw.as_str()) {
        let (args, body) = if kw == "RUN" {
            build_args(&body)
        } else {
            (Vec::new(), body)
        };
        return HistoryCommand {
            keyword: kw,
            body,
            build_args: args,
            buildkit: true,
        };
    }
    if s.is_empty() {
        return HistoryCommand {
            keyword: String::new(),
            body: String::new(),
            build_args: Vec::new(),
            buildkit,
        };
    }
    // The legacy builder's RUN: `[|N A=1 …] /bin/sh -c cmd`.
    let (args, body) = build_args(s);
    HistoryCommand {
        keyword: "RUN".into(),
        body,
        build_args: args,
        buildkit,
    }
}

/// Split `|N A=1 B=2 rest` into the pairs and the rest.
fn build_args(s: &str) -> (Vec<(String, String)>, String) {
    let Some(rest) = s.strip_prefix('|') else {
        return (Vec::new(), s.to_string());
    };
    let end = rest.find(' ').unwrap_or(rest.len());
    let Ok(n) = rest[..end].parse::<usize>() else {
        return (Vec::new(), s.to_string());
    };
    let mut r = rest[end..].trim_start();
    let mut pairs = Vec::new();
    for _ in 0..n {
        let e = r.find(' ').unwrap_or(r.len());
        let tok = &r[..e];
        let (k, v) = tok.split_once('=').unwrap_or((tok, ""));
        pairs.push((k.to_string(), v.to_string()));
        r = r[e..].trim_start();
    }
    (pairs, r.to_string())
}

/// Whitespace runs collapsed.
pub fn ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Brackets, quotes and commas dropped, whitespace collapsed (JSON vs Go's `%q`).
fn loose(s: &str) -> String {
    ws(&s.replace(['[', ']', '"', ','], " "))
}

/// Go's `%q` escapes undone (`\"` → `"`, `\\` → `\`), as history prints arrays.
fn go_unquote(s: &str) -> String {
    s.replace("\\\"", "\"").replace("\\\\", "\\")
}

fn tokens(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(|t| t.to_string())
        .collect()
}

/// The builder's state before an instruction.
#[derive(Debug, Clone)]
struct Ctx {
    /// ARGs then ENVs (ENV wins).
    env: Env,
    shell: Vec<String>,
    /// The working directory before the instruction (None: the base image's).
    workdir: Option<String>,
}

/// `/a/./b/../c/` → `/a/c` (a [`subst::WILDCARD`] stays a component of its own).
fn clean_path(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    format!("/{}", out.join("/"))
}

/// The directory a WORKDIR sets: relative paths join the previous one (BuildKit
/// records the result).
fn resolve_workdir(ctx: &Ctx, arg: &str, escape: char) -> String {
    let p = subst::process(arg.trim(), &ctx.env, escape);
    if p.starts_with('/') {
        clean_path(&p)
    } else {
        let base = ctx
            .workdir
            .clone()
            .unwrap_or_else(|| subst::WILDCARD.to_string());
        clean_path(&format!("{base}/{p}"))
    }
}

fn norm_dest(s: &str) -> String {
    let t = s.trim();
    if t.len() > 1 {
        t.trim_end_matches('/').to_string()
    } else {
        t.to_string()
    }
}

/// Sources and destination of COPY/ADD, substituted (heredocs as `<<NAME`).
fn copy_words(ins: &Instruction, ctx: &Ctx, escape: char) -> Vec<String> {
    let words: Vec<String> = match &ins.json {
        Some(j) => j
            .iter()
            .map(|w| subst::process(&format!("\"{w}\""), &ctx.env, escape))
            .collect(),
        None => subst::split_words(&ins.args, escape)
            .iter()
            .map(|w| {
                if w.starts_with("<<") {
                    let m = super::heredoc_markers(w);
                    format!("<<{}", m.first().map(|x| x.0.as_str()).unwrap_or(""))
                } else {
                    subst::process(w, &ctx.env, escape)
                }
            })
            .collect(),
    };
    words
}

/// The RUN command lines the builders record for an instruction.
fn run_candidates(ins: &Instruction, ctx: &Ctx) -> Vec<String> {
    if let Some(j) = &ins.json {
        return vec![j.join(" ")];
    }
    let shell = ctx.shell.join(" ");
    let mut out = Vec::new();
    if ins.heredocs.is_empty() {
        out.push(format!("{shell} {}", ins.args));
        return out;
    }
    let single = super::heredoc_markers(&ins.args).len() == 1
        && ins.args.trim().starts_with("<<")
        && !ins.args.trim().contains(char::is_whitespace);
    if single {
        out.push(format!("{shell} {}", ins.heredocs[0].body));
    }
    let mut full = ins.args.clone();
    for h in &ins.heredocs {
        full.push('\n');
        full.push_str(&h.body);
        full.push_str(&h.name);
    }
    out.push(format!("{shell} {full}"));
    out
}

fn matches(ins: &Instruction, ctx: &Ctx, h: &HistoryCommand, escape: char) -> bool {
    if h.keyword != ins.keyword {
        return false;
    }
    let p = |s: &str| subst::process(s, &ctx.env, escape);
    match ins.keyword.as_str() {
        "RUN" => {
            let got = ws(&h.body);
            run_candidates(ins, ctx)
                .iter()
                .any(|c| ws(c) == got || ws(&subst::expand_only(c, &ctx.env, escape)) == got)
        }
        "COPY" | "ADD" => {
            let want = copy_words(ins, ctx, escape);
            let Some(dest) = want.last() else {
                return false;
            };
            // Legacy: `dir:<hash> in /dest ` (sources hashed).
            if let Some(pos) = h.body.rfind(" in ")
                && !h.buildkit
                && h.body[..pos].contains(':')
            {
                return subst::wild_eq(&norm_dest(dest), &norm_dest(&h.body[pos + 4..]));
            }
            let words: Vec<&str> = h.body.split_whitespace().collect();
            let mut from = None;
            let plain: Vec<&str> = words
                .iter()
                .filter(|w| {
                    if let Some(f) = w.strip_prefix("--from=") {
                        from = Some(f.to_string());
                    }
                    !w.starts_with("--")
                })
                .copied()
                .collect();
            let Some(hd) = plain.last() else {
                return false;
            };
            if !subst::wild_eq(&norm_dest(dest), &norm_dest(hd)) {
                return false;
            }
            let hsrc: Vec<String> = plain[..plain.len() - 1]
                .iter()
                .map(|s| norm_dest(s))
                .collect();
            let wsrc: Vec<String> = want[..want.len() - 1]
                .iter()
                .map(|s| norm_dest(s))
                .collect();
            if hsrc.len() != wsrc.len()
                || !wsrc.iter().zip(&hsrc).all(|(w, h)| subst::wild_eq(w, h))
            {
                return false;
            }
            match (from, ins.flag("from")) {
                (Some(f), Some(w)) => f.eq_ignore_ascii_case(&p(w)),
                (Some(_), None) => false,
                _ => true,
            }
        }
        "ENV" | "LABEL" => {
            let pairs = subst::key_values(&ins.args, &ctx.env, escape, true);
            let want = pairs
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(" ");
            subst::wild_eq(&ws(&want), &ws(&h.body))
                || subst::wild_eq(&loose(&want), &loose(&go_unquote(&h.body)))
        }
        "ARG" => {
            let names: Vec<String> = subst::key_values(&ins.args, &ctx.env, escape, false)
                .into_iter()
                .map(|(k, _)| k)
                .collect();
            let got: Vec<String> = h
                .body
                .split_whitespace()
                .map(|w| w.split('=').next().unwrap_or("").to_string())
                .collect();
            names == got
        }
        "WORKDIR" => {
            subst::wild_eq(&ws(&p(&ins.args)), &ws(&h.body))
                || subst::wild_eq(&resolve_workdir(ctx, &ins.args, escape), h.body.trim())
        }
        "USER" | "STOPSIGNAL" | "MAINTAINER" => subst::wild_eq(&ws(&p(&ins.args)), &ws(&h.body)),
        "CMD" | "ENTRYPOINT" | "SHELL" => {
            let want = match &ins.json {
                Some(j) => j.join(" "),
                None => format!("{} {}", ctx.shell.join(" "), ins.args),
            };
            loose(&want) == loose(&go_unquote(&h.body))
        }
        _ => {
            // EXPOSE, VOLUME, HEALTHCHECK, ONBUILD: the builders print Go structures;
            // every word of the instruction must be there.
            let have = tokens(&h.body);
            let want = tokens(&p(&ins.args));
            !want.is_empty() && want.iter().all(|t| have.contains(t))
        }
    }
}

/// Map the image's history to the Dockerfile.
pub fn map(df: &Dockerfile, img: &Image) -> Mapping {
    map_history(df, &img.history, &img.run_config)
}

/// Map history entries to the Dockerfile (`run_config`: the image config's `config`,
/// whose Env supplies variables the base image set).
pub fn map_history(
    df: &Dockerfile,
    history: &[HistoryItem],
    _run_config: &serde_json::Value,
) -> Mapping {
    let Some(last) = df.stages.len().checked_sub(1) else {
        return map_stage(df, history, 0);
    };
    let m = map_stage(df, history, last);
    if m.mismatch.is_none() {
        return m;
    }
    // Built with `--target`: a stage whose whole chain matches the top of the history.
    for s in (0..last).rev() {
        let t = map_stage(df, history, s);
        let mapped = t
            .history
            .iter()
            .any(|h| matches!(h, Some(Target::Instruction(_))));
        if t.mismatch.is_none() && mapped {
            return t;
        }
    }
    m
}

/// Map the history to the chain that ends with stage `target`.
fn map_stage(df: &Dockerfile, history: &[HistoryItem], target: usize) -> Mapping {
    let escape = df.directives.escape;
    let parsed: Vec<HistoryCommand> = history
        .iter()
        .map(|h| parse_history(&h.created_by))
        .collect();
    let mut m = Mapping {
        history: vec![None; history.len()],
        ..Default::default()
    };
    if df.stages.is_empty() {
        m.warnings
            .push(format!("{}: no FROM instruction: nothing to map", df.path));
        return m;
    }
    // Build args as the build saw them (`|N A=1 …` of RUN entries).
    let mut overrides: Vec<(String, String)> = Vec::new();
    for p in &parsed {
        for (k, v) in &p.build_args {
            overrides.retain(|(a, _)| a != k);
            overrides.push((k.clone(), v.clone()));
        }
    }
    let global = df.global_args();
    let global: Env = global
        .into_iter()
        .map(|(k, v)| {
            let o = overrides
                .iter()
                .find(|(a, _)| *a == k)
                .map(|(_, v)| v.clone());
            (k, o.or(v))
        })
        .collect();
    // Variables the Dockerfile does not define come from the base image: unknown here,
    // so they match anything (the final config's Env holds their values after the
    // Dockerfile's own ENVs, not before).
    let base_env: Env = vec![(subst::UNKNOWN_IS_WILDCARD.to_string(), None)];
    let chain = df.chain_of(target);
    m.target = Some(target);
    let first = chain[0];
    m.base_image = Some(subst::process(&df.stages[first].from_raw, &global, escape));
    m.base_from = Some(df.stages[first].from_instruction);
    // Walk forward to know the state before each instruction.
    // Each step: (instruction index, the instruction as run, the state before it).
    let mut steps: Vec<(usize, Instruction, Ctx)> = Vec::new();
    let mut envs: Env = Vec::new();
    let mut shell = vec!["/bin/sh".to_string(), "-c".to_string()];
    // The working directory (None: the base image's, unknown).
    let mut workdir: Option<String> = None;
    for (pos, &s) in chain.iter().enumerate() {
        let mut args: Env = Vec::new();
        // A stage built on another stage first runs that stage's ONBUILD triggers.
        let mut todo: Vec<(usize, Instruction)> = Vec::new();
        if pos > 0 {
            for i in df.stage_instructions(chain[pos - 1]) {
                let ob = &df.instructions[i];
                if ob.keyword == "ONBUILD"
                    && let Some(t) = super::from_text(&ob.args, ob.line, escape)
                {
                    todo.push((i, t));
                }
            }
        }
        todo.extend(
            df.stage_instructions(s)
                .into_iter()
                .map(|i| (i, df.instructions[i].clone())),
        );
        for (i, ins) in todo {
            let mut env = base_env.clone();
            env.extend(args.iter().cloned());
            env.extend(envs.iter().cloned());
            let ctx = Ctx {
                env: env.clone(),
                shell: shell.clone(),
                workdir: workdir.clone(),
            };
            match ins.keyword.as_str() {
                "ARG" => {
                    for (k, v) in subst::key_values(&ins.args, &env, escape, false) {
                        let o = overrides
                            .iter()
                            .find(|(a, _)| *a == k)
                            .map(|(_, v)| v.clone());
                        let g = subst::lookup(&global, &k).cloned().flatten();
                        subst::set(&mut args, &k, o.or(v).or(g));
                    }
                }
                "ENV" => {
                    for (k, v) in subst::key_values(&ins.args, &env, escape, true) {
                        subst::set(&mut envs, &k, v);
                    }
                }
                "SHELL" => {
                    if let Some(j) = &ins.json {
                        shell = j.clone();
                    }
                }
                "WORKDIR" => workdir = Some(resolve_workdir(&ctx, &ins.args, escape)),
                _ => {}
            }
            steps.push((i, ins, ctx));
        }
    }
    // Walk down from the top.
    let mut j = history.len();
    let mut k = steps.len();
    let mut matched_any = false;
    while k > 0 {
        let (i, ins, ctx) = &steps[k - 1];
        if j > 0 && matches(ins, ctx, &parsed[j - 1], escape) {
            m.history[j - 1] = Some(Target::Instruction(*i));
            j -= 1;
            k -= 1;
            matched_any = true;
            continue;
        }
        // `docker build --label` (classic builder) adds LABEL entries above the last
        // instruction: not the Dockerfile's, left unmapped.
        if j > 0 && !matched_any && parsed[j - 1].keyword == "LABEL" {
            j -= 1;
            continue;
        }
        // An ARG may leave no history entry, an ONBUILD leaves none with BuildKit.
        if ins.keyword == "ARG" || ins.keyword == "ONBUILD" {
            k -= 1;
            continue;
        }
        m.mismatch = Some(Mismatch {
            instruction: *i,
            history: j.checked_sub(1),
        });
        let what = match j.checked_sub(1) {
            Some(h) => format!(
                "the image's history entry {h} there is `{}`",
                short(&history[h].created_by)
            ),
            None => "the image's history has no entry left for it".to_string(),
        };
        m.warnings.push(format!(
            "{} does not match the image from line {} on (`{}`): {what}; line {} and the lines above it are not mapped",
            df.path,
            ins.line,
            short(&ins.text),
            ins.line
        ));
        break;
    }
    if m.mismatch.is_none() {
        for h in m.history.iter_mut().take(j) {
            *h = Some(Target::Base);
        }
    }
    m
}

fn short(s: &str) -> String {
    let s = crate::analysis::diff::norm_instruction(s);
    if s.chars().count() > 80 {
        let mut t: String = s.chars().take(79).collect();
        t.push('…');
        t
    } else {
        s
    }
}
