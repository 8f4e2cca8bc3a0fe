//! `polymailer._native.Connection`: one core SMTP session, step by step, for the drop-in
//! `smtplib.SMTP`; and `SendReport`. Every network wait releases the GIL.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use polymailer::{
    runtime, AuthMechanism, Connection, Credentials, Envelope, Prepared, RawMessage, Reply, Security, SendReport,
    TransportConfig,
};

use crate::config;
use crate::errors::{err, sendmail_error};
use polymailer::Recorder;

/// What the server did with one message.
#[pyclass(name = "SendReport", module = "polymailer", frozen, get_all)]
pub struct PySendReport {
    pub message_id: Option<String>,
    pub envelope_from: Option<String>,
    pub envelope_to: Vec<String>,
    pub accepted: Vec<String>,
    /// `(address, code, text)` for each refused recipient.
    pub rejected: Vec<(String, u16, String)>,
    /// The reply to the final dot, e.g. `"250 2.0.0 Ok: queued as 123"`.
    pub response: String,
    pub code: u16,
}

impl From<SendReport> for PySendReport {
    fn from(r: SendReport) -> Self {
        PySendReport {
            message_id: r.message_id,
            envelope_from: r.envelope.from,
            envelope_to: r.envelope.to,
            accepted: r.accepted,
            rejected: r.rejected.into_iter().map(|x| (x.address, x.code, x.text)).collect(),
            response: r.response.one_line(),
            code: r.response.code,
        }
    }
}

#[pymethods]
impl PySendReport {
    fn __repr__(&self) -> String {
        format!(
            "<SendReport {:?} accepted={:?} rejected={:?} message_id={:?}>",
            self.response, self.accepted, self.rejected, self.message_id
        )
    }
}

type CodeMsg = (u16, Py<PyBytes>);

fn code_msg(py: Python<'_>, r: &Reply) -> CodeMsg {
    (r.code, PyBytes::new(py, r.text().as_bytes()).unbind())
}

#[pyclass(name = "Connection", module = "polymailer._native", frozen)]
pub struct PyConnection {
    conn: Mutex<Option<Connection>>,
    recorder: Recorder,
}

impl PyConnection {
    /// Runs one step on the session without the GIL; a closed session raises
    /// SMTPServerDisconnected as smtplib does.
    fn with<T: Send>(
        &self,
        py: Python<'_>,
        f: impl for<'c> FnOnce(
                &'c mut Connection,
            )
                -> std::pin::Pin<Box<dyn std::future::Future<Output = polymailer::Result<T>> + Send + 'c>>
            + Send,
    ) -> PyResult<polymailer::Result<T>> {
        let mut guard = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let Some(conn) = guard.as_mut() else {
            return Err(PyErr::from_value(
                py.import("smtplib")?
                    .getattr("SMTPServerDisconnected")?
                    .call1(("please run connect() first",))?,
            ));
        };
        Ok(py.detach(|| runtime::block_on(f(conn))))
    }
}

#[pymethods]
impl PyConnection {
    /// Connects and reads the greeting: returns the connection and `(code, msg)`.
    #[staticmethod]
    #[pyo3(signature = (host, port, *, timeout=None, local_hostname=None, source_address=None, implicit_tls=false, tls=None, record=false, lmtp=false, unix_socket=None))]
    #[allow(clippy::too_many_arguments)]
    fn open(
        py: Python<'_>,
        host: String,
        port: u16,
        timeout: Option<f64>,
        local_hostname: Option<String>,
        source_address: Option<(String, u16)>,
        implicit_tls: bool,
        tls: Option<&Bound<'_, PyDict>>,
        record: bool,
        lmtp: bool,
        unix_socket: Option<String>,
    ) -> PyResult<(Self, CodeMsg)> {
        let recorder = Recorder::default();
        recorder.set_on(record);
        let mut config = TransportConfig::new(host, port).security(if implicit_tls {
            Security::ImplicitTls
        } else {
            Security::None
        });
        config.timeouts = config::timeouts(py, timeout)?;
        config.hello_name = local_hostname;
        config.lmtp = lmtp;
        config.tls = crate::message::read(py, tls, polymailer::TlsOptions::from_value)?;
        config.transcript = Some(recorder.hook());
        if let Some((addr, p)) = source_address {
            let ip: std::net::IpAddr = if addr.is_empty() {
                [0, 0, 0, 0].into()
            } else {
                addr.parse()?
            };
            config.source_address = Some(SocketAddr::new(ip, p));
        }
        let config = Arc::new(config);
        let conn = py
            .detach(|| {
                runtime::block_on(async move {
                    match unix_socket {
                        Some(path) => Connection::connect_unix(&path, config).await,
                        None => Connection::connect(config).await,
                    }
                })
            })
            .map_err(|e| err(py, e))?;
        let greeting = code_msg(py, conn.greeting());
        Ok((
            PyConnection {
                conn: Mutex::new(Some(conn)),
                recorder,
            },
            greeting,
        ))
    }

    fn set_recording(&self, on: bool) {
        self.recorder.set_on(on);
    }

    /// Transcript lines since the last call: `(direction, line)`, direction being `send`,
    /// `reply`, `data` or `info`. AUTH secrets are already masked.
    fn take_transcript(&self) -> Vec<(&'static str, String)> {
        self.recorder
            .take()
            .into_iter()
            .map(|(d, l)| (config::direction(d), l))
            .collect()
    }

    #[pyo3(signature = (name=None))]
    fn ehlo(&self, py: Python<'_>, name: Option<String>) -> PyResult<CodeMsg> {
        let r = self
            .with(py, |c| Box::pin(async move { c.ehlo(name.as_deref()).await }))?
            .map_err(|e| err(py, e))?;
        Ok(code_msg(py, &r))
    }

    #[pyo3(signature = (name=None))]
    fn helo(&self, py: Python<'_>, name: Option<String>) -> PyResult<CodeMsg> {
        let r = self
            .with(py, |c| Box::pin(async move { c.helo(name.as_deref()).await }))?
            .map_err(|e| err(py, e))?;
        Ok(code_msg(py, &r))
    }

    /// The EHLO extensions as `(KEYWORD, params)`, in the server's order.
    fn features(&self) -> Vec<(String, String)> {
        let guard = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        guard
            .as_ref()
            .map(|c| c.extensions().features().to_vec())
            .unwrap_or_default()
    }

    #[getter]
    fn is_tls(&self) -> bool {
        let guard = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        guard.as_ref().is_some_and(|c| c.is_tls())
    }

    #[pyo3(signature = (tls=None))]
    fn starttls(&self, py: Python<'_>, tls: Option<&Bound<'_, PyDict>>) -> PyResult<CodeMsg> {
        let options = crate::message::read(py, tls, polymailer::TlsOptions::from_value)?;
        let r = self
            .with(py, |c| Box::pin(async move { c.starttls(Some(&options)).await }))?
            .map_err(|e| err(py, e))?;
        Ok(code_msg(py, &r))
    }

    /// AUTH with `mechanism` ("PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"); without one, smtplib's
    /// `login()`: CRAM-MD5, PLAIN, LOGIN, each offered one tried until one succeeds.
    #[pyo3(signature = (user, secret, mechanism=None, initial_response=true))]
    fn login(
        &self,
        py: Python<'_>,
        user: String,
        secret: String,
        mechanism: Option<String>,
        initial_response: bool,
    ) -> PyResult<CodeMsg> {
        let r = match mechanism {
            Some(m) => {
                let creds = Credentials::with_mechanism(user, secret, m.parse().map_err(|e| err(py, e))?);
                self.with(py, |c| Box::pin(async move { c.auth(&creds).await }))?
            }
            None => {
                let creds = Credentials::password(user, secret);
                self.with(py, |c| {
                    Box::pin(async move {
                        c.auth_in_order(&creds, &AuthMechanism::SMTPLIB_ORDER, initial_response)
                            .await
                    })
                })?
            }
        }
        .map_err(|e| err(py, e))?;
        Ok(code_msg(py, &r))
    }

    /// One line of an AUTH exchange driven from Python (`SMTP.auth`), masked in the transcript.
    fn auth_line(&self, py: Python<'_>, line: String) -> PyResult<CodeMsg> {
        let r = self
            .with(py, |c| Box::pin(async move { c.auth_line(&line).await }))?
            .map_err(|e| err(py, e))?;
        Ok(code_msg(py, &r))
    }

    /// Writes bytes as given (smtplib's `send`); no reply is read.
    fn send(&self, py: Python<'_>, data: &[u8]) -> PyResult<()> {
        let data = data.to_vec();
        self.with(py, |c| Box::pin(async move { c.send_bytes(&data).await }))?
            .map_err(|e| err(py, e))
    }

    /// The next reply (smtplib's `getreply`).
    fn getreply(&self, py: Python<'_>) -> PyResult<CodeMsg> {
        let r = self
            .with(py, |c| Box::pin(async move { c.next_reply().await }))?
            .map_err(|e| err(py, e))?;
        Ok(code_msg(py, &r))
    }

    /// False once the server closed the session (a 421, a dropped connection).
    #[getter]
    fn usable(&self) -> bool {
        let guard = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        guard.as_ref().is_some_and(|c| c.is_usable())
    }

    /// One raw command line; the reply whatever its code.
    fn docmd(&self, py: Python<'_>, line: String) -> PyResult<CodeMsg> {
        let r = self
            .with(py, |c| Box::pin(async move { c.command(&line).await }))?
            .map_err(|e| err(py, e))?;
        Ok(code_msg(py, &r))
    }

    /// Message content after a `DATA` that got 354; the final reply.
    fn data(&self, py: Python<'_>, content: &[u8]) -> PyResult<CodeMsg> {
        let content = content.to_vec();
        let r = self
            .with(py, |c| Box::pin(async move { c.data_content(&content).await }))?
            .map_err(|e| err(py, e))?;
        Ok(code_msg(py, &r))
    }

    /// MAIL / RCPT / DATA with smtplib's semantics: returns the dict of refused recipients,
    /// raises SMTPSenderRefused, SMTPRecipientsRefused (all refused) or SMTPDataError.
    #[pyo3(signature = (from_addr, to_addrs, msg, mail_options=vec![], rcpt_options=vec![]))]
    fn sendmail<'py>(
        &self,
        py: Python<'py>,
        from_addr: String,
        to_addrs: Vec<String>,
        msg: &[u8],
        mail_options: Vec<String>,
        rcpt_options: Vec<String>,
    ) -> PyResult<(Bound<'py, PyDict>, CodeMsg)> {
        let tx =
            Transaction::new(from_addr, to_addrs, msg.to_vec(), mail_options, rcpt_options).map_err(|e| err(py, e))?;
        let prepared = tx.prepared.clone();
        let result = self.with(py, |c| Box::pin(async move { c.send(&prepared).await }))?;
        tx.outcome(py, result)
    }

    /// Several `sendmail` transactions in one batch (pipelined when the server offers it: one
    /// round trip per message). One entry per item, in order: `(refused, reply)` or the
    /// exception `sendmail` would raise (returned, not raised).
    fn sendmail_many<'py>(&self, py: Python<'py>, items: Vec<SendmailArgs<'py>>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let txs: Vec<polymailer::Result<Transaction>> = items
            .into_iter()
            .map(|(f, t, m, mo, ro)| Transaction::new(f, t, m.as_bytes().to_vec(), mo, ro))
            .collect();
        let batch: Vec<Prepared> = txs.iter().flatten().map(|t| t.prepared.clone()).collect();
        let mut results = self
            .with(py, |c| {
                Box::pin(async move {
                    let refs: Vec<&Prepared> = batch.iter().collect();
                    Ok(c.send_batch(&refs).await)
                })
            })?
            .expect("send_batch reports per message")
            .into_iter();
        txs.into_iter()
            .map(|tx| {
                let outcome = match tx {
                    Err(e) => Err(err(py, e)),
                    Ok(tx) => tx.outcome(py, results.next().expect("one result per message")),
                };
                match outcome {
                    Ok(pair) => Ok(pair.into_pyobject(py)?.into_any()),
                    Err(e) => Ok(e.into_value(py).into_bound(py).into_any()),
                }
            })
            .collect()
    }

    /// QUIT and close; the reply if the server gave one.
    fn quit(&self, py: Python<'_>) -> Option<CodeMsg> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner()).take()?;
        let reply = py.detach(|| runtime::block_on(conn.quit()));
        reply.map(|r| code_msg(py, &r))
    }

    /// Drops the connection without QUIT.
    fn close(&self, py: Python<'_>) {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner()).take();
        // Dropping tokio sockets needs the runtime's context.
        py.detach(|| {
            let _guard = runtime::get().enter();
            drop(conn);
        });
    }
}

type SendmailArgs<'py> = (String, Vec<String>, Bound<'py, PyBytes>, Vec<String>, Vec<String>);

/// One smtplib transaction: the envelope as the caller gave it and as it goes on the wire.
struct Transaction {
    from_addr: String,
    to_addrs: Vec<String>,
    prepared: Prepared,
}

impl Transaction {
    fn new(
        from_addr: String,
        to_addrs: Vec<String>,
        msg: Vec<u8>,
        mail_options: Vec<String>,
        rcpt_options: Vec<String>,
    ) -> polymailer::Result<Transaction> {
        let envelope = Envelope {
            mail_params: mail_options,
            rcpt_params: rcpt_options,
            ..Envelope::as_given(&from_addr, &to_addrs)?
        };
        let prepared = Prepared {
            content: msg.into(),
            envelope: envelope.to_wire()?,
            message_id: None,
        };
        Ok(Transaction {
            from_addr,
            to_addrs,
            prepared,
        })
    }

    /// Refused addresses come back in wire form (IDN punycoded); reported as given.
    fn original(&self, a: &str) -> String {
        let wire = &self.prepared.envelope.to;
        wire.iter()
            .position(|w| w == a)
            .map_or_else(|| a.to_string(), |i| self.to_addrs[i].clone())
    }

    fn outcome<'py>(
        &self,
        py: Python<'py>,
        result: polymailer::Result<SendReport>,
    ) -> PyResult<(Bound<'py, PyDict>, CodeMsg)> {
        let original = |a: &str| self.original(a);
        let report = result.map_err(|e| sendmail_error(py, e, &self.from_addr, &original))?;
        let refused = PyDict::new(py);
        for r in report.rejected {
            refused.set_item(original(&r.address), (r.code, PyBytes::new(py, r.text.as_bytes())))?;
        }
        Ok((refused, code_msg(py, &report.response)))
    }
}

/// smtplib's `send_message` rules from core: `(from, [to], bytes without Bcc/Resent-Bcc)`.
#[pyfunction]
pub fn prepare_raw<'py>(py: Python<'py>, msg: &[u8]) -> PyResult<(Option<String>, Vec<String>, Bound<'py, PyBytes>)> {
    let raw = RawMessage::new(msg.to_vec());
    let envelope = raw.header_envelope_allowing_local().map_err(|e| err(py, e))?;
    Ok((envelope.from, envelope.to, PyBytes::new(py, &raw.bytes_to_send())))
}
