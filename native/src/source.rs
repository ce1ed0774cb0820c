//! The op lines of a history file, read in one pass with bounded memory.
//!
//! * a chunk file (`history.kfh`, `kfchaos/history_chunks.py`): the magic, then frames
//!   `<4s B I I I I>` (tag `KFHC`, codec 0 raw / 1 zlib / 2 zstd, ops, raw size,
//!   compressed size, CRC-32 of the compressed bytes) and the compressed lines joined by
//!   `\n`; a header or body cut short at the end of the file ends the history;
//! * a rotated history (`history.chunks/`): its chunk files, in the order Python lists them;
//! * a JSON Lines file: one op a non-empty line.
//!
//! The blocks of lines are read (and decompressed, checked) by one thread and digested by
//! another (`lib.rs`), so decompressing overlaps parsing.
//!
//! Anything the Python reader would treat specially -- a damaged frame, a blank or
//! whitespace-only line, a carriage return, bytes that are not UTF-8 -- is a
//! [`Fallback`]: the Python path then reads the file and accepts it or names the problem.
use std::fs::File;
use std::io::{BufReader, Read};

pub type Fallback = String;

/// Whole op lines, checked UTF-8 without surrogate escapes (`skip_empty`: a JSON Lines
/// block, whose empty lines are not ops; in a frame every line is one).
pub struct Block {
    pub text: Vec<u8>,
    pub skip_empty: bool,
}

impl Block {
    /// The lines split at each `\n` (a line ends before the next, the last at the end).
    pub fn lines(&self) -> Vec<&str> {
        // checked by the reader (checked_text); a `\n` is a char boundary
        let s = unsafe { std::str::from_utf8_unchecked(&self.text) };
        let mut out = Vec::with_capacity(self.text.len() / 64 + 1);
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', &self.text).chain(std::iter::once(self.text.len())) {
            if !(self.skip_empty && end == start) {
                out.push(unsafe { s.get_unchecked(start..end) });
            }
            start = end + 1;
        }
        out
    }
}

pub const MAGIC: &[u8; 16] = b"KFCHAOS-HIST-1\n\x00";
const HEAD: usize = 21;
const MAX_FRAME: u32 = 1 << 31;
const BLOCK: usize = 8 << 20;

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let k = r.read(&mut buf[n..])?;
        if k == 0 {
            break;
        }
        n += k;
    }
    Ok(n)
}

fn io(e: std::io::Error) -> Fallback {
    format!("read error: {e}")
}

pub fn is_chunk_file(path: &str) -> bool {
    let mut head = [0u8; 16];
    match File::open(path) {
        Ok(mut f) => read_full(&mut f, &mut head).map(|n| n == 16 && &head == MAGIC).unwrap_or(false),
        Err(_) => false,
    }
}

/// `text` as UTF-8 without `\\ud` escapes (lone surrogates, which Python rejects),
/// checked once for a whole block of lines.
fn checked_text(text: &[u8]) -> Result<&str, Fallback> {
    let s = std::str::from_utf8(text).map_err(|_| Fallback::from("bytes that are not UTF-8"))?;
    // one pass for backslashes (the writer's lines have none), then a look after each
    let surrogate = memchr::memchr_iter(b'\\', text).any(|i| matches!(text.get(i + 1..i + 3), Some(b"ud" | b"uD")));
    if surrogate {
        return Err("a \\u surrogate escape".into());
    }
    Ok(s)
}

/// A buffer for the next block's text: one the digest is done with, or a new one.
pub type Spare<'s> = &'s mut dyn FnMut() -> Vec<u8>;

/// Every op line of the chunk file at `path`, in order (each block's text in a `spare`).
pub fn chunk_file_lines(path: &str, on_block: &mut dyn FnMut(Block) -> bool, spare: Spare) -> Result<(), Fallback> {
    let mut r = BufReader::with_capacity(1 << 20, File::open(path).map_err(io)?);
    let mut magic = [0u8; 16];
    if read_full(&mut r, &mut magic).map_err(io)? != 16 || &magic != MAGIC {
        return Err("not a chunk file".into());
    }
    let mut body = Vec::new();
    let mut zstd = None; // one context for every frame
    loop {
        let mut head = [0u8; HEAD];
        if read_full(&mut r, &mut head).map_err(io)? < HEAD {
            return Ok(());
        }
        let word = |i: usize| u32::from_le_bytes(head[i..i + 4].try_into().unwrap());
        let (codec, n_ops, raw_len, comp_len, crc) = (head[4], word(5), word(9), word(13), word(17));
        if &head[..4] != b"KFHC" || raw_len > MAX_FRAME || comp_len > MAX_FRAME {
            return Err("damaged frame header".into());
        }
        body.resize(comp_len as usize, 0);
        if read_full(&mut r, &mut body).map_err(io)? < comp_len as usize {
            return Ok(());
        }
        if crc32fast::hash(&body) != crc {
            return Err("frame checksum mismatch".into());
        }
        // the frame's text, moved (not copied) to the digesting thread
        let text: Vec<u8> = match codec {
            0 => std::mem::replace(&mut body, spare()),
            1 => {
                let mut raw = spare();
                raw.clear();
                flate2::read::ZlibDecoder::new(&body[..]).read_to_end(&mut raw).map_err(|e| format!("zlib: {e}"))?;
                raw
            }
            2 => {
                let mut raw = spare();
                raw.clear();
                raw.reserve(raw_len as usize);
                if zstd.is_none() {
                    zstd = Some(zstd::bulk::Decompressor::new().map_err(|e| format!("zstd: {e}"))?);
                }
                zstd.as_mut().unwrap().decompress_to_buffer(&body, &mut raw).map_err(|e| format!("zstd: {e}"))?;
                raw
            }
            c => return Err(format!("unknown frame codec {c}")),
        };
        if text.len() != raw_len as usize {
            return Err("frame size mismatch".into());
        }
        let lines = if text.is_empty() { 0 } else { memchr::memchr_iter(b'\n', &text).count() + 1 };
        if lines != n_ops as usize {
            return Err("frame op count mismatch".into());
        }
        if n_ops == 0 {
            continue;
        }
        checked_text(&text)?;
        if !on_block(Block { text, skip_empty: false }) {
            return Ok(());
        }
    }
}

/// Every op line of the JSON Lines file at `path`, in order (each block's text in a `spare`).
pub fn jsonl_lines(path: &str, on_block: &mut dyn FnMut(Block) -> bool, spare: Spare) -> Result<(), Fallback> {
    let mut f = File::open(path).map_err(io)?;
    let mut buf: Vec<u8> = Vec::with_capacity(BLOCK);
    let mut start = 0usize;
    loop {
        // keep the unfinished tail, read the next block after it
        buf.drain(..start);
        let old = buf.len();
        buf.resize(old + BLOCK, 0);
        let n = read_full(&mut f, &mut buf[old..]).map_err(io)?;
        buf.truncate(old + n);
        let eof = n == 0;
        if memchr::memchr(b'\r', &buf[old..]).is_some() {
            return Err("carriage return in a JSONL file".into());
        }
        // whole lines only (the last line of the file, without a newline, at the end)
        let end = if eof { buf.len() } else { memchr::memrchr(b'\n', &buf).map_or(0, |k| k + 1) };
        checked_text(&buf[..end])?;
        let mut text = spare();
        text.clear();
        text.extend_from_slice(&buf[..end]);
        if !on_block(Block { text, skip_empty: true }) {
            return Ok(());
        }
        start = end;
        if eof {
            return Ok(());
        }
    }
}
