//! PHPMailer's message state → a core `Message`, built and validated by the core (which also
//! refuses attachment paths that are URLs or stream wrappers).

use polymailer::{Attachment, Content, Dsn, Mailbox, Message, Prepared};

use crate::errors::lang;

/// One `add*Attachment`/`add*EmbeddedImage` call: what the core gets, and PHPMailer's
/// `getAttachments()` row (path or string, file name, name, encoding, type, is-string,
/// disposition, cid).
#[derive(Clone)]
pub struct AttachmentSpec {
    pub content: Content,
    /// The name the recipient sees.
    pub filename: String,
    pub content_type: Option<String>,
    /// Inline with this Content-ID (empty: inline under the file name).
    pub content_id: Option<String>,
    pub basename: String,
    pub encoding: String,
    pub disposition: String,
}

/// PHPMailer's transfer encodings (anything else is refused when attaching).
pub const ENCODINGS: &[&str] = &["7bit", "8bit", "base64", "binary", "quoted-printable"];

/// An attachment read from a local, readable file (checked now, as PHPMailer does).
pub fn file_attachment(
    path: &str,
    name: &str,
    kind: &str,
    cid: Option<String>,
    encoding: &str,
    disposition: &str,
) -> Result<AttachmentSpec, String> {
    if !crate::helpers::file_is_accessible(path) || polymailer::message::check_attachment_path(path).is_err() {
        return Err(format!("{}{}", lang::FILE_ACCESS, path));
    }
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => {}
        _ => return Err(format!("{}{}", lang::FILE_ACCESS, path)),
    }
    if !ENCODINGS.contains(&encoding) {
        return Err(format!("{}{}", lang::ENCODING, encoding));
    }
    let basename = polymailer::text::path_info(path)[1].clone();
    let kind = if kind.is_empty() {
        crate::helpers::filename_to_type(path)
    } else {
        kind
    };
    Ok(AttachmentSpec {
        content: Content::Path(path.into()),
        filename: if name.is_empty() {
            basename.clone()
        } else {
            name.to_string()
        },
        content_type: Some(kind.to_string()),
        content_id: cid,
        basename,
        encoding: encoding.to_string(),
        disposition: disposition.to_string(),
    })
}

/// An attachment of a PHP string's bytes.
pub fn bytes_attachment(
    bytes: Vec<u8>,
    filename: &str,
    kind: &str,
    cid: Option<String>,
    encoding: &str,
    disposition: &str,
) -> Result<AttachmentSpec, String> {
    if !ENCODINGS.contains(&encoding) {
        return Err(format!("{}{}", lang::ENCODING, encoding));
    }
    // No name and no type: PHPMailer's row shows '' (the core sends application/octet-stream).
    let kind = match kind {
        "" if !filename.is_empty() => Some(crate::helpers::filename_to_type(filename)),
        "" => None,
        k => Some(k),
    };
    Ok(AttachmentSpec {
        content: Content::Bytes(bytes),
        filename: filename.to_string(),
        content_type: kind.map(str::to_string),
        content_id: cid,
        basename: polymailer::text::path_info(filename)[1].clone(),
        encoding: encoding.to_string(),
        disposition: disposition.to_string(),
    })
}

fn mailboxes(list: &[(String, String)]) -> Vec<Mailbox> {
    list.iter()
        .map(|(a, n)| Mailbox::new(Some(n.clone()), a.clone()))
        .collect()
}

/// The message as the PHPMailer object describes it, in plain values (all this module needs
/// from the PHP object).
pub struct Draft<'a> {
    pub to: &'a [(String, String)],
    pub cc: &'a [(String, String)],
    pub bcc: &'a [(String, String)],
    pub reply_to: &'a [(String, String)],
    pub attachments: &'a [AttachmentSpec],
    pub custom_headers: &'a [(String, String)],
    pub from: String,
    pub from_name: Option<String>,
    /// PHPMailer's `Sender`: the envelope sender (Return-Path), not a header.
    pub sender: Option<String>,
    pub subject: String,
    pub body: String,
    pub alt_body: Option<String>,
    pub ical: Option<String>,
    /// `Encoding`, for the text and HTML parts.
    pub encoding: String,
    pub is_html: bool,
    pub allow_empty: bool,
    pub message_id: Option<String>,
    pub priority: Option<String>,
    /// None: no X-Mailer header; "": the default one.
    pub x_mailer: Option<String>,
    pub confirm_reading_to: Option<String>,
    pub dsn: String,
}

/// Builds the message as PHPMailer's preSend would; errors are PHPMailer's messages.
pub fn build(m: &Draft<'_>) -> Result<Prepared, String> {
    if m.to.is_empty() && m.cc.is_empty() && m.bcc.is_empty() {
        return Err(lang::PROVIDE_ADDRESS.to_string());
    }
    if m.body.is_empty() && !m.allow_empty {
        return Err(lang::EMPTY_MESSAGE.to_string());
    }
    build_any(m)
}

/// The message as built, split after its header block (recipients and a body not required):
/// the header lines (each with its CRLF) and the MIME body.
fn built_parts(m: &Draft<'_>) -> Result<(Vec<u8>, Vec<u8>), String> {
    let mut bytes = build_any(m)?.content.to_bytes().map_err(|e| e.to_string())?;
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(bytes.len(), |i| i + 2);
    let body = bytes.split_off(split);
    Ok((bytes, body.get(2..).unwrap_or_default().to_vec()))
}

/// The header block the message would have (PHPMailer's `createHeader()`).
pub fn header_block(m: &Draft<'_>) -> Result<String, String> {
    built_parts(m).map(|(head, _)| String::from_utf8_lossy(&head).into_owned())
}

/// The MIME body the message would have (PHPMailer's `createBody()`).
pub fn body_block(m: &Draft<'_>) -> Result<Vec<u8>, String> {
    built_parts(m).map(|(_, body)| body)
}

fn build_any(m: &Draft<'_>) -> Result<Prepared, String> {
    let body = m.body.clone();
    let from = m.from.trim().to_string();
    let mut msg = Message {
        from: Some(Mailbox::new(m.from_name.clone(), from)),
        to: mailboxes(m.to),
        cc: mailboxes(m.cc),
        bcc: mailboxes(m.bcc),
        reply_to: mailboxes(m.reply_to),
        subject: Some(m.subject.clone()),
        message_id: m.message_id.clone(),
        ..Default::default()
    };
    if m.is_html {
        msg.html = Some(body);
        msg.text = m.alt_body.clone();
    } else {
        msg.text = Some(body);
    }
    msg.calendar = m.ical.clone();
    msg.body_encoding = Some(m.encoding.clone()).filter(|e| !e.is_empty());
    for a in m.attachments {
        msg.attachments.push(Attachment {
            content: a.content.clone(),
            filename: Some(a.filename.clone()).filter(|f| !f.is_empty()),
            content_type: a.content_type.clone(),
            content_id: a.content_id.clone().filter(|c| !c.is_empty()).or_else(|| {
                // addAttachment(..., 'inline') without a cid still goes inline.
                a.content_id.as_ref().map(|_| a.filename.clone())
            }),
        });
    }
    if let Some(p) = &m.priority {
        msg.headers.push(("X-Priority".into(), p.clone()));
    }
    match m.x_mailer.as_deref() {
        None => {}
        Some("") => msg.headers.push((
            "X-Mailer".into(),
            format!(
                "PHPMailer {} (https://github.com/PHPMailer/PHPMailer) polymailer/{}",
                crate::mailer::VERSION,
                env!("CARGO_PKG_VERSION")
            ),
        )),
        Some(custom) => msg.headers.push(("X-Mailer".into(), custom.trim().to_string())),
    }
    if let Some(to) = &m.confirm_reading_to {
        msg.headers
            .push(("Disposition-Notification-To".into(), format!("<{to}>")));
    }
    msg.headers.extend(m.custom_headers.iter().cloned());
    msg.return_path = m.sender.clone();
    let notify: Vec<String> = m
        .dsn
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let mut envelope = msg.derived_envelope();
    if envelope.to.is_empty() {
        // Only for header_block(): nothing is sent without a recipient.
        envelope.to.push("undisclosed-recipients@invalid".into());
    }
    envelope.dsn = Dsn::new(None, None, &notify, None).map_err(|e| e.to_string())?;
    msg.envelope = Some(envelope);
    msg.build().map_err(|e| match e.stage() {
        polymailer::Stage::Envelope => format!("{}{}", lang::INVALID_ADDRESS, e.message()),
        _ => e.to_string(),
    })
}
