//! Parsed layers remembered across runs (`source::parsed`): a second `report` of an
//! unchanged archive reads its layers back instead of parsing them, and says the same;
//! a damaged cache file or a changed archive is parsed again.

use layerlens::fixture::{Compression, FEntry, FImage, FLayer, Format, write_image};
use std::path::Path;
use std::process::Command;

fn image() -> FImage {
    FImage::new(
        "cached:1",
        vec![
            FLayer::new(
                "ADD base",
                vec![
                    FEntry::dir("etc"),
                    FEntry::file("etc/os-release", "ID=test\n"),
                    FEntry::symlink("etc/link", "os-release"),
                    FEntry::file("tmp/cache.bin", vec![b'c'; 5000]),
                ],
            ),
            FLayer::new(
                "RUN rm -rf /tmp/cache.bin && ln /etc/os-release /etc/hard",
                vec![
                    FEntry::whiteout("tmp/cache.bin"),
                    FEntry::hardlink("etc/hard", "etc/os-release"),
                    FEntry::opaque("etc"),
                    FEntry::file("etc/os-release", "ID=other\n"),
                ],
            ),
        ],
    )
}

/// `report --format json` of `archive` with the cache in `cache`: (JSON, layers read back).
fn report(archive: &Path, cache: &Path) -> (String, usize) {
    let out = Command::new(env!("CARGO_BIN_EXE_layerlens"))
        .args(["report", "--format", "json"])
        .arg(archive)
        .env("LAYERLENS_CACHE_DIR", cache)
        .env("LAYERLENS_PARSE_CACHE_MIN", "1")
        .env("LAYERLENS_TIMINGS", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.contains("read back parsed"))
        .unwrap_or_else(|| panic!("no read-back line in {stderr}"));
    let n = line
        .trim_start_matches("timing: ")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    (String::from_utf8(out.stdout).unwrap(), n)
}

fn layer_files(cache: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(cache.join("layers"))
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn a_second_report_reads_layers_back_and_says_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("img.tar");
    let cache = dir.path().join("cache");
    write_image(&image(), Format::DockerLegacy, Compression::None, &archive).unwrap();

    let (first, n) = report(&archive, &cache);
    assert_eq!(n, 0, "nothing to read back on a first open");
    assert_eq!(layer_files(&cache).len(), 2);
    let (second, n) = report(&archive, &cache);
    assert_eq!(n, 2);
    assert_eq!(first, second);
    // The same layers in another stored form (OCI, gzip) are found by diff id once
    // their bytes are proven.
    let oci = dir.path().join("img-oci.tar");
    write_image(&image(), Format::OciArchive, Compression::Gzip, &oci).unwrap();
    assert_eq!(report(&oci, &cache).1, 0, "not proven before it is hashed");
    let (oci_json, n) = report(&oci, &cache);
    assert_eq!(n, 2);
    let files = |j: &str| {
        let v: serde_json::Value = serde_json::from_str(j).unwrap();
        (v["waste"].clone(), v["layers"].as_array().unwrap().len())
    };
    assert_eq!(files(&oci_json), files(&first));
}

#[test]
fn a_damaged_cache_file_is_parsed_again() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("img.tar");
    let cache = dir.path().join("cache");
    write_image(&image(), Format::DockerLegacy, Compression::None, &archive).unwrap();
    let (first, _) = report(&archive, &cache);
    for f in layer_files(&cache) {
        let mut b = std::fs::read(&f).unwrap();
        let mid = b.len() / 2;
        b[mid] ^= 0x40;
        std::fs::write(&f, &b).unwrap();
    }
    let (again, n) = report(&archive, &cache);
    assert_eq!(n, 0);
    assert_eq!(first, again);
    // The damaged files were replaced by the layers parsed then.
    let (third, n) = report(&archive, &cache);
    assert_eq!(n, 2);
    assert_eq!(first, third);
}

#[test]
fn a_changed_archive_is_not_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("img.tar");
    let cache = dir.path().join("cache");
    write_image(&image(), Format::DockerLegacy, Compression::None, &archive).unwrap();
    report(&archive, &cache);
    // Rewritten in place (same bytes): the digests are not known for the new file.
    let bytes = std::fs::read(&archive).unwrap();
    std::fs::write(&archive, &bytes).unwrap();
    assert_eq!(report(&archive, &cache).1, 0);
    assert_eq!(report(&archive, &cache).1, 2);
}
