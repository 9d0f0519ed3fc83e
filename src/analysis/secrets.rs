//! Secrets that would ship: files in any layer (also ones a later layer deleted — the
//! pushed blob still carries them) that look like credentials.
//!
//! Two steps, so content is read only for candidates: [`candidates`] picks files by
//! name (private keys, `.env`, cloud credential files, `.npmrc`, `.pypirc`,
//! `.git-credentials`, docker `config.json`) and small text-like files outside system
//! directories; [`scan`] looks at the first bytes of one candidate (the caller reads at
//! most [`READ_CAP`]) for the credential itself. A finding never holds the secret:
//! only a redacted form (a few leading characters and the length).

use crate::model::Image;
use crate::model::entry::EntryKind;
use regex::bytes::Regex;
use serde::Serialize;
use std::sync::OnceLock;

/// Bytes read from a candidate file at most.
pub const READ_CAP: usize = 64 * 1024;
/// Files larger than this are only candidates by name.
pub const SMALL_TEXT_MAX: u64 = 64 * 1024;

/// A file whose content is worth a look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub layer: usize,
    /// Normalised path as stored in the model (no leading `/`).
    pub path: Vec<u8>,
    pub size: u64,
    /// What its name says it is, when it says something.
    pub by_name: Option<&'static str>,
}

/// A credential found in a layer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Secret {
    pub layer: usize,
    pub path: String,
    /// Short machine name: `private-key`, `aws-access-key`, `dotenv`, …
    pub kind: String,
    /// What it is, for people.
    pub description: String,
    /// The secret with all but a few characters hidden.
    pub redacted: String,
    /// Still in the final filesystem (false: a later layer deleted or replaced it, but
    /// the layer's blob still carries it).
    pub visible: bool,
    /// The instruction that made the layer.
    pub created_by: String,
    /// Its Dockerfile line, with `--dockerfile`.
    pub dockerfile: Option<crate::dockerfile::map::Location>,
}

const SYSTEM_PREFIXES: &[&str] = &[
    "usr/",
    "lib/",
    "lib32/",
    "lib64/",
    "bin/",
    "sbin/",
    "proc/",
    "sys/",
    "dev/",
    "var/lib/dpkg/",
    "var/lib/apt/",
    "var/lib/apk/",
    "var/lib/rpm/",
    "var/cache/",
    "etc/ssl/",
    "etc/ca-certificates",
    "etc/pki/",
    "usr/share/",
];

const TEXT_EXTS: &[&str] = &[
    "txt",
    "env",
    "json",
    "yml",
    "yaml",
    "conf",
    "cfg",
    "ini",
    "properties",
    "sh",
    "bash",
    "py",
    "js",
    "mjs",
    "cjs",
    "ts",
    "rb",
    "go",
    "php",
    "toml",
    "xml",
    "pem",
    "key",
    "config",
    "tf",
    "tfvars",
    "npmrc",
    "netrc",
    "secret",
    "secrets",
    "credentials",
    "token",
];

/// What a file's name alone says.
pub fn kind_by_name(path: &[u8]) -> Option<&'static str> {
    let p = String::from_utf8_lossy(path);
    let name = p.rsplit('/').next().unwrap_or(&p);
    let lower = name.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "id_rsa" | "id_dsa" | "id_ecdsa" | "id_ed25519"
    ) || lower.ends_with(".pem")
        || lower.ends_with(".key")
        || lower.ends_with(".p12")
        || lower.ends_with(".pfx")
    {
        return Some("private-key");
    }
    if lower == ".env" || (lower.starts_with(".env.") && !is_example(&lower)) {
        return Some("dotenv");
    }
    if p.ends_with(".aws/credentials") {
        return Some("aws-credentials");
    }
    if p.ends_with("gcloud/application_default_credentials.json")
        || p.ends_with("gcloud/credentials.db")
        || (lower.ends_with(".json")
            && (lower.contains("service-account")
                || lower.contains("service_account")
                || lower.contains("credentials")
                || lower.contains("key")))
    {
        return Some("gcloud-key");
    }
    match lower.as_str() {
        ".npmrc" => return Some("npmrc"),
        ".pypirc" => return Some("pypirc"),
        ".git-credentials" => return Some("git-credentials"),
        ".netrc" => return Some("netrc"),
        _ => {}
    }
    if p.ends_with(".docker/config.json") {
        return Some("docker-config");
    }
    None
}

fn is_example(lower: &str) -> bool {
    ["example", "sample", "template", "dist", "defaults"]
        .iter()
        .any(|x| lower.ends_with(x))
}

fn is_system(path: &str) -> bool {
    SYSTEM_PREFIXES.iter().any(|s| path.starts_with(s))
}

fn text_like(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name.rsplit_once('.') {
        Some((stem, ext)) => {
            !stem.is_empty() && TEXT_EXTS.contains(&ext.to_ascii_lowercase().as_str())
                || stem.is_empty()
        }
        None => true,
    }
}

/// Files of every layer worth reading: credential files by name, and small text-like
/// files outside system directories.
pub fn candidates(img: &Image) -> Vec<Candidate> {
    let mut out = Vec::new();
    for (layer, _) in img.layers.iter().enumerate() {
        if layer >= img.layers_loaded() {
            break;
        }
        let content = img.content(layer);
        for e in &content.entries {
            if !matches!(e.kind, EntryKind::File) || e.size == 0 {
                continue;
            }
            let path = content.path(e);
            let by_name = kind_by_name(path);
            let p = String::from_utf8_lossy(path);
            let small_text = e.size <= SMALL_TEXT_MAX && !is_system(&p) && text_like(&p);
            if by_name.is_some() || small_text {
                out.push(Candidate {
                    layer,
                    path: path.to_vec(),
                    size: e.size,
                    by_name,
                });
            }
        }
    }
    out
}

struct Pattern {
    kind: &'static str,
    description: &'static str,
    re: Regex,
    /// Characters of the match kept visible.
    keep: usize,
}

fn patterns() -> &'static [Pattern] {
    static P: OnceLock<Vec<Pattern>> = OnceLock::new();
    P.get_or_init(|| {
        let mk = |kind, description, re: &str, keep| Pattern {
            kind,
            description,
            re: Regex::new(re).expect("valid pattern"),
            keep,
        };
        vec![
            mk(
                "private-key",
                "private key",
                r"-----BEGIN ((RSA|DSA|EC|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY( BLOCK)?-----",
                0,
            ),
            mk(
                "aws-access-key",
                "AWS access key id",
                r"\b(AKIA|ASIA)[0-9A-Z]{16}\b",
                4,
            ),
            mk(
                "aws-secret-key",
                "AWS secret access key",
                r"(?i)aws_secret_access_key\s*[=:]\s*[A-Za-z0-9/+]{40}",
                0,
            ),
            mk(
                "github-token",
                "GitHub token",
                r"\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b",
                4,
            ),
            mk(
                "github-token",
                "GitHub token",
                r"\bgithub_pat_[A-Za-z0-9_]{40,}",
                11,
            ),
            mk(
                "slack-token",
                "Slack token",
                r"\bxox[abposr]-[A-Za-z0-9-]{10,}",
                5,
            ),
            mk(
                "gcloud-key",
                "Google service account key",
                r#""type"\s*:\s*"service_account""#,
                0,
            ),
            mk(
                "npm-token",
                "npm auth token",
                r"(?m)_auth(Token)?\s*=\s*\S{8,}",
                0,
            ),
            mk(
                "docker-auth",
                "registry credentials (docker config auths)",
                r#""auth"\s*:\s*"[A-Za-z0-9+/=]{8,}""#,
                0,
            ),
            mk(
                "git-credentials",
                "URL with a password",
                r"[a-z][a-z0-9+.-]*://[^\s:/@]+:[^\s@/]{3,}@[^\s]+",
                0,
            ),
        ]
    })
}

/// Hide all but the first `keep` characters of a secret: `AKIA…(20 chars)`.
pub fn redact(secret: &str, keep: usize) -> String {
    let n = secret.chars().count();
    let keep = keep.min(n / 3);
    let head: String = secret.chars().take(keep).collect();
    format!("{head}…({n} chars)")
}

/// Look for credentials in the first bytes of a candidate. `visible` and `created_by`
/// are filled by the caller ([`locate`]).
pub fn scan(c: &Candidate, head: &[u8]) -> Vec<Secret> {
    let mut out = Vec::new();
    let path = format!("/{}", String::from_utf8_lossy(&c.path));
    let text_like = !head.iter().take(8192).any(|b| *b == 0);
    let add = |out: &mut Vec<Secret>, kind: &str, description: &str, redacted: String| {
        if !out
            .iter()
            .any(|s: &Secret| s.kind == kind && s.redacted == redacted)
        {
            out.push(Secret {
                layer: c.layer,
                path: path.clone(),
                kind: kind.to_string(),
                description: description.to_string(),
                redacted,
                visible: false,
                created_by: String::new(),
                dockerfile: None,
            });
        }
    };
    if text_like {
        for p in patterns() {
            for m in p.re.find_iter(head).take(3) {
                let s = String::from_utf8_lossy(m.as_bytes());
                let red = match p.kind {
                    "private-key" => format!("{} ({} bytes file)", s, c.size),
                    "aws-secret-key" | "npm-token" | "docker-auth" => {
                        let (k, v) = s.split_once(['=', ':']).unwrap_or(("", &s));
                        let v = v.trim().trim_matches('"');
                        format!("{}= {}", k.trim(), redact(v, 2))
                    }
                    "git-credentials" => {
                        // scheme://user:PASSWORD@host → keep user and host.
                        let (pre, rest) = s.split_once("://").unwrap_or(("", &s));
                        let (cred, host) = rest.split_once('@').unwrap_or((rest, ""));
                        let (user, pw) = cred.split_once(':').unwrap_or((cred, ""));
                        format!("{pre}://{user}:{}@{host}", redact(pw, 0))
                    }
                    "gcloud-key" => "\"type\": \"service_account\" (with its private key)".into(),
                    _ => redact(&s, p.keep),
                };
                add(&mut out, p.kind, p.description, red);
            }
        }
    }
    match c.by_name {
        Some("dotenv") if text_like => {
            // KEY=VALUE lines with a value: name the keys, hide the values.
            let text = String::from_utf8_lossy(head);
            let mut keys = Vec::new();
            for line in text.lines() {
                let l = line.trim().trim_start_matches("export ").trim();
                if l.starts_with('#') {
                    continue;
                }
                if let Some((k, v)) = l.split_once('=') {
                    let v = v.trim().trim_matches(['"', '\'']);
                    if !k.trim().is_empty() && !v.is_empty() {
                        keys.push(format!("{}={}", k.trim(), redact(v, 0)));
                    }
                }
            }
            if !keys.is_empty() {
                let shown: Vec<&String> = keys.iter().take(4).collect();
                let more = keys.len().saturating_sub(4);
                let mut red = shown
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                if more > 0 {
                    red.push_str(&format!(", … {more} more"));
                }
                add(&mut out, "dotenv", ".env file with values", red);
            }
        }
        Some("aws-credentials") if out.is_empty() && text_like => {
            if String::from_utf8_lossy(head).contains("aws_") {
                add(
                    &mut out,
                    "aws-credentials",
                    "AWS credentials file",
                    format!("({} bytes file)", c.size),
                );
            }
        }
        Some(kind @ ("pypirc" | "netrc")) if out.is_empty() && text_like => {
            let text = String::from_utf8_lossy(head);
            for line in text.lines() {
                let l = line.trim();
                let val = l
                    .strip_prefix("password")
                    .map(|r| r.trim_start().trim_start_matches([':', '=']).trim());
                if let Some(v) = val.filter(|v| !v.is_empty()) {
                    add(
                        &mut out,
                        kind,
                        "password in a package-index or netrc file",
                        format!("password = {}", redact(v, 0)),
                    );
                    break;
                }
            }
        }
        _ => {}
    }
    out
}

/// Fill `visible` (the file from that layer is still what the final filesystem shows)
/// and the layer's instruction.
pub fn locate(img: &Image, mut s: Secret) -> Secret {
    let path = s.path.trim_start_matches('/').as_bytes().to_vec();
    let top = img.layers.len().saturating_sub(1);
    s.visible = match img.tree.lookup_path(&path) {
        Some(node) => {
            img.tree.present_at(node, top)
                && (s.layer + 1..img.layers.len()).all(|k| img.tree.version_in(node, k).is_none())
        }
        None => false,
    };
    s.created_by = crate::report::escape_controls(img.created_by(s.layer)).into_owned();
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(path: &str) -> Candidate {
        Candidate {
            layer: 1,
            path: path.as_bytes().to_vec(),
            size: 100,
            by_name: kind_by_name(path.as_bytes()),
        }
    }

    #[test]
    fn names_pick_credential_files() {
        assert_eq!(kind_by_name(b"root/.ssh/id_rsa"), Some("private-key"));
        assert_eq!(kind_by_name(b"app/.env"), Some("dotenv"));
        assert_eq!(kind_by_name(b"app/.env.example"), None);
        assert_eq!(
            kind_by_name(b"root/.aws/credentials"),
            Some("aws-credentials")
        );
        assert_eq!(kind_by_name(b"home/u/.npmrc"), Some("npmrc"));
        assert_eq!(
            kind_by_name(b"root/.docker/config.json"),
            Some("docker-config")
        );
        assert_eq!(kind_by_name(b"app/main.py"), None);
    }

    #[test]
    fn secrets_are_found_and_redacted() {
        let key = "AKIAABCDEFGHIJKLMNOP";
        let secret = "wJalrXUtnFEMIK7MDENGbPxRfiCYzzzzzzzzzzzz";
        let body =
            format!("[default]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n");
        let found = scan(&cand("root/.aws/credentials"), body.as_bytes());
        let kinds: Vec<&str> = found.iter().map(|s| s.kind.as_str()).collect();
        assert!(kinds.contains(&"aws-access-key"), "{found:?}");
        assert!(kinds.contains(&"aws-secret-key"), "{found:?}");
        for s in &found {
            assert!(
                !s.redacted.contains(key) && !s.redacted.contains(secret),
                "{s:?}"
            );
            assert!(!s.redacted.contains(&secret[..8]), "{s:?}");
        }
        let pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
        let found = scan(&cand("root/.ssh/id_ed25519"), pem.as_bytes());
        assert_eq!(found[0].kind, "private-key");
        assert!(!found[0].redacted.contains("b3BlbnNz"));
        let env = "DB_PASSWORD=hunter2hunter2\n# comment\nEMPTY=\n";
        let found = scan(&cand("app/.env"), env.as_bytes());
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].redacted.starts_with("DB_PASSWORD="), "{found:?}");
        assert!(!found[0].redacted.contains("hunter2"));
        let tok = format!("token: ghp_{}", "a1B2".repeat(9));
        let found = scan(&cand("app/config.yml"), tok.as_bytes());
        assert_eq!(found[0].kind, "github-token");
        assert!(found[0].redacted.starts_with("ghp_…"), "{found:?}");
        assert!(scan(&cand("app/main.py"), b"print('hello')\n").is_empty());
        let gc = "https://bob:s3cr3tpass@github.com\n";
        let found = scan(&cand("root/.git-credentials"), gc.as_bytes());
        assert_eq!(found[0].redacted, "https://bob:…(10 chars)@github.com");
    }
}
