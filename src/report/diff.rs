//! `diff`: text and JSON renderings of an [`ImageDiff`].

use super::human;
use crate::analysis::diff::{ImageDiff, ReasonKind, Status};
use crate::model::Image;
use serde::Serialize;
use std::fmt::Write;

#[derive(Serialize)]
struct Side {
    reference: String,
    id: String,
    tags: Vec<String>,
    layer_count: usize,
    size_bytes: u64,
}

fn side(img: &Image) -> Side {
    Side {
        reference: img.reference.clone(),
        id: img.id.clone(),
        tags: img.repo_tags.clone(),
        layer_count: img.layers.len(),
        size_bytes: img.size_bytes(),
    }
}

#[derive(Serialize)]
struct Report<'a> {
    schema_version: u32,
    a: Side,
    b: Side,
    #[serde(flatten)]
    diff: &'a ImageDiff,
}

pub fn render_json(a: &Image, b: &Image, d: &ImageDiff) -> String {
    let mut s = serde_json::to_string_pretty(&Report {
        schema_version: 1,
        a: side(a),
        b: side(b),
        diff: d,
    })
    .expect("serializes");
    s.push('\n');
    s
}

fn name(img: &Image) -> String {
    match img.repo_tags.first() {
        Some(t) => t.clone(),
        // An untagged image named by its id (the image a build replaced): its short id.
        None if img
            .reference
            .trim_start_matches("docker://")
            .starts_with("sha256:") =>
        {
            format!(
                "untagged {}",
                short(&img.reference.replace("docker://", ""))
            )
        }
        None => img.reference.clone(),
    }
}

fn short(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

pub fn render_text(a: &Image, b: &Image, d: &ImageDiff) -> String {
    let mut s = String::new();
    let sm = &d.summary;
    let _ = writeln!(
        s,
        "A  {}  ({}, {} layers, {})",
        name(a),
        short(&a.id),
        a.layers.len(),
        human(a.size_bytes())
    );
    let _ = writeln!(
        s,
        "B  {}  ({}, {} layers, {})",
        name(b),
        short(&b.id),
        b.layers.len(),
        human(b.size_bytes())
    );
    let _ = writeln!(s);
    if a.id == b.id {
        let _ = writeln!(s, "Same image: nothing changed.");
        return s;
    }
    let _ = writeln!(
        s,
        "Cache: {} layer(s) reused ({}), {} rebuilt, {} added, {} dropped — {} to push or pull.",
        sm.reused_layers,
        human(sm.reused_bytes),
        sm.rebuilt_layers,
        sm.added_layers,
        sm.dropped_layers,
        human(sm.rebuilt_bytes)
    );
    match (sm.bust_point, &sm.bust_reason) {
        (Some(bp), Some(r)) => {
            let _ = writeln!(
                s,
                "Cache busted at layer {bp}: {}",
                short_instr(b.created_by(bp))
            );
            let _ = writeln!(s, "  why: {}", super::escape_name(&r.text));
            if let Some(f) = &r.files {
                for (mark, list) in [("+", &f.added), ("~", &f.modified), ("-", &f.removed)] {
                    for p in list.iter().take(8) {
                        let _ = writeln!(s, "       {mark} {}", super::escape_name(p));
                    }
                    if list.len() > 8 {
                        let _ = writeln!(s, "       … {} more", list.len() - 8);
                    }
                }
            }
        }
        _ => {
            let _ = writeln!(s, "Every layer of B was a cache hit.");
        }
    }
    let t = &d.file_totals;
    let _ = writeln!(
        s,
        "Files: +{} added, ~{} modified, -{} removed ({} net){}",
        t.added,
        t.modified,
        t.removed,
        signed_human(t.added_bytes as i64 - t.removed_bytes as i64 + t.modified_bytes_delta),
        if t.mtime_only > 0 {
            format!("; {} differ only in timestamps (ignored)", t.mtime_only)
        } else {
            String::new()
        }
    );
    let _ = writeln!(s);
    let _ = writeln!(s, "Layers");
    let _ = writeln!(
        s,
        "  {:>3} {:>3}  {:<8} {:>10}  Instruction",
        "A", "B", "Status", "Size"
    );
    for l in &d.layers {
        let st = match l.status {
            Status::Reused => "reused",
            Status::Rebuilt => "rebuilt",
            Status::Added => "added",
            Status::Dropped => "dropped",
        };
        let idx = |i: Option<usize>| i.map(|x| x.to_string()).unwrap_or_else(|| "-".into());
        let instr = l
            .b_created_by
            .as_deref()
            .or(l.a_created_by.as_deref())
            .unwrap_or("");
        let bust = if l.b_index.is_some() && l.b_index == d.summary.bust_point {
            " ◀ cache bust"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "  {:>3} {:>3}  {:<8} {:>10}  {}{bust}",
            idx(l.a_index),
            idx(l.b_index),
            st,
            human(l.size_bytes),
            short_instr(instr)
        );
        if let Some(r) = &l.reason {
            let _ = writeln!(s, "{:>32}↳ {}", "", super::escape_name(&r.text));
            if r.kind == ReasonKind::ContentChanged
                || r.kind == ReasonKind::InstructionChanged
                || r.kind == ReasonKind::BaseChanged
            {
                if let Some(f) = &r.files {
                    let all: Vec<(char, &String)> = f
                        .added
                        .iter()
                        .map(|p| ('+', p))
                        .chain(f.modified.iter().map(|p| ('~', p)))
                        .chain(f.removed.iter().map(|p| ('-', p)))
                        .collect();
                    for (m, p) in all.iter().take(6) {
                        let _ = writeln!(s, "{:>34}{m} {}", "", super::escape_name(p));
                    }
                    if all.len() > 6 {
                        let _ = writeln!(s, "{:>34}… {} more", "", all.len() - 6);
                    }
                }
            }
        }
    }
    if !d.files.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(s, "Files (final filesystems)");
        for f in &d.files {
            match (&f.modified, f.change) {
                (Some(m), _) => {
                    let mut parts = Vec::new();
                    if m.old_size != m.new_size {
                        parts.push(format!("{} → {}", human(m.old_size), human(m.new_size)));
                    } else if m.old_mode == m.new_mode
                        && m.old_owner == m.new_owner
                        && m.old_kind == m.new_kind
                    {
                        parts.push(format!("content changed ({})", human(m.new_size)));
                    }
                    parts.extend(m.describe());
                    let _ = writeln!(
                        s,
                        "  ~ {}  {}",
                        super::escape_name(&f.path),
                        parts.join(", ")
                    );
                }
                (None, "added") => {
                    let _ = writeln!(
                        s,
                        "  + {}  ({})",
                        super::escape_name(&f.path),
                        human(f.size)
                    );
                }
                _ => {
                    let _ = writeln!(s, "  - {}", super::escape_name(&f.path));
                }
            }
        }
    }
    s
}

fn short_instr(s: &str) -> String {
    super::text::short_command(s, 80)
}

/// "+1.00 MiB", "-12 B", "±0 B".
fn signed_human(n: i64) -> String {
    let sign = match n.signum() {
        1 => "+",
        -1 => "-",
        _ => "±",
    };
    format!("{sign}{}", super::human(n.unsigned_abs()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_untagged_image_is_named_by_its_short_id() {
        let img = crate::model::Image {
            reference: format!("sha256:{}", "ab".repeat(32)),
            ..Default::default()
        };
        assert_eq!(super::name(&img), "untagged abababababab");
        let tagged = crate::model::Image {
            reference: "x".into(),
            repo_tags: vec!["app:2".into()],
            ..Default::default()
        };
        assert_eq!(super::name(&tagged), "app:2");
    }
}
