//! Nodemailer transport options → `TransportConfig` (read by the core's
//! `TransportConfig::from_nodemailer`), connection URLs and service presets.

use napi::bindgen_prelude::{Env, Object};
use napi::Unknown;
use napi_derive::napi;
use polymailer::{ConnectionUrl, OptionValue, Service, TransportConfig};

/// Nodemailer's transport options (after index.js merged a `service` preset or a URL) as the
/// core reads them; only the keys it reads are converted (not loggers or callbacks).
pub fn transport_config(options: Unknown<'_>) -> napi::Result<polymailer::Result<TransportConfig>> {
    let options = crate::message::value_of_keys(options, polymailer::nodemailer::OPTION_KEYS)?;
    Ok(TransportConfig::from_nodemailer(&options))
}

/// Nodemailer's `parseConnectionUrl`: the URL (core parser) as `createTransport` options, `tls.*`
/// query keys nested under `tls`, other dotted keys dropped; `{ error }` when it does not parse.
#[napi(ts_return_type = "Record<string, unknown> & { error?: ErrorFields }")]
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
