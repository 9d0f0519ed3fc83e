//! Writes the seed corpora of the fuzz targets into `seeds/<target>/` (small generated
//! images in every format and compression, Dockerfiles, registry documents).
//! Run by `fuzz/seeds.sh`; the output is committed (a few hundred KB).

use layerlens::fixture::{
    Compression, FEntry, FImage, FLayer, Format, image_files, layer_tar, write_tar,
};
use layerlens_fuzz::{SEP, sha256_hex};
use std::path::{Path, PathBuf};

fn out(target: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn put(target: &str, name: &str, data: &[u8]) {
    std::fs::write(out(target).join(name), data).unwrap();
}

/// A few small layers covering every entry kind.
fn sample_layers() -> Vec<FLayer> {
    let long = format!("usr/share/{}/file", "long-directory-name".repeat(8));
    vec![
        FLayer::new(
            "ADD file:0123 in /",
            vec![
                FEntry::dir("etc"),
                FEntry::file("etc/passwd", b"root:x:0:0::/root:/bin/sh\n".to_vec()),
                FEntry::dir("usr/bin"),
                FEntry::file_mode("usr/bin/tool", vec![0x7f; 300], 0o4755),
                FEntry::symlink("bin", "usr/bin"),
                FEntry::hardlink("usr/bin/tool2", "usr/bin/tool"),
                FEntry::Fifo {
                    path: b"run/fifo".to_vec(),
                },
                FEntry::Char {
                    path: b"dev/null".to_vec(),
                    major: 1,
                    minor: 3,
                },
                FEntry::file(&long, b"long".to_vec()),
            ],
        ),
        FLayer::new(
            "RUN /bin/sh -c apk add --no-cache curl && rm -rf /var/cache/apk/*",
            vec![
                FEntry::file("etc/passwd", b"root:x:0:0::/root:/bin/ash\n".to_vec()),
                FEntry::whiteout("usr/bin/tool2"),
                FEntry::dir("var/cache/apk"),
                FEntry::file("var/cache/apk/index.tar.gz", vec![1; 2000]),
                FEntry::file(
                    "root/.aws/credentials",
                    b"[default]\naws_access_key_id=AKIAIOSFODNN7EXAMPLE\n".to_vec(),
                ),
            ],
        ),
        FLayer::new(
            "COPY dir:abcd in /app",
            vec![
                FEntry::opaque("var/cache/apk"),
                FEntry::file("app/main.py", b"print('hi')\n".to_vec()),
                FEntry::symlink("app/escape", "../../../etc/shadow"),
                FEntry::file("app/\x1b[31mred\nline", b"x".to_vec()),
            ],
        ),
    ]
}

/// A layer whose file has a PAX `path` record (and a PAX header tar writes).
fn pax_layer() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    b.append_pax_extensions([("path", &b"pax/named/file"[..]), ("uid", b"1000")])
        .unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_size(3);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "short", &b"abc"[..]).unwrap();
    b.into_inner().unwrap()
}

fn layer_stream() {
    let layers = sample_layers();
    for (i, l) in layers.iter().enumerate() {
        put(
            "layer_stream",
            &format!("layer{i}.tar"),
            &layer_tar(&l.entries),
        );
    }
    put("layer_stream", "pax.tar", &pax_layer());
    put("layer_stream", "empty.tar", &[0u8; 1024]);
    // Compressed blobs: the layer blobs of a Docker 25 export.
    for (c, ext) in [(Compression::Gzip, "gz"), (Compression::Zstd, "zst")] {
        let img = FImage::new("seed:1", sample_layers());
        let files = image_files(&img, Format::OciDir, c);
        let mut k = 0;
        for (name, data) in files {
            if name.starts_with("blobs/")
                && (data.starts_with(&[0x1f, 0x8b]) || data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]))
            {
                put("layer_stream", &format!("layer{k}.tar.{ext}"), &data);
                k += 1;
            }
        }
    }
}

fn archive() {
    let tmp = tempfile::tempdir().unwrap();
    for (format, c, name) in [
        (Format::DockerLegacy, Compression::None, "docker-legacy.tar"),
        (Format::Docker25, Compression::None, "docker25.tar"),
        (Format::Docker25, Compression::Gzip, "docker25-gzip.tar"),
        (Format::OciArchive, Compression::Zstd, "oci-zstd.tar"),
    ] {
        let img = FImage::new("seed:1", sample_layers());
        let p = tmp.path().join(name);
        write_tar(&image_files(&img, format, c), &p).unwrap();
        put("archive", name, &std::fs::read(&p).unwrap());
    }
}

/// An OCI layout in the layout_resolve format: digests and sizes of the documents
/// replaced by `#i` / `$i`.
fn layout_seed(format: Format, c: Compression, selector: &str) -> Vec<u8> {
    let img = FImage::new("seed:1", sample_layers());
    let files = image_files(&img, format, c);
    let get = |n: &str| files.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let index = get("index.json").unwrap_or_default();
    let docker = get("manifest.json").unwrap_or_default();
    // doc0: the manifest (the one the index names), doc1: the config, then the layers.
    let index_v: serde_json::Value = serde_json::from_slice(&index).unwrap();
    let mdigest = index_v["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let blob = |d: &str| get(&format!("blobs/sha256/{}", d.trim_start_matches("sha256:"))).unwrap();
    let manifest = blob(&mdigest);
    let mv: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    let mut docs: Vec<(String, Vec<u8>)> = vec![(mdigest.clone(), manifest.clone())];
    let cd = mv["config"]["digest"].as_str().unwrap().to_string();
    docs.push((cd.clone(), blob(&cd)));
    for l in mv["layers"].as_array().unwrap() {
        let d = l["digest"].as_str().unwrap().to_string();
        if !docs.iter().any(|(k, _)| *k == d) {
            docs.push((d.clone(), blob(&d)));
        }
    }
    let tokenize = |text: &[u8]| -> Vec<u8> {
        let mut s = String::from_utf8_lossy(text).into_owned();
        for (i, (d, _)) in docs.iter().enumerate() {
            s = s.replace(d.trim_start_matches("sha256:"), &format!("#{i}"));
        }
        // Sizes of linked descriptors become `$i`.
        let Ok(mut v) = serde_json::from_str::<serde_json::Value>(&s) else {
            return s.into_bytes();
        };
        fn walk(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::Object(m) => {
                    let linked = m
                        .get("digest")
                        .and_then(|d| d.as_str())
                        .and_then(|d| d.strip_prefix("sha256:#"))
                        .map(str::to_string);
                    if let (Some(i), true) = (linked, m.contains_key("size")) {
                        m.insert("size".into(), format!("@@SIZE{i}@@").into());
                    }
                    m.values_mut().for_each(walk);
                }
                serde_json::Value::Array(a) => a.iter_mut().for_each(walk),
                _ => {}
            }
        }
        walk(&mut v);
        let mut s = serde_json::to_string(&v).unwrap();
        for i in 0..docs.len() {
            s = s.replace(&format!("\"@@SIZE{i}@@\""), &format!("${i}"));
        }
        s.into_bytes()
    };
    let mut out = selector.as_bytes().to_vec();
    out.extend_from_slice(SEP);
    out.extend_from_slice(&tokenize(&index));
    out.extend_from_slice(SEP);
    out.extend_from_slice(&tokenize(&docker));
    for (i, (_, data)) in docs.iter().enumerate() {
        out.extend_from_slice(SEP);
        // Only JSON documents name other documents; layer blobs stay as they are.
        if i < 2 {
            out.extend_from_slice(&tokenize(data))
        } else {
            out.extend_from_slice(data)
        }
    }
    out
}

fn layout_resolve() {
    put(
        "layout_resolve",
        "oci.bin",
        &layout_seed(Format::OciDir, Compression::None, ""),
    );
    put(
        "layout_resolve",
        "oci-gzip-tag.bin",
        &layout_seed(Format::OciDir, Compression::Gzip, "1"),
    );
    put(
        "layout_resolve",
        "docker25.bin",
        &layout_seed(Format::Docker25, Compression::None, ""),
    );
    put(
        "layout_resolve",
        "docker25-tag.bin",
        &layout_seed(Format::Docker25, Compression::Zstd, "seed:1"),
    );
    // A nested index: the index names an index (doc0) that names the manifest (doc1).
    let nested = [
        "".as_bytes(),
        br#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:#0","size":$0}]}"#,
        b"",
        br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:#1","size":$1,"platform":{"os":"linux","architecture":"amd64"}}]}"#,
        br#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:#2","size":$2},"layers":[]}"#,
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"history":[{"created_by":"CMD []","empty_layer":true}]}"#,
    ]
    .join(SEP);
    put("layout_resolve", "nested.bin", &nested);
}

fn dockerfile() {
    let sample =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/sample.Dockerfile"))
            .unwrap();
    let mut s = sample.clone();
    s.extend_from_slice(SEP);
    s.extend_from_slice(b"ADD file:0123 in /\n-/bin/sh -c #(nop)  CMD [\"/bin/sh\"]\nRUN /bin/sh -c apk add --no-cache curl # buildkit\n|1 V=2 /bin/sh -c echo $V\nCOPY dir:abcd in /app\n-ENV A=1\n");
    put("dockerfile", "sample.bin", &s);
    put("dockerfile", "plain.Dockerfile", &sample);
    let multi = b"# syntax=docker/dockerfile:1\n# escape=`\nARG BASE=alpine:3.20\nFROM ${BASE} AS build\nRUN <<EOF bash\nset -e\necho hi > /x\nEOF\nCOPY --from=build --chown=1:1 /x /y\nFROM scratch\nCOPY --from=build /x /\nENV A=1 B=\"two words\" `\n    C=${A:-z}\nONBUILD RUN true\nHEALTHCHECK CMD [\"true\"]\n\n--8<--\nRUN |1 BASE=alpine:3.20 /bin/sh -c echo hi > /x # buildkit\nCOPY /x / # buildkit\n-ENV A=1 B=two words C=1\n";
    put("dockerfile", "multi.bin", multi);
}

fn registry_manifest() {
    let oci = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef","size":32}]}"#;
    let index = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":500,"platform":{"os":"linux","architecture":"amd64"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef","size":500,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}}]}"#;
    let list = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":1}]}"#;
    let with = |t: u8, b: &[u8]| {
        let mut v = vec![t];
        v.extend_from_slice(b);
        v
    };
    put("registry_manifest", "oci.json", &with(0, oci));
    put("registry_manifest", "index.json", &with(1, index));
    put("registry_manifest", "list.json", &with(3, list));
    put(
        "registry_manifest",
        "ref-tag",
        &with(4, b"registry.example:5000/team/app:1.0"),
    );
    put("registry_manifest", "ref-hub", &with(4, b"alpine"));
    let digest = format!("localhost/app@sha256:{}", sha256_hex(b"x"));
    put(
        "registry_manifest",
        "ref-digest",
        &with(5, digest.as_bytes()),
    );
    put("registry_manifest", "platform", &with(5, b"linux/arm64/v8"));
}

fn main() {
    layer_stream();
    archive();
    layout_resolve();
    dockerfile();
    registry_manifest();
    // tree_rows takes structured (arbitrary) input: a few byte strings to start from.
    for (i, s) in [
        &b"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c"[..],
        &[0x55; 64],
        &[0xaa; 128],
    ]
    .iter()
    .enumerate()
    {
        put("tree_rows", &format!("seed{i}"), s);
    }
    println!(
        "seeds written to {}",
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("seeds")
            .display()
    );
}
