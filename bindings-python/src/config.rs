//! Python options → `TransportConfig` (one place), and the TLS options a Python `ssl.SSLContext`
//! was turned into by `polymailer._tls`.

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use polymailer::{Credentials, Direction, Security, Timeouts, TlsOptions, TransportConfig};

use crate::errors::err;

/// TLS options from a dict: `verify`, `check_hostname`, `native_roots` (bools), `cadata`
/// (list of DER or PEM bytes), `cafile` (path), `server_hostname` (str), `certfile` and
/// `keyfile` (client certificate paths, the key in `certfile` when absent).
pub fn tls_options(py: Python<'_>, spec: Option<&Bound<'_, PyDict>>) -> PyResult<TlsOptions> {
    let mut tls = TlsOptions::default();
    let Some(spec) = spec else { return Ok(tls) };
    let flag = |key: &str, default: bool| -> PyResult<bool> {
        Ok(match spec.get_item(key)? {
            Some(v) if !v.is_none() => v.is_truthy()?,
            _ => default,
        })
    };
    tls.accept_invalid_certs = !flag("verify", true)?;
    tls.accept_invalid_hostnames = !flag("check_hostname", true)?;
    tls.native_roots = flag("native_roots", true)?;
    if let Some(cas) = spec.get_item("cadata")? {
        for ca in cas.try_iter()? {
            let ca = ca?;
            let bytes: Vec<u8> = match ca.cast::<PyBytes>() {
                Ok(b) => b.as_bytes().to_vec(),
                Err(_) => ca.extract::<String>()?.into_bytes(),
            };
            tls.add_ca(&bytes).map_err(|e| err(py, e))?;
        }
    }
    if let Some(file) = spec.get_item("cafile")?.filter(|f| !f.is_none()) {
        let path: std::path::PathBuf = file.extract()?;
        tls.add_ca_file(path).map_err(|e| err(py, e))?;
    }
    if let Some(name) = spec.get_item("server_hostname")?.filter(|f| !f.is_none()) {
        tls.server_name = Some(name.extract()?);
    }
    if let Some(chain) = spec.get_item("certdata")?.filter(|f| !f.is_none()) {
        // What SSLContext.load_cert_chain read (the files may be gone since, as trustme does).
        let chain: Vec<u8> = chain.extract()?;
        let key: Option<Vec<u8>> = spec
            .get_item("keydata")?
            .filter(|f| !f.is_none())
            .map(|k| k.extract())
            .transpose()?;
        let password: Option<String> = spec
            .get_item("keypassword")?
            .filter(|f| !f.is_none())
            .map(|k| k.extract())
            .transpose()?;
        let what: String = match spec.get_item("certfile")?.filter(|f| !f.is_none()) {
            Some(name) => name.extract()?,
            None => "given to load_cert_chain".to_string(),
        };
        tls.client_identity = Some(
            polymailer::ClientIdentity::from_pem(&chain, key.as_deref().unwrap_or(&chain), password.as_deref(), &what)
                .map_err(|e| err(py, e))?,
        );
    } else if let Some(cert) = spec.get_item("certfile")?.filter(|f| !f.is_none()) {
        let cert: std::path::PathBuf = cert.extract()?;
        let password: Option<String> = spec
            .get_item("keypassword")?
            .filter(|f| !f.is_none())
            .map(|k| k.extract())
            .transpose()?;
        let key: Option<std::path::PathBuf> = spec
            .get_item("keyfile")?
            .filter(|f| !f.is_none())
            .map(|k| k.extract())
            .transpose()?;
        tls.client_identity = Some(
            polymailer::ClientIdentity::from_files(cert, key.as_deref(), password.as_deref())
                .map_err(|e| err(py, e))?,
        );
    }
    Ok(tls)
}

pub fn timeouts(py: Python<'_>, timeout: Option<f64>) -> PyResult<Timeouts> {
    match timeout {
        None => Ok(Timeouts::default()),
        Some(t) if t > 0.0 && t.is_finite() => Ok(Timeouts::all(Duration::from_secs_f64(t))),
        Some(t) => Err(err(
            py,
            polymailer::Error::invalid(format!("timeout must be positive, got {t}")),
        )),
    }
}

/// The core's security words; without one, the port's default.
pub fn security(py: Python<'_>, name: Option<&str>, port: u16) -> PyResult<Security> {
    match name {
        None => Ok(TransportConfig::new("h", port).security),
        Some(word) => word.parse().map_err(|e| crate::errors::err(py, e)),
    }
}

pub fn credentials(
    username: Option<String>,
    password: Option<String>,
    oauth2_token: Option<String>,
) -> Option<Credentials> {
    match (username, password, oauth2_token) {
        (Some(u), _, Some(token)) => Some(Credentials::oauth2(u, token)),
        (Some(u), Some(p), None) => Some(Credentials::password(u, p)),
        _ => None,
    }
}

/// The direction words `take_transcript` returns.
pub fn direction(d: Direction) -> &'static str {
    match d {
        Direction::Client => "send",
        Direction::Server => "reply",
        Direction::Data => "data",
        Direction::Info => "info",
    }
}

/// Sends transcript lines straight to `logging.getLogger("polymailer")` (used by `Mailer`,
/// whose sends may run on runtime threads).
pub fn logging_hook(py: Python<'_>) -> PyResult<Option<polymailer::Transcript>> {
    let logger = py.import("logging")?.call_method1("getLogger", ("polymailer",))?;
    if !logger.call_method1("isEnabledFor", (10,))?.is_truthy()? {
        return Ok(None);
    }
    let logger: Py<PyAny> = logger.unbind();
    Ok(Some(Arc::new(move |direction, line| {
        let prefix = match direction {
            Direction::Client => "C:",
            Direction::Server => "S:",
            Direction::Data => "C: <message>",
            Direction::Info => "*",
        };
        let shown = if direction == Direction::Data {
            format!("{} bytes", line.len())
        } else {
            line.to_string()
        };
        Python::attach(|py| {
            let _ = logger.call_method1(py, "debug", ("%s %s", prefix, shown));
        });
    })))
}

/// A service preset from the core's table: `{name, host, port, security, notes}`.
#[pyfunction]
pub fn service<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyDict>> {
    let s = polymailer::Service::lookup(name).map_err(|e| err(py, e))?;
    let d = PyDict::new(py);
    d.set_item("name", s.name)?;
    d.set_item("host", s.host)?;
    d.set_item("port", s.port)?;
    d.set_item("security", s.security().as_str())?;
    d.set_item("notes", s.notes)?;
    Ok(d)
}
