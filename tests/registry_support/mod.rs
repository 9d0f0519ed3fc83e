//! A real registry for tests: Debian's `docker-registry` (Distribution 2.8) started on
//! 127.0.0.1 on a free port with a fresh storage directory, killed when dropped.
//!
//! ```ignore
//! mod registry_support;
//! let reg = registry_support::TestRegistry::start();   // or start_or_skip()
//! let target = format!("{}/app:1", reg.host());        // 127.0.0.1:PORT/app:1
//! ...
//! let sent = reg.requests_from("layerlens/");           // (method, path) pairs
//! ```
//!
//! Docker pushes to 127.0.0.0/8 over plain HTTP without any daemon configuration, so
//! `docker push 127.0.0.1:PORT/…` works against it. The access log is on: tests read
//! which methods a client sent from the registry's own log (lines in the combined log
//! format, with the user agent).
#![allow(dead_code)]

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const PROGRAM: &str = "docker-registry";

pub struct TestRegistry {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    log: PathBuf,
}

/// A user of [`TestRegistry::restart_with_basic_auth`] and its password.
pub const AUTH_USER: &str = "tester";
pub const AUTH_PASSWORD: &str = "s3cret";
/// bcrypt (cost 4) of [`AUTH_PASSWORD`], as Distribution's htpasswd backend wants it.
const AUTH_HTPASSWD: &str = "tester:$2b$04$9Qd1x2J6d4N33hBQReHzpuf8bPjmVwjIM.QGV5I2HuqXv1pK/I1I2";

/// Whether `docker-registry` is installed.
pub fn available() -> bool {
    Command::new(PROGRAM)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl TestRegistry {
    /// Start a registry; `None` (after printing "skipped: …") when `docker-registry` is
    /// not installed, unless `LAYERLENS_REQUIRE_DOCKER=1`, which makes that a failure.
    pub fn start_or_skip() -> Option<TestRegistry> {
        if !available() {
            if std::env::var("LAYERLENS_REQUIRE_DOCKER").is_ok_and(|v| v == "1") {
                panic!(
                    "`{PROGRAM}` is not installed and LAYERLENS_REQUIRE_DOCKER=1 (apt-get install docker-registry)"
                );
            }
            eprintln!("skipped: {PROGRAM} not installed");
            return None;
        }
        Some(TestRegistry::start())
    }

    /// Start a registry (panics when it cannot be started).
    pub fn start() -> TestRegistry {
        let mut last = String::new();
        for _ in 0..5 {
            match TestRegistry::try_start() {
                Ok(r) => return r,
                Err(e) => last = e,
            }
        }
        panic!("cannot start {PROGRAM}: {last}");
    }

    fn try_start() -> Result<TestRegistry, String> {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
            l.local_addr().map_err(|e| e.to_string())?.port()
        };
        let dir = tempfile::Builder::new()
            .prefix("layerlens-registry-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        fs::create_dir_all(dir.path().join("storage")).map_err(|e| e.to_string())?;
        let log = dir.path().join("registry.log");
        let child = spawn(dir.path(), port, "", &log)?;
        let mut reg = TestRegistry {
            child,
            port,
            dir,
            log,
        };
        reg.wait_ready(&[200])?;
        Ok(reg)
    }

    /// Stop the registry and start it again on the same port and storage, requiring
    /// basic auth ([`AUTH_USER`] / [`AUTH_PASSWORD`], htpasswd backend).
    pub fn restart_with_basic_auth(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let htpasswd = self.dir.path().join("htpasswd");
        fs::write(&htpasswd, format!("{AUTH_HTPASSWD}\n")).expect("writing htpasswd");
        let auth = format!(
            "auth:\n  htpasswd:\n    realm: layerlens-test\n    path: {}\n",
            htpasswd.display()
        );
        self.child =
            spawn(self.dir.path(), self.port, &auth, &self.log).expect("restarting the registry");
        self.wait_ready(&[401])
            .expect("the registry answers with auth");
    }

    fn wait_ready(&mut self, ok: &[u16]) -> Result<(), String> {
        let reg = self;
        let start = Instant::now();
        loop {
            if reg.get_status("/v2/").is_some_and(|s| ok.contains(&s)) {
                return Ok(());
            }
            if let Ok(Some(status)) = reg.child.try_wait() {
                return Err(format!(
                    "{PROGRAM} exited ({status}): {}",
                    fs::read_to_string(&reg.log).unwrap_or_default()
                ));
            }
            if start.elapsed() > Duration::from_secs(20) {
                return Err(format!("{PROGRAM} did not answer /v2/ within 20 s"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A second server on `ip:PORT2` over the same storage (read side only), for tests
    /// that need a non-loopback address; stopped when dropped.
    pub fn also_on(&self, ip: &str) -> Option<Extra> {
        let port = {
            let l = TcpListener::bind((ip, 0)).ok()?;
            l.local_addr().ok()?.port()
        };
        let dir = tempfile::Builder::new()
            .prefix("layerlens-registry-extra-")
            .tempdir()
            .ok()?;
        std::os::unix::fs::symlink(self.storage(), dir.path().join("storage")).ok()?;
        let log = dir.path().join("registry.log");
        let config = dir.path().join("config.yml");
        fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  accesslog:\n    disabled: false\n\
                 storage:\n  filesystem:\n    rootdirectory: {}\n\
                 http:\n  addr: {ip}:{port}\n",
                self.storage().display()
            ),
        )
        .ok()?;
        let out = fs::File::create(&log).ok()?;
        let err = out.try_clone().ok()?;
        let child = Command::new(PROGRAM)
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .ok()?;
        let mut extra = Extra {
            child,
            addr: format!("{ip}:{port}"),
            _dir: dir,
        };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if TcpStream::connect((ip, port)).is_ok() {
                return Some(extra);
            }
            if let Ok(Some(_)) = extra.child.try_wait() {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// `127.0.0.1:PORT`
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn storage(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// The registry's log so far (access log lines included).
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// (method, request URI) of every access-log line whose user agent starts with
    /// `agent_prefix`.
    pub fn requests_from(&self, agent_prefix: &str) -> Vec<(String, String)> {
        access_lines(&self.log())
            .into_iter()
            .filter(|a| a.agent.starts_with(agent_prefix))
            .map(|a| (a.method, a.uri))
            .collect()
    }

    /// The size the registry stored for blob `digest` ("sha256:…"), if it has it.
    pub fn blob_size(&self, digest: &str) -> Option<u64> {
        let hex = digest.strip_prefix("sha256:")?;
        let p = self
            .storage()
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data");
        fs::metadata(p).ok().map(|m| m.len())
    }

    /// Every blob digest the registry stores.
    pub fn blobs(&self) -> Vec<String> {
        let root = self.storage().join("docker/registry/v2/blobs/sha256");
        let mut out = Vec::new();
        for pre in fs::read_dir(&root).into_iter().flatten().flatten() {
            for b in fs::read_dir(pre.path()).into_iter().flatten().flatten() {
                out.push(format!("sha256:{}", b.file_name().to_string_lossy()));
            }
        }
        out.sort();
        out
    }

    /// A plain HTTP GET of `path`: the status code (None when nothing answers).
    pub fn get_status(&self, path: &str) -> Option<u16> {
        let (status, _) = http_get(self.port, path)?;
        Some(status)
    }

    /// A plain HTTP GET of `path`: (status, body).
    pub fn get(&self, path: &str) -> Option<(u16, Vec<u8>)> {
        http_get(self.port, path)
    }

    /// Store a manifest or index (the test's own setup; layerlens never writes): the
    /// HTTP status.
    pub fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> Option<u16> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(
            s,
            "PUT /v2/{repo}/manifests/{reference} HTTP/1.0\r\nHost: 127.0.0.1:{}\r\n\
             User-Agent: layerlens-tests\r\nContent-Type: {media_type}\r\nContent-Length: {}\r\n\r\n",
            self.port,
            body.len()
        )
        .ok()?;
        s.write_all(body).ok()?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).ok()?;
        String::from_utf8_lossy(&buf)
            .split(' ')
            .nth(1)?
            .parse()
            .ok()
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Write the config (storage in `dir/storage`, access log on, `extra` appended) and
/// start `docker-registry serve`, its output appended to `log`.
fn spawn(dir: &Path, port: u16, extra: &str, log: &Path) -> Result<Child, String> {
    let config = dir.join("config.yml");
    fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: false\n\
             http:\n  addr: 127.0.0.1:{port}\n{extra}",
            dir.join("storage").display()
        ),
    )
    .map_err(|e| e.to_string())?;
    let out = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| e.to_string())?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    Command::new(PROGRAM)
        .arg("serve")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("spawning {PROGRAM}: {e}"))
}

/// A second registry process over the same storage ([`TestRegistry::also_on`]).
pub struct Extra {
    child: Child,
    pub addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Extra {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct AccessLine {
    pub method: String,
    pub uri: String,
    pub status: u16,
    pub agent: String,
}

/// Parse the combined-log-format lines of the registry's access log.
pub fn access_lines(log: &str) -> Vec<AccessLine> {
    let mut out = Vec::new();
    for line in log.lines() {
        // 127.0.0.1 - - [date] "METHOD URI HTTP/1.1" STATUS BYTES "REFERER" "AGENT"
        let Some(start) = line.find("] \"") else {
            continue;
        };
        let rest = &line[start + 3..];
        let Some(end) = rest.find('"') else { continue };
        let mut req = rest[..end].split(' ');
        let (Some(method), Some(uri)) = (req.next(), req.next()) else {
            continue;
        };
        let after = rest[end + 1..].trim_start();
        let status = after
            .split(' ')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let quoted: Vec<&str> = after.split('"').collect();
        // after = 200 2 "referer" "agent"  → ["200 2 ", referer, " ", agent, ""]
        let agent = quoted.get(3).copied().unwrap_or("").to_string();
        out.push(AccessLine {
            method: method.to_string(),
            uri: uri.to_string(),
            status,
            agent,
        });
    }
    out
}

fn http_get(port: u16, path: &str) -> Option<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: layerlens-tests\r\n\
         Accept: application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json\r\n\r\n"
    )
    .ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..head_end]);
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, buf[head_end + 4..].to_vec()))
}

/// Remove a storage directory tree (for tests that want an emptied registry).
pub fn remove_tree(p: &Path) {
    let _ = fs::remove_dir_all(p);
}
