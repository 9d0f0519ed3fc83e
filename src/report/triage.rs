//! `layerlens triage` output: text (one screen read in ten seconds, then details),
//! JSON (`schema_version` 1) and Markdown for a pull-request comment.

use super::{escape_controls, human};
use crate::analysis::push::{Action, Triage};

fn short(d: &str) -> String {
    let h = d.strip_prefix("sha256:").unwrap_or(d);
    h.chars().take(12).collect()
}

/// "0.4 s", "1 min 8 s".
pub fn duration(secs: f64) -> String {
    if secs < 0.05 {
        "<0.1 s".into()
    } else if secs < 60.0 {
        format!("{secs:.1} s")
    } else if secs < 3600.0 {
        format!("{} min {} s", (secs / 60.0).floor(), (secs % 60.0).round())
    } else {
        format!("{:.1} h", secs / 3600.0)
    }
}

/// Bits per second as people say it: "100 Mbit/s".
pub fn rate(bps: f64) -> String {
    if bps >= 1e9 {
        format!("{} Gbit/s", trim(bps / 1e9))
    } else if bps >= 1e6 {
        format!("{} Mbit/s", trim(bps / 1e6))
    } else if bps >= 1e3 {
        format!("{} kbit/s", trim(bps / 1e3))
    } else {
        format!("{} bit/s", trim(bps))
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Decimal bytes for egress arithmetic ("2.54 TB").
pub fn decimal(bytes: f64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = bytes;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < units.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.2} {}", units[u])
    }
}

fn money(v: f64) -> String {
    format!("{v:.2}")
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// The summary lines (shared by text and markdown).
fn summary(t: &Triage) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    if let Some(p) = &t.push {
        let mut parts = vec![format!(
            "upload {}, {} ({} at {})",
            plural(p.upload_layers, "layer"),
            human(p.upload_bytes),
            duration(p.seconds),
            rate(p.bandwidth_bits_per_second)
        )];
        if p.exists_layers > 0 {
            parts.push(format!("{} already there", p.exists_layers));
        }
        if p.mount_layers > 0 {
            parts.push(format!("{} mounted", p.mount_layers));
        }
        rows.push((
            "Push".into(),
            format!(
                "{}/{}:{}: {}",
                p.registry,
                p.repository,
                p.tag,
                parts.join("; ")
            ),
        ));
    }
    if let Some(pl) = &t.pull {
        let warm = match &pl.against {
            Some(a) => format!(
                "a node running {a} pulls {}, {} ({})",
                plural(pl.pull_layers, "layer"),
                human(pl.pull_bytes),
                duration(pl.seconds)
            ),
            None => "no previous image: every node pulls cold".into(),
        };
        rows.push((
            "Pull".into(),
            format!(
                "{warm}; a cold node pulls {}, {} ({})",
                plural(pl.cold_layers, "layer"),
                human(pl.cold_bytes),
                duration(pl.cold_seconds)
            ),
        ));
    }
    if let Some(e) = &t.egress {
        rows.push((
            "Egress".into(),
            format!(
                "{} node(s) × {} deploy(s)/day × 30 = {} pulls/month × {} = {}/month ≈ {} at {}/GB (all cold: {} ≈ {})",
                e.nodes,
                trim(e.deploys_per_day),
                trim(e.pulls_per_month),
                decimal(e.bytes_per_pull as f64),
                decimal(e.bytes_per_month),
                money(e.cost_per_month),
                trim(e.price_per_gb),
                decimal(e.cold_bytes_per_month),
                money(e.cold_cost_per_month)
            ),
        ));
    }
    rows.push((
        "Waste".into(),
        format!(
            "efficiency {:.1} %, {} reclaimable (stored but hidden by later layers), dive's wasted {}",
            t.waste.efficiency * 100.0,
            human(t.waste.reclaimable_bytes),
            human(t.waste.wasted_bytes)
        ),
    ));
    rows.push((
        "Advice".into(),
        match t.findings.first() {
            None => "nothing found".into(),
            Some(f) => format!(
                "{} finding(s), {} removable; biggest: {} ({}, layer {}{})",
                t.findings.len(),
                human(t.advice_bytes),
                f.rule,
                human(f.bytes),
                f.layer,
                f.dockerfile
                    .as_ref()
                    .map(|l| format!(", {}:{}", l.path, l.line))
                    .unwrap_or_default()
            ),
        },
    ));
    let visible = t.secrets.iter().filter(|s| s.visible).count();
    rows.push((
        "Secrets".into(),
        if t.secrets.is_empty() {
            "none found".into()
        } else {
            format!(
                "{} found ({} still visible, {} deleted later but still in a layer blob)",
                t.secrets.len(),
                visible,
                t.secrets.len() - visible
            )
        },
    ));
    rows
}

pub fn render_text(t: &Triage) -> String {
    let mut out = String::new();
    let id = short(&t.image.id);
    out.push_str(&format!(
        "Triage  {}  ({id}, {}, {}, {})\n\n",
        escape_controls(&t.image.reference),
        t.image.platform,
        plural(t.image.layers, "layer"),
        human(t.image.size_bytes)
    ));
    for (k, v) in summary(t) {
        out.push_str(&format!("  {k:<8} {}\n", escape_controls(&v)));
    }
    if t.fail_on.is_empty() {
        out.push_str(
            "  Gate     none (--fail-on secrets,upload-bytes=SIZE,… makes this a CI check)\n",
        );
    } else if t.failures.is_empty() {
        out.push_str(&format!("  Gate     OK ({})\n", t.fail_on.join(", ")));
    } else {
        for f in &t.failures {
            out.push_str(&format!("  FAIL     {f}\n"));
        }
    }
    for n in &t.notes {
        out.push_str(&format!("  Note     {}\n", escape_controls(n)));
    }
    if let Some(p) = &t.push {
        out.push_str(&format!(
            "\nPush plan ({}/{}:{})\n",
            p.registry, p.repository, p.tag
        ));
        out.push_str("    #  action       bytes  blob          diff id       from\n");
        for l in &p.layers {
            let bytes = if l.action == Action::Upload {
                human(l.bytes)
            } else {
                "-".into()
            };
            out.push_str(&format!(
                "  {:>3}  {:<6} {:>11}  {:<12}  {:<12}  {}\n",
                l.index,
                l.action.as_str(),
                bytes,
                l.digest
                    .as_deref()
                    .map(short)
                    .unwrap_or_else(|| "(new)".into()),
                short(&l.diff_id),
                escape_controls(l.from.as_deref().unwrap_or(""))
            ));
        }
    }
    if let Some(pl) = &t.pull {
        out.push_str(&format!(
            "\nPull plan ({})\n",
            pl.against
                .as_deref()
                .map(|a| format!("node running {}", escape_controls(a)))
                .unwrap_or_else(|| "cold node".into())
        ));
        out.push_str("    #  pulled       bytes  blob\n");
        for l in &pl.layers {
            out.push_str(&format!(
                "  {:>3}  {:<6} {:>11}  {}\n",
                l.index,
                if l.pulled { "yes" } else { "no" },
                human(l.bytes),
                l.digest
                    .as_deref()
                    .map(short)
                    .unwrap_or_else(|| "(new)".into())
            ));
        }
    }
    if !t.findings.is_empty() {
        out.push_str("\nAdvice (`layerlens advise` for all of it)\n");
        for f in t.findings.iter().take(5) {
            let at = f
                .dockerfile
                .as_ref()
                .map(|l| format!("{}:{}", l.path, l.line))
                .unwrap_or_else(|| format!("layer {}", f.layer));
            out.push_str(&format!(
                "  {:>11}  {:<26} {}  {}\n",
                human(f.bytes),
                f.rule,
                escape_controls(&at),
                truncate(&f.message, 80)
            ));
        }
    }
    if !t.secrets.is_empty() {
        out.push_str("\nSecrets that would ship (values redacted)\n");
        for s in &t.secrets {
            out.push_str(&format!(
                "  layer {:<3} {}  {}: {}  [{}]\n            made by: {}\n",
                s.layer,
                escape_controls(&s.path),
                s.description,
                escape_controls(&s.redacted),
                if s.visible {
                    "still visible"
                } else {
                    "deleted later, still in the layer blob"
                },
                match &s.dockerfile {
                    Some(l) => format!("{}:{}", escape_controls(&l.path), l.line),
                    None => truncate(&s.created_by, 90),
                }
            ));
        }
    }
    out
}

fn truncate(s: &str, n: usize) -> String {
    let s = escape_controls(s).replace('\n', " ");
    if s.chars().count() <= n {
        s
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

pub fn render_json(t: &Triage) -> String {
    let mut s = serde_json::to_string_pretty(t).expect("a triage serializes");
    s.push('\n');
    s
}

fn md(s: &str) -> String {
    escape_controls(s)
        .replace('|', "\\|")
        .replace('\n', " ")
        .replace('`', "'")
}

pub fn render_markdown(t: &Triage) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "### layerlens triage: `{}`\n\n",
        md(&t.image.reference)
    ));
    out.push_str("| | |\n|---|---|\n");
    for (k, v) in summary(t) {
        out.push_str(&format!("| **{k}** | {} |\n", md(&v)));
    }
    if !t.fail_on.is_empty() {
        if t.failures.is_empty() {
            out.push_str(&format!(
                "| **Gate** | ✅ OK ({}) |\n",
                md(&t.fail_on.join(", "))
            ));
        }
        for f in &t.failures {
            out.push_str(&format!("| **Gate** | ❌ {} |\n", md(f)));
        }
    }
    if let Some(p) = &t.push {
        out.push_str("\n<details><summary>Push plan</summary>\n\n");
        out.push_str("| # | action | bytes | blob | from |\n|---:|---|---:|---|---|\n");
        for l in &p.layers {
            out.push_str(&format!(
                "| {} | {} | {} | `{}` | {} |\n",
                l.index,
                l.action.as_str(),
                if l.action == Action::Upload {
                    human(l.bytes)
                } else {
                    "-".into()
                },
                l.digest
                    .as_deref()
                    .map(short)
                    .unwrap_or_else(|| "(new)".into()),
                md(l.from.as_deref().unwrap_or(""))
            ));
        }
        out.push_str("\n</details>\n");
    }
    if !t.secrets.is_empty() {
        out.push_str("\n**Secrets that would ship** (values redacted)\n\n");
        out.push_str("| layer | path | what | redacted | visible |\n|---:|---|---|---|---|\n");
        for s in &t.secrets {
            out.push_str(&format!(
                "| {} | `{}` | {} | `{}` | {} |\n",
                s.layer,
                md(&s.path),
                md(&s.description),
                md(&s.redacted),
                if s.visible {
                    "yes"
                } else {
                    "no (deleted later)"
                }
            ));
        }
    }
    for n in &t.notes {
        out.push_str(&format!("\n> {}\n", md(n)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_read_well() {
        assert_eq!(duration(67.76), "1 min 8 s");
        assert_eq!(duration(0.01), "<0.1 s");
        assert_eq!(rate(100e6), "100 Mbit/s");
        assert_eq!(decimal(2_541_000_000_000.0), "2.54 TB");
    }
}
