//! Python options → `TransportConfig` (one place). The TLS dict `polymailer._tls` makes of an
//! `ssl.SSLContext` is read by the core (`TlsOptions::from_value`, through `message::read`).

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use polymailer::{Credentials, Direction, Security, Timeouts, TransportConfig};

use crate::errors::err;

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
