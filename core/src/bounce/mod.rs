//! What comes back after sending: delivery status notifications (RFC 3464, and the plain-text
//! shapes some servers still send), abuse feedback reports (ARF, RFC 5965) and DMARC aggregate
//! reports (XML, gzip or zip), parsed into one typed [`BounceReport`]; and VERP ([`verp`]).
//!
//! Bad input never raises: a message that is not a report is `kind == None` with a `note`.
//! Input above [`ParseOptions::max_size`], archives expanding past `max_report_size` and
//! messages nested deeper than [`MAX_DEPTH`] are refused the same way, before any large
//! allocation.

pub mod verp;

use std::borrow::Cow;
use std::io::Read;

use mail_parser::{HeaderValue, Message as Parsed, MessageParser, MessagePart, MimeHeaders, PartType};
use serde::Serialize;

pub use verp::{decode_verp, message_tag, Verp, VerpAddress};

/// Multipart levels accepted (real reports use 2 or 3).
pub const MAX_DEPTH: usize = 24;

/// What the report is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportKind {
    /// A delivery status notification (bounce, delay warning, success notice).
    Dsn,
    /// An abuse feedback report (complaint).
    Arf,
    /// A DMARC aggregate report.
    Dmarc,
    /// Not a report: an ordinary message, an auto-reply, or input refused (see `note`).
    None,
}

impl ReportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Dsn => "dsn",
            ReportKind::Arf => "arf",
            ReportKind::Dmarc => "dmarc",
            ReportKind::None => "none",
        }
    }
}

/// What happened to one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Failed,
    Delayed,
    Delivered,
    Relayed,
    Expanded,
    /// The recipient reported the message (ARF).
    Complaint,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Failed => "failed",
            Action::Delayed => "delayed",
            Action::Delivered => "delivered",
            Action::Relayed => "relayed",
            Action::Expanded => "expanded",
            Action::Complaint => "complaint",
        }
    }

    fn parse(s: &str) -> Option<Action> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "failed" | "failure" => Action::Failed,
            "delayed" => Action::Delayed,
            "delivered" => Action::Delivered,
            "relayed" => Action::Relayed,
            "expanded" => Action::Expanded,
            _ => return None,
        })
    }
}

/// One recipient's outcome (DSN) or one complaint (ARF).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BounceEvent {
    /// The address the report is about (Final-Recipient; for ARF, Original-Rcpt-To; else the
    /// VERP address's recipient).
    pub recipient: Option<String>,
    pub original_recipient: Option<String>,
    pub action: Action,
    /// The enhanced status code (`5.1.1`).
    pub status: Option<String>,
    /// `hard` (permanent: stop sending), `soft` (temporary) or none (delivered, complaint).
    pub bounce_class: Option<&'static str>,
    /// The SMTP reply code in the diagnostic (`550`).
    pub smtp_code: Option<u16>,
    /// What the remote server said (Diagnostic-Code without its type).
    pub diagnostic: Option<String>,
    pub remote_mta: Option<String>,
    /// The Message-ID of the message that bounced (from the returned message or headers).
    pub original_message_id: Option<String>,
    /// The VERP address the report came back to, decoded.
    pub verp: Option<VerpAddress>,
    /// True/false when both a VERP tag and the original Message-ID are known.
    pub message_matches: Option<bool>,
    /// ARF: abuse, fraud, virus, other, not-spam, auth-failure.
    pub feedback_type: Option<&'static str>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
}

impl BounceEvent {
    /// An event with only its action known.
    fn new(action: Action) -> Self {
        BounceEvent {
            recipient: None,
            original_recipient: None,
            action,
            status: None,
            bounce_class: None,
            smtp_code: None,
            diagnostic: None,
            remote_mta: None,
            original_message_id: None,
            verp: None,
            message_matches: None,
            feedback_type: None,
            source_ip: None,
            user_agent: None,
        }
    }
}

/// One row of a DMARC aggregate report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DmarcRecord {
    pub source_ip: Option<String>,
    pub count: u32,
    pub disposition: &'static str,
    pub dkim: &'static str,
    pub spf: &'static str,
    pub header_from: String,
    pub envelope_from: String,
    pub dkim_domains: Vec<String>,
    pub spf_domains: Vec<String>,
}

/// A DMARC aggregate report: who sent it, for which domain and period, and each source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DmarcAggregate {
    pub org_name: String,
    pub email: String,
    pub report_id: String,
    pub domain: String,
    pub policy: &'static str,
    pub begin: u64,
    pub end: u64,
    /// Messages counted in all rows, and those that passed DMARC (DKIM or SPF aligned pass).
    pub messages: u64,
    pub passed: u64,
    pub records: Vec<DmarcRecord>,
}

/// The parsed report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BounceReport {
    pub kind: ReportKind,
    /// False for a bounce recognised from its text (no `message/delivery-status` part).
    pub standard: bool,
    pub reporting_mta: Option<String>,
    pub original_envelope_id: Option<String>,
    pub subject: Option<String>,
    pub events: Vec<BounceEvent>,
    pub dmarc: Option<DmarcAggregate>,
    /// Why the input is not a report, or what was left out.
    pub note: Option<String>,
}

impl BounceReport {
    fn none(note: impl Into<String>) -> Self {
        BounceReport {
            kind: ReportKind::None,
            standard: false,
            reporting_mta: None,
            original_envelope_id: None,
            subject: None,
            events: vec![],
            dmarc: None,
            note: Some(note.into()),
        }
    }

    /// True for a DSN, ARF or DMARC report.
    pub fn is_report(&self) -> bool {
        self.kind != ReportKind::None
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// A short text rendering for the command line.
    pub fn to_table(&self) -> String {
        let mut out = format!("kind: {}", self.kind.as_str());
        if !self.standard && self.kind == ReportKind::Dsn {
            out.push_str(" (recognised from its text)");
        }
        out.push('\n');
        let mut line = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                out.push_str(&format!("{k}: {v}\n"));
            }
        };
        line("reporting mta", &self.reporting_mta);
        line("subject", &self.subject);
        line("note", &self.note);
        for e in &self.events {
            out.push_str(&format!(
                "- {} {}",
                e.action.as_str(),
                e.recipient.as_deref().unwrap_or("(recipient unknown)")
            ));
            for v in [e.status.as_deref(), e.bounce_class, e.feedback_type]
                .into_iter()
                .flatten()
            {
                out.push_str(&format!(" {v}"));
            }
            out.push('\n');
            if let Some(d) = &e.diagnostic {
                out.push_str(&format!("    {d}\n"));
            }
            if let Some(id) = &e.original_message_id {
                out.push_str(&format!("    message-id {id}\n"));
            }
            if let Some(v) = &e.verp {
                out.push_str(&format!(
                    "    verp {} ({})\n",
                    v.recipient,
                    if v.verified { "verified" } else { "NOT verified" }
                ));
            }
        }
        if let Some(d) = &self.dmarc {
            out.push_str(&format!(
                "dmarc {} from {} ({}), policy {}, {} of {} messages passed\n",
                d.domain, d.org_name, d.report_id, d.policy, d.passed, d.messages
            ));
            for r in &d.records {
                out.push_str(&format!(
                    "- {} x{} dkim={} spf={} {}\n",
                    r.source_ip.as_deref().unwrap_or("?"),
                    r.count,
                    r.dkim,
                    r.spf,
                    r.disposition
                ));
            }
        }
        out
    }
}

/// Limits and the VERP secret.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// Input larger than this is not parsed (default 16 MiB).
    pub max_size: usize,
    /// A compressed DMARC report may expand to this much (default 32 MiB).
    pub max_report_size: usize,
    /// Verifies VERP addresses; without it they are decoded but `verified` is false.
    pub verp_secret: Option<Vec<u8>>,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            max_size: 16 << 20,
            max_report_size: 32 << 20,
            verp_secret: None,
        }
    }
}

/// Parses a DSN, ARF or DMARC report (a whole message, or a DMARC report file: XML, gzip or zip).
pub fn parse_bounce(raw: &[u8], options: &ParseOptions) -> BounceReport {
    // mail-parser has a `debug_assert!` on some corrupt MIME structures (its release build
    // recovers from them): in a debug build that is a panic, reported here as `none`.
    std::panic::catch_unwind(|| parse(raw, options))
        .unwrap_or_else(|_| BounceReport::none("the MIME structure is corrupt"))
}

fn parse(raw: &[u8], options: &ParseOptions) -> BounceReport {
    if raw.len() > options.max_size {
        return BounceReport::none(format!(
            "input is {} bytes, above the {}-byte limit",
            raw.len(),
            options.max_size
        ));
    }
    if let Some(report) = dmarc_file(raw, options) {
        return report;
    }
    let depth = nesting_depth(raw);
    if depth > MAX_DEPTH {
        return BounceReport::none(format!("MIME nesting deeper than {MAX_DEPTH} levels"));
    }
    let Some(msg) = MessageParser::new().parse(raw) else {
        return BounceReport::none("not a message: no header fields");
    };
    let subject = msg.subject().map(str::to_string);
    let mut report = if has_part(&msg, "message", &["feedback-report"]) {
        arf(raw, &msg, options)
    } else if has_part(&msg, "message", &["delivery-status", "global-delivery-status"]) {
        dsn(&msg, options)
    } else if let Some(r) = dmarc_message(raw, &msg, options) {
        r
    } else {
        plain_text_bounce(&msg, options)
            .unwrap_or_else(|| BounceReport::none("not a bounce: no delivery-status, feedback or DMARC report part"))
    };
    report.subject = subject;
    // A bounce comes back to the VERP address: it names the recipient when the report does not.
    if report.kind == ReportKind::Dsn || report.kind == ReportKind::Arf {
        let to_verp = envelope_headers(&msg).find_map(|a| decode_verp(&a, options.verp_secret.as_deref()));
        for e in &mut report.events {
            if e.verp.is_none() {
                e.verp = to_verp.clone();
            }
            if e.recipient.is_none() {
                e.recipient = e.verp.as_ref().map(|v| v.recipient.clone());
            }
            if let (Some(v), Some(id)) = (&e.verp, &e.original_message_id) {
                e.message_matches = Some(message_tag(id) == v.message_tag);
            }
        }
    }
    report
}

/// How many `Content-Type: multipart/…` lines there are (a bound on the nesting depth),
/// counted before parsing.
fn nesting_depth(raw: &[u8]) -> usize {
    raw.split(|&b| b == b'\n')
        .filter(|line| {
            line.len() >= 13
                && line[..13].eq_ignore_ascii_case(b"content-type:")
                && line.to_ascii_lowercase().windows(10).any(|w| w == b"multipart/")
        })
        .count()
}

fn has_part(msg: &Parsed, ctype: &str, subtypes: &[&str]) -> bool {
    msg.parts.iter().any(|p| is_type(p, ctype, subtypes))
}

fn is_type(p: &MessagePart, ctype: &str, subtypes: &[&str]) -> bool {
    p.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case(ctype)
            && ct
                .subtype()
                .is_some_and(|s| subtypes.iter().any(|w| s.eq_ignore_ascii_case(w)))
    })
}

/// Addresses a report was delivered to, as the receiving server recorded them.
fn envelope_headers<'a>(msg: &'a Parsed<'a>) -> impl Iterator<Item = String> + 'a {
    let raw_headers = ["Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To"]
        .into_iter()
        .filter_map(move |h| msg.header_raw(h).map(|v| v.trim().to_string()));
    let to = msg
        .to()
        .into_iter()
        .flat_map(|a| a.iter())
        .filter_map(|a| a.address.as_deref().map(str::to_string));
    raw_headers.chain(to)
}

/// `rfc822; user@example.com` → `user@example.com`.
fn typed_value(v: &str) -> String {
    let v = v.split_once(';').map_or(v, |(_, rest)| rest).trim();
    v.trim_start_matches('<').trim_end_matches('>').trim().to_string()
}

/// RFC 3464 field groups: unfolded `name: value` lines, groups split by blank lines.
fn field_groups(text: &str) -> Vec<Vec<(String, String)>> {
    let mut groups = vec![];
    let mut group: Vec<(String, String)> = vec![];
    for line in text.split('\n') {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            if !group.is_empty() {
                groups.push(std::mem::take(&mut group));
            }
        } else if line.starts_with([' ', '\t']) {
            if let Some(last) = group.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            group.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    if !group.is_empty() {
        groups.push(group);
    }
    groups
}

fn field<'a>(group: &'a [(String, String)], name: &str) -> Option<&'a str> {
    group.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// `5.1.1` out of a Status field or a diagnostic text.
fn enhanced_status(text: &str) -> Option<String> {
    let b = text.as_bytes();
    for i in 0..b.len() {
        if !matches!(b[i], b'2' | b'4' | b'5') || (i > 0 && (b[i - 1].is_ascii_digit() || b[i - 1] == b'.')) {
            continue;
        }
        let rest = &text[i..];
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let cand = rest[..end].trim_end_matches('.');
        let parts: Vec<&str> = cand.split('.').collect();
        if parts.len() == 3
            && parts[0].len() == 1
            && (1..=3).contains(&parts[1].len())
            && (1..=3).contains(&parts[2].len())
        {
            return Some(cand.to_string());
        }
    }
    None
}

/// The first 3-digit SMTP reply code (2xx, 4xx, 5xx) standing alone in `text`.
fn smtp_code(text: &str) -> Option<u16> {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(2)).find_map(|i| {
        let w = &b[i..i + 3];
        let alone_before = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'.');
        let alone_after = b.get(i + 3).is_none_or(|c| !(c.is_ascii_alphanumeric() || *c == b'.'));
        (matches!(w[0], b'2' | b'4' | b'5')
            && w[1].is_ascii_digit()
            && w[2].is_ascii_digit()
            && alone_before
            && alone_after)
            .then(|| std::str::from_utf8(w).ok()?.parse().ok())
            .flatten()
    })
}

fn class_of(action: Action, status: Option<&str>, code: Option<u16>) -> Option<&'static str> {
    match action {
        Action::Delayed => Some("soft"),
        Action::Failed => match (status.and_then(|s| s.chars().next()), code.map(|c| c / 100)) {
            (Some('4'), _) | (None, Some(4)) => Some("soft"),
            _ => Some("hard"),
        },
        _ => None,
    }
}

/// The returned message (or its headers): Message-ID and Return-Path.
fn returned_message(msg: &Parsed) -> (Option<String>, Option<String>) {
    for p in &msg.parts {
        let found = match &p.body {
            PartType::Message(inner) => Some((inner.message_id().map(str::to_string), return_path(inner))),
            _ if is_type(p, "text", &["rfc822-headers"])
                || is_type(p, "message", &["rfc822-headers", "global-headers"]) =>
            {
                MessageParser::new()
                    .parse(p.contents())
                    .map(|h| (h.message_id().map(str::to_string), return_path(&h)))
            }
            _ => None,
        };
        if let Some(found) = found.filter(|f| f.0.is_some() || f.1.is_some()) {
            return found;
        }
    }
    (None, None)
}

fn return_path(m: &Parsed) -> Option<String> {
    match m.return_path() {
        HeaderValue::Text(t) => Some(t.to_string()),
        HeaderValue::TextList(l) => l.last().map(|t| t.to_string()),
        _ => m.header_raw("Return-Path").map(|v| v.trim().to_string()),
    }
}

fn dsn(msg: &Parsed, options: &ParseOptions) -> BounceReport {
    let status_text: String = msg
        .parts
        .iter()
        .filter(|p| is_type(p, "message", &["delivery-status", "global-delivery-status"]))
        .map(|p| String::from_utf8_lossy(p.contents()).into_owned())
        .collect::<Vec<_>>()
        .join("\n\n");
    let groups = field_groups(&status_text);
    let (id, ret) = returned_message(msg);
    let verp = ret.and_then(|r| decode_verp(&r, options.verp_secret.as_deref()));
    let mut report = BounceReport {
        kind: ReportKind::Dsn,
        standard: true,
        reporting_mta: None,
        original_envelope_id: None,
        subject: None,
        events: vec![],
        dmarc: None,
        note: None,
    };
    for g in &groups {
        if let Some(r) = field(g, "reporting-mta") {
            report.reporting_mta.get_or_insert(typed_value(r));
        }
        if let Some(r) = field(g, "original-envelope-id") {
            report.original_envelope_id.get_or_insert(r.to_string());
        }
        let (Some(rcpt), Some(action)) = (
            field(g, "final-recipient").or(field(g, "original-recipient")),
            field(g, "action").and_then(Action::parse),
        ) else {
            continue;
        };
        let diagnostic = field(g, "diagnostic-code").map(typed_value);
        let status = field(g, "status")
            .and_then(enhanced_status)
            .or_else(|| diagnostic.as_deref().and_then(enhanced_status));
        let code = diagnostic.as_deref().and_then(smtp_code);
        report.events.push(BounceEvent {
            recipient: Some(typed_value(rcpt)),
            original_recipient: field(g, "original-recipient").map(typed_value),
            bounce_class: class_of(action, status.as_deref(), code),
            status,
            smtp_code: code,
            diagnostic,
            remote_mta: field(g, "remote-mta").map(typed_value),
            original_message_id: id.clone(),
            verp: verp.clone(),
            ..BounceEvent::new(action)
        });
    }
    if report.events.is_empty() {
        report.note = Some("delivery-status part without a recipient field group".into());
    }
    report
}

fn arf(raw: &[u8], msg: &Parsed, options: &ParseOptions) -> BounceReport {
    let Ok(f) = mail_auth::report::Feedback::parse_rfc5322(raw) else {
        return BounceReport::none("feedback-report part that is not a valid ARF report");
    };
    use mail_auth::report::FeedbackType as T;
    let feedback_type = match f.feedback_type() {
        T::Abuse => "abuse",
        T::AuthFailure => "auth-failure",
        T::Fraud => "fraud",
        T::NotSpam => "not-spam",
        T::Virus => "virus",
        T::Other => "other",
    };
    let included = f.message().or(f.headers()).and_then(|m| {
        MessageParser::new()
            .parse(m.as_bytes())
            .map(|p| (p.message_id().map(str::to_string), return_path(&p)))
    });
    let (id, ret) = included.unwrap_or_else(|| returned_message(msg));
    let rcpt = f.original_rcpt_to().map(typed_value).filter(|r| r.contains('@'));
    BounceReport {
        kind: ReportKind::Arf,
        standard: true,
        reporting_mta: f.reporting_mta().map(typed_value),
        original_envelope_id: f.original_envelope_id().map(str::to_string),
        subject: None,
        events: vec![BounceEvent {
            recipient: rcpt,
            original_message_id: id,
            verp: ret.and_then(|r| decode_verp(&r, options.verp_secret.as_deref())),
            feedback_type: Some(feedback_type),
            source_ip: f.source_ip().map(|ip| ip.to_string()),
            user_agent: f.user_agent().map(str::to_string),
            ..BounceEvent::new(Action::Complaint)
        }],
        dmarc: None,
        note: None,
    }
}

/// A bounce without a delivery-status part, recognised from who sent it and what it says:
/// Exim's `X-Failed-Recipients`, qmail's `<address>:` paragraphs, or a mailer-daemon message
/// naming addresses next to an SMTP error.
fn plain_text_bounce(msg: &Parsed, options: &ParseOptions) -> Option<BounceReport> {
    let from = msg
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address.as_deref())
        .unwrap_or("")
        .to_ascii_lowercase();
    let from_daemon = ["mailer-daemon@", "postmaster@", "mail-daemon@", "mailer_daemon@"]
        .iter()
        .any(|p| from.starts_with(p));
    let subject = msg.subject().unwrap_or("").to_ascii_lowercase();
    let bounce_subject = [
        "undeliver",
        "delivery status notification",
        "delivery failure",
        "failure notice",
        "returned mail",
        "mail delivery failed",
        "delivery has failed",
        "could not be delivered",
        "delivery problem",
    ]
    .iter()
    .any(|w| subject.contains(w));
    let failed_header = msg.header_raw("X-Failed-Recipients");
    // Out-of-office replies say auto-replied too; bounces say it and come from a daemon.
    let auto = msg
        .header_raw("Auto-Submitted")
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let auto_reply = auto.starts_with("auto-replied") && !from_daemon && failed_header.is_none();
    if auto_reply || !(from_daemon || bounce_subject || failed_header.is_some()) {
        return None;
    }
    let body: String = msg.body_text(0).map(Cow::into_owned).unwrap_or_default();
    let body = &body[..body.len().min(64 << 10)];
    let mut found: Vec<(String, String)> = vec![];
    if let Some(list) = failed_header {
        for a in list.split(',').map(str::trim).filter(|a| a.contains('@')) {
            let near = paragraph_with(body, a).unwrap_or_default();
            found.push((a.to_string(), near));
        }
    }
    if found.is_empty() {
        // qmail (QSBMF) and many others: a paragraph starting `<address>:` then the reason.
        for para in body.split("\n\n") {
            let p = para.trim();
            if let Some(rest) = p.strip_prefix('<') {
                if let Some((addr, reason)) = rest.split_once(">:") {
                    if addr.contains('@') && !addr.contains(char::is_whitespace) {
                        found.push((addr.to_string(), reason.trim().to_string()));
                    }
                }
            }
        }
    }
    if found.is_empty() && !(from_daemon && bounce_subject) {
        return None;
    }
    // The returned message is a MIME part, or (Exim, qmail) pasted into the text.
    let (id, ret) = match returned_message(msg) {
        (None, None) => (
            header_in_text(body, "message-id:"),
            header_in_text(body, "return-path:"),
        ),
        found => found,
    };
    let id = id.map(|i| i.trim_start_matches('<').trim_end_matches('>').to_string());
    let verp = ret.and_then(|r| decode_verp(&r, options.verp_secret.as_deref()));
    let delayed = [
        "will retry",
        "still trying",
        "delayed",
        "not yet been delivered",
        "temporary failure",
    ]
    .iter()
    .any(|w| body.to_ascii_lowercase().contains(w));
    let action = if delayed { Action::Delayed } else { Action::Failed };
    let event = |rcpt: Option<String>, text: &str| {
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let text: String = text.chars().take(500).collect();
        let status = enhanced_status(&text);
        let code = smtp_code(&text);
        BounceEvent {
            recipient: rcpt,
            bounce_class: class_of(action, status.as_deref(), code),
            status,
            smtp_code: code,
            diagnostic: (!text.is_empty()).then_some(text),
            original_message_id: id.clone(),
            verp: verp.clone(),
            ..BounceEvent::new(action)
        }
    };
    let events = if found.is_empty() {
        vec![event(
            None,
            body.split("\n\n").find(|p| smtp_code(p).is_some()).unwrap_or(""),
        )]
    } else {
        found.iter().map(|(a, t)| event(Some(a.clone()), t)).collect()
    };
    Some(BounceReport {
        kind: ReportKind::Dsn,
        standard: false,
        reporting_mta: None,
        original_envelope_id: None,
        subject: None,
        events,
        dmarc: None,
        note: None,
    })
}

/// The value of the first `Name: value` line in `text` (name given lower case, with the colon).
fn header_in_text(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let l = l.trim_start();
        (l.len() > name.len() && l.is_char_boundary(name.len()) && l[..name.len()].eq_ignore_ascii_case(name))
            .then(|| l[name.len()..].trim().to_string())
            .filter(|v| !v.is_empty())
    })
}

fn paragraph_with(body: &str, needle: &str) -> Option<String> {
    body.split("\n\n")
        .find(|p| p.contains(needle))
        .map(|p| p.trim().to_string())
}

/// A DMARC report given as a file: XML, gzip or zip (by its first bytes).
fn dmarc_file(raw: &[u8], options: &ParseOptions) -> Option<BounceReport> {
    let trimmed = raw.trim_ascii_start();
    let xml: Cow<[u8]> = if raw.starts_with(&[0x1f, 0x8b]) {
        match read_capped(flate2::read::GzDecoder::new(raw), options.max_report_size) {
            Ok(x) => Cow::Owned(x),
            Err(note) => return Some(BounceReport::none(note)),
        }
    } else if raw.starts_with(b"PK\x03\x04") {
        match unzip_first(raw, options.max_report_size) {
            Ok(x) => Cow::Owned(x),
            Err(note) => return Some(BounceReport::none(note)),
        }
    } else if trimmed.starts_with(b"<?xml") || trimmed.starts_with(b"<feedback") {
        Cow::Borrowed(raw)
    } else {
        return None;
    };
    Some(match mail_auth::report::Report::parse_xml(&xml) {
        Ok(r) => dmarc_report(&r),
        Err(e) => BounceReport::none(format!("not a DMARC aggregate report: {e}")),
    })
}

fn read_capped(r: impl Read, max: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    r.take(max as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("archive unreadable: {e}"))?;
    if out.len() > max {
        return Err(format!("archive expands past the {max}-byte limit"));
    }
    Ok(out)
}

fn unzip_first(raw: &[u8], max: usize) -> Result<Vec<u8>, String> {
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(raw)).map_err(|e| format!("zip archive unreadable: {e}"))?;
    if archive.is_empty() {
        return Err("empty zip archive".into());
    }
    let file = archive
        .by_index(0)
        .map_err(|e| format!("zip archive unreadable: {e}"))?;
    if file.size() > max as u64 {
        return Err(format!("archive expands past the {max}-byte limit"));
    }
    read_capped(file, max)
}

fn dmarc_message(raw: &[u8], msg: &Parsed, options: &ParseOptions) -> Option<BounceReport> {
    let candidate = msg.parts.iter().any(|p| {
        is_type(p, "application", &["gzip", "x-gzip", "zip", "x-zip-compressed", "xml"])
            || is_type(p, "text", &["xml"])
            || p.attachment_name().is_some_and(|n| {
                [".xml", ".gz", ".zip"]
                    .iter()
                    .any(|e| n.to_ascii_lowercase().ends_with(e))
            })
    });
    if !candidate {
        return None;
    }
    match mail_auth::report::Report::parse_rfc5322(raw, options.max_report_size) {
        Ok(r) => Some(dmarc_report(&r)),
        Err(mail_auth::report::Error::ReportTooLarge) => Some(BounceReport::none(format!(
            "DMARC report expands past the {}-byte limit",
            options.max_report_size
        ))),
        Err(_) => None,
    }
}

fn dmarc_report(r: &mail_auth::report::Report) -> BounceReport {
    use mail_auth::report::{ActionDisposition as A, Disposition as D, DmarcResult as R};
    let result = |r: R| match r {
        R::Pass => "pass",
        R::Fail => "fail",
        R::Unspecified => "none",
    };
    let records: Vec<DmarcRecord> = r
        .records()
        .iter()
        .map(|rec| DmarcRecord {
            source_ip: rec.source_ip().map(|ip| ip.to_string()),
            count: rec.count(),
            disposition: match rec.action_disposition() {
                A::None | A::Pass => "none",
                A::Quarantine => "quarantine",
                A::Reject => "reject",
                A::Unspecified => "unspecified",
            },
            dkim: result(rec.dmarc_dkim_result()),
            spf: result(rec.dmarc_spf_result()),
            header_from: rec.header_from().to_string(),
            envelope_from: rec.envelope_from().to_string(),
            dkim_domains: rec.dkim_auth_result().iter().map(|d| d.domain().to_string()).collect(),
            spf_domains: rec.spf_auth_result().iter().map(|s| s.domain().to_string()).collect(),
        })
        .collect();
    let messages = records.iter().map(|r| r.count as u64).sum();
    let passed = records
        .iter()
        .filter(|r| r.dkim == "pass" || r.spf == "pass")
        .map(|r| r.count as u64)
        .sum();
    BounceReport {
        kind: ReportKind::Dmarc,
        standard: true,
        reporting_mta: None,
        original_envelope_id: None,
        subject: None,
        events: vec![],
        dmarc: Some(DmarcAggregate {
            org_name: r.org_name().to_string(),
            email: r.email().to_string(),
            report_id: r.report_id().to_string(),
            domain: r.domain().to_string(),
            policy: match r.p() {
                D::None => "none",
                D::Quarantine => "quarantine",
                D::Reject => "reject",
                D::Unspecified => "unspecified",
            },
            begin: r.date_range_begin(),
            end: r.date_range_end(),
            messages,
            passed,
            records,
        }),
        note: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_code_scanning() {
        assert_eq!(
            enhanced_status("smtp; 550 5.1.1 <a@b>: user unknown").as_deref(),
            Some("5.1.1")
        );
        assert_eq!(
            enhanced_status("4.4.7 (delivery time expired)").as_deref(),
            Some("4.4.7")
        );
        assert_eq!(enhanced_status("version 1.2.3.4 then 5.7.1."), Some("5.7.1".into()));
        assert_eq!(enhanced_status("no code"), None);
        assert_eq!(smtp_code("smtp; 550 5.1.1 user unknown"), Some(550));
        assert_eq!(smtp_code("port 25500 and 4.2.1"), None);
        assert_eq!(class_of(Action::Failed, Some("4.2.2"), None), Some("soft"));
        assert_eq!(class_of(Action::Failed, Some("5.1.1"), Some(550)), Some("hard"));
        assert_eq!(class_of(Action::Delivered, None, None), None);
    }

    #[test]
    fn not_a_report() {
        let o = ParseOptions::default();
        assert_eq!(parse_bounce(b"", &o).kind, ReportKind::None);
        assert_eq!(parse_bounce(b"\x00\x01garbage", &o).kind, ReportKind::None);
        let plain = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nhello\r\n";
        let r = parse_bounce(plain, &o);
        assert_eq!(r.kind, ReportKind::None);
        assert!(r.note.is_some());
        let ooo = b"From: alice@example.com\r\nAuto-Submitted: auto-replied\r\nSubject: Undeliverable? no, out of office\r\n\r\n<x@y>: away\r\n";
        assert_eq!(parse_bounce(ooo, &o).kind, ReportKind::None);
        let big = ParseOptions {
            max_size: 10,
            ..o.clone()
        };
        assert_eq!(parse_bounce(plain, &big).kind, ReportKind::None);
    }
}
