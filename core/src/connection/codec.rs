//! The DATA codec: line ends normalised to CRLF (no bare CR or LF reaches the server, so no
//! SMTP smuggling), leading dots doubled, the final dot added.

/// Content is written in writes of about this size.
pub(crate) const DATA_CHUNK: usize = 256 * 1024;

/// A cut near `max` that never splits a CRLF pair: just after a LF when there is one.
pub(crate) fn chunk_boundary(bytes: &[u8], max: usize) -> usize {
    match bytes[..max].iter().rposition(|&b| b == b'\n') {
        Some(i) => i + 1,
        None if bytes[max - 1] == b'\r' => max - 1,
        None => max,
    }
}

/// DATA content encoding, fed in chunks: every bare CR or LF becomes CRLF, lines starting
/// with "." are dot-stuffed, and `finish` ends with CRLF.CRLF. No `<LF>.<CR><LF>` can end
/// DATA early (SMTP smuggling).
#[derive(Default)]
pub struct DataEncoder {
    mid_line: bool,
    /// The last chunk ended with CR: a LF starting the next one belongs to that line end.
    after_cr: bool,
    /// BDAT content (RFC 3030): line ends normalised, no dot-stuffing, no final dot.
    chunked: bool,
}

impl DataEncoder {
    /// Encodes one chunk; chunks may be cut anywhere, even between the CR and LF of a pair.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        out.reserve(bytes.len() + bytes.len() / 64 + 5);
        let mut i = 0;
        if self.after_cr && !bytes.is_empty() {
            self.after_cr = false;
            if bytes[0] == b'\n' {
                i = 1;
            }
        }
        while i < bytes.len() {
            if !self.mid_line && !self.chunked && bytes[i] == b'.' {
                out.push(b'.');
            }
            let rest = &bytes[i..];
            match rest.iter().position(|&b| b == b'\r' || b == b'\n') {
                None => {
                    out.extend_from_slice(rest);
                    i = bytes.len();
                    self.mid_line = true;
                }
                Some(p) => {
                    out.extend_from_slice(&rest[..p]);
                    out.extend_from_slice(b"\r\n");
                    let crlf = rest[p] == b'\r' && rest.get(p + 1) == Some(&b'\n');
                    self.after_cr = rest[p] == b'\r' && p + 1 == rest.len();
                    i += p + if crlf { 2 } else { 1 };
                    self.mid_line = false;
                }
            }
        }
    }

    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.mid_line {
            out.extend_from_slice(b"\r\n");
        }
        if !self.chunked {
            out.extend_from_slice(b".\r\n");
        }
        self.mid_line = false;
        self.after_cr = false;
    }

    /// The encoder for BDAT content: the same line-end rule, nothing else added.
    pub fn chunked() -> DataEncoder {
        DataEncoder {
            chunked: true,
            ..DataEncoder::default()
        }
    }
}

/// The whole DATA content at once (see [`DataEncoder`]).
pub fn encode_data(bytes: &[u8], out: &mut Vec<u8>) {
    let mut encoder = DataEncoder::default();
    encoder.push(bytes, out);
    encoder.finish(out);
}

#[cfg(test)]
mod tests {
    use super::encode_data;

    fn enc(input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_data(input, &mut out);
        out
    }

    #[test]
    fn chunked_content_is_normalised_only() {
        let mut out = Vec::new();
        let mut e = super::DataEncoder::chunked();
        e.push(b"a\n.b\r", &mut out);
        e.push(b"\n.\r\nend", &mut out);
        e.finish(&mut out);
        assert_eq!(out, b"a\r\n.b\r\n.\r\nend\r\n");
    }

    #[test]
    fn normalises_and_dot_stuffs() {
        assert_eq!(enc(b"a\r\n.b\r\n"), b"a\r\n..b\r\n.\r\n");
        assert_eq!(enc(b".x"), b"..x\r\n.\r\n");
        assert_eq!(enc(b""), b".\r\n");
        // SMTP smuggling: bare LF/CR around a dot must not terminate DATA.
        assert_eq!(enc(b"a\n.\r\nMAIL FROM:<x>\r\n"), b"a\r\n..\r\nMAIL FROM:<x>\r\n.\r\n");
        assert_eq!(enc(b"a\r.\rb"), b"a\r\n..\r\nb\r\n.\r\n");
    }

    #[test]
    fn chunked_encoding_matches_whole() {
        let input: Vec<u8> = (0..20_000u32).map(|i| b"ab.\r\n\n\r."[i as usize % 8]).collect();
        let whole = enc(&input);
        for max in [2usize, 3, 7, 64, 1000] {
            let mut out = Vec::new();
            let mut e = super::DataEncoder::default();
            let mut rest = &input[..];
            while rest.len() > max {
                let cut = super::chunk_boundary(rest, max);
                e.push(&rest[..cut], &mut out);
                rest = &rest[cut..];
            }
            e.push(rest, &mut out);
            e.finish(&mut out);
            assert_eq!(out, whole, "chunk size {max}");
        }
    }

    /// Found by `make fuzz` (dot_stuffing): empty content, and chunks cut inside a CRLF.
    #[test]
    fn empty_content_and_any_chunk_cut() {
        assert_eq!(enc(b""), b".\r\n");
        let input = b"a\r\n.b\r\r\n\r\nc\r";
        let whole = enc(input);
        for cut in 1..input.len() {
            let mut out = Vec::new();
            let mut e = super::DataEncoder::default();
            for part in input.chunks(cut) {
                e.push(part, &mut out);
            }
            e.finish(&mut out);
            assert_eq!(out, whole, "chunks of {cut}");
        }
    }
}
