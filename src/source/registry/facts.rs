//! What a push plan needs to know, gathered read-only: the compressed digests known for
//! each layer (learnt the way the daemon knows them), confirmed with `HEAD` on the
//! registry, and the gzip size of the layers that will be uploaded (measured by
//! compressing them, like `docker push` does).
//!
//! Compressed digests are learnt from: manifests of the tags of the target repository;
//! the `RepoDigests` of local images that share a layer (their manifests on the same
//! registry); the daemon's own push/pull record (`distribution/v2metadata-by-diffid`
//! in Docker's data root, when readable); the blobs of an OCI layout.

use super::load::{pick_platform, resolve};
use super::{ManifestDoc, Registry, RegistryRef};
use crate::analysis::push::{KnownBlob, LayerFacts, Measured, Target};
use crate::error::{Error, ErrorKind, Result, from_io};
use crate::model::Image;
use crate::source::ImageSource;
use crate::source::blob::{Compression, sniff};
use crate::source::layout::Platform;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};

/// Tags of the target repository looked at, at most.
const MAX_TAGS: usize = 30;
/// `HEAD` requests per layer, at most.
const MAX_HEADS_PER_LAYER: usize = 8;

/// The image a tag of the registry points to now.
#[derive(Debug, Clone)]
pub struct RemoteImage {
    pub reference: String,
    pub diff_ids: Vec<String>,
    pub layers: Vec<(String, u64)>,
}

#[derive(Default)]
struct Learnt {
    /// diff id → (digest, size, repository on the target registry, learnt from)
    by_diff: HashMap<String, Vec<(String, Option<u64>, Option<String>, String)>>,
}

impl Learnt {
    fn add(&mut self, diff: &str, digest: &str, size: Option<u64>, repo: Option<&str>, from: &str) {
        if !super::valid_digest(digest) {
            return;
        }
        let v = self.by_diff.entry(diff.to_string()).or_default();
        if let Some(e) = v
            .iter_mut()
            .find(|e| e.0 == digest && e.2.as_deref() == repo)
        {
            if e.1.is_none() {
                e.1 = size;
            }
            return;
        }
        v.push((
            digest.to_string(),
            size,
            repo.map(str::to_string),
            from.to_string(),
        ));
    }
}

fn config_diff_ids(config: &[u8]) -> Vec<String> {
    serde_json::from_slice::<serde_json::Value>(config)
        .ok()
        .and_then(|v| {
            v["rootfs"]["diff_ids"].as_array().map(|a| {
                a.iter()
                    .filter_map(|d| d.as_str().map(str::to_string))
                    .collect()
            })
        })
        .unwrap_or_default()
}

/// Normalised registry host of a docker name (`docker.io` for Docker Hub names).
pub fn registry_of(name: &str) -> (String, String) {
    let first = name.split('/').next().unwrap_or("");
    let has_host =
        name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    if has_host {
        let rest = &name[first.len() + 1..];
        let host = if first == "index.docker.io" || first == "registry-1.docker.io" {
            "docker.io"
        } else {
            first
        };
        let rest = if host == "docker.io" && !rest.contains('/') {
            format!("library/{rest}")
        } else {
            rest.to_string()
        };
        (host.to_string(), rest)
    } else if name.contains('/') {
        ("docker.io".into(), name.to_string())
    } else {
        ("docker.io".into(), format!("library/{name}"))
    }
}

/// A local image that was pushed or pulled: its layers and where from.
#[derive(Debug, Clone, Default)]
pub struct LocalPushed {
    pub name: String,
    pub diff_ids: Vec<String>,
    pub repo_digests: Vec<String>,
}

/// Gather the facts for pushing `img` to `target`. Also returns what the target tag
/// points to now (the default `--against`).
pub fn gather(
    reg: &Registry,
    target: &Target,
    img: &Image,
    local: &[LocalPushed],
    daemon_root: Option<&std::path::Path>,
    platform: Option<&Platform>,
) -> Result<(Vec<LayerFacts>, Option<RemoteImage>)> {
    let mut learnt = Learnt::default();
    let ours: HashSet<&str> = img.layers.iter().map(|l| l.diff_id.as_str()).collect();
    let mut current = None;
    let mut newest: Option<(String, RemoteImage)> = None;

    // 1. Tags of the target repository (a new repository has none).
    let tags = match reg.tags(&target.repository) {
        Ok(t) => t,
        Err(e) if e.kind == ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    let mut tags: Vec<String> = tags;
    tags.sort_by_key(|t| (t != &target.tag, t.clone()));
    for tag in tags.iter().take(MAX_TAGS) {
        let r = RegistryRef {
            registry: target.registry.clone(),
            repository: target.repository.clone(),
            tag: Some(tag.clone()),
            digest: None,
        };
        let resolved = match resolve(reg, &r, platform) {
            Ok(x) => x,
            Err(e) if e.kind == ErrorKind::NotFound || e.kind == ErrorKind::Corrupt => continue,
            Err(e) => return Err(e),
        };
        let diffs = config_diff_ids(&resolved.config);
        if diffs.len() != resolved.manifest.layers.len() {
            continue;
        }
        for (d, l) in diffs.iter().zip(&resolved.manifest.layers) {
            learnt.add(
                d,
                &l.digest,
                Some(l.size),
                Some(&target.repository),
                &format!("tag {tag}"),
            );
        }
        let created = serde_json::from_slice::<serde_json::Value>(&resolved.config)
            .ok()
            .and_then(|v| v["created"].as_str().map(str::to_string))
            .unwrap_or_default();
        let remote = RemoteImage {
            reference: r.to_string(),
            layers: resolved
                .manifest
                .layers
                .iter()
                .map(|l| (l.digest.clone(), l.size))
                .collect(),
            diff_ids: diffs,
        };
        if *tag == target.tag {
            current = Some(remote);
            newest = None;
        } else if current.is_none() && newest.as_ref().is_none_or(|(c, _)| created > *c) {
            newest = Some((created, remote));
        }
    }
    // A new tag replaces nothing: nodes run the repository's newest image.
    if current.is_none() {
        current = newest.map(|(_, r)| r);
    }

    // 2. RepoDigests of local images sharing a layer, on the same registry.
    for li in local {
        if !li.diff_ids.iter().any(|d| ours.contains(d.as_str())) {
            continue;
        }
        for rd in &li.repo_digests {
            let Some((name, digest)) = rd.split_once('@') else {
                continue;
            };
            let (host, repo) = registry_of(name);
            if host != target.registry || !super::valid_digest(digest) {
                continue;
            }
            let fetched = match reg.manifest(&repo, digest) {
                Ok(f) => f,
                Err(e) if e.kind == ErrorKind::NotFound => continue,
                Err(e) if e.kind == ErrorKind::PermissionDenied => continue,
                Err(e) => return Err(e),
            };
            let Ok(mut doc) = ManifestDoc::parse(&fetched) else {
                continue;
            };
            if doc.is_index(&fetched.media_type) {
                let Some(d) = pick_platform(&doc.manifests, platform).cloned() else {
                    continue;
                };
                let Ok(m) = reg.manifest(&repo, &d.digest) else {
                    continue;
                };
                let Ok(md) = ManifestDoc::parse(&m) else {
                    continue;
                };
                doc = md;
            }
            if doc.layers.len() != li.diff_ids.len() {
                continue;
            }
            for (d, l) in li.diff_ids.iter().zip(&doc.layers) {
                if ours.contains(d.as_str()) {
                    learnt.add(
                        d,
                        &l.digest,
                        Some(l.size),
                        Some(&repo),
                        &format!("local image {}", li.name),
                    );
                }
            }
        }
    }

    // 3. The daemon's own record of what it pushed and pulled.
    if let Some(root) = daemon_root {
        for l in &img.layers {
            for (digest, source_repo) in v2metadata(root, &l.diff_id) {
                let (host, repo) = registry_of(&source_repo);
                if host == target.registry {
                    learnt.add(
                        &l.diff_id,
                        &digest,
                        None,
                        Some(&repo),
                        "the daemon's push/pull record",
                    );
                } else {
                    learnt.add(
                        &l.diff_id,
                        &digest,
                        None,
                        None,
                        "the daemon's push/pull record",
                    );
                }
            }
        }
    }

    // 4. Compressed blobs an OCI layout already holds.
    for l in &img.layers {
        if let (Some(d), Some(mt)) = (&l.blob_digest, &l.media_type) {
            if mt.ends_with("gzip") && d != &l.diff_id {
                learnt.add(&l.diff_id, d, l.blob_size, None, "the OCI layout");
            }
        }
    }

    // Sizes learnt anywhere for a digest fill the entries that lack one.
    let mut sizes: HashMap<String, u64> = HashMap::new();
    for v in learnt.by_diff.values() {
        for (d, s, _, _) in v {
            if let Some(s) = s {
                sizes.insert(d.clone(), *s);
            }
        }
    }

    // Confirm with HEAD: the target repository first, then the others.
    let mut facts = Vec::with_capacity(img.layers.len());
    let mut head_cache: HashMap<(String, String), bool> = HashMap::new();
    let mut head = |repo: &str, digest: &str| -> Result<bool> {
        let key = (repo.to_string(), digest.to_string());
        if let Some(v) = head_cache.get(&key) {
            return Ok(*v);
        }
        let v = match reg.blob_exists(repo, digest) {
            Ok(v) => v,
            Err(e) if e.kind == ErrorKind::PermissionDenied || e.kind == ErrorKind::NotFound => {
                false
            }
            Err(e) => return Err(e),
        };
        head_cache.insert(key, v);
        Ok(v)
    };
    for l in &img.layers {
        let entries = learnt.by_diff.get(&l.diff_id).cloned().unwrap_or_default();
        let mut known: Vec<KnownBlob> = Vec::new();
        let mut heads = 0;
        for (digest, size, _, from) in &entries {
            if known.iter().any(|k| &k.digest == digest) {
                continue;
            }
            let size = size.or_else(|| sizes.get(digest).copied());
            let mut kb = KnownBlob {
                digest: digest.clone(),
                size,
                learnt_from: from.clone(),
                ..Default::default()
            };
            if heads < MAX_HEADS_PER_LAYER {
                heads += 1;
                kb.in_target = head(&target.repository, digest)?;
            }
            if !kb.in_target {
                let mut repos: Vec<&String> = entries
                    .iter()
                    .filter(|e| &e.0 == digest)
                    .filter_map(|e| e.2.as_ref())
                    .filter(|r| **r != target.repository)
                    .collect();
                repos.sort();
                repos.dedup();
                for r in repos {
                    if heads >= MAX_HEADS_PER_LAYER {
                        break;
                    }
                    heads += 1;
                    if head(r, digest)? {
                        kb.in_repos.push(r.clone());
                    }
                }
            }
            known.push(kb);
        }
        facts.push(LayerFacts {
            diff_id: l.diff_id.clone(),
            known,
            measured: None,
        });
    }
    Ok((facts, current))
}

/// The daemon's record for a diff id: (compressed digest, source repository).
fn v2metadata(root: &std::path::Path, diff_id: &str) -> Vec<(String, String)> {
    let Some(hex) = diff_id.strip_prefix("sha256:") else {
        return Vec::new();
    };
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Vec::new();
    }
    let p = root
        .join("distribution/v2metadata-by-diffid/sha256")
        .join(hex);
    let Ok(bytes) = std::fs::read(p) else {
        return Vec::new();
    };
    #[derive(serde::Deserialize)]
    struct Meta {
        #[serde(rename = "Digest")]
        digest: String,
        #[serde(rename = "SourceRepository", default)]
        source_repository: String,
    }
    serde_json::from_slice::<Vec<Meta>>(&bytes)
        .unwrap_or_default()
        .into_iter()
        .map(|m| (m.digest, m.source_repository))
        .collect()
}

// ---------------------------------------------------------------------------------
// Measuring uploads.

/// Measure the gzip `docker push` would upload for a layer tar (compressed input is
/// decompressed first): (sha256 of the uncompressed tar, the gzip's size, computed by
/// replaying Go's compressor, see [`super::gosize`]).
pub fn gzip_measure(raw: impl Read) -> std::io::Result<(String, Measured)> {
    let mut buf = BufReader::with_capacity(256 * 1024, raw);
    let head = buf.fill_buf()?;
    let mut reader: Box<dyn Read> = match sniff(head) {
        Compression::None => Box::new(buf),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buf)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buf)?),
    };
    let mut tar_hash = Sha256::new();
    let mut gz = super::gosize::GoGzipSize::new();
    let mut chunk = vec![0u8; 256 * 1024];
    loop {
        let n = reader.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        tar_hash.update(&chunk[..n]);
        gz.write_all(&chunk[..n])?;
    }
    Ok((
        format!("sha256:{}", hex::encode(tar_hash.finalize())),
        Measured { size: gz.finish() },
    ))
}

/// Measure the gzip of layers `want` (indexes into `img.layers`).
pub fn measure_layers(
    src: &ImageSource,
    img: &Image,
    want: &[usize],
) -> Result<HashMap<usize, Measured>> {
    let mut out = HashMap::new();
    if want.is_empty() {
        return Ok(out);
    }
    let by_diff: HashMap<&str, Vec<usize>> = want.iter().fold(HashMap::new(), |mut m, &i| {
        m.entry(img.layers[i].diff_id.as_str()).or_default().push(i);
        m
    });
    match src {
        ImageSource::Daemon(_) if from_store(img, want, &mut out) => {}
        ImageSource::Daemon(r)
            if want.iter().all(|&i| {
                !img.layers[i]
                    .blob
                    .starts_with(crate::source::docker_store::BLOB_PREFIX)
            }) && crate::source::spool::lookup(r).is_some() =>
        {
            // The export kept from loading the image.
            let (_, path) = crate::source::spool::lookup(r).expect("checked");
            let store = crate::source::store::TarFileStore::open(&path)?;
            for &i in want {
                let raw = store.open_raw(&img.layers[i].blob)?;
                let (diff, m) = gzip_measure(raw).map_err(|e| from_io(e, "compressing a layer"))?;
                if diff == img.layers[i].diff_id {
                    out.insert(i, m);
                }
            }
        }
        ImageSource::Daemon(r) => {
            // The export carries each layer tar byte for byte as docker push reads it.
            let export = crate::source::daemon::export_image(r)?;
            let mut archive = tar::Archive::new(export.stream);
            let entries = archive
                .entries()
                .map_err(|e| from_io(e, "reading the image export"))?;
            for item in entries {
                let entry = item.map_err(|e| from_io(e, "reading the image export"))?;
                let name = String::from_utf8_lossy(&entry.path_bytes()).to_string();
                let is_layer = name.ends_with("layer.tar") || name.starts_with("blobs/");
                if !is_layer || entry.header().entry_type() != tar::EntryType::Regular {
                    continue;
                }
                let (diff, m) =
                    gzip_measure(entry).map_err(|e| from_io(e, "compressing a layer"))?;
                if let Some(ix) = by_diff.get(diff.as_str()) {
                    for &i in ix {
                        out.insert(i, m.clone());
                    }
                }
                if out.len() == want.len() {
                    break;
                }
            }
        }
        other => {
            for &i in want {
                let blob = &img.layers[i].blob;
                let raw = open_raw(other, blob)?;
                let (diff, m) = gzip_measure(raw).map_err(|e| from_io(e, "compressing a layer"))?;
                if diff != img.layers[i].diff_id {
                    return Err(Error::corrupt(format!(
                        "layer {i}: its tar hashes to {diff}, not its diff id {}",
                        img.layers[i].diff_id
                    )));
                }
                out.insert(i, m);
            }
        }
    }
    if let Some(&missing) = want.iter().find(|i| !out.contains_key(i)) {
        return Err(Error::other(format!(
            "could not measure the compressed size of layer {missing} ({}): it was not found in the image's tar stream",
            img.layers[missing].diff_id
        )));
    }
    Ok(out)
}

/// Measure the layers of an image read from Docker's store without an export; false
/// (and nothing measured) when one of them cannot be rebuilt exactly.
fn from_store(img: &Image, want: &[usize], out: &mut HashMap<usize, Measured>) -> bool {
    let prefix = crate::source::docker_store::BLOB_PREFIX;
    if !want.iter().all(|&i| img.layers[i].blob.starts_with(prefix)) {
        return false;
    }
    let mut got = HashMap::new();
    for &i in want {
        match store_layer_measure(&img.layers[i].blob) {
            Ok((diff, m)) if diff == img.layers[i].diff_id => {
                got.insert(i, m);
            }
            _ => return false,
        }
    }
    out.extend(got);
    if std::env::var_os("LAYERLENS_TIMINGS").is_some() {
        eprintln!("upload sizes: measured from the layer store");
    }
    true
}

/// Rebuild a layer tar of Docker's store byte for byte (its `tar-split.json.gz`: raw tar
/// headers and padding, and the files' content from the driver's directory) and measure
/// it, without an export.
fn store_layer_measure(blob: &str) -> Result<(String, Measured)> {
    use base64::Engine;
    let dir = blob
        .strip_prefix(crate::source::docker_store::BLOB_PREFIX)
        .ok_or_else(|| Error::other("not a layer of Docker's store"))?;
    let split = std::path::Path::new(dir).join("tar-split.json.gz");
    let f = std::fs::File::open(&split).map_err(|e| from_io(e, split.display()))?;
    let mut lines = BufReader::new(flate2::read::MultiGzDecoder::new(BufReader::new(f)));
    let mut tar_hash = Sha256::new();
    let mut gz = super::gosize::GoGzipSize::new();
    let mut emit = |b: &[u8]| {
        tar_hash.update(b);
        let _ = gz.write_all(b);
    };
    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(rename = "type")]
        kind: u8,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        name_raw: Option<String>,
        #[serde(default)]
        size: u64,
        #[serde(default)]
        payload: Option<String>,
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut line = String::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        line.clear();
        let n = lines
            .read_line(&mut line)
            .map_err(|e| from_io(e, split.display()))?;
        if n == 0 {
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        let e: Entry = serde_json::from_str(&line)
            .map_err(|e| Error::corrupt(format!("{}: {e}", split.display())))?;
        match e.kind {
            2 => {
                let raw = b64
                    .decode(e.payload.unwrap_or_default())
                    .map_err(|e| Error::corrupt(format!("{}: {e}", split.display())))?;
                emit(&raw);
            }
            1 if e.size > 0 => {
                let name: Vec<u8> = match (e.name_raw, e.name) {
                    (Some(r), _) => b64
                        .decode(r)
                        .map_err(|e| Error::corrupt(format!("{}: {e}", split.display())))?,
                    (None, Some(n)) => n.into_bytes(),
                    (None, None) => return Err(Error::corrupt("tar-split entry without a name")),
                };
                let crate::model::entry::NormPath::Ok(path) = crate::model::entry::normalize(&name)
                else {
                    return Err(Error::corrupt("tar-split entry with an unusable name"));
                };
                let mut file = crate::source::docker_store::open_file(blob, &path)?.take(e.size);
                let mut left = e.size;
                while left > 0 {
                    let k = file
                        .read(&mut buf)
                        .map_err(|e| from_io(e, String::from_utf8_lossy(&path)))?;
                    if k == 0 {
                        return Err(Error::corrupt(format!(
                            "/{} is shorter in the layer store than its tar header says",
                            String::from_utf8_lossy(&path)
                        )));
                    }
                    emit(&buf[..k]);
                    left -= k as u64;
                }
            }
            _ => {}
        }
    }
    Ok((
        format!("sha256:{}", hex::encode(tar_hash.finalize())),
        Measured { size: gz.finish() },
    ))
}

fn open_raw(src: &ImageSource, blob: &str) -> Result<Box<dyn Read + Send>> {
    use crate::source::store::{DirStore, TarFileStore};
    match src {
        ImageSource::DockerArchive(p, _) | ImageSource::OciArchive(p, _) => {
            TarFileStore::open(p)?.open_raw(blob)
        }
        ImageSource::OciDir(p, _) => DirStore { root: p.clone() }.open_raw(blob),
        ImageSource::Registry(r) => super::load::open_blob(r, blob),
        ImageSource::Daemon(_) => Err(Error::other("daemon layers are read from the export")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_into_registry_and_repository() {
        assert_eq!(
            registry_of("127.0.0.1:5000/app"),
            ("127.0.0.1:5000".into(), "app".into())
        );
        assert_eq!(
            registry_of("reg.example/team/app"),
            ("reg.example".into(), "team/app".into())
        );
        assert_eq!(
            registry_of("alpine"),
            ("docker.io".into(), "library/alpine".into())
        );
        assert_eq!(registry_of("me/app"), ("docker.io".into(), "me/app".into()));
        assert_eq!(
            registry_of("localhost/app"),
            ("localhost".into(), "app".into())
        );
    }

    #[test]
    fn gzip_measure_hashes_the_tar_and_its_gzip() {
        let data: Vec<u8> = (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let (diff, m) = gzip_measure(&data[..]).unwrap();
        assert_eq!(
            diff,
            format!("sha256:{}", hex::encode(Sha256::digest(&data)))
        );
        assert!(m.size > 0 && m.size < data.len() as u64);
        // Already-compressed input is measured on its uncompressed bytes.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&data).unwrap();
        let (diff2, m2) = gzip_measure(&gz.finish().unwrap()[..]).unwrap();
        assert_eq!(diff2, diff);
        assert_eq!(m2, m);
    }
}
