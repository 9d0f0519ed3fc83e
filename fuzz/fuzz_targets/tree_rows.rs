//! The explorer's tree: a stack of up to 4 generated layers (files, dirs, symlinks,
//! hardlinks, devices, whiteouts, opaque dirs over a small name alphabet, so paths
//! collide) written as an image, loaded, then rows built for every layer, mode, sort,
//! filter and expansion, searched, and a node extracted twice (two layers, the second
//! overwriting) into a destination inside a sandbox: nothing may appear outside it.
#![no_main]

use arbitrary::Arbitrary;
use layerlens::fixture::{Compression, FEntry, FImage, FLayer, Format, write_image};
use layerlens::model::tree::ROOT;
use layerlens::source::{self, ImageSource, LoadOptions};
use layerlens::tui::extract::extract_now;
use layerlens::tui::treeview::{
    Expansion, Filter, Mode, SizeCache, Sort, ViewOptions, build_rows, compute_sizes, search,
};
use libfuzzer_sys::fuzz_target;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const NAMES: &[&str] = &[
    "a",
    "b",
    "etc",
    "usr",
    "..",
    ".",
    "",
    ".wh.a",
    ".wh..wh..opq",
    ".wh.b",
    "x y",
    "\u{e9}",
    "\x1b[31m",
    "a\nb",
    "*",
    "lib",
    "bin",
    "~",
    "-",
    "@OUT",
];

#[derive(Arbitrary, Debug)]
struct P(Vec<u8>);

impl P {
    fn bytes(&self) -> Vec<u8> {
        let parts: Vec<&str> = self
            .0
            .iter()
            .take(8)
            .map(|b| NAMES[*b as usize % NAMES.len()])
            .collect();
        parts.join("/").into_bytes()
    }
}

#[derive(Arbitrary, Debug)]
enum Op {
    File(P, u8, u16),
    Dir(P),
    Symlink(P, P),
    Hardlink(P, P),
    Fifo(P),
    Char(P),
    Whiteout(P),
    Opaque(P),
    RawFile(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum Layout {
    Legacy,
    Docker25(u8),
    OciDir(u8),
}

#[derive(Arbitrary, Debug)]
struct Input {
    layers: Vec<Vec<Op>>,
    layout: Layout,
    filter: Option<String>,
    hidden: [bool; 4],
    toggles: Vec<(u16, bool)>,
    collapse_all: bool,
    extract: Option<(u16, u16, bool)>,
}

fn comp(c: u8) -> Compression {
    [Compression::None, Compression::Gzip, Compression::Zstd][c as usize % 3]
}

/// A sandbox nested deep enough that even composed `..` links cannot leave it.
static SANDBOX: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();

/// Rebase absolute and `@OUT` targets into `outside`; drop `..` that would climb out
/// of the sandbox from where the link is.
fn target(t: &[u8], link_depth: usize, outside: &Path) -> Vec<u8> {
    let s = String::from_utf8_lossy(t).into_owned();
    if let Some(rest) = s.strip_prefix("@OUT") {
        return format!("{}{rest}", outside.display()).into_bytes();
    }
    if s.starts_with('/') {
        return format!("{}{s}", outside.display()).into_bytes();
    }
    // The link's directory sits `link_depth` levels below the destination, which is
    // 2 levels below the test dir.
    let mut depth = link_depth as i64 + 2;
    let mut out = Vec::new();
    for c in s.split('/') {
        if c == ".." {
            if depth == 0 {
                continue;
            }
            depth -= 1;
        } else if !c.is_empty() && c != "." {
            depth += 1;
        }
        out.push(c);
    }
    out.join("/").into_bytes()
}

fn entries(ops: &[Op], outside: &Path) -> Vec<FEntry> {
    ops.iter()
        .take(48)
        .map(|op| match op {
            Op::File(p, size, mode) => FEntry::File {
                path: p.bytes(),
                data: vec![b'x'; *size as usize],
                mode: *mode as u32 & 0o7777,
                uid: 0,
                gid: 0,
            },
            Op::Dir(p) => FEntry::Dir {
                path: p.bytes(),
                mode: 0o755,
            },
            Op::Symlink(p, t) => {
                let path = p.bytes();
                let depth = path.split(|b| *b == b'/').count().saturating_sub(1);
                FEntry::Symlink {
                    target: target(&t.bytes(), depth, outside),
                    path,
                }
            }
            Op::Hardlink(p, t) => FEntry::Hardlink {
                path: p.bytes(),
                target: t.bytes(),
            },
            Op::Fifo(p) => FEntry::Fifo { path: p.bytes() },
            Op::Char(p) => FEntry::Char {
                path: p.bytes(),
                major: 1,
                minor: 3,
            },
            Op::Whiteout(p) => FEntry::Whiteout { path: p.bytes() },
            Op::Opaque(p) => FEntry::Opaque { dir: p.bytes() },
            Op::RawFile(raw) => FEntry::File {
                path: raw.iter().take(300).copied().filter(|b| *b != 0).collect(),
                data: b"raw".to_vec(),
                mode: 0o644,
                uid: 0,
                gid: 0,
            },
        })
        .collect()
}

/// Every path under `root`, relative to it.
fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            out.push(p.strip_prefix(root).unwrap().to_path_buf());
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            }
        }
    }
    out
}

fuzz_target!(|input: Input| {
    if input.layers.is_empty() || input.layers.len() > 4 {
        return;
    }
    let (sandbox, base) = SANDBOX.get_or_init(|| {
        let t = tempfile::tempdir().expect("sandbox");
        let base = t.path().join("1/2/3/4/5/6/7/8/9/10/11/12");
        std::fs::create_dir_all(&base).unwrap();
        (t, base)
    });
    // test dir: base/t; destination base/t/out/x; a decoy base/t/outside.
    let work = base.join("t");
    let _ = std::fs::remove_dir_all(&work);
    let outside = work.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("sentinel"), b"s").unwrap();
    std::fs::create_dir_all(work.join("out")).unwrap();
    let images = tempfile::tempdir().expect("image dir");

    let layers: Vec<FLayer> = input
        .layers
        .iter()
        .enumerate()
        .map(|(i, ops)| FLayer::new(&format!("RUN step {i}"), entries(ops, &outside)))
        .collect();
    let fimg = FImage::new("fuzz:1", layers);
    let (format, c, path) = match input.layout {
        Layout::Legacy => (
            Format::DockerLegacy,
            Compression::None,
            images.path().join("i.tar"),
        ),
        Layout::Docker25(c) => (Format::Docker25, comp(c), images.path().join("i.tar")),
        Layout::OciDir(c) => (Format::OciDir, comp(c), images.path().join("oci")),
    };
    write_image(&fimg, format, c, &path).expect("writing the image");
    let src = if format == Format::OciDir {
        ImageSource::OciDir(path.clone(), None)
    } else {
        ImageSource::DockerArchive(path.clone(), None)
    };
    let Ok(img) = source::load(&src, "fuzz", &LoadOptions::default()) else {
        return;
    };

    let filter = input
        .filter
        .as_deref()
        .filter(|f| f.len() <= 24)
        .and_then(|f| Filter::new(f).ok());
    let mut expansion = Expansion::default();
    if input.collapse_all {
        expansion.collapse_all();
    }
    let nodes = img.tree.node_count() as u32;
    for (n, e) in input.toggles.iter().take(16) {
        if nodes > 0 {
            expansion.set(*n as u32 % nodes, *e);
        }
    }
    let mut cache = SizeCache::default();
    let mut all_rows = Vec::new();
    for layer in 0..img.layers.len() {
        let sizes = compute_sizes(&img.tree, layer);
        let _ = cache.get(&img.tree, layer);
        for mode in [Mode::Merged, Mode::Changes] {
            for sort in [Sort::Size, Sort::Name] {
                let opts = ViewOptions {
                    mode,
                    sort,
                    hidden: input.hidden,
                    filter: filter.clone(),
                };
                let rows = build_rows(&img, layer, &opts, &expansion, &sizes);
                for r in &rows {
                    assert!((r.node as usize) < img.tree.node_count());
                }
                if let Some(f) = &filter {
                    let _ = search(&img, layer, &opts, &sizes, f);
                }
                if mode == Mode::Merged && sort == Sort::Name {
                    all_rows.push(rows);
                }
            }
        }
    }

    // Extract a node at one layer, then (overwriting) at another, to the same place.
    let Some((pick, second, overwrite)) = input.extract else {
        return;
    };
    let dest = work.join("out/x");
    let n_layers = img.layers.len();
    let l1 = pick as usize % n_layers;
    let l2 = second as usize % n_layers;
    let node = all_rows[l1]
        .get(pick as usize / n_layers % (all_rows[l1].len() + 1))
        .map(|r| r.node)
        .unwrap_or(ROOT);
    let _ = extract_now(&img, &src, l1, node, &dest, overwrite);
    let _ = extract_now(&img, &src, l2, node, &dest, true);

    // Nothing outside the destination changed.
    let rel = |q: &Path| q.strip_prefix(sandbox.path()).unwrap().to_path_buf();
    let dest_rel = rel(&dest);
    let base_rel = rel(base);
    let allowed = [
        &work,
        &outside,
        &outside.join("sentinel"),
        &work.join("out"),
    ]
    .map(|q| rel(q));
    for p in walk(sandbox.path()) {
        let ok = p.starts_with(&dest_rel) || allowed.contains(&p) || base_rel.starts_with(&p);
        assert!(
            ok,
            "extraction wrote outside its destination: {}",
            p.display()
        );
    }
    assert_eq!(std::fs::read(outside.join("sentinel")).unwrap(), b"s");
});
