//! The model id: a hash of the sources that decide what a parsed layer holds. Parsed
//! layers are remembered on disk under it (`src/source/parsed.rs`), so a build that
//! parses differently never reads what another build wrote.
fn main() {
    let sources = [
        "src/model/entry.rs",
        "src/model/layer.rs",
        "src/model/tarstream.rs",
        "src/source/blob.rs",
        "src/source/tarsplit.rs",
        "src/source/docker_store.rs",
        "src/source/parsed.rs",
    ];
    // FNV-1a, 64 bits.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for s in sources {
        println!("cargo:rerun-if-changed={s}");
        for b in std::fs::read(s).unwrap_or_default() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    println!("cargo:rustc-env=LAYERLENS_MODEL_ID={h:016x}");
}
