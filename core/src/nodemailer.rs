//! Nodemailer's transport options (`createTransport({...})`, after a `service` preset or a
//! connection URL was merged in) read into a [`TransportConfig`] by Nodemailer's rules: the
//! port's default security, its timeouts (milliseconds), a connection per message unless
//! pooled, `tls.*` as Node's TLS options take them.

use std::time::Duration;

use crate::bounce::Verp;
use crate::config::{Credentials, PoolConfig, RateLimit, Security, Timeouts, TlsOptions, TransportConfig};
use crate::dkim::DkimConfig;
use crate::error::{Error, ErrorKind, Result, Stage};
use crate::value::Value;

/// The option keys read here: a binding converts these and leaves the rest of the object
/// (loggers, callbacks) alone. `connectTo` (`ip:port`, dialled instead of `host`) is
/// polymailer's, for a binding's relay in front of `getSocket`/`proxy`.
pub const OPTION_KEYS: &[&str] = &[
    "host",
    "port",
    "secure",
    "requireTLS",
    "ignoreTLS",
    "auth",
    "name",
    "connectionTimeout",
    "greetingTimeout",
    "socketTimeout",
    "tls",
    "pool",
    "maxConnections",
    "maxMessages",
    "rateDelta",
    "rateLimit",
    "dkim",
    "verp",
    "allowInsecureAuth",
    "forceAuth",
    "opportunisticTLS",
    "lmtp",
    "connectTo",
];

/// A number as Nodemailer reads one (`Number(v)`: `"2525"` is 2525); none when not given.
fn number(o: &Value, key: &str) -> Result<Option<f64>> {
    match o.get(&[key]) {
        None => Ok(None),
        Some(Value::Number(n)) => Ok(Some(*n)),
        Some(Value::Text(t)) if t.trim().is_empty() => Ok(None),
        Some(Value::Text(t)) => t
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| Error::invalid(format!("{key}: {t:?} is not a number"))),
        Some(_) => Err(Error::invalid(format!("{key}: a number"))),
    }
}

fn flag(o: &Value, key: &str) -> bool {
    o.get(&[key]).is_some_and(Value::flag)
}

/// Milliseconds, or `default` when not given (or not positive).
fn ms(o: &Value, key: &str, default: Duration) -> Result<Duration> {
    Ok(match number(o, key)? {
        Some(ms) if ms > 0.0 && ms.is_finite() => Duration::from_secs_f64(ms / 1000.0),
        _ => default,
    })
}

impl TransportConfig {
    /// Nodemailer's options as a configuration (see [`OPTION_KEYS`]).
    pub fn from_nodemailer(o: &Value) -> Result<TransportConfig> {
        let port = number(o, "port")?;
        let secure = match o.get(&["secure"]) {
            Some(s) => s.flag(),
            None => port == Some(465.0),
        };
        let port = match port {
            Some(p) if (0.0..=65535.0).contains(&p) && p.fract() == 0.0 => p as u16,
            Some(p) => return Err(Error::invalid(format!("port {p}: 0 to 65535"))),
            None if secure => 465,
            None => 587,
        };
        let host = o
            .text_at(&["host"])?
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into());
        let mut c = TransportConfig::new(host, port);
        c.security = Security::from_nodemailer(secure, flag(o, "requireTLS"), flag(o, "ignoreTLS"));
        let force_auth = flag(o, "forceAuth");
        if let Some(a) = o.get(&["auth"]) {
            let user = a.text_at(&["user"])?.unwrap_or_default();
            let oauth = a.text_at(&["type"])?.is_some_and(|k| k.eq_ignore_ascii_case("oauth2"));
            c.credentials = match (oauth, a.text_at(&["accessToken"])?, a.text_at(&["pass"])?) {
                // Without a token yet, the binding provisions one before the first send.
                (true, token, _) => Some(Credentials::oauth2(user, token.unwrap_or_default())),
                (false, _, Some(pass)) => Some(Credentials::password(user, pass)),
                (false, _, None) if force_auth => Some(Credentials::password(user, String::new())),
                (false, _, None) => None,
            };
        }
        c.auth_if_offered = !force_auth;
        c.lmtp = flag(o, "lmtp");
        c.starttls_fallback = flag(o, "opportunisticTLS");
        c.allow_insecure_auth = flag(o, "allowInsecureAuth");
        if let Some(addr) = o.text_at(&["connectTo"])? {
            let parsed = addr
                .parse()
                .map_err(|_| Error::invalid(format!("connect address {addr:?} is not ip:port")))?;
            c.connect_to = Some(parsed);
        }
        c.hello_name = o.text_at(&["name"])?;
        let d = Timeouts::default();
        // Nodemailer's defaults: 2 min to connect, 30 s for the greeting, 10 min of socket inactivity.
        let socket = ms(o, "socketTimeout", Duration::from_secs(600))?;
        c.timeouts = Timeouts {
            connect: ms(o, "connectionTimeout", Duration::from_secs(120))?,
            tls_handshake: ms(o, "connectionTimeout", d.tls_handshake)?,
            greeting: ms(o, "greetingTimeout", d.greeting)?,
            command: socket,
            data: socket,
        };
        if let Some(t) = o.get(&["tls"]) {
            tls(t, &mut c)?;
        }
        c.pool = if flag(o, "pool") {
            let max_messages =
                number(o, "maxMessages")?.map_or(100, |m| if m.is_finite() { m.max(0.0) as usize } else { 0 });
            PoolConfig {
                max_connections: number(o, "maxConnections")?.map_or(5, |n| n.max(1.0) as usize),
                max_messages,
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
        if let Some(limit) = number(o, "rateLimit")?.filter(|&l| l >= 1.0) {
            c.rate_limit = Some(RateLimit {
                messages: limit as u32,
                per: ms(o, "rateDelta", Duration::from_secs(1))?,
            });
        }
        c.dkim = o.get(&["dkim"]).map(DkimConfig::from_value).transpose()?;
        c.verp = o.get(&["verp"]).map(Verp::from_value).transpose()?;
        Ok(c)
    }
}

/// Node's TLS options ([`TlsOptions::from_value`]); `pfx` is refused rather than ignored.
fn tls(t: &Value, c: &mut TransportConfig) -> Result<()> {
    if t.get(&["pfx"]).is_some() {
        return Err(Error::new(
            ErrorKind::Tls,
            Stage::Build,
            "tls.pfx is not supported: pass tls.cert and tls.key (PEM)",
        ));
    }
    c.tls = TlsOptions::from_value(t)?;
    Ok(())
}
