//! Mailing-list headers (RFC 2369 `List-Help`, `List-Unsubscribe`, …; RFC 2919 `List-ID`) and
//! one-click unsubscribe (RFC 8058 `List-Unsubscribe-Post: List-Unsubscribe=One-Click`), the
//! bulk senders' rule of Gmail and Yahoo. Rendered as Nodemailer's `list` option renders them;
//! PHPMailer's `addCustomHeader('List-Unsubscribe', …)` goes through [`normalize_custom`] and
//! every message through [`check_one_click`]. The DKIM signature covers these headers.

use crate::address::check_no_control;
use crate::error::{Error, Result};

pub const ONE_CLICK: &str = "List-Unsubscribe=One-Click";

/// One URL (`https://…`, `mailto:…`, an address, a bare host) with an optional comment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListEntry {
    pub url: String,
    pub comment: Option<String>,
}

impl ListEntry {
    pub fn new(url: impl Into<String>) -> Self {
        ListEntry {
            url: url.into(),
            comment: None,
        }
    }
}

/// One `List-<key>` header line: its entries are joined by `, `.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListField {
    pub key: String,
    pub entries: Vec<ListEntry>,
}

/// A message's list headers, in order, and whether to ask for one-click unsubscribe.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListHeaders {
    pub fields: Vec<ListField>,
    /// Adds `List-Unsubscribe-Post: List-Unsubscribe=One-Click`; needs an https unsubscribe URL.
    pub one_click: bool,
}

impl ListHeaders {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && !self.one_click
    }

    /// Adds one header line (`key` as in Nodemailer's `list` object: `unsubscribe`, `id`, …).
    pub fn add(&mut self, key: &str, entries: Vec<ListEntry>) {
        self.fields.push(ListField {
            key: key.to_string(),
            entries,
        });
    }

    /// The header lines, validated: `(name, value)`.
    pub fn headers(&self) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for f in &self.fields {
            let name = header_name(&f.key)?;
            let id = name == "List-ID";
            let values: Result<Vec<String>> = f.entries.iter().map(|e| render(e, id)).collect();
            let values = values?;
            if !values.is_empty() {
                out.push((name, values.join(", ")));
            }
        }
        if self.one_click {
            out.push(("List-Unsubscribe-Post".into(), ONE_CLICK.into()));
        }
        check_one_click(out.iter().map(|(n, v)| (n.as_str(), v.as_str())))?;
        Ok(out)
    }
}

/// `unsubscribe` → `List-Unsubscribe`, `id` → `List-ID`, `unsubscribe-post` → `List-Unsubscribe-Post`.
fn header_name(key: &str) -> Result<String> {
    let key = key.trim().to_ascii_lowercase();
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(Error::invalid(format!(
            "list header key {key:?}: letters, digits and '-' only"
        )));
    }
    let words: Vec<String> = key
        .split('-')
        .map(|w| match w {
            "id" => "ID".to_string(),
            w => {
                let mut c = w.chars();
                c.next()
                    .map_or(String::new(), |f| f.to_ascii_uppercase().to_string() + c.as_str())
            }
        })
        .collect();
    Ok(format!("List-{}", words.join("-")))
}

/// `<https://…>`, `<mailto:a@b>` for an address, `<http://host>` for anything else (as Nodemailer).
pub fn format_url(url: &str) -> Result<String> {
    check_no_control("list url", url)?;
    let url = url.trim();
    if url.is_empty() || url.contains(|c: char| c.is_whitespace() || c == '<' || c == '>' || c.is_control()) {
        return Err(Error::invalid(format!("list url {url:?}: no spaces or angle brackets")));
    }
    let lower = url.to_ascii_lowercase();
    Ok(
        if ["http:", "https:", "mailto:", "ftp:"]
            .iter()
            .any(|s| lower.starts_with(s))
        {
            format!("<{url}>")
        } else if url.matches('@').count() == 1 && !url.starts_with('@') && !url.ends_with('@') {
            format!("<mailto:{url}>")
        } else {
            format!("<http://{url}>")
        },
    )
}

fn render(e: &ListEntry, id: bool) -> Result<String> {
    let url = format_url(&e.url)?;
    let comment = match &e.comment {
        Some(c) if !c.is_empty() => {
            check_no_control("list comment", c)?;
            Some(c.as_str())
        }
        _ => None,
    };
    // A comment that is not printable ASCII (UTF-8, or a control such as DEL that no quoting
    // can carry) becomes an RFC 2047 Q encoded word, as Nodemailer writes it.
    let encoded = |c: &str| {
        let mut out = String::from("=?UTF-8?Q?");
        for b in c.bytes() {
            match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'!' | b'*' | b'+' | b'-' | b'/' => out.push(b as char),
                b' ' => out.push('_'),
                b => out.push_str(&format!("={b:02X}")),
            }
        }
        out + "?="
    };
    let printable = |c: &str| c.bytes().all(|b| (0x20..0x7f).contains(&b));
    if id {
        // RFC 2919: `"comment" <list-id>`, the id without a scheme.
        let bare = match url.find(':') {
            Some(i) => format!("<{}", url[i + 1..].trim_start_matches('/')),
            None => url,
        };
        return Ok(match comment {
            Some(c) if printable(c) => format!("\"{}\" {bare}", c.replace('\\', "\\\\").replace('"', "\\\"")),
            Some(c) => format!("{} {bare}", encoded(c)),
            None => bare,
        });
    }
    Ok(match comment {
        Some(c) if printable(c) => {
            let escaped: String = c
                .chars()
                .flat_map(|ch| match ch {
                    '(' | ')' | '\\' => vec!['\\', ch],
                    ch => vec![ch],
                })
                .collect();
            format!("{url} ({escaped})")
        }
        Some(c) => format!("{url} ({})", encoded(c)),
        None => url,
    })
}

/// A custom `List-Unsubscribe` given as bare URLs (`https://x/u, unsub@x`) gets the angle
/// brackets RFC 2369 requires; other headers and bracketed values are kept as given.
pub fn normalize_custom(name: &str, value: &str) -> Result<String> {
    if !name.eq_ignore_ascii_case("List-Unsubscribe") || value.contains('<') {
        return Ok(value.to_string());
    }
    let parts: Result<Vec<String>> = value
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(format_url)
        .collect();
    Ok(parts?.join(", "))
}

/// RFC 8058 over a message's headers: a `List-Unsubscribe-Post` header must say exactly
/// `List-Unsubscribe=One-Click`, appear once, and come with a `List-Unsubscribe` holding an
/// https URI (the one the receiver POSTs to).
pub fn check_one_click<'a>(headers: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> Result<()> {
    let posts: Vec<&str> = headers
        .clone()
        .filter(|(n, _)| n.eq_ignore_ascii_case("List-Unsubscribe-Post"))
        .map(|(_, v)| v.trim())
        .collect();
    if posts.is_empty() {
        return Ok(());
    }
    if posts.len() > 1 || !posts[0].eq_ignore_ascii_case(ONE_CLICK) {
        return Err(Error::invalid(format!(
            "List-Unsubscribe-Post must appear once, as {ONE_CLICK:?} (RFC 8058)"
        )));
    }
    let https = headers
        .filter(|(n, _)| n.eq_ignore_ascii_case("List-Unsubscribe"))
        .any(|(_, v)| v.to_ascii_lowercase().contains("<https://"));
    if !https {
        return Err(Error::invalid(
            "one-click unsubscribe needs an https URL in List-Unsubscribe (RFC 8058)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(url: &str, comment: Option<&str>) -> ListEntry {
        ListEntry {
            url: url.into(),
            comment: comment.map(Into::into),
        }
    }

    #[test]
    fn renders_as_nodemailer() {
        let mut l = ListHeaders::default();
        l.add(
            "help",
            vec![entry("admin@example.com?subject=help", Some("List Instructions"))],
        );
        l.add(
            "unsubscribe",
            vec![
                entry("https://example.com/u/1", Some("a (b) c\\")),
                entry("unsub@example.com", None),
            ],
        );
        l.add("id", vec![entry("mylist.example.com", Some("My \"list\""))]);
        l.add("archive", vec![entry("example.com/archive", Some("Grüße"))]);
        l.one_click = true;
        let h = l.headers().unwrap();
        assert_eq!(
            h[0],
            (
                "List-Help".into(),
                "<mailto:admin@example.com?subject=help> (List Instructions)".into()
            )
        );
        assert_eq!(
            h[1].1,
            "<https://example.com/u/1> (a \\(b\\) c\\\\), <mailto:unsub@example.com>"
        );
        assert_eq!(
            h[2],
            ("List-ID".into(), "\"My \\\"list\\\"\" <mylist.example.com>".into())
        );
        assert_eq!(h[3].1, "<http://example.com/archive> (=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=)");
        assert_eq!(h[4], ("List-Unsubscribe-Post".into(), ONE_CLICK.into()));
    }

    #[test]
    fn one_click_rules_and_bad_input() {
        let mut l = ListHeaders::default();
        l.add("unsubscribe", vec![entry("mailto:u@example.com", None)]);
        l.one_click = true;
        assert!(l.headers().is_err(), "one-click without an https URL");
        let mut l = ListHeaders::default();
        l.add(
            "unsubscribe",
            vec![entry("https://x.example/u", Some("a\r\nX-Injected: 1"))],
        );
        assert!(l.headers().is_err());
        let mut l = ListHeaders::default();
        l.add("unsubscribe", vec![entry("https://x.example/u>\r\nBcc: x@y", None)]);
        assert!(l.headers().is_err());
        assert!(header_name("un subscribe").is_err());
        assert_eq!(
            normalize_custom("list-unsubscribe", "https://x.example/u, u@x.example").unwrap(),
            "<https://x.example/u>, <mailto:u@x.example>"
        );
        let ok = [
            ("List-Unsubscribe", "<https://x/u>"),
            ("List-Unsubscribe-Post", ONE_CLICK),
        ];
        assert!(check_one_click(ok.iter().copied()).is_ok());
        let bad = [("List-Unsubscribe", "<https://x/u>"), ("List-Unsubscribe-Post", "yes")];
        assert!(check_one_click(bad.iter().copied()).is_err());
        let missing = [("List-Unsubscribe-Post", ONE_CLICK)];
        assert!(check_one_click(missing.iter().copied()).is_err());
    }
}
