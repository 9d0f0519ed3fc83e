//! SHA-256 of a stream, computed on another thread while the stream is parsed: a
//! layer's diff id and blob digest are checked at no cost to the parse on a machine
//! with a core to spare.

use std::io::Read;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// Bytes handed to the hashing thread at a time.
const CHUNK: usize = 512 * 1024;
/// Chunks in flight (bounded: memory stays at `CHUNK * (DEPTH + 2)`).
const DEPTH: usize = 4;

/// A reader that passes its bytes through and hashes them on another thread.
pub struct HashingReader<R> {
    inner: R,
    pending: Vec<u8>,
    to_hasher: Option<SyncSender<Vec<u8>>>,
    spare: Receiver<Vec<u8>>,
    hasher: Option<JoinHandle<[u8; 32]>>,
}

impl<R> HashingReader<R> {
    /// A reader that only passes its bytes through (`finish` gives `None`).
    pub fn off(inner: R) -> HashingReader<R> {
        let (tx, _) = sync_channel::<Vec<u8>>(0);
        let (_, back_rx) = sync_channel::<Vec<u8>>(0);
        HashingReader {
            inner,
            pending: Vec::new(),
            to_hasher: Some(tx),
            spare: back_rx,
            hasher: None,
        }
    }

    pub fn new(inner: R) -> HashingReader<R> {
        let (tx, rx) = sync_channel::<Vec<u8>>(DEPTH);
        let (back_tx, back_rx) = sync_channel::<Vec<u8>>(DEPTH + 2);
        let hasher = std::thread::Builder::new()
            .name("sha256".into())
            .spawn(move || {
                use sha2::Digest;
                let mut h = sha2::Sha256::new();
                for mut chunk in rx {
                    h.update(&chunk);
                    chunk.clear();
                    let _ = back_tx.try_send(chunk);
                }
                h.finalize().into()
            })
            .ok();
        HashingReader {
            inner,
            pending: Vec::with_capacity(CHUNK),
            to_hasher: Some(tx),
            spare: back_rx,
            hasher,
        }
    }

    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let next = self
            .spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        let full = std::mem::replace(&mut self.pending, next);
        if let Some(tx) = &self.to_hasher {
            if tx.send(full).is_err() {
                self.to_hasher = None;
            }
        }
    }

    /// The digest (`sha256:<hex>`) of everything read so far. `None` if the hashing
    /// thread could not be started or died.
    pub fn finish(mut self) -> Option<String> {
        self.flush();
        self.to_hasher = None;
        let h = self.hasher.take()?.join().ok()?;
        Some(format!("sha256:{}", hex::encode(h)))
    }

    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }
}

/// A reader dropped before [`HashingReader::finish`] (the parse failed) still waits for
/// its hasher thread, which ends once the channel closes: no thread outlives it.
impl<R> Drop for HashingReader<R> {
    fn drop(&mut self) {
        self.to_hasher = None;
        if let Some(h) = self.hasher.take() {
            let _ = h.join();
        }
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.hasher.is_some() {
            let mut rest = &buf[..n];
            while !rest.is_empty() {
                let take = rest.len().min(CHUNK - self.pending.len());
                self.pending.extend_from_slice(&rest[..take]);
                rest = &rest[take..];
                if self.pending.len() == CHUNK {
                    self.flush();
                }
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_that_of_the_bytes_read() {
        use sha2::Digest;
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut r = HashingReader::new(&data[..]);
        let mut out = Vec::new();
        // Odd read sizes cross chunk boundaries.
        let mut buf = vec![0u8; 77_777];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(out, data);
        let want = format!("sha256:{}", hex::encode(sha2::Sha256::digest(&data)));
        assert_eq!(r.finish().unwrap(), want);
        assert_eq!(
            HashingReader::new(&b""[..]).finish().unwrap(),
            format!("sha256:{}", hex::encode(sha2::Sha256::digest(b"")))
        );
    }
}
