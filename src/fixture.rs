//! Writing images: layer tars with any kind of entry (including the odd ones real
//! archives contain: long names, non-UTF-8 names, `..`, whiteouts) in every format
//! layerlens reads. Used by the tests and to generate the bundled sample image.

use serde_json::json;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

/// One entry of a layer to write. Paths are raw bytes, written as given.
#[derive(Debug, Clone)]
pub enum FEntry {
    File {
        path: Vec<u8>,
        data: Vec<u8>,
        mode: u32,
        uid: u64,
        gid: u64,
    },
    Dir {
        path: Vec<u8>,
        mode: u32,
    },
    Symlink {
        path: Vec<u8>,
        target: Vec<u8>,
    },
    Hardlink {
        path: Vec<u8>,
        target: Vec<u8>,
    },
    Fifo {
        path: Vec<u8>,
    },
    Char {
        path: Vec<u8>,
        major: u32,
        minor: u32,
    },
    /// `.wh.NAME` next to `path`.
    Whiteout {
        path: Vec<u8>,
    },
    /// `.wh..wh..opq` inside `dir`.
    Opaque {
        dir: Vec<u8>,
    },
}

impl FEntry {
    pub fn file(path: &str, data: impl Into<Vec<u8>>) -> Self {
        FEntry::File {
            path: path.into(),
            data: data.into(),
            mode: 0o644,
            uid: 0,
            gid: 0,
        }
    }
    pub fn file_mode(path: &str, data: impl Into<Vec<u8>>, mode: u32) -> Self {
        FEntry::File {
            path: path.into(),
            data: data.into(),
            mode,
            uid: 0,
            gid: 0,
        }
    }
    pub fn dir(path: &str) -> Self {
        FEntry::Dir {
            path: path.into(),
            mode: 0o755,
        }
    }
    pub fn symlink(path: &str, target: &str) -> Self {
        FEntry::Symlink {
            path: path.into(),
            target: target.into(),
        }
    }
    pub fn hardlink(path: &str, target: &str) -> Self {
        FEntry::Hardlink {
            path: path.into(),
            target: target.into(),
        }
    }
    pub fn whiteout(path: &str) -> Self {
        FEntry::Whiteout { path: path.into() }
    }
    pub fn opaque(dir: &str) -> Self {
        FEntry::Opaque { dir: dir.into() }
    }
}

#[derive(Debug, Clone, Default)]
pub struct FLayer {
    pub entries: Vec<FEntry>,
    pub created_by: String,
    /// Instructions that made no layer, written to history after this layer.
    pub then: Vec<String>,
}

impl FLayer {
    pub fn new(created_by: &str, entries: Vec<FEntry>) -> Self {
        FLayer {
            entries,
            created_by: created_by.into(),
            then: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `docker save` up to Docker 24: `<id>/layer.tar`, manifest.json.
    DockerLegacy,
    /// `docker save` from Docker 25: OCI layout plus manifest.json.
    Docker25,
    /// OCI image layout directory.
    OciDir,
    /// Tar of an OCI image layout.
    OciArchive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

#[derive(Debug, Clone)]
pub struct FImage {
    pub tag: String,
    pub layers: Vec<FLayer>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub created: String,
}

impl FImage {
    pub fn new(tag: &str, layers: Vec<FLayer>) -> Self {
        FImage {
            tag: tag.into(),
            layers,
            cmd: vec!["/bin/sh".into()],
            env: vec![],
            created: "2026-01-01T00:00:00Z".into(),
        }
    }
}

fn set_name(header: &mut tar::Header, name: &[u8], out: &mut Vec<u8>) {
    if name.len() > 100 {
        // GNU long name record.
        let mut long = tar::Header::new_gnu();
        long.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"././@LongLink");
        long.set_entry_type(tar::EntryType::GNULongName);
        long.set_mode(0o644);
        long.set_size(name.len() as u64 + 1);
        long.set_cksum();
        out.extend_from_slice(long.as_bytes());
        let mut data = name.to_vec();
        data.push(0);
        pad(&mut data);
        out.extend_from_slice(&data);
    }
    let n = name.len().min(100);
    header.as_gnu_mut().unwrap().name[..n].copy_from_slice(&name[..n]);
}

fn set_link(header: &mut tar::Header, target: &[u8], out: &mut Vec<u8>) {
    if target.len() > 100 {
        let mut long = tar::Header::new_gnu();
        long.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"././@LongLink");
        long.set_entry_type(tar::EntryType::GNULongLink);
        long.set_mode(0o644);
        long.set_size(target.len() as u64 + 1);
        long.set_cksum();
        out.extend_from_slice(long.as_bytes());
        let mut data = target.to_vec();
        data.push(0);
        pad(&mut data);
        out.extend_from_slice(&data);
    }
    let n = target.len().min(100);
    header.as_gnu_mut().unwrap().linkname[..n].copy_from_slice(&target[..n]);
}

fn pad(v: &mut Vec<u8>) {
    let rem = v.len() % 512;
    if rem != 0 {
        v.resize(v.len() + 512 - rem, 0);
    }
}

fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = dir.to_vec();
    if !p.is_empty() && !p.ends_with(b"/") {
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

/// The uncompressed tar of a layer.
pub fn layer_tar(entries: &[FEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(1_700_000_000);
        h.set_uid(0);
        h.set_gid(0);
        let mut data: Vec<u8> = Vec::new();
        let name: Vec<u8> = match e {
            FEntry::File {
                path,
                data: d,
                mode,
                uid,
                gid,
            } => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(*mode);
                h.set_uid(*uid);
                h.set_gid(*gid);
                data = d.clone();
                path.clone()
            }
            FEntry::Dir { path, mode } => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(*mode);
                let mut p = path.clone();
                if !p.ends_with(b"/") {
                    p.push(b'/');
                }
                p
            }
            FEntry::Symlink { path, target } => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                set_link(&mut h, target, &mut out);
                path.clone()
            }
            FEntry::Hardlink { path, target } => {
                h.set_entry_type(tar::EntryType::Link);
                h.set_mode(0o644);
                set_link(&mut h, target, &mut out);
                path.clone()
            }
            FEntry::Fifo { path } => {
                h.set_entry_type(tar::EntryType::Fifo);
                h.set_mode(0o644);
                path.clone()
            }
            FEntry::Char { path, major, minor } => {
                h.set_entry_type(tar::EntryType::Char);
                h.set_mode(0o666);
                h.set_device_major(*major).unwrap();
                h.set_device_minor(*minor).unwrap();
                path.clone()
            }
            FEntry::Whiteout { path } => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                let (dir, base) = crate::model::entry::split_parent(path);
                join(dir, &[b".wh.".as_slice(), base].concat())
            }
            FEntry::Opaque { dir } => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                join(dir, b".wh..wh..opq")
            }
        };
        h.set_size(data.len() as u64);
        set_name(&mut h, &name, &mut out);
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        pad(&mut data);
        out.extend_from_slice(&data);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn compress(data: &[u8], c: Compression) -> Vec<u8> {
    match c {
        Compression::None => data.to_vec(),
        Compression::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        Compression::Zstd => zstd::encode_all(data, 3).unwrap(),
    }
}

fn layer_media_type(c: Compression, format: Format) -> &'static str {
    match (c, format) {
        (Compression::None, _) => "application/vnd.oci.image.layer.v1.tar",
        (Compression::Gzip, _) => "application/vnd.oci.image.layer.v1.tar+gzip",
        (Compression::Zstd, _) => "application/vnd.oci.image.layer.v1.tar+zstd",
    }
}

/// Files of the image in the chosen format (name → content).
pub fn image_files(img: &FImage, format: Format, comp: Compression) -> Vec<(String, Vec<u8>)> {
    let tars: Vec<Vec<u8>> = img.layers.iter().map(|l| layer_tar(&l.entries)).collect();
    let diff_ids: Vec<String> = tars
        .iter()
        .map(|t| format!("sha256:{}", sha256_hex(t)))
        .collect();
    let mut history = Vec::new();
    for l in &img.layers {
        history.push(json!({"created": img.created, "created_by": l.created_by}));
        for t in &l.then {
            history.push(json!({"created": img.created, "created_by": t, "empty_layer": true}));
        }
    }
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "created": img.created,
        "config": {"Env": img.env, "Cmd": img.cmd},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    });
    let config_bytes = serde_json::to_vec(&config).unwrap();
    let config_hex = sha256_hex(&config_bytes);
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    match format {
        Format::DockerLegacy => {
            let mut layer_paths = Vec::new();
            let mut parent = String::new();
            for (i, t) in tars.iter().enumerate() {
                // Fake v1 ids: unrelated to diff ids, as in real archives.
                let id = sha256_hex(format!("{parent}{i}{}", diff_ids[i]).as_bytes());
                files.push((format!("{id}/VERSION"), b"1.0".to_vec()));
                files.push((
                    format!("{id}/json"),
                    format!("{{\"id\":\"{id}\"}}").into_bytes(),
                ));
                files.push((format!("{id}/layer.tar"), t.clone()));
                layer_paths.push(format!("{id}/layer.tar"));
                parent = id;
            }
            files.push((format!("{config_hex}.json"), config_bytes.clone()));
            let manifest = json!([{"Config": format!("{config_hex}.json"), "RepoTags": [img.tag], "Layers": layer_paths}]);
            files.push((
                "manifest.json".into(),
                serde_json::to_vec(&manifest).unwrap(),
            ));
        }
        Format::Docker25 | Format::OciDir | Format::OciArchive => {
            let mut descs = Vec::new();
            let mut layer_paths = Vec::new();
            for t in &tars {
                let blob = compress(t, comp);
                let hex = sha256_hex(&blob);
                descs.push(json!({"mediaType": layer_media_type(comp, format), "digest": format!("sha256:{hex}"), "size": blob.len()}));
                layer_paths.push(format!("blobs/sha256/{hex}"));
                if !files
                    .iter()
                    .any(|(n, _)| n == &format!("blobs/sha256/{hex}"))
                {
                    files.push((format!("blobs/sha256/{hex}"), blob));
                }
            }
            files.push((format!("blobs/sha256/{config_hex}"), config_bytes.clone()));
            let manifest = json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{config_hex}"), "size": config_bytes.len()},
                "layers": descs,
            });
            let mbytes = serde_json::to_vec(&manifest).unwrap();
            let mhex = sha256_hex(&mbytes);
            files.push((format!("blobs/sha256/{mhex}"), mbytes.clone()));
            let index = json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": [{
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": format!("sha256:{mhex}"),
                    "size": mbytes.len(),
                    "annotations": {"org.opencontainers.image.ref.name": if format == Format::Docker25 { img.tag.clone() } else { img.tag.rsplit(':').next().unwrap_or("latest").to_string() }, "io.containerd.image.name": img.tag},
                    "platform": {"os": "linux", "architecture": "amd64"}
                }]
            });
            files.push((
                "index.json".into(),
                serde_json::to_vec_pretty(&index).unwrap(),
            ));
            files.push((
                "oci-layout".into(),
                br#"{"imageLayoutVersion": "1.0.0"}"#.to_vec(),
            ));
            if format == Format::Docker25 {
                let manifest = json!([{"Config": format!("blobs/sha256/{config_hex}"), "RepoTags": [img.tag], "Layers": layer_paths}]);
                files.push((
                    "manifest.json".into(),
                    serde_json::to_vec(&manifest).unwrap(),
                ));
            }
        }
    }
    files
}

/// Write files as a tar archive.
pub fn write_tar(files: &[(String, Vec<u8>)], path: &Path) -> std::io::Result<()> {
    let f = std::fs::File::create(path)?;
    let mut b = tar::Builder::new(std::io::BufWriter::new(f));
    let mut dirs = std::collections::BTreeSet::new();
    for (name, _) in files {
        let mut p = Path::new(name).parent();
        while let Some(d) = p {
            if d.as_os_str().is_empty() {
                break;
            }
            dirs.insert(d.to_path_buf());
            p = d.parent();
        }
    }
    for d in dirs {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        h.set_mtime(1_700_000_000);
        b.append_data(&mut h, &d, std::io::empty())?;
    }
    for (name, data) in files {
        let mut h = tar::Header::new_ustar();
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_mtime(1_700_000_000);
        b.append_data(&mut h, name, data.as_slice())?;
    }
    b.into_inner()?.flush()
}

/// Write an image to `path` (a tar file, or a directory for [`Format::OciDir`]).
pub fn write_image(
    img: &FImage,
    format: Format,
    comp: Compression,
    path: &Path,
) -> std::io::Result<()> {
    let files = image_files(img, format, comp);
    if format == Format::OciDir {
        for (name, data) in &files {
            let p = path.join(name);
            std::fs::create_dir_all(p.parent().unwrap())?;
            std::fs::write(p, data)?;
        }
        Ok(())
    } else {
        write_tar(&files, path)
    }
}

/// A small deterministic random source for randomized tests (xorshift64): `next(n)` is
/// in `0..n`.
pub fn xorshift(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut x = seed | 1;
    move |n| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    }
}
