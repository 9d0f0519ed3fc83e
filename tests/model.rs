//! Layer-model tests on synthesized images: whiteouts, opaque directories, type
//! changes, hardlinks, odd tar entries, and every archive format and compression.

use layerlens::fixture::{Compression, FEntry, FImage, FLayer, Format, write_image};
use layerlens::model::{Change, EntryKind, Image};
use layerlens::report::files::{self, FileRecord};
use layerlens::source::{self, ImageSource, LoadOptions};
use std::collections::BTreeMap;

fn load(img: &FImage, format: Format, comp: Compression) -> Image {
    let dir = tempfile::tempdir().unwrap();
    let path = if format == Format::OciDir {
        dir.path().join("layout")
    } else {
        dir.path().join("img.tar")
    };
    write_image(img, format, comp, &path).unwrap();
    let src = match format {
        Format::OciDir => ImageSource::OciDir(path.clone(), None),
        Format::OciArchive => ImageSource::OciArchive(path.clone(), None),
        _ => ImageSource::DockerArchive(path.clone(), None),
    };
    source::load(&src, "test", &LoadOptions::default()).unwrap()
}

fn load_default(img: &FImage) -> Image {
    load(img, Format::DockerLegacy, Compression::None)
}

fn tree_at(img: &Image, layer: usize) -> BTreeMap<String, FileRecord> {
    files::merged(img, layer)
        .into_iter()
        .map(|r| (r.path.clone(), r))
        .collect()
}

fn changes(img: &Image, layer: usize) -> BTreeMap<String, Change> {
    files::changes(img, layer, true)
        .into_iter()
        .map(|r| (r.path, r.change.unwrap()))
        .collect()
}

fn base() -> FLayer {
    FLayer::new(
        "ADD rootfs.tar /",
        vec![
            FEntry::dir("etc"),
            FEntry::file("etc/passwd", "root:x:0:0::/root:/bin/sh\n"),
            FEntry::dir("usr"),
            FEntry::dir("usr/lib"),
            FEntry::file("usr/lib/a.so", vec![1u8; 1000]),
            FEntry::file("usr/lib/b.so", vec![2u8; 2000]),
            FEntry::dir("tmp"),
        ],
    )
}

#[test]
fn whiteout_of_file_and_directory() {
    let img = FImage::new(
        "t:1",
        vec![
            base(),
            FLayer::new(
                "RUN rm",
                vec![
                    FEntry::dir("usr"),
                    FEntry::whiteout("usr/lib"),
                    FEntry::dir("etc"),
                    FEntry::whiteout("etc/passwd"),
                ],
            ),
        ],
    );
    let im = load_default(&img);
    let t0 = tree_at(&im, 0);
    assert!(t0.contains_key("/usr/lib/a.so"));
    let t1 = tree_at(&im, 1);
    assert!(!t1.contains_key("/usr/lib"));
    assert!(!t1.contains_key("/usr/lib/a.so"));
    assert!(!t1.contains_key("/etc/passwd"));
    assert!(t1.contains_key("/usr"));
    let c = changes(&im, 1);
    assert_eq!(c.get("/usr/lib"), Some(&Change::Removed));
    assert_eq!(c.get("/usr/lib/a.so"), Some(&Change::Removed));
    assert_eq!(c.get("/etc/passwd"), Some(&Change::Removed));
    // A directory written again with the same attributes is not a change.
    assert_eq!(c.get("/usr"), Some(&Change::Unchanged));
    assert_eq!(files::change_counts(&im, 1), (0, 0, 4));
}

#[test]
fn opaque_applies_before_the_layers_own_entries_wherever_it_sits() {
    for marker_last in [false, true] {
        let mut entries = vec![
            FEntry::dir("usr/lib"),
            FEntry::file("usr/lib/new.so", "new"),
        ];
        if marker_last {
            entries.push(FEntry::opaque("usr/lib"));
        } else {
            entries.insert(1, FEntry::opaque("usr/lib"));
        }
        let img = FImage::new("t:1", vec![base(), FLayer::new("RUN refill", entries)]);
        let im = load_default(&img);
        let t1 = tree_at(&im, 1);
        assert!(
            t1.contains_key("/usr/lib/new.so"),
            "marker_last={marker_last}"
        );
        assert!(
            !t1.contains_key("/usr/lib/a.so"),
            "marker_last={marker_last}"
        );
        assert!(!t1.contains_key("/usr/lib/b.so"));
        let c = changes(&im, 1);
        assert_eq!(c.get("/usr/lib/a.so"), Some(&Change::Removed));
        assert_eq!(c.get("/usr/lib/new.so"), Some(&Change::Added));
    }
}

#[test]
fn a_whiteout_never_hides_its_own_layers_entries() {
    let img = FImage::new(
        "t:1",
        vec![
            base(),
            FLayer::new(
                "RUN x",
                vec![
                    FEntry::file("etc/passwd", "new"),
                    FEntry::whiteout("etc/passwd"),
                ],
            ),
        ],
    );
    let im = load_default(&img);
    let t1 = tree_at(&im, 1);
    assert_eq!(t1["/etc/passwd"].size, 3);
    assert_eq!(changes(&im, 1).get("/etc/passwd"), Some(&Change::Modified));
}

#[test]
fn type_changes() {
    let img = FImage::new(
        "t:1",
        vec![
            base(),
            // dir -> symlink, file -> dir, symlink to come
            FLayer::new(
                "RUN swap",
                vec![
                    FEntry::symlink("usr/lib", "/lib"),
                    FEntry::dir("etc/passwd"),
                    FEntry::file("etc/passwd/x", "x"),
                ],
            ),
            FLayer::new("RUN back", vec![FEntry::file("usr/lib", "now a file")]),
        ],
    );
    let im = load_default(&img);
    let t1 = tree_at(&im, 1);
    assert_eq!(t1["/usr/lib"].kind, EntryKind::Symlink);
    assert!(
        !t1.contains_key("/usr/lib/a.so"),
        "children of a replaced directory are gone"
    );
    assert_eq!(t1["/etc/passwd"].kind, EntryKind::Dir);
    assert!(t1.contains_key("/etc/passwd/x"));
    let t2 = tree_at(&im, 2);
    assert_eq!(t2["/usr/lib"].kind, EntryKind::File);
    let c1 = changes(&im, 1);
    assert_eq!(c1.get("/usr/lib"), Some(&Change::Modified));
    assert_eq!(c1.get("/usr/lib/a.so"), Some(&Change::Removed));
}

#[test]
fn hardlinks_keep_content_when_the_target_is_deleted() {
    let img = FImage::new(
        "t:1",
        vec![
            base(),
            FLayer::new(
                "RUN ln",
                vec![
                    FEntry::dir("bin"),
                    FEntry::file_mode("bin/tool", vec![7u8; 500], 0o755),
                    FEntry::hardlink("bin/alias", "bin/tool"),
                    // A hardlink to a file of a lower layer.
                    FEntry::hardlink("bin/a.so", "usr/lib/a.so"),
                ],
            ),
            FLayer::new("RUN rm", vec![FEntry::whiteout("bin/tool")]),
        ],
    );
    let im = load_default(&img);
    let t2 = tree_at(&im, 2);
    assert!(!t2.contains_key("/bin/tool"));
    let alias = &t2["/bin/alias"];
    assert_eq!(alias.kind, EntryKind::Hardlink);
    assert_eq!(alias.size, 500);
    assert_eq!(alias.mode, "0755");
    assert_eq!(t2["/bin/a.so"].size, 1000);
    // The content survives through the link: nothing to reclaim for it.
    let w = layerlens::analysis::waste::analyze(&im);
    assert_eq!(w.layer_reclaimable[1], 0);
}

#[test]
fn modified_means_content_or_metadata_changed() {
    let img = FImage::new(
        "t:1",
        vec![
            base(),
            FLayer::new(
                "RUN touch",
                vec![
                    FEntry::file("etc/passwd", "root:x:0:0::/root:/bin/sh\n"),
                    FEntry::file_mode("usr/lib/a.so", vec![1u8; 1000], 0o600),
                    FEntry::file("usr/lib/b.so", vec![3u8; 2000]),
                ],
            ),
        ],
    );
    let im = load_default(&img);
    let c = changes(&im, 1);
    assert_eq!(c.get("/etc/passwd"), Some(&Change::Unchanged));
    assert_eq!(c.get("/usr/lib/a.so"), Some(&Change::Modified));
    assert_eq!(c.get("/usr/lib/b.so"), Some(&Change::Modified));
    assert_eq!(files::change_counts(&im, 1), (0, 2, 0));
}

#[test]
fn odd_names_are_kept_lossy_and_escapes_rejected() {
    let long = format!("deep/{}/{}", "d".repeat(120), "f".repeat(150));
    let img = FImage::new(
        "t:1",
        vec![FLayer::new(
            "ADD odd",
            vec![
                FEntry::File {
                    path: b"caf\xe9".to_vec(),
                    data: b"x".to_vec(),
                    mode: 0o644,
                    uid: 0,
                    gid: 0,
                },
                FEntry::file("../escape", "nope"),
                FEntry::file("a/../../b", "nope"),
                FEntry::file("./dot/./slash//x", "ok"),
                FEntry::file(&long, "long"),
                FEntry::file("with space", "s"),
                FEntry::Fifo {
                    path: b"fifo".to_vec(),
                },
                FEntry::Char {
                    path: b"null".to_vec(),
                    major: 1,
                    minor: 3,
                },
            ],
        )],
    );
    let im = load_default(&img);
    let t = tree_at(&im, 0);
    assert!(t.contains_key("/caf\u{fffd}"));
    assert!(t.contains_key("/dot/slash/x"));
    assert!(t.contains_key(&format!("/{long}")));
    assert!(t.contains_key("/with space"));
    assert_eq!(t["/fifo"].kind, EntryKind::Fifo);
    assert_eq!(t["/null"].kind, EntryKind::Char);
    assert!(!t.keys().any(|k| k.contains("escape") || k == "/b"));
    assert_eq!(
        im.warnings
            .iter()
            .filter(|w| w.contains("leaves the image root"))
            .count(),
        2
    );
}

fn sample() -> FImage {
    let mut img = FImage::new(
        "app:1",
        vec![
            base(),
            FLayer::new(
                "RUN apt-get install build-essential",
                vec![
                    FEntry::dir("var"),
                    FEntry::file("var/cache.bin", vec![9u8; 4000]),
                ],
            ),
            FLayer::new(
                "RUN rm -rf /var/cache.bin",
                vec![FEntry::dir("var"), FEntry::whiteout("var/cache.bin")],
            ),
            FLayer::new(
                "COPY . /app",
                vec![FEntry::dir("app"), FEntry::file("app/main", vec![5u8; 300])],
            ),
        ],
    );
    img.layers[1].then = vec!["ENV A=1".into()];
    img.layers[3].then = vec!["CMD [\"/app/main\"]".into()];
    img
}

#[test]
fn every_format_and_compression_loads_the_same_image() {
    let img = sample();
    let reference = load_default(&img);
    let want: Vec<_> = (0..4).map(|l| tree_at(&reference, l)).collect();
    for (format, comp) in [
        (Format::Docker25, Compression::None),
        (Format::Docker25, Compression::Gzip),
        (Format::OciDir, Compression::Gzip),
        (Format::OciDir, Compression::Zstd),
        (Format::OciArchive, Compression::Zstd),
        (Format::OciArchive, Compression::None),
    ] {
        let im = load(&img, format, comp);
        assert_eq!(im.layers.len(), 4);
        for l in 0..4 {
            assert_eq!(tree_at(&im, l), want[l], "{format:?} {comp:?} layer {l}");
        }
        assert_eq!(
            im.layers.iter().map(|l| &l.diff_id).collect::<Vec<_>>(),
            reference
                .layers
                .iter()
                .map(|l| &l.diff_id)
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn history_pairs_with_layers_and_keeps_empty_instructions() {
    let im = load_default(&sample());
    assert_eq!(im.history.len(), 6);
    assert_eq!(im.created_by(3), "COPY . /app");
    assert_eq!(
        im.instructions_after(1)
            .iter()
            .map(|h| h.created_by.as_str())
            .collect::<Vec<_>>(),
        vec!["ENV A=1"]
    );
    assert_eq!(im.instructions_after(3).len(), 1);
    // Chain ids: first equals the diff id, then each differs.
    assert_eq!(im.layers[0].chain_id, im.layers[0].diff_id);
    assert_ne!(im.layers[1].chain_id, im.layers[1].diff_id);
}

#[test]
fn waste_counts_deleted_cache() {
    let im = load_default(&sample());
    let w = layerlens::analysis::waste::analyze(&im);
    // The cache file is stored in layer 1 and deleted in layer 2.
    assert_eq!(w.layer_reclaimable, vec![0, 4000, 0, 0]);
    assert_eq!(w.reclaimable_bytes, 4000);
    let f = &w.reclaimable_files[0];
    assert_eq!(
        (f.path.as_str(), f.layer, f.hidden_in, f.deleted),
        ("/var/cache.bin", 1, 2, true)
    );
    // dive: /var/cache.bin appears in 2 layers (file + whiteout of a file = 0 bytes).
    let cache = w
        .inefficient_files
        .iter()
        .find(|f| f.path == "/var/cache.bin")
        .unwrap();
    assert_eq!((cache.count, cache.wasted_bytes), (2, 4000));
    let sizes: u64 = (0..4).map(|l| im.layer_size(l)).sum();
    assert_eq!(w.size_bytes, sizes);
}

#[test]
fn selecting_a_tag_inside_an_archive() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.tar");
    write_image(&sample(), Format::Docker25, Compression::Gzip, &p).unwrap();
    let ok = ImageSource::parse(&format!("docker-archive:{}:app:1", p.display())).unwrap();
    assert!(source::load(&ok, "x", &LoadOptions::default()).is_ok());
    let bad = ImageSource::parse(&format!("docker-archive:{}:other:2", p.display())).unwrap();
    let e = source::load(&bad, "x", &LoadOptions::default()).unwrap_err();
    assert!(e.message.contains("other:2"), "{}", e.message);
}
