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
];

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
        for (field, value) in [("dkim domain", domain), ("dkim selector", selector)] {
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)) {
                return Err(Error::invalid(format!("{field} {value:?} is not a valid DNS name")));
            }
        }
        let bad_key = |why: String| Error::invalid(format!("dkim private key: {why}"));
        let key = PrivateKeyDer::from_pem_slice(private_key_pem.as_bytes())
            .map_err(|e| bad_key(format!("not a PEM private key ({e})")))?;
        let names: Vec<String> = match headers {
            Some(h) => h.to_vec(),
            None => DEFAULT_SIGNED_HEADERS.iter().map(|h| h.to_string()).collect(),
        };
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
        })
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
        Ok(payload.prepend(header.into_bytes()))
    }
}
