//! A layer read back parsed (`source::parsed`) still moves the load's progress by the
//! bytes its parse would have read: the bar of the second open ends where the first's
//! did. (Its own test binary: it sets the cache's environment for the whole process.)

use layerlens::fixture::{Compression, FEntry, FImage, FLayer, Format, write_image};
use layerlens::source::{self, ImageSource, LoadOptions, blob::Progress};
use std::sync::Arc;
use std::sync::atomic::Ordering;

#[test]
fn read_back_layers_count_their_bytes_in_the_progress() {
    let dir = tempfile::tempdir().unwrap();
    // SAFETY: the only test of this binary; nothing else reads the environment.
    unsafe {
        std::env::set_var("LAYERLENS_CACHE_DIR", dir.path().join("cache"));
        std::env::set_var("LAYERLENS_PARSE_CACHE_MIN", "1");
    }
    let img = FImage::new(
        "progress:1",
        vec![
            FLayer::new("ADD a", vec![FEntry::file("a", vec![b'a'; 70_000])]),
            FLayer::new("ADD b", vec![FEntry::file("b", vec![b'b'; 9_000])]),
        ],
    );
    let archive = dir.path().join("img.tar");
    write_image(&img, Format::DockerLegacy, Compression::None, &archive).unwrap();
    let src = ImageSource::parse(archive.to_str().unwrap()).unwrap();
    let read = || {
        let p = Arc::new(Progress::default());
        let opts = LoadOptions {
            progress: Some(p.clone()),
            ..Default::default()
        };
        let loaded = source::load(&src, "img", &opts).unwrap();
        assert_eq!(loaded.layers.len(), 2);
        (
            p.read.load(Ordering::Relaxed),
            p.layers_done.load(Ordering::Relaxed),
        )
    };
    let first = read();
    assert!(dir.path().join("cache/layers").read_dir().unwrap().count() == 2);
    let second = read();
    assert!(first.0 > 79_000, "{first:?}");
    assert_eq!(second, first);
}
