//! SMTP replies (RFC 5321 §4.2) and enhanced status codes (RFC 3463).

use std::fmt;

/// An enhanced status code such as `5.1.1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnhancedStatus(pub u8, pub u16, pub u16);

impl fmt::Display for EnhancedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// A complete (possibly multi-line) server reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// Parsed from the first line's text when it starts with `x.y.z`.
    pub enhanced: Option<EnhancedStatus>,
    /// The text of each line, without the code and separator.
    pub lines: Vec<String>,
}

impl Reply {
    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }

    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    pub fn is_permanent(&self) -> bool {
        self.code >= 500
    }

    /// The text lines joined with `\n`, as smtplib's `smtp_error` holds them.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// `"250 2.0.0 Ok: queued"`: code and first line, as Nodemailer's `info.response` shows it.
    pub fn one_line(&self) -> String {
        match self.lines.first() {
            Some(first) if !first.is_empty() => format!("{} {}", self.code, first),
            _ => self.code.to_string(),
        }
    }

    /// The text without a leading enhanced status code.
    pub fn text_without_status(&self) -> String {
        let text = self.text();
        match self.enhanced {
            Some(_) => text
                .split_once(' ')
                .map(|(_, rest)| rest.to_string())
                .unwrap_or_default(),
            None => text,
        }
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, line) in self.lines.iter().enumerate() {
            let sep = if i + 1 == self.lines.len() { ' ' } else { '-' };
            if i > 0 {
                f.write_str("\r\n")?;
            }
            write!(f, "{}{}{}", self.code, sep, line)?;
        }
        if self.lines.is_empty() {
            write!(f, "{}", self.code)?;
        }
        Ok(())
    }
}

/// Outcome of trying to parse a reply from the start of a buffer ([`parse`]).
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A full reply and how many bytes it used.
    Complete(Reply, usize),
    /// More bytes are needed.
    Incomplete,
    /// The bytes are not an SMTP reply; the offending line is given (lossy UTF-8).
    Invalid(String),
    /// A line is longer than `MAX_LINE` without its end.
    TooLong,
}

/// Longest line accepted from a server (RFC 5321 allows 512; be generous, but bounded).
const MAX_LINE: usize = 8 * 1024;
const MAX_LINES: usize = 1024;

pub fn parse(buf: &[u8]) -> Parsed {
    let mut pos = 0;
    let mut code: Option<u16> = None;
    let mut lines = Vec::new();
    loop {
        let Some(nl) = buf[pos..].iter().position(|&b| b == b'\n') else {
            if buf.len() - pos > MAX_LINE {
                return Parsed::TooLong;
            }
            return Parsed::Incomplete;
        };
        let mut line = &buf[pos..pos + nl];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        pos += nl + 1;
        let bad = || Parsed::Invalid(String::from_utf8_lossy(line).into_owned());
        if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
            return bad();
        }
        let this_code = (line[0] - b'0') as u16 * 100 + (line[1] - b'0') as u16 * 10 + (line[2] - b'0') as u16;
        if !(200..600).contains(&this_code) && !(100..200).contains(&this_code) {
            return bad();
        }
        if code.is_some_and(|c| c != this_code) {
            return bad();
        }
        code = Some(this_code);
        let (last, text) = match line.get(3) {
            None => (true, &line[3..3]),
            Some(b' ') => (true, &line[4..]),
            Some(b'-') => (false, &line[4..]),
            Some(_) => return bad(),
        };
        lines.push(String::from_utf8_lossy(text).into_owned());
        if last {
            let enhanced = lines.first().and_then(|l| parse_enhanced(l, this_code));
            return Parsed::Complete(
                Reply {
                    code: this_code,
                    enhanced,
                    lines,
                },
                pos,
            );
        }
        if lines.len() > MAX_LINES {
            return Parsed::Invalid("reply has too many lines".into());
        }
    }
}

fn parse_enhanced(text: &str, code: u16) -> Option<EnhancedStatus> {
    let word = text.split(' ').next()?;
    let mut parts = word.split('.');
    let class: u8 = parts.next()?.parse().ok()?;
    let subject: u16 = parts.next()?.parse().ok()?;
    let detail: u16 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(2..=5).contains(&class) || class as u16 != code / 100 {
        return None;
    }
    Some(EnhancedStatus(class, subject, detail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_multiline_reply_with_enhanced_status() {
        let buf = b"250-capture.test\r\n250-SIZE 1000\r\n250 2.0.0 OK\r\nextra";
        let Parsed::Complete(reply, used) = parse(buf) else {
            panic!()
        };
        assert_eq!(reply.code, 250);
        assert_eq!(reply.lines, ["capture.test", "SIZE 1000", "2.0.0 OK"]);
        assert_eq!(used, buf.len() - 5);
        assert_eq!(reply.enhanced, None, "status is read from the first line only");
        let Parsed::Complete(reply, _) = parse(b"550 5.1.1 <x@y>: unknown\r\n") else {
            panic!()
        };
        assert_eq!(reply.enhanced, Some(EnhancedStatus(5, 1, 1)));
        assert_eq!(reply.text_without_status(), "<x@y>: unknown");
    }

    #[test]
    fn incomplete_and_invalid() {
        assert_eq!(parse(b"250-a\r\n250 b"), Parsed::Incomplete);
        assert_eq!(parse(b"25"), Parsed::Incomplete);
        assert!(matches!(parse(b"hello\r\n"), Parsed::Invalid(_)));
        assert!(matches!(parse(b"250-a\r\n251 b\r\n"), Parsed::Invalid(_)));
        let Parsed::Complete(r, _) = parse(b"220\r\n") else {
            panic!()
        };
        assert_eq!(r.lines, [""]);
    }
}
