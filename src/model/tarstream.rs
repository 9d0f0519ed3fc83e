//! A tar reader over a buffered stream, without an allocation or a copy per entry:
//! headers are read in place from the stream's buffer, small files are checksummed
//! straight from it, and content that is not needed is skipped.
//!
//! It reads tars exactly as the `tar` crate does (which [`super::layer::parse_tar_reference`]
//! still uses, and tests compare the two on every fixture and fuzz input): the same
//! header checksum rule, GNU long names and links, PAX records (`path`, `linkpath`,
//! `size`, `uid`, `gid`), GNU sparse files, and the end at the first zero block. Field
//! decoding is the `tar` crate's own ([`tar::Header`] over the header's bytes).

use std::io::{self, BufRead, Read, Seek, SeekFrom};

/// A tar block.
pub const BLOCK: u64 = 512;

/// The stream below the tar reader: buffered bytes it can read in place, and a way to
/// skip content it does not read.
pub trait TarInput {
    /// The next buffered bytes (empty at the end of the stream).
    fn fill_buf(&mut self) -> io::Result<&[u8]>;
    fn consume(&mut self, n: usize);
    /// Skip `n` bytes; returns how many were skipped (fewer only at the end).
    fn skip(&mut self, n: u64) -> io::Result<u64> {
        let mut left = n;
        while left > 0 {
            let avail = self.fill_buf()?.len();
            if avail == 0 {
                break;
            }
            let take = (avail as u64).min(left) as usize;
            self.consume(take);
            left -= take as u64;
        }
        Ok(n - left)
    }
}

impl<R: BufRead> TarInput for super::layer::ForwardSeek<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, n: usize) {
        self.inner.consume(n);
        self.count += n as u64;
    }
}

/// A [`TarInput`] over a reader that seeks forward (Docker's tar-split stream, whose
/// content regions are virtual): one `read` fills the buffer when it is empty (so the
/// reader never reads past what the stream hands out in one go), and skips beyond the
/// buffer seek.
pub struct SeekInput<R> {
    inner: R,
    buf: Box<[u8]>,
    at: usize,
    len: usize,
}

impl<R> SeekInput<R> {
    pub fn new(inner: R) -> Self {
        SeekInput {
            inner,
            buf: vec![0; 64 * 1024].into_boxed_slice(),
            at: 0,
            len: 0,
        }
    }
}

impl<R: Read + Seek> TarInput for SeekInput<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.at == self.len {
            self.len = self.inner.read(&mut self.buf)?;
            self.at = 0;
        }
        Ok(&self.buf[self.at..self.len])
    }
    fn consume(&mut self, n: usize) {
        self.at = (self.at + n).min(self.len);
    }
    fn skip(&mut self, n: u64) -> io::Result<u64> {
        let buffered = ((self.len - self.at) as u64).min(n);
        self.at += buffered as usize;
        let rest = n - buffered;
        if rest > 0 {
            let rest_i = i64::try_from(rest).map_err(|_| io::Error::other("seek out of range"))?;
            self.inner.seek(SeekFrom::Current(rest_i))?;
        }
        Ok(n)
    }
}

/// Read `dst.len()` bytes; returns how many there were (fewer only at the end).
pub fn read_full<I: TarInput + ?Sized>(input: &mut I, dst: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < dst.len() {
        let b = input.fill_buf()?;
        if b.is_empty() {
            break;
        }
        let n = b.len().min(dst.len() - got);
        dst[got..got + n].copy_from_slice(&b[..n]);
        input.consume(n);
        got += n;
    }
    Ok(got)
}

/// Where an entry's content lies after its header: one run of stored bytes, or (GNU
/// sparse files) runs of zeros (holes) and stored bytes.
#[derive(Debug, Default)]
pub struct Body {
    /// (zeros before, stored bytes), in order; empty for a plain entry.
    pub sparse: Vec<(u64, u64)>,
    /// Stored bytes of the entry (all runs together).
    pub stored: u64,
}

/// One entry as the tar format describes it, before its content.
pub struct Item<'a> {
    pub header: &'a tar::Header,
    /// The entry's path bytes (GNU long name, else PAX `path`, else the header's).
    pub name: &'a [u8],
    pub link: Option<&'a [u8]>,
    /// Content size (PAX `size` applied; for sparse files the size with holes).
    pub size: u64,
    /// The PAX records describing this entry, if any.
    pub pax: Option<&'a [u8]>,
    /// Stream offset of the content's first byte.
    pub file_pos: u64,
}

/// Why the reader stopped.
#[derive(Debug)]
pub enum TarError {
    /// The stream ended inside a header or between extension headers and their entry.
    Truncated,
    /// A header that is not a tar header, or extension records that make no sense.
    Corrupt,
    /// Extension headers of one entry over the limit.
    HeadersOverLimit,
    Io(io::Error),
}

impl From<io::Error> for TarError {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::UnexpectedEof => TarError::Truncated,
            _ => TarError::Io(e),
        }
    }
}

/// The PAX value of `key` as the `tar` crate reads it: the first record with the key,
/// parsed as a decimal `u64`; `None` when absent, unparsable, or after a bad record.
fn pax_u64(records: &[u8], key: &str) -> Option<u64> {
    for ext in tar::PaxExtensions::new(records) {
        let ext = ext.ok()?;
        if ext.key() != Ok(key) {
            continue;
        }
        return ext.value().ok()?.parse::<u64>().ok();
    }
    None
}

fn pax_bytes<'p>(records: &'p [u8], key: &[u8]) -> Option<&'p [u8]> {
    tar::PaxExtensions::new(records)
        .filter_map(|f| f.ok())
        .find(|f| f.key_bytes() == key)
        .map(|f| f.value_bytes())
}

/// An octal field the common way (`[ ]*[0-7]+[ ]*`, up to the first NUL); `None` for
/// anything else, which the `tar` crate's own decoder then reads (or rejects).
pub fn octal(field: &[u8]) -> Option<u64> {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    let f = &field[..end];
    let start = f.iter().position(|&b| b != b' ')?;
    let stop = f.iter().rposition(|&b| b != b' ')? + 1;
    let digits = &f[start..stop];
    if digits.len() > 21 {
        return None;
    }
    let mut v = 0u64;
    for &d in digits {
        if !(b'0'..=b'7').contains(&d) {
            return None;
        }
        v = (v << 3) | (d - b'0') as u64;
    }
    Some(v)
}

/// A numeric field (octal, or base-256 when its high bit is set) the way the `tar`
/// crate reads it; `None` when [`octal`] cannot say.
pub fn numeric(field: &[u8]) -> Option<u64> {
    if field[0] & 0x80 != 0 {
        return None;
    }
    octal(field)
}

/// The sum of a block's bytes, 8 at a time (16-bit lanes: 64 words of at most
/// 2 × 255 each fit).
fn byte_sum(block: &[u8; 512]) -> u32 {
    const LOW: u64 = 0x00FF_00FF_00FF_00FF;
    let mut lanes = 0u64;
    for w in block.chunks_exact(8) {
        let x = u64::from_le_bytes(w.try_into().unwrap());
        lanes += (x & LOW) + ((x >> 8) & LOW);
    }
    ((lanes & 0xFFFF) + ((lanes >> 16) & 0xFFFF) + ((lanes >> 32) & 0xFFFF) + (lanes >> 48))
        as u32
}

/// A header's checksum: the sum of its bytes with the checksum field taken as spaces.
fn header_sum(block: &[u8; 512]) -> u32 {
    let field: u32 = block[148..156].iter().map(|&b| b as u32).sum();
    byte_sum(block) - field + 8 * 32
}

fn strip_nul(b: &[u8]) -> &[u8] {
    match b.last() {
        Some(0) => &b[..b.len() - 1],
        _ => b,
    }
}

/// The tar reader: the stream, its offset, and the state of one entry group.
pub struct TarReader<'i, I: ?Sized> {
    input: &'i mut I,
    /// Stream offset of the next unread byte.
    pub pos: u64,
    /// Offset of the next header.
    next: u64,
    header: tar::Header,
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax: Option<Vec<u8>>,
    body: Body,
    /// Header bytes one entry may take (its header blocks, long names, PAX records and
    /// sparse maps).
    budget: u64,
    done: bool,
    /// Bytes of the input's buffer already read in place (a header), to consume
    /// before the input is used again.
    pending: usize,
    /// Content size of the header peeked by [`TarReader::peek_plain`].
    peeked_size: u64,
}

impl<'i, I: TarInput + ?Sized> TarReader<'i, I> {
    pub fn new(input: &'i mut I, budget: u64) -> Self {
        TarReader {
            input,
            pos: 0,
            next: 0,
            header: tar::Header::new_old(),
            long_name: None,
            long_link: None,
            pax: None,
            body: Body::default(),
            budget,
            done: false,
            pending: 0,
            peeked_size: 0,
        }
    }

    pub fn input(&mut self) -> &mut I {
        self.settle();
        self.input
    }

    /// Consume what was read in place.
    fn settle(&mut self) {
        if self.pending > 0 {
            self.input.consume(self.pending);
            self.pending = 0;
        }
    }

    fn skip_to(&mut self, to: u64) -> Result<(), TarError> {
        self.settle();
        if to > self.pos {
            let want = to - self.pos;
            let got = self.input.skip(want)?;
            self.pos += got;
            if got < want {
                return Err(TarError::Truncated);
            }
        }
        Ok(())
    }

    /// Read one 512-byte block into the header; false at the end of the stream.
    fn read_block(&mut self) -> Result<bool, TarError> {
        self.settle();
        let n = read_full(self.input, self.header.as_mut_bytes())?;
        self.pos += n as u64;
        match n {
            0 => Ok(false),
            512 => Ok(true),
            _ => Err(TarError::Truncated),
        }
    }

    /// Read `size` bytes of an extension entry, then position at the next header.
    fn read_extension(&mut self, size: u64, used: &mut u64) -> Result<Vec<u8>, TarError> {
        self.settle();
        *used += size;
        if *used > self.budget {
            return Err(TarError::HeadersOverLimit);
        }
        let mut v = vec![0u8; size as usize];
        let n = read_full(self.input, &mut v)?;
        self.pos += n as u64;
        if n < v.len() {
            return Err(TarError::Truncated);
        }
        Ok(v)
    }

    /// The next entry, or `None` after the last one. The caller reads (or skips) its
    /// content with [`TarReader::content`] / [`TarReader::skip_content`] or not at all.
    pub fn next_item(&mut self) -> Result<Option<Item<'_>>, TarError> {
        if self.done {
            return Ok(None);
        }
        self.long_name = None;
        self.long_link = None;
        self.pax = None;
        self.body.sparse.clear();
        self.skip_to(self.next)?;
        if self.peek_plain()? {
            return Ok(Some(self.plain_item()));
        }
        let mut used = 0u64;
        let mut processed = 0;
        let (size, file_pos) = loop {
            processed += 1;
            self.skip_to(self.next)?;
            if !self.read_block()? || self.header.as_bytes().iter().all(|&b| b == 0) {
                self.done = true;
                if processed > 1 {
                    // Extension headers describing an entry that never comes.
                    return Err(TarError::Corrupt);
                }
                return Ok(None);
            }
            used += BLOCK;
            if used > self.budget {
                return Err(TarError::HeadersOverLimit);
            }
            self.next += BLOCK;
            let sum = header_sum(self.header.as_bytes());
            if self.header.cksum().map_err(|_| TarError::Corrupt)? != sum {
                return Err(TarError::Corrupt);
            }
            let etype = self.header.entry_type();
            let is_extension = etype.is_gnu_longname()
                || etype.is_gnu_longlink()
                || etype.is_pax_local_extensions()
                || etype.is_pax_global_extensions();
            let mut pax_size = None;
            if let Some(pax) = self.pax.as_deref().filter(|_| !is_extension) {
                pax_size = pax_u64(pax, "size");
                if let Some(uid) = pax_u64(pax, "uid") {
                    self.header.set_uid(uid);
                }
                if let Some(gid) = pax_u64(pax, "gid") {
                    self.header.set_gid(gid);
                }
            }
            let file_pos = self.pos;
            let size = pax_size.unwrap_or(self.header.entry_size().map_err(|_| TarError::Corrupt)?);
            self.next = size
                .checked_add(BLOCK - 1)
                .and_then(|s| self.next.checked_add(s & !(BLOCK - 1)))
                .ok_or(TarError::Corrupt)?;
            let recognized = self.header.as_gnu().is_some() || self.header.as_ustar().is_some();
            if recognized && (etype.is_gnu_longname() || etype.is_gnu_longlink()) {
                let slot_taken = if etype.is_gnu_longname() {
                    self.long_name.is_some()
                } else {
                    self.long_link.is_some()
                };
                if slot_taken {
                    return Err(TarError::Corrupt);
                }
                let v = self.read_extension(size, &mut used)?;
                if etype.is_gnu_longname() {
                    self.long_name = Some(v);
                } else {
                    self.long_link = Some(v);
                }
                continue;
            }
            if recognized && etype.is_pax_local_extensions() {
                if self.pax.is_some() {
                    return Err(TarError::Corrupt);
                }
                self.pax = Some(self.read_extension(size, &mut used)?);
                continue;
            }
            break (size, file_pos);
        };
        let mut size = size;
        self.body.stored = size;
        if self.header.entry_type().is_gnu_sparse() {
            size = self.sparse_map(size, &mut used)?;
        }
        let pax_path = self
            .pax
            .as_deref()
            .and_then(|p| pax_bytes(p, b"path"))
            .is_some();
        if self.long_name.is_none() && !pax_path {
            // A UStar prefix joined to the name: kept in the long-name slot (it holds
            // no NUL, so reads back the same).
            if let std::borrow::Cow::Owned(v) = self.header.path_bytes() {
                self.long_name = Some(v);
            }
        }
        let h = &self.header;
        let name: &[u8] = match &self.long_name {
            Some(n) => strip_nul(n),
            None => match self.pax.as_deref().and_then(|p| pax_bytes(p, b"path")) {
                Some(p) => p,
                None => {
                    let n = &h.as_old().name;
                    &n[..n.iter().position(|&b| b == 0).unwrap_or(n.len())]
                }
            },
        };
        let link = match &self.long_link {
            Some(l) => Some(strip_nul(l)),
            None => self
                .pax
                .as_deref()
                .and_then(|p| pax_bytes(p, b"linkpath"))
                .or_else(|| {
                    let l = &h.as_old().linkname;
                    (l[0] != 0).then(|| &l[..l.iter().position(|&b| b == 0).unwrap_or(l.len())])
                }),
        };
        Ok(Some(Item {
            header: h,
            name,
            link,
            size,
            pax: self.pax.as_deref(),
            file_pos,
        }))
    }

    /// Whether the next header, whole in the input's buffer, is a plain entry (no
    /// extension header before it, not one itself, not sparse) with a valid checksum
    /// and size: such an entry is read in place by [`TarReader::plain_item`]. Anything
    /// else (and every error) is left to the general path.
    fn peek_plain(&mut self) -> Result<bool, TarError> {
        let buf = self.input.fill_buf()?;
        if buf.len() < BLOCK as usize {
            return Ok(false);
        }
        let h = tar::Header::from_byte_slice(&buf[..BLOCK as usize]);
        let bytes = h.as_bytes();
        // An all-zero block (the end) sums to 0 with its checksum field.
        if byte_sum(bytes) == 0 {
            return Ok(false);
        }
        let sum = header_sum(bytes);
        if octal(&h.as_old().cksum) != Some(sum as u64) {
            return Ok(false);
        }
        let t = h.entry_type();
        if t.is_gnu_longname()
            || t.is_gnu_longlink()
            || t.is_pax_local_extensions()
            || t.is_pax_global_extensions()
            || t.is_gnu_sparse()
        {
            return Ok(false);
        }
        let Some(size) = numeric(&h.as_old().size) else {
            return Ok(false);
        };
        if size.checked_add(BLOCK - 1).is_none_or(|s| {
            self.next
                .checked_add(BLOCK)
                .and_then(|n| n.checked_add(s & !(BLOCK - 1)))
                .is_none()
        }) {
            return Ok(false);
        }
        self.peeked_size = size;
        Ok(true)
    }

    /// The entry [`TarReader::peek_plain`] found, read in place.
    fn plain_item(&mut self) -> Item<'_> {
        let size = self.peeked_size;
        self.pos += BLOCK;
        self.next = self.pos + ((size + BLOCK - 1) & !(BLOCK - 1));
        self.pending = BLOCK as usize;
        self.body.stored = size;
        let file_pos = self.pos;
        let buf = self.input.fill_buf().expect("peeked bytes are buffered");
        let h = tar::Header::from_byte_slice(&buf[..BLOCK as usize]);
        // As `tar::Header::path_bytes` reads it: a UStar header's prefix joined to the
        // name, else the name alone.
        let b = h.as_bytes();
        let n = &h.as_old().name;
        let n = &n[..n.iter().position(|&b| b == 0).unwrap_or(n.len())];
        let name: &[u8] = if &b[257..263] == b"ustar\0" && &b[263..265] == b"00" && b[345] != 0 {
            let prefix = &b[345..500];
            let prefix = &prefix[..prefix.iter().position(|&b| b == 0).unwrap_or(prefix.len())];
            let mut v = Vec::with_capacity(prefix.len() + 1 + n.len());
            v.extend_from_slice(prefix);
            v.push(b'/');
            v.extend_from_slice(n);
            self.long_name = Some(v);
            self.long_name.as_deref().unwrap()
        } else {
            n
        };
        let l = &h.as_old().linkname;
        let link = (l[0] != 0).then(|| &l[..l.iter().position(|&b| b == 0).unwrap_or(l.len())]);
        Item {
            header: h,
            name,
            link,
            size,
            pax: None,
            file_pos,
        }
    }

    /// Read a GNU sparse map (in the header and its extension blocks); returns the size
    /// of the file with its holes.
    fn sparse_map(&mut self, stored: u64, used: &mut u64) -> Result<u64, TarError> {
        let mut cur = 0u64;
        let mut remaining = stored;
        let mut runs: Vec<(u64, u64)> = Vec::new();
        let mut add = |block: &tar::GnuSparseHeader, remaining: &mut u64| -> Result<(), TarError> {
            if block.is_empty() {
                return Ok(());
            }
            let off = block.offset().map_err(|_| TarError::Corrupt)?;
            let len = block.length().map_err(|_| TarError::Corrupt)?;
            if (len != 0 && !(stored - *remaining).is_multiple_of(BLOCK)) || off < cur {
                return Err(TarError::Corrupt);
            }
            let zeros = off - cur;
            cur = off.checked_add(len).ok_or(TarError::Corrupt)?;
            *remaining = remaining.checked_sub(len).ok_or(TarError::Corrupt)?;
            runs.push((zeros, len));
            Ok(())
        };
        let gnu = self.header.as_gnu().ok_or(TarError::Corrupt)?;
        let real = gnu.real_size().map_err(|_| TarError::Corrupt)?;
        for block in gnu.sparse.iter() {
            add(block, &mut remaining)?;
        }
        if gnu.is_extended() {
            let mut ext = tar::GnuExtSparseHeader::new();
            loop {
                *used += BLOCK;
                if *used > self.budget {
                    return Err(TarError::HeadersOverLimit);
                }
                let n = read_full(self.input, ext.as_mut_bytes())?;
                self.pos += n as u64;
                if n < BLOCK as usize {
                    return Err(TarError::Truncated);
                }
                self.next += BLOCK;
                for block in ext.sparse.iter() {
                    add(block, &mut remaining)?;
                }
                if !ext.is_extended() {
                    break;
                }
            }
        }
        if cur != real || remaining > 0 {
            return Err(TarError::Corrupt);
        }
        self.body.sparse = runs;
        Ok(cur)
    }

    /// The PAX records of an entry that is itself a PAX header no group claimed (a
    /// global header, or a local one in a header that is not UStar/GNU): its content,
    /// read as header bytes.
    pub fn own_pax(&mut self, size: u64) -> Result<Vec<u8>, TarError> {
        self.settle();
        let mut used = 0;
        let v = self.read_extension(size, &mut used)?;
        self.body.stored = 0;
        self.body.sparse.clear();
        Ok(v)
    }

    /// Feed the current entry's content to `f` in pieces (holes as zeros), then move to
    /// the next header. Returns the bytes fed.
    pub fn content(&mut self, mut f: impl FnMut(&[u8])) -> Result<u64, TarError> {
        static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];
        self.settle();
        let runs: Vec<(u64, u64)> = if self.body.sparse.is_empty() {
            vec![(0, self.body.stored)]
        } else {
            std::mem::take(&mut self.body.sparse)
        };
        let mut fed = 0u64;
        for (mut zeros, mut len) in runs {
            while zeros > 0 {
                let n = zeros.min(ZEROS.len() as u64) as usize;
                f(&ZEROS[..n]);
                zeros -= n as u64;
                fed += n as u64;
            }
            while len > 0 {
                let b = self.input.fill_buf()?;
                if b.is_empty() {
                    return Ok(fed);
                }
                let n = (b.len() as u64).min(len) as usize;
                f(&b[..n]);
                self.input.consume(n);
                self.pos += n as u64;
                len -= n as u64;
                fed += n as u64;
            }
        }
        self.body.stored = 0;
        Ok(fed)
    }

    /// The current entry's content when it is buffered whole (no copy), else `None`.
    pub fn content_in_buffer(&mut self) -> Result<Option<&[u8]>, TarError> {
        if !self.body.sparse.is_empty() {
            return Ok(None);
        }
        self.settle();
        let want = self.body.stored as usize;
        let b = self.input.fill_buf()?;
        if (b.len() as u64) < self.body.stored {
            return Ok(None);
        }
        Ok(Some(&b[..want]))
    }

    /// After [`TarReader::content_in_buffer`] gave the content: consume it.
    pub fn consume_content(&mut self) {
        let n = self.body.stored as usize;
        self.input.consume(n);
        self.pos += n as u64;
        self.body.stored = 0;
    }

    /// The stored bytes of the current entry that were not read (skip them; fewer are
    /// there only when the stream is truncated).
    pub fn skip_content(&mut self) -> Result<u64, TarError> {
        self.settle();
        let want = self.body.stored;
        let got = self.input.skip(want)?;
        self.pos += got;
        self.body.stored = 0;
        self.body.sparse.clear();
        Ok(got)
    }

    /// Stored bytes of the current entry not yet read.
    pub fn stored_left(&self) -> u64 {
        self.body.stored
    }

    /// Read what is left of the stream (padding after the end marker); returns the
    /// stream's total length.
    pub fn finish(mut self) -> io::Result<u64> {
        self.settle();
        loop {
            let n = self.input.fill_buf()?.len();
            if n == 0 {
                return Ok(self.pos);
            }
            self.input.consume(n);
            self.pos += n as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::layer::assert_same_as_reference;
    use crate::fixture::{FEntry, layer_tar};
    use super::{byte_sum, header_sum};

    #[test]
    fn block_sums_are_the_byte_sums() {
        let mut next = crate::fixture::xorshift(7);
        for round in 0..200 {
            let mut block = [0u8; 512];
            for b in block.iter_mut() {
                *b = match round % 3 {
                    0 => 0xFF,
                    _ => next(256) as u8,
                };
            }
            let plain: u32 = block.iter().map(|&b| b as u32).sum();
            assert_eq!(byte_sum(&block), plain);
            let field: u32 = block[148..156].iter().map(|&b| b as u32).sum();
            assert_eq!(header_sum(&block), plain - field + 256);
        }
        assert_eq!(byte_sum(&[0; 512]), 0);
    }

    fn header(kind: u8, name: &[u8], size: u64, gnu: bool) -> tar::Header {
        let mut h = if gnu {
            tar::Header::new_gnu()
        } else {
            tar::Header::new_ustar()
        };
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_entry_type(tar::EntryType::new(kind));
        h.set_size(size);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        h
    }

    fn push(out: &mut Vec<u8>, h: &tar::Header, data: &[u8]) {
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        out.resize(out.len().next_multiple_of(512), 0);
    }

    fn pax(records: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (k, v) in records {
            let body = k.len() + v.len() + 3;
            let mut len = body + 1;
            while len.to_string().len() + body != len {
                len = len.to_string().len() + body;
            }
            out.extend_from_slice(format!("{len} {k}=").as_bytes());
            out.extend_from_slice(v);
            out.push(b'\n');
        }
        out
    }

    /// Every kind of header the two readers must agree on, one after the other.
    fn mixed() -> Vec<u8> {
        let mut t = layer_tar(&[
            FEntry::dir("usr"),
            FEntry::file("usr/a", "hello"),
            FEntry::symlink("usr/l", "a"),
            FEntry::hardlink("usr/h", "usr/a"),
            FEntry::whiteout("etc/gone"),
            FEntry::opaque("var"),
        ]);
        t.truncate(t.len() - 1024); // drop the end marker
        // GNU long name and long link.
        let long = "d/".repeat(80) + "file";
        push(
            &mut t,
            &header(b'L', b"././@LongLink", long.len() as u64 + 1, true),
            &[long.as_bytes(), b"\0"].concat(),
        );
        push(&mut t, &header(b'0', b"short", 3, true), b"abc");
        push(
            &mut t,
            &header(b'K', b"././@LongLink", 200, true),
            &[b'x'; 200],
        );
        let mut l = header(b'2', b"link", 0, true);
        l.set_cksum();
        push(&mut t, &l, b"");
        // PAX path, size, uid, gid (one bad), linkpath.
        let recs = pax(&[
            ("path", b"p/pax-name"),
            ("size", b"4"),
            ("uid", b"70000"),
            ("gid", b"x"),
        ]);
        push(
            &mut t,
            &header(b'x', b"PaxHeaders/x", recs.len() as u64, false),
            &recs,
        );
        push(&mut t, &header(b'0', b"ignored", 99, false), b"data");
        let recs = pax(&[("linkpath", b"/far/away")]);
        push(
            &mut t,
            &header(b'x', b"PaxHeaders/y", recs.len() as u64, false),
            &recs,
        );
        push(&mut t, &header(b'2', b"p/sym", 0, false), b"");
        // A global header, a v7 entry of type 'x' (its own records), a device, a fifo.
        let recs = pax(&[("comment", b"hi")]);
        push(
            &mut t,
            &header(b'g', b"global", recs.len() as u64, false),
            &recs,
        );
        let mut v7 = tar::Header::new_old();
        v7.as_old_mut().name[..2].copy_from_slice(b"v7");
        v7.set_entry_type(tar::EntryType::new(b'x'));
        let recs = pax(&[("uid", b"12")]);
        v7.set_size(recs.len() as u64);
        v7.set_cksum();
        push(&mut t, &v7, &recs);
        let mut dev = header(b'3', b"dev/null", 0, false);
        dev.set_device_major(1).unwrap();
        dev.set_device_minor(3).unwrap();
        dev.set_cksum();
        push(&mut t, &dev, b"");
        push(&mut t, &header(b'6', b"fifo", 0, false), b"");
        // A UStar prefix.
        let mut pre = header(b'0', b"tail", 2, false);
        pre.as_ustar_mut().unwrap().prefix[..6].copy_from_slice(b"pre/fx");
        pre.set_cksum();
        push(&mut t, &pre, b"ok");
        // A GNU sparse file: 2 runs of 512 stored bytes in a 4096-byte file.
        let mut sp = header(b'S', b"sparse", 1024, true);
        {
            let g = sp.as_gnu_mut().unwrap();
            for (i, (off, len)) in [(0u64, 512u64), (2048, 512)].iter().enumerate() {
                g.sparse[i].offset = *format!("{off:011o}\0").as_bytes().first_chunk().unwrap();
                g.sparse[i].numbytes = *format!("{len:011o}\0").as_bytes().first_chunk().unwrap();
            }
            g.realsize = *format!("{:011o}\0", 2560).as_bytes().first_chunk().unwrap();
        }
        sp.set_cksum();
        push(&mut t, &sp, &[7u8; 1024]);
        // Odd numeric fields: spaces, base-256, garbage.
        let mut odd = header(b'0', b"odd", 1, false);
        odd.as_old_mut().mode = *b" 0755  \0";
        odd.as_old_mut().uid = [0x80, 0, 0, 0, 0, 0, 0x10, 0];
        odd.as_old_mut().mtime = *b"zzzzzzzzzzz\0";
        odd.set_cksum();
        push(&mut t, &odd, b"1");
        t.extend_from_slice(&[0; 1024]);
        t
    }

    #[test]
    fn the_fast_reader_reads_every_header_kind_as_the_tar_crate() {
        let t = mixed();
        let c = super::super::layer::parse_layer(&t[..]).unwrap();
        let names: Vec<String> = c.entries.iter().map(|e| c.path_lossy(e)).collect();
        for want in [
            "/usr/a",
            "/p/pax-name",
            "/p/sym",
            "/pre/fx/tail",
            "/sparse",
            "/odd",
            "/dev/null",
        ] {
            assert!(
                names.contains(&want.to_string()),
                "{want} missing from {names:?}"
            );
        }
        assert!(names.iter().any(|n| n.ends_with("/d/file")), "{names:?}");
        assert_same_as_reference(&t);
    }

    #[test]
    fn the_fast_reader_fails_where_the_tar_crate_fails() {
        let t = mixed();
        // Every truncation, and a byte flipped in every header field.
        for cut in 0..t.len() {
            assert_same_as_reference(&t[..cut]);
        }
        for at in 0..t.len() {
            for flip in [0x5a, 0x80] {
                let mut bad = t.clone();
                bad[at] ^= flip;
                assert_same_as_reference(&bad);
            }
        }
    }
}
