//! Writes the "2.2 M tiny files" bench archive (issue #12): a `docker save`-style
//! archive of LAYERS layers, each adding FILES files of 0–48 bytes in a node_modules-like
//! tree and rewriting REWRITES files of the layer below. Streams everything (layer tars
//! are written to temporary files first, for their digests), so memory stays small.
//!
//!     cargo run --release --example make_tiny_files -- OUT.tar [LAYERS] [FILES] [REWRITES]
//!
//! Defaults: 20 layers × 100 000 files, 10 000 rewrites per layer: 2.2 M tar entries.

use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};

fn header(path: &str, size: u64, kind: tar::EntryType, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(1_700_000_000);
    h.set_uid(0);
    h.set_gid(0);
    let _ = path;
    h
}

fn content(layer: usize, i: usize) -> Vec<u8> {
    // 0–48 bytes, varied so files differ.
    let len = (i * 7 + layer * 13) % 49;
    let s = format!("l{layer} f{i} ");
    s.bytes().cycle().take(len).collect()
}

/// Path of file `i` written by layer `layer`.
fn path(layer: usize, i: usize) -> String {
    let pkg = i / 50;
    let sub = (i / 10) % 5;
    format!("app/l{layer}/node_modules/pkg{pkg}/lib{sub}/f{i}.js")
}

fn main() {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .expect("usage: make_tiny_files OUT.tar [LAYERS] [FILES] [REWRITES]");
    let layers: usize = args.next().map(|s| s.parse().unwrap()).unwrap_or(20);
    let files: usize = args.next().map(|s| s.parse().unwrap()).unwrap_or(100_000);
    let rewrites: usize = args.next().map(|s| s.parse().unwrap()).unwrap_or(10_000);
    let tmp = tempfile::tempdir().unwrap();
    let mut diff_ids = Vec::new();
    let mut layer_files = Vec::new();
    let mut entries = 0usize;
    for l in 0..layers {
        let p = tmp.path().join(format!("layer{l}.tar"));
        {
            let mut b =
                tar::Builder::new(BufWriter::with_capacity(1 << 20, File::create(&p).unwrap()));
            let mut last_dir = String::new();
            for i in 0..files {
                let fp = path(l, i);
                let dir = &fp[..fp.rfind('/').unwrap()];
                if dir != last_dir {
                    let mut h = header(dir, 0, tar::EntryType::Directory, 0o755);
                    b.append_data(&mut h, format!("{dir}/"), std::io::empty())
                        .unwrap();
                    last_dir = dir.to_string();
                }
                let c = content(l, i);
                let mut h = header(&fp, c.len() as u64, tar::EntryType::Regular, 0o644);
                b.append_data(&mut h, &fp, &c[..]).unwrap();
                entries += 1;
            }
            if l > 0 {
                for i in 0..rewrites {
                    let fp = path(l - 1, i * (files / rewrites.max(1)).max(1) % files);
                    let c = content(l + 1000, i);
                    let mut h = header(&fp, c.len() as u64, tar::EntryType::Regular, 0o644);
                    b.append_data(&mut h, &fp, &c[..]).unwrap();
                    entries += 1;
                }
            }
            b.into_inner().unwrap().flush().unwrap();
        }
        let mut f = File::open(&p).unwrap();
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        let hex = hex::encode(h.finalize());
        diff_ids.push(format!("sha256:{hex}"));
        layer_files.push((p, hex));
    }
    let history: Vec<serde_json::Value> = (0..layers)
        .map(|l| serde_json::json!({"created": "2024-01-01T00:00:00Z", "created_by": format!("/bin/sh -c npm install # layer {l}")}))
        .collect();
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }))
    .unwrap();
    let config_hex = hex::encode(Sha256::digest(&config));
    let manifest = serde_json::to_vec(&serde_json::json!([{
        "Config": format!("{config_hex}.json"),
        "RepoTags": ["tiny:files"],
        "Layers": layer_files.iter().map(|(_, h)| format!("{h}/layer.tar")).collect::<Vec<_>>(),
    }]))
    .unwrap();
    let mut b = tar::Builder::new(BufWriter::with_capacity(
        1 << 20,
        File::create(&out).unwrap(),
    ));
    for (p, hex) in &layer_files {
        let mut f = File::open(p).unwrap();
        let len = f.seek(SeekFrom::End(0)).unwrap();
        f.seek(SeekFrom::Start(0)).unwrap();
        let mut h = header("", len, tar::EntryType::Regular, 0o644);
        b.append_data(&mut h, format!("{hex}/layer.tar"), f)
            .unwrap();
    }
    for (name, data) in [
        (format!("{config_hex}.json"), &config),
        ("manifest.json".to_string(), &manifest),
    ] {
        let mut h = header("", data.len() as u64, tar::EntryType::Regular, 0o644);
        b.append_data(&mut h, name, &data[..]).unwrap();
    }
    b.into_inner().unwrap().flush().unwrap();
    eprintln!("{out}: {layers} layers, {entries} file entries");
}
