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
            short_command(&l.created_by, 70)
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
        let _ = writeln!(
            s,
            "Largest reclaimable files (bytes kept in a layer, hidden later):"
        );
        for f in waste.reclaimable_files.iter().take(10) {
            let why = if f.deleted { "deleted" } else { "replaced" };
            let _ = writeln!(
                s,
                "  {:>10}  {}  (layer {}, {why} in layer {})",
                human(f.bytes),
                f.path,
                f.layer,
                f.hidden_in
            );
        }
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
