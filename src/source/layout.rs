//! Finding an image inside a store (docker-save archive, OCI layout directory or
//! OCI archive): docker's `manifest.json` or the OCI `index.json` → (nested indexes) →
//! manifest → config + layer blobs.

use crate::error::{Error, Result};
use serde::Deserialize;
use serde_json::Value;

/// Where the small files of an image live (JSON documents and blobs by name).
pub trait MetaStore {
    /// The whole content of a small file, or None when it does not exist.
    fn read_small(&self, name: &str) -> Result<Option<Vec<u8>>>;
    /// Every name in the store (for error messages and format detection).
    fn has(&self, name: &str) -> bool;
}

#[derive(Debug, Clone)]
pub struct PlanLayer {
    /// Name of the blob in the store.
    pub blob: String,
    pub media_type: Option<String>,
    pub size: Option<u64>,
    pub digest: Option<String>,
}

/// What to read to load one image.
#[derive(Debug, Clone)]
pub struct Plan {
    pub config: Vec<u8>,
    pub layers: Vec<PlanLayer>,
    pub repo_tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    pub fn host() -> Platform {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "powerpc64" => "ppc64le",
            other => other,
        };
        Platform {
            os: "linux".into(),
            architecture: architecture.into(),
            variant: None,
        }
    }

    /// "linux/arm64/v8" → Platform.
    pub fn parse(s: &str) -> Result<Platform> {
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            [os, arch] => Ok(Platform {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: None,
            }),
            [os, arch, v] => Ok(Platform {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: Some(v.to_string()),
            }),
            _ => Err(Error::usage(format!(
                "invalid --platform {s:?}: expected OS/ARCH[/VARIANT], e.g. linux/amd64"
            ))),
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifestEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    #[serde(default)]
    layers: Option<Vec<String>>,
}

pub fn blob_name(digest: &str) -> Result<String> {
    let (alg, hex) = digest
        .split_once(':')
        .ok_or_else(|| Error::corrupt(format!("invalid digest {digest:?}")))?;
    if alg.is_empty()
        || hex.is_empty()
        || hex.contains('/')
        || alg.contains('/')
        || hex.contains("..")
    {
        return Err(Error::corrupt(format!("invalid digest {digest:?}")));
    }
    Ok(format!("blobs/{alg}/{hex}"))
}

fn read_json(store: &dyn MetaStore, name: &str, what: &str) -> Result<Value> {
    let bytes = store
        .read_small(name)?
        .ok_or_else(|| Error::corrupt(format!("{what} {name} is missing from the image")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::corrupt(format!("{what} {name} is not valid JSON: {e}")))
}

/// Does `tag` (as the user wrote it) name `candidate` (a RepoTag or ref annotation)?
fn tag_matches(tag: &str, candidate: &str) -> bool {
    if tag == candidate {
        return true;
    }
    // "app" matches "app:latest"; "docker.io/library/app:1" matches "app:1".
    let norm = |s: &str| -> String {
        let s = s.strip_prefix("docker.io/").unwrap_or(s);
        let s = s.strip_prefix("library/").unwrap_or(s);
        let last = s.rsplit('/').next().unwrap_or(s);
        if last.contains(':') || last.contains('@') {
            s.to_string()
        } else {
            format!("{s}:latest")
        }
    };
    norm(tag) == norm(candidate)
}

/// Find the image to load. `selector` is a tag / ref name, or None for "the only one".
pub fn resolve(
    store: &dyn MetaStore,
    selector: Option<&str>,
    platform: Option<&Platform>,
) -> Result<Plan> {
    if store.has("manifest.json") {
        if let Some(plan) = resolve_docker(store, selector)? {
            return Ok(plan);
        }
    }
    if store.has("index.json") {
        return resolve_oci(store, selector, platform);
    }
    if store.has("manifest.json") {
        return Err(Error::not_found(format!(
            "no image tagged {:?} in this archive",
            selector.unwrap_or_default()
        )));
    }
    Err(Error::corrupt(
        "not an image archive or layout: neither manifest.json (docker save) nor index.json (OCI) found",
    ))
}

fn resolve_docker(store: &dyn MetaStore, selector: Option<&str>) -> Result<Option<Plan>> {
    let bytes = store.read_small("manifest.json")?.unwrap_or_default();
    let entries: Vec<DockerManifestEntry> = serde_json::from_slice(&bytes)
        .map_err(|e| Error::corrupt(format!("manifest.json is not a docker-save manifest: {e}")))?;
    if entries.is_empty() {
        return Ok(None);
    }
    let entry = match selector {
        None => &entries[0],
        Some(sel) => {
            let found = entries.iter().find(|e| {
                e.repo_tags.iter().flatten().any(|t| tag_matches(sel, t))
                    || e.config.contains(sel.trim_start_matches("sha256:"))
            });
            match found {
                Some(e) => e,
                None if store.has("index.json") => return Ok(None),
                None => {
                    let tags: Vec<&str> = entries
                        .iter()
                        .flat_map(|e| e.repo_tags.iter().flatten())
                        .map(|s| s.as_str())
                        .collect();
                    return Err(Error::not_found(format!(
                        "no image tagged {sel:?} in this archive (it has: {})",
                        if tags.is_empty() {
                            "untagged images".to_string()
                        } else {
                            tags.join(", ")
                        }
                    )));
                }
            }
        }
    };
    let layers = entry.layers.clone().unwrap_or_default();
    let config = store.read_small(&entry.config)?.ok_or_else(|| {
        Error::corrupt(format!(
            "the image config {} is missing from the archive",
            entry.config
        ))
    })?;
    // Early Docker 25 wrote manifests with no layers when saving by digest: fall back
    // to the OCI index when the config says there are layers.
    if layers.is_empty() && store.has("index.json") {
        let v: Value = serde_json::from_slice(&config).unwrap_or(Value::Null);
        if v["rootfs"]["diff_ids"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
        {
            return Ok(None);
        }
    }
    let plan_layers = layers
        .into_iter()
        .map(|blob| {
            let digest = blob
                .strip_prefix("blobs/")
                .and_then(|r| r.split_once('/'))
                .map(|(alg, hex)| format!("{alg}:{hex}"));
            PlanLayer {
                blob,
                media_type: None,
                size: None,
                digest,
            }
        })
        .collect();
    Ok(Some(Plan {
        config,
        layers: plan_layers,
        repo_tags: entry.repo_tags.clone().unwrap_or_default(),
    }))
}

const REF_NAME: &str = "org.opencontainers.image.ref.name";
const CONTAINERD_NAME: &str = "io.containerd.image.name";

fn is_index(mt: &str) -> bool {
    mt == "application/vnd.oci.image.index.v1+json"
        || mt == "application/vnd.docker.distribution.manifest.list.v2+json"
}

fn resolve_oci(
    store: &dyn MetaStore,
    selector: Option<&str>,
    platform: Option<&Platform>,
) -> Result<Plan> {
    let index = read_json(store, "index.json", "OCI index")?;
    let manifests = index["manifests"].as_array().cloned().unwrap_or_default();
    if manifests.is_empty() {
        return Err(Error::corrupt("index.json lists no image"));
    }
    let chosen: Value = match selector {
        Some(sel) => {
            let found = manifests.iter().find(|d| {
                let ann = &d["annotations"];
                [REF_NAME, CONTAINERD_NAME].iter().any(|k| {
                    ann[*k].as_str().is_some_and(|n| {
                        n == sel || tag_matches(sel, n) || n.ends_with(&format!(":{sel}"))
                    })
                }) || d["digest"].as_str().is_some_and(|dg| dg == sel)
            });
            match found {
                Some(d) => d.clone(),
                None => {
                    let names: Vec<String> = manifests
                        .iter()
                        .filter_map(|d| d["annotations"][REF_NAME].as_str().map(String::from))
                        .collect();
                    return Err(Error::not_found(format!(
                        "no image named {sel:?} in this layout (it has: {})",
                        if names.is_empty() {
                            "unnamed images".into()
                        } else {
                            names.join(", ")
                        }
                    )));
                }
            }
        }
        None => {
            // Without a selector take the only image (ignoring attestation manifests).
            manifests[0].clone()
        }
    };
    // A full name (containerd's, or a ref name like `app:1`) beats a bare tag.
    let names: Vec<&str> = [CONTAINERD_NAME, REF_NAME]
        .iter()
        .filter_map(|k| chosen["annotations"][*k].as_str())
        .collect();
    let repo_tags = names
        .iter()
        .find(|n| n.contains(':') || n.contains('/'))
        .or(names.first())
        .map(|n| vec![n.to_string()])
        .unwrap_or_default();
    let host = Platform::host();
    let explicit = platform.is_some();
    let platform = platform.unwrap_or(&host);
    let manifest = descend(store, &chosen, platform, explicit, 0)?;
    let config_digest = manifest["config"]["digest"]
        .as_str()
        .ok_or_else(|| Error::corrupt("image manifest has no config digest"))?;
    let config = store
        .read_small(&blob_name(config_digest)?)?
        .ok_or_else(|| {
            Error::corrupt(format!(
                "config blob {config_digest} is missing from the layout"
            ))
        })?;
    let mut layers = Vec::new();
    for l in manifest["layers"].as_array().into_iter().flatten() {
        let digest = l["digest"]
            .as_str()
            .ok_or_else(|| Error::corrupt("layer descriptor has no digest"))?;
        let blob = blob_name(digest)?;
        if !store.has(&blob) {
            return Err(Error::corrupt(format!(
                "layer blob {digest} is missing from the layout"
            )));
        }
        layers.push(PlanLayer {
            blob,
            media_type: l["mediaType"].as_str().map(String::from),
            size: l["size"].as_u64(),
            digest: Some(digest.to_string()),
        });
    }
    Ok(Plan {
        config,
        layers,
        repo_tags,
    })
}

/// Follow a descriptor down to an image manifest, choosing the platform in indexes.
/// With `explicit` (the user's `--platform`), an index without that platform is an
/// error; otherwise its only real image is taken when none is the host's.
fn descend(
    store: &dyn MetaStore,
    desc: &Value,
    platform: &Platform,
    explicit: bool,
    depth: usize,
) -> Result<Value> {
    if depth > 8 {
        return Err(Error::corrupt("image index nesting is too deep"));
    }
    let digest = desc["digest"]
        .as_str()
        .ok_or_else(|| Error::corrupt("descriptor without digest"))?;
    let doc = read_json(store, &blob_name(digest)?, "blob")?;
    let mt = doc["mediaType"]
        .as_str()
        .or(desc["mediaType"].as_str())
        .unwrap_or("");
    if is_index(mt) || (doc.get("manifests").is_some() && doc.get("layers").is_none()) {
        let ms = doc["manifests"].as_array().cloned().unwrap_or_default();
        let matching = |d: &&Value| {
            let p = &d["platform"];
            p["os"].as_str() == Some(platform.os.as_str())
                && p["architecture"].as_str() == Some(platform.architecture.as_str())
                && (platform.variant.is_none()
                    || p["variant"].as_str() == platform.variant.as_deref())
        };
        let real = |d: &&Value| {
            d["platform"]["os"].as_str() != Some("unknown")
                && d["annotations"]["vnd.docker.reference.type"].as_str()
                    != Some("attestation-manifest")
        };
        let pick = ms.iter().find(matching).or_else(|| {
            let reals: Vec<&Value> = ms.iter().filter(real).collect();
            if reals.len() == 1 && !explicit {
                Some(reals[0])
            } else {
                None
            }
        });
        return match pick {
            Some(d) => descend(store, d, platform, explicit, depth + 1),
            None => {
                let avail: Vec<String> = ms
                    .iter()
                    .filter(real)
                    .map(|d| {
                        let p = &d["platform"];
                        format!(
                            "{}/{}",
                            p["os"].as_str().unwrap_or("?"),
                            p["architecture"].as_str().unwrap_or("?")
                        )
                    })
                    .collect();
                Err(Error::not_found(format!(
                    "no image for platform {platform} in this index (available: {}); use --platform",
                    avail.join(", ")
                )))
            }
        };
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags() {
        assert!(tag_matches("app", "app:latest"));
        assert!(tag_matches("docker.io/library/app:1", "app:1"));
        assert!(!tag_matches("app:2", "app:1"));
    }

    #[test]
    fn platform_parse() {
        assert_eq!(
            Platform::parse("linux/arm64/v8")
                .unwrap()
                .variant
                .as_deref(),
            Some("v8")
        );
        assert!(Platform::parse("linux").is_err());
    }
}
