//! Generates `assets/sample.tar`, the image the explorer opens when no image is given
//! and no Docker daemon answers: a small Python web app built the wasteful way, in the
//! Docker 25+ `docker save` format (OCI layout + manifest.json, gzip layers).
//!
//!     cargo run --release --example make_sample -- assets/sample.tar

use layerlens::fixture::{Compression, FEntry, FImage, FLayer, Format, write_image};

/// Deterministic, compressible "binary" content.
fn blob(seed: u32, len: usize) -> Vec<u8> {
    let words: [&[u8]; 8] = [
        b"\x7fELF",
        b"GLIBC_2.34",
        b"libc.so.6",
        b".text",
        b"\0\0\0\0",
        b"main",
        b"_start",
        b"__cxa",
    ];
    let mut out = Vec::with_capacity(len);
    let mut x = seed.wrapping_mul(2654435761).max(1);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.extend_from_slice(words[(x % 8) as usize]);
        out.push((x >> 8) as u8);
    }
    out.truncate(len);
    out
}

fn text(lines: &[&str]) -> Vec<u8> {
    let mut s = lines.join("\n");
    s.push('\n');
    s.into_bytes()
}

fn main() {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "assets/sample.tar".into());
    let mut base = vec![
        FEntry::dir("bin"),
        FEntry::file_mode("bin/busybox", blob(1, 900_000), 0o755),
        FEntry::hardlink("bin/sh", "bin/busybox"),
        FEntry::hardlink("bin/ls", "bin/busybox"),
        FEntry::dir("etc"),
        FEntry::file(
            "etc/passwd",
            text(&[
                "root:x:0:0:root:/root:/bin/sh",
                "app:x:1000:1000::/app:/bin/sh",
            ]),
        ),
        FEntry::file("etc/group", text(&["root:x:0:", "app:x:1000:"])),
        FEntry::file(
            "etc/os-release",
            text(&["NAME=\"Sample Linux\"", "VERSION_ID=1.0"]),
        ),
        FEntry::dir("lib"),
        FEntry::file_mode("lib/libc.so.6", blob(2, 1_200_000), 0o755),
        FEntry::symlink("lib/ld-linux-x86-64.so.2", "libc.so.6"),
        FEntry::dir("usr"),
        FEntry::dir("usr/bin"),
        FEntry::file_mode("usr/bin/python3", blob(3, 600_000), 0o755),
        FEntry::dir("usr/lib"),
        FEntry::dir("usr/lib/python3"),
        FEntry::dir("tmp"),
        FEntry::dir("root"),
        FEntry::dir("var"),
        FEntry::dir("var/lib"),
        FEntry::dir("dev"),
        FEntry::Char {
            path: b"dev/null".to_vec(),
            major: 1,
            minor: 3,
        },
    ];
    for (i, m) in [
        "os", "json", "re", "socket", "http", "email", "asyncio", "ssl",
    ]
    .iter()
    .enumerate()
    {
        base.push(FEntry::file(
            &format!("usr/lib/python3/{m}.py"),
            blob(10 + i as u32, 20_000 + 7_000 * i),
        ));
    }
    let mut apt = vec![
        FEntry::dir("usr"),
        FEntry::dir("usr/bin"),
        FEntry::file_mode("usr/bin/gcc", blob(20, 1_200_000), 0o755),
        FEntry::file_mode("usr/bin/make", blob(21, 250_000), 0o755),
        FEntry::dir("usr/lib"),
        FEntry::dir("usr/lib/gcc"),
        FEntry::file("usr/lib/gcc/cc1", blob(22, 1_600_000)),
        FEntry::dir("var"),
        FEntry::dir("var/lib"),
        FEntry::dir("var/lib/apt"),
        FEntry::dir("var/lib/apt/lists"),
    ];
    for (i, d) in [
        "main_binary-amd64_Packages",
        "updates_binary-amd64_Packages",
        "security_Packages",
    ]
    .iter()
    .enumerate()
    {
        apt.push(FEntry::file(
            &format!("var/lib/apt/lists/deb_{d}"),
            blob(30 + i as u32, 700_000),
        ));
    }
    let mut app = vec![
        FEntry::dir("app"),
        FEntry::file(
            "app/requirements.txt",
            text(&["flask==3.0.0", "requests==2.32.0", "gunicorn==22.0"]),
        ),
        FEntry::file(
            "app/app.py",
            text(&[
                "from flask import Flask",
                "app = Flask(__name__)",
                "",
                "@app.get('/')",
                "def index():",
                "    return 'hello'",
            ]),
        ),
        FEntry::file(
            "app/README.md",
            text(&["# sample app", "", "A tiny service used to demo layerlens."]),
        ),
        FEntry::dir("app/.git"),
        FEntry::file("app/.git/HEAD", text(&["ref: refs/heads/main"])),
        FEntry::dir("app/.git/objects"),
        FEntry::file("app/.git/objects/pack-1.pack", blob(40, 650_000)),
        FEntry::dir("app/bin"),
        FEntry::file_mode(
            "app/bin/start.sh",
            text(&["#!/bin/sh", "exec gunicorn app:app"]),
            0o644,
        ),
    ];
    app.push(FEntry::dir("app/static"));
    app.push(FEntry::file("app/static/logo.png", blob(41, 120_000)));
    let mut pip = vec![
        FEntry::dir("usr"),
        FEntry::dir("usr/lib"),
        FEntry::dir("usr/lib/python3"),
        FEntry::dir("usr/lib/python3/site-packages"),
        FEntry::dir("root"),
        FEntry::dir("root/.cache"),
        FEntry::dir("root/.cache/pip"),
    ];
    for (i, p) in [
        "flask", "requests", "gunicorn", "werkzeug", "jinja2", "urllib3",
    ]
    .iter()
    .enumerate()
    {
        pip.push(FEntry::dir(&format!("usr/lib/python3/site-packages/{p}")));
        pip.push(FEntry::file(
            &format!("usr/lib/python3/site-packages/{p}/__init__.py"),
            blob(50 + i as u32, 60_000 + 25_000 * i),
        ));
        pip.push(FEntry::file(
            &format!("root/.cache/pip/{p}.whl"),
            blob(60 + i as u32, 90_000 + 30_000 * i),
        ));
    }
    let cleanup = vec![
        FEntry::dir("root"),
        FEntry::whiteout("root/.cache"),
        FEntry::dir("var"),
        FEntry::dir("var/lib"),
        FEntry::dir("var/lib/apt"),
        FEntry::dir("var/lib/apt/lists"),
        FEntry::whiteout("var/lib/apt/lists/deb_main_binary-amd64_Packages"),
        FEntry::whiteout("var/lib/apt/lists/deb_updates_binary-amd64_Packages"),
        FEntry::whiteout("var/lib/apt/lists/deb_security_Packages"),
        FEntry::dir("app"),
        FEntry::dir("app/bin"),
        FEntry::file_mode(
            "app/bin/start.sh",
            text(&["#!/bin/sh", "exec gunicorn app:app"]),
            0o755,
        ),
    ];
    let mut img = FImage::new(
        "layerlens/sample-app:1.0",
        vec![
            FLayer::new("/bin/sh -c #(nop) ADD file:4b1c0e7a2d5f3e1a in / ", base),
            FLayer::new(
                "/bin/sh -c apt-get update && apt-get install -y --no-install-recommends build-essential python3-dev && echo done",
                apt,
            ),
            FLayer::new("/bin/sh -c #(nop) COPY dir:9f2e6c1d0b3a in /app ", app),
            FLayer::new("/bin/sh -c pip install -r /app/requirements.txt", pip),
            FLayer::new(
                "/bin/sh -c rm -rf /root/.cache /var/lib/apt/lists/* && chmod +x /app/bin/start.sh",
                cleanup,
            ),
        ],
    );
    img.layers[0].then = vec!["/bin/sh -c #(nop)  CMD [\"sh\"]".into()];
    img.layers[1].then = vec!["/bin/sh -c #(nop) WORKDIR /app".into()];
    img.layers[4].then = vec![
        "/bin/sh -c #(nop)  ENV PORT=8000".into(),
        "/bin/sh -c #(nop)  EXPOSE 8000".into(),
        "/bin/sh -c #(nop)  CMD [\"/app/bin/start.sh\"]".into(),
    ];
    img.env = vec![
        "PATH=/usr/local/bin:/usr/bin:/bin".into(),
        "PORT=8000".into(),
    ];
    img.cmd = vec!["/app/bin/start.sh".into()];
    write_image(
        &img,
        Format::Docker25,
        Compression::Gzip,
        std::path::Path::new(&out),
    )
    .expect("write sample");
    eprintln!("wrote {out}");
}
