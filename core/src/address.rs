//! Addresses and mailboxes: validation, parsing of header address lists, IDN punycode.

use std::fmt;

use crate::error::{Error, Result};

/// A display name and an address, as in `"Your Name" <you@example.com>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: String,
}

impl Mailbox {
    pub fn new(name: Option<String>, address: impl Into<String>) -> Self {
        Mailbox {
            name: name.filter(|n| !n.is_empty()),
            address: address.into(),
        }
    }

    /// Parses one mailbox: `a@b`, `<a@b>`, `Name <a@b>` or `"Name" <a@b>`; validates it.
    pub fn parse(input: &str) -> Result<Mailbox> {
        let mut list = parse_list(input)?;
        match list.len() {
            1 => Ok(list.remove(0)),
            0 => Err(Error::invalid(format!("no address in {input:?}"))),
            _ => Err(Error::invalid(format!(
                "expected one address, found {} in {input:?}",
                list.len()
            ))),
        }
    }

    /// Checks the display name and the address; `field` names the field in the error.
    pub fn validate(&self, field: &str) -> Result<()> {
        if let Some(name) = &self.name {
            check_no_control(field, name)?;
        }
        validate_address(field, &self.address)
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(
                f,
                "\"{}\" <{}>",
                name.replace('\\', "\\\\").replace('"', "\\\""),
                self.address
            ),
            None => f.write_str(&self.address),
        }
    }
}

/// Refuses CR, LF and NUL, the characters that inject headers or commands.
pub fn check_no_control(field: &str, value: &str) -> Result<()> {
    if let Some(c) = value.chars().find(|c| matches!(c, '\r' | '\n' | '\0')) {
        return Err(Error::invalid(format!(
            "{field} contains a forbidden {} character",
            match c {
                '\r' => "CR",
                '\n' => "LF",
                _ => "NUL",
            }
        )));
    }
    Ok(())
}

/// Splits `local@domain` at the last `@` outside quotes.
fn split_address(address: &str) -> Option<(&str, &str)> {
    let at = address.rfind('@')?;
    Some((&address[..at], &address[at + 1..]))
}

/// Validates an addr-spec (RFC 5321 path form, UTF-8 local parts and IDN domains allowed).
pub fn validate_address(field: &str, address: &str) -> Result<()> {
    check_no_control(field, address)?;
    let bad = |why: &str| Err(Error::invalid(format!("{field}: invalid address {address:?}: {why}")));
    let Some((local, domain)) = split_address(address) else {
        return bad("missing @");
    };
    if local.is_empty() {
        return bad("empty local part");
    }
    if local.len() > 64 {
        return bad("local part longer than 64 octets");
    }
    if address.len() > 254 {
        return bad("longer than 254 octets");
    }
    if local.starts_with('"') {
        if local.len() < 2 || !local.ends_with('"') {
            return bad("unbalanced quotes");
        }
    } else {
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return bad("misplaced dot in local part");
        }
        if let Some(c) = local.chars().find(|c| c.is_ascii() && !is_atext(*c) && *c != '.') {
            return bad(&format!("character {c:?} not allowed in local part"));
        }
    }
    if domain.starts_with('[') {
        if !domain.ends_with(']') || domain[1..domain.len() - 1].parse::<std::net::IpAddr>().is_err() {
            return bad("invalid address literal");
        }
        return Ok(());
    }
    match ascii_domain(domain) {
        Ok(_) => Ok(()),
        Err(why) => bad(&why),
    }
}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

/// The domain in ASCII (IDN labels punycoded); an error string says why it is not a hostname.
fn ascii_domain(domain: &str) -> std::result::Result<String, String> {
    if domain.is_empty() {
        return Err("empty domain".into());
    }
    let ascii = if domain.is_ascii() {
        domain.to_string()
    } else {
        idna::domain_to_ascii(domain).map_err(|_| "domain is not a valid IDN".to_string())?
    };
    if ascii.len() > 253 {
        return Err("domain longer than 253 octets".into());
    }
    for label in ascii.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("empty or over-long domain label".into());
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("domain label starts or ends with '-'".into());
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err("character not allowed in domain".into());
        }
    }
    Ok(ascii)
}

/// The WHATWG HTML5 `type=email` rule (what browsers accept in a form field): atext and dots
/// before the `@`, dot-separated LDH labels (1–63, no edge hyphen) after it.
pub fn html5_valid(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    !local.is_empty()
        && local.chars().all(|c| c == '.' || (c.is_ascii() && is_atext(c)))
        && domain.split('.').all(label_ok)
}

/// A domain in IDNA ASCII (UTS #46, non-transitional: `fußball` → `xn--fuball-cta`), or None
/// when it is not a valid IDN.
pub fn idna_domain(domain: &str) -> Option<String> {
    ascii_domain(domain).ok()
}

/// The address with its domain punycoded, as it goes on the wire. Call after validation.
pub fn to_wire(address: &str) -> String {
    match split_address(address) {
        Some((local, domain)) if !domain.is_ascii() && !domain.starts_with('[') => match ascii_domain(domain) {
            Ok(d) => format!("{local}@{d}"),
            Err(_) => address.to_string(),
        },
        _ => address.to_string(),
    }
}

/// True when the address still needs SMTPUTF8 after its domain is punycoded.
pub fn needs_smtputf8(wire_address: &str) -> bool {
    !wire_address.is_ascii()
}

/// The domain part of an address (used for Message-ID generation).
pub fn domain_of(address: &str) -> Option<&str> {
    split_address(address).map(|(_, d)| d)
}

/// Parses a header address list (`To:` value): mailboxes separated by commas, with display
/// names, quoted strings, comments and groups. Every mailbox is validated.
pub fn parse_list(input: &str) -> Result<Vec<Mailbox>> {
    parse_list_with(input, false)
}

/// As [`parse_list`]; with `local_ok`, a mailbox may be a bare local part (`root`).
pub fn parse_list_with(input: &str, local_ok: bool) -> Result<Vec<Mailbox>> {
    check_no_control("address list", input)?;
    let mut out = Vec::new();
    for item in split_top_level(input) {
        let item = strip_group_name(item.trim());
        let item = item.trim().trim_end_matches(';').trim();
        if item.is_empty() {
            continue;
        }
        let mailbox = parse_one(item)?;
        if local_ok && !mailbox.address.contains('@') {
            if let Some(name) = &mailbox.name {
                check_no_control("address", name)?;
            }
            validate_local_part("address", &mailbox.address)?;
        } else {
            mailbox.validate("address")?;
        }
        out.push(mailbox);
    }
    Ok(out)
}

/// Splits at commas not inside quotes, angle brackets or comments.
fn split_top_level(input: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth_paren, mut in_angle, mut in_quote, mut escaped) = (0usize, false, false, false);
    let mut start = 0;
    for (i, c) in input.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if in_quote || depth_paren > 0 => escaped = true,
            '"' if depth_paren == 0 => in_quote = !in_quote,
            '(' if !in_quote => depth_paren += 1,
            ')' if !in_quote && depth_paren > 0 => depth_paren -= 1,
            '<' if !in_quote && depth_paren == 0 => in_angle = true,
            '>' if !in_quote && depth_paren == 0 => in_angle = false,
            ',' | ';' if !in_quote && depth_paren == 0 && !in_angle => {
                parts.push(&input[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&input[start..]);
    parts
}

/// `Friends: a@b` → `a@b` (the group's display name is not an address).
fn strip_group_name(item: &str) -> &str {
    let mut in_quote = false;
    for (i, c) in item.char_indices() {
        match c {
            '"' => in_quote = !in_quote,
            '<' | '@' if !in_quote => return item,
            ':' if !in_quote => return &item[i + 1..],
            _ => {}
        }
    }
    item
}

fn strip_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let (mut depth, mut in_quote) = (0usize, false);
    for c in s.chars() {
        match c {
            '"' if depth == 0 => {
                in_quote = !in_quote;
                out.push(c)
            }
            '(' if !in_quote => depth += 1,
            ')' if !in_quote && depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn unquote(name: &str) -> String {
    let name = name.trim();
    if name.len() >= 2 && name.starts_with('"') && name.ends_with('"') {
        let inner = &name[1..name.len() - 1];
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            } else {
                out.push(c);
            }
        }
        out
    } else {
        name.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// Positions of `<` and `>` outside quoted strings and comments.
fn unquoted_angles(item: &str) -> (Vec<usize>, Vec<usize>) {
    let (mut lts, mut gts) = (Vec::new(), Vec::new());
    let (mut depth, mut in_quote, mut escaped) = (0usize, false, false);
    for (i, c) in item.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if in_quote || depth > 0 => escaped = true,
            '"' if depth == 0 => in_quote = !in_quote,
            '(' if !in_quote => depth += 1,
            ')' if !in_quote && depth > 0 => depth -= 1,
            '<' if !in_quote && depth == 0 => lts.push(i),
            '>' if !in_quote && depth == 0 => gts.push(i),
            _ => {}
        }
    }
    (lts, gts)
}

/// One mailbox. Angle brackets outside quotes must form exactly one `<addr>` with nothing but
/// comments after it: `a@b> <c@d>` or `<a@b> x` is refused, never reduced to one of its parts.
fn parse_one(item: &str) -> Result<Mailbox> {
    let (lts, gts) = unquoted_angles(item);
    match (lts.as_slice(), gts.as_slice()) {
        ([], []) => {}
        ([lt], [gt]) if lt < gt && strip_comments(&item[gt + 1..]).trim().is_empty() => {
            let (lt, gt) = (*lt, *gt);
            let name = unquote(&strip_comments(&item[..lt]));
            let address = item[lt + 1..gt].trim().to_string();
            return Ok(Mailbox::new(Some(name), address));
        }
        _ => return Err(Error::invalid(format!("address: stray '<' or '>' in {item:?}"))),
    }
    let bare = strip_comments(item);
    let bare = bare.trim();
    if bare.contains(char::is_whitespace) && !bare.starts_with('"') {
        return Err(Error::invalid(format!("address: invalid address {item:?}")));
    }
    Ok(Mailbox::new(None, bare.to_string()))
}

/// An envelope address as a caller gives it (`a@b`, `<a@b>`, `Name <a@b>`), checked on the
/// value as given: CR/LF/NUL and stray angle brackets are refused, never reduced to a part of
/// the value. An empty value or `<>` is the null sender (`None`).
pub fn envelope_address(field: &str, input: &str) -> Result<Option<String>> {
    envelope_address_at(field, input).map_err(|e| e.at_stage(crate::error::Stage::Envelope))
}

/// As [`envelope_address`], but a bare local part (`root`, `postmaster`) is accepted too, as
/// smtplib passes it to a local server.
pub fn envelope_address_or_local(field: &str, input: &str) -> Result<Option<String>> {
    envelope_value(field, input, true).map_err(|e| e.at_stage(crate::error::Stage::Envelope))
}

fn envelope_address_at(field: &str, input: &str) -> Result<Option<String>> {
    envelope_value(field, input, false)
}

fn envelope_value(field: &str, input: &str, local_ok: bool) -> Result<Option<String>> {
    check_no_control(field, input)?;
    let trimmed = input.trim();
    if trimmed.is_empty() || trimmed == "<>" {
        return Ok(None);
    }
    let items: Vec<&str> = split_top_level(trimmed)
        .into_iter()
        .filter(|i| !i.trim().is_empty())
        .collect();
    if items.len() != 1 {
        return Err(Error::invalid(format!(
            "{field}: expected one address, found {} in {input:?}",
            items.len()
        )));
    }
    let mailbox = parse_one(items[0].trim()).map_err(|e| Error::invalid(format!("{field}: {}", e.message())))?;
    if let Some(name) = &mailbox.name {
        check_no_control(field, name)?;
    }
    if local_ok && !mailbox.address.contains('@') {
        validate_local_part(field, &mailbox.address)?;
    } else {
        validate_address(field, &mailbox.address)?;
    }
    Ok(Some(mailbox.address))
}

/// A local part on its own (dot-atom or quoted string), for addresses without a domain.
pub fn validate_local_part(field: &str, local: &str) -> Result<()> {
    check_no_control(field, local)?;
    let quoted = local.len() >= 2 && local.starts_with('"') && local.ends_with('"');
    let dot_atom = !local.is_empty()
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| !c.is_ascii() || is_atext(c) || c == '.');
    if local.len() > 64 || !(quoted || dot_atom) {
        return Err(Error::invalid(format!("{field}: invalid address {local:?}")));
    }
    Ok(())
}

/// Envelope recipients as a caller gives them: each value one address or a header-style list
/// (`"Doe, J" <j@x>, k@y`), each checked as [`envelope_address`] checks.
pub fn envelope_recipients(field: &str, inputs: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for input in inputs {
        check_no_control(field, input)
            .and_then(|_| parse_list(input).map_err(|e| Error::invalid(format!("{field}: {}", e.message()))))
            .map(|list| out.extend(list.into_iter().map(|m| m.address)))
            .map_err(|e| e.at_stage(crate::error::Stage::Envelope))?;
    }
    Ok(out)
}

/// At most one mailbox for a single-address field (From, Sender): more is refused, never
/// silently dropped.
pub fn single(field: &str, mut list: Vec<Mailbox>) -> Result<Option<Mailbox>> {
    match list.len() {
        0 | 1 => Ok(list.pop()),
        n => Err(Error::invalid(format!("{field}: expected one address, found {n}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists() {
        let list =
            parse_list(r#""Doe, John" <john@example.com>, jane@example.org (Jane), Group: a@b.c, d@e.f;"#).unwrap();
        let addrs: Vec<_> = list.iter().map(|m| m.address.as_str()).collect();
        assert_eq!(addrs, ["john@example.com", "jane@example.org", "a@b.c", "d@e.f"]);
        assert_eq!(list[0].name.as_deref(), Some("Doe, John"));
        assert_eq!(parse_list("undisclosed-recipients:;").unwrap(), vec![]);
        assert_eq!(
            Mailbox::parse("\"Your Name\" <you@example.com>")
                .unwrap()
                .name
                .as_deref(),
            Some("Your Name")
        );
    }

    #[test]
    fn validates() {
        for bad in [
            "",
            "a",
            "@b.c",
            "a@",
            "a b@c.d",
            "a@b..c",
            "a@-b.c",
            "a@b.c\r\nRCPT TO:<x@y>",
            "a..b@c.d",
            "a<@b.c",
        ] {
            assert!(validate_address("to", bad).is_err(), "{bad:?} should be refused");
        }
        for good in [
            "a@b.c",
            "a.b+tag@sub.example.com",
            "user@[127.0.0.1]",
            "\"a b\"@c.d",
            "jürgen@bücher.example",
            "x@localhost",
        ] {
            validate_address("to", good).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        assert!(Mailbox::new(Some("Evil\r\nBcc: x@y".into()), "a@b.c")
            .validate("from")
            .is_err());
    }

    #[test]
    fn envelope_values_checked_as_given() {
        let smuggle = "victim@example.com>\r\n.\r\nMAIL FROM:<smuggle@evil.example>\r\nRCPT TO:<evil@evil.example";
        for bad in [
            smuggle,
            "victim@example.com> <smuggle@evil.example>",
            "<a@b.com> x@y.com",
            "a@b.com>",
            "<<a@b.com>>",
            "a@b.com\0",
        ] {
            let e = envelope_address("envelope from", bad).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidInput, "{bad:?}");
            assert!(
                envelope_recipients("envelope to", &[bad.to_string()]).is_err(),
                "{bad:?}"
            );
        }
        assert_eq!(envelope_address("f", "<>").unwrap(), None);
        assert_eq!(envelope_address("f", "").unwrap(), None);
        assert_eq!(
            envelope_address("f", "Ann <a@b.com>").unwrap().as_deref(),
            Some("a@b.com")
        );
        assert_eq!(
            envelope_address("f", "\"x>y\" <a@b.com>").unwrap().as_deref(),
            Some("a@b.com")
        );
        assert_eq!(
            envelope_recipients("t", &["\"Doe, J\" <j@x.com>, k@y.com".into(), "<l@z.com>".into()]).unwrap(),
            ["j@x.com", "k@y.com", "l@z.com"]
        );
        assert!(envelope_address("f", "<a@b.com> , <c@d.com>").is_err());
        assert!(envelope_address("f", "root").is_err());
        assert_eq!(envelope_address_or_local("f", "root").unwrap().as_deref(), Some("root"));
        assert_eq!(
            envelope_address_or_local("f", "<postmaster>").unwrap().as_deref(),
            Some("postmaster")
        );
        for bad in ["a b", "root>", "<root", "ro\rot", "a..b"] {
            assert!(envelope_address_or_local("f", bad).is_err(), "{bad:?}");
        }
        assert!(single("from", parse_list("<a@b.com> , <c@d.com>").unwrap()).is_err());
    }

    #[test]
    fn punycodes_domains_only() {
        assert_eq!(to_wire("info@bücher.example"), "info@xn--bcher-kva.example");
        assert!(!needs_smtputf8(&to_wire("info@bücher.example")));
        assert!(needs_smtputf8(&to_wire("jürgen@example.com")));
    }
}
