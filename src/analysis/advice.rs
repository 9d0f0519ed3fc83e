//! Advice measured in bytes: each finding names the layer (and, with a Dockerfile, the
//! line) to change, what to do, and how many bytes the fix removes from the image —
//! computed from the layer model (stored, visible and hidden file content), never from
//! names alone. Findings are grouped by cause: one per layer (pair) and directory.
//!
//! | rule | bytes |
//! |---|---|
//! | `cleanup-in-later-layer` | content stored by one layer and hidden (deleted, overwritten, chmod/chown-copied) by a later one |
//! | `package-cache` | package-manager caches visible in the final filesystem |
//! | `build-tools-in-final-image` | compilers, headers, toolchains visible in the final filesystem |
//! | `cache-order` | the dependency-install layer a code-only change rebuilds (whole context copied before it) |
//! | `context-not-ignored` | `.git`, `node_modules`, caches, `.env` copied from the build context |
//! | `leftover-archive` | archives left by RUN/ADD in the final filesystem |
//! | `base-image` | the external base image, when it is most of the image |

use super::waste::Waste;
use crate::dockerfile::map::{self, Location, Mapping};
use crate::dockerfile::{Dockerfile, Instruction};
use crate::model::tree::{DELETED, IMPLICIT_DIR};
use crate::model::{EntryKind, Image, NodeId};
use regex::Regex;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::LazyLock;

pub const RULES: &[(&str, &str)] = &[
    (
        "cleanup-in-later-layer",
        "Files added by one layer and deleted or overwritten by a later one still cost their bytes",
    ),
    (
        "package-cache",
        "Package-manager caches left in the final filesystem",
    ),
    (
        "build-tools-in-final-image",
        "Compilers and build toolchains left in the final image",
    ),
    (
        "cache-order",
        "The whole build context is copied before the dependency install: every code change rebuilds it",
    ),
    (
        "context-not-ignored",
        "A COPY of the build context brought files a .dockerignore should keep out",
    ),
    ("leftover-archive", "Downloaded archives kept in the image"),
    ("base-image", "The base image is most of the image"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PathBytes {
    pub path: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Related {
    pub layer: usize,
    pub dockerfile: Option<Location>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    /// What applying the fix removes from the image (cache-order: what a code-only
    /// change rebuilds and pushes again).
    pub bytes: u64,
    pub layer: usize,
    pub dockerfile: Option<Location>,
    pub related: Vec<Related>,
    /// The largest paths concerned.
    pub paths: Vec<PathBytes>,
    pub message: String,
    pub fix: String,
}

/// A Dockerfile and the mapping of the image to it.
#[derive(Clone, Copy)]
pub struct WithDockerfile<'a> {
    pub df: &'a Dockerfile,
    pub mapping: &'a Mapping,
}

/// Bytes the findings would remove (cache-order and base-image excluded: the first
/// rebuilds rather than removes, the second needs another base).
pub fn removable_bytes(findings: &[Finding]) -> u64 {
    findings
        .iter()
        .filter(|f| f.rule != "cache-order" && f.rule != "base-image")
        .map(|f| f.bytes)
        .sum()
}

struct Ctx<'a> {
    img: &'a Image,
    d: Option<WithDockerfile<'a>>,
}

impl Ctx<'_> {
    fn instruction(&self, layer: usize) -> Option<&Instruction> {
        let d = self.d?;
        d.mapping
            .instruction_of_layer(self.img, layer)
            .map(|i| &d.df.instructions[i])
    }
    fn location(&self, layer: usize) -> Option<Location> {
        let d = self.d?;
        let i = d.mapping.instruction_of_layer(self.img, layer)?;
        let mut l = map::location(d.df, i);
        l.stage = None;
        Some(l)
    }
    fn location_of(&self, ins: usize) -> Option<Location> {
        let d = self.d?;
        let mut l = map::location(d.df, ins);
        l.stage = None;
        Some(l)
    }
    fn is_base(&self, layer: usize) -> bool {
        self.d
            .is_some_and(|d| d.mapping.is_base_layer(self.img, layer))
    }
    /// "layer 3 (`RUN …`, Dockerfile:12)".
    fn describe(&self, layer: usize) -> String {
        let cmd = match self.instruction(layer) {
            Some(i) => i.text.clone(),
            None => crate::analysis::diff::norm_instruction(self.img.created_by(layer)),
        };
        let cmd = shorten(&map::ws(&cmd), 60);
        match self.location(layer) {
            Some(l) => format!("layer {layer} (`{cmd}`, {}:{})", l.path, l.line),
            None => format!("layer {layer} (`{cmd}`)"),
        }
    }
    fn keyword(&self, layer: usize) -> String {
        match self.instruction(layer) {
            Some(i) => i.keyword.clone(),
            None => map::parse_history(self.img.created_by(layer)).keyword,
        }
    }
}

fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() > n {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    } else {
        s.to_string()
    }
}

fn human(b: u64) -> String {
    crate::report::human(b)
}

/// Groups of paths, by (layer, other layer, directory).
#[derive(Default)]
struct Groups(BTreeMap<(usize, usize, String), Vec<(String, u64)>>);

impl Groups {
    fn add(&mut self, layer: usize, other: usize, dir: String, path: String, bytes: u64) {
        self.0
            .entry((layer, other, dir))
            .or_default()
            .push((path, bytes));
    }
}

fn top_paths(mut v: Vec<(String, u64)>) -> (u64, Vec<PathBytes>) {
    let total = v.iter().map(|x| x.1).sum();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    (
        total,
        v.into_iter()
            .take(10)
            .map(|(path, bytes)| PathBytes { path, bytes })
            .collect(),
    )
}

fn severity(bytes: u64, image: u64) -> Severity {
    if image > 0 && bytes * 10 >= image {
        Severity::Warning
    } else {
        Severity::Note
    }
}

/// Files visible in the final filesystem: (node, layer that stores it, path, bytes).
fn visible_files(img: &Image) -> Vec<(NodeId, usize, String, u64)> {
    let tree = &img.tree;
    let Some(top) = tree.layer_count().checked_sub(1) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    // Paths built along the walk (parents come before their children).
    let mut prefix: Vec<String> = vec![String::new()];
    tree.walk_at(top, |n, depth, e| {
        prefix.truncate(depth);
        let mut p = String::with_capacity(prefix[depth - 1].len() + 16);
        p.push_str(&prefix[depth - 1]);
        p.push('/');
        p.push_str(&String::from_utf8_lossy(tree.name(n)));
        if e.kind == EntryKind::File
            && e.tar_size > 0
            && let Some(v) = tree.state_at(n, top)
        {
            out.push((n, v.layer as usize, p.clone(), e.tar_size));
        }
        if e.kind == EntryKind::Dir {
            prefix.push(p);
        }
    });
    out
}

static CACHE_DIRS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"^(/var/lib/apt/lists)/",
        r"^(/var/cache/(?:apt|apk|yum|dnf|zypp))/",
        r"^(/etc/apk/cache)/",
        r"^(.*?/\.cache/(?:pip|yarn|go-build|pypoetry|pnpm))/",
        r"^(.*?/\.npm/_cacache)/",
        r"^(/usr/local/share/\.cache/yarn)/",
        r"^(.*?/go/pkg/mod/cache)/",
        r"^(.*?/\.m2/repository)/",
        r"^(.*?/\.gradle/caches)/",
        r"^(.*?/\.cache/composer)/",
    ]
    .iter()
    .map(|r| Regex::new(r).unwrap())
    .collect()
});

static TOOL_DIRS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"^(/usr/lib/gcc(?:-cross)?)/",
        r"^(/usr/libexec/gcc)/",
        r"^(/usr/(?:local/)?include)/",
        r"^(/usr/local/go)/",
        r"^(/usr/lib/go(?:-[0-9.]+)?)/",
        r"^(/usr/lib/jvm/[^/]+)/(?:jmods/|bin/javac$|lib/ct\.sym$)",
        r"^(.*?/node_modules/node-gyp)/",
        r"^(.*?/\.cache/node-gyp)/",
        r"^(/usr/(?:local/)?bin)/(?:[a-z0-9_]+-linux-gnu-)?(?:gcc|g\+\+|cc|c\+\+|cpp|clang|clang\+\+|ld|ld\.bfd|ld\.gold|as|make)(?:-[0-9.]+)?$",
    ]
    .iter()
    .map(|r| Regex::new(r).unwrap())
    .collect()
});

/// Archive file names (`*.tar.gz`, `*.zip`, `*.whl`, `*.deb`, …), any case.
fn is_archive(p: &str) -> bool {
    const EXT: &[&[u8]] = &[
        b".tar.gz",
        b".tgz",
        b".tar.xz",
        b".txz",
        b".tar.bz2",
        b".tbz",
        b".tbz2",
        b".tar.zst",
        b".tar",
        b".zip",
        b".whl",
        b".deb",
        b".rpm",
    ];
    let b = p.as_bytes();
    EXT.iter()
        .any(|e| b.len() > e.len() && b[b.len() - e.len()..].eq_ignore_ascii_case(e))
}

fn group_of(res: &[Regex], path: &str) -> Option<String> {
    res.iter()
        .find_map(|r| r.captures(path).map(|c| c[1].to_string()))
}

/// Cheap tests before the regexes (most paths are none of these).
fn maybe_cache(p: &str) -> bool {
    static HIDDEN: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(b"/."));
    p.starts_with("/var/")
        || p.starts_with("/etc/apk/")
        || p.starts_with("/usr/local/share/")
        || HIDDEN.find(p.as_bytes()).is_some()
        || p.contains("/go/pkg/")
}

fn maybe_tool(p: &str) -> bool {
    p.starts_with("/usr/") || p.contains("node-gyp")
}

fn parent_dir(path: &str) -> String {
    match path.rfind('/') {
        Some(0) | None => "/".into(),
        Some(i) => path[..i].to_string(),
    }
}

/// All findings, biggest first.
pub fn analyze(img: &Image, w: &Waste, d: Option<WithDockerfile>) -> Vec<Finding> {
    let ctx = Ctx { img, d };
    let image_bytes = img.size_bytes();
    let mut out = Vec::new();
    let visible = visible_files(img);
    let context_claimed = context_not_ignored(&ctx, image_bytes, &mut out);
    cleanup(&ctx, w, image_bytes, &context_claimed, &mut out);
    // One pass over the final filesystem for the three path rules.
    let archive_layers: Vec<bool> = (0..img.layers.len())
        .map(|l| matches!(ctx.keyword(l).as_str(), "RUN" | "ADD"))
        .collect();
    let (mut caches, mut tools, mut archives) =
        (Groups::default(), Groups::default(), Groups::default());
    for (_, layer, path, bytes) in &visible {
        let layer = *layer;
        if ctx.is_base(layer) {
            continue;
        }
        let cache = if maybe_cache(path) {
            group_of(&CACHE_DIRS, path)
        } else {
            None
        };
        if let Some(dir) = cache {
            caches.add(layer, layer, dir, path.clone(), *bytes);
        } else if archive_layers[layer] && is_archive(path) {
            archives.add(layer, layer, parent_dir(path), path.clone(), *bytes);
        }
        if maybe_tool(path)
            && let Some(dir) = group_of(&TOOL_DIRS, path)
        {
            tools.add(layer, layer, dir, path.clone(), *bytes);
        }
    }
    by_pattern(&ctx, caches, image_bytes, &mut out, "package-cache");
    by_pattern(
        &ctx,
        tools,
        image_bytes,
        &mut out,
        "build-tools-in-final-image",
    );
    by_pattern(&ctx, archives, image_bytes, &mut out, "leftover-archive");
    cache_order(&ctx, &mut out);
    base_image(&ctx, image_bytes, &mut out);
    out.sort_by(|a, b| {
        b.bytes
            .cmp(&a.bytes)
            .then_with(|| a.layer.cmp(&b.layer))
            .then_with(|| a.rule.cmp(b.rule))
    });
    out
}

fn cleanup(
    ctx: &Ctx,
    w: &Waste,
    image_bytes: u64,
    claimed: &std::collections::HashSet<(usize, String)>,
    out: &mut Vec<Finding>,
) {
    let tree = &ctx.img.tree;
    let mut g = Groups::default();
    let mut deleted_groups = std::collections::HashSet::new();
    for f in &w.reclaimable_files {
        if f.hidden_in <= f.layer || ctx.is_base(f.layer) {
            continue;
        }
        if claimed.contains(&(f.layer, f.path.clone())) {
            continue;
        }
        // The directory deleted as a whole, if any; else the file's directory.
        let raw = f.path.trim_start_matches('/').as_bytes();
        let mut key = parent_dir(&f.path);
        if let Some(n) = tree.lookup_path(raw) {
            let mut chain = Vec::new();
            let mut a = n;
            while a != crate::model::ROOT {
                chain.push(a);
                a = tree.parent(a);
            }
            // Ancestors only: a file deleted on its own groups under its directory.
            for &a in chain.iter().skip(1).rev() {
                if tree
                    .version_in(a, f.hidden_in)
                    .is_some_and(|v| !v.is_present())
                {
                    key = tree.display_path(a);
                    break;
                }
            }
        }
        if f.deleted {
            deleted_groups.insert((f.layer, f.hidden_in, key.clone()));
        }
        g.add(f.layer, f.hidden_in, key, f.path.clone(), f.bytes);
    }
    for ((layer, hidden_in, dir), files) in g.0 {
        let deleted = deleted_groups.contains(&(layer, hidden_in, dir.clone()));
        let (bytes, paths) = top_paths(files);
        let how = if deleted {
            "deletes"
        } else {
            "overwrites (or chmod/chown-copies)"
        };
        out.push(Finding {
            rule: "cleanup-in-later-layer",
            severity: severity(bytes, image_bytes),
            bytes,
            layer,
            dockerfile: ctx.location(layer),
            related: vec![Related {
                layer: hidden_in,
                dockerfile: ctx.location(hidden_in),
            }],
            paths,
            message: format!(
                "{} adds {} under {dir} that {} {how}; the bytes stay in the image",
                ctx.describe(layer),
                human(bytes),
                ctx.describe(hidden_in),
            ),
            fix: if deleted {
                format!(
                    "delete in the same RUN that creates the files (`… && rm -rf {dir}`), or create them in a build stage and COPY --from only what the final image needs"
                )
            } else {
                format!(
                    "change the files (chmod, chown, rewrite) in the same RUN that creates them, or set the mode when copying (`COPY --chmod=… --chown=…`), so the files under {dir} are stored once"
                )
            },
        });
    }
}

fn by_pattern(ctx: &Ctx, g: Groups, image_bytes: u64, out: &mut Vec<Finding>, rule: &'static str) {
    for ((layer, _, dir), files) in g.0 {
        let (bytes, paths) = top_paths(files);
        let (message, fix) = match rule {
            "package-cache" => (
                format!(
                    "{} leaves {} of package-manager cache in {dir}",
                    ctx.describe(layer),
                    human(bytes)
                ),
                cache_fix(&dir),
            ),
            "build-tools-in-final-image" => (
                format!(
                    "{} leaves {} of build tools in {dir} in the final image",
                    ctx.describe(layer),
                    human(bytes)
                ),
                build_tools_fix(ctx, layer),
            ),
            _ => (
                format!(
                    "{} keeps {} of archives in {dir}",
                    ctx.describe(layer),
                    human(bytes)
                ),
                format!(
                    "delete the archive in the same RUN that downloads and extracts it (`… && rm {}`), or download and extract it in a build stage",
                    paths.first().map(|p| p.path.as_str()).unwrap_or("ARCHIVE")
                ),
            ),
        };
        out.push(Finding {
            rule,
            severity: severity(bytes, image_bytes),
            bytes,
            layer,
            dockerfile: ctx.location(layer),
            related: Vec::new(),
            paths,
            message,
            fix,
        });
    }
}

fn cache_fix(dir: &str) -> String {
    let how = if dir.contains("/apt") {
        "end the RUN with `&& rm -rf /var/lib/apt/lists/*` (and `apt-get clean`), or use `RUN --mount=type=cache,target=/var/cache/apt`"
    } else if dir.contains("apk") {
        "use `apk add --no-cache`"
    } else if dir.contains("yum") || dir.contains("dnf") || dir.contains("zypp") {
        "end the RUN with `&& yum clean all` / `dnf clean all` (or `rm -rf` the cache directory)"
    } else if dir.contains("pip") || dir.contains("pypoetry") {
        "use `pip install --no-cache-dir` (or `RUN --mount=type=cache,target=/root/.cache/pip`)"
    } else if dir.contains("npm") {
        "end the RUN with `&& npm cache clean --force`, or use `RUN --mount=type=cache,target=/root/.npm`"
    } else if dir.contains("yarn") {
        "end the RUN with `&& yarn cache clean`, or use a cache mount"
    } else if dir.contains("go") {
        "use `RUN --mount=type=cache,target=/root/.cache/go-build` (and for /go/pkg/mod), or build in a separate stage"
    } else {
        "remove the cache in the same RUN, or use `RUN --mount=type=cache,target=…`"
    };
    format!("{how}; a later RUN that deletes it saves nothing")
}

fn build_tools_fix(ctx: &Ctx, layer: usize) -> String {
    let base = ctx
        .d
        .and_then(|d| d.mapping.base_image.clone())
        .unwrap_or_else(|| "BASE".into());
    let run = ctx
        .instruction(layer)
        .map(|i| map::ws(&i.text))
        .unwrap_or_else(|| {
            let h = map::parse_history(ctx.img.created_by(layer));
            match h.keyword.as_str() {
                "RUN" => format!(
                    "RUN {}",
                    h.body.strip_prefix("/bin/sh -c ").unwrap_or(&h.body)
                ),
                _ => "RUN <the build>".into(),
            }
        });
    format!(
        "multi-stage build: compile in a build stage and copy only the output:\n  FROM {base} AS build\n  {}\n  FROM {base}\n  COPY --from=build /path/to/output /path/to/output",
        shorten(&run, 100)
    )
}

/// `.git`, `node_modules`, … brought by a COPY/ADD of the context. Returns the
/// (layer, path) of the files it counted.
fn context_not_ignored(
    ctx: &Ctx,
    image_bytes: u64,
    out: &mut Vec<Finding>,
) -> std::collections::HashSet<(usize, String)> {
    const NAMES: &[&str] = &[
        ".git",
        "node_modules",
        "__pycache__",
        ".venv",
        ".pytest_cache",
        ".mypy_cache",
        ".tox",
        ".env",
        ".idea",
        ".vscode",
        ".nyc_output",
        ".terraform",
    ];
    let img = ctx.img;
    let tree = &img.tree;
    let mut claimed = std::collections::HashSet::new();
    for layer in 0..tree.layer_count() {
        if ctx.is_base(layer) || !matches!(ctx.keyword(layer).as_str(), "COPY" | "ADD") {
            continue;
        }
        let ins = ctx.instruction(layer);
        if ins.is_some_and(|i| i.flag("from").is_some()) {
            continue;
        }
        let dest = ins
            .and_then(|i| i.args.split_whitespace().last().map(|s| s.to_string()))
            .or_else(|| {
                let h = map::parse_history(img.created_by(layer));
                h.body
                    .rsplit_once(" in ")
                    .map(|(_, d)| d.trim().to_string())
            });
        let mut g = Groups::default();
        for &n in &tree.layer_changes[layer] {
            let Some(v) = tree.version_in(n, layer) else {
                continue;
            };
            if v.entry == DELETED || v.entry == IMPLICIT_DIR {
                continue;
            }
            let e = tree.entry(v);
            if e.kind != EntryKind::File || e.tar_size == 0 {
                continue;
            }
            let path = tree.display_path(n);
            let comps: Vec<&str> = path.split('/').collect();
            // A Rust build output: `target/` beside a Cargo.toml copied with it.
            let cargo_target = |k: usize| {
                comps[k] == "target" && {
                    let manifest = format!("{}/Cargo.toml", comps[1..k].join("/"));
                    tree.lookup_path(manifest.trim_start_matches('/').as_bytes())
                        .and_then(|m| tree.version_in(m, layer))
                        .is_some_and(|v| v.is_present())
                }
            };
            let hit = (0..comps.len()).find(|&k| {
                NAMES.contains(&comps[k]) || comps[k].starts_with(".env.") || cargo_target(k)
            });
            let Some(k) = hit else { continue };
            let dir = comps[..=k].join("/");
            g.add(layer, layer, dir, path.clone(), e.tar_size);
            claimed.insert((layer, path));
        }
        for ((layer, _, dir), files) in g.0 {
            let (bytes, paths) = top_paths(files);
            let name = dir.rsplit('/').next().unwrap_or("").to_string();
            let rel = match &dest {
                Some(d) if d.starts_with('/') => {
                    let d = d.trim_end_matches('/');
                    dir.strip_prefix(&format!("{d}/")).map(|s| s.to_string())
                }
                _ => None,
            };
            let entry = match rel {
                Some(r) if !r.is_empty() => r,
                _ => format!("**/{name}"),
            };
            out.push(Finding {
                rule: "context-not-ignored",
                severity: severity(bytes, image_bytes),
                bytes,
                layer,
                dockerfile: ctx.location(layer),
                related: Vec::new(),
                paths,
                message: format!(
                    "{} copied {} of {dir} from the build context",
                    ctx.describe(layer),
                    human(bytes)
                ),
                fix: format!("add to .dockerignore:\n  {entry}"),
            });
        }
    }
    claimed
}

static INSTALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(npm (?:ci|install|i)\b|yarn(?: install)?\s*(?:$|&&|;|--)|pnpm install|pip3? install\b[^&;]*(?:-r\s*(\S+)|\s\.(?:\s|$))|poetry install|pipenv install|mvn\b|gradle\b|\./gradlew|go mod download|bundle(?: install)?\b|composer install|cargo (?:build|fetch)|dotnet restore)").unwrap()
});

/// The manifests a dependency install reads.
fn manifests(cmd: &str) -> String {
    let c = cmd;
    if let Some(req) = INSTALL.captures(c).and_then(|caps| caps.get(2)) {
        return req.as_str().to_string();
    }
    let m = if c.contains("npm") {
        "package.json package-lock.json"
    } else if c.contains("yarn") {
        "package.json yarn.lock"
    } else if c.contains("pnpm") {
        "package.json pnpm-lock.yaml"
    } else if c.contains("poetry") {
        "pyproject.toml poetry.lock"
    } else if c.contains("pipenv") {
        "Pipfile Pipfile.lock"
    } else if c.contains("pip") {
        "pyproject.toml"
    } else if c.contains("mvn") {
        "pom.xml"
    } else if c.contains("gradle") {
        "build.gradle settings.gradle"
    } else if c.contains("go mod") {
        "go.mod go.sum"
    } else if c.contains("bundle") {
        "Gemfile Gemfile.lock"
    } else if c.contains("composer") {
        "composer.json composer.lock"
    } else if c.contains("cargo") {
        "Cargo.toml Cargo.lock"
    } else if c.contains("dotnet") {
        "*.csproj"
    } else {
        "<dependency manifests>"
    };
    m.to_string()
}

fn cache_order(ctx: &Ctx, out: &mut Vec<Finding>) {
    let img = ctx.img;
    // (layer of the COPY, its sources, its dest, its text) and later RUN layers.
    struct Step {
        layer: Option<usize>,
        ins: Option<usize>,
        keyword: String,
        whole_context: bool,
        dest: String,
        text: String,
    }
    let mut steps: Vec<Step> = Vec::new();
    if let Some(d) = ctx.d {
        let chain = match d.mapping.target {
            Some(t) => d.df.chain_of(t),
            None => d.df.final_chain(),
        };
        for s in chain {
            for i in d.df.stage_instructions(s) {
                let ins = &d.df.instructions[i];
                let words =
                    crate::dockerfile::subst::split_words(&ins.args, d.df.directives.escape);
                let whole = matches!(ins.keyword.as_str(), "COPY" | "ADD")
                    && ins.flag("from").is_none()
                    && words.len() >= 2
                    && words[..words.len() - 1]
                        .iter()
                        .any(|w| w == "." || w == "./");
                steps.push(Step {
                    layer: d.mapping.layer_of_instruction(img, i),
                    ins: Some(i),
                    keyword: ins.keyword.clone(),
                    whole_context: whole,
                    dest: words.last().cloned().unwrap_or_default(),
                    text: ins.text.clone(),
                });
            }
        }
    } else {
        for (h, item) in img.history.iter().enumerate() {
            let p = map::parse_history(&item.created_by);
            let words: Vec<&str> = p
                .body
                .split_whitespace()
                .filter(|w| !w.starts_with("--"))
                .collect();
            let whole = p.buildkit
                && p.keyword == "COPY"
                && !p.body.contains("--from=")
                && words.len() >= 2
                && words[..words.len() - 1]
                    .iter()
                    .any(|w| *w == "." || *w == "./");
            steps.push(Step {
                layer: img.layers.iter().position(|l| l.history == Some(h)),
                ins: None,
                keyword: p.keyword.clone(),
                whole_context: whole,
                dest: words.last().map(|s| s.to_string()).unwrap_or_default(),
                text: format!("{} {}", p.keyword, p.body),
            });
        }
    }
    let Some(c) = steps.iter().position(|s| s.whole_context) else {
        return;
    };
    let Some(r) = steps[c + 1..]
        .iter()
        .position(|s| s.keyword == "RUN" && INSTALL.is_match(&s.text))
        .map(|k| k + c + 1)
    else {
        return;
    };
    let (copy, run) = (&steps[c], &steps[r]);
    let Some(run_layer) = run.layer else {
        return;
    };
    let bytes = img.layer_size(run_layer);
    let copy_loc = copy.ins.and_then(|i| ctx.location_of(i));
    let run_loc = run.ins.and_then(|i| ctx.location_of(i));
    let copy_layer = copy.layer.unwrap_or(run_layer);
    let cmd = run.text.trim_start_matches("RUN ").to_string();
    let run_text = if ctx.d.is_some() {
        run.text.clone()
    } else {
        format!("RUN {}", cmd.trim_start_matches("/bin/sh -c "))
    };
    let copy_text = if ctx.d.is_some() {
        copy.text.clone()
    } else {
        format!("COPY . {}", copy.dest)
    };
    out.push(Finding {
        rule: "cache-order",
        severity: Severity::Warning,
        bytes,
        layer: copy_layer,
        dockerfile: copy_loc.clone(),
        related: vec![Related {
            layer: run_layer,
            dockerfile: run_loc,
        }],
        paths: Vec::new(),
        message: format!(
            "`{}` copies the whole build context before the dependency install in layer {run_layer} (`{}`): any code change rebuilds and pushes that layer again ({})",
            shorten(&copy_text, 40),
            shorten(&run_text, 60),
            human(bytes)
        ),
        fix: format!(
            "copy the dependency manifests first, install, then copy the rest:\n  COPY {} {}\n  {}\n  {}",
            manifests(&cmd),
            copy.dest,
            run_text,
            copy_text
        ),
    });
}

fn base_image(ctx: &Ctx, image_bytes: u64, out: &mut Vec<Finding>) {
    let Some(d) = ctx.d else { return };
    let img = ctx.img;
    let base_layers: Vec<usize> = (0..img.layers.len())
        .filter(|&l| d.mapping.is_base_layer(img, l))
        .collect();
    let Some(&last) = base_layers.last() else {
        return;
    };
    let bytes: u64 = base_layers.iter().map(|&l| img.layer_size(l)).sum();
    if image_bytes == 0 || bytes * 2 <= image_bytes {
        return;
    }
    // The biggest top-level directories of the base, for orientation.
    let tree = &img.tree;
    let mut dirs: BTreeMap<String, u64> = BTreeMap::new();
    for &l in &base_layers {
        for &n in &tree.layer_changes[l] {
            if let Some(v) = tree.version_in(n, l)
                && v.entry != DELETED
                && v.entry != IMPLICIT_DIR
                && tree.entry(v).kind == EntryKind::File
            {
                let p = tree.display_path(n);
                let top = p.split('/').take(2).collect::<Vec<_>>().join("/");
                *dirs.entry(top).or_default() += tree.entry(v).tar_size;
            }
        }
    }
    let (_, paths) = top_paths(dirs.into_iter().collect());
    let from = d.mapping.base_from;
    let name = d.mapping.base_image.clone().unwrap_or_default();
    let stage = from
        .and_then(|i| d.df.instructions[i].stage)
        .map(|s| match &d.df.stages[s].name {
            Some(n) => format!(" (stage {n})"),
            None => format!(" (stage {s})"),
        })
        .unwrap_or_default();
    let pct = bytes as f64 * 100.0 / image_bytes as f64;
    out.push(Finding {
        rule: "base-image",
        severity: Severity::Note,
        bytes,
        layer: last,
        dockerfile: from.and_then(|i| ctx.location_of(i)),
        related: Vec::new(),
        paths,
        message: format!(
            "the base image {name}{stage} is {} of the image's {} ({pct:.0} %)",
            human(bytes),
            human(image_bytes)
        ),
        fix: format!(
            "if the application runs on less, start from a slimmer variant of {name} (its -slim or -alpine tag, a distroless image), or build in this stage and COPY the output into a small final stage (FROM scratch for a static binary)"
        ),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::{FEntry, layer_tar};
    use crate::model::{HistoryItem, Layer};
    use std::sync::Arc;

    /// An image from (created_by, entries) layers, plus empty-layer entries.
    fn image(layers: Vec<(&str, Vec<FEntry>)>) -> Image {
        let mut history = Vec::new();
        let mut ls = Vec::new();
        for (i, (cb, entries)) in layers.into_iter().enumerate() {
            let tar = layer_tar(&entries);
            let content = crate::model::parse_layer(std::io::Cursor::new(tar)).unwrap();
            history.push(HistoryItem {
                created_by: cb.to_string(),
                ..Default::default()
            });
            ls.push((
                Layer {
                    diff_id: format!("sha256:{i:064}"),
                    ..Default::default()
                },
                Arc::new(content),
            ));
        }
        Image::assemble(Image::default(), history, ls)
    }

    fn run(img: &Image) -> Vec<Finding> {
        analyze(img, &crate::analysis::waste::analyze(img), None)
    }

    fn of<'a>(f: &'a [Finding], rule: &str) -> Vec<&'a Finding> {
        f.iter().filter(|x| x.rule == rule).collect()
    }

    const BASE: &str = "/bin/sh -c #(nop) ADD file:0 in / ";

    #[test]
    fn cleanup_groups_by_layer_pair_and_deleted_directory() {
        let img = image(vec![
            (BASE, vec![FEntry::file("bin/sh", vec![0; 10])]),
            (
                "/bin/sh -c make",
                vec![
                    FEntry::dir("tmp/b"),
                    FEntry::file("tmp/b/x.o", vec![1; 1000]),
                    FEntry::file("tmp/b/sub/y.o", vec![1; 500]),
                    FEntry::file("var/lib/apt/lists/a", vec![2; 300]),
                    FEntry::file("var/lib/apt/lists/b", vec![2; 200]),
                    FEntry::file("keep", vec![3; 7]),
                ],
            ),
            (
                "/bin/sh -c rm -rf /tmp/b /var/lib/apt/lists/*",
                vec![
                    FEntry::whiteout("tmp/b"),
                    FEntry::whiteout("var/lib/apt/lists/a"),
                    FEntry::whiteout("var/lib/apt/lists/b"),
                ],
            ),
        ]);
        let f = run(&img);
        let c = of(&f, "cleanup-in-later-layer");
        assert_eq!(c.len(), 2, "{c:#?}");
        assert_eq!(c[0].bytes, 1500);
        assert!(c[0].message.contains("under /tmp/b "), "{}", c[0].message);
        assert_eq!((c[0].layer, c[0].related[0].layer), (1, 2));
        assert_eq!(c[1].bytes, 500);
        assert!(
            c[1].message.contains("under /var/lib/apt/lists "),
            "{}",
            c[1].message
        );
        assert_eq!(c[1].paths.len(), 2);
        // Hidden caches are cleanup, not package-cache (which is about visible ones).
        assert!(of(&f, "package-cache").is_empty());
        assert_eq!(removable_bytes(&f), 2000);
    }

    #[test]
    fn visible_caches_tools_and_archives() {
        let img = image(vec![
            (BASE, vec![FEntry::file("bin/sh", vec![0; 10])]),
            (
                "/bin/sh -c apt-get install -y gcc",
                vec![
                    FEntry::file("var/cache/apt/archives/gcc.deb", vec![1; 400]),
                    FEntry::file("var/lib/apt/lists/x_Packages", vec![1; 100]),
                    FEntry::file("usr/lib/gcc/x86_64-linux-gnu/12/cc1", vec![1; 900]),
                    FEntry::file("usr/bin/gcc-12", vec![1; 90]),
                    FEntry::file("usr/bin/python3", vec![1; 50]),
                    FEntry::file("opt/tool.tar.gz", vec![1; 70]),
                    FEntry::file("root/.cache/pip/http/1", vec![1; 60]),
                ],
            ),
            (
                "/bin/sh -c #(nop) COPY dir:1 in /app ",
                vec![FEntry::file("app/vendor.zip", vec![1; 80])],
            ),
        ]);
        let f = run(&img);
        let caches: Vec<(&str, u64)> = of(&f, "package-cache")
            .iter()
            .map(|x| (x.paths[0].path.as_str(), x.bytes))
            .collect();
        // apt archives are a cache, not a leftover archive.
        assert_eq!(
            caches,
            vec![
                ("/var/cache/apt/archives/gcc.deb", 400),
                ("/var/lib/apt/lists/x_Packages", 100),
                ("/root/.cache/pip/http/1", 60)
            ]
        );
        let tools: Vec<u64> = of(&f, "build-tools-in-final-image")
            .iter()
            .map(|x| x.bytes)
            .collect();
        assert_eq!(tools, vec![900, 90]);
        // Only archives a RUN or ADD left: a COPY from the context is the user's file.
        let arch = of(&f, "leftover-archive");
        assert_eq!(arch.len(), 1);
        assert_eq!((arch[0].bytes, arch[0].layer), (70, 1));
    }

    #[test]
    fn context_copies_and_cache_order_from_buildkit_history() {
        let img = image(vec![
            (BASE, vec![FEntry::file("bin/sh", vec![0; 10])]),
            (
                "COPY . . # buildkit",
                vec![
                    FEntry::file("app/.git/objects/pack/p.pack", vec![1; 700]),
                    FEntry::file("app/.git/HEAD", vec![1; 20]),
                    FEntry::file("app/src/__pycache__/m.pyc", vec![1; 30]),
                    FEntry::file("app/.env", vec![1; 5]),
                    FEntry::file("app/requirements.txt", vec![1; 9]),
                    FEntry::file("app/tool/Cargo.toml", vec![1; 3]),
                    FEntry::file("app/tool/target/release/tool", vec![1; 40]),
                    FEntry::file("app/docs/target/index.html", vec![1; 4]),
                ],
            ),
            (
                "RUN /bin/sh -c pip install -r requirements.txt # buildkit",
                vec![FEntry::file("usr/lib/python3/site/lib.so", vec![1; 5000])],
            ),
        ]);
        let f = run(&img);
        let ctx: Vec<(String, u64)> = of(&f, "context-not-ignored")
            .iter()
            .map(|x| (x.fix.lines().nth(1).unwrap().trim().to_string(), x.bytes))
            .collect();
        assert_eq!(
            ctx,
            vec![
                ("**/.git".into(), 720),
                ("**/target".into(), 40),
                ("**/__pycache__".into(), 30),
                ("**/.env".into(), 5)
            ]
        );
        let co = of(&f, "cache-order");
        assert_eq!(co.len(), 1);
        assert_eq!(
            (co[0].layer, co[0].related[0].layer, co[0].bytes),
            (1, 2, 5000)
        );
        assert!(co[0].fix.contains("COPY requirements.txt"), "{}", co[0].fix);
    }

    #[test]
    fn with_a_dockerfile_base_layers_are_left_alone_and_lines_named() {
        let img = image(vec![
            (
                BASE,
                vec![
                    FEntry::file("usr/include/stdio.h", vec![0; 5000]),
                    FEntry::file("old", vec![0; 100]),
                ],
            ),
            ("/bin/sh -c rm /old", vec![FEntry::whiteout("old")]),
            (
                "/bin/sh -c #(nop) COPY dir:1 in /app ",
                vec![FEntry::file("app/node_modules/x/i.js", vec![1; 50])],
            ),
        ]);
        let df = crate::dockerfile::parse("FROM debian\nRUN rm /old\nCOPY . /app\n");
        let mapping = crate::dockerfile::map::map(&df, &img);
        assert!(mapping.warnings.is_empty(), "{:?}", mapping.warnings);
        let w = crate::analysis::waste::analyze(&img);
        let f = analyze(
            &img,
            &w,
            Some(WithDockerfile {
                df: &df,
                mapping: &mapping,
            }),
        );
        let rules: Vec<&str> = f.iter().map(|x| x.rule).collect();
        assert_eq!(rules, vec!["base-image", "context-not-ignored"], "{f:#?}");
        assert_eq!(f[0].bytes, 5100);
        assert_eq!(f[0].dockerfile.as_ref().unwrap().line, 1);
        let c = &f[1];
        assert_eq!(c.dockerfile.as_ref().unwrap().line, 3);
        // Relative to the COPY's destination.
        assert_eq!(c.fix.lines().nth(1).unwrap().trim(), "node_modules");
        // Without the Dockerfile, the base is not known: its headers are reported.
        let plain = analyze(&img, &w, None);
        assert!(plain.iter().any(|x| x.rule == "build-tools-in-final-image"));
    }
}
