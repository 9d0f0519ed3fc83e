//! `report --format text`: a summary a person reads in seconds, then the layers.

use super::human;
use crate::analysis::waste::Waste;
use crate::model::Image;
use std::fmt::Write;

/// First line of a command, shortened for a table cell.
pub fn short_command(cmd: &str, width: usize) -> String {
    // `/bin/sh -c #(nop)` prefixes dropped, `COPY dir:<64 hex>` shortened to `dir:…`,
    // whitespace collapsed: the useful part of the line fits.
    let c = crate::analysis::diff::norm_instruction(cmd);
    if c.chars().count() > width {
        let mut s: String = c.chars().take(width.saturating_sub(1)).collect();
        s.push('…');
        s
    } else {
        c
    }
}

/// An instruction as people read it: the Dockerfile keyword kept (`RUN`
/// included, as the details pane shows it), `/bin/sh -c`, `#(nop)`, build-arg prefixes
/// and BuildKit's `# buildkit` dropped, hashes shortened.
pub fn display_command(created_by: &str, width: usize) -> String {
    let c = created_by.trim();
    let c = c.strip_suffix("# buildkit").unwrap_or(c).trim_end();
    let c = c.strip_prefix("RUN ").unwrap_or(c);
    let shown = if c.starts_with('|') && c.contains("/bin/sh -c ") {
        let rest = &c[c.find("/bin/sh -c ").unwrap_or(0) + "/bin/sh -c ".len()..];
        format!("RUN {rest}")
    } else if let Some(rest) = c.strip_prefix("/bin/sh -c ") {
        match rest.trim_start().strip_prefix("#(nop)") {
            Some(nop) => nop.trim().to_string(),
            None => format!("RUN {rest}"),
        }
    } else if created_by.trim_start().starts_with("RUN ") {
        format!("RUN {c}")
    } else {
        c.to_string()
    };
    short_command(&shown, width.max(4))
}

pub fn render(img: &Image, waste: &Waste) -> String {
    render_with(img, waste, None)
}

/// The report with a Dockerfile column (`Dockerfile:LINE`, `base`) when one is given.
pub fn render_with(
    img: &Image,
    waste: &Waste,
    d: Option<crate::analysis::advice::WithDockerfile>,
) -> String {
    let mut s = String::new();
    let name = if img.repo_tags.is_empty() {
        img.reference.clone()
    } else {
        img.repo_tags.join(", ")
    };
    let _ = writeln!(s, "Image        {name}");
    let _ = writeln!(s, "Id           {}", img.id);
    let _ = writeln!(s, "Platform     {}/{}", img.os, img.architecture);
    let _ = writeln!(
        s,
        "Size         {} in {} layers",
        human(waste.size_bytes),
        img.layers.len()
    );
    let _ = writeln!(s, "Efficiency   {:.2} %", waste.efficiency * 100.0);
    let _ = writeln!(
        s,
        "Wasted       {} ({:.1} % of what the layers above the base add; dive's measure)",
        human(waste.wasted_bytes),
        waste.user_wasted_percent * 100.0
    );
    let _ = writeln!(
        s,
        "Reclaimable  {} (stored in layers but hidden in the final filesystem)",
        human(waste.reclaimable_bytes)
    );
    let _ = writeln!(s);
    // With a Dockerfile: where each layer comes from, beside it.
    let line_col = |l: &super::json::LayerSummary| -> String {
        match (&l.dockerfile, l.base) {
            (Some(loc), _) => {
                let name = std::path::Path::new(&loc.path)
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_else(|| loc.path.clone());
                format!("{name}:{}  ", loc.line)
            }
            (None, true) => "base  ".to_string(),
            (None, false) => "-  ".to_string(),
        }
    };
    let summaries = super::json::layer_summaries_with(img, waste, d);
    let width = if d.is_some() {
        summaries
            .iter()
            .map(|l| line_col(l).chars().count())
            .max()
            .unwrap_or(0)
    } else {
        0
    };
    let _ = writeln!(
        s,
        "{:>3}  {:>10}  {:>10}  {:>6} {:>6} {:>6}  {:<width$}Command",
        "#",
        "Size",
        "Reclaim",
        "Added",
        "Modif",
        "Remov",
        if d.is_some() { "Line" } else { "" }
    );
    for l in summaries {
        let col = if d.is_some() {
            line_col(&l)
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "{:>3}  {:>10}  {:>10}  {:>6} {:>6} {:>6}  {col:<width$}{}",
            l.index,
            human(l.size_bytes),
            if l.reclaimable_bytes > 0 {
                human(l.reclaimable_bytes)
            } else {
                "-".into()
            },
            l.added,
            l.modified,
            l.removed,
            crate::report::escape_controls(&display_command(&l.created_by, 70))
        );
    }
    if let Some(shared) = &img.shared_with {
        let n = shared.iter().filter(|s| !s.is_empty()).count();
        if n > 0 {
            let _ = writeln!(
                s,
                "\n{n} of {} layers are shared with other local images (cost nothing extra on disk or pull).",
                img.layers.len()
            );
        }
    }
    if !waste.reclaimable_files.is_empty() {
        let _ = writeln!(s);
        s.push_str(&reclaimable_causes(img, waste, 10));
    }
    if !waste.inefficient_files.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(s, "Inefficient files (in 2+ layers; dive's list):");
        for f in waste.inefficient_files.iter().take(10) {
            let _ = writeln!(
                s,
                "  {:>10}  x{}  {}",
                human(f.wasted_bytes),
                f.count,
                f.path
            );
        }
        if waste.inefficient_files.len() > 10 {
            let _ = writeln!(s, "  … and {} more", waste.inefficient_files.len() - 10);
        }
    }
    if !img.warnings.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(s, "Warnings:");
        for w in &img.warnings {
            let _ = writeln!(s, "  {w}");
        }
    }
    s
}

/// Reclaimable bytes grouped by cause (the layer that stores them, the layer that
/// hid them, the directory), biggest first, at most `limit` lines.
pub fn reclaimable_causes(img: &Image, waste: &Waste, limit: usize) -> String {
    let mut s = String::new();
    let causes = crate::analysis::waste::reclaimable_by_cause(waste);
    let _ = writeln!(
        s,
        "Reclaimable bytes by cause (stored in a layer, hidden by a later one):"
    );
    for c in causes.iter().take(limit) {
        let why = if c.deleted { "deleted" } else { "replaced" };
        let files = if c.files > 1 {
            format!(" ({} files)", c.files)
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "  {:>10}  {}{files}\n              stored by layer {} ({}), {why} by layer {} ({})",
            human(c.bytes),
            crate::report::escape_controls(&c.path),
            c.layer,
            crate::report::escape_controls(&display_command(img.created_by(c.layer), 36)),
            c.hidden_in,
            crate::report::escape_controls(&display_command(img.created_by(c.hidden_in), 36)),
        );
    }
    if causes.len() > limit {
        let rest: u64 = causes[limit..].iter().map(|c| c.bytes).sum();
        let _ = writeln!(
            s,
            "  … and {} more causes ({})",
            causes.len() - limit,
            human(rest)
        );
    }
    s
}

/// What made `ci` fail: the layers holding the most reclaimable bytes, the causes,
/// and dive's most inefficient files.
pub fn ci_culprits(img: &Image, waste: &Waste) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "\nCulprits:");
    let mut layers: Vec<(usize, u64)> = waste
        .layer_reclaimable
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, b)| *b > 0)
        .collect();
    layers.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    if !layers.is_empty() {
        let _ = writeln!(s, "Layers holding the most reclaimable bytes:");
        for (l, b) in layers.iter().take(5) {
            let _ = writeln!(
                s,
                "  {:>10}  layer {l}  {}",
                human(*b),
                crate::report::escape_controls(&display_command(img.created_by(*l), 70))
            );
        }
        s.push_str(&reclaimable_causes(img, waste, 5));
    }
    if !waste.inefficient_files.is_empty() {
        let _ = writeln!(s, "Inefficient files (in 2+ layers; dive's list):");
        for f in waste.inefficient_files.iter().take(5) {
            let _ = writeln!(
                s,
                "  {:>10}  x{}  {}",
                human(f.wasted_bytes),
                f.count,
                crate::report::escape_controls(&f.path)
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn copy_hashes_are_shortened_before_truncating() {
        let hex = "476a9c3e".repeat(8);
        assert_eq!(
            super::short_command(&format!("/bin/sh -c #(nop) COPY dir:{hex} in /app "), 80),
            "COPY dir:… in /app"
        );
        assert_eq!(
            super::short_command(
                &format!("/bin/sh -c #(nop) COPY --chown=1000:1000file:{hex} in /app/x "),
                80
            ),
            "COPY --chown=1000:1000file:… in /app/x"
        );
    }
}
