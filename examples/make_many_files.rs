//! Writes a synthetic "many files" archive (layers × files, with rewrites), for the
//! explorer latency bench when no Docker daemon is at hand.
//!
//!     cargo run --release --example make_many_files -- OUT.tar [LAYERS] [FILES_PER_LAYER]

use layerlens::fixture::{Compression, FEntry, FImage, FLayer, Format, write_image};

fn main() {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .expect("usage: make_many_files OUT.tar [LAYERS] [FILES]");
    let layers: usize = args.next().map(|s| s.parse().unwrap()).unwrap_or(40);
    let files: usize = args.next().map(|s| s.parse().unwrap()).unwrap_or(6000);
    let mut ls = Vec::new();
    for l in 0..layers {
        let mut e = vec![FEntry::dir("data")];
        for d in 0..(files / 100) {
            e.push(FEntry::dir(&format!("data/l{l}/d{d}")));
            for f in 0..100 {
                e.push(FEntry::file(
                    &format!("data/l{l}/d{d}/f{f}.txt"),
                    format!("layer {l} dir {d} file {f}\n").repeat(20),
                ));
            }
        }
        // Rewrite 1000 files of the previous layer.
        if l > 0 {
            for f in 0..1000 {
                let (d, ff) = (f / 100, f % 100);
                e.push(FEntry::file(
                    &format!("data/l{}/d{d}/f{ff}.txt", l - 1),
                    format!("rewritten by {l}\n").repeat(20),
                ));
            }
        }
        ls.push(FLayer::new(&format!("RUN generate layer {l}"), e));
    }
    write_image(
        &FImage::new("many:files", ls),
        Format::DockerLegacy,
        Compression::None,
        std::path::Path::new(&out),
    )
    .unwrap();
}
