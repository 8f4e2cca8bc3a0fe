//! A message's bytes as they go to the server. Everything is in memory except file
//! attachments: those are read and base64-encoded block by block while the message is being
//! written, so sending a 25 MB file costs a few hundred KB, not the file three times over.

use std::io::Read;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::error::{Error, Result};

/// Input bytes per 76-character base64 line (RFC 2045).
const LINE_INPUT: usize = 57;

/// Bytes read from a file at a time while sending: ~114 KB in, ~156 KB out.
const FILE_BLOCK: usize = LINE_INPUT * 2048;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Bytes(Vec<u8>),
    /// A file, base64-encoded in 76-character lines joined by CRLF (no CRLF after the last
    /// line, as lettre writes a base64 body). `size` is the file's size when the message was
    /// built; the bytes are read when it is sent.
    Base64File {
        path: PathBuf,
        size: u64,
    },
}

/// The message content: pieces in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Payload {
    pieces: Vec<Piece>,
}

impl From<Vec<u8>> for Payload {
    fn from(bytes: Vec<u8>) -> Self {
        Payload {
            pieces: vec![Piece::Bytes(bytes)],
        }
    }
}

impl Payload {
    pub fn from_pieces(pieces: Vec<Piece>) -> Self {
        Payload {
            pieces: pieces
                .into_iter()
                .filter(|p| !matches!(p, Piece::Bytes(b) if b.is_empty()))
                .collect(),
        }
    }

    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// The size in bytes as sent (before dot-stuffing).
    pub fn len(&self) -> u64 {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Bytes(b) => b.len() as u64,
                Piece::Base64File { size, .. } => base64_len(*size),
            })
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Base64 is ASCII, so only the in-memory pieces decide.
    pub fn is_ascii(&self) -> bool {
        self.pieces.iter().all(|p| match p {
            Piece::Bytes(b) => b.is_ascii(),
            Piece::Base64File { .. } => true,
        })
    }

    /// True when some of the content is read from files while sending.
    pub fn is_streamed(&self) -> bool {
        self.pieces.iter().any(|p| matches!(p, Piece::Base64File { .. }))
    }

    /// Fails when a file can no longer be opened (checked again just before sending, so that a
    /// file removed since the message was built refuses that message and nothing else).
    pub fn check_files(&self) -> Result<()> {
        for p in &self.pieces {
            if let Piece::Base64File { path, .. } = p {
                std::fs::File::open(path).map_err(|e| read_error(path, e))?;
            }
        }
        Ok(())
    }

    /// The bytes, when they are all in memory.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self.pieces.as_slice() {
            [] => Some(&[]),
            [Piece::Bytes(b)] => Some(b),
            _ => None,
        }
    }

    /// The whole message in memory, reading and encoding the files.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        if let Some(b) = self.as_bytes() {
            return Ok(b.to_vec());
        }
        let mut out = Vec::with_capacity(self.len() as usize);
        let mut chunks = self.chunks();
        while let Some(chunk) = chunks.next_chunk() {
            out.extend_from_slice(chunk?);
        }
        Ok(out)
    }

    /// The content in order, files read and encoded a block at a time.
    pub fn chunks(&self) -> Chunks<'_> {
        Chunks {
            pieces: self.pieces.iter(),
            file: None,
            lines: Base64Lines::default(),
            block: Vec::new(),
            encoded: Vec::new(),
        }
    }

    /// The same content with `bytes` in front (a DKIM-Signature header).
    pub fn prepend(mut self, bytes: Vec<u8>) -> Payload {
        self.pieces.insert(0, Piece::Bytes(bytes));
        self
    }

    pub fn into_bytes(mut self) -> Result<Vec<u8>> {
        if let [Piece::Bytes(_)] = self.pieces.as_slice() {
            if let Some(Piece::Bytes(b)) = self.pieces.pop() {
                return Ok(b);
            }
        }
        self.to_bytes()
    }

    /// For transcripts: the in-memory text, and one line in place of each file's encoding.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Bytes(b) => out.push_str(&String::from_utf8_lossy(b)),
                Piece::Base64File { path, size } => {
                    out.push_str(&format!("[base64 of {}, {size} bytes]", path.display()))
                }
            }
        }
        out
    }
}

/// Reads a payload for sending, signing or `to_bytes`: in-memory pieces whole, each file opened
/// in turn and read a block at a time (local reads, short and usually from the page cache),
/// base64-encoded. The one place files are read and encoded.
pub struct Chunks<'a> {
    pieces: std::slice::Iter<'a, Piece>,
    file: Option<(std::fs::File, &'a Path)>,
    lines: Base64Lines,
    block: Vec<u8>,
    encoded: Vec<u8>,
}

impl Chunks<'_> {
    /// The next chunk (an in-memory piece, or ~156 KB of a file's encoding); `None` at the end.
    pub fn next_chunk(&mut self) -> Option<Result<&[u8]>> {
        loop {
            if let Some((mut file, path)) = self.file.take() {
                self.block.resize(FILE_BLOCK, 0);
                let n = match fill(&mut file, &mut self.block) {
                    Ok(n) => n,
                    Err(e) => return Some(Err(read_error(path, e))),
                };
                if n == FILE_BLOCK {
                    self.file = Some((file, path));
                }
                self.encoded.clear();
                self.lines.encode(&self.block[..n], &mut self.encoded);
                return Some(Ok(&self.encoded));
            }
            match self.pieces.next()? {
                Piece::Bytes(b) => return Some(Ok(b)),
                Piece::Base64File { path, .. } => match std::fs::File::open(path) {
                    Ok(file) => {
                        self.file = Some((file, path));
                        self.lines = Base64Lines::default();
                    }
                    Err(e) => return Some(Err(read_error(path, e))),
                },
            }
        }
    }
}

/// The length of a base64 body of `size` bytes in 76-character lines joined by CRLF.
pub fn base64_len(size: u64) -> u64 {
    let lines = size.div_ceil(LINE_INPUT as u64);
    size.div_ceil(3) * 4 + 2 * lines.saturating_sub(1)
}

/// Encodes a file block by block: every block but the last must be a multiple of 57 bytes.
#[derive(Default)]
struct Base64Lines {
    started: bool,
}

impl Base64Lines {
    fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let mut line = [0u8; 76];
        for chunk in input.chunks(LINE_INPUT) {
            if self.started {
                out.extend_from_slice(b"\r\n");
            }
            self.started = true;
            let n = STANDARD
                .encode_slice(chunk, &mut line)
                .expect("76 bytes hold 57 encoded");
            out.extend_from_slice(&line[..n]);
        }
    }
}

/// Reads until `buf` is full or the file ends; the count read.
fn fill(file: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

pub(crate) fn read_error(path: &Path, e: std::io::Error) -> Error {
    Error::invalid(format!("attachment {}: {e}", path.display())).with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_encoding_matches_whole_encoding() {
        for size in [
            0usize,
            1,
            56,
            57,
            58,
            114,
            1000,
            FILE_BLOCK,
            FILE_BLOCK + 1,
            2 * FILE_BLOCK + 5,
        ] {
            let data: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
            let path = std::env::temp_dir().join(format!("polymailer-payload-{}-{size}", std::process::id()));
            std::fs::write(&path, &data).unwrap();
            let p = Payload::from_pieces(vec![
                Piece::Bytes(b"head\r\n".to_vec()),
                Piece::Base64File {
                    path: path.clone(),
                    size: size as u64,
                },
                Piece::Bytes(b"\r\ntail".to_vec()),
            ]);
            let bytes = p.to_bytes().unwrap();
            std::fs::remove_file(&path).unwrap();
            let mut expected = b"head\r\n".to_vec();
            let whole = STANDARD.encode(&data);
            let lines: Vec<&str> = whole
                .as_bytes()
                .chunks(76)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect();
            expected.extend_from_slice(lines.join("\r\n").as_bytes());
            expected.extend_from_slice(b"\r\ntail");
            assert_eq!(bytes, expected, "size {size}");
            assert_eq!(p.len(), bytes.len() as u64, "size {size}");
        }
    }
}
