//! Docker's `tar-split.json.gz`: the record that lets the daemon rebuild a layer tar
//! byte for byte. Each line is JSON: `{"type":2,"payload":"<base64>"}` holds raw tar
//! bytes (headers, extension headers, padding), `{"type":1,"name":…,"size":N,
//! "payload":"<base64 of 8 bytes>"}` stands for one entry's content, with the
//! CRC-64/GO-ISO of that content (big-endian) as its payload when `size > 0`.
//!
//! [`TarSplitStream`] turns the record into a tar stream whose content regions are
//! virtual (zeros, skipped by seeking), so the ordinary layer parser reads every header
//! exactly as it would read the exported tar, and takes each file's checksum from the
//! record instead of from the bytes.

use crate::error::{Error, Result};
use base64::Engine;
use serde::Deserialize;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, BufRead, Read, Seek, SeekFrom};
use std::rc::Rc;

/// A line longer than this is not a tar-split record (headers are 512-byte blocks; a
/// PAX header with a very long name is the largest legitimate segment).
const MAX_LINE: usize = 64 << 20;

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "type")]
    kind: u8,
    #[serde(default)]
    size: i64,
    #[serde(default, borrow)]
    payload: Option<std::borrow::Cow<'a, str>>,
}

enum Item {
    /// Raw tar bytes.
    Raw(Vec<u8>),
    /// An entry's content: `size` virtual bytes, with its checksum when it has bytes.
    Data { size: u64, crc: Option<u64> },
}

impl Item {
    fn len(&self) -> u64 {
        match self {
            Item::Raw(b) => b.len() as u64,
            Item::Data { size, .. } => *size,
        }
    }
}

struct State<R> {
    lines: R,
    line: Vec<u8>,
    /// Decoded items not yet wholly produced; `queue[0]` may be partly consumed.
    queue: VecDeque<Item>,
    /// Stream offset of the start of `queue[0]`.
    queue_start: u64,
    /// Bytes of `queue[0]` already produced.
    head_used: u64,
    done: bool,
    line_no: u64,
}

impl<R: BufRead> State<R> {
    /// Decode the next line onto the queue; false at the end of the record.
    fn pull(&mut self) -> Result<bool> {
        if self.done {
            return Ok(false);
        }
        loop {
            self.line.clear();
            let n = (&mut self.lines)
                .take(MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut self.line)
                .map_err(|e| Error::corrupt(format!("tar-split record unreadable: {e}")))?;
            if n == 0 {
                self.done = true;
                return Ok(false);
            }
            self.line_no += 1;
            if self.line.len() > MAX_LINE {
                return Err(self.bad("line too long"));
            }
            let text = trim_ascii(&self.line);
            if text.is_empty() {
                continue;
            }
            let l: Line = serde_json::from_slice(text)
                .map_err(|e| self.bad(&format!("not a tar-split entry ({e})")))?;
            let payload = match &l.payload {
                Some(p) if !p.is_empty() => Some(
                    base64::engine::general_purpose::STANDARD
                        .decode(p.as_bytes())
                        .map_err(|_| self.bad("payload is not base64"))?,
                ),
                _ => None,
            };
            let item = match l.kind {
                2 => Item::Raw(payload.unwrap_or_default()),
                1 => {
                    if l.size < 0 {
                        return Err(self.bad("negative size"));
                    }
                    let crc = match payload {
                        Some(p) if p.len() == 8 => {
                            Some(u64::from_be_bytes(p.try_into().expect("8 bytes")))
                        }
                        Some(_) => return Err(self.bad("checksum is not 8 bytes")),
                        None => None,
                    };
                    Item::Data {
                        size: l.size as u64,
                        crc,
                    }
                }
                k => return Err(self.bad(&format!("unknown entry type {k}"))),
            };
            if item.len() == 0 && matches!(item, Item::Raw(_)) {
                continue;
            }
            self.queue.push_back(item);
            return Ok(true);
        }
    }

    fn bad(&self, what: &str) -> Error {
        Error::corrupt(format!("tar-split record, line {}: {what}", self.line_no))
    }

    /// Drop the head item once it is wholly produced.
    fn advance_head(&mut self) {
        while let Some(h) = self.queue.front() {
            if self.head_used < h.len() {
                break;
            }
            self.queue_start += h.len();
            self.head_used = 0;
            self.queue.pop_front();
        }
    }

    fn position(&self) -> u64 {
        self.queue_start + self.head_used
    }

    /// The checksum of the content region that starts at `offset` with `size` bytes.
    fn checksum_at(&mut self, offset: u64, size: u64) -> Result<u64> {
        let mut start = self.queue_start;
        let mut i = 0;
        loop {
            if i == self.queue.len() && !self.pull()? {
                break;
            }
            let item = &self.queue[i];
            if start > offset {
                break;
            }
            if let Item::Data { size: s, crc } = item {
                if start == offset && *s == size {
                    return Ok(if size == 0 { 0 } else { crc.unwrap_or(0) });
                }
            }
            start += item.len();
            i += 1;
        }
        if size == 0 {
            return Ok(0);
        }
        Err(Error::corrupt(format!(
            "tar-split record has no checksum for the {size}-byte entry at offset {offset}"
        )))
    }
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let s = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let e = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(s, |e| e + 1);
    &b[s..e]
}

/// Errors of the record itself (not of the tar it describes) keep their message:
/// `InvalidData`, not the tar reader's own `Other`.
fn to_io(e: Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// The layer tar described by a tar-split record, with virtual content. Cloning shares
/// the state: one clone reads, another answers [`TarSplitStream::checksum_at`].
pub struct TarSplitStream<R> {
    state: Rc<RefCell<State<R>>>,
}

impl<R> Clone for TarSplitStream<R> {
    fn clone(&self) -> Self {
        TarSplitStream {
            state: self.state.clone(),
        }
    }
}

impl<R: BufRead> TarSplitStream<R> {
    /// `lines`: the decompressed record.
    pub fn new(lines: R) -> Self {
        TarSplitStream {
            state: Rc::new(RefCell::new(State {
                lines,
                line: Vec::new(),
                queue: VecDeque::new(),
                queue_start: 0,
                head_used: 0,
                done: false,
                line_no: 0,
            })),
        }
    }

    /// Bytes of the tar stream produced so far.
    pub fn position(&self) -> u64 {
        self.state.borrow().position()
    }

    pub fn checksum_at(&self, offset: u64, size: u64) -> Result<u64> {
        self.state.borrow_mut().checksum_at(offset, size)
    }
}

impl<R: BufRead> Read for TarSplitStream<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut st = self.state.borrow_mut();
        loop {
            st.advance_head();
            if st.queue.is_empty() && !st.pull().map_err(to_io)? {
                return Ok(0);
            }
            let used = st.head_used;
            let n = match &st.queue[0] {
                Item::Raw(b) => {
                    let rest = &b[used as usize..];
                    let n = rest.len().min(buf.len());
                    buf[..n].copy_from_slice(&rest[..n]);
                    n
                }
                Item::Data { size, .. } => {
                    let n = ((size - used) as usize).min(buf.len());
                    buf[..n].fill(0);
                    n
                }
            };
            if n == 0 && !buf.is_empty() {
                continue;
            }
            st.head_used += n as u64;
            return Ok(n);
        }
    }
}

impl<R: BufRead> Seek for TarSplitStream<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let mut st = self.state.borrow_mut();
        let target = match pos {
            SeekFrom::Current(n) if n >= 0 => st.position() + n as u64,
            SeekFrom::Start(n) if n >= st.position() => n,
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "only forward seeks",
                ));
            }
        };
        while st.position() < target {
            st.advance_head();
            if st.queue.is_empty() && !st.pull().map_err(to_io)? {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "tar ends inside an entry",
                ));
            }
            let left = st.queue[0].len() - st.head_used;
            let step = left.min(target - st.position());
            st.head_used += step;
        }
        Ok(st.position())
    }
}

/// Parse a layer from its decompressed tar-split record.
pub fn parse_layer<R: BufRead>(lines: R) -> Result<crate::model::LayerContent> {
    use crate::model::layer::{Content, parse_tar};
    let mut stream = TarSplitStream::new(lines);
    let lookup = stream.clone();
    let f = move |offset: u64, size: u64| lookup.checksum_at(offset, size);
    let mut out = parse_tar(&mut stream, Content::Checksums(&f))?;
    out.stream_size = stream.position();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::layer::content_checksum;

    /// A tar-split record for `tar` built the way tar-split's disassembler does it:
    /// one raw segment per header (with what precedes it), one data entry per header.
    fn disassemble(tar_bytes: &[u8]) -> String {
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let mut out = String::new();
        let mut ar = tar::Archive::new(tar_bytes);
        let mut last = 0usize;
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            let data_at = e.raw_file_position() as usize;
            let size = e.size() as usize;
            out.push_str(&format!(
                "{{\"type\":2,\"payload\":\"{}\"}}\n",
                b64(&tar_bytes[last..data_at])
            ));
            let mut content = Vec::new();
            e.read_to_end(&mut content).unwrap();
            if size > 0 {
                out.push_str(&format!(
                    "{{\"type\":1,\"name\":\"x\",\"size\":{size},\"payload\":\"{}\"}}\n",
                    b64(&content_checksum(&content).to_be_bytes())
                ));
            } else {
                out.push_str("{\"type\":1,\"name\":\"x\",\"size\":0}\n");
            }
            last = data_at + size;
        }
        out.push_str(&format!(
            "{{\"type\":2,\"payload\":\"{}\"}}\n",
            b64(&tar_bytes[last..])
        ));
        out
    }

    #[test]
    fn same_model_as_the_tar() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_size(0);
        h.set_mode(0o755);
        b.append_data(&mut h, "etc/", &[][..]).unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(5);
        h.set_mode(0o644);
        b.append_data(&mut h, "etc/hosts", &b"hello"[..]).unwrap();
        let long = format!("etc/{}", "n".repeat(300));
        let mut h = tar::Header::new_gnu();
        h.set_size(3);
        h.set_mode(0o600);
        b.append_data(&mut h, &long, &b"abc"[..]).unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(0);
        b.append_data(&mut h, "etc/.wh.old", &[][..]).unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Link);
        h.set_size(0);
        b.append_link(&mut h, "etc/hosts2", "etc/hosts").unwrap();
        let tar_bytes = b.into_inner().unwrap();
        let from_tar = crate::model::parse_layer(&tar_bytes[..]).unwrap();
        let rec = disassemble(&tar_bytes);
        let from_split = parse_layer(rec.as_bytes()).unwrap();
        assert_eq!(from_tar.entries, from_split.entries);
        assert_eq!(from_tar.whiteouts, from_split.whiteouts);
        assert_eq!(from_tar.tar_size, from_split.tar_size);
        assert_eq!(from_tar.stream_size, from_split.stream_size);
        assert_eq!(from_split.entries.len(), 4);
        assert_ne!(from_split.entries[1].hash, 0);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse_layer(&b"{\"type\":7}\n"[..]).is_err());
        assert!(parse_layer(&b"not json\n"[..]).is_err());
        let e = parse_layer(&b"{\"type\":2,\"payload\":\"!!\"}\n"[..]).unwrap_err();
        assert!(e.message.contains("base64"), "{}", e.message);
    }

    #[test]
    fn go_iso_check_value() {
        // The catalogue check value of CRC-64/GO-ISO, the table Go's hash/crc64.ISO uses.
        assert_eq!(content_checksum(b"123456789"), 0xB90956C775A41001);
    }
}
