//! The export stream: `docker save` bytes pumped from the daemon on a thread into a
//! bounded channel and read as a blocking `Read`, with stalls, early ends and errors in
//! the stream turned into clear errors.

use super::*;

// ---------------------------------------------------------------------------------
// Streaming the export.

/// What the export thread sends to the reader.
pub(super) enum Chunk {
    Data(Bytes),
    /// The archive ended completely.
    End,
    /// The export failed; the reader returns this error.
    Failed(Error),
}

/// The body of the export thread: connect, inspect, report the image, then stream.
#[allow(clippy::type_complexity)]
pub(super) fn export_thread(
    host: ResolvedHost,
    references: Vec<String>,
    meta_tx: SyncSender<Result<Vec<(DaemonImage, String)>>>,
    data_tx: SyncSender<Chunk>,
    cancel_rx: tokio::sync::oneshot::Receiver<()>,
) {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            let _ = meta_tx.send(Err(e));
            return;
        }
    };
    let prepared = rt.block_on(async {
        let docker = connect(&host).await?;
        let mut images = Vec::new();
        for reference in &references {
            let image = inspect(&docker, &host, reference).await?;
            let exported_as = save_reference(reference, &image);
            images.push((image, exported_as));
        }
        Ok::<_, Error>((docker, images))
    });
    let (docker, images) = match prepared {
        Ok(prepared) => prepared,
        Err(e) => {
            let _ = meta_tx.send(Err(e));
            return;
        }
    };
    let mut names: Vec<String> = images.iter().map(|(_, n)| n.clone()).collect();
    names.dedup();
    if meta_tx.send(Ok(images)).is_err() {
        return;
    }
    drop(meta_tx);
    let reference = references.join(" ");
    // Our own stall timer (in `pump`) fires first, with a better message.
    let docker = docker.with_timeout(EXPORT_STALL_TIMEOUT + Duration::from_secs(60));
    let name_refs: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
    let stream = if name_refs.len() == 1 {
        docker.export_image(name_refs[0]).boxed()
    } else {
        docker.export_images(&name_refs).boxed()
    };
    pump(
        &rt,
        stream,
        &data_tx,
        cancel_rx,
        EXPORT_STALL_TIMEOUT,
        |e| map_error(e, &host, Op::Export(&reference)),
    );
}

/// Moves the export stream into the channel until it ends, fails, stalls for `stall`,
/// or the reader goes away (`cancel_rx` fires or the channel closes). Errors before
/// the first byte are mapped by `map_start_error`; later ones become `Corrupt`.
pub(super) fn pump<S>(
    rt: &tokio::runtime::Runtime,
    stream: S,
    data_tx: &SyncSender<Chunk>,
    mut cancel_rx: tokio::sync::oneshot::Receiver<()>,
    stall: Duration,
    map_start_error: impl FnOnce(bollard::errors::Error) -> Error,
) where
    S: Stream<Item = std::result::Result<Bytes, bollard::errors::Error>>,
{
    let mut stream = std::pin::pin!(stream);
    let mut tail = TarTail::default();
    let mut map_start_error = Some(map_start_error);
    loop {
        let next = rt.block_on(async {
            tokio::select! {
                _ = &mut cancel_rx => None,
                next = tokio::time::timeout(stall, stream.next()) => Some(next),
            }
        });
        let chunk = match next {
            None => return,
            Some(Ok(Some(Ok(bytes)))) => {
                if bytes.is_empty() {
                    continue;
                }
                tail.push(&bytes);
                Chunk::Data(bytes)
            }
            Some(Ok(Some(Err(e)))) => Chunk::Failed(match map_start_error.take() {
                Some(map) if tail.total == 0 => map(e),
                _ => mid_way(&tail, &chain_message(&e)),
            }),
            Some(Ok(None)) => match tail.check_complete() {
                Ok(()) => Chunk::End,
                Err(why) => Chunk::Failed(mid_way(&tail, &why)),
            },
            Some(Err(_elapsed)) if tail.total == 0 => Chunk::Failed(Error::other(format!(
                "the Docker daemon did not start the export within {} minutes",
                stall.as_secs() / 60
            ))),
            Some(Err(_elapsed)) => Chunk::Failed(mid_way(
                &tail,
                &format!("no data for {} s", stall.as_secs()),
            )),
        };
        let last = !matches!(chunk, Chunk::Data(_));
        if data_tx.send(chunk).is_err() || last {
            return;
        }
    }
}

pub(super) fn mid_way(tail: &TarTail, cause: &str) -> Error {
    Error::corrupt(format!(
        "the Docker daemon closed the export stream mid-way (after {} bytes): {cause}",
        tail.total
    ))
}

/// Tracks the end of the export to tell a complete tar from a cut one: a complete
/// archive is a whole number of 512-byte blocks ending in two zero blocks. A daemon
/// that fails after it started sending appends a JSON error message instead.
#[derive(Default)]
pub(super) struct TarTail {
    pub(super) total: u64,
    pub(super) tail: Vec<u8>,
}

impl TarTail {
    /// Bytes kept: the end-of-archive marker plus room for a daemon error message.
    const KEEP: usize = 4096;

    pub(super) fn push(&mut self, data: &[u8]) {
        self.total += data.len() as u64;
        let take = data.len().min(Self::KEEP);
        self.tail.extend_from_slice(&data[data.len() - take..]);
        if self.tail.len() > Self::KEEP {
            let excess = self.tail.len() - Self::KEEP;
            self.tail.drain(..excess);
        }
    }

    pub(super) fn check_complete(&self) -> std::result::Result<(), String> {
        if self.total == 0 {
            return Err("the export was empty".into());
        }
        let marker =
            self.tail.len() >= 1024 && self.tail[self.tail.len() - 1024..].iter().all(|&b| b == 0);
        if self.total.is_multiple_of(512) && marker {
            return Ok(());
        }
        Err(daemon_error_in(&self.tail)
            .unwrap_or_else(|| "the archive ends without the tar end-of-archive marker".into()))
    }
}

/// The message of a JSON error (`{"errorDetail":{"message":...},"error":...}`) that
/// the daemon wrote into the stream, if any.
pub(super) fn daemon_error_in(tail: &[u8]) -> Option<String> {
    let needle = b"{\"errorDetail\"";
    let start = tail.windows(needle.len()).rposition(|w| w == needle)?;
    let value = serde_json::Deserializer::from_slice(&tail[start..])
        .into_iter::<serde_json::Value>()
        .next()?
        .ok()?;
    let message = value
        .get("error")
        .and_then(|m| m.as_str())
        .or_else(|| value.get("errorDetail")?.get("message")?.as_str())?;
    Some(format!("the daemon reported: {message}"))
}

/// The reader side of the export: blocks for the next chunk from the export thread.
pub(super) struct ExportStream {
    pub(super) rx: Option<Receiver<Chunk>>,
    /// Dropping it tells the export thread to stop waiting for the daemon.
    pub(super) cancel: Option<tokio::sync::oneshot::Sender<()>>,
    pub(super) thread: Option<JoinHandle<()>>,
    pub(super) current: Bytes,
    pub(super) state: StreamState,
}

pub(super) enum StreamState {
    Streaming,
    Done,
    Failed(Error),
}

impl ExportStream {
    pub(super) fn new(
        rx: Receiver<Chunk>,
        cancel: tokio::sync::oneshot::Sender<()>,
        thread: JoinHandle<()>,
    ) -> Self {
        ExportStream {
            rx: Some(rx),
            cancel: Some(cancel),
            thread: Some(thread),
            current: Bytes::new(),
            state: StreamState::Streaming,
        }
    }

    /// Stops the export thread (if still running) and waits for it.
    pub(super) fn stop(&mut self) {
        drop(self.cancel.take());
        drop(self.rx.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Read for ExportStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.current.is_empty() {
                let n = buf.len().min(self.current.len());
                buf[..n].copy_from_slice(&self.current[..n]);
                self.current.advance(n);
                return Ok(n);
            }
            match &self.state {
                StreamState::Streaming => {}
                StreamState::Done => return Ok(0),
                StreamState::Failed(e) => return Err(io::Error::other(e.clone())),
            }
            let received = match &self.rx {
                Some(rx) => rx.recv().ok(),
                None => None,
            };
            match received {
                Some(Chunk::Data(bytes)) => self.current = bytes,
                Some(Chunk::End) => {
                    self.state = StreamState::Done;
                    self.stop();
                }
                Some(Chunk::Failed(e)) => {
                    self.state = StreamState::Failed(e);
                    self.stop();
                }
                None => {
                    self.state = StreamState::Failed(Error::corrupt(
                        "the Docker daemon closed the export stream mid-way: \
                         the export thread stopped unexpectedly",
                    ));
                    self.stop();
                }
            }
        }
    }
}

impl Drop for ExportStream {
    fn drop(&mut self) {
        self.stop();
    }
}
