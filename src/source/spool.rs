//! The daemon's export of an image, kept while it is parsed (one pass, no second read)
//! in an anonymous temporary file, so that previews, extraction and opening the same
//! image again within the session read it at archive speed instead of exporting again.
//!
//! The file is created without a name (`O_TMPFILE` under `$TMPDIR`, via `tempfile`), so
//! the kernel frees it when the process ends, however it ends: normal exit, Ctrl-C, a
//! panic or a kill. It is read back through `/proc/self/fd/N`.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Free space kept in reserve on the temporary filesystem beyond the image itself.
const RESERVE: u64 = 256 << 20;

struct Spooled {
    reference: String,
    id: String,
    file: File,
}

static SPOOLS: Mutex<Vec<Spooled>> = Mutex::new(Vec::new());

/// A spool being written.
pub struct Spool {
    file: File,
    ok: Arc<AtomicBool>,
    written: Arc<std::sync::atomic::AtomicU64>,
}

/// Start a spool for an export of about `size` bytes, or say why not.
pub fn create(size: u64) -> std::result::Result<Spool, String> {
    if std::env::var_os("LAYERLENS_NO_SPOOL").is_some() {
        return Err("spooling disabled by LAYERLENS_NO_SPOOL".into());
    }
    let dir = std::env::temp_dir();
    if let Some(free) = free_bytes(&dir) {
        if free < size.saturating_add(RESERVE) {
            return Err(format!(
                "the export is not kept for previews: {} has {} free, the image needs {}",
                dir.display(),
                crate::report::human(free),
                crate::report::human(size)
            ));
        }
    }
    let file = tempfile::tempfile_in(&dir).map_err(|e| {
        format!(
            "the export is not kept for previews: cannot create a file in {}: {e}",
            dir.display()
        )
    })?;
    Ok(Spool {
        file,
        ok: Arc::new(AtomicBool::new(true)),
        written: Default::default(),
    })
}

impl Spool {
    /// A reader that copies what `inner` yields into the spool.
    pub fn tee<R: Read>(&self, inner: R) -> Tee<R> {
        let out = self
            .file
            .try_clone()
            .ok()
            .map(|f| BufWriter::with_capacity(1 << 20, f));
        if out.is_none() {
            self.ok.store(false, Ordering::Relaxed);
        }
        Tee {
            inner,
            out,
            ok: self.ok.clone(),
            written: self.written.clone(),
        }
    }

    /// Keep the spool for `reference` (image `id`) if it was written completely.
    pub fn keep(self, reference: &str, id: &str) -> bool {
        if !self.ok.load(Ordering::Relaxed) {
            return false;
        }
        let mut spools = SPOOLS.lock().unwrap_or_else(|e| e.into_inner());
        spools.retain(|s| s.reference != reference);
        spools.push(Spooled {
            reference: reference.to_string(),
            id: id.to_string(),
            file: self.file,
        });
        true
    }

    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}

/// Record that the export kept for `kept_for` also holds `reference` (image `id`).
pub fn alias(kept_for: &str, reference: &str, id: &str) {
    let mut spools = SPOOLS.lock().unwrap_or_else(|e| e.into_inner());
    let Some(file) = spools
        .iter()
        .find(|s| s.reference == kept_for)
        .and_then(|s| s.file.try_clone().ok())
    else {
        return;
    };
    spools.retain(|s| s.reference != reference);
    spools.push(Spooled {
        reference: reference.to_string(),
        id: id.to_string(),
        file,
    });
}

/// A path that opens the kept export of `reference`, with the image id it holds.
pub fn lookup(reference: &str) -> Option<(String, PathBuf)> {
    use std::os::fd::AsRawFd;
    let spools = SPOOLS.lock().unwrap_or_else(|e| e.into_inner());
    let s = spools.iter().find(|s| s.reference == reference)?;
    Some((
        s.id.clone(),
        PathBuf::from(format!("/proc/self/fd/{}", s.file.as_raw_fd())),
    ))
}

/// Copies everything read into the spool; a failed write (disk full) stops spooling,
/// never the load.
pub struct Tee<R> {
    inner: R,
    out: Option<BufWriter<File>>,
    ok: Arc<AtomicBool>,
    written: Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(out) = &mut self.out {
            if out.write_all(&buf[..n]).is_err() {
                self.out = None;
                self.ok.store(false, Ordering::Relaxed);
            } else {
                self.written.fetch_add(n as u64, Ordering::Relaxed);
            }
        }
        if n == 0 && !buf.is_empty() {
            self.finish();
        }
        Ok(n)
    }
}

impl<R> Tee<R> {
    fn finish(&mut self) {
        if let Some(mut out) = self.out.take() {
            if out.flush().is_err() {
                self.ok.store(false, Ordering::Relaxed);
            }
        }
    }
}

impl<R> Drop for Tee<R> {
    fn drop(&mut self) {
        self.finish();
    }
}

fn free_bytes(dir: &std::path::Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs on a NUL-terminated path into a zeroed struct.
    unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut st) != 0 {
            return None;
        }
        Some(st.f_bavail as u64 * st.f_frsize as u64)
    }
}
