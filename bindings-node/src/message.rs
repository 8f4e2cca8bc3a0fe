//! Nodemailer's mail object → a core `Message` (or `RawMessage`), with Nodemailer's envelope
//! rule: MAIL FROM from `from`, else `sender`, else `replyTo`.

use std::time::{Duration, UNIX_EPOCH};

use napi::bindgen_prelude::{Buffer, Either};
use napi_derive::napi;
use polymailer::address::{self, parse_list};
use polymailer::list::ListEntry;
use polymailer::{
    Attachment, Content, Dsn, Envelope, Error, Mailbox, Message, Outgoing, Priority, RawMessage, Result, SenderRule,
};

#[napi(object)]
pub struct AddressObject {
    pub name: Option<String>,
    pub address: String,
}

pub type AddressList = Vec<Either<String, AddressObject>>;

#[napi(object)]
pub struct AttachmentInput {
    pub filename: Option<String>,
    pub content: Option<Buffer>,
    pub path: Option<String>,
    pub content_type: Option<String>,
    pub cid: Option<String>,
    pub content_disposition: Option<String>,
}

#[napi(object)]
pub struct HeaderInput {
    pub key: String,
    pub value: String,
}

#[napi(object)]
pub struct EnvelopeInput {
    pub from: Option<String>,
    pub to: Option<Vec<String>>,
}

/// The mail object after index.js flattened address fields to lists and attachments' string
/// content to Buffers.
#[napi(object)]
pub struct MailInput {
    pub from: Option<AddressList>,
    pub sender: Option<AddressList>,
    pub to: Option<AddressList>,
    pub cc: Option<AddressList>,
    pub bcc: Option<AddressList>,
    pub reply_to: Option<AddressList>,
    pub subject: Option<String>,
    pub text: Option<String>,
    pub html: Option<String>,
    pub attachments: Option<Vec<AttachmentInput>>,
    pub headers: Option<Vec<HeaderInput>>,
    pub message_id: Option<String>,
    /// Milliseconds since the epoch.
    pub date: Option<f64>,
    pub in_reply_to: Option<String>,
    pub references: Option<Vec<String>>,
    pub priority: Option<String>,
    pub envelope: Option<EnvelopeInput>,
    pub raw: Option<Buffer>,
    /// DSN: `{ret, envid, notify, orcpt}` flattened by index.js.
    pub dsn_ret: Option<String>,
    pub dsn_envid: Option<String>,
    pub dsn_notify: Option<Vec<String>>,
    pub dsn_orcpt: Option<String>,
    /// Nodemailer's `list` object, one entry per header line (index.js flattens it).
    pub list: Option<Vec<ListFieldInput>>,
    /// `list.oneClick`: add `List-Unsubscribe-Post: List-Unsubscribe=One-Click`.
    pub list_one_click: Option<bool>,
}

#[napi(object)]
pub struct ListEntryInput {
    pub url: String,
    pub comment: Option<String>,
}

#[napi(object)]
pub struct ListFieldInput {
    pub key: String,
    pub entries: Vec<ListEntryInput>,
}

fn mailboxes(list: Option<AddressList>) -> Result<Vec<Mailbox>> {
    let mut out = Vec::new();
    for item in list.unwrap_or_default() {
        match item {
            Either::A(s) => out.extend(parse_list(&s)?),
            Either::B(o) => {
                let m = Mailbox::new(o.name, o.address);
                m.validate("address")?;
                out.push(m);
            }
        }
    }
    Ok(out)
}

/// A `data:` URI's bytes and type, or the error fields when it is not one.
#[napi(object)]
pub struct DataUri {
    pub content: Option<Buffer>,
    pub content_type: Option<String>,
    pub error: Option<crate::errors::ErrorFields>,
}

/// The MIME type the core gives a file name (`application/octet-stream` when unknown).
#[napi]
#[cfg_attr(test, allow(dead_code))] // called from JS only
pub fn mime_type(filename: String) -> String {
    polymailer::message::guess_content_type(&filename).to_string()
}

/// One mailbox of a parsed address list.
#[napi(object)]
pub struct ParsedAddress {
    pub name: String,
    pub address: String,
}

/// An address list parsed by the core's rule (`"Doe, J" <j@x>, k@y`): exactly one of `list`
/// and `error` is set.
#[napi(object)]
pub struct ParsedAddresses {
    pub list: Option<Vec<ParsedAddress>>,
    pub error: Option<crate::errors::ErrorFields>,
}

/// Parses a header-style address list (jsonTransport shows addresses as `{name, address}`).
#[napi]
#[cfg_attr(test, allow(dead_code))] // called from JS only
pub fn parse_address_list(value: String) -> ParsedAddresses {
    match polymailer::address::parse_list(&value) {
        Ok(list) => ParsedAddresses {
            list: Some(
                list.into_iter()
                    .map(|m| ParsedAddress {
                        name: m.name.unwrap_or_default(),
                        address: m.address,
                    })
                    .collect(),
            ),
            error: None,
        },
        Err(e) => ParsedAddresses {
            list: None,
            error: Some(crate::errors::fields(&e)),
        },
    }
}

/// Reads a `data:` URI by the core's rule (for attachment `path`s and `{ path }` bodies).
#[napi]
#[cfg_attr(test, allow(dead_code))] // called from JS only
pub fn parse_data_uri(uri: String) -> DataUri {
    match polymailer::message::parse_data_uri(&uri) {
        Ok((bytes, content_type)) => DataUri {
            content: Some(bytes.into()),
            content_type,
            error: None,
        },
        Err(e) => DataUri {
            content: None,
            content_type: None,
            error: Some(crate::errors::fields(&e)),
        },
    }
}

/// What `sendMail` will send: built fields, or raw bytes with an envelope.
impl TryFrom<MailInput> for Outgoing {
    type Error = Error;

    fn try_from(mail: MailInput) -> Result<Outgoing> {
        let from = address::single("from", mailboxes(mail.from)?)?;
        let sender = address::single("sender", mailboxes(mail.sender)?)?;
        let reply_to = mailboxes(mail.reply_to)?;
        let to = mailboxes(mail.to)?;
        let cc = mailboxes(mail.cc)?;
        let bcc = mailboxes(mail.bcc)?;
        let explicit = match mail.envelope {
            Some(e) => Some(Envelope::new(
                match e.from {
                    Some(f) => address::envelope_address("envelope from", &f)?,
                    None => None,
                },
                address::envelope_recipients("envelope to", &e.to.unwrap_or_default())?,
            )),
            None => None,
        };
        let mut m = Message {
            from,
            sender,
            to,
            cc,
            bcc,
            reply_to,
            sender_rule: SenderRule::FromThenSenderThenReplyTo,
            ..Default::default()
        };
        let mut envelope = explicit.unwrap_or_else(|| m.derived_envelope());
        envelope.dsn = Dsn::new(
            mail.dsn_ret.as_deref(),
            mail.dsn_envid.as_deref(),
            &mail.dsn_notify.unwrap_or_default(),
            mail.dsn_orcpt.as_deref(),
        )?;
        if let Some(raw) = mail.raw {
            return Ok(Outgoing::Raw(RawMessage::new(raw.to_vec()).with_envelope(envelope)));
        }
        m.subject = mail.subject;
        m.text = mail.text;
        m.html = mail.html;
        m.message_id = mail.message_id;
        m.in_reply_to = mail.in_reply_to;
        m.references = mail.references.unwrap_or_default();
        m.date = mail
            .date
            .map(|ms| UNIX_EPOCH + Duration::from_secs_f64(ms.max(0.0) / 1000.0));
        m.envelope = Some(envelope);
        m.priority = mail.priority.as_deref().map(str::parse::<Priority>).transpose()?;
        for a in mail.attachments.unwrap_or_default() {
            let content = match (a.content, a.path) {
                (Some(c), _) => Content::Bytes(c.to_vec()),
                (None, Some(p)) => Content::Path(p.into()),
                (None, None) => return Err(Error::invalid("attachment needs content or path")),
            };
            let inline = a.content_disposition.as_deref() == Some("inline") || a.cid.is_some();
            m.attachments.push(Attachment {
                content,
                filename: a.filename,
                content_type: a.content_type,
                content_id: if inline {
                    a.cid.or_else(|| Some(format!("{:x}@polymailer", fastrand_id())))
                } else {
                    None
                },
            });
        }
        for h in mail.headers.unwrap_or_default() {
            m.headers.push((h.key, h.value));
        }
        for f in mail.list.unwrap_or_default() {
            let entries = f
                .entries
                .into_iter()
                .map(|e| ListEntry {
                    url: e.url,
                    comment: e.comment,
                })
                .collect();
            m.list.add(&f.key, entries);
        }
        m.list.one_click = mail.list_one_click.unwrap_or(false);
        Ok(Outgoing::Fields(Box::new(m)))
    }
}

fn fastrand_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    );
    h.finish()
}
