//! Nodemailer transport options → `TransportConfig`, in one place.

use std::time::Duration;

use napi::bindgen_prelude::{Buffer, Env, Object};
use napi_derive::napi;
use polymailer::{
    ConnectionUrl, Credentials, DkimConfig, Error, OptionValue, PoolConfig, RateLimit, Security, Service, Timeouts,
    TransportConfig,
};

#[napi(object)]
pub struct AuthOptions {
    pub user: Option<String>,
    pub pass: Option<String>,
    #[napi(js_name = "type")]
    pub kind: Option<String>,
    pub access_token: Option<String>,
}

#[napi(object)]
pub struct TlsOptionsJs {
    pub reject_unauthorized: Option<bool>,
    /// PEM strings or DER buffers (index.js makes every item a Buffer).
    pub ca: Option<Vec<Buffer>>,
    pub servername: Option<String>,
    pub min_version: Option<String>,
    /// Client certificate chain and key (PEM; index.js joins arrays), for mutual TLS.
    pub cert: Option<Buffer>,
    pub key: Option<Buffer>,
    /// For an encrypted (PKCS#8) `key`.
    pub passphrase: Option<String>,
}

#[napi(object)]
pub struct DkimOptions {
    pub domain_name: String,
    pub key_selector: String,
    pub private_key: String,
}

impl DkimOptions {
    /// Nodemailer's `dkim` option as the core's signer.
    pub fn config(&self) -> polymailer::Result<DkimConfig> {
        DkimConfig::new(&self.domain_name, &self.key_selector, &self.private_key, None, None)
    }
}

/// The options `createTransport` takes, after index.js resolved `service` and URLs.
#[napi(object)]
pub struct TransportOptions {
    pub host: Option<String>,
    pub port: Option<u32>,
    pub secure: Option<bool>,
    #[napi(js_name = "requireTLS")]
    pub require_tls: Option<bool>,
    #[napi(js_name = "ignoreTLS")]
    pub ignore_tls: Option<bool>,
    pub auth: Option<AuthOptions>,
    pub name: Option<String>,
    /// Milliseconds, as Nodemailer takes them.
    pub connection_timeout: Option<f64>,
    pub greeting_timeout: Option<f64>,
    pub socket_timeout: Option<f64>,
    pub tls: Option<TlsOptionsJs>,
    pub pool: Option<bool>,
    pub max_connections: Option<u32>,
    pub max_messages: Option<f64>,
    pub rate_delta: Option<f64>,
    pub rate_limit: Option<u32>,
    pub dkim: Option<DkimOptions>,
    /// `{ domain, secret, prefix }`: a VERP envelope sender per recipient.
    pub verp: Option<VerpOptions>,
    pub allow_insecure_auth: Option<bool>,
    /// Authenticate even when the server does not offer AUTH (else AUTH only when offered).
    pub force_auth: Option<bool>,
    /// Continue in plain text when the server refuses STARTTLS.
    #[napi(js_name = "opportunisticTLS")]
    pub opportunistic_tls: Option<bool>,
    /// LMTP (LHLO, one reply per recipient).
    pub lmtp: Option<bool>,
    /// `host:port` to dial instead of `host` (index.js's relay for `getSocket` and `proxy`).
    pub connect_to: Option<String>,
    /// Record the SMTP transcript for the JS logger (Nodemailer's `logger` + `debug`).
    pub record_transcript: Option<bool>,
}

#[napi(object)]
pub struct VerpOptions {
    pub domain: String,
    pub secret: Buffer,
    pub prefix: Option<String>,
}

impl VerpOptions {
    pub fn config(self) -> polymailer::Result<polymailer::bounce::Verp> {
        let v = polymailer::bounce::Verp::new(&self.domain, self.secret.to_vec())?;
        match self.prefix {
            Some(p) => v.with_prefix(&p),
            None => Ok(v),
        }
    }
}

fn ms(v: Option<f64>, default: Duration) -> Duration {
    match v {
        Some(ms) if ms > 0.0 && ms.is_finite() => Duration::from_secs_f64(ms / 1000.0),
        _ => default,
    }
}

impl TryFrom<TransportOptions> for TransportConfig {
    type Error = Error;

    fn try_from(o: TransportOptions) -> Result<Self, Error> {
        let secure = o.secure.unwrap_or(o.port == Some(465));
        let port = o.port.map(|p| p as u16).unwrap_or(if secure { 465 } else { 587 });
        let mut c = TransportConfig::new(o.host.unwrap_or_else(|| "localhost".into()), port);
        c.security = Security::from_nodemailer(secure, o.require_tls.unwrap_or(false), o.ignore_tls.unwrap_or(false));
        if let Some(a) = o.auth {
            let user = a.user.unwrap_or_default();
            let oauth = a.kind.as_deref().is_some_and(|k| k.eq_ignore_ascii_case("oauth2"));
            let force = o.force_auth.unwrap_or(false);
            c.credentials = match (oauth, a.access_token, a.pass) {
                // Without a token yet, index.js provisions one before the first send
                // (oauth2_provision_cb, or a refresh token) and hands it over.
                (true, token, _) => Some(Credentials::oauth2(user, token.unwrap_or_default())),
                (false, _, Some(pass)) => Some(Credentials::password(user, pass)),
                (false, _, None) if force => Some(Credentials::password(user, String::new())),
                (false, _, None) => None,
            };
        }
        c.auth_if_offered = !o.force_auth.unwrap_or(false);
        c.lmtp = o.lmtp.unwrap_or(false);
        c.starttls_fallback = o.opportunistic_tls.unwrap_or(false);
        if let Some(addr) = o.connect_to {
            c.connect_to = Some(
                addr.parse()
                    .map_err(|_| Error::invalid(format!("connect address {addr:?} is not ip:port")))?,
            );
        }
        c.hello_name = o.name;
        let d = Timeouts::default();
        // Nodemailer's defaults: 2 min to connect, 30 s for the greeting, 10 min of socket inactivity.
        c.timeouts = Timeouts {
            connect: ms(o.connection_timeout, Duration::from_secs(120)),
            tls_handshake: ms(o.connection_timeout, d.tls_handshake),
            greeting: ms(o.greeting_timeout, d.greeting),
            command: ms(o.socket_timeout, Duration::from_secs(600)),
            data: ms(o.socket_timeout, Duration::from_secs(600)),
        };
        if let Some(t) = o.tls {
            c.tls.accept_invalid_certs = t.reject_unauthorized == Some(false);
            for ca in t.ca.unwrap_or_default() {
                c.tls.add_ca(&ca)?;
            }
            c.tls.server_name = t.servername;
            c.tls.min_version = t.min_version.map(|v| v.parse()).transpose()?;
            if let Some(cert) = t.cert {
                let key = t.key.as_deref().unwrap_or(&cert);
                c.tls.client_identity = Some(polymailer::ClientIdentity::from_pem(
                    &cert,
                    key,
                    t.passphrase.as_deref(),
                    "tls.cert",
                )?);
            }
        }
        c.pool = if o.pool.unwrap_or(false) {
            PoolConfig {
                max_connections: o.max_connections.unwrap_or(5).max(1) as usize,
                max_messages: o
                    .max_messages
                    .map_or(100, |m| if m.is_finite() { m.max(0.0) as usize } else { 0 }),
                ..PoolConfig::default()
            }
        } else {
            // Nodemailer without a pool: a connection per message, any number at once.
            PoolConfig {
                max_connections: 64,
                max_messages: 1,
                ..PoolConfig::default()
            }
        };
        if let Some(limit) = o.rate_limit.filter(|&l| l > 0) {
            c.rate_limit = Some(RateLimit {
                messages: limit,
                per: ms(o.rate_delta, Duration::from_secs(1)),
            });
        }
        if let Some(d) = o.dkim {
            c.dkim = Some(d.config()?);
        }
        if let Some(v) = o.verp {
            c.verp = Some(v.config()?);
        }
        c.allow_insecure_auth = o.allow_insecure_auth.unwrap_or(false);
        Ok(c)
    }
}

/// Nodemailer's `parseConnectionUrl`: the URL (core parser) as `createTransport` options, `tls.*`
/// query keys nested under `tls`, other dotted keys dropped; `{ error }` when it does not parse.
#[napi(ts_return_type = "TransportOptions & { error?: ErrorFields }")]
#[cfg_attr(test, allow(dead_code))]
pub fn parse_connection_url(env: &Env, url: String) -> napi::Result<Object<'_>> {
    let mut options = Object::new(env)?;
    let u = match ConnectionUrl::parse(&url) {
        Ok(u) => u,
        Err(e) => {
            options.set("error", crate::errors::fields(&e))?;
            return Ok(options);
        }
    };
    options.set("secure", u.secure)?;
    options.set("host", u.host)?;
    if let Some(port) = u.port {
        options.set("port", u32::from(port))?;
    }
    if let Some(user) = u.user {
        let mut auth = Object::new(env)?;
        auth.set("user", user)?;
        auth.set("pass", u.pass.unwrap_or_default())?;
        options.set("auth", auth)?;
    }
    let mut tls = None;
    for (key, value) in u.query {
        let (target, key) = match key.strip_prefix("tls.") {
            Some(k) => (tls.get_or_insert(Object::new(env)?), k.to_string()),
            None if key.contains('.') => continue,
            None => (&mut options, key),
        };
        match value {
            OptionValue::Flag(b) => target.set(key, b)?,
            OptionValue::Number(n) => target.set(key, n)?,
            OptionValue::Text(t) => target.set(key, t)?,
        }
    }
    if let Some(tls) = tls {
        options.set("tls", tls)?;
    }
    Ok(options)
}

/// A service preset as Nodemailer's `well-known` returns it.
#[napi(object)]
pub struct WellKnown {
    pub description: String,
    pub host: String,
    pub port: u32,
    pub secure: bool,
    #[napi(js_name = "ignoreTLS")]
    pub ignore_tls: Option<bool>,
}

/// The core's service table, by name, alias, domain or address (Nodemailer's `wellKnown`).
#[napi]
#[cfg_attr(test, allow(dead_code))]
pub fn well_known(key: String) -> Option<WellKnown> {
    Service::find(&key).map(|s| WellKnown {
        description: s.name.to_string(),
        host: s.host.to_string(),
        port: s.port.into(),
        secure: s.secure,
        ignore_tls: s.ignore_tls.then_some(true),
    })
}
