//! The one conversion from core errors to Nodemailer-shaped error fields (`code`,
//! `responseCode`, `response`, `command`); `index.js` turns them into `Error` objects.

use napi_derive::napi;
use polymailer::{Error, ErrorKind, Hint, Stage};

#[napi(object)]
pub struct ErrorFields {
    pub message: String,
    /// The engine's own account when `message` is Nodemailer's fixed text.
    pub detail: Option<String>,
    /// Nodemailer's code: EAUTH, ECONNECTION, ETIMEDOUT, ETLS, EENVELOPE, EMESSAGE, ESOCKET, EPROTOCOL.
    pub code: String,
    pub response_code: Option<u32>,
    pub response: Option<String>,
    pub command: String,
    /// Refused recipients, when the envelope was refused.
    pub rejected: Vec<String>,
    /// `{recipient, responseCode, response}` for each of them.
    pub rejected_errors: Vec<crate::mailer::RejectedInfo>,
    /// The core's kind, e.g. "recipients_refused".
    pub kind: String,
    pub transient: bool,
}

fn code(e: &Error) -> &'static str {
    match e.kind() {
        ErrorKind::Auth => "EAUTH",
        ErrorKind::NotSupported if e.stage() == Stage::Auth => "EAUTH",
        ErrorKind::NotSupported | ErrorKind::Tls => "ETLS",
        ErrorKind::Timeout => "ETIMEDOUT",
        // The server closed the connection (at any stage): Nodemailer's "Connection closed
        // unexpectedly"; a socket error is ESOCKET.
        ErrorKind::Connection => "ECONNECTION",
        ErrorKind::Io => "ESOCKET",
        ErrorKind::SenderRefused | ErrorKind::RecipientsRefused => "EENVELOPE",
        ErrorKind::InvalidInput if e.stage() == Stage::Envelope => "EENVELOPE",
        ErrorKind::InvalidInput | ErrorKind::DataRefused | ErrorKind::MessageTooLarge => "EMESSAGE",
        ErrorKind::Protocol => "EPROTOCOL",
    }
}

/// Nodemailer's `err.command` words.
fn command(stage: Stage) -> &'static str {
    match stage {
        Stage::Build | Stage::Envelope => "API",
        Stage::Connect => "CONN",
        Stage::Greeting => "GREETING",
        Stage::Ehlo => "EHLO",
        Stage::StartTls => "STARTTLS",
        Stage::Auth => "AUTH",
        Stage::Mail => "MAIL FROM",
        Stage::Rcpt => "RCPT TO",
        Stage::Data | Stage::Message => "DATA",
        Stage::Command => "CMD",
        Stage::Dns => "DNS",
    }
}

/// The error's text, with its hint in Nodemailer's option names. A connection the server
/// closed without a reply after connecting has Nodemailer's exact text (code that retries
/// compares it); the engine's account of it is in `detail`.
fn message(e: &Error) -> String {
    if closed_unexpectedly(e) {
        return "Connection closed unexpectedly".to_string();
    }
    match e.hint() {
        Some(Hint::UseStartTls) => format!("{e}: set secure: false (STARTTLS is used when offered)"),
        Some(Hint::UseImplicitTls) => format!("{e}: set secure: true"),
        Some(Hint::ReplyLineTooLong) | None => e.to_string(),
    }
}

fn closed_unexpectedly(e: &Error) -> bool {
    e.kind() == ErrorKind::Connection && e.code().is_none() && !matches!(e.stage(), Stage::Connect | Stage::Greeting)
}

pub fn fields(e: &Error) -> ErrorFields {
    ErrorFields {
        detail: closed_unexpectedly(e).then(|| e.to_string()),
        message: message(e),
        code: code(e).to_string(),
        response_code: e.code().map(u32::from),
        response: e.reply().map(|r| r.one_line()),
        command: command(e.stage()).to_string(),
        rejected: e.rejected().iter().map(|r| r.address.clone()).collect(),
        rejected_errors: e.rejected().iter().map(crate::mailer::RejectedInfo::from).collect(),
        kind: e.kind().as_str().to_string(),
        transient: e.is_transient(),
    }
}

/// For synchronous failures (bad options): a thrown `Error` whose message carries the code.
pub fn throw(e: Error) -> napi::Error {
    napi::Error::new(napi::Status::InvalidArg, format!("{}: {}", code(&e), message(&e)))
}
