//! A registry as an image source: `registry://HOST/REPO:TAG` (or `@sha256:…`) →
//! manifest (the platform picked from an index) → config → a [`Plan`] whose layer
//! blobs are streamed from the registry, digest-verified, when they are parsed.

use super::{Descriptor, Fetched, ManifestDoc, Registry, RegistryRef};
use crate::error::{Error, Result};
use crate::model::LayerContent;
use crate::source::blob::{Progress, ProgressReader, parse_blob};
use crate::source::layout::{MetaStore, Plan, PlanLayer, Platform};
use crate::source::store::BlobStore;
use std::sync::Arc;

/// Configs larger than this are not image configs.
const CONFIG_MAX: u64 = 16 << 20;

/// The image manifest a reference resolves to.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Digest of the image manifest (the platform's, under an index).
    pub manifest_digest: String,
    /// Digest of the index the reference named, if it named one.
    pub index_digest: Option<String>,
    pub manifest: ManifestDoc,
    pub config: Vec<u8>,
}

/// Pick the manifest for `platform` (default: the host's) from an index.
pub fn pick_platform<'a>(
    manifests: &'a [Descriptor],
    platform: Option<&Platform>,
) -> Option<&'a Descriptor> {
    let want = platform.cloned().unwrap_or_else(Platform::host);
    let matches = |d: &&Descriptor| {
        d.platform.as_ref().is_some_and(|p| {
            p.os == want.os
                && p.architecture == want.architecture
                && (want.variant.is_none() || p.variant == want.variant)
        })
    };
    manifests.iter().find(matches).or_else(|| {
        // An index without platforms (or one image only) names its image directly.
        if platform.is_none() && manifests.len() == 1 {
            manifests.first()
        } else {
            None
        }
    })
}

/// Fetch the manifest (through an index), and the config, verifying digests.
pub fn resolve(reg: &Registry, r: &RegistryRef, platform: Option<&Platform>) -> Result<Resolved> {
    let top = reg.manifest(&r.repository, &r.reference())?;
    let doc = ManifestDoc::parse(&top)?;
    let (fetched, doc, index_digest): (Fetched, ManifestDoc, Option<String>) = if doc
        .is_index(&top.media_type)
    {
        let Some(d) = pick_platform(&doc.manifests, platform) else {
            let have: Vec<String> = doc
                .manifests
                .iter()
                .filter_map(|d| d.platform.as_ref())
                .map(|p| match &p.variant {
                    Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
                    None => format!("{}/{}", p.os, p.architecture),
                })
                .collect();
            let want = platform.cloned().unwrap_or_else(Platform::host);
            return Err(Error::not_found(format!(
                "{r}: no image for platform {want} (the index has: {}); pick one with --platform",
                if have.is_empty() {
                    "no platforms".into()
                } else {
                    have.join(", ")
                }
            )));
        };
        let m = reg.manifest(&r.repository, &d.digest)?;
        let md = ManifestDoc::parse(&m)?;
        if md.is_index(&m.media_type) {
            return Err(Error::corrupt(format!(
                "{r}: the index names another index for the platform; nested indexes are not supported"
            )));
        }
        (m, md, Some(top.digest.clone()))
    } else {
        (top, doc, None)
    };
    let config_desc = doc
        .config
        .clone()
        .ok_or_else(|| Error::corrupt(format!("{r}: the manifest has no config")))?;
    let config = reg.blob_bytes(&r.repository, &config_desc.digest, CONFIG_MAX)?;
    Ok(Resolved {
        manifest_digest: fetched.digest,
        index_digest,
        manifest: doc,
        config,
    })
}

/// The plan to load a resolved image: layer blobs named by their digest.
pub fn plan(r: &RegistryRef, resolved: &Resolved) -> Plan {
    let layers = resolved
        .manifest
        .layers
        .iter()
        .map(|l| PlanLayer {
            blob: l.digest.clone(),
            media_type: Some(l.media_type.clone()).filter(|m| !m.is_empty()),
            size: Some(l.size),
            digest: Some(l.digest.clone()),
        })
        .collect();
    let mut tags = Vec::new();
    if let Some(t) = &r.tag {
        tags.push(format!("{}/{}:{t}", r.registry, r.repository));
    }
    Plan {
        config: resolved.config.clone(),
        layers,
        repo_tags: tags,
    }
}

/// Layer blobs of one repository of a registry.
pub struct RegistryStore {
    pub reg: Arc<Registry>,
    pub repository: String,
}

impl MetaStore for RegistryStore {
    fn read_small(&self, _name: &str) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }
    fn has(&self, _name: &str) -> bool {
        false
    }
}

impl BlobStore for RegistryStore {
    fn parse_layer(
        &self,
        name: &str,
        size: Option<u64>,
        media_type: Option<&str>,
        progress: Option<Arc<Progress>>,
    ) -> Result<Arc<LayerContent>> {
        let mut r = self.reg.blob_reader(&self.repository, name, size)?;
        let parsed = parse_blob(
            ProgressReader {
                inner: &mut r,
                progress,
            },
            size,
            media_type,
            &format!("layer blob {name}"),
        );
        match parsed {
            Ok(c) => Ok(Arc::new(c)),
            Err(e) => {
                // Bytes that fail to parse may be bytes that are not the blob: say so
                // when the rest of the stream proves it.
                match std::io::copy(&mut r, &mut std::io::sink()) {
                    Err(io) => Err(crate::error::from_io(io, format!("layer blob {name}"))),
                    Ok(_) => Err(e),
                }
            }
        }
    }
    fn blob_len(&self, _name: &str) -> Option<u64> {
        None
    }
}

/// Scan a layer blob of a registry image (previews, secrets): the raw blob stream.
pub fn open_blob(reference: &str, blob: &str) -> Result<Box<dyn std::io::Read + Send>> {
    let r = RegistryRef::parse(reference)?;
    let reg = Registry::new(&r.registry)?;
    let reader = reg.blob_reader(&r.repository, blob, None)?;
    // The client (and its runtime) must outlive the stream.
    Ok(Box::new(Owned {
        inner: reader,
        _reg: reg,
    }))
}

/// Fields drop in order: the stream before the client that drives it.
struct Owned {
    inner: super::BlobReader,
    _reg: Registry,
}

impl std::io::Read for Owned {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf)
    }
}
