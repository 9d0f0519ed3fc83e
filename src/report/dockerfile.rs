//! `--dockerfile` for the headless commands: parse and map (warnings on stderr), the
//! Dockerfile a `docker build` command line uses, and Dockerfile lines in a diff.

use crate::error::Result;
use crate::model::Image;
use std::path::{Path, PathBuf};

/// A Dockerfile and the mapping of an image's history to it.
pub struct MappedDockerfile {
    pub df: crate::dockerfile::Dockerfile,
    pub mapping: crate::dockerfile::map::Mapping,
}

impl MappedDockerfile {
    pub fn with(&self) -> crate::analysis::advice::WithDockerfile<'_> {
        crate::analysis::advice::WithDockerfile {
            df: &self.df,
            mapping: &self.mapping,
        }
    }
}

/// Parse `path` and map `img` to it; syntax errors and mismatches are warnings on
/// stderr (the command goes on), an unreadable file is an error.
pub fn map_dockerfile(img: &Image, path: Option<&Path>) -> Result<Option<MappedDockerfile>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let df = crate::dockerfile::load(path)?;
    let mapping = crate::dockerfile::map::map(&df, img);
    for w in df
        .warnings
        .iter()
        .map(|w| format!("{}: {w}", df.path))
        .chain(mapping.warnings.iter().cloned())
    {
        eprintln!(
            "layerlens: warning: {}",
            super::escape_controls(&w).replace('\n', " ")
        );
    }
    Ok(Some(MappedDockerfile { df, mapping }))
}

/// The Dockerfile a `docker build` command line uses: its `-f`/`--file`, else
/// `Dockerfile` in the context (the last argument); None when it reads stdin.
pub fn build_dockerfile(args: &[String]) -> Option<PathBuf> {
    let mut file: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "-f" || a == "--file" {
            file = it.next().cloned();
        } else if let Some(f) = a.strip_prefix("--file=") {
            file = Some(f.to_string());
        } else if let Some(f) = a
            .strip_prefix("-f")
            .filter(|f| !f.is_empty() && !a.starts_with("--"))
        {
            file = Some(f.to_string());
        }
    }
    match file {
        Some(f) if f == "-" => None,
        Some(f) => Some(PathBuf::from(f)),
        None => {
            let ctx = args.last()?;
            if ctx == "-" || ctx.starts_with('-') || ctx.contains("://") {
                return None;
            }
            Some(Path::new(ctx).join("Dockerfile"))
        }
    }
}

/// Add B's Dockerfile lines to a diff: JSON gains `"dockerfile": {"path", "layers",
/// "bust_point"}`, text a line naming where the cache was busted.
pub fn annotate_diff(
    text: String,
    json: bool,
    b: &Image,
    d: &crate::analysis::diff::ImageDiff,
    m: &MappedDockerfile,
) -> String {
    let loc = |l: usize| {
        m.mapping
            .instruction_of_layer(b, l)
            .map(|i| crate::dockerfile::map::location(&m.df, i))
    };
    let bust = d.summary.bust_point.and_then(loc);
    if json {
        let Ok(mut v) = serde_json::from_str::<serde_json::Value>(&text) else {
            return text;
        };
        let layers: Vec<_> = (0..b.layers.len()).map(loc).collect();
        v["dockerfile"] = serde_json::json!({
            "path": m.df.path,
            "layers": layers,
            "bust_point": bust,
        });
        let mut s = serde_json::to_string_pretty(&v).expect("serializes");
        s.push('\n');
        s
    } else {
        let mut s = text;
        if let (Some(l), Some(layer)) = (&bust, d.summary.bust_point) {
            let ins = m
                .mapping
                .instruction_of_layer(b, layer)
                .map(|i| m.df.instructions[i].text.clone())
                .unwrap_or_default();
            s.push_str(&format!(
                    "\nCache busted at {}:{} (`{}`): change the lines above it less often than the ones below.\n",
                    l.path,
                    l.line,
                    super::text::short_command(&ins, 70)
                ));
        }
        s
    }
}
