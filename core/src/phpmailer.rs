//! PHPMailer's connection properties, as a plain snapshot the PHP binding reads from its
//! object, → configurations by PHPMailer's rules: the `Host` failover list (`tls://a:587;b`),
//! SMTPSecure and SMTPAutoTLS, `SMTPOptions['ssl']`, AuthType, Timeout (seconds), DKIM_* and
//! VERP_*. The snapshot is hashable (a change between sends opens a new connection) and never
//! shows its secrets.

use std::time::Duration;

use crate::config::{AuthMechanism, ClientIdentity, Credentials, Security, Timeouts, TlsOptions, TransportConfig};
use crate::dkim::DkimConfig;
use crate::error::{Error, ErrorKind, Result};
use crate::transcript::Transcript;
use crate::{runtime, Mailer};

/// One `Host` entry: `host`, `host:port`, `tls://host:587`, `ssl://host:465`.
struct HostEntry {
    host: String,
    port: Option<u16>,
    scheme: Option<String>,
}

fn parse_hosts(hosts: &str) -> Vec<HostEntry> {
    hosts
        .split(';')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(|h| {
            let (scheme, rest) = match h.split_once("://") {
                Some((s, r)) => (Some(s.to_ascii_lowercase()), r),
                None => (None, h),
            };
            let (host, port) = match rest.rsplit_once(':') {
                Some((host, port)) if !host.contains(':') || host.ends_with(']') => match port.parse() {
                    Ok(p) => (host.to_string(), Some(p)),
                    Err(_) => (rest.to_string(), None),
                },
                _ => (rest.to_string(), None),
            };
            HostEntry {
                host: host.trim_start_matches('[').trim_end_matches(']').to_string(),
                port,
                scheme,
            }
        })
        .collect()
}

/// What decides the connection, read from the PHPMailer object's properties once per send:
/// plain values, so this module needs nothing of the PHP object. `Debug` hides the secrets.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Settings {
    pub host: String,
    pub port: i64,
    pub smtp_secure: String,
    pub auto_tls: bool,
    pub smtp_auth: bool,
    pub username: String,
    pub password: String,
    pub auth_type: String,
    /// With `AuthType = 'XOAUTH2'` and `setOAuth()`: the provider's `getOauth64()` answer.
    pub oauth64: Option<String>,
    pub timeout: i64,
    pub helo: Option<String>,
    pub hostname: Option<String>,
    pub ssl: Ssl,
    pub dkim_domain: Option<String>,
    pub dkim_selector: Option<String>,
    pub dkim_private: Option<String>,
    pub dkim_private_string: Option<String>,
    pub dkim_identity: Option<String>,
    /// `DKIM_extraHeaders`: signed besides the core's default list.
    pub dkim_extra_headers: Vec<String>,
    pub verp_domain: Option<String>,
    pub verp_secret: Option<String>,
    pub verp_prefix: Option<String>,
    pub debug: bool,
}

/// `SMTPOptions['ssl']`, PHP's stream-context TLS words: verify_peer, verify_peer_name,
/// allow_self_signed, cafile (instead of the default store), peer_name, peer_fingerprint (hex
/// digests), local_cert and local_pk (a client certificate) and the key's passphrase.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Ssl {
    pub verify_peer: Option<bool>,
    pub verify_peer_name: Option<bool>,
    pub allow_self_signed: Option<bool>,
    pub cafile: Option<String>,
    pub peer_name: Option<String>,
    pub peer_fingerprint: Vec<String>,
    pub local_cert: Option<String>,
    pub local_pk: Option<String>,
    pub passphrase: Option<String>,
}

impl Ssl {
    fn apply(&self, tls: &mut TlsOptions) -> Result<()> {
        tls.accept_invalid_certs = self.verify_peer == Some(false);
        tls.accept_invalid_hostnames = self.verify_peer_name == Some(false);
        tls.allow_self_signed = self.allow_self_signed == Some(true);
        if let Some(cafile) = &self.cafile {
            // PHP reads the cafile instead of the default store.
            tls.native_roots = false;
            tls.add_ca_file(cafile)?;
        }
        for digest in &self.peer_fingerprint {
            tls.add_fingerprint(digest)?;
        }
        if let Some(cert) = &self.local_cert {
            let key = self.local_pk.as_deref().map(std::path::Path::new);
            tls.client_identity = Some(ClientIdentity::from_files(cert, key, self.passphrase.as_deref())?);
        }
        tls.server_name = self.peer_name.clone();
        Ok(())
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// A keyed hash of the settings (a change between sends opens a new connection): the
    /// password and DKIM key are never held in a cache key.
    pub fn fingerprint(&self) -> u64 {
        use std::hash::BuildHasher;
        static KEY: std::sync::OnceLock<std::collections::hash_map::RandomState> = std::sync::OnceLock::new();
        KEY.get_or_init(Default::default).hash_one(self)
    }

    /// A Mailer with a live connection to the first `Host` entry that works (PHPMailer's
    /// failover). `transcript` receives the SMTP traffic when `SMTPDebug` is on.
    pub fn mailer(&self, transcript: Transcript) -> Result<Mailer> {
        let hosts = parse_hosts(&self.host);
        if hosts.is_empty() {
            return Err(Error::invalid("Host is empty"));
        }
        let mut last = None;
        for entry in &hosts {
            let mut config = self.config_for(entry, &transcript)?;
            // Messages are DKIM-signed when built (preSend), not again by the engine.
            config.dkim = None;
            let mailer = Mailer::new(config)?;
            match runtime::block_on(mailer.connect()) {
                Ok(()) => return Ok(mailer),
                Err(e) if e.kind() == ErrorKind::InvalidInput => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("at least one host"))
    }

    /// The configuration for the first `Host` entry, without connecting (`preflight()`).
    pub fn first_config(&self) -> Result<TransportConfig> {
        let hosts = parse_hosts(&self.host);
        let entry = hosts.first().ok_or_else(|| Error::invalid("Host is empty"))?;
        let silent: Transcript = std::sync::Arc::new(|_, _| {});
        self.config_for(entry, &silent)
    }

    /// The DKIM signer `DKIM_domain`, `DKIM_selector` and the key describe (None without
    /// them); `DKIM_extraHeaders` are signed besides the core's default list.
    pub fn dkim_config(&self) -> Result<Option<DkimConfig>> {
        let (Some(domain), Some(selector)) = (&self.dkim_domain, &self.dkim_selector) else {
            return Ok(None);
        };
        let key = match (&self.dkim_private_string, &self.dkim_private) {
            (Some(k), _) => k.clone(),
            (None, Some(path)) => DkimConfig::read_key_file(path)?,
            (None, None) => return Err(Error::invalid("no DKIM_private key")),
        };
        let headers: Option<Vec<String>> = (!self.dkim_extra_headers.is_empty()).then(|| {
            let mut h: Vec<String> = crate::dkim::DEFAULT_SIGNED_HEADERS
                .iter()
                .map(|h| h.to_string())
                .collect();
            h.extend(self.dkim_extra_headers.iter().cloned());
            h
        });
        Ok(Some(DkimConfig::new(
            domain,
            selector,
            &key,
            self.dkim_identity.as_deref(),
            headers.as_deref(),
        )?))
    }

    fn config_for(&self, entry: &HostEntry, transcript: &Transcript) -> Result<TransportConfig> {
        let secure = entry
            .scheme
            .clone()
            .unwrap_or_else(|| self.smtp_secure.to_ascii_lowercase());
        let port = entry.port.unwrap_or_else(|| self.port.clamp(1, 65535) as u16);
        let mut c = TransportConfig::new(entry.host.clone(), port);
        c.security = Security::from_phpmailer(&secure, self.auto_tls);
        if self.smtp_auth {
            let mechanism: AuthMechanism = self.auth_type.parse()?;
            c.credentials = Some(match (&self.oauth64, mechanism) {
                (Some(response), AuthMechanism::Xoauth2) => Credentials::from_xoauth2_response(response)?,
                _ => Credentials::with_mechanism(self.username.clone(), self.password.clone(), mechanism),
            });
        }
        c.timeouts = Timeouts::all(Duration::from_secs(self.timeout.max(1) as u64));
        c.hello_name = self.helo.clone().or_else(|| self.hostname.clone());
        self.ssl.apply(&mut c.tls)?;
        c.dkim = self.dkim_config()?;
        if let (Some(domain), Some(secret)) = (&self.verp_domain, &self.verp_secret) {
            let verp = crate::bounce::Verp::new(domain, secret.as_bytes())?;
            c.verp = Some(match &self.verp_prefix {
                Some(p) => verp.with_prefix(p)?,
                None => verp,
            });
        }
        if self.debug {
            c.transcript = Some(transcript.clone());
        }
        Ok(c)
    }
}
