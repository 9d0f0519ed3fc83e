//! Reading file contents back from a layer, on demand (preview, extract). Nothing is
//! kept in memory: the layer blob is opened again and streamed to the wanted entries.

use super::ImageSource;
use super::blob::{Compression, sniff};
use super::store::{DirStore, TarFileStore};
use crate::error::{Error, Result, from_io};
use crate::model::entry::{NormPath, normalize};
use rustc_hash::FxHashSet;
use std::io::{BufRead, BufReader, Read};

/// Calls `on(path, entry)` for every entry of the layer whose normalised path is in
/// `wanted` (or every entry when `wanted` is None) until `on` returns false.
pub fn scan_layer(
    src: &ImageSource,
    blob: &str,
    wanted: Option<&FxHashSet<Vec<u8>>>,
    on: &mut dyn FnMut(&[u8], &mut dyn Read) -> Result<bool>,
) -> Result<()> {
    if blob.starts_with(super::docker_store::BLOB_PREFIX) {
        // A layer read from Docker's own store: its files are in the driver's
        // directory, one open per wanted path.
        let Some(wanted) = wanted else {
            return Err(Error::other(
                "listing a whole layer of Docker's store is not supported",
            ));
        };
        let mut paths: Vec<&Vec<u8>> = wanted.iter().collect();
        paths.sort();
        for p in paths {
            let mut f = super::docker_store::open_file(blob, p)?;
            if !on(p, &mut f)? {
                break;
            }
        }
        return Ok(());
    }
    match src {
        ImageSource::DockerArchive(p, _) | ImageSource::OciArchive(p, _) => {
            let store = TarFileStore::open(p)?;
            let raw = store.open_raw(blob)?;
            scan_blob(raw, wanted, on)
        }
        ImageSource::OciDir(p, _) => {
            let store = DirStore { root: p.clone() };
            let raw = store.open_raw(blob)?;
            scan_blob(raw, wanted, on)
        }
        ImageSource::Registry(r) => {
            scan_blob(super::registry::load::open_blob(r, blob)?, wanted, on)
        }
        ImageSource::Daemon(r) => {
            // The export kept from loading the image: read it like an archive.
            if let Some((_, path)) = super::spool::lookup(r) {
                let store = TarFileStore::open(&path)?;
                let raw = store.open_raw(blob)?;
                return scan_blob(raw, wanted, on);
            }
            let export = super::daemon::export_image(r)?;
            let mut outer = tar::Archive::new(export.stream);
            let entries = outer
                .entries()
                .map_err(|e| from_io(e, "reading the image stream"))?;
            for item in entries {
                let entry = item.map_err(|e| from_io(e, "reading the image stream"))?;
                let name = String::from_utf8_lossy(&entry.path_bytes())
                    .trim_start_matches("./")
                    .to_string();
                if name == blob {
                    return scan_blob(Box::new(entry), wanted, on);
                }
            }
            Err(Error::corrupt(format!(
                "layer {blob} is no longer in the daemon's export of {r}"
            )))
        }
    }
}

fn scan_blob<'a>(
    raw: Box<dyn Read + 'a>,
    wanted: Option<&FxHashSet<Vec<u8>>>,
    on: &mut dyn FnMut(&[u8], &mut dyn Read) -> Result<bool>,
) -> Result<()> {
    let mut buf = BufReader::with_capacity(256 * 1024, raw);
    let head = buf.fill_buf().map_err(|e| from_io(e, "reading layer"))?;
    let reader: Box<dyn Read> = match sniff(head) {
        Compression::None => Box::new(buf),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buf)),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::with_buffer(buf)
                .map_err(|e| from_io(e, "reading layer"))?,
        ),
    };
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().map_err(|e| from_io(e, "reading layer"))?;
    for item in entries {
        let mut entry = item.map_err(|e| from_io(e, "reading layer"))?;
        let NormPath::Ok(path) = normalize(&entry.path_bytes()) else {
            continue;
        };
        if wanted.is_some_and(|w| !w.contains(&path)) {
            continue;
        }
        if !on(&path, &mut entry)? {
            break;
        }
    }
    Ok(())
}

/// Up to `limit` bytes of the file `path` as stored in layer `blob`.
pub fn read_head(src: &ImageSource, blob: &str, path: &[u8], limit: usize) -> Result<Vec<u8>> {
    let mut wanted = FxHashSet::default();
    wanted.insert(path.to_vec());
    let mut out: Option<Vec<u8>> = None;
    scan_layer(src, blob, Some(&wanted), &mut |_, entry| {
        let mut v = Vec::new();
        entry
            .take(limit as u64)
            .read_to_end(&mut v)
            .map_err(|e| from_io(e, "reading file"))?;
        out = Some(v);
        Ok(false)
    })?;
    out.ok_or_else(|| {
        Error::not_found(format!(
            "/{} is not in that layer",
            String::from_utf8_lossy(path)
        ))
    })
}
