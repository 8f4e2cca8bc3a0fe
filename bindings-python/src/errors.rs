//! The one conversion from core errors to Python exceptions: smtplib's own classes (so existing
//! `except smtplib.SMTPException` code keeps working), ValueError for bad input, TimeoutError,
//! ssl.SSLError. Each carries `kind`, `stage`, `enhanced_status` and `transient` attributes.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use polymailer::{Error, ErrorKind, Hint, Stage};

fn class<'py>(py: Python<'py>, module: &str, name: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import(module)?.getattr(name)
}

/// Builds the exception instance (not raised): `send_many` returns them in its list.
pub fn exception<'py>(
    py: Python<'py>,
    e: &Error,
    sender: Option<&str>,
    original: &dyn Fn(&str) -> String,
) -> PyResult<Bound<'py, PyAny>> {
    let smtp = |name: &str| class(py, "smtplib", name);
    let text = |e: &Error| -> Bound<'py, PyBytes> {
        let t = e.reply().map(|r| r.text()).unwrap_or_else(|| e.message().to_string());
        PyBytes::new(py, t.as_bytes())
    };
    let hinted = match e.hint() {
        Some(Hint::UseStartTls) => format!(
            "{}: use smtplib.SMTP and starttls() (Mailer: security='starttls')",
            e.message()
        ),
        Some(Hint::UseImplicitTls) => format!("{}: use smtplib.SMTP_SSL (Mailer: security='tls')", e.message()),
        Some(Hint::ReplyLineTooLong) | None => e.message().to_string(),
    };
    let msg = hinted.as_str();
    let exc = match (e.kind(), e.code()) {
        (ErrorKind::InvalidInput, _) => class(py, "polymailer.errors", "InvalidInputError")?.call1((msg,))?,
        (ErrorKind::Timeout, _) => py
            .get_type::<pyo3::exceptions::PyTimeoutError>()
            .into_any()
            .call1((msg,))?,
        (ErrorKind::Connection, Some(code)) if e.stage() == Stage::Greeting => {
            smtp("SMTPConnectError")?.call1((code, text(e)))?
        }
        (ErrorKind::Connection, _) if e.stage() == Stage::Connect => py
            .get_type::<pyo3::exceptions::PyConnectionError>()
            .into_any()
            .call1((msg,))?,
        (ErrorKind::Connection, _) => smtp("SMTPServerDisconnected")?.call1((msg,))?,
        (ErrorKind::Tls, Some(code)) => smtp("SMTPResponseException")?.call1((code, text(e)))?,
        (ErrorKind::Tls, None) => class(py, "ssl", "SSLError")?.call1((msg,))?,
        (ErrorKind::Auth, Some(code)) => smtp("SMTPAuthenticationError")?.call1((code, text(e)))?,
        (ErrorKind::Auth, None) => smtp("SMTPException")?.call1((msg,))?,
        (ErrorKind::NotSupported, _) => smtp("SMTPNotSupportedError")?.call1((msg,))?,
        (ErrorKind::SenderRefused, code) => {
            smtp("SMTPSenderRefused")?.call1((code.unwrap_or(550), text(e), sender.unwrap_or("")))?
        }
        (ErrorKind::MessageTooLarge, _) => {
            smtp("SMTPSenderRefused")?.call1((552, PyBytes::new(py, msg.as_bytes()), sender.unwrap_or("")))?
        }
        (ErrorKind::RecipientsRefused, _) => smtp("SMTPRecipientsRefused")?.call1((refused_dict(py, e, original)?,))?,
        (ErrorKind::DataRefused, code) => smtp("SMTPDataError")?.call1((code.unwrap_or(554), text(e)))?,
        // smtplib's own projection of an over-long line (getreply: 500 "Line too long.").
        (ErrorKind::Protocol, None) if e.hint() == Some(Hint::ReplyLineTooLong) => {
            smtp("SMTPResponseException")?.call1((500, PyBytes::new(py, b"Line too long.")))?
        }
        (ErrorKind::Protocol, Some(code)) => smtp("SMTPResponseException")?.call1((code, text(e)))?,
        (ErrorKind::Protocol, None) => smtp("SMTPException")?.call1((msg,))?,
        (ErrorKind::Io, _) => py.get_type::<pyo3::exceptions::PyOSError>().into_any().call1((msg,))?,
    };
    annotate(&exc, e)?;
    Ok(exc)
}

fn refused_dict<'py>(py: Python<'py>, e: &Error, original: &dyn Fn(&str) -> String) -> PyResult<Bound<'py, PyDict>> {
    let refused = PyDict::new(py);
    for r in e.rejected() {
        refused.set_item(original(&r.address), (r.code, PyBytes::new(py, r.text.as_bytes())))?;
    }
    Ok(refused)
}

/// smtplib's `sendmail` projection: a 421 to RCPT (the connection is gone) ends it with
/// `SMTPRecipientsRefused` of the refusals so far, that 421 included.
pub fn sendmail_error(py: Python<'_>, e: Error, sender: &str, original: &dyn Fn(&str) -> String) -> PyErr {
    if !(e.kind() == ErrorKind::Connection && e.stage() == Stage::Rcpt && !e.rejected().is_empty()) {
        return to_pyerr(py, e, Some(sender), original);
    }
    let build = || -> PyResult<Bound<'_, PyAny>> {
        let exc = class(py, "smtplib", "SMTPRecipientsRefused")?.call1((refused_dict(py, &e, original)?,))?;
        annotate(&exc, &e)?;
        Ok(exc)
    };
    match build() {
        Ok(exc) => PyErr::from_value(exc),
        Err(err) => err,
    }
}

fn annotate(exc: &Bound<'_, PyAny>, e: &Error) -> PyResult<()> {
    exc.setattr("kind", e.kind().as_str())?;
    exc.setattr("stage", e.stage().as_str())?;
    exc.setattr("enhanced_status", e.enhanced_status().map(|s| s.to_string()))?;
    exc.setattr("transient", e.is_transient())
}

/// Converts a core error into a raisable `PyErr`.
pub fn to_pyerr(py: Python<'_>, e: Error, sender: Option<&str>, original: &dyn Fn(&str) -> String) -> PyErr {
    match exception(py, &e, sender, original) {
        Ok(exc) => PyErr::from_value(exc),
        Err(err) => PyRuntimeError::new_err(format!("{e} (while converting the error: {err})")),
    }
}

/// The common case: no sender, recipient addresses shown as sent.
pub fn err(py: Python<'_>, e: Error) -> PyErr {
    to_pyerr(py, e, None, &|a| a.to_string())
}
