//! `polymailer.Message`: fields converted to the core `Message` when it is made (so bad
//! addresses raise `ValueError` at once); stdlib `email` messages and bytes go through as raw.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use polymailer::fields::{self, Dialect};
use polymailer::{Message, Outgoing, RawMessage, Value};

use crate::errors::err;

#[pyclass(name = "Message", module = "polymailer", frozen)]
pub struct PyMessage {
    pub inner: Message,
}

/// A Python object as the core's [`Value`], the one conversion (the core reads the fields):
/// None, bool, int and float, str, bytes and bytearray, tuple, dict, an `os.PathLike` as its
/// path, and a list or any other iterable as a list.
pub fn value(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    let items = |it: Bound<'_, pyo3::types::PyIterator>| it.map(|i| value(&i?)).collect::<PyResult<Vec<_>>>();
    Ok(if obj.is_none() {
        Value::Null
    } else if let Ok(b) = obj.cast::<PyBool>() {
        Value::Bool(b.is_true())
    } else if obj.is_instance_of::<PyInt>() || obj.is_instance_of::<PyFloat>() {
        Value::Number(obj.extract()?)
    } else if let Ok(s) = obj.cast::<PyString>() {
        Value::Text(s.to_cow()?.into_owned())
    } else if obj.is_instance_of::<PyBytes>() || obj.is_instance_of::<PyByteArray>() {
        Value::Bytes(obj.extract()?)
    } else if let Ok(d) = obj.cast::<PyDict>() {
        let entries = d.iter().map(|(k, v)| Ok((k.str()?.to_string(), value(&v)?)));
        Value::Map(entries.collect::<PyResult<_>>()?)
    } else if obj.is_instance_of::<PyTuple>() {
        Value::Tuple(items(obj.try_iter()?)?)
    } else if obj.hasattr("__fspath__")? {
        let path: std::path::PathBuf = obj.extract()?;
        Value::Text(path.to_string_lossy().into_owned())
    } else {
        Value::List(items(obj.try_iter()?)?) // any other iterable (a set, a generator), else TypeError
    })
}

/// A dict read by one of the core's readers (`TlsOptions::from_value`, …); None reads as empty.
pub fn read<T>(
    py: Python<'_>,
    given: Option<&Bound<'_, PyDict>>,
    reader: fn(&Value) -> polymailer::Result<T>,
) -> PyResult<T> {
    let given = given.map(|d| value(d.as_any())).transpose()?.unwrap_or_default();
    reader(&given).map_err(|e| err(py, e))
}

#[pymethods]
impl PyMessage {
    #[new]
    #[pyo3(signature = (*, from_=None, to=None, subject=None, text=None, html=None, cc=None, bcc=None,
        reply_to=None, sender=None, attachments=None, headers=None, message_id=None, date=None,
        priority=None, in_reply_to=None, references=None, list=None, one_click_unsubscribe=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        from_: Option<&Bound<'_, PyAny>>,
        to: Option<&Bound<'_, PyAny>>,
        subject: Option<String>,
        text: Option<String>,
        html: Option<String>,
        cc: Option<&Bound<'_, PyAny>>,
        bcc: Option<&Bound<'_, PyAny>>,
        reply_to: Option<&Bound<'_, PyAny>>,
        sender: Option<&Bound<'_, PyAny>>,
        attachments: Option<&Bound<'_, PyList>>,
        headers: Option<&Bound<'_, PyDict>>,
        message_id: Option<String>,
        date: Option<f64>,
        priority: Option<String>,
        in_reply_to: Option<String>,
        references: Option<Vec<String>>,
        list: Option<&Bound<'_, PyDict>>,
        one_click_unsubscribe: bool,
    ) -> PyResult<Self> {
        let given = |v: Option<&Bound<'_, PyAny>>| v.map(value).transpose().map(Option::unwrap_or_default);
        let t = |v: Option<String>| v.map_or(Value::Null, Value::Text);
        let fields = Value::map([
            ("from", given(from_)?),
            ("to", given(to)?),
            ("cc", given(cc)?),
            ("bcc", given(bcc)?),
            ("reply_to", given(reply_to)?),
            ("sender", given(sender)?),
            ("subject", t(subject)),
            ("text", t(text)),
            ("html", t(html)),
            ("attachments", given(attachments.map(|a| a.as_any()))?),
            ("headers", given(headers.map(|h| h.as_any()))?),
            ("message_id", t(message_id)),
            ("date", date.map_or(Value::Null, Value::Number)),
            ("priority", t(priority)),
            ("in_reply_to", t(in_reply_to)),
            (
                "references",
                Value::List(references.unwrap_or_default().into_iter().map(Value::Text).collect()),
            ),
            ("list", given(list.map(|l| l.as_any()))?),
            ("one_click_unsubscribe", Value::Bool(one_click_unsubscribe)),
        ]);
        match fields::outgoing(&fields, Dialect::Polymailer).map_err(|e| err(py, e))? {
            Outgoing::Fields(m) => Ok(PyMessage { inner: *m }),
            Outgoing::Raw(_) => unreachable!("polymailer's Message fields build a message"),
        }
    }

    /// The RFC 5322 bytes (built in Rust, without the GIL).
    fn as_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = py
            .detach(|| self.inner.build().and_then(|p| p.content.into_bytes()))
            .map_err(|e| err(py, e))?;
        Ok(PyBytes::new(py, &bytes))
    }

    #[getter]
    fn subject(&self) -> Option<String> {
        self.inner.subject.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "<polymailer.Message from={:?} to={:?} subject={:?}>",
            self.inner.from.as_ref().map(|m| m.address.as_str()),
            self.inner.to.iter().map(|m| m.address.as_str()).collect::<Vec<_>>(),
            self.inner.subject
        )
    }
}

/// What a Python object becomes before sending: a `polymailer.Message`, a stdlib
/// `email.message.Message`, or bytes.
pub fn outgoing(obj: &Bound<'_, PyAny>) -> PyResult<Outgoing> {
    // `(message, sender, recipients)`: a stdlib message or bytes with the envelope given, as
    // smtplib's `sendmail(from_addr, to_addrs, msg)` and Django's backend hand it over.
    if let Ok(t) = obj.cast::<PyTuple>() {
        let py = obj.py();
        let (message, from, to): (Bound<'_, PyAny>, String, Vec<String>) = t.extract()?;
        let raw = match outgoing(&message)? {
            Outgoing::Raw(raw) => raw,
            Outgoing::Fields(_) => {
                return Err(err(
                    py,
                    polymailer::Error::invalid("(message, sender, recipients) takes bytes or an email.message.Message"),
                ))
            }
        };
        let envelope = polymailer::Envelope::as_given(&from, &to).map_err(|e| err(py, e))?;
        return Ok(Outgoing::Raw(raw.with_envelope(envelope)));
    }
    if let Ok(m) = obj.cast::<PyMessage>() {
        return Ok(Outgoing::Fields(Box::new(m.get().inner.clone())));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Outgoing::Raw(RawMessage::new(b.as_bytes().to_vec())));
    }
    let flat = obj
        .py()
        .import("polymailer._flatten")?
        .call_method1("flatten", (obj,))?;
    Ok(Outgoing::Raw(RawMessage::new(
        flat.cast::<PyBytes>()?.as_bytes().to_vec(),
    )))
}
