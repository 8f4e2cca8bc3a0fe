//! `polymailer.Message`: fields converted to the core `Message` when it is made (so bad
//! addresses raise `ValueError` at once); stdlib `email` messages and bytes go through as raw.

use std::time::{Duration, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use polymailer::address::parse_list;
use polymailer::list::ListEntry;
use polymailer::{Attachment, Content, Mailbox, Message, Outgoing, Priority, RawMessage};

use crate::errors::err;

#[pyclass(name = "Message", module = "polymailer", frozen)]
pub struct PyMessage {
    pub inner: Message,
}

/// `"a@b, Name <c@d>"`, `["a@b", ("Name", "c@d")]`, or None.
fn mailboxes(py: Python<'_>, value: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<Mailbox>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(vec![]);
    };
    if let Ok(s) = value.cast::<PyString>() {
        return parse_list(&s.to_cow()?).map_err(|e| err(py, e));
    }
    let mut out = Vec::new();
    for item in value.try_iter()? {
        let item = item?;
        if let Ok(t) = item.cast::<PyTuple>() {
            let (name, address): (Option<String>, String) = t.extract()?;
            let m = Mailbox::new(name, address);
            m.validate("address").map_err(|e| err(py, e))?;
            out.push(m);
        } else {
            out.extend(parse_list(&item.extract::<String>()?).map_err(|e| err(py, e))?);
        }
    }
    Ok(out)
}

fn one_mailbox(py: Python<'_>, value: Option<&Bound<'_, PyAny>>, field: &str) -> PyResult<Option<Mailbox>> {
    let mut list = mailboxes(py, value)?;
    match list.len() {
        0 => Ok(None),
        1 => Ok(list.pop()),
        n => Err(err(
            py,
            polymailer::Error::invalid(format!("{field}: expected one address, got {n}")),
        )),
    }
}

/// One `list` value: a URL, `(url, comment)`, `{"url", "comment"}`, or a list of those (one
/// header line, entries joined).
fn list_entries(value: &Bound<'_, PyAny>) -> PyResult<Vec<ListEntry>> {
    if value.is_instance_of::<PyList>() {
        let mut out = Vec::new();
        for item in value.try_iter()? {
            out.extend(list_entries(&item?)?);
        }
        return Ok(out);
    }
    if let Ok(t) = value.cast::<PyTuple>() {
        let (url, comment): (String, Option<String>) = t.extract()?;
        return Ok(vec![ListEntry { url, comment }]);
    }
    if let Ok(d) = value.cast::<PyDict>() {
        let url: String = d
            .get_item("url")?
            .ok_or_else(|| pyo3::exceptions::PyValueError::new_err("list entry needs 'url'"))?
            .extract()?;
        let comment = d.get_item("comment")?.map(|c| c.extract()).transpose()?;
        return Ok(vec![ListEntry { url, comment }]);
    }
    Ok(vec![ListEntry::new(value.extract::<String>()?)])
}

/// A path (str / os.PathLike) or a dict: `filename`, `content` (bytes or str), `path`,
/// `content_type`, `cid`.
fn attachment(py: Python<'_>, item: &Bound<'_, PyAny>) -> PyResult<Attachment> {
    let Ok(d) = item.cast::<PyDict>() else {
        let path: std::path::PathBuf = item.extract()?;
        return Ok(Attachment::path(path));
    };
    let get = |k: &str| -> PyResult<Option<Bound<'_, PyAny>>> { Ok(d.get_item(k)?.filter(|v| !v.is_none())) };
    let content = match (get("content")?, get("path")?) {
        (Some(c), _) => Content::Bytes(match c.cast::<PyBytes>() {
            Ok(b) => b.as_bytes().to_vec(),
            Err(_) => c.extract::<String>()?.into_bytes(),
        }),
        (None, Some(p)) => Content::Path(p.extract()?),
        (None, None) => {
            return Err(err(
                py,
                polymailer::Error::invalid("attachment needs 'content' or 'path'"),
            ))
        }
    };
    Ok(Attachment {
        content,
        filename: get("filename")?.map(|v| v.extract()).transpose()?,
        content_type: get("content_type")?.map(|v| v.extract()).transpose()?,
        content_id: get("cid")?.map(|v| v.extract()).transpose()?,
    })
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
        priority: Option<&str>,
        in_reply_to: Option<String>,
        references: Option<Vec<String>>,
        list: Option<&Bound<'_, PyDict>>,
        one_click_unsubscribe: bool,
    ) -> PyResult<Self> {
        let mut m = Message {
            from: one_mailbox(py, from_, "from_")?,
            sender: one_mailbox(py, sender, "sender")?,
            to: mailboxes(py, to)?,
            cc: mailboxes(py, cc)?,
            bcc: mailboxes(py, bcc)?,
            reply_to: mailboxes(py, reply_to)?,
            subject,
            text,
            html,
            message_id,
            in_reply_to,
            references: references.unwrap_or_default(),
            date: date.map(|d| UNIX_EPOCH + Duration::from_secs_f64(d.max(0.0))),
            ..Default::default()
        };
        m.priority = priority
            .map(str::parse::<Priority>)
            .transpose()
            .map_err(|e| err(py, e))?;
        if let Some(list) = attachments {
            for item in list.iter() {
                m.attachments.push(attachment(py, &item)?);
            }
        }
        if let Some(h) = headers {
            for (k, v) in h.iter() {
                m.headers.push((k.extract()?, v.extract()?));
            }
        }
        if let Some(list) = list {
            for (k, v) in list.iter() {
                m.list.add(&k.extract::<String>()?, list_entries(&v)?);
            }
        }
        m.list.one_click = one_click_unsubscribe;
        m.list.headers().map_err(|e| err(py, e))?;
        Ok(PyMessage { inner: m })
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
        let check = |field: &str, a: &str| polymailer::address::envelope_address_or_local(field, a);
        let envelope = polymailer::Envelope {
            from: check("sender", &from).map_err(|e| err(py, e))?,
            to: to
                .iter()
                .map(|a| check("recipients", a)?.ok_or_else(|| polymailer::Error::invalid("recipients: empty address")))
                .collect::<polymailer::Result<_>>()
                .map_err(|e| err(py, e))?,
            local_addresses: true,
            ..Default::default()
        };
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
