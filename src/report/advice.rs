//! `advise --format text|json`.

use super::human;
use crate::analysis::advice::{Finding, removable_bytes};
use crate::model::Image;
use serde::Serialize;
use std::fmt::Write;

#[derive(Serialize)]
struct Doc<'a> {
    schema_version: u32,
    image: ImageRef,
    dockerfile: Option<&'a str>,
    /// What the fixes remove, cache-order and base-image excluded.
    removable_bytes: u64,
    findings: &'a [Finding],
    warnings: &'a [String],
}

#[derive(Serialize)]
struct ImageRef {
    reference: String,
    id: String,
    size_bytes: u64,
}

pub fn render_json(
    img: &Image,
    dockerfile: Option<&str>,
    findings: &[Finding],
    warnings: &[String],
) -> String {
    let mut s = serde_json::to_string_pretty(&Doc {
        schema_version: 1,
        image: ImageRef {
            reference: img.reference.clone(),
            id: img.id.clone(),
            size_bytes: img.size_bytes(),
        },
        dockerfile,
        removable_bytes: removable_bytes(findings),
        findings,
        warnings,
    })
    .expect("serializes");
    s.push('\n');
    s
}

pub fn render_text(img: &Image, dockerfile: Option<&str>, findings: &[Finding]) -> String {
    let mut s = String::new();
    let name = img
        .repo_tags
        .first()
        .cloned()
        .unwrap_or_else(|| img.reference.clone());
    let _ = writeln!(
        s,
        "Advice for {name} ({}){}",
        human(img.size_bytes()),
        match dockerfile {
            Some(p) => format!(", Dockerfile {p}"),
            None => String::new(),
        }
    );
    if findings.is_empty() {
        let _ = writeln!(s, "\nNo findings.");
        return s;
    }
    let _ = writeln!(
        s,
        "{} finding(s); the fixes remove {}.\n",
        findings.len(),
        human(removable_bytes(findings))
    );
    for f in findings {
        let place = match &f.dockerfile {
            Some(d) if d.line != d.end_line => format!("{}:{}-{}", d.path, d.line, d.end_line),
            Some(d) => format!("{}:{}", d.path, d.line),
            None => format!("layer {}", f.layer),
        };
        let _ = writeln!(
            s,
            "{:>10}  {:<7}  {}  {place}",
            human(f.bytes),
            f.severity.as_str(),
            f.rule
        );
        let _ = writeln!(s, "            {}", f.message);
        for p in f.paths.iter().take(3) {
            let _ = writeln!(s, "              {:>10}  {}", human(p.bytes), p.path);
        }
        for (k, line) in f.fix.lines().enumerate() {
            let _ = writeln!(s, "            {}{line}", if k == 0 { "fix: " } else { "" });
        }
        let _ = writeln!(s);
    }
    s
}
