//! The message model, built to RFC 5322 bytes with lettre's builder, and raw messages built
//! elsewhere (a stdlib `email` object, Nodemailer's `raw`) with their envelope.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox as LettreMailbox, MultiPart, SinglePart};

use crate::address::{self, check_no_control, Mailbox};
use crate::error::{Error, Result, Stage};
use crate::payload::{self, Payload, Piece};

/// Where an attachment's bytes come from. A path is opened when the message is built, so an
/// unreadable path fails before any connection is made, and read (base64-encoded block by
/// block) while the message is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Bytes(Vec<u8>),
    Path(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub content: Content,
    /// Defaults to the path's file name.
    pub filename: Option<String>,
    /// Defaults to a guess from the file name, else `application/octet-stream`.
    pub content_type: Option<String>,
    /// Set for an inline part referenced from HTML as `cid:<content_id>`.
    pub content_id: Option<String>,
}

impl Attachment {
    pub fn bytes(filename: impl Into<String>, content: impl Into<Vec<u8>>) -> Self {
        Attachment {
            content: Content::Bytes(content.into()),
            filename: Some(filename.into()),
            content_type: None,
            content_id: None,
        }
    }

    pub fn path(path: impl Into<PathBuf>) -> Self {
        Attachment {
            content: Content::Path(path.into()),
            filename: None,
            content_type: None,
            content_id: None,
        }
    }

    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Makes it an inline part with this Content-ID (without angle brackets).
    pub fn inline(mut self, content_id: impl Into<String>) -> Self {
        self.content_id = Some(content_id.into());
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    High,
    Normal,
    Low,
}

/// `"high"`, `"normal"` or `"low"`, in any case (Nodemailer's and the Python API's words).
impl std::str::FromStr for Priority {
    type Err = Error;

    fn from_str(s: &str) -> Result<Priority> {
        match s.to_ascii_lowercase().as_str() {
            "high" => Ok(Priority::High),
            "normal" => Ok(Priority::Normal),
            "low" => Ok(Priority::Low),
            _ => Err(Error::invalid(format!(
                "priority must be high, normal or low, not {s:?}"
            ))),
        }
    }
}

/// SMTP envelope: MAIL FROM (`None` is the null sender `<>`), RCPT TO, and extension
/// parameters (e.g. `RET=HDRS`, `NOTIFY=SUCCESS`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Envelope {
    pub from: Option<String>,
    pub to: Vec<String>,
    pub mail_params: Vec<String>,
    pub rcpt_params: Vec<String>,
    /// Delivery status notification request, sent only when the server offers DSN.
    pub dsn: Option<Dsn>,
    /// Accept addresses without a domain (`root`), as smtplib passes them to a local server.
    pub local_addresses: bool,
}

/// RFC 3461 delivery status notifications: RET and ENVID on MAIL, NOTIFY and ORCPT on RCPT.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dsn {
    pub mail_params: Vec<String>,
    pub rcpt_params: Vec<String>,
}

impl Dsn {
    /// `ret`: `HDRS`/`headers` or `FULL`; `notify`: `NEVER` or any of `SUCCESS`, `FAILURE`,
    /// `DELAY`; `orcpt`: an address (sent as `rfc822;addr`).
    pub fn new(ret: Option<&str>, envid: Option<&str>, notify: &[String], orcpt: Option<&str>) -> Result<Option<Dsn>> {
        let mut dsn = Dsn::default();
        if let Some(ret) = ret {
            let ret = match ret.to_ascii_uppercase().as_str() {
                "HDRS" | "HEADERS" => "HDRS",
                "FULL" => "FULL",
                other => return Err(Error::invalid(format!("dsn ret {other:?}: HDRS or FULL"))),
            };
            dsn.mail_params.push(format!("RET={ret}"));
        }
        if let Some(id) = envid {
            dsn.mail_params.push(format!("ENVID={}", xtext(id)));
        }
        if !notify.is_empty() {
            let upper: Vec<String> = notify.iter().map(|n| n.trim().to_ascii_uppercase()).collect();
            for n in &upper {
                if !["NEVER", "SUCCESS", "FAILURE", "DELAY"].contains(&n.as_str()) {
                    return Err(Error::invalid(format!(
                        "dsn notify {n:?}: NEVER, SUCCESS, FAILURE or DELAY"
                    )));
                }
            }
            if upper.len() > 1 && upper.iter().any(|n| n == "NEVER") {
                return Err(Error::invalid("dsn notify: NEVER cannot be combined"));
            }
            dsn.rcpt_params.push(format!("NOTIFY={}", upper.join(",")));
        }
        if let Some(o) = orcpt {
            address::validate_address("dsn orcpt", o)?;
            dsn.rcpt_params.push(format!("ORCPT=rfc822;{}", xtext(o)));
        }
        Ok((!dsn.mail_params.is_empty() || !dsn.rcpt_params.is_empty()).then_some(dsn))
    }
}

/// RFC 3461 xtext: `+`, `=`, controls and non-ASCII as `+XX`.
fn xtext(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if (33..=126).contains(&b) && b != b'+' && b != b'=' {
                (b as char).to_string()
            } else {
                format!("+{b:02X}")
            }
        })
        .collect()
}

impl Envelope {
    pub fn new(from: Option<String>, to: Vec<String>) -> Self {
        Envelope {
            from,
            to,
            ..Default::default()
        }
    }

    /// smtplib's `sendmail(from_addr, to_addrs, ...)` envelope: each address as given, in
    /// smtplib's `quoteaddr` forms (`Name <a@b>`, `<>`), a local part alone allowed (`root`).
    pub fn as_given(from: &str, to: &[String]) -> Result<Self> {
        let check = |field: &str, a: &str| crate::address::envelope_address_or_local(field, a);
        let to = to
            .iter()
            .map(|t| check("to_addrs", t)?.ok_or_else(|| Error::invalid("to_addrs: empty address")))
            .collect::<Result<_>>()?;
        Ok(Envelope {
            from: check("from_addr", from)?,
            to,
            local_addresses: true,
            ..Default::default()
        })
    }

    /// Validates the addresses and puts their domains in punycode.
    pub fn to_wire(&self) -> Result<Envelope> {
        self.checked().map_err(|e| e.at_stage(Stage::Envelope))
    }

    fn checked(&self) -> Result<Envelope> {
        let check = |field: &str, a: &str| {
            if self.local_addresses && !a.contains('@') {
                address::validate_local_part(field, a)
            } else {
                address::validate_address(field, a)
            }
        };
        let from = match &self.from {
            Some(f) if !f.is_empty() => {
                check("envelope from", f)?;
                Some(address::to_wire(f))
            }
            _ => None,
        };
        if self.to.is_empty() {
            return Err(Error::invalid("no recipients: give at least one To, Cc or Bcc address"));
        }
        let mut to = Vec::with_capacity(self.to.len());
        for r in &self.to {
            check("envelope recipient", r)?;
            to.push(address::to_wire(r));
        }
        for p in self.mail_params.iter().chain(&self.rcpt_params) {
            check_no_control("envelope parameter", p)?;
            if p.is_empty() || p.contains(' ') {
                return Err(Error::invalid(format!("envelope parameter {p:?} must be one word")));
            }
        }
        Ok(Envelope {
            from,
            to,
            mail_params: self.mail_params.clone(),
            rcpt_params: self.rcpt_params.clone(),
            dsn: self.dsn.clone(),
            local_addresses: self.local_addresses,
        })
    }
}

/// How MAIL FROM is chosen when no explicit envelope is given: each host library's rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SenderRule {
    /// smtplib's `send_message`: Sender, else From.
    #[default]
    SenderThenFrom,
    /// Nodemailer: From, else Sender, else the first Reply-To.
    FromThenSenderThenReplyTo,
}

/// A message ready for the wire: its content, the envelope, and its Message-ID.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub content: Payload,
    pub envelope: Envelope,
    pub message_id: Option<String>,
}

/// A message described field by field; [`Message::build`] turns it into bytes.
#[derive(Debug, Clone, Default)]
pub struct Message {
    pub from: Option<Mailbox>,
    pub sender: Option<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    /// Envelope recipients only: never written to the headers.
    pub bcc: Vec<Mailbox>,
    pub reply_to: Vec<Mailbox>,
    pub subject: Option<String>,
    pub text: Option<String>,
    pub html: Option<String>,
    /// An iCalendar object sent as a third alternative (`text/calendar; method=…`), as
    /// calendar clients expect invitations (PHPMailer's `Ical`).
    pub calendar: Option<String>,
    /// The transfer encoding asked for the text and HTML parts (`7bit`, `8bit`,
    /// `quoted-printable`, `base64`), adjusted by [`crate::text::body_encoding`]; None lets
    /// the builder pick.
    pub body_encoding: Option<String>,
    pub attachments: Vec<Attachment>,
    /// Extra headers, in order.
    pub headers: Vec<(String, String)>,
    /// Generated when absent (`<random@from-domain>`), and returned in the report.
    pub message_id: Option<String>,
    pub date: Option<SystemTime>,
    pub priority: Option<Priority>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    /// Overrides the envelope derived from the headers.
    pub envelope: Option<Envelope>,
    /// MAIL FROM without a header (PHPMailer's `Sender`, the Return-Path); wins over the rule.
    pub return_path: Option<String>,
    /// The rule that picks MAIL FROM from the headers.
    pub sender_rule: SenderRule,
    /// `List-*` headers and one-click unsubscribe (RFC 2369, 2919, 8058).
    pub list: crate::list::ListHeaders,
}

impl Message {
    pub fn new() -> Self {
        Self::default()
    }

    /// The envelope: the explicit one, or MAIL FROM from Sender/From and RCPT TO from
    /// To + Cc + Bcc, de-duplicated.
    pub fn envelope(&self) -> Result<Envelope> {
        match &self.envelope {
            Some(e) => e.to_wire(),
            None => self.derived_envelope().to_wire(),
        }
    }

    /// The envelope the fields imply (not yet validated): MAIL FROM by `return_path`, else
    /// `sender_rule`; RCPT TO from To + Cc + Bcc, de-duplicated.
    pub fn derived_envelope(&self) -> Envelope {
        let by_rule = match self.sender_rule {
            SenderRule::SenderThenFrom => self.sender.as_ref().or(self.from.as_ref()),
            SenderRule::FromThenSenderThenReplyTo => {
                self.from.as_ref().or(self.sender.as_ref()).or(self.reply_to.first())
            }
        };
        let from = self.return_path.clone().or_else(|| by_rule.map(|m| m.address.clone()));
        let to = dedup(
            self.to
                .iter()
                .chain(&self.cc)
                .chain(&self.bcc)
                .map(|m| m.address.clone()),
        );
        Envelope::new(from, to)
    }

    /// Validates every field and builds the RFC 5322 bytes. Reads attachment paths.
    pub fn build(&self) -> Result<Prepared> {
        let from = self
            .from
            .as_ref()
            .ok_or_else(|| Error::invalid("from: a sender address is required"))?;
        let envelope = self.envelope()?;
        let mailbox = |field: &str, m: &Mailbox| -> Result<LettreMailbox> {
            m.validate(field)?;
            let wire = address::to_wire(&m.address);
            let addr = wire
                .parse()
                .map_err(|e| Error::invalid(format!("{field}: invalid address {:?}: {e}", m.address)))?;
            Ok(LettreMailbox::new(m.name.clone(), addr))
        };

        let mut address_headers: Vec<(&'static str, Vec<LettreMailbox>)> = Vec::new();
        let mut b = lettre::Message::builder()
            .envelope(
                lettre::address::Envelope::new(None, vec!["envelope@invalid.invalid".parse().expect("static")])
                    .expect("static"),
            )
            .from(mailbox("from", from)?);
        address_headers.push(("From", vec![mailbox("from", from)?]));
        if let Some(s) = &self.sender {
            b = b.sender(mailbox("sender", s)?);
            address_headers.push(("Sender", vec![mailbox("sender", s)?]));
        }
        for (name, field, list) in [
            ("To", "to", &self.to),
            ("Cc", "cc", &self.cc),
            ("Reply-To", "reply-to", &self.reply_to),
        ] {
            let boxes = list.iter().map(|m| mailbox(field, m)).collect::<Result<Vec<_>>>()?;
            if !boxes.is_empty() {
                address_headers.push((name, boxes));
            }
        }
        for m in &self.bcc {
            m.validate("bcc")?;
        }
        // Written by the core's own rule (quoted-string for ASCII names), not lettre's.
        for (name, boxes) in &address_headers {
            b = b.raw_header(address_header(name, boxes));
        }
        if let Some(subject) = &self.subject {
            check_no_control("subject", subject)?;
            b = b.subject(subject.clone());
        }
        let message_id = match &self.message_id {
            Some(id) => angle(&check_id("message-id", id)?),
            None => generate_message_id(&from.address),
        };
        b = b.message_id(Some(message_id.clone()));
        b = b.date(self.date.unwrap_or_else(SystemTime::now));
        if let Some(id) = &self.in_reply_to {
            b = b.in_reply_to(angle(&check_id("in-reply-to", id)?));
        }
        if !self.references.is_empty() {
            let refs: Result<Vec<String>> = self
                .references
                .iter()
                .map(|r| check_id("references", r).map(|r| angle(&r)))
                .collect();
            b = b.references(refs?.join(" "));
        }
        if let Some(p) = self.priority {
            let (x, ms, importance) = match p {
                Priority::High => ("1 (Highest)", "High", "High"),
                Priority::Normal => ("3 (Normal)", "Normal", "Normal"),
                Priority::Low => ("5 (Lowest)", "Low", "Low"),
            };
            for (name, value) in [("X-Priority", x), ("X-MSMail-Priority", ms), ("Importance", importance)] {
                b = b.raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str(name),
                    value.to_string(),
                ));
            }
        }
        let list = self.list.headers()?;
        let mut custom = Vec::with_capacity(self.headers.len());
        for (name, value) in &self.headers {
            check_header(name, value)?;
            custom.push((name.as_str(), crate::list::normalize_custom(name, value)?));
        }
        crate::list::check_one_click(
            list.iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .chain(custom.iter().map(|(n, v)| (*n, v.as_str()))),
        )?;
        // lettre keeps one header per name; repeated names (two List-Help lines, PHPMailer's
        // repeated addCustomHeader) are written after the others, in order.
        let mut repeated = lettre::message::header::Headers::new();
        let mut repeated_text = String::new();
        let mut seen: Vec<&str> = Vec::new();
        for (name, value) in list
            .iter()
            .map(|(n, v)| (n.as_str(), v))
            .chain(custom.iter().map(|(n, v)| (*n, v)))
        {
            let header = custom_header(name, value)?;
            if seen.iter().any(|s| s.eq_ignore_ascii_case(name)) {
                repeated.insert_raw(header);
                repeated_text.push_str(&repeated.to_string());
                repeated.clear();
            } else {
                seen.push(name);
                b = b.raw_header(header);
            }
        }

        let mut files = Vec::new();
        let body = self.body(&mut files)?;
        let msg = match body {
            Part::Single(p) => b.singlepart(p),
            Part::Multi(p) => b.multipart(p),
        }
        .map_err(|e| Error::invalid(format!("message: {e}")))?;
        let mut formatted = msg.formatted();
        if !repeated_text.is_empty() {
            let end = formatted
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map_or(formatted.len(), |i| i + 2);
            formatted.splice(end..end, repeated_text.into_bytes());
        }
        Ok(Prepared {
            content: splice_files(formatted, files),
            envelope,
            message_id: Some(message_id),
        })
    }

    /// text / html / alternative, wrapped in related for inline parts and mixed for attachments.
    /// File attachments get a placeholder body, listed in `files`.
    fn body(&self, files: &mut Vec<StreamedFile>) -> Result<Part> {
        // CRLF first: lettre inserts each missing CR with String::insert (quadratic: 8 MB of
        // text took 15 s to build, which no send timeout can bound).
        let part = |body: &str, kind: ContentType| -> SinglePart {
            let body = crlf(body);
            match &self.body_encoding {
                None if kind == ContentType::TEXT_HTML => SinglePart::html(body),
                None => SinglePart::plain(body),
                Some(asked) => {
                    let chosen = match crate::text::body_encoding(asked, body.as_bytes()) {
                        // RFC 5322 allows 7bit/8bit lines up to 998 octets (the rule switches
                        // longer ones to quoted-printable); lettre's own check stops at 76.
                        "7bit" | "8bit" | "binary" if body.contains('\0') => ContentTransferEncoding::QuotedPrintable,
                        "7bit" => ContentTransferEncoding::SevenBit,
                        "8bit" | "binary" => ContentTransferEncoding::EightBit,
                        "base64" => ContentTransferEncoding::Base64,
                        _ => ContentTransferEncoding::QuotedPrintable,
                    };
                    let body = match chosen {
                        ContentTransferEncoding::SevenBit | ContentTransferEncoding::EightBit => {
                            Body::dangerous_pre_encoded(body.into_bytes(), chosen)
                        }
                        _ => Body::new_with_encoding(body, chosen).unwrap_or_else(Body::new),
                    };
                    SinglePart::builder().header(kind).body(body)
                }
            }
        };
        let text = self.text.as_deref().map(|t| part(t, ContentType::TEXT_PLAIN));
        let html = self.html.as_deref().map(|h| part(h, ContentType::TEXT_HTML));
        let mut inline = Vec::new();
        let mut attached = Vec::new();
        for a in &self.attachments {
            let part = attachment_part(a, files)?;
            if a.content_id.is_some() {
                inline.push(part);
            } else {
                attached.push(part);
            }
        }
        let calendar = self.calendar.as_deref().map(calendar_part).transpose()?;
        let main = match (text, html) {
            (Some(t), Some(h)) => {
                let html_side = wrap(boundary(MultiPart::related()), Part::Single(h), inline.drain(..));
                Part::Multi(match html_side {
                    Part::Single(h) => boundary(MultiPart::alternative()).singlepart(t).singlepart(h),
                    Part::Multi(r) => boundary(MultiPart::alternative()).singlepart(t).multipart(r),
                })
            }
            (None, Some(h)) => wrap(boundary(MultiPart::related()), Part::Single(h), inline.drain(..)),
            (Some(t), None) => Part::Single(t),
            (None, None) => Part::Single(SinglePart::plain(String::new())),
        };
        let main = match (main, calendar) {
            (main, None) => main,
            (Part::Multi(m), Some(c)) if self.text.is_some() && self.html.is_some() => Part::Multi(m.singlepart(c)),
            (main, Some(c)) => wrap(boundary(MultiPart::alternative()), main, std::iter::once(c)),
        };
        // Inline parts without HTML to reference them are plain attachments.
        attached.splice(0..0, inline);
        Ok(wrap(boundary(MultiPart::mixed()), main, attached.into_iter()))
    }
}

/// The iANA iTIP methods a calendar part can declare (RFC 5546).
const ICAL_METHODS: &[&str] = &[
    "REQUEST",
    "PUBLISH",
    "REPLY",
    "ADD",
    "CANCEL",
    "REFRESH",
    "COUNTER",
    "DECLINECOUNTER",
];

/// `text/calendar; method=<the object's METHOD, REQUEST if none or unknown>; charset=utf-8`.
fn calendar_part(ical: &str) -> Result<SinglePart> {
    let upper = ical.to_ascii_uppercase();
    let method = ICAL_METHODS
        .iter()
        .find(|m| upper.contains(&format!("METHOD:{m}")))
        .unwrap_or(&"REQUEST");
    let kind = ContentType::parse(&format!("text/calendar; method={method}; charset=utf-8"))
        .map_err(|e| Error::invalid(format!("calendar: {e}")))?;
    Ok(SinglePart::builder().header(kind).body(crlf(ical)))
}

/// An address header (`From`, `To`, …): display names as RFC 5322 phrases — an atom when
/// letters, digits and `-_.` suffice, else a quoted-string (`"Doe, Jane (Sales)"`, `\"` and
/// `\\` escaped) for printable ASCII, an RFC 2047 encoded-word only for other text; folded
/// between addresses.
fn address_header(name: &'static str, boxes: &[LettreMailbox]) -> HeaderValue {
    use std::fmt::Write as _;
    let raw = boxes.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    let mut encoded = String::new();
    {
        let mut w = email_encoding::headers::writer::EmailWriter::new(&mut encoded, name.len() + 2, 0, false);
        for (i, m) in boxes.iter().enumerate() {
            if i > 0 {
                let _ = w.write_char(',');
                w.space();
            }
            let display = m.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
            match display {
                Some(n) if n.bytes().all(|b| (0x20..0x7f).contains(&b)) => {
                    let atom = n.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
                    let phrase = if atom {
                        n.to_string()
                    } else {
                        format!("\"{}\"", n.replace('\\', "\\\\").replace('"', "\\\""))
                    };
                    let _ = w.folding().write_str(&phrase);
                    w.space();
                    let _ = w.folding().write_str(&format!("<{}>", m.email));
                }
                Some(n) => {
                    let _ = email_encoding::headers::quoted_string::encode(n, &mut w);
                    w.space();
                    let _ = w.folding().write_str(&format!("<{}>", m.email));
                }
                None => {
                    let _ = w.folding().write_str(m.email.as_ref());
                }
            }
        }
    }
    HeaderValue::dangerous_new_pre_encoded(HeaderName::new_from_ascii_str(name), raw, encoded)
}

/// A multipart with a `b1_`-prefixed boundary of 40 random letters and digits (the shape
/// PHPMailer writes; 238 bits of randomness make a collision with body text negligible).
fn boundary(kind: lettre::message::MultiPartBuilder) -> lettre::message::MultiPartBuilder {
    let random: String = (0..40)
        .map(|_| {
            const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
            ALPHABET[fastrand::usize(..ALPHABET.len())] as char
        })
        .collect();
    kind.boundary(format!("b1_{random}"))
}

/// Bare LF (and bare CR) as CRLF, in one pass.
fn crlf(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 32);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                out.push_str("\r\n");
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
            }
            '\n' => out.push_str("\r\n"),
            c => out.push(c),
        }
    }
    out
}

enum Part {
    Single(SinglePart),
    Multi(MultiPart),
}

fn wrap(kind: lettre::message::MultiPartBuilder, first: Part, rest: impl Iterator<Item = SinglePart>) -> Part {
    let mut rest = rest.peekable();
    if rest.peek().is_none() {
        return first;
    }
    let mut multi = match first {
        Part::Single(p) => kind.singlepart(p),
        Part::Multi(p) => kind.multipart(p),
    };
    for p in rest {
        multi = multi.singlepart(p);
    }
    Part::Multi(multi)
}

/// A file attachment: its placeholder in the built message, replaced by the file's base64
/// when the message is sent.
struct StreamedFile {
    marker: String,
    path: PathBuf,
    size: u64,
}

/// Attachment paths name local files only: a URL (`https://…`), a `data:` URI or a PHP-style
/// stream wrapper (`phar:`, `php://…`) is refused, never fetched or opened (the CVE-2017-5223 /
/// CVE-2018-19296 classes). Every binding applies this through [`Message::build`].
pub fn check_attachment_path(path: &str) -> Result<()> {
    let lower = path.to_ascii_lowercase();
    let wrapper = lower.starts_with("phar:")
        || lower.starts_with("data:")
        || lower.split_once("://").is_some_and(|(scheme, _)| {
            !scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+.-".contains(&b))
        });
    if path.is_empty() || path.contains('\0') || wrapper {
        return Err(Error::invalid(format!(
            "attachment path {path:?}: only local files are read"
        )));
    }
    Ok(())
}

/// `data:[type][;base64],data` → the bytes and the content type, as Nodemailer reads data
/// URIs (base64 read leniently — whitespace, URL-safe letters, missing padding — as Node's
/// `Buffer.from(…, 'base64')` reads it; otherwise percent-decoded).
pub fn parse_data_uri(uri: &str) -> Result<(Vec<u8>, Option<String>)> {
    let invalid = || {
        Error::invalid(format!(
            "invalid data URI {:?}",
            uri.chars().take(40).collect::<String>()
        ))
    };
    let rest = uri.strip_prefix("data:").ok_or_else(invalid)?;
    let (meta, data) = rest.split_once(',').ok_or_else(invalid)?;
    let (content_type, base64) = match meta.strip_suffix(";base64") {
        Some(t) => (t, true),
        None => (meta, false),
    };
    let bytes = if base64 {
        use base64::Engine;
        let clean: String = data
            .chars()
            .filter_map(|c| match c {
                '-' => Some('+'),
                '_' => Some('/'),
                c if c.is_ascii_alphanumeric() || c == '+' || c == '/' => Some(c),
                _ => None,
            })
            .collect();
        // A lone trailing character carries no whole byte: Node drops it.
        let clean = &clean[..clean.len() - usize::from(clean.len() % 4 == 1)];
        base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(clean)
            .map_err(|_| invalid())?
    } else {
        let raw = data.as_bytes();
        let mut out = Vec::with_capacity(raw.len());
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == b'%' {
                let hex = raw.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                let byte = hex.and_then(|h| u8::from_str_radix(h, 16).ok()).ok_or_else(invalid)?;
                out.push(byte);
                i += 3;
            } else {
                out.push(raw[i]);
                i += 1;
            }
        }
        out
    };
    Ok((bytes, Some(content_type.to_string()).filter(|t| !t.is_empty())))
}

fn attachment_part(a: &Attachment, files: &mut Vec<StreamedFile>) -> Result<SinglePart> {
    let (body, path_name) = match &a.content {
        // The builder's choice (text stays readable), but never 7bit/8bit for bytes with a NUL
        // (RFC 2045 forbids it there; the builder would pick 7bit): base64.
        Content::Bytes(b) if b.contains(&0) => (
            Body::new_with_encoding(b.clone(), ContentTransferEncoding::Base64).unwrap_or_else(Body::new),
            None,
        ),
        Content::Bytes(b) => (Body::new(b.clone()), None),
        Content::Path(p) => {
            check_attachment_path(&p.to_string_lossy())?;
            // Opened now so that an unreadable path fails before any connection is made.
            let meta = std::fs::File::open(p)
                .and_then(|f| f.metadata())
                .map_err(|e| payload::read_error(p, e))?;
            if !meta.is_file() {
                return Err(Error::invalid(format!(
                    "attachment {}: not a regular file",
                    p.display()
                )));
            }
            let marker = format!(
                "polymailer{:016x}{:016x}file{}",
                fastrand::u64(..),
                fastrand::u64(..),
                files.len()
            );
            let body = Body::dangerous_pre_encoded(marker.clone().into_bytes(), ContentTransferEncoding::Base64);
            files.push(StreamedFile {
                marker,
                path: p.clone(),
                size: meta.len(),
            });
            (body, p.file_name().map(|n| n.to_string_lossy().into_owned()))
        }
    };
    let filename = a.filename.clone().or(path_name).unwrap_or_else(|| "attachment".into());
    check_no_control("attachment filename", &filename)?;
    let ct = a
        .content_type
        .clone()
        .unwrap_or_else(|| guess_content_type(&filename).to_string());
    check_no_control("attachment content type", &ct)?;
    ContentType::parse(&ct)
        .map_err(|_| Error::invalid(format!("attachment content type {ct:?} is not a MIME type")))?;
    // `name=` as well as the disposition's `filename=`: older clients read only the former.
    let kind = format!("{ct}; name={}", mime_param(&filename));
    let builder = SinglePart::builder().header(PartType(HeaderValue::dangerous_new_pre_encoded(
        HeaderName::new_from_ascii_str("Content-Type"),
        kind.clone(),
        kind,
    )));
    Ok(match &a.content_id {
        Some(cid) => {
            check_no_control("content id", cid)?;
            let cid = cid.trim_start_matches('<').trim_end_matches('>').to_string();
            builder
                .header(lettre::message::header::ContentId::from(format!("<{cid}>")))
                .header(Disposition::new("inline", &filename))
                .body(body)
        }
        None => builder.header(Disposition::new("attachment", &filename)).body(body),
    })
}

/// A MIME parameter value: a token as it is, other ASCII as a quoted-string (`"` and `\`
/// escaped), non-ASCII as a quoted RFC 2047 encoded-word (what mail clients read in `name=`).
fn mime_param(value: &str) -> String {
    if !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
    {
        value.to_string()
    } else if value.is_ascii() {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        use base64::Engine;
        format!(
            "\"=?utf-8?B?{}?=\"",
            base64::engine::general_purpose::STANDARD.encode(value)
        )
    }
}

/// `Content-Disposition: attachment; filename=…` with the file name as a token or
/// quoted-string when ASCII, RFC 2231 `filename*=utf-8''…` otherwise.
#[derive(Clone)]
struct Disposition(HeaderValue);

impl Disposition {
    fn new(kind: &str, filename: &str) -> Self {
        let raw = format!("{kind}; filename={}", mime_param(filename));
        let encoded = if filename.is_ascii() {
            raw.clone()
        } else {
            use std::fmt::Write as _;
            let mut out = String::new();
            {
                let mut w = email_encoding::headers::writer::EmailWriter::new(
                    &mut out,
                    "Content-Disposition: ".len(),
                    0,
                    false,
                );
                let _ = w.write_str(kind);
                let _ = w.write_char(';');
                w.space();
                let _ = email_encoding::headers::rfc2231::encode("filename", filename, &mut w);
            }
            out
        };
        Disposition(HeaderValue::dangerous_new_pre_encoded(
            HeaderName::new_from_ascii_str("Content-Disposition"),
            raw,
            encoded,
        ))
    }
}

/// An attachment's `Content-Type` with its `name=` parameter, written as given.
#[derive(Clone)]
struct PartType(HeaderValue);

impl lettre::message::header::Header for PartType {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Type")
    }

    fn parse(s: &str) -> std::result::Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(PartType(HeaderValue::dangerous_new_pre_encoded(
            Self::name(),
            s.to_string(),
            s.to_string(),
        )))
    }

    fn display(&self) -> HeaderValue {
        self.0.clone()
    }
}

impl lettre::message::header::Header for Disposition {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Disposition")
    }

    fn parse(s: &str) -> std::result::Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let (kind, rest) = s.split_once(';').unwrap_or((s, ""));
        let name = rest.trim().trim_start_matches("filename=").trim_matches('"');
        Ok(Disposition::new(kind.trim(), name))
    }

    fn display(&self) -> HeaderValue {
        self.0.clone()
    }
}

/// The built message with each file's placeholder cut out and the file put in its place.
fn splice_files(built: Vec<u8>, mut files: Vec<StreamedFile>) -> Payload {
    if files.is_empty() {
        return built.into();
    }
    let find = |marker: &str| {
        built
            .windows(marker.len())
            .position(|w| w == marker.as_bytes())
            .expect("placeholder in the built message")
    };
    let mut at: Vec<(usize, StreamedFile)> = files.drain(..).map(|f| (find(&f.marker), f)).collect();
    at.sort_by_key(|(pos, _)| *pos);
    let mut pieces = Vec::with_capacity(2 * at.len() + 1);
    let mut pos = 0;
    for (start, f) in at {
        pieces.push(Piece::Bytes(built[pos..start].to_vec()));
        pieces.push(Piece::Base64File {
            path: f.path,
            size: f.size,
        });
        pos = start + f.marker.len();
    }
    pieces.push(Piece::Bytes(built[pos..].to_vec()));
    Payload::from_pieces(pieces)
}

/// A content type from a file name's extension.
pub fn guess_content_type(filename: &str) -> &'static str {
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "text" | "log" => "text/plain",
        "htm" | "html" => "text/html",
        "csv" => "text/csv",
        "ics" => "text/calendar",
        "css" => "text/css",
        "xml" => "application/xml",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "tar" => "application/x-tar",
        "tgz" => "application/x-tar",
        "rtf" => "text/rtf",
        "vcf" | "vcard" => "text/vcard",
        "js" => "application/javascript",
        "php" | "php3" | "php4" | "phtml" => "application/x-httpd-php",
        "phps" => "application/x-httpd-php-source",
        "ppt" => "application/vnd.ms-powerpoint",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "odt" => "application/vnd.oasis.opendocument.text",
        "ods" => "application/vnd.oasis.opendocument.spreadsheet",
        "bmp" => "image/bmp",
        "tif" | "tiff" => "image/tiff",
        "ico" => "image/vnd.microsoft.icon",
        "wav" => "audio/x-wav",
        "ogg" => "audio/ogg",
        "mpeg" | "mpg" | "mpe" => "video/mpeg",
        "mov" | "qt" => "video/quicktime",
        "avi" => "video/x-msvideo",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "mp3" => "audio/mpeg",
        "mp4" => "video/mp4",
        "eml" => "message/rfc822",
        _ => "application/octet-stream",
    }
}

/// The header rule every binding applies (PHPMailer's `addCustomHeader` checks it when the
/// header is added): the name is printable ASCII without `:`, the value has no CR, LF or NUL.
pub fn check_header(name: &str, value: &str) -> Result<()> {
    if name.is_empty() || !name.bytes().all(|b| (33..=126).contains(&b) && b != b':') {
        return Err(Error::invalid(format!(
            "header name {name:?} is not a valid field name"
        )));
    }
    check_no_control(&format!("header {name}"), value)
}

fn custom_header(name: &str, value: &str) -> Result<HeaderValue> {
    check_header(name, value)?;
    Ok(HeaderValue::new(
        HeaderName::new_from_ascii(name.to_string())
            .map_err(|_| Error::invalid(format!("header name {name:?} is not a valid field name")))?,
        value.to_string(),
    ))
}

fn check_id(field: &str, id: &str) -> Result<String> {
    check_no_control(field, id)?;
    let id = id.trim();
    if id.is_empty() || id.contains(char::is_whitespace) && !id.starts_with('<') {
        return Err(Error::invalid(format!("{field} {id:?} is not a message id")));
    }
    Ok(id.to_string())
}

/// A strict RFC 5322 msg-id, `<id-left@id-right>` (dot-atom or quoted-string on the left,
/// dot-atom or `[literal]` on the right, one `@`, nothing around it). PHPMailer ignores a
/// custom `MessageID` that fails this and generates one.
pub fn is_msg_id(id: &str) -> bool {
    let Some(inner) = id.strip_prefix('<').and_then(|s| s.strip_suffix('>')) else {
        return false;
    };
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
    let dot_atom = |s: &str| !s.is_empty() && s.split('.').all(|p| !p.is_empty() && p.chars().all(atext));
    let (left, right) = if let Some(quoted) = inner.strip_prefix('"') {
        let Some(close) = quoted.find('"') else {
            return false;
        };
        let (l, rest) = inner.split_at(close + 2);
        let Some(r) = rest.strip_prefix('@') else { return false };
        (l, r)
    } else {
        match inner.split_once('@') {
            Some(pair) => pair,
            None => return false,
        }
    };
    let left_ok = if left.starts_with('"') {
        left.len() >= 2
            && left[1..left.len() - 1]
                .bytes()
                .all(|b| (0x20..0x7f).contains(&b) && b != b'"')
    } else {
        dot_atom(left)
    };
    let right_ok = if right.starts_with('[') {
        right.ends_with(']')
            && right[1..right.len() - 1]
                .bytes()
                .all(|b| (0x21..0x7f).contains(&b) && !b"[]\\".contains(&b))
    } else {
        dot_atom(right)
    };
    left_ok && right_ok
}

fn angle(id: &str) -> String {
    if id.starts_with('<') {
        id.to_string()
    } else {
        format!("<{id}>")
    }
}

/// `<time.random@domain-of-from>`, as Nodemailer makes them.
pub fn generate_message_id(from: &str) -> String {
    let domain = address::domain_of(&address::to_wire(from))
        .unwrap_or("localhost")
        .to_string();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "<{:x}.{:016x}@{}>",
        nanos,
        fastrand::u64(..),
        domain.trim_start_matches('[').trim_end_matches(']')
    )
}

/// Addresses in order, without repeats (compared case-insensitively).
pub fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    items.filter(|a| seen.insert(a.to_ascii_lowercase())).collect()
}

/// What a binding hands over to send: fields to build, or bytes built elsewhere.
#[derive(Debug, Clone)]
pub enum Outgoing {
    Fields(Box<Message>),
    Raw(RawMessage),
}

impl Outgoing {
    /// Content up to this size, and no file to open, builds in microseconds: a host may build
    /// it on the calling thread rather than hand it to the runtime first.
    pub const QUICK_BUILD_BYTES: usize = 64 * 1024;

    /// True when building reads no file and encodes at most [`Self::QUICK_BUILD_BYTES`].
    pub fn builds_quickly(&self) -> bool {
        match self {
            Outgoing::Fields(m) => {
                let mut size = m.text.as_ref().map_or(0, String::len)
                    + m.html.as_ref().map_or(0, String::len)
                    + m.calendar.as_ref().map_or(0, String::len);
                for a in &m.attachments {
                    match &a.content {
                        Content::Path(_) => return false,
                        Content::Bytes(b) => size += b.len(),
                    }
                }
                size <= Self::QUICK_BUILD_BYTES
            }
            Outgoing::Raw(r) => r.bytes.len() <= Self::QUICK_BUILD_BYTES,
        }
    }

    /// Validates and builds (reads attachment paths); no I/O on the network.
    pub fn prepare(&self) -> Result<Prepared> {
        match self {
            Outgoing::Fields(m) => m.build(),
            Outgoing::Raw(r) => r.prepare(),
        }
    }
}

/// Bytes built elsewhere. Without an envelope, it is derived from the headers the way smtplib's
/// `send_message` does: the last Resent-* block if any, else Sender/From and To+Cc+Bcc.
/// Bcc and Resent-Bcc are always stripped from the bytes sent.
#[derive(Debug, Clone)]
pub struct RawMessage {
    pub bytes: Vec<u8>,
    pub envelope: Option<Envelope>,
}

impl RawMessage {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        RawMessage {
            bytes: bytes.into(),
            envelope: None,
        }
    }

    pub fn with_envelope(mut self, envelope: Envelope) -> Self {
        self.envelope = Some(envelope);
        self
    }

    /// Refuses a NUL byte in the header section (CR/LF cannot be told from folding here; NUL
    /// never belongs in a header).
    pub fn check_headers(&self) -> Result<()> {
        let end = self
            .bytes
            .windows(2)
            .position(|w| w == b"\n\n")
            .into_iter()
            .chain(self.bytes.windows(4).position(|w| w == b"\r\n\r\n"))
            .min()
            .unwrap_or(self.bytes.len());
        let head = &self.bytes[..end];
        if head.contains(&0) {
            return Err(Error::invalid("message headers contain a forbidden NUL character"));
        }
        // RFC 8058 applies to raw messages too: only when one asks for one-click unsubscribe.
        if head
            .windows(21)
            .any(|w| w.eq_ignore_ascii_case(b"list-unsubscribe-post"))
        {
            let text = String::from_utf8_lossy(head).replace("\r\n", "\n");
            let unfolded = text.replace("\n ", " ").replace("\n\t", " ");
            let fields: Vec<(&str, &str)> = unfolded
                .split('\n')
                .filter_map(|l| l.split_once(':'))
                .map(|(n, v)| (n.trim(), v.trim()))
                .collect();
            crate::list::check_one_click(fields.iter().copied())?;
        }
        Ok(())
    }

    /// The envelope the headers imply (not yet validated for sending; may have no recipients).
    pub fn header_envelope(&self) -> Result<Envelope> {
        self.header_envelope_with(false)
    }

    /// smtplib's `send_message` rule: as [`RawMessage::header_envelope`], and addresses without
    /// a domain (`From: root`) pass, as the standard library passes them to a local server.
    pub fn header_envelope_allowing_local(&self) -> Result<Envelope> {
        let mut e = self.header_envelope_with(true)?;
        e.local_addresses = true;
        Ok(e)
    }

    fn header_envelope_with(&self, local_ok: bool) -> Result<Envelope> {
        self.check_headers()?;
        let fields = header_fields(&self.bytes);
        let get_all = |name: &str| -> Vec<&str> {
            fields
                .iter()
                .filter(|f| f.name.eq_ignore_ascii_case(name))
                .map(|f| f.value.as_str())
                .collect()
        };
        let resent = !get_all("Resent-Date").is_empty() || !get_all("Resent-From").is_empty();
        let prefix = if resent { "Resent-" } else { "" };
        let first_address = |name: &str| -> Result<Option<String>> {
            // With several Resent blocks, the newest is first in the header section.
            match get_all(&format!("{prefix}{name}")).first() {
                Some(v) => Ok(address::parse_list_with(v, local_ok)?
                    .into_iter()
                    .next()
                    .map(|m| m.address)),
                None => Ok(None),
            }
        };
        let from = match first_address("Sender")? {
            Some(s) => Some(s),
            None => first_address("From")?,
        };
        let mut to = Vec::new();
        for name in ["To", "Cc", "Bcc"] {
            let values = get_all(&format!("{prefix}{name}"));
            let values = if resent {
                values.into_iter().take(1).collect()
            } else {
                values
            };
            for v in values {
                to.extend(address::parse_list_with(v, local_ok)?.into_iter().map(|m| m.address));
            }
        }
        Ok(Envelope::new(from, dedup(to.into_iter())))
    }

    /// The bytes as sent: Bcc and Resent-Bcc header fields removed.
    pub fn bytes_to_send(&self) -> Vec<u8> {
        let fields = header_fields(&self.bytes);
        strip_headers(&self.bytes, &fields, &["Bcc", "Resent-Bcc"])
    }

    pub fn prepare(&self) -> Result<Prepared> {
        self.check_headers()?;
        let envelope = match &self.envelope {
            Some(e) => e.to_wire()?,
            None => self.header_envelope()?.to_wire()?,
        };
        let fields = header_fields(&self.bytes);
        let message_id = fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case("Message-ID"))
            .map(|f| f.value.trim().to_string());
        Ok(Prepared {
            content: strip_headers(&self.bytes, &fields, &["Bcc", "Resent-Bcc"]).into(),
            envelope,
            message_id,
        })
    }
}

struct HeaderField {
    name: String,
    value: String,
    start: usize,
    end: usize,
}

/// The header fields (unfolded values) with their byte ranges.
fn header_fields(bytes: &[u8]) -> Vec<HeaderField> {
    let mut fields: Vec<HeaderField> = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let end = bytes[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| pos + i + 1);
        let line = &bytes[pos..end];
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if content.is_empty() {
            break;
        }
        if matches!(content[0], b' ' | b'\t') {
            if let Some(last) = fields.last_mut() {
                last.value.push_str(&String::from_utf8_lossy(content));
                last.end = end;
            }
        } else if let Some(colon) = content.iter().position(|&b| b == b':') {
            fields.push(HeaderField {
                name: String::from_utf8_lossy(&content[..colon]).trim().to_string(),
                value: String::from_utf8_lossy(&content[colon + 1..]).trim().to_string(),
                start: pos,
                end,
            });
        } else {
            break;
        }
        pos = end;
    }
    fields
}

fn strip_headers(bytes: &[u8], fields: &[HeaderField], names: &[&str]) -> Vec<u8> {
    let drop: Vec<&HeaderField> = fields
        .iter()
        .filter(|f| names.iter().any(|n| f.name.eq_ignore_ascii_case(n)))
        .collect();
    if drop.is_empty() {
        return bytes.to_vec();
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut pos = 0;
    for f in drop {
        out.extend_from_slice(&bytes[pos..f.start]);
        pos = f.end;
    }
    out.extend_from_slice(&bytes[pos..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mb(a: &str) -> Mailbox {
        Mailbox::new(None, a)
    }

    #[test]
    fn builds_with_bcc_only_in_envelope() {
        let m = Message {
            from: Some(Mailbox::new(Some("Ann".into()), "ann@example.com")),
            to: vec![mb("bob@example.com")],
            bcc: vec![mb("secret@example.com"), mb("BOB@example.com")],
            subject: Some("Grüße".into()),
            text: Some("hi".into()),
            ..Default::default()
        };
        let p = m.build().unwrap();
        let text = String::from_utf8(p.content.into_bytes().unwrap()).unwrap();
        assert!(!text.to_lowercase().contains("secret@"), "{text}");
        assert!(text.contains("Subject: =?utf-8?"), "{text}");
        assert_eq!(p.envelope.to, ["bob@example.com", "secret@example.com"]);
        assert_eq!(p.envelope.from.as_deref(), Some("ann@example.com"));
        assert!(p.message_id.unwrap().ends_with("@example.com>"));
    }

    #[test]
    fn display_names_are_quoted_not_encoded_when_ascii() {
        let m = Message {
            from: Some(Mailbox::new(Some("Jörg".into()), "j@example.com")),
            to: vec![
                Mailbox::new(Some("Tim \"The Book\" O'Reilly".into()), "tim@example.com"),
                Mailbox::new(Some("Doe, Jane (Sales)".into()), "jane@example.com"),
                Mailbox::new(Some("plain".into()), "p@example.com"),
            ],
            text: Some("x".into()),
            calendar: Some("BEGIN:VCALENDAR\r\nMETHOD:CANCEL\r\nEND:VCALENDAR".into()),
            body_encoding: Some("8bit".into()),
            ..Default::default()
        };
        let text = String::from_utf8(m.build().unwrap().content.into_bytes().unwrap()).unwrap();
        let unfolded = text.replace("\r\n ", " ");
        assert!(unfolded.contains(r#"To: "Tim \"The Book\" O'Reilly" <tim@example.com>, "Doe, Jane (Sales)" <jane@example.com>, plain <p@example.com>"#), "{text}");
        assert!(text.contains("From: =?utf-8?b?SsO2cmc=?= <j@example.com>"), "{text}");
        assert!(
            text.contains("Content-Type: text/calendar; method=CANCEL; charset=utf-8"),
            "{text}"
        );
        assert!(text.contains("Content-Transfer-Encoding: 7bit"), "{text}");
        assert!(text.contains("boundary=\"b1_"), "{text}");
    }

    #[test]
    fn attachment_names_as_tokens_quoted_or_encoded() {
        let m = Message {
            from: Some(mb("a@example.com")),
            to: vec![mb("b@example.com")],
            text: Some("x".into()),
            attachments: vec![
                Attachment::bytes("plain.txt", b"1".to_vec()),
                Attachment::bytes("a \"b\";.jpg", b"2".to_vec()),
                Attachment::bytes("Grüße.txt", b"3".to_vec()),
                Attachment::bytes("nul.bin", b"a\0b".to_vec()),
            ],
            ..Default::default()
        };
        let text = String::from_utf8(m.build().unwrap().content.into_bytes().unwrap()).unwrap();
        for needle in [
            "Content-Type: text/plain; name=plain.txt\r\nContent-Disposition: attachment; filename=plain.txt",
            r#"name="a \"b\";.jpg""#,
            r#"filename="a \"b\";.jpg""#,
            "name=\"=?utf-8?B?R3LDvMOfZS50eHQ=?=\"",
            "filename*0*=utf-8''Gr%C3%BC%C3%9Fe.txt",
            // A NUL is never sent as 7bit.
            "filename=nul.bin\r\nContent-Transfer-Encoding: base64\r\n\r\nYQBi\r\n",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in {text}");
        }
    }

    #[test]
    fn refuses_injection_and_bad_paths() {
        let base = Message {
            from: Some(mb("a@example.com")),
            to: vec![mb("b@example.com")],
            ..Default::default()
        };
        let mut m = base.clone();
        m.subject = Some("x\r\nBcc: evil@example.com".into());
        assert_eq!(m.build().unwrap_err().kind(), crate::ErrorKind::InvalidInput);
        let mut m = base.clone();
        m.headers.push(("X-Test".into(), "a\nb".into()));
        assert!(m.build().is_err());
        let mut m = base.clone();
        m.attachments.push(Attachment::path("/nonexistent/file.pdf"));
        assert!(m.build().unwrap_err().to_string().contains("/nonexistent/file.pdf"));
        for url in [
            "https://example.com/x.pdf",
            "data:text/plain,hi",
            "phar://x.phar/a",
            "PHP://filter/resource=/etc/passwd",
        ] {
            let mut m = base.clone();
            m.attachments.push(Attachment::path(url));
            assert_eq!(m.build().unwrap_err().kind(), crate::ErrorKind::InvalidInput, "{url}");
        }
    }

    #[test]
    fn data_uris_as_nodemailer_reads_them() {
        assert_eq!(
            parse_data_uri("data:text/plain;base64,aGVsbG8=").unwrap(),
            (b"hello".to_vec(), Some("text/plain".into()))
        );
        assert_eq!(parse_data_uri("data:;base64,aGVsbG8").unwrap().0, b"hello");
        assert_eq!(
            parse_data_uri("data:,a%20b%C3%A9").unwrap(),
            ("a bé".as_bytes().to_vec(), None)
        );
        assert_eq!(
            parse_data_uri("data:image/png;base64,iV BO\nRw==").unwrap().0,
            [0x89, 0x50, 0x4e, 0x47]
        );
        for bad in ["data:text/plain", "text/plain,x", "data:,%zz", "data:,%4"] {
            assert_eq!(
                parse_data_uri(bad).unwrap_err().kind(),
                crate::ErrorKind::InvalidInput,
                "{bad}"
            );
        }
    }

    #[test]
    fn raw_nul_in_headers_refused() {
        let raw =
            RawMessage::new(b"From: a@example.com\r\nTo: b@example.com\r\nSubject: x\0y\r\n\r\nbody\0\r\n".to_vec());
        assert_eq!(raw.prepare().unwrap_err().kind(), crate::ErrorKind::InvalidInput);
        assert_eq!(
            raw.header_envelope().unwrap_err().kind(),
            crate::ErrorKind::InvalidInput
        );
        let ok = RawMessage::new(b"From: a@example.com\r\nTo: b@example.com\r\n\r\nbody\0\r\n".to_vec());
        ok.prepare().unwrap();
    }

    #[test]
    fn raw_envelope_from_headers() {
        let raw = b"From: a@example.com\r\nTo: b@example.com, \"C\" <c@example.com>\r\nBcc: d@example.com,\r\n e@example.com\r\nSubject: x\r\n\r\nBcc: body stays\r\n";
        let p = RawMessage::new(raw.to_vec()).prepare().unwrap();
        assert_eq!(
            p.envelope.to,
            ["b@example.com", "c@example.com", "d@example.com", "e@example.com"]
        );
        assert_eq!(
            String::from_utf8(p.content.into_bytes().unwrap()).unwrap(),
            "From: a@example.com\r\nTo: b@example.com, \"C\" <c@example.com>\r\nSubject: x\r\n\r\nBcc: body stays\r\n"
        );
    }
}
