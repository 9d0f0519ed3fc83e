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

/// `triage --format sarif`: the advice as in `advise`, and one `error` result per secret
/// that would ship (never the secret itself: its redacted form), at its Dockerfile line
/// when known.
pub fn render_triage(t: &crate::analysis::push::Triage) -> String {
    let mut doc: Value =
        serde_json::from_str(&render(&t.image.reference, &t.findings)).expect("our own JSON");
    let run = &mut doc["runs"][0];
    let rule_index = run["tool"]["driver"]["rules"]
        .as_array()
        .map(|r| r.len())
        .unwrap_or(0);
    if let Some(rules) = run["tool"]["driver"]["rules"].as_array_mut() {
        rules.push(json!({
            "id": "secret",
            "name": "secret",
            "shortDescription": {"text": "a credential in a layer: a push ships it, even when a later layer deleted it"},
        }));
    }
    if let Some(results) = run["results"].as_array_mut() {
        for sec in &t.secrets {
            let where_ = if sec.visible {
                "in the final filesystem"
            } else {
                "deleted by a later layer, still in this layer's blob"
            };
            let mut r = json!({
                "ruleId": "secret",
                "ruleIndex": rule_index,
                "level": "error",
                "message": {"text": format!(
                    "{} at {} (layer {}, {where_}): {}",
                    sec.description, sec.path, sec.layer, sec.redacted
                )},
                "properties": {
                    "kind": sec.kind,
                    "layer": sec.layer,
                    "path": sec.path,
                    "visible": sec.visible,
                    "image": t.image.reference,
                },
            });
            if let Some(d) = &sec.dockerfile {
                r["locations"] = json!([{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(&d.path)},
                        "region": {"startLine": d.line, "endLine": d.end_line},
                    }
                }]);
            }
            results.push(r);
        }
    }
    let mut s = serde_json::to_string_pretty(&doc).expect("serializes");
    s.push('\n');
    s
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
    use crate::analysis::advice::{Finding, PathBytes, Related, Severity};
    use crate::dockerfile::map::Location;

    fn finding(dockerfile: bool) -> Finding {
        let loc = |line| Location {
            path: "app/Dockerfile".into(),
            line,
            end_line: line + 2,
            stage: None,
        };
        Finding {
            rule: "package-cache",
            severity: Severity::Warning,
            bytes: 1234,
            layer: 3,
            dockerfile: dockerfile.then(|| loc(7)),
            related: vec![Related {
                layer: 4,
                dockerfile: dockerfile.then(|| loc(12)),
            }],
            paths: vec![PathBytes {
                path: "/var/lib/apt/lists/x".into(),
                bytes: 1234,
            }],
            message: "layer 3 leaves a cache".into(),
            fix: "clean it".into(),
        }
    }

    #[test]
    fn one_result_per_finding_located_at_the_line() {
        let v: serde_json::Value =
            serde_json::from_str(&super::render("img:1", &[finding(true), finding(false)]))
                .unwrap();
        assert_eq!(v["version"], "2.1.0");
        let run = &v["runs"][0];
        assert_eq!(run["tool"]["driver"]["name"], "layerlens");
        let r = run["results"].as_array().unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0]["ruleId"], "package-cache");
        assert_eq!(r[0]["level"], "warning");
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(
            rules[r[0]["ruleIndex"].as_u64().unwrap() as usize]["id"],
            "package-cache"
        );
        assert!(
            r[0]["message"]["text"]
                .as_str()
                .unwrap()
                .contains("1234 bytes")
        );
        let pl = &r[0]["locations"][0]["physicalLocation"];
        assert_eq!(pl["artifactLocation"]["uri"], "app/Dockerfile");
        assert_eq!(pl["region"]["startLine"], 7);
        assert_eq!(pl["region"]["endLine"], 9);
        assert_eq!(
            r[0]["relatedLocations"][0]["physicalLocation"]["region"]["startLine"],
            12
        );
        // Without a Dockerfile: no location, the layer in the properties.
        assert!(r[1].get("locations").is_none());
        assert_eq!(r[1]["properties"]["layer"], 3);
        // The Markdown summary names the same places.
        let md = crate::report::markdown::render("img:1", 10_000, &[finding(true), finding(false)]);
        assert!(md.contains("`app/Dockerfile:7-9`"), "{md}");
        assert!(md.contains("| layer 3 |"), "{md}");
    }

    #[test]
    fn uris() {
        assert_eq!(super::uri("./Dockerfile"), "Dockerfile");
        assert_eq!(super::uri("a b/Dockerfile"), "a%20b/Dockerfile");
        assert_eq!(super::uri("/w/Dockerfile"), "file:///w/Dockerfile");
    }
}
