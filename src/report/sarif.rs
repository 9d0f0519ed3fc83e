//! `advise --format sarif`: SARIF 2.1.0, one result per finding, located at the
//! Dockerfile line when there is one (so code scanning annotates it).

use crate::analysis::advice::{Finding, RULES};
use serde_json::{Value, json};

/// A SARIF artifact URI for a path as given (relative paths stay relative).
fn uri(path: &str) -> String {
    let p = path.replace('\\', "/");
    let p = p.strip_prefix("./").unwrap_or(&p).to_string();
    let enc: String = p
        .chars()
        .map(|c| match c {
            ' ' => "%20".to_string(),
            '%' => "%25".to_string(),
            '#' => "%23".to_string(),
            '?' => "%3F".to_string(),
            c => c.to_string(),
        })
        .collect();
    if enc.starts_with('/') {
        format!("file://{enc}")
    } else {
        enc
    }
}

pub fn render(image: &str, findings: &[Finding]) -> String {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|(id, text)| {
            json!({
                "id": id,
                "name": id,
                "shortDescription": {"text": text},
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let mut r = json!({
                "ruleId": f.rule,
                "ruleIndex": RULES.iter().position(|(id, _)| *id == f.rule).unwrap_or(0),
                "level": f.severity.as_str(),
                "message": {
                    "text": format!("{} ({} bytes). Fix: {}", f.message, f.bytes, f.fix)
                },
                "properties": {
                    "bytes": f.bytes,
                    "layer": f.layer,
                    "image": image,
                    "paths": f.paths,
                },
            });
            if let Some(d) = &f.dockerfile {
                r["locations"] = json!([{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(&d.path)},
                        "region": {"startLine": d.line, "endLine": d.end_line},
                    }
                }]);
            }
            let related: Vec<Value> = f
                .related
                .iter()
                .filter_map(|r| r.dockerfile.as_ref().map(|d| (r.layer, d)))
                .enumerate()
                .map(|(k, (layer, d))| {
                    json!({
                        "id": k,
                        "message": {"text": format!("layer {layer}")},
                        "physicalLocation": {
                            "artifactLocation": {"uri": uri(&d.path)},
                            "region": {"startLine": d.line, "endLine": d.end_line},
                        }
                    })
                })
                .collect();
            if !related.is_empty() {
                r["relatedLocations"] = Value::Array(related);
            }
            r
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "layerlens",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&doc).expect("serializes");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn uris() {
        assert_eq!(super::uri("./Dockerfile"), "Dockerfile");
        assert_eq!(super::uri("a b/Dockerfile"), "a%20b/Dockerfile");
        assert_eq!(super::uri("/w/Dockerfile"), "file:///w/Dockerfile");
    }
}
