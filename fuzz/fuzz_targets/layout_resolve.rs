//! Manifest / index / config resolution of an OCI layout directory or a docker-save
//! manifest, built from the input:
//!
//! `SELECTOR SEP index.json SEP manifest.json SEP doc0 SEP doc1 …` (SEP is
//! `\n--8<--\n`; an empty index.json or manifest.json is left out). Each doc `i` is
//! stored as `blobs/sha256/<its digest>`; in any document `#i` (after `sha256:` or in a
//! path) becomes the digest hex of doc `i` and `$i` its size, so the fuzzer can link
//! documents with right digests. Doc `i` may name only docs after it. The layout is
//! resolved and loaded as a directory and, packed as a tar, as an archive stream.
#![no_main]

use layerlens::source::layout::resolve;
use layerlens::source::store::DirStore;
use layerlens::source::{self, ImageSource, LoadOptions};
use layerlens_fuzz::{SEP, exercise, sha256_hex, split};
use libfuzzer_sys::fuzz_target;

const MAX_DOCS: usize = 8;

/// Replace `#i` / `$i` for the docs already known.
fn link(doc: &[u8], known: &[(String, usize)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(doc.len());
    let mut i = 0;
    while i < doc.len() {
        let c = doc[i];
        if (c == b'#' || c == b'$') && i + 1 < doc.len() && doc[i + 1].is_ascii_digit() {
            let k = (doc[i + 1] - b'0') as usize;
            if let Some((hex, size)) = known.get(k).filter(|(h, _)| !h.is_empty()) {
                if c == b'#' {
                    out.extend_from_slice(hex.as_bytes());
                } else {
                    out.extend_from_slice(size.to_string().as_bytes());
                }
                i += 2;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let parts = split(data, SEP);
    if parts.len() < 3 {
        return;
    }
    let selector = std::str::from_utf8(parts[0]).ok().filter(|s| !s.is_empty());
    if selector.is_some_and(|s| s.contains('/') || s.contains('\0')) {
        return;
    }
    let docs: Vec<&[u8]> = parts[3..].iter().take(MAX_DOCS).copied().collect();
    // Link from the last doc back: doc i sees the digests of docs > i.
    let mut known: Vec<(String, usize)> = vec![(String::new(), 0); docs.len()];
    let mut linked: Vec<Vec<u8>> = vec![Vec::new(); docs.len()];
    for i in (0..docs.len()).rev() {
        let d = link(docs[i], &known);
        known[i] = (sha256_hex(&d), d.len());
        linked[i] = d;
    }
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, d) in linked.into_iter().enumerate() {
        let name = format!("blobs/sha256/{}", known[i].0);
        if !files.iter().any(|(n, _)| *n == name) {
            files.push((name, d));
        }
    }
    if !parts[1].is_empty() {
        files.push(("index.json".into(), link(parts[1], &known)));
        files.push((
            "oci-layout".into(),
            br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
        ));
    }
    if !parts[2].is_empty() {
        files.push(("manifest.json".into(), link(parts[2], &known)));
    }

    let dir = tempfile::tempdir().expect("temp dir");
    for (name, d) in &files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).expect("blob dir");
        std::fs::write(p, d).expect("writing a document");
    }
    let store = DirStore {
        root: dir.path().to_path_buf(),
    };
    if resolve(&store, selector, None).is_err() {
        return;
    }
    let src = ImageSource::OciDir(dir.path().to_path_buf(), selector.map(str::to_string));
    if let Ok(img) = source::load(&src, "fuzz", &LoadOptions::default()) {
        exercise(&img);
    }
    // The same files as an archive stream (the in-memory store of `load_stream`).
    let tar = dir.path().join("image.tar");
    layerlens::fixture::write_tar(&files, &tar).expect("writing the tar");
    if let Ok(f) = std::fs::File::open(&tar) {
        let _ = source::load_stream(std::io::BufReader::new(f), "fuzz", &LoadOptions::default());
    }
});
