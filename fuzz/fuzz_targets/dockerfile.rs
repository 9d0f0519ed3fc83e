//! The Dockerfile parser (tree-sitter), syntax classes, substitution helpers, and the
//! history → Dockerfile mapping with the advice and reports that use it.
//!
//! Input: `DOCKERFILE [SEP history]` (SEP is `\n--8<--\n`); each history line is one
//! `created_by`, a layer unless it starts with `-` (then an empty-layer instruction).
#![no_main]

use layerlens::analysis::{advice, waste};
use layerlens::dockerfile::{self, highlight, map, subst};
use layerlens::model::{HistoryItem, Image, Layer, LayerContent};
use layerlens::report;
use layerlens_fuzz::{SEP, split};
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let parts = split(data, SEP);
    let Ok(text) = std::str::from_utf8(parts[0]) else {
        return;
    };
    let df = dockerfile::parse(text);
    let _ = highlight::highlight(text);
    let escape = df.directives.escape;
    let env = df.global_args();
    for i in 0..df.instructions.len() {
        let _ = map::location(&df, i);
        let _ = df.stage_label(&df.instructions[i]);
    }
    for s in 0..df.stages.len() {
        let _ = df.chain_of(s);
        let _ = df.stage_instructions(s);
        let _ = df.stages[s].label();
    }
    let _ = df.final_chain();
    for line in text.lines().take(64) {
        let _ = subst::process(line, &env, escape);
        let _ = subst::expand_only(line, &env, escape);
        let _ = subst::split_words(line, escape);
        let _ = dockerfile::heredoc_markers(line);
        let _ = dockerfile::join_lines(line, escape);
    }

    // A history to map onto it: one empty layer per layer-making line.
    let hist_text = parts
        .get(1)
        .map(|h| String::from_utf8_lossy(h).into_owned())
        .unwrap_or_default();
    let mut history = Vec::new();
    let mut layers = Vec::new();
    for line in hist_text.lines().take(256) {
        let _ = map::parse_history(line);
        let (empty, created_by) = match line.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, line),
        };
        history.push(HistoryItem {
            created_by: created_by.to_string(),
            empty_layer: empty,
            ..Default::default()
        });
        if !empty {
            let i = layers.len();
            layers.push((
                Layer {
                    diff_id: format!("sha256:{i:064}"),
                    ..Default::default()
                },
                Arc::new(LayerContent::default()),
            ));
        }
    }
    let img = Image::assemble(Image::default(), history, layers);
    let mapping = map::map(&df, &img);
    for h in 0..img.history.len() {
        let _ = mapping.instruction_of_history(h);
        let _ = mapping.is_base_history(h);
    }
    for l in 0..img.layers.len() {
        let _ = mapping.instruction_of_layer(&img, l);
        let _ = mapping.is_base_layer(&img, l);
    }
    for i in 0..df.instructions.len() {
        let _ = mapping.layer_of_instruction(&img, i);
    }
    let w = waste::analyze(&img);
    let with = || advice::WithDockerfile {
        df: &df,
        mapping: &mapping,
    };
    let findings = advice::analyze(&img, &w, Some(with()));
    let _ = report::advice::render_text(&img, Some("Dockerfile"), &findings);
    let _ = report::text::render_with(&img, &w, Some(with()));
    let _ = report::json::render_with(&img, &w, Some(with()), &findings);
});
