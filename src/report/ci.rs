//! The CI gate: dive-compatible rules plus `highest-reclaimable-bytes`.
//!
//! Configuration comes from `--config FILE`, else `.layerlens-ci.toml`, else dive's
//! `.dive-ci` in the current directory; command-line flags override both. A rule set to
//! "disabled" is skipped.

use crate::analysis::waste::Waste;
use crate::error::{Error, Result};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    Disabled,
    Value(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    pub lowest_efficiency: Threshold,
    pub highest_wasted_bytes: Threshold,
    pub highest_user_wasted_percent: Threshold,
    pub highest_reclaimable_bytes: Threshold,
    /// Bytes `advise` finds removable (disabled by default).
    pub highest_advice_bytes: Threshold,
}

impl Default for Rules {
    /// dive's defaults.
    fn default() -> Self {
        Rules {
            lowest_efficiency: Threshold::Value(0.9),
            highest_wasted_bytes: Threshold::Disabled,
            highest_user_wasted_percent: Threshold::Value(0.1),
            highest_reclaimable_bytes: Threshold::Disabled,
            highest_advice_bytes: Threshold::Disabled,
        }
    }
}

/// "20MB" (SI, like dive), "1.5GiB", "1024", "disabled".
pub fn parse_size(s: &str) -> Result<Threshold> {
    let t = s.trim().trim_matches('"').trim_matches('\'');
    if t.eq_ignore_ascii_case("disabled") {
        return Ok(Threshold::Disabled);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| Error::usage(format!("invalid size {s:?}: expected e.g. 20MB, 1.5GiB")))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "ki" | "kib" => 1024.0,
        "mi" | "mib" => 1024.0 * 1024.0,
        "gi" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "ti" | "tib" => 1024f64.powi(4),
        u => return Err(Error::usage(format!("invalid size unit {u:?} in {s:?}"))),
    };
    Ok(Threshold::Value((n * mult).round()))
}

pub fn parse_ratio(s: &str) -> Result<Threshold> {
    parse_ratio_max(s, Some(1.0))
}

/// A ratio between 0 and `max` (no upper bound when None), or "disabled".
pub fn parse_ratio_max(s: &str, max: Option<f64>) -> Result<Threshold> {
    let t = s.trim().trim_matches('"').trim_matches('\'');
    if t.eq_ignore_ascii_case("disabled") {
        return Ok(Threshold::Disabled);
    }
    let v = t.parse::<f64>().map_err(|_| {
        Error::usage(format!(
            "invalid ratio {s:?}: expected a number like 0.9, or \"disabled\""
        ))
    })?;
    if !v.is_finite() || v < 0.0 || max.is_some_and(|m| v > m) {
        return Err(Error::usage(match max {
            Some(m) => format!("invalid ratio {s:?}: must be between 0 and {m}"),
            None => format!("invalid ratio {s:?}: must be 0 or more"),
        }));
    }
    Ok(Threshold::Value(v))
}

fn canonical(key: &str) -> String {
    key.trim().replace(['-', '_'], "").to_ascii_lowercase()
}

impl Rules {
    /// Set a rule by its name in any spelling (dive's camelCase or kebab-case).
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool> {
        match canonical(key).as_str() {
            "lowestefficiency" => self.lowest_efficiency = parse_ratio(value)?,
            "highestwastedbytes" => self.highest_wasted_bytes = parse_size(value)?,
            // Wasted bytes can exceed the user size (dive counts the kept copy too).
            "highestuserwastedpercent" => {
                self.highest_user_wasted_percent = parse_ratio_max(value, None)?
            }
            "highestreclaimablebytes" => self.highest_reclaimable_bytes = parse_size(value)?,
            "highestadvicebytes" => self.highest_advice_bytes = parse_size(value)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// dive's `.dive-ci`: a YAML map `rules:` of `key: value` lines.
    pub fn apply_dive_ci(&mut self, text: &str, name: &str) -> Result<()> {
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim_end();
            if line.trim().is_empty() || line.trim() == "rules:" || line.trim() == "---" {
                continue;
            }
            let Some((k, v)) = line.split_once(':') else {
                return Err(Error::usage(format!(
                    "{name}:{}: expected `key: value`",
                    n + 1
                )));
            };
            let known = self.set(k, v).map_err(|e| {
                Error::usage(format!("{name}:{}: {}: {}", n + 1, k.trim(), e.message))
            })?;
            if !known {
                return Err(Error::usage(format!(
                    "{name}:{}: unknown rule {:?}",
                    n + 1,
                    k.trim()
                )));
            }
        }
        Ok(())
    }

    /// `.layerlens-ci.toml`: a `[rules]` table (or top-level keys).
    pub fn apply_toml(&mut self, text: &str, name: &str) -> Result<()> {
        let v: toml::Table = text
            .parse()
            .map_err(|e| Error::usage(format!("{name}: invalid TOML: {e}")))?;
        let table = match v.get("rules") {
            Some(toml::Value::Table(t)) => t.clone(),
            _ => v,
        };
        for (k, val) in table {
            let s = match &val {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                other => {
                    return Err(Error::usage(format!(
                        "{name}: invalid value for {k}: {other}"
                    )));
                }
            };
            let known = self
                .set(&k, &s)
                .map_err(|e| Error::usage(format!("{name}: {k}: {}", e.message)))?;
            if !known {
                return Err(Error::usage(format!("{name}: unknown rule {k:?}")));
            }
        }
        Ok(())
    }

    /// Load rules from an explicit file, or the default files in `dir`.
    pub fn load(config: Option<&Path>, dir: &Path) -> Result<(Rules, Option<String>)> {
        let mut rules = Rules::default();
        let candidates: Vec<std::path::PathBuf> = match config {
            Some(p) => {
                if !p.exists() {
                    return Err(Error::usage(format!(
                        "config file {} does not exist",
                        p.display()
                    )));
                }
                vec![p.to_path_buf()]
            }
            None => vec![dir.join(".layerlens-ci.toml"), dir.join(".dive-ci")],
        };
        for p in candidates {
            if !p.exists() {
                continue;
            }
            let text = std::fs::read_to_string(&p)
                .map_err(|e| Error::usage(format!("cannot read {}: {e}", p.display())))?;
            let name = p.display().to_string();
            if p.extension().is_some_and(|e| e == "toml") {
                rules.apply_toml(&text, &name)?;
            } else {
                rules.apply_dive_ci(&text, &name)?;
            }
            return Ok((rules, Some(name)));
        }
        Ok((rules, None))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
    Skip,
}

#[derive(Debug, Clone)]
pub struct RuleResult {
    pub name: &'static str,
    pub outcome: Outcome,
    pub detail: String,
}

pub fn evaluate(rules: &Rules, w: &Waste) -> Vec<RuleResult> {
    evaluate_with_advice(rules, w, 0)
}

/// The rules, `highest-advice-bytes` judged on `advice_bytes` (what `advise` finds
/// removable).
pub fn evaluate_with_advice(rules: &Rules, w: &Waste, advice_bytes: u64) -> Vec<RuleResult> {
    use super::human;
    let mut out = Vec::new();
    let mut rule = |name: &'static str,
                    t: Threshold,
                    actual: f64,
                    lower_bound: bool,
                    fmt: &dyn Fn(f64) -> String| {
        let (outcome, detail) = match t {
            Threshold::Disabled => (Outcome::Skip, "disabled".to_string()),
            Threshold::Value(limit) => {
                let ok = if lower_bound {
                    actual >= limit
                } else {
                    actual <= limit
                };
                let op = match (lower_bound, ok) {
                    (true, true) => ">=",
                    (true, false) => "<",
                    (false, true) => "<=",
                    (false, false) => ">",
                };
                (
                    if ok { Outcome::Pass } else { Outcome::Fail },
                    format!("{} {op} {}", fmt(actual), fmt(limit)),
                )
            }
        };
        out.push(RuleResult {
            name,
            outcome,
            detail,
        });
    };
    let ratio = |x: f64| format!("{x:.4}");
    let bytes = |x: f64| format!("{} ({} B)", human(x as u64), x as u64);
    rule(
        "lowest-efficiency",
        rules.lowest_efficiency,
        w.efficiency,
        true,
        &ratio,
    );
    rule(
        "highest-wasted-bytes",
        rules.highest_wasted_bytes,
        w.wasted_bytes as f64,
        false,
        &bytes,
    );
    rule(
        "highest-user-wasted-percent",
        rules.highest_user_wasted_percent,
        w.user_wasted_percent,
        false,
        &ratio,
    );
    rule(
        "highest-reclaimable-bytes",
        rules.highest_reclaimable_bytes,
        w.reclaimable_bytes as f64,
        false,
        &bytes,
    );
    rule(
        "highest-advice-bytes",
        rules.highest_advice_bytes,
        advice_bytes as f64,
        false,
        &bytes,
    );
    out
}

pub fn render(results: &[RuleResult], config: Option<&str>) -> String {
    let mut s = String::new();
    if let Some(c) = config {
        s.push_str(&format!("Rules from {c}\n"));
    }
    for r in results {
        let tag = match r.outcome {
            Outcome::Pass => "PASS",
            Outcome::Fail => "FAIL",
            Outcome::Skip => "SKIP",
        };
        s.push_str(&format!("  {tag}  {}: {}\n", r.name, r.detail));
    }
    let failed = results
        .iter()
        .filter(|r| r.outcome == Outcome::Fail)
        .count();
    if failed == 0 {
        s.push_str("Result: PASS\n");
    } else {
        s.push_str(&format!("Result: FAIL ({failed} rule(s) failed)\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("20MB").unwrap(), Threshold::Value(20e6));
        assert_eq!(parse_size("1KiB").unwrap(), Threshold::Value(1024.0));
        assert_eq!(parse_size("disabled").unwrap(), Threshold::Disabled);
        assert!(parse_size("12 parsecs").is_err());
    }

    #[test]
    fn dive_ci_file() {
        let mut r = Rules::default();
        r.apply_dive_ci("rules:\n  lowestEfficiency: 0.95\n  highestWastedBytes: 20MB\n  highestUserWastedPercent: disabled\n", "x")
            .unwrap();
        assert_eq!(r.lowest_efficiency, Threshold::Value(0.95));
        assert_eq!(r.highest_wasted_bytes, Threshold::Value(20e6));
        assert_eq!(r.highest_user_wasted_percent, Threshold::Disabled);
        assert!(
            r.clone()
                .apply_dive_ci("rules:\n  bogus: 1\n", "x")
                .is_err()
        );
    }

    #[test]
    fn toml_file() {
        let mut r = Rules::default();
        r.apply_toml(
            "[rules]\nlowest-efficiency = 0.5\nhighest-reclaimable-bytes = \"1MiB\"\n",
            "x",
        )
        .unwrap();
        assert_eq!(r.lowest_efficiency, Threshold::Value(0.5));
        assert_eq!(r.highest_reclaimable_bytes, Threshold::Value(1048576.0));
    }
}
