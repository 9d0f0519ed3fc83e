//! `advise --format markdown`: a summary for a pull-request comment or
//! `$GITHUB_STEP_SUMMARY`.

use super::human;
use crate::analysis::advice::{Finding, removable_bytes};
use std::fmt::Write;

/// Text safe inside a Markdown table cell.
fn cell(s: &str) -> String {
    super::escape_controls(s)
        .replace('|', "\\|")
        .replace('\n', " ")
        .replace('<', "&lt;")
}

pub fn render(image: &str, image_bytes: u64, findings: &[Finding]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "### layerlens advice for `{}`\n",
        cell(image).replace('`', "'")
    );
    if findings.is_empty() {
        let _ = writeln!(
            s,
            "No findings: nothing measurable to remove ({} image).",
            human(image_bytes)
        );
        return s;
    }
    let _ = writeln!(
        s,
        "**{} finding(s); the fixes remove {} of {}.**\n",
        findings.len(),
        human(removable_bytes(findings)),
        human(image_bytes)
    );
    let _ = writeln!(s, "| Bytes | Rule | Where | Finding |");
    let _ = writeln!(s, "|---:|---|---|---|");
    for f in findings {
        let place = match &f.dockerfile {
            Some(d) if d.line == d.end_line => format!("`{}:{}`", cell(&d.path), d.line),
            Some(d) => format!("`{}:{}-{}`", cell(&d.path), d.line, d.end_line),
            None => format!("layer {}", f.layer),
        };
        let _ = writeln!(
            s,
            "| {} | `{}` | {} | {} |",
            human(f.bytes),
            f.rule,
            place,
            cell(&f.message)
        );
    }
    let _ = writeln!(s, "\n<details><summary>How to fix</summary>\n");
    for f in findings {
        let place = match &f.dockerfile {
            Some(d) => format!("{}:{}", d.path, d.line),
            None => format!("layer {}", f.layer),
        };
        let _ = writeln!(
            s,
            "- **{}** `{}` ({}):\n\n```\n{}\n```\n",
            cell(&place),
            f.rule,
            human(f.bytes),
            super::escape_controls(&f.fix).replace("```", "'''")
        );
    }
    let _ = writeln!(s, "</details>");
    s
}
