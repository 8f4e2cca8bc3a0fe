//! Text rules for message bodies and header words that bindings expose as helpers (PHPMailer's
//! static methods): RFC 2047 Q-encoding per position, line-break normalisation, word wrapping
//! (plain and quoted-printable soft breaks, never splitting an encoded UTF-8 character), the
//! 998-octet line check, and RFC 5322 quoting. Byte-oriented: inputs may be in any charset.

/// Where an encoded word goes (RFC 2047 §5): each position allows a different set of
/// unencoded characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QPosition {
    /// Unstructured text (`Subject`): everything printable except `=`, `?`, `_`.
    Text,
    /// Inside a comment: as `Text`, and also `(`, `)`, `"`.
    Comment,
    /// A display-name phrase: only letters, digits and `!*+-/`.
    Phrase,
}

impl QPosition {
    /// `text` (also any unknown word), `comment`, `phrase`; case-insensitive.
    pub fn from_word(word: &str) -> Self {
        match word.to_ascii_lowercase().as_str() {
            "phrase" => QPosition::Phrase,
            "comment" => QPosition::Comment,
            _ => QPosition::Text,
        }
    }
}

/// The encoded-text part of a Q encoded word: CR and LF dropped, space as `_`, the bytes the
/// position does not allow as `=XX`.
pub fn encode_q(input: &[u8], position: QPosition) -> String {
    let mut out = String::with_capacity(input.len() * 3);
    for &b in input {
        if b == b'\r' || b == b'\n' {
            continue;
        }
        let keep = match position {
            QPosition::Phrase => b.is_ascii_alphanumeric() || b"!*+/ -".contains(&b),
            QPosition::Text | QPosition::Comment => {
                let comment_special = position == QPosition::Comment && b"()\"".contains(&b);
                (0x20..0x7f).contains(&b) && !b"=?_".contains(&b) && !comment_special
            }
        };
        match b {
            b' ' if keep => out.push('_'),
            _ if keep => out.push(b as char),
            _ => out.push_str(&format!("={b:02X}")),
        }
    }
    out
}

/// The transfer encoding for a body part given the one asked for (PHPMailer's rule): `8bit`
/// becomes `7bit` for text without 8-bit bytes (and `7bit` becomes `8bit` for text with
/// them), and any encoding but base64 becomes
/// `quoted-printable` when a line is longer than 998 octets. Unknown names are `8bit`.
pub fn body_encoding(requested: &str, body: &[u8]) -> &'static str {
    let requested = match requested.to_ascii_lowercase().as_str() {
        "7bit" => "7bit",
        "base64" => return "base64",
        "binary" => "binary",
        "quoted-printable" => "quoted-printable",
        _ => "8bit",
    };
    if has_line_longer_than(body, 998, 2) {
        return "quoted-printable";
    }
    match requested {
        "8bit" if body.is_ascii() => "7bit",
        // 8-bit octets are never labelled 7bit (a `7bit` left over from an earlier message).
        "7bit" if !body.is_ascii() => "8bit",
        other => other,
    }
}

/// A header value as RFC 2047 encoded-words where it needs them (PHPMailer's `encodeHeader`):
/// a phrase of printable ASCII stays an atom or becomes a quoted-string; otherwise B-encoding
/// when more than a third of the octets need encoding, Q-encoding when some do (or the value
/// is longer than a line), nothing when none do. Words are at most `max_line` octets
/// including `=?charset?X?…?=`, never split inside a UTF-8 character, joined by `line_end`
/// and a space. `charset` names the value's bytes (`us-ascii` is used for 7-bit values).
pub fn encode_header(value: &[u8], position: QPosition, charset: &str, max_line: usize, line_end: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let eight_bit = !value.is_ascii();
    if position == QPosition::Phrase && !eight_bit {
        let mut escaped = Vec::with_capacity(value.len() + 2);
        for &b in value {
            match b {
                b'\\' | b'"' => escaped.extend_from_slice(&[b'\\', b]),
                0..=31 | 127 => escaped.extend_from_slice(format!("\\{b:03o}").as_bytes()),
                _ => escaped.push(b),
            }
        }
        let atom = value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~ -".contains(b));
        if escaped == value && atom {
            return escaped;
        }
        return [b"\"".as_slice(), &escaped, b"\""].concat();
    }
    let text_special = |b: u8| matches!(b, 0..=8 | 11 | 12 | 14..=31 | 127..=255);
    let count = match position {
        QPosition::Phrase => value
            .iter()
            .filter(|&&b| !(b == 32 || b == 33 || (35..=91).contains(&b) || (93..=126).contains(&b)))
            .count(),
        QPosition::Comment => {
            value.iter().filter(|b| b"()\"".contains(b)).count() + value.iter().filter(|&&b| text_special(b)).count()
        }
        QPosition::Text => value.iter().filter(|&&b| text_special(b)).count(),
    };
    let charset = if eight_bit { charset } else { "us-ascii" };
    let max_len = max_line.saturating_sub(8 + charset.len()).max(4);
    let utf8 = charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("utf8");
    let lines: Vec<Vec<u8>> = if count * 3 > value.len() {
        if utf8 && eight_bit {
            // Whole characters per word: about 3/4 of the room, shortened until it fits.
            let text = String::from_utf8_lossy(value);
            let chars: Vec<char> = text.chars().collect();
            let room = 75 - (10 + charset.len()).min(70);
            let ratio = chars.len() as f64 / text.len() as f64;
            let average = ((room as f64) * ratio * 0.75).floor().max(1.0) as usize;
            let mut out = Vec::new();
            let mut i = 0;
            while i < chars.len() {
                let mut take = average.min(chars.len() - i);
                loop {
                    let chunk: String = chars[i..i + take].iter().collect();
                    let encoded = b64(chunk.as_bytes());
                    if encoded.len() <= room || take == 1 {
                        out.push(encoded.into_bytes());
                        break;
                    }
                    take -= 1;
                }
                i += take;
            }
            out
        } else {
            let encoded = b64(value);
            let width = (max_len - max_len % 4).max(4);
            encoded.as_bytes().chunks(width).map(<[u8]>::to_vec).collect()
        }
        .into_iter()
        .map(|l| [format!(" =?{charset}?B?").as_bytes(), &l, b"?="].concat())
        .collect()
    } else if count > 0 || value.len() > max_len {
        let q = encode_q(value, position);
        let wrapped = wrap_text(q.as_bytes(), max_len, true, utf8, line_end);
        let soft = [b"=".as_slice(), line_end].concat();
        let text = String::from_utf8_lossy(&wrapped).trim().to_string();
        split_on(text.as_bytes(), &soft)
            .into_iter()
            .map(|l| [format!(" =?{charset}?Q?").as_bytes(), l, b"?="].concat())
            .collect()
    } else {
        return value.to_vec();
    };
    let joined = lines.join(line_end);
    let start = joined.iter().position(|b| *b != b' ').unwrap_or(0);
    joined[start..].to_vec()
}

/// Every CRLF, CR and LF as `line_end`.
pub fn normalize_breaks(text: &[u8], line_end: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'\r' => {
                out.extend_from_slice(line_end);
                if text.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'\n' => out.extend_from_slice(line_end),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// Whether any line (up to LF) is longer than `max` octets plus the line ending's length
/// (RFC 5322's 998 + CRLF).
pub fn has_line_longer_than(text: &[u8], max: usize, line_end_len: usize) -> bool {
    text.split(|&b| b == b'\n').any(|line| line.len() >= max + line_end_len)
}

/// `input` as a quoted-string when it holds a space or an RFC 5322 special (`"` escaped), else
/// unchanged.
pub fn quoted_string(input: &str) -> String {
    if input.chars().any(|c| " ()<>@,;:\"/[]?=".contains(c)) {
        format!("\"{}\"", input.replace('"', "\\\""))
    } else {
        input.to_string()
    }
}

/// The length (≤ `max`) at which quoted-printable text can be cut without splitting an
/// encoded character: never inside `=XX`, never between the bytes of a UTF-8 sequence.
pub fn utf8_char_boundary(encoded: &[u8], mut max: usize) -> usize {
    let mut look_back = 3;
    loop {
        let start = max.saturating_sub(look_back).min(encoded.len());
        let end = (start + look_back.min(max)).min(encoded.len());
        let chunk = &encoded[start..end];
        let Some(pos) = chunk.iter().position(|&b| b == b'=') else {
            return max;
        };
        let hex = encoded.get(start + pos + 1..start + pos + 3).unwrap_or(&[]);
        let value = std::str::from_utf8(hex)
            .ok()
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .unwrap_or(0);
        let back = (look_back.min(max)) - pos;
        if value < 0x80 {
            // One byte: fits when it starts the chunk, else cut before it.
            if pos > 0 {
                max -= back;
            }
            return max;
        } else if value >= 0xc0 {
            // The first byte of a sequence: cut before it.
            return max - back;
        } else if look_back >= max {
            return max;
        }
        // A continuation byte: look further back for the sequence's start.
        look_back += 3;
    }
}

/// Wraps `text` at `width` octets on spaces, each line ended by `line_end` (a trailing break
/// is not doubled). In quoted-printable mode lines end with the soft break ` =` and words
/// longer than a line are cut (at a UTF-8 character boundary when `utf8`, never inside `=XX`).
pub fn wrap_text(text: &[u8], width: usize, qp: bool, utf8: bool, line_end: &[u8]) -> Vec<u8> {
    let soft_break: Vec<u8> = if qp {
        [b" =".as_slice(), line_end].concat()
    } else {
        line_end.to_vec()
    };
    let hard = |part: &[u8], out: &mut Vec<u8>| {
        out.extend_from_slice(part);
        out.push(b'=');
        out.extend_from_slice(line_end);
    };
    // The boundary is looked for at `len` even past the word's end (nothing to split there).
    let cut = |word: &[u8], len: usize| -> usize {
        let at = if utf8 {
            utf8_char_boundary(word, len).max(1)
        } else if len >= 1 && word.get(len - 1) == Some(&b'=') {
            len - 1
        } else if len >= 2 && word.get(len - 2) == Some(&b'=') {
            len - 2
        } else {
            len
        };
        at.min(word.len())
    };
    let mut normalized = normalize_breaks(text, line_end);
    if normalized.ends_with(line_end) {
        normalized.truncate(normalized.len() - line_end.len());
    }
    let mut out = Vec::with_capacity(normalized.len() + normalized.len() / width.max(1) * 4);
    for line in split_on(&normalized, line_end) {
        let mut buf: Vec<u8> = Vec::new();
        for (i, word) in line.split(|&b| b == b' ').enumerate() {
            let first = i == 0;
            let mut word = word;
            if qp && word.len() > width {
                if !first {
                    let space_left = width as isize - buf.len() as isize - line_end.len() as isize;
                    if space_left > 20 {
                        let len = cut(word, space_left as usize);
                        buf.push(b' ');
                        buf.extend_from_slice(&word[..len]);
                        word = &word[len..];
                        hard(&buf, &mut out);
                    } else {
                        out.extend_from_slice(&buf);
                        out.extend_from_slice(&soft_break);
                    }
                    buf.clear();
                }
                while !word.is_empty() && width > 0 {
                    let len = cut(word, width);
                    let (part, rest) = word.split_at(len);
                    word = rest;
                    if word.is_empty() {
                        buf = part.to_vec();
                    } else {
                        hard(part, &mut out);
                    }
                }
            } else {
                let before = buf.len();
                if !first {
                    buf.push(b' ');
                }
                buf.extend_from_slice(word);
                if before > 0 && buf.len() > width {
                    out.extend_from_slice(&buf[..before]);
                    out.extend_from_slice(&soft_break);
                    buf = word.to_vec();
                }
            }
        }
        out.extend_from_slice(&buf);
        out.extend_from_slice(line_end);
    }
    out
}

fn split_on<'a>(text: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    if sep.is_empty() {
        return vec![text];
    }
    let mut parts = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + sep.len() <= text.len() {
        if &text[i..i + sep.len()] == sep {
            parts.push(&text[start..i]);
            i += sep.len();
            start = i;
        } else {
            i += 1;
        }
    }
    parts.push(&text[start..]);
    parts
}

/// Decodes the RFC 2047 encoded words in a header value (whitespace between two encoded words
/// dropped, `_` as space in Q words) to the bytes of `charset`: a word already in that charset,
/// or in an unknown one, keeps its bytes; ISO-8859-1 words become UTF-8 when `charset` is UTF-8.
pub fn decode_encoded_words(input: &[u8], charset: &str) -> Vec<u8> {
    use base64::Engine;
    let to_utf8 = charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("utf8");
    let mut out = Vec::with_capacity(input.len());
    let mut pending_space: Vec<u8> = Vec::new();
    let mut last_was_word = false;
    let mut i = 0;
    while i < input.len() {
        let word = input[i..]
            .starts_with(b"=?")
            .then(|| parse_encoded_word(&input[i..]))
            .flatten();
        if let Some((len, word_charset, encoding, text)) = word {
            let decoded = match encoding {
                b'B' | b'b' => base64::engine::general_purpose::STANDARD.decode(text).ok(),
                _ => Some(decode_q(text)),
            };
            if let Some(mut bytes) = decoded {
                if to_utf8
                    && (word_charset.eq_ignore_ascii_case("iso-8859-1") || word_charset.eq_ignore_ascii_case("latin1"))
                {
                    bytes = bytes.iter().map(|&b| b as char).collect::<String>().into_bytes();
                }
                if !last_was_word {
                    out.append(&mut pending_space);
                }
                pending_space.clear();
                out.extend_from_slice(&bytes);
                last_was_word = true;
                i += len;
                continue;
            }
        }
        let b = input[i];
        if b.is_ascii_whitespace() {
            pending_space.push(b);
        } else {
            out.append(&mut pending_space);
            out.push(b);
            last_was_word = false;
        }
        i += 1;
    }
    out.append(&mut pending_space);
    out
}

/// `=?charset?E?text?=` at the start of `s`: (length, charset, encoding letter, text).
fn parse_encoded_word(s: &[u8]) -> Option<(usize, String, u8, &[u8])> {
    let body = &s[2..];
    let q1 = body.iter().position(|&b| b == b'?')?;
    let charset = String::from_utf8_lossy(&body[..q1]).into_owned();
    let encoding = *body.get(q1 + 1)?;
    if body.get(q1 + 2) != Some(&b'?') || !b"BbQq".contains(&encoding) {
        return None;
    }
    let text_start = q1 + 3;
    let end = body[text_start..].windows(2).position(|w| w == b"?=")?;
    let text = &body[text_start..text_start + end];
    Some((2 + text_start + end + 2, charset, encoding, text))
}

fn decode_q(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'_' => out.push(b' '),
            b'=' if text.len() >= i + 3 => {
                match std::str::from_utf8(&text[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'='),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// `dirname`, `basename`, `extension`, `filename` of a Unix or Windows path, by bytes (so
/// multibyte names stay whole): trailing separators and dots ignored.
pub fn path_info(path: &str) -> [String; 4] {
    let trimmed = path.trim_end_matches(['/', '\\', '.']);
    let (dir, base) = match trimmed.rfind(['/', '\\']) {
        Some(i) => (trimmed[..i].trim_end_matches(['/', '\\']), &trimmed[i + 1..]),
        None => ("", trimmed),
    };
    let (name, ext) = match base.rfind('.') {
        Some(i) if i + 1 < base.len() => (&base[..i], &base[i + 1..]),
        _ => (base, ""),
    };
    [dir.into(), base.into(), ext.into(), name.into()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_encodes_per_position() {
        let s = b"Hello?\xbdWorld\x5e\xa9";
        assert_eq!(encode_q(s, QPosition::Text), "Hello=3F=BDWorld^=A9");
        assert_eq!(encode_q(s, QPosition::Phrase), "Hello=3F=BDWorld=5E=A9");
        assert_eq!(
            encode_q(b"\xa1Hola!\r\nSe\xf1or!\r\n", QPosition::Text),
            "=A1Hola!Se=F1or!"
        );
        assert_eq!(encode_q("Nová=".as_bytes(), QPosition::Text), "Nov=C3=A1=3D");
        assert_eq!(encode_q(b"a (b) c", QPosition::Comment), "a_=28b=29_c");
    }

    #[test]
    fn finds_character_boundaries() {
        assert_eq!(utf8_char_boundary(b"H=E4tten", 3), 1);
        assert_eq!(utf8_char_boundary(b"=0C", 3), 3);
        assert_eq!(utf8_char_boundary(b"L=C3=B6rem", 6), 1);
    }

    #[test]
    fn wraps() {
        let le = b"\r\n";
        assert_eq!(wrap_text(b"", 50, false, false, le), b"\r\n");
        let long = b"Lorem ipsumdolorsitametconsetetursadipscingelitrseddiamnonumy";
        assert_eq!(
            wrap_text(long, 50, true, false, le),
            b"Lorem ipsumdolorsitametconsetetursadipscingelitrs=\r\neddiamnonumy\r\n"
        );
        assert_eq!(
            wrap_text(long, 50, false, false, le),
            b"Lorem\r\nipsumdolorsitametconsetetursadipscingelitrseddiamnonumy\r\n"
        );
        assert_eq!(wrap_text(b"aaa bbb ccc", 7, true, false, le), b"aaa bbb =\r\nccc\r\n");
    }

    #[test]
    fn normalizes_and_measures_lines() {
        assert_eq!(normalize_breaks(b"a\rb\nc\r\nd", b"\r\n"), b"a\r\nb\r\nc\r\nd");
        let ok = [vec![b'0'; 998], b"\r\n".to_vec()].concat();
        let bad = [vec![b'1'; 999], b"\r\n".to_vec()].concat();
        assert!(!has_line_longer_than(&ok, 998, 2));
        assert!(has_line_longer_than(&[ok.clone(), bad, ok].concat(), 998, 2));
    }

    #[test]
    fn encodes_headers_as_phpmailer() {
        let le = b"\r\n";
        let e = "é";
        let b = encode_header(e.repeat(77).as_bytes(), QPosition::Text, "utf-8", 63, le);
        let b = String::from_utf8(b).unwrap();
        assert_eq!(b.lines().count(), 4, "{b}");
        assert!(
            b.starts_with("=?utf-8?B?w6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6k=?=\r\n =?utf-8?B?")
        );
        let q = encode_header(
            format!("{}{e}", "e".repeat(76)).as_bytes(),
            QPosition::Text,
            "utf-8",
            63,
            le,
        );
        assert_eq!(
            String::from_utf8(q).unwrap(),
            format!(
                "=?utf-8?Q?{}?=\r\n =?utf-8?Q?{}=C3=A9?=",
                "e".repeat(50),
                "e".repeat(26)
            )
        );
        let long = encode_header("e".repeat(86).as_bytes(), QPosition::Text, "utf-8", 63, le);
        assert_eq!(
            String::from_utf8(long).unwrap(),
            format!(
                "=?us-ascii?Q?{}?=\r\n =?us-ascii?Q?{}?=",
                "e".repeat(47),
                "e".repeat(39)
            )
        );
        assert_eq!(
            encode_header(b"eeeeeeeeee", QPosition::Text, "utf-8", 63, le),
            b"eeeeeeeeee"
        );
        assert_eq!(
            encode_header(b"Joe (x)", QPosition::Phrase, "utf-8", 998, le),
            b"\"Joe (x)\""
        );
        assert_eq!(
            encode_header(b"Joe Doe", QPosition::Phrase, "utf-8", 998, le),
            b"Joe Doe"
        );
    }

    #[test]
    fn picks_body_encodings() {
        assert_eq!(body_encoding("8bit", b"ascii"), "7bit");
        assert_eq!(body_encoding("8bit", "é".as_bytes()), "8bit");
        assert_eq!(body_encoding("8bit", &[b'a'; 1000]), "quoted-printable");
        assert_eq!(body_encoding("base64", &[b'a'; 1000]), "base64");
        assert_eq!(body_encoding("7bit", "é".as_bytes()), "8bit");
    }

    #[test]
    fn decodes_encoded_words() {
        let folded = b"=?iso-8859-1?B?QWJj?=\r\n =?iso-8859-1?Q?d_e?= <x@y>";
        assert_eq!(decode_encoded_words(folded, "iso-8859-1"), b"Abcd e <x@y>");
        assert_eq!(decode_encoded_words(b"=?iso-8859-1?Q?=E9?=", "utf-8"), "é".as_bytes());
        assert_eq!(decode_encoded_words(b"plain =?x", "utf-8"), b"plain =?x");
    }

    #[test]
    fn quotes_and_splits_paths() {
        assert_eq!(quoted_string("a.png"), "a.png");
        assert_eq!(quoted_string("a\".png"), "\"a\\\".png\"");
        assert_eq!(
            path_info("c:\\mnt\\x.mp3"),
            ["c:\\mnt", "x.mp3", "mp3", "x"].map(String::from)
        );
        assert_eq!(
            path_info("/mnt/sub dir/another sub/"),
            ["/mnt/sub dir", "another sub", "", "another sub"].map(String::from)
        );
        assert_eq!(path_info(""), ["", "", "", ""].map(String::from));
    }
}
