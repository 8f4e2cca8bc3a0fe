//! DKIM signing with mail-auth: RSA-SHA256 or Ed25519-SHA256, relaxed/relaxed, PKCS#8 or
//! PKCS#1 keys in PEM.

use std::fmt;
use std::sync::Arc;

use mail_auth::common::crypto::{Ed25519Key, RsaKey, Sha256};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::{Canonicalization, DkimSigner, Done};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivateKeyDer;

use crate::error::{Error, ErrorKind, Result, Stage};
use crate::payload::Payload;

/// The headers signed by default (only those present in a message end up in `h=`).
pub const DEFAULT_SIGNED_HEADERS: &[&str] = &[
    "From",
    "Sender",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "To",
    "Cc",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "In-Reply-To",
    "References",
    "List-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
];

/// Signed whatever header list is configured: RFC 8058 one-click unsubscribe only counts when
/// the signature covers both headers.
const ALWAYS_SIGNED: &[&str] = &["List-Unsubscribe", "List-Unsubscribe-Post"];

enum Signer {
    Rsa(DkimSigner<RsaKey<Sha256>, Done>),
    Ed25519(DkimSigner<Ed25519Key, Done>),
}

/// A ready signer: the key is parsed once, when the config is made.
#[derive(Clone)]
pub struct DkimConfig {
    pub domain: String,
    pub selector: String,
    signer: Arc<Signer>,
    public_key: DkimPublicKey,
}

impl fmt::Debug for DkimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DkimConfig")
            .field("domain", &self.domain)
            .field("selector", &self.selector)
            .finish_non_exhaustive()
    }
}

impl DkimConfig {
    /// Reads a PEM private key file for [`DkimConfig::new`]; an unreadable file is an `Io` error
    /// naming the path.
    pub fn read_key_file(path: impl AsRef<std::path::Path>) -> Result<String> {
        let path = path.as_ref();
        std::fs::read_to_string(path).map_err(|e| {
            Error::new(
                crate::ErrorKind::Io,
                crate::Stage::Build,
                format!("dkim private key file {}: {e}", path.display()),
            )
        })
    }

    /// `private_key_pem`: `BEGIN PRIVATE KEY` (PKCS#8, RSA or Ed25519) or `BEGIN RSA PRIVATE KEY`.
    /// `identity` is the optional `i=` tag; `headers` defaults to [`DEFAULT_SIGNED_HEADERS`].
    pub fn new(
        domain: &str,
        selector: &str,
        private_key_pem: &str,
        identity: Option<&str>,
        headers: Option<&[String]>,
    ) -> Result<Self> {
        check_dns_name("dkim domain", domain)?;
        check_dns_name("dkim selector", selector)?;
        let bad_key = |why: String| Error::invalid(format!("dkim private key: {why}"));
        let key = PrivateKeyDer::from_pem_slice(private_key_pem.as_bytes())
            .map_err(|e| bad_key(format!("not a PEM private key ({e})")))?;
        let mut names: Vec<String> = match headers {
            Some(h) => h.to_vec(),
            None => DEFAULT_SIGNED_HEADERS.iter().map(|h| h.to_string()).collect(),
        };
        for h in ALWAYS_SIGNED {
            if !names.iter().any(|n| n.eq_ignore_ascii_case(h)) {
                names.push(h.to_string());
            }
        }
        macro_rules! signer {
            ($key:expr) => {{
                let s = DkimSigner::from_key($key)
                    .domain(domain)
                    .selector(selector)
                    .headers(names.clone())
                    .header_canonicalization(Canonicalization::Relaxed)
                    .body_canonicalization(Canonicalization::Relaxed);
                match identity {
                    Some(i) => s.agent_user_identifier(i),
                    None => s,
                }
            }};
        }
        let public_key =
            DkimPublicKey::of_private_key(&key).ok_or_else(|| bad_key("cannot read its public key".into()))?;
        let signer = match &key {
            PrivateKeyDer::Pkcs1(_) => Signer::Rsa(signer!(
                RsaKey::<Sha256>::from_key_der(key.clone_key()).map_err(|e| bad_key(e.to_string()))?
            )),
            PrivateKeyDer::Pkcs8(der) => match RsaKey::<Sha256>::from_key_der(key.clone_key()) {
                Ok(rsa) => Signer::Rsa(signer!(rsa)),
                Err(_) => Signer::Ed25519(signer!(Ed25519Key::from_pkcs8_maybe_unchecked_der(
                    der.secret_pkcs8_der()
                )
                .map_err(|e| bad_key(format!("neither RSA nor Ed25519: {e}")))?)),
            },
            _ => return Err(bad_key("unsupported key type (RSA or Ed25519 expected)".into())),
        };
        Ok(DkimConfig {
            domain: domain.to_string(),
            selector: selector.to_string(),
            signer: Arc::new(signer),
            public_key,
        })
    }

    /// The public half of the signing key: what `selector._domainkey.domain` must publish.
    pub fn public_key(&self) -> &DkimPublicKey {
        &self.public_key
    }

    /// Prepends the `DKIM-Signature:` header. The content goes through mail-auth's streaming
    /// signer chunk by chunk: files are read and encoded for the signature and again when sent,
    /// so the message is never held whole (nor copied).
    pub fn sign(&self, payload: Payload) -> Result<Payload> {
        macro_rules! stream {
            ($s:expr) => {{
                let mut stream = $s.sign_streaming();
                let mut chunks = payload.chunks();
                while let Some(chunk) = chunks.next_chunk() {
                    stream.write(chunk?);
                }
                stream.finish()
            }};
        }
        let signature = match &*self.signer {
            Signer::Rsa(s) => stream!(s),
            Signer::Ed25519(s) => stream!(s),
        };
        let header = signature.map(|s| s.to_header()).map_err(|e| {
            Error::new(
                ErrorKind::InvalidInput,
                Stage::Build,
                format!("dkim signing failed: {e}"),
            )
        })?;
        // mail-auth folds before the closing `;` when the b= value fills its last line exactly;
        // verifiers then see `b= ;` where `b=;` was signed (dkimpy fails it). Keep it unfolded.
        let header = match header.strip_suffix("\r\n\t;\r\n") {
            Some(head) => format!("{head};\r\n"),
            None => header,
        };
        Ok(payload.prepend(header.into_bytes()))
    }
}

/// A DKIM public key, as a DNS record publishes it (`k=rsa` / `k=ed25519`, `p=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DkimPublicKey {
    /// The RSA modulus (big-endian, no leading zero bytes).
    Rsa(Vec<u8>),
    /// The 32-byte Ed25519 public key.
    Ed25519(Vec<u8>),
}

impl DkimPublicKey {
    /// Reads a record's `k=` and decoded `p=`: RSA as SubjectPublicKeyInfo or bare RSAPublicKey.
    pub fn from_record(k: &str, p: &[u8]) -> Option<Self> {
        if k.eq_ignore_ascii_case("ed25519") {
            return (p.len() == 32).then(|| DkimPublicKey::Ed25519(p.to_vec()));
        }
        if !k.eq_ignore_ascii_case("rsa") {
            return None;
        }
        crate::der::rsa_modulus(p).map(|m| DkimPublicKey::Rsa(m.to_vec()))
    }

    fn of_private_key(key: &PrivateKeyDer<'_>) -> Option<Self> {
        use crate::der::element;
        // RSAPrivateKey ::= SEQUENCE { version, modulus, ... } (PKCS#1, alone or inside PKCS#8).
        let rsa_modulus = |pkcs1: &[u8]| -> Option<DkimPublicKey> {
            let (seq, _) = element(pkcs1)?;
            let (_version, rest) = element(seq.content)?;
            let (modulus, _) = element(rest)?;
            if modulus.tag != 0x02 {
                return None;
            }
            let m = modulus.content;
            Some(DkimPublicKey::Rsa(m[m.iter().position(|&b| b != 0)?..].to_vec()))
        };
        match key {
            PrivateKeyDer::Pkcs1(der) => rsa_modulus(der.secret_pkcs1_der()),
            PrivateKeyDer::Pkcs8(der) => {
                let der = der.secret_pkcs8_der();
                if let Ok(pair) = ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
                    use ring::signature::KeyPair;
                    return Some(DkimPublicKey::Ed25519(pair.public_key().as_ref().to_vec()));
                }
                let (seq, _) = element(der)?;
                let (_version, rest) = element(seq.content)?;
                let (_algorithm, rest) = element(rest)?;
                let (octets, _) = element(rest)?;
                rsa_modulus(octets.content)
            }
            _ => None,
        }
    }

    /// `"rsa"` or `"ed25519"`, the record's `k=` value.
    pub fn algorithm(&self) -> &'static str {
        match self {
            DkimPublicKey::Rsa(_) => "rsa",
            DkimPublicKey::Ed25519(_) => "ed25519",
        }
    }

    /// Key size in bits (the modulus length for RSA; 256 for Ed25519).
    pub fn bits(&self) -> usize {
        match self {
            DkimPublicKey::Rsa(m) => m.len() * 8 - m.first().map_or(0, |b| b.leading_zeros() as usize),
            DkimPublicKey::Ed25519(_) => 256,
        }
    }
}

/// The key types [`generate_key`] makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// RSA, 2048 bits unless told otherwise (at least 1024; at most 4096).
    Rsa(usize),
    Ed25519,
}

impl std::str::FromStr for KeyAlgorithm {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "rsa" | "rsa2048" | "rsa-2048" => Ok(KeyAlgorithm::Rsa(2048)),
            "rsa3072" | "rsa-3072" => Ok(KeyAlgorithm::Rsa(3072)),
            "rsa4096" | "rsa-4096" => Ok(KeyAlgorithm::Rsa(4096)),
            "ed25519" => Ok(KeyAlgorithm::Ed25519),
            other => Err(Error::invalid(format!(
                "unknown DKIM key algorithm {other:?} (expected rsa, rsa3072, rsa4096 or ed25519)"
            ))),
        }
    }
}

/// A new DKIM key pair and the DNS record that publishes it.
#[derive(Clone)]
pub struct GeneratedKey {
    pub algorithm: &'static str,
    pub bits: usize,
    /// `BEGIN PRIVATE KEY` (PKCS#8), readable by [`DkimConfig::new`], OpenSSL and the peers.
    pub private_key_pem: String,
    /// `selector._domainkey.domain`
    pub record_name: String,
    /// The TXT record's text: `v=DKIM1; k=rsa; p=...`.
    pub record_value: String,
    /// The same text cut into the 255-byte strings one TXT record is made of.
    pub record_strings: Vec<String>,
}

impl fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("algorithm", &self.algorithm)
            .field("bits", &self.bits)
            .field("record_name", &self.record_name)
            .field("record_value", &self.record_value)
            .finish_non_exhaustive()
    }
}

impl GeneratedKey {
    /// The record as a zone-file line (BIND syntax): `name. IN TXT ( "..." "..." )`.
    pub fn zone_line(&self) -> String {
        let strings: Vec<String> = self.record_strings.iter().map(|s| format!("\"{s}\"")).collect();
        format!("{}. IN TXT ( {} )", self.record_name, strings.join(" "))
    }
}

/// Cuts a TXT record's text into character-strings of at most 255 bytes (RFC 1035 3.3.14).
pub fn txt_strings(text: &str) -> Vec<String> {
    text.as_bytes()
        .chunks(255)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect()
}

/// Makes a key pair for `selector._domainkey.domain`.
pub fn generate_key(algorithm: KeyAlgorithm, domain: &str, selector: &str) -> Result<GeneratedKey> {
    use base64::Engine;
    check_dns_name("dkim domain", domain)?;
    check_dns_name("dkim selector", selector)?;
    let failed = |e: String| Error::new(ErrorKind::Io, Stage::Build, format!("dkim key generation failed: {e}"));
    let (private_der, public, bits, k) = match algorithm {
        KeyAlgorithm::Rsa(bits) => {
            use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey};
            if !(1024..=4096).contains(&bits) {
                return Err(Error::invalid(format!(
                    "RSA key size {bits}: expected 1024 to 4096 bits"
                )));
            }
            let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, bits).map_err(|e| failed(e.to_string()))?;
            let private = key
                .to_pkcs8_der()
                .map_err(|e| failed(e.to_string()))?
                .as_bytes()
                .to_vec();
            let public = key
                .to_public_key()
                .to_public_key_der()
                .map_err(|e| failed(e.to_string()))?
                .as_bytes()
                .to_vec();
            (private, public, bits, "rsa")
        }
        KeyAlgorithm::Ed25519 => {
            use ring::signature::{Ed25519KeyPair, KeyPair};
            let rng = ring::rand::SystemRandom::new();
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|e| failed(e.to_string()))?;
            let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|e| failed(e.to_string()))?;
            // ring writes PKCS#8 v2 (seed and public key), which OpenSSL 3.0 cannot read: keep
            // the RFC 8410 v1 form, the seed alone.
            let seed = pkcs8
                .as_ref()
                .get(16..48)
                .ok_or_else(|| failed("unexpected PKCS#8 layout".into()))?;
            let mut v1 = vec![
                0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
            ];
            v1.extend_from_slice(seed);
            (v1, pair.public_key().as_ref().to_vec(), 256, "ed25519")
        }
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let body = b64.encode(&private_der);
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    let record_value = format!("v=DKIM1; k={k}; p={}", b64.encode(&public));
    Ok(GeneratedKey {
        algorithm: k,
        bits,
        private_key_pem: pem,
        record_name: format!("{selector}._domainkey.{domain}"),
        record_strings: txt_strings(&record_value),
        record_value,
    })
}

fn check_dns_name(field: &str, value: &str) -> Result<()> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)) {
        return Err(Error::invalid(format!("{field} {value:?} is not a valid DNS name")));
    }
    Ok(())
}

/// RFC 6376 §3.4.3 "simple" body canonicalization: line ends as CRLF, trailing empty lines
/// removed, one CRLF at the end (an empty body is CRLF).
pub fn canonical_body_simple(body: &[u8]) -> Vec<u8> {
    let mut out = crate::text::normalize_breaks(body, b"\r\n");
    while out.ends_with(b"\r\n") {
        out.truncate(out.len() - 2);
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// RFC 6376 §3.4.2 "relaxed" header canonicalization of a header block: unfolded, names
/// lower-cased, runs of spaces and tabs as one space, none around the colon or at the ends.
/// Lines without a colon are kept as they are.
pub fn canonical_headers_relaxed(headers: &[u8]) -> Vec<u8> {
    let normalized = crate::text::normalize_breaks(headers, b"\r\n");
    let mut unfolded = Vec::with_capacity(normalized.len());
    let mut i = 0;
    while i < normalized.len() {
        if normalized[i..].starts_with(b"\r\n") && matches!(normalized.get(i + 2), Some(b' ' | b'\t')) {
            unfolded.push(b' ');
            i += 2;
            while matches!(normalized.get(i), Some(b' ' | b'\t')) {
                i += 1;
            }
            continue;
        }
        unfolded.push(normalized[i]);
        i += 1;
    }
    let squeeze = |v: &[u8]| -> Vec<u8> {
        let mut out = Vec::with_capacity(v.len());
        for &b in v {
            let ws = b == b' ' || b == b'\t';
            if ws {
                if out.last() != Some(&b' ') {
                    out.push(b' ');
                }
            } else {
                out.push(b);
            }
        }
        out
    };
    let trim = |v: &[u8]| -> Vec<u8> {
        let start = v.iter().position(|b| *b != b' ' && *b != b'\t').unwrap_or(v.len());
        let end = v
            .iter()
            .rposition(|b| *b != b' ' && *b != b'\t')
            .map_or(start, |e| e + 1);
        v[start..end.max(start)].to_vec()
    };
    let lines: Vec<Vec<u8>> = unfolded
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .map(|line| match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let mut out = trim(&line[..colon]).to_ascii_lowercase();
                out.push(b':');
                out.extend_from_slice(&trim(&squeeze(&line[colon + 1..])));
                out
            }
            None => line.to_vec(),
        })
        .collect();
    lines.join(&b"\r\n"[..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonicalizes_as_rfc6376_examples() {
        assert_eq!(canonical_body_simple(b""), b"\r\n");
        assert_eq!(
            canonical_body_simple(b" C \r\nD \t E\r\n\r\n\r\n"),
            b" C \r\nD \t E\r\n"
        );
        assert_eq!(
            canonical_headers_relaxed(b"A: X\r\nB : Y\t\r\n\tZ  \r\n"),
            b"a:X\r\nb:Y Z\r\n"
        );
    }

    /// Whatever the tag lengths before it, the signature never ends in a folded `;` (a
    /// selector 1 to 76 characters long moves the b= value through every line position).
    #[test]
    fn closing_semicolon_is_never_folded() {
        let key = generate_key(KeyAlgorithm::Rsa(2048), "example.com", "s")
            .unwrap()
            .private_key_pem;
        let mut seen_fold_point = false;
        for n in 1..=76 {
            let selector = "s".repeat(n);
            let dkim = DkimConfig::new("example.com", &selector, &key, None, None).unwrap();
            let signed = dkim
                .sign(Payload::from(
                    b"From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n".to_vec(),
                ))
                .unwrap()
                .into_bytes()
                .unwrap();
            let text = String::from_utf8(signed).unwrap();
            let header_end = text.find("\r\nFrom:").unwrap();
            assert!(
                !text[..header_end].ends_with("\t;"),
                "selector of {n}: {}",
                &text[..header_end]
            );
            seen_fold_point |= text[..header_end].lines().last().is_some_and(|l| l.len() > 76);
        }
        assert!(seen_fold_point, "no selector length reached the folding point");
    }
}
