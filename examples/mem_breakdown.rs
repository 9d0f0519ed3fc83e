//! Where the memory of a loaded image goes (rough, by structure), and the process RSS
//! after each stage, and the time the stacking takes alone: `cargo run --release --example mem_breakdown -- ARCHIVE.tar`.
use layerlens::model::{Entry, FileTree, Version};
use layerlens::source::{self, ImageSource, LoadEvent, LoadOptions};

fn rss_mib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = s
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    kb / 1024
}

fn main() {
    // As the layerlens binary does.
    layerlens::tune_allocator();
    let path = std::env::args()
        .nth(1)
        .expect("usage: mem_breakdown ARCHIVE.tar");
    let src = ImageSource::parse(&path).unwrap();
    let mut layers = Vec::new();
    let t = std::time::Instant::now();
    source::load_with(&src, &path, &LoadOptions::default(), &mut |ev| {
        if let LoadEvent::Layer(i, c) = ev {
            layers.push((i, c))
        }
    })
    .unwrap();
    println!("parse (all threads): {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    layers.sort_by_key(|(i, _)| *i);
    let n: usize = layers.iter().map(|(_, c)| c.entries.len()).sum();
    let cap: usize = layers.iter().map(|(_, c)| c.entries.capacity()).sum();
    let path_bytes: usize = layers.iter().map(|(_, c)| c.names.capacity()).sum();
    println!(
        "entries: {n} (capacity {cap}), {} B each",
        size_of::<Entry>()
    );
    println!(
        "  structs {} MiB, name arenas {} MiB",
        (n * size_of::<Entry>()) >> 20,
        path_bytes >> 20
    );
    println!(
        "RSS after parse: {} MiB ({} B/entry)",
        rss_mib(),
        (rss_mib() << 20) / n as u64
    );
    let mut tree = FileTree::new();
    let t = std::time::Instant::now();
    for (_, c) in layers {
        tree.push_layer(c);
    }
    println!("stacking (one thread): {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let ids = 0..tree.node_count() as u32;
    let spilled = ids.clone().filter(|&n| tree.versions(n).len() > 1).count();
    let versions: usize = ids.map(|n| tree.versions(n).len()).sum();
    let children: usize = tree.nodes.iter().map(|n| n.children.len()).sum();
    let changes: usize = tree.layer_changes.iter().map(|c| c.capacity()).sum();
    println!(
        "tree: {} nodes of {} B (capacity {}), {} versions of {} B ({} nodes spilled), {} children ids, {} change ids",
        tree.nodes.len(),
        size_of::<layerlens::model::tree::Node>(),
        tree.nodes.capacity(),
        versions,
        size_of::<Version>(),
        spilled,
        children,
        changes
    );
    println!(
        "RSS after stacking: {} MiB ({} B/entry)",
        rss_mib(),
        (rss_mib() << 20) / n as u64
    );
}
