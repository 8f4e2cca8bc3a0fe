//! `polymailer.Mailer`: the native high-level API over the core `Mailer` (pool, DKIM,
//! rate limit). Building and sending run without the GIL.

use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use polymailer::{runtime, DkimConfig, Mailer, RateLimit, TlsOptions, TransportConfig};

use crate::config;
use crate::connection::PySendReport;
use crate::errors::{err, exception};
use crate::message;
use polymailer::bounce::Verp;
use polymailer::Outgoing;

#[pyclass(name = "Mailer", module = "polymailer._native", frozen, subclass)]
pub struct PyMailer {
    inner: Mailer,
}

#[pymethods]
impl PyMailer {
    #[new]
    #[pyo3(signature = (host="localhost".to_string(), port=587, *, security=None, username=None, password=None,
        oauth2_token=None, timeout=None, pool=1, max_messages=0, local_hostname=None, tls=None, dkim=None,
        rate_limit=None, allow_insecure_auth=false, verp=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        host: String,
        port: u16,
        security: Option<&str>,
        username: Option<String>,
        password: Option<String>,
        oauth2_token: Option<String>,
        timeout: Option<f64>,
        pool: usize,
        max_messages: usize,
        local_hostname: Option<String>,
        tls: Option<&Bound<'_, PyDict>>,
        dkim: Option<&Bound<'_, PyDict>>,
        rate_limit: Option<(u32, f64)>,
        allow_insecure_auth: bool,
        verp: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let mut c = TransportConfig::new(host, port);
        c.security = config::security(py, security, port)?;
        c.credentials = config::credentials(username, password, oauth2_token);
        c.timeouts = config::timeouts(py, timeout)?;
        c.pool.max_connections = pool.max(1);
        c.pool.max_messages = max_messages;
        c.hello_name = local_hostname;
        c.tls = message::read(py, tls, TlsOptions::from_value)?;
        c.allow_insecure_auth = allow_insecure_auth;
        c.rate_limit = rate_limit.map(|(messages, secs)| RateLimit {
            messages,
            per: Duration::from_secs_f64(secs.max(0.0)),
        });
        c.dkim = dkim
            .map(|d| message::read(py, Some(d), DkimConfig::from_value))
            .transpose()?;
        c.verp = verp.map(|v| message::read(py, Some(v), Verp::from_value)).transpose()?;
        c.transcript = config::logging_hook(py)?;
        Ok(PyMailer {
            inner: Mailer::new(c).map_err(|e| err(py, e))?,
        })
    }

    /// `smtp://user:pass@host:587?tls=required`, `smtps://host:465`.
    #[staticmethod]
    fn from_url(py: Python<'_>, url: &str) -> PyResult<Self> {
        let mut c = TransportConfig::from_url(url).map_err(|e| err(py, e))?;
        c.transcript = config::logging_hook(py)?;
        Ok(PyMailer {
            inner: Mailer::new(c).map_err(|e| err(py, e))?,
        })
    }

    /// Sends a `polymailer.Message`, a stdlib `email.message.Message` or bytes.
    fn send(&self, py: Python<'_>, message: &Bound<'_, PyAny>) -> PyResult<PySendReport> {
        let outgoing = message::outgoing(message)?;
        let sender = |o: &Outgoing| match o {
            Outgoing::Fields(m) => m.derived_envelope().from,
            Outgoing::Raw(_) => None,
        };
        let from = sender(&outgoing);
        let mailer = &self.inner;
        let result = py.detach(|| {
            runtime::block_on(async {
                let prepared = outgoing.prepare()?;
                mailer.send_prepared(prepared).await
            })
        });
        result
            .map(PySendReport::from)
            .map_err(|e| crate::errors::to_pyerr(py, e, from.as_deref(), &|a| a.to_string()))
    }

    /// The engine half of `send_async`: builds the message here (with the GIL), sends it on the
    /// engine's runtime (no Python thread waits) and calls `done(report, None)` or
    /// `done(None, exception)` from a runtime thread when the server has answered.
    fn _send_callback(&self, py: Python<'_>, message: &Bound<'_, PyAny>, done: Py<PyAny>) -> PyResult<()> {
        let outgoing = message::outgoing(message)?;
        let from = match &outgoing {
            Outgoing::Fields(m) => m.derived_envelope().from,
            Outgoing::Raw(_) => None,
        };
        let mailer = self.inner.clone();
        py.detach(|| {
            runtime::spawn(async move {
                let result = match outgoing.prepare() {
                    Ok(prepared) => mailer.send_prepared(prepared).await,
                    Err(e) => Err(e),
                };
                // The callback takes the GIL: off the runtime's workers, so a busy event loop
                // never stalls other connections' I/O.
                let _ = tokio::task::spawn_blocking(move || {
                    Python::attach(|py| {
                        let args = match result {
                            Ok(report) => Py::new(py, PySendReport::from(report)).map(|r| (r.into_any(), py.None())),
                            Err(e) => Ok((
                                py.None(),
                                crate::errors::to_pyerr(py, e, from.as_deref(), &|a| a.to_string())
                                    .into_value(py)
                                    .into_any(),
                            )),
                        };
                        let outcome = args.and_then(|a| done.call1(py, a));
                        if let Err(e) = outcome {
                            e.write_unraisable(py, None);
                        }
                    })
                })
                .await;
            });
        });
        Ok(())
    }

    /// Sends every message over the pool (pipelined batches when the server offers
    /// PIPELINING); returns a SendReport, or the exception (not raised), per message, in order.
    fn send_many<'py>(&self, py: Python<'py>, messages: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        let outgoing: Vec<Outgoing> = messages
            .try_iter()?
            .map(|m| message::outgoing(&m?))
            .collect::<PyResult<_>>()?;
        let mailer = &self.inner;
        let results = py.detach(|| {
            let prepared = outgoing.iter().map(Outgoing::prepare).collect();
            runtime::block_on(mailer.send_many_prepared(prepared))
        });
        let list = PyList::empty(py);
        for r in results {
            match r {
                Ok(report) => list.append(Py::new(py, PySendReport::from(report))?)?,
                Err(e) => list.append(exception(py, &e, None, &|a| a.to_string())?)?,
            }
        }
        Ok(list)
    }

    /// Connects, upgrades, authenticates and quits: raises if any step fails.
    fn verify(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.inner.verify_blocking()).map_err(|e| err(py, e))
    }

    /// The deliverability check for this mailer's own setup: the JSON report and its table.
    #[pyo3(signature = (domain=None, options=None))]
    fn _preflight(
        &self,
        py: Python<'_>,
        domain: Option<&str>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<(String, String)> {
        crate::check::preflight(py, self.inner.config(), domain, options)
    }

    /// QUITs the pooled connections.
    fn close(&self, py: Python<'_>) {
        py.detach(|| self.inner.close_blocking())
    }

    #[getter]
    fn idle_connections(&self) -> usize {
        self.inner.idle_connections()
    }
}
