//! A layer blob (plain tar, gzip or zstd, sniffed) → the layer model → stacked into an
//! image (once, and over itself) → every analysis and report. The layer's tar is also
//! parsed by the `tar` crate's reader, which must agree with ours.
#![no_main]

use layerlens::source::blob::parse_blob;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The fast tar reader reads every input exactly as the tar crate's reader does.
    layerlens::model::layer::assert_same_as_reference(data);
    let Ok(content) = parse_blob(data, Some(data.len() as u64), None, "fuzz") else {
        return;
    };
    let history = ["ADD file:fuzz in /".to_string(), "RUN true".to_string()];
    // The layer alone, then on top of itself (modifications, whiteouts of its own paths).
    let img = layerlens_fuzz::image_from(vec![content.clone()], &history);
    layerlens_fuzz::exercise(&img);
    let img = layerlens_fuzz::image_from(vec![content.clone(), content], &history);
    layerlens_fuzz::exercise(&img);
});
