//! Extraction from hostile images (issue #11 rows 2 and 9): nothing lands outside the
//! destination, whatever symlinks the image (or an earlier extraction) put there, and
//! file content is streamed, not held in memory.

use layerlens::fixture::{Compression, FEntry, FImage, FLayer, Format, write_image};
use layerlens::source::{self, ImageSource, LoadOptions};
use layerlens::tui::extract::extract_now;

fn load(
    img: &FImage,
    dir: &std::path::Path,
    compression: Compression,
) -> (ImageSource, layerlens::model::Image) {
    let p = dir.join("img.tar");
    write_image(img, Format::DockerLegacy, compression, &p).unwrap();
    let src = ImageSource::DockerArchive(p, None);
    let model = source::load(&src, "t", &LoadOptions::default()).unwrap();
    (src, model)
}

#[test]
fn a_symlink_in_the_destination_is_never_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let outside_dir = outside.join("dir");
    std::fs::create_dir(&outside_dir).unwrap();
    let (src, img) = load(
        &FImage::new(
            "evil:1",
            vec![
                FLayer::new(
                    "ADD link",
                    vec![
                        FEntry::dir("x"),
                        FEntry::symlink("x/sub", outside_dir.to_str().unwrap()),
                        FEntry::symlink("x/file", outside.join("victim").to_str().unwrap()),
                    ],
                ),
                FLayer::new(
                    "ADD dir",
                    vec![
                        FEntry::whiteout("x/sub"),
                        FEntry::whiteout("x/file"),
                        FEntry::dir("x/sub"),
                        FEntry::file("x/sub/pwned", b"pwned".to_vec()),
                        FEntry::file("x/file", b"overwritten".to_vec()),
                    ],
                ),
            ],
        ),
        tmp.path(),
        Compression::None,
    );
    let node = img.tree.lookup_path(b"x").unwrap();
    let dest = tmp.path().join("dest");
    // Layer 0: the symlinks are extracted as symlinks.
    extract_now(&img, &src, 0, node, &dest, false).unwrap();
    assert!(
        dest.join("sub")
            .symlink_metadata()
            .unwrap()
            .file_type()
            .is_symlink()
    );
    // Layer 1 over it (the user confirmed overwriting): the links are replaced.
    extract_now(&img, &src, 1, node, &dest, true).unwrap();
    assert!(
        !outside_dir.join("pwned").exists(),
        "a file was written through a symlink, outside the destination"
    );
    assert!(
        !outside.join("victim").exists(),
        "a symlinked file was written through"
    );
    let sub = dest.join("sub").symlink_metadata().unwrap();
    assert!(sub.is_dir(), "{sub:?}");
    assert_eq!(std::fs::read(dest.join("sub/pwned")).unwrap(), b"pwned");
    assert!(dest.join("file").symlink_metadata().unwrap().is_file());
    assert_eq!(std::fs::read(dest.join("file")).unwrap(), b"overwritten");

    // The destination itself a symlink (left by someone): replaced, not followed.
    let dest2 = tmp.path().join("dest2");
    std::os::unix::fs::symlink(&outside_dir, &dest2).unwrap();
    extract_now(&img, &src, 1, node, &dest2, true).unwrap();
    assert!(!outside_dir.join("sub").exists());
    assert!(dest2.symlink_metadata().unwrap().is_dir());
}

/// VmHWM (peak resident memory) of this process, in KiB.
fn peak_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Counts and hashes what passes through.
struct Hashing<W: std::io::Write> {
    inner: W,
    hash: sha2::Sha256,
    len: u64,
}

impl<W: std::io::Write> std::io::Write for Hashing<W> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.write(b)?;
        self.hash.update(&b[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn hashing<W: std::io::Write>(inner: W) -> Hashing<W> {
    use sha2::Digest;
    Hashing {
        inner,
        hash: sha2::Sha256::new(),
        len: 0,
    }
}

/// An OCI layout with one gzip layer holding `big`, `size` zero bytes, written as a
/// stream (this process never holds the file).
fn big_file_layout(dir: &std::path::Path, size: u64) -> std::path::PathBuf {
    use sha2::Digest;
    use std::io::Write;
    let root = dir.join("layout");
    let blobs = root.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let tmp_blob = blobs.join("tmp");
    let compressed = hashing(std::fs::File::create(&tmp_blob).unwrap());
    let gz = flate2::write::GzEncoder::new(compressed, flate2::Compression::fast());
    let mut tar = tar::Builder::new(hashing(gz));
    let mut h = tar::Header::new_gnu();
    h.set_size(size);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    use std::io::Read;
    tar.append_data(&mut h, "big", std::io::repeat(0).take(size))
        .unwrap();
    let uncompressed = tar.into_inner().unwrap();
    let diff_id = hex::encode(uncompressed.hash.finalize());
    let mut compressed = uncompressed.inner.finish().unwrap();
    compressed.flush().unwrap();
    let (digest, blob_len) = (hex::encode(compressed.hash.finalize()), compressed.len);
    std::fs::rename(&tmp_blob, blobs.join(&digest)).unwrap();
    let put = |bytes: Vec<u8>| -> (String, usize) {
        let d = hex::encode(sha2::Sha256::digest(&bytes));
        std::fs::write(blobs.join(&d), &bytes).unwrap();
        (d, bytes.len())
    };
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{diff_id}")]},
        "history": [{"created_by": "ADD big"}],
    });
    let (cd, cl) = put(serde_json::to_vec(&config).unwrap());
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{cd}"), "size": cl},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": format!("sha256:{digest}"), "size": blob_len}],
    });
    let (md, ml) = put(serde_json::to_vec(&manifest).unwrap());
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": format!("sha256:{md}"), "size": ml,
                       "annotations": {"org.opencontainers.image.ref.name": "1"}}],
    });
    std::fs::write(root.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(
        root.join("oci-layout"),
        br#"{"imageLayoutVersion": "1.0.0"}"#,
    )
    .unwrap();
    root
}

#[test]
fn a_big_file_is_streamed_to_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let size: u64 = 512 << 20;
    let layout = big_file_layout(tmp.path(), size);
    let src = ImageSource::parse(&format!("oci:{}", layout.display())).unwrap();
    let img = source::load(&src, "t", &LoadOptions::default()).unwrap();
    let node = img.tree.lookup_path(b"big").unwrap();
    let dest = tmp.path().join("big.out");
    extract_now(&img, &src, 0, node, &dest, false).unwrap();
    assert_eq!(std::fs::metadata(&dest).unwrap().len(), size);
    let peak = peak_kib();
    assert!(
        peak < 200 * 1024,
        "extracting a 512 MiB file took the peak memory to {peak} KiB"
    );
}
