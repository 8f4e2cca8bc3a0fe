//! A mail given as fields ([`Value`]) → what to send ([`Outgoing`]), by the rules of the API
//! the caller speaks: polymailer's own `Message` (Python) or Nodemailer's mail object. Each key
//! is read under its spellings (`reply_to` / `replyTo`); keys the dialect does not know are
//! left alone, as Nodemailer leaves them.

use std::time::{Duration, UNIX_EPOCH};

use crate::address::{self, parse_list, Mailbox};
use crate::error::{Error, Result};
use crate::list::ListEntry;
use crate::message::{Attachment, Content, Dsn, Envelope, Message, Outgoing, Priority, RawMessage, SenderRule};
use crate::value::Value;

/// Whose field rules a mail is read by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// polymailer's `Message` (Python): smtplib's envelope rule (Sender, else From); a list
    /// value in `list` is one header line.
    Polymailer,
    /// Nodemailer's mail object: MAIL FROM from `from`, else `sender`, else `replyTo`; an
    /// explicit `envelope`, `dsn` and `raw`; a list value in `list` is one header per item;
    /// an attachment with `contentDisposition: "inline"` gets a Content-ID.
    Nodemailer,
}

/// Addresses: `"a@b, Name <c@d>"`, `{name, address}`, `(name, address)`, or lists of those
/// (nested as deep as given). Null, `false` and `""` are none.
pub fn mailboxes(v: &Value) -> Result<Vec<Mailbox>> {
    let mut out = Vec::new();
    walk_mailboxes(v, &mut out)?;
    Ok(out)
}

fn walk_mailboxes(v: &Value, out: &mut Vec<Mailbox>) -> Result<()> {
    let one = |name: Option<&Value>, address: Option<&Value>| -> Result<Mailbox> {
        let name = name
            .map(|n| n.text("name"))
            .transpose()?
            .flatten()
            .filter(|n| !n.is_empty());
        let address = address.map_or(Ok(String::new()), |a| a.to_text("address"))?;
        let m = Mailbox::new(name, address);
        m.validate("address")?;
        Ok(m)
    };
    match v {
        v if !v.is_present() => {}
        Value::List(items) => items.iter().try_for_each(|i| walk_mailboxes(i, out))?,
        Value::Tuple(pair) if pair.len() == 2 => out.push(one(Some(&pair[0]), Some(&pair[1]))?),
        Value::Map(_) => out.push(one(v.get(&["name"]), v.get(&["address"]))?),
        v => out.extend(parse_list(&v.to_text("address")?)?),
    }
    Ok(())
}

/// Reads a mail by `dialect`'s rules.
pub fn outgoing(mail: &Value, dialect: Dialect) -> Result<Outgoing> {
    let list = |keys: &[&str]| mail.get(keys).map_or(Ok(vec![]), mailboxes);
    let mut m = Message {
        from: address::single("from", list(&["from", "from_"])?)?,
        sender: address::single("sender", list(&["sender"])?)?,
        to: list(&["to"])?,
        cc: list(&["cc"])?,
        bcc: list(&["bcc"])?,
        reply_to: list(&["replyTo", "reply_to"])?,
        ..Default::default()
    };
    if dialect == Dialect::Nodemailer {
        m.sender_rule = SenderRule::FromThenSenderThenReplyTo;
        let mut envelope = match mail.get(&["envelope"]) {
            Some(e) => explicit_envelope(e)?,
            None => m.derived_envelope(),
        };
        envelope.dsn = dsn(mail.get(&["dsn"]))?;
        if let Some(raw) = mail.get(&["raw"]).filter(|r| r.is_present()) {
            return Ok(Outgoing::Raw(
                RawMessage::new(raw.bytes("raw")?).with_envelope(envelope),
            ));
        }
        m.envelope = Some(envelope);
    }
    m.subject = mail.text_at(&["subject"])?;
    m.text = mail.text_at(&["text"])?;
    m.html = mail.text_at(&["html"])?;
    m.message_id = mail.text_at(&["messageId", "message_id"])?;
    m.in_reply_to = mail.text_at(&["inReplyTo", "in_reply_to"])?;
    for r in mail.get(&["references"]).map_or(&[][..], Value::items) {
        m.references
            .extend(r.to_text("references")?.split_whitespace().map(str::to_string));
    }
    if let Some(Value::Number(secs)) = mail.get(&["date"]) {
        m.date = Some(UNIX_EPOCH + Duration::from_secs_f64(secs.max(0.0)));
    }
    m.priority = mail
        .text_at(&["priority"])?
        .map(|p| p.parse::<Priority>())
        .transpose()?;
    for a in mail.get(&["attachments"]).map_or(&[][..], Value::items) {
        m.attachments.push(attachment(a, dialect)?);
    }
    headers(mail.get(&["headers"]), &mut m.headers)?;
    if let Some(list) = mail.get(&["list"]) {
        list_fields(list, dialect, &mut m)?;
    }
    m.list.one_click |= mail.get(&["one_click_unsubscribe"]).is_some_and(Value::flag);
    m.list.headers()?;
    Ok(Outgoing::Fields(Box::new(m)))
}

/// Nodemailer's `envelope`: `from`, and `to`, `cc`, `bcc` all as recipients; an address is a
/// string or `{address}`.
fn explicit_envelope(e: &Value) -> Result<Envelope> {
    let address = |v: &Value| match v {
        Value::Map(_) => v.get(&["address"]).unwrap_or(&Value::Null).to_text("envelope"),
        v => v.to_text("envelope"),
    };
    let from = match e.get(&["from"]).filter(|f| f.is_present()) {
        Some(f) => address::envelope_address("envelope from", &address(f)?)?,
        None => None,
    };
    let mut to = Vec::new();
    fn flat<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
        match v {
            Value::List(items) => items.iter().for_each(|i| flat(i, out)),
            v if v.is_present() => out.push(v),
            _ => {}
        }
    }
    let mut given = Vec::new();
    for key in ["to", "cc", "bcc"] {
        if let Some(v) = e.get(&[key]) {
            flat(v, &mut given);
        }
    }
    for v in given {
        to.push(address(v)?);
    }
    Ok(Envelope::new(from, address::envelope_recipients("envelope to", &to)?))
}

/// Nodemailer's `dsn`: `ret`/`return`, `envid`/`id`, `notify` (a list or `"a,b"`),
/// `orcpt`/`recipient`.
fn dsn(v: Option<&Value>) -> Result<Option<Dsn>> {
    let Some(v) = v else { return Ok(None) };
    let mut notify = Vec::new();
    for n in v.get(&["notify"]).map_or(&[][..], Value::items) {
        notify.extend(n.to_text("dsn notify")?.split(',').map(str::to_string));
    }
    Dsn::new(
        v.text_at(&["return", "ret"])?.as_deref(),
        v.text_at(&["id", "envid"])?.as_deref(),
        &notify,
        v.text_at(&["recipient", "orcpt"])?.as_deref(),
    )
}

/// `{filename, content | path, contentType | content_type, cid, contentDisposition}`, or for
/// polymailer a path alone (Nodemailer has no such form: its `disableFileAccess` is decided on
/// attachment objects); `filename: false` is none.
fn attachment(a: &Value, dialect: Dialect) -> Result<Attachment> {
    if let (Value::Text(path), Dialect::Polymailer) = (a, dialect) {
        return Ok(Attachment::path(path));
    }
    let content = match (a.get(&["content"]), a.get(&["path"])) {
        (Some(c), _) => Content::Bytes(c.bytes("attachment content")?),
        (None, Some(p)) => Content::Path(p.to_text("attachment path")?.into()),
        (None, None) => return Err(Error::invalid("attachment needs content or path")),
    };
    let cid = a.text_at(&["cid"])?;
    let inline = dialect == Dialect::Nodemailer
        && a.text_at(&["contentDisposition"])?.as_deref() == Some("inline")
        && cid.is_none();
    Ok(Attachment {
        content,
        filename: a.text_at(&["filename"])?,
        content_type: a.text_at(&["contentType", "content_type"])?,
        content_id: if inline {
            Some(format!("{:x}@polymailer", fastrand::u64(..)))
        } else {
            cid
        },
    })
}

/// `{name: value}` (a list value: the header once per item) or `[{key, value}]`; a value may
/// be `{value}`.
fn headers(v: Option<&Value>, out: &mut Vec<(String, String)>) -> Result<()> {
    let pairs: Vec<(String, &Value)> = match v {
        None => return Ok(()),
        Some(Value::Map(entries)) => entries.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Some(list) => list
            .items()
            .iter()
            .map(|h| {
                Ok((
                    h.text_at(&["key"])?.unwrap_or_default(),
                    h.get(&["value"]).unwrap_or(&Value::Null),
                ))
            })
            .collect::<Result<_>>()?,
    };
    for (key, value) in pairs {
        for v in value.items() {
            let v = if let Value::Map(_) = v {
                v.get(&["value"]).unwrap_or(&Value::Null)
            } else {
                v
            };
            out.push((key.clone(), v.to_text("header value")?));
        }
    }
    Ok(())
}

/// `list`: each key a `List-*` header (`oneClick: true` adds RFC 8058's
/// `List-Unsubscribe-Post`). An entry is a URL, `{url, comment}` or `(url, comment)`.
fn list_fields(list: &Value, dialect: Dialect, m: &mut Message) -> Result<()> {
    let Value::Map(keys) = list else {
        return Err(Error::invalid("list: a map of List-* names"));
    };
    fn entries(v: &Value, out: &mut Vec<ListEntry>) -> Result<()> {
        let comment = |c: Option<&Value>| c.map(|c| c.to_text("list comment")).transpose();
        match v {
            Value::List(items) => items.iter().try_for_each(|i| entries(i, out))?,
            Value::Tuple(p) if !p.is_empty() => out.push(ListEntry {
                url: p[0].to_text("list url")?,
                comment: comment(p.get(1).filter(|c| !c.is_null()))?,
            }),
            Value::Map(_) => out.push(ListEntry {
                url: v
                    .text_at(&["url"])?
                    .ok_or_else(|| Error::invalid("list entry needs 'url'"))?,
                comment: comment(v.get(&["comment"]))?,
            }),
            v if v.is_present() => out.push(ListEntry::new(v.to_text("list url")?)),
            _ => {}
        }
        Ok(())
    }
    for (key, value) in keys.iter().filter(|(_, v)| !v.is_null()) {
        if key == "oneClick" {
            m.list.one_click = value.flag();
            continue;
        }
        let lines = match (dialect, value) {
            (Dialect::Nodemailer, Value::List(items)) => items.iter().collect(),
            _ => vec![value],
        };
        for line in lines {
            let mut found = Vec::new();
            entries(line, &mut found)?;
            m.list.add(key, found);
        }
    }
    Ok(())
}
