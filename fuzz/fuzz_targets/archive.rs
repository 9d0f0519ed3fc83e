//! A whole image archive (docker save, legacy or Docker 25+, or an OCI archive) read
//! from a file → the loaded image → every analysis and report.
#![no_main]

use layerlens::source::{self, ImageSource, LoadOptions};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let dir = DIR.get_or_init(|| tempfile::tempdir().expect("temp dir"));
    let path = dir.path().join("image.tar");
    std::fs::write(&path, data).expect("writing the input");
    let p = path.to_str().expect("utf-8 temp path");
    let Ok(src) = ImageSource::parse(p) else {
        return;
    };
    let Ok(img) = source::load(&src, p, &LoadOptions::default()) else {
        return;
    };
    layerlens_fuzz::exercise(&img);
});
