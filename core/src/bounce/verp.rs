//! VERP: a per-recipient envelope sender, `bounces+alice=example.com-<tag>-<mac>@bounce.domain`,
//! so a bounce names the recipient it is about whatever the remote server wrote in it.
//!
//! - `alice=example.com` is the recipient (`@` as `=`; characters that cannot stand in a local
//!   part as `%XX`), reversible by [`decode_verp`];
//! - `<tag>`: 8 base32 characters of SHA-256 of the Message-ID ([`message_tag`]), so a bounce
//!   can be matched to the message as well as the recipient;
//! - `<mac>`: 10 base32 characters (50 bits) of HMAC-SHA256 over prefix, recipient (lower case)
//!   and tag with the sender's secret: a bounce whose address was not made by this sender is
//!   detected (`verified == false`). Lower case only, so servers that fold case keep it valid.

use std::fmt;

use ring::{digest, hmac};
use serde::Serialize;

use crate::error::{Error, Result};

const TAG_LEN: usize = 8;
const MAC_LEN: usize = 10;
const MIN_SECRET: usize = 16;

/// The sender side: where bounces go (`prefix+…@domain`) and the secret that signs the tokens.
#[derive(Clone)]
pub struct Verp {
    domain: String,
    prefix: String,
    secret: Vec<u8>,
}

impl fmt::Debug for Verp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verp")
            .field("domain", &self.domain)
            .field("prefix", &self.prefix)
            .field("secret", &"<hidden>")
            .finish()
    }
}

impl Verp {
    /// `domain`: the bounce domain (its MX receives the bounces); `secret`: at least 16 bytes.
    pub fn new(domain: &str, secret: impl Into<Vec<u8>>) -> Result<Verp> {
        let domain = crate::check::dns_name("verp domain", domain)?;
        let secret = secret.into();
        if secret.len() < MIN_SECRET {
            return Err(Error::invalid(format!(
                "verp secret: at least {MIN_SECRET} bytes (got {})",
                secret.len()
            )));
        }
        Ok(Verp {
            domain,
            prefix: "bounces".into(),
            secret,
        })
    }

    /// The local part before `+` (default `bounces`): letters, digits, `-` and `_`.
    pub fn with_prefix(mut self, prefix: &str) -> Result<Verp> {
        if prefix.is_empty()
            || prefix.len() > 32
            || !prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(Error::invalid(format!(
                "verp prefix {prefix:?}: 1 to 32 letters, digits, '-' or '_'"
            )));
        }
        self.prefix = prefix.to_string();
        Ok(self)
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn secret(&self) -> &[u8] {
        &self.secret
    }

    /// The envelope sender for one recipient of the message with this Message-ID.
    pub fn address(&self, recipient: &str, message_id: Option<&str>) -> String {
        let (local, domain) = recipient.rsplit_once('@').unwrap_or((recipient, ""));
        let domain = idna::domain_to_ascii(domain).unwrap_or_else(|_| domain.to_string());
        let tag = message_tag(message_id.unwrap_or(""));
        let mac = mac(&self.secret, &self.prefix, recipient, &tag);
        format!(
            "{}+{}={}-{tag}-{mac}@{}",
            self.prefix,
            escape_local(local),
            domain.to_ascii_lowercase(),
            self.domain
        )
    }
}

/// What a VERP address says: whom the bounce is about, which message, and whether this sender
/// made the address (checked only when a secret is given).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerpAddress {
    pub address: String,
    pub prefix: String,
    pub recipient: String,
    pub message_tag: String,
    pub verified: bool,
}

/// The tag of a Message-ID (angle brackets and spaces ignored).
pub fn message_tag(message_id: &str) -> String {
    let id = message_id.trim().trim_start_matches('<').trim_end_matches('>').trim();
    let d = digest::digest(&digest::SHA256, id.as_bytes());
    base32(d.as_ref(), TAG_LEN)
}

/// Decodes `prefix+local=domain-tag-mac@host`; `None` when the address is not in that form.
/// `verified` is true only when `secret` is given and the MAC matches.
pub fn decode_verp(address: &str, secret: Option<&[u8]>) -> Option<VerpAddress> {
    let address = address.trim().trim_start_matches('<').trim_end_matches('>').trim();
    let (local, _host) = address.rsplit_once('@')?;
    let (prefix, token) = local.split_once('+')?;
    let (rest, mac_part) = token.rsplit_once('-')?;
    let (rest, tag) = rest.rsplit_once('-')?;
    let (rcpt_local, rcpt_domain) = rest.rsplit_once('=')?;
    let is_b32 = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| matches!(b, b'a'..=b'z' | b'2'..=b'7'));
    let (tag, mac_part) = (tag.to_ascii_lowercase(), mac_part.to_ascii_lowercase());
    if prefix.is_empty()
        || rcpt_local.is_empty()
        || rcpt_domain.is_empty()
        || !is_b32(&tag, TAG_LEN)
        || !is_b32(&mac_part, MAC_LEN)
    {
        return None;
    }
    let recipient = format!(
        "{}@{}",
        crate::options::percent_decode(rcpt_local)?,
        rcpt_domain.to_ascii_lowercase()
    );
    let verified = secret.is_some_and(|s| {
        let want = mac(s, prefix, &recipient, &tag);
        want.len() == mac_part.len()
            && want
                .bytes()
                .zip(mac_part.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    });
    Some(VerpAddress {
        address: address.to_string(),
        prefix: prefix.to_string(),
        recipient,
        message_tag: tag,
        verified,
    })
}

fn mac(secret: &[u8], prefix: &str, recipient: &str, tag: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let (local, domain) = recipient.rsplit_once('@').unwrap_or((recipient, ""));
    let domain = idna::domain_to_ascii(domain).unwrap_or_else(|_| domain.to_string());
    let mut ctx = hmac::Context::with_key(&key);
    for part in [
        "polymailer-verp-v1",
        &prefix.to_ascii_lowercase(),
        &local.to_lowercase(),
        &domain.to_ascii_lowercase(),
        tag,
    ] {
        ctx.update(part.as_bytes());
        ctx.update(b"\0");
    }
    base32(ctx.sign().as_ref(), MAC_LEN)
}

/// Lower-case RFC 4648 base32 of `bytes`, first `n` characters.
fn base32(bytes: &[u8], n: usize) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::with_capacity(n);
    let (mut acc, mut bits) = (0u32, 0);
    for &b in bytes {
        if out.len() == n {
            break;
        }
        acc = (acc << 8) | b as u32;
        bits += 8;
        while bits >= 5 && out.len() < n {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
        acc &= (1 << bits) - 1;
    }
    out
}

/// The recipient's local part as dot-atom text: atext stays, `.` stays when the local part is
/// a dot-atom, everything else (and `%`) becomes `%XX`.
fn escape_local(local: &str) -> String {
    let atext = |b: u8| b.is_ascii_alphanumeric() || b"!#$&'*+-/=?^_`{|}~".contains(&b);
    let dot_atom = !local.is_empty()
        && local
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| atext(b) || b == b'%'));
    let mut out = String::with_capacity(local.len());
    for b in local.bytes() {
        if atext(b) || (b == b'.' && dot_atom) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123";

    #[test]
    fn round_trip_and_forgery() {
        let v = Verp::new("bounce.example.org", SECRET).unwrap();
        for rcpt in [
            "alice@example.com",
            "a.b+c=d@sub.example.net",
            "\"john doe\"@example.com",
            "zoë@bücher.example",
            "x%y@example.com",
        ] {
            let addr = v.address(rcpt, Some("<id-1@example.org>"));
            assert!(addr.is_ascii(), "{addr}");
            assert!(addr.ends_with("@bounce.example.org"), "{addr}");
            let d = decode_verp(&addr, Some(SECRET)).unwrap();
            let expected_domain = idna::domain_to_ascii(rcpt.rsplit_once('@').unwrap().1).unwrap();
            assert_eq!(
                d.recipient,
                format!("{}@{}", rcpt.rsplit_once('@').unwrap().0, expected_domain)
            );
            assert_eq!(d.message_tag, message_tag("id-1@example.org"));
            assert!(d.verified, "{addr}");
            // A server that folds case keeps it verifiable.
            assert!(
                decode_verp(&addr.to_ascii_uppercase().replace("BOUNCES", "bounces"), Some(SECRET))
                    .unwrap()
                    .verified
            );
            // Another secret, another recipient, another tag: not verified.
            assert!(!decode_verp(&addr, Some(b"another secret of 16+")).unwrap().verified);
            assert!(!decode_verp(&addr, None).unwrap().verified);
        }
        let addr = v.address("alice@example.com", Some("<m@x>"));
        let forged = addr.replace("alice=", "mallory=");
        assert!(!decode_verp(&forged, Some(SECRET)).unwrap().verified);
        let other_tag = v.address("alice@example.com", Some("<other@x>"));
        assert_ne!(addr, other_tag);
        assert!(decode_verp("alice@example.com", Some(SECRET)).is_none());
        assert!(decode_verp("bounces+alice=example.com@x", Some(SECRET)).is_none());
        assert!(Verp::new("bounce.example.org", b"short".to_vec()).is_err());
        assert!(Verp::new("bad domain", SECRET).is_err());
        assert!(Verp::new("x.org", SECRET).unwrap().with_prefix("a+b").is_err());
    }
}
