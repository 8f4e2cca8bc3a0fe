//! Transport configuration: where to connect, how to secure and authenticate, limits.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use rustls_pki_types::CertificateDer;

use crate::dkim::DkimConfig;
use crate::error::{Error, ErrorKind, Result, Stage};
use crate::transcript::Transcript;

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain text; STARTTLS is never attempted.
    None,
    /// STARTTLS when the server offers it (a failed handshake is still an error).
    StartTlsOpportunistic,
    /// STARTTLS or fail.
    StartTlsRequired,
    /// TLS from the first byte (SMTPS, usually port 465).
    ImplicitTls,
}

/// SASL mechanism for AUTH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMechanism {
    /// PLAIN if offered, else LOGIN (XOAUTH2 when the credentials hold a token).
    Auto,
    Plain,
    Login,
    /// RFC 2195 challenge-response: the password never crosses the wire.
    CramMd5,
    Xoauth2,
}

impl AuthMechanism {
    /// The SASL name as servers advertise it (`CRAM-MD5`); `Auto` has none.
    pub fn sasl_name(self) -> Option<&'static str> {
        match self {
            AuthMechanism::Auto => None,
            AuthMechanism::Plain => Some("PLAIN"),
            AuthMechanism::Login => Some("LOGIN"),
            AuthMechanism::CramMd5 => Some("CRAM-MD5"),
            AuthMechanism::Xoauth2 => Some("XOAUTH2"),
        }
    }

    /// smtplib's `login()` order: each one the server offers is tried until one succeeds.
    pub const SMTPLIB_ORDER: [AuthMechanism; 3] = [AuthMechanism::CramMd5, AuthMechanism::Plain, AuthMechanism::Login];
}

/// The words every binding and `from_url` accept: `none`/`plain`, `opportunistic`,
/// `starttls`/`required`, `tls`/`ssl`/`implicit`/`smtps`/`wrapper` (any case).
impl std::str::FromStr for Security {
    type Err = Error;

    fn from_str(s: &str) -> Result<Security> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "none" | "plain" => Security::None,
            "opportunistic" | "starttls-opportunistic" => Security::StartTlsOpportunistic,
            "starttls" | "required" | "starttls-required" => Security::StartTlsRequired,
            "tls" | "ssl" | "implicit" | "smtps" | "wrapper" => Security::ImplicitTls,
            other => {
                return Err(Error::invalid(format!(
                    "security must be none, opportunistic, starttls or tls, not {other:?}"
                )))
            }
        })
    }
}

impl Security {
    /// The word `FromStr` reads back: `none`, `opportunistic`, `starttls`, `tls`.
    pub fn as_str(self) -> &'static str {
        match self {
            Security::None => "none",
            Security::StartTlsOpportunistic => "opportunistic",
            Security::StartTlsRequired => "starttls",
            Security::ImplicitTls => "tls",
        }
    }

    /// Nodemailer's `secure`, `requireTLS` and `ignoreTLS`.
    pub fn from_nodemailer(secure: bool, require_tls: bool, ignore_tls: bool) -> Security {
        match (secure, ignore_tls, require_tls) {
            (true, _, _) => Security::ImplicitTls,
            (false, true, _) => Security::None,
            (false, false, true) => Security::StartTlsRequired,
            (false, false, false) => Security::StartTlsOpportunistic,
        }
    }

    /// The `SMTPSecure` and `SMTPAutoTLS` values `from_phpmailer` reads back as this mode.
    pub fn to_phpmailer(self) -> (&'static str, bool) {
        match self {
            Security::None => ("", false),
            Security::StartTlsOpportunistic => ("", true),
            Security::StartTlsRequired => ("tls", true),
            Security::ImplicitTls => ("ssl", false),
        }
    }

    /// PHPMailer's `SMTPSecure` (`'ssl'` is implicit TLS, `'tls'` is STARTTLS) and `SMTPAutoTLS`.
    pub fn from_phpmailer(smtp_secure: &str, auto_tls: bool) -> Security {
        match smtp_secure.to_ascii_lowercase().as_str() {
            "ssl" | "smtps" => Security::ImplicitTls,
            "tls" | "starttls" => Security::StartTlsRequired,
            _ if auto_tls => Security::StartTlsOpportunistic,
            _ => Security::None,
        }
    }
}

/// `plain`, `login`, `xoauth2`, or empty/`auto` (any case).
impl std::str::FromStr for AuthMechanism {
    type Err = Error;

    fn from_str(s: &str) -> Result<AuthMechanism> {
        Ok(match s.to_ascii_uppercase().as_str() {
            "" | "AUTO" => AuthMechanism::Auto,
            "PLAIN" => AuthMechanism::Plain,
            "LOGIN" => AuthMechanism::Login,
            "CRAM-MD5" | "CRAM_MD5" | "CRAMMD5" => AuthMechanism::CramMd5,
            "XOAUTH2" => AuthMechanism::Xoauth2,
            other => {
                return Err(Error::invalid(format!(
                    "auth mechanism {other} is not supported (PLAIN, LOGIN, CRAM-MD5, XOAUTH2)"
                )))
            }
        })
    }
}

impl Credentials {
    /// Credentials for `mechanism`: the secret is an OAuth2 access token for XOAUTH2.
    pub fn with_mechanism(username: impl Into<String>, secret: impl Into<String>, mechanism: AuthMechanism) -> Self {
        let mut c = match mechanism {
            AuthMechanism::Xoauth2 => Credentials::oauth2(username, secret),
            _ => Credentials::password(username, secret),
        };
        c.mechanism = mechanism;
        c
    }

    /// XOAUTH2 credentials from a ready initial response, base64 of
    /// `user=<name>\x01auth=Bearer <token>\x01\x01` (what PHPMailer's `OAuthTokenProvider`
    /// hands over). CR, LF or NUL in either part, or another shape, is `InvalidInput`.
    pub fn from_xoauth2_response(encoded: &str) -> Result<Self> {
        use base64::Engine;
        let bad = || Error::invalid("the OAuth token provider returned no valid XOAUTH2 response");
        let raw = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| bad())?;
        let text = String::from_utf8(raw).map_err(|_| bad())?;
        let body = text.strip_suffix("\x01\x01").ok_or_else(bad)?;
        let (user, auth) = body.split_once('\x01').ok_or_else(bad)?;
        let user = user.strip_prefix("user=").ok_or_else(bad)?;
        let token = auth.strip_prefix("auth=Bearer ").ok_or_else(bad)?;
        if [user, token]
            .iter()
            .any(|s| s.is_empty() || s.contains(['\r', '\n', '\0', '\x01']))
        {
            return Err(bad());
        }
        Ok(Credentials::oauth2(user, token))
    }
}

/// The secret part of the credentials. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    Password(String),
    /// An OAuth2 access token, for XOAUTH2.
    OAuth2Token(String),
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Password(_) => f.write_str("Password(****)"),
            Secret::OAuth2Token(_) => f.write_str("OAuth2Token(****)"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub secret: Secret,
    pub mechanism: AuthMechanism,
}

impl Credentials {
    pub fn password(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials {
            username: username.into(),
            secret: Secret::Password(password.into()),
            mechanism: AuthMechanism::Auto,
        }
    }

    pub fn oauth2(username: impl Into<String>, token: impl Into<String>) -> Self {
        Credentials {
            username: username.into(),
            secret: Secret::OAuth2Token(token.into()),
            mechanism: AuthMechanism::Xoauth2,
        }
    }
}

/// Every wait has a bound: nothing hangs past these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub tls_handshake: Duration,
    pub greeting: Duration,
    /// Each command's write and reply.
    pub command: Duration,
    /// Writing the content and waiting for the reply to the final dot.
    pub data: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(30),
            tls_handshake: Duration::from_secs(30),
            greeting: Duration::from_secs(30),
            command: Duration::from_secs(60),
            data: Duration::from_secs(600),
        }
    }
}

impl Timeouts {
    /// One bound for every step, as smtplib's and PHPMailer's single `timeout` means.
    pub fn all(d: Duration) -> Self {
        Timeouts {
            connect: d,
            tls_handshake: d,
            greeting: d,
            command: d,
            data: d,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    Tls12,
    Tls13,
}

/// Certificate verification is on by default, against the system roots plus `extra_ca`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    /// Trust the operating system's root certificates.
    pub native_roots: bool,
    /// Extra trusted CA certificates (DER).
    pub extra_ca: Vec<CertificateDer<'static>>,
    /// DANGER: accept any certificate, including self-signed and expired ones.
    pub accept_invalid_certs: bool,
    /// DANGER: accept a valid certificate issued for another name.
    pub accept_invalid_hostnames: bool,
    /// Accept a self-signed server certificate that is not in the trusted set (PHP's
    /// `allow_self_signed`); its validity period and name are still checked.
    pub allow_self_signed: bool,
    /// The server certificate's SHA-256 (32 bytes) or SHA-1 (20 bytes) digest must be one of
    /// these (PHP's `peer_fingerprint`); checked in addition to everything else.
    pub fingerprints: Vec<Vec<u8>>,
    /// Name to verify (and send as SNI) instead of the host.
    pub server_name: Option<String>,
    pub min_version: Option<TlsVersion>,
    /// A client certificate for servers that ask for one (mutual TLS).
    pub client_identity: Option<ClientIdentity>,
}

/// A client certificate chain and its private key (mutual TLS). The key never appears in
/// `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    pub chain: Vec<CertificateDer<'static>>,
    key: Vec<u8>,
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("chain", &self.chain.len())
            .field("key", &"****")
            .finish()
    }
}

impl ClientIdentity {
    /// The certificate chain (PEM) and its key (PEM: PKCS#8, PKCS#1 or SEC1, or an encrypted
    /// PKCS#8 key with its `passphrase`; the same text as the chain when both are in one
    /// file). `what` names the source in errors.
    pub fn from_pem(chain: &[u8], key: &[u8], passphrase: Option<&str>, what: &str) -> Result<ClientIdentity> {
        use rustls_pki_types::pem::PemObject;
        let tls_err = |m: String| Error::new(ErrorKind::Tls, Stage::Build, m);
        let chain = CertificateDer::pem_slice_iter(chain)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| tls_err(format!("client certificate {what}: {e}")))?;
        if chain.is_empty() {
            return Err(tls_err(format!("client certificate {what}: no CERTIFICATE in PEM")));
        }
        let key = if let Some(block) = pem_block(key, "ENCRYPTED PRIVATE KEY") {
            let passphrase = passphrase
                .ok_or_else(|| tls_err(format!("client key {what}: the key is encrypted; give its passphrase")))?;
            let (_, doc) =
                pkcs8::SecretDocument::from_pem(block).map_err(|e| tls_err(format!("client key {what}: {e}")))?;
            let decrypted = pkcs8::EncryptedPrivateKeyInfo::try_from(doc.as_bytes())
                .and_then(|info| info.decrypt(passphrase))
                .map_err(|_| tls_err(format!("client key {what}: cannot decrypt it (wrong passphrase?)")))?;
            rustls_pki_types::PrivateKeyDer::Pkcs8(decrypted.as_bytes().to_vec().into())
        } else if key.windows(9).any(|w| w == b"ENCRYPTED") {
            return Err(tls_err(format!(
                "client key {what}: legacy encrypted PEM is not supported; convert it with `openssl pkcs8 -topk8 -in KEY -out KEY.p8`"
            )));
        } else {
            rustls_pki_types::PrivateKeyDer::from_pem_slice(key)
                .map_err(|e| tls_err(format!("client key {what}: {e}")))?
        };
        Ok(ClientIdentity {
            chain: chain.into_iter().map(CertificateDer::into_owned).collect(),
            key: key.secret_der().to_vec(),
        })
    }

    /// From files: the chain, and the key (`None`: in the chain's file, as PHP's `local_cert`).
    pub fn from_files(chain: impl AsRef<Path>, key: Option<&Path>, passphrase: Option<&str>) -> Result<ClientIdentity> {
        let read = |p: &Path| {
            std::fs::read(p).map_err(|e| {
                Error::new(
                    ErrorKind::Tls,
                    Stage::Build,
                    format!("client certificate file {}: {e}", p.display()),
                )
                .with_source(e)
            })
        };
        let chain = chain.as_ref();
        let cert = read(chain)?;
        let key_bytes = match key {
            Some(k) => read(k)?,
            None => cert.clone(),
        };
        ClientIdentity::from_pem(&cert, &key_bytes, passphrase, &chain.display().to_string())
    }

    /// The key as rustls takes it.
    pub fn key(&self) -> rustls_pki_types::PrivateKeyDer<'static> {
        rustls_pki_types::PrivateKeyDer::try_from(self.key.clone()).expect("checked when loaded")
    }
}

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions {
            native_roots: true,
            extra_ca: Vec::new(),
            accept_invalid_certs: false,
            accept_invalid_hostnames: false,
            allow_self_signed: false,
            fingerprints: Vec::new(),
            server_name: None,
            min_version: None,
            client_identity: None,
        }
    }
}

impl TlsOptions {
    /// Adds every certificate of a PEM bundle, or one DER certificate.
    pub fn add_ca(&mut self, bytes: &[u8]) -> Result<()> {
        use rustls_pki_types::pem::PemObject;
        if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
            let mut found = 0;
            for cert in CertificateDer::pem_slice_iter(bytes) {
                let cert = cert.map_err(|e| Error::invalid(format!("tls ca: invalid PEM: {e}")))?;
                self.extra_ca.push(cert.into_owned());
                found += 1;
            }
            if found == 0 {
                return Err(Error::invalid("tls ca: no CERTIFICATE in PEM"));
            }
        } else {
            if bytes.first() != Some(&0x30) {
                return Err(Error::invalid("tls ca: neither PEM nor DER"));
            }
            self.extra_ca.push(CertificateDer::from(bytes.to_vec()));
        }
        Ok(())
    }

    /// A certificate digest as PHP writes `peer_fingerprint`: hex (colons allowed), 40 digits
    /// for SHA-1, 64 for SHA-256.
    pub fn add_fingerprint(&mut self, hex: &str) -> Result<()> {
        let digits: String = hex.chars().filter(|c| *c != ':').collect();
        let bytes = (0..digits.len())
            .step_by(2)
            .map(|i| digits.get(i..i + 2).and_then(|d| u8::from_str_radix(d, 16).ok()))
            .collect::<Option<Vec<u8>>>()
            .filter(|b| b.len() == 20 || b.len() == 32)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "tls fingerprint {hex:?}: 40 (SHA-1) or 64 (SHA-256) hex digits"
                ))
            })?;
        self.fingerprints.push(bytes);
        Ok(())
    }

    pub fn add_ca_file(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = std::fs::read(path)
            .map_err(|e| Error::invalid(format!("tls ca file {}: {e}", path.display())).with_source(e))?;
        self.add_ca(&bytes)
    }
}

/// The text of the first PEM block with this label, if any.
fn pem_block<'a>(pem: &'a [u8], label: &str) -> Option<&'a str> {
    let text = std::str::from_utf8(pem).ok()?;
    let begin = text.find(&format!("-----BEGIN {label}-----"))?;
    let end_marker = format!("-----END {label}-----");
    let end = text[begin..].find(&end_marker)? + begin + end_marker.len();
    Some(&text[begin..end])
}

/// Connection reuse. `max_connections` bounds open connections, not only idle ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    pub max_connections: usize,
    /// Close a connection after this many messages (0 = unlimited).
    pub max_messages: usize,
    /// Close an idle connection after this long.
    pub idle_timeout: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_connections: 1,
            max_messages: 0,
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// At most `messages` started per `per` window (Nodemailer's rateLimit / rateDelta).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub messages: u32,
    pub per: Duration,
}

/// Everything needed to reach and use one SMTP server.
#[derive(Clone)]
pub struct TransportConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub credentials: Option<Credentials>,
    /// Allow AUTH over plain text to a non-loopback host (off: refused before connecting).
    pub allow_insecure_auth: bool,
    /// Send content with BDAT (RFC 3030) when the server offers CHUNKING and PIPELINING:
    /// one round trip per message instead of two, no dot-stuffing. On by default.
    pub use_bdat: bool,
    /// LMTP (RFC 2033): LHLO instead of EHLO, and one reply per accepted recipient after the
    /// content, so each recipient's delivery is reported on its own.
    pub lmtp: bool,
    /// With credentials: authenticate only when the server offers AUTH (Nodemailer without
    /// `forceAuth`). Off: credentials mean AUTH, and a server without it is an error.
    pub auth_if_offered: bool,
    /// With opportunistic STARTTLS: a server that refuses the STARTTLS command (a 4xx/5xx
    /// reply, not 421) is used in plain text (Nodemailer's `opportunisticTLS`). A failed
    /// handshake still fails; plain-text AUTH stays refused to a remote host.
    pub starttls_fallback: bool,
    /// Dial this address instead of resolving `host` (a relay or proxy tunnel in front of the
    /// server). `host` still names the server: TLS verification, SNI and the plain-text AUTH
    /// rule all use it.
    pub connect_to: Option<std::net::SocketAddr>,
    /// EHLO name; default: this machine's host name.
    pub hello_name: Option<String>,
    /// Local address to bind before connecting (smtplib's `source_address`).
    pub source_address: Option<std::net::SocketAddr>,
    pub timeouts: Timeouts,
    pub tls: TlsOptions,
    pub pool: PoolConfig,
    pub rate_limit: Option<RateLimit>,
    pub dkim: Option<DkimConfig>,
    /// VERP: each recipient gets its own transaction and envelope sender
    /// (`bounces+alice=example.com-…@domain`), so bounces name who bounced.
    pub verp: Option<crate::bounce::Verp>,
    /// Receives every protocol line (AUTH payloads masked).
    pub transcript: Option<Transcript>,
}

impl fmt::Debug for TransportConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("lmtp", &self.lmtp)
            .field("credentials", &self.credentials)
            .field("timeouts", &self.timeouts)
            .field("pool", &self.pool)
            .field("dkim", &self.dkim.as_ref().map(|d| (&d.domain, &d.selector)))
            .field("verp", &self.verp)
            .finish_non_exhaustive()
    }
}

impl TransportConfig {
    /// A config for `host:port`; port 465 means implicit TLS, any other opportunistic STARTTLS.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        TransportConfig {
            host: host.into(),
            port,
            security: if port == 465 {
                Security::ImplicitTls
            } else {
                Security::StartTlsOpportunistic
            },
            credentials: None,
            allow_insecure_auth: false,
            use_bdat: true,
            lmtp: false,
            auth_if_offered: false,
            starttls_fallback: false,
            connect_to: None,
            hello_name: None,
            source_address: None,
            timeouts: Timeouts::default(),
            tls: TlsOptions::default(),
            pool: PoolConfig::default(),
            rate_limit: None,
            dkim: None,
            verp: None,
            transcript: None,
        }
    }

    pub fn security(mut self, security: Security) -> Self {
        self.security = security;
        self
    }

    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    pub fn tls(mut self, tls: TlsOptions) -> Self {
        self.tls = tls;
        self
    }

    pub fn pool(mut self, pool: PoolConfig) -> Self {
        self.pool = pool;
        self
    }

    pub fn dkim(mut self, dkim: DkimConfig) -> Self {
        self.dkim = Some(dkim);
        self
    }

    pub fn verp(mut self, verp: crate::bounce::Verp) -> Self {
        self.verp = Some(verp);
        self
    }

    pub fn transcript(mut self, transcript: Transcript) -> Self {
        self.transcript = Some(transcript);
        self
    }

    /// Checks the configuration before any I/O.
    pub fn validate(&self) -> Result<()> {
        crate::address::check_no_control("host", &self.host)?;
        if self.host.is_empty() {
            return Err(Error::invalid("host is empty"));
        }
        if self.port == 0 {
            return Err(Error::invalid("port is 0"));
        }
        if let Some(name) = &self.hello_name {
            crate::address::check_no_control("hello name", name)?;
            if name.is_empty() || name.contains(' ') {
                return Err(Error::invalid("hello name must be one word"));
            }
        }
        if let Some(c) = &self.credentials {
            crate::address::check_no_control("username", &c.username)?;
            let secret = match &c.secret {
                Secret::Password(p) | Secret::OAuth2Token(p) => p,
            };
            if secret.contains(['\0', '\r', '\n']) {
                return Err(Error::invalid("password contains a forbidden control character"));
            }
        }
        if self.pool.max_connections == 0 {
            return Err(Error::invalid("pool.max_connections must be at least 1"));
        }
        if self.credentials.is_some() {
            // Settings that never encrypt cannot carry credentials to another host.
            self.check_plaintext_auth(self.security != Security::None)?;
        }
        Ok(())
    }

    /// The one plain-text AUTH rule: credentials go over an unencrypted connection only to this
    /// machine or when explicitly allowed. `encrypted`: whether TLS is (or will be) active.
    pub fn check_plaintext_auth(&self, encrypted: bool) -> Result<()> {
        if encrypted || self.allow_insecure_auth || self.host_is_loopback() {
            return Ok(());
        }
        Err(Error::invalid(format!(
            "refusing to send credentials in plain text to {}: use STARTTLS or implicit TLS, or allow insecure auth explicitly",
            self.host
        )))
    }

    /// True when the host is this machine (plain-text AUTH is allowed there).
    pub fn host_is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
            || self
                .host
                .parse::<std::net::IpAddr>()
                .map(|ip| ip.is_loopback())
                .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_xoauth2_initial_response() {
        use base64::Engine;
        let enc = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let c = Credentials::from_xoauth2_response(&enc("user=me@x.org\x01auth=Bearer tok\x01\x01")).unwrap();
        assert_eq!(
            (c.username.as_str(), &c.secret),
            ("me@x.org", &Secret::OAuth2Token("tok".into()))
        );
        assert_eq!(c.mechanism, AuthMechanism::Xoauth2);
        for bad in [
            "user=a\x01auth=Bearer t\r\nX\x01\x01",
            "user=a\x01auth=Basic t\x01\x01",
            "oauth",
        ] {
            let e = Credentials::from_xoauth2_response(&enc(bad)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
        }
        assert!(Credentials::from_xoauth2_response("not base64!").is_err());
    }

    #[test]
    fn parses_urls() {
        let c = TransportConfig::from_url("smtp://me%40example.com:p%40ss@mail.example.com?tls=required&timeout=5")
            .unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.security),
            ("mail.example.com", 587, Security::StartTlsRequired)
        );
        let creds = c.credentials.unwrap();
        assert_eq!(creds.username, "me@example.com");
        assert_eq!(creds.secret, Secret::Password("p@ss".into()));
        assert_eq!(c.timeouts.command, Duration::from_secs(5));
        let c = TransportConfig::from_url("smtps://host").unwrap();
        assert_eq!((c.port, c.security), (465, Security::ImplicitTls));
        assert!(TransportConfig::from_url("http://host").is_err());
        assert!(TransportConfig::from_url("smtp://host?bogus=1").is_err());
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let c = TransportConfig::new("h", 25).credentials(Credentials::password("u", "hunter2"));
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
