//! One error taxonomy for every binding: what went wrong (`ErrorKind`), where (`Stage`), and
//! what the server said (code, enhanced status, text, refused recipients).

use std::fmt;

use crate::reply::{EnhancedStatus, Reply};

/// What kind of failure this is; bindings map these to their host's exception types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// TCP connect failed or the peer closed the connection.
    Connection,
    /// A connect, handshake, greeting or command exceeded its timeout.
    Timeout,
    /// TLS handshake or certificate verification failed, or STARTTLS was required but not offered.
    Tls,
    /// The server refused the credentials or offers no usable mechanism.
    Auth,
    /// MAIL FROM was refused.
    SenderRefused,
    /// Every recipient was refused.
    RecipientsRefused,
    /// DATA or the message content was refused.
    DataRefused,
    /// The message is larger than the server's SIZE limit (refused before DATA).
    MessageTooLarge,
    /// The server lacks an extension the operation needs (STARTTLS, AUTH, SMTPUTF8).
    NotSupported,
    /// An unexpected or malformed reply.
    Protocol,
    /// The caller's input is invalid; nothing was sent.
    InvalidInput,
    /// A local I/O error (reading an attachment, a CA file, a socket).
    Io,
}

impl ErrorKind {
    /// The kind's name as every binding exposes it (`"recipients_refused"`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Connection => "connection",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Tls => "tls",
            ErrorKind::Auth => "auth",
            ErrorKind::SenderRefused => "sender_refused",
            ErrorKind::RecipientsRefused => "recipients_refused",
            ErrorKind::DataRefused => "data_refused",
            ErrorKind::MessageTooLarge => "message_too_large",
            ErrorKind::NotSupported => "not_supported",
            ErrorKind::Protocol => "protocol",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Io => "io",
        }
    }
}

/// The step of the SMTP session that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Building or validating the message and configuration, before any I/O.
    Build,
    /// Validating the envelope (sender and recipients), before any I/O.
    Envelope,
    Connect,
    Greeting,
    Ehlo,
    StartTls,
    Auth,
    Mail,
    Rcpt,
    Data,
    /// Sending the content and waiting for the reply to the final dot.
    Message,
    /// Any other command (NOOP, RSET, VRFY, QUIT or a raw command).
    Command,
    /// A DNS lookup of the deliverability checks.
    Dns,
}

impl Stage {
    /// The stable name every binding exposes (`"rcpt"`, `"starttls"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Build => "build",
            Stage::Envelope => "envelope",
            Stage::Connect => "connect",
            Stage::Greeting => "greeting",
            Stage::Ehlo => "ehlo",
            Stage::StartTls => "starttls",
            Stage::Auth => "auth",
            Stage::Mail => "mail",
            Stage::Rcpt => "rcpt",
            Stage::Data => "data",
            Stage::Message => "message",
            Stage::Command => "command",
            Stage::Dns => "dns",
        }
    }

    /// What the stage is called in messages: the SMTP verb (`MAIL FROM`), or the step.
    pub fn command(self) -> &'static str {
        match self {
            Stage::Build | Stage::Envelope => "the input check",
            Stage::Connect => "connect",
            Stage::Greeting => "the greeting",
            Stage::Ehlo => "EHLO",
            Stage::StartTls => "STARTTLS",
            Stage::Auth => "AUTH",
            Stage::Mail => "MAIL FROM",
            Stage::Rcpt => "RCPT TO",
            Stage::Data => "DATA",
            Stage::Message => "the end of DATA",
            Stage::Command => "the command",
            Stage::Dns => "the DNS lookup",
        }
    }
}

/// Structured detail for each binding to say in its own words: what the caller can change
/// (a setting's name differs between smtplib, Nodemailer and PHPMailer), or which fault it was
/// where a host library reports it apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hint {
    /// The port speaks plain SMTP and upgrades with STARTTLS: do not use implicit TLS.
    UseStartTls,
    /// The port expects TLS from the first byte (465).
    UseImplicitTls,
    /// A reply line longer than the 8 KiB the engine accepts (smtplib: "Line too long.").
    ReplyLineTooLong,
}

/// A recipient the server refused, with its reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRecipient {
    pub address: String,
    pub code: u16,
    pub enhanced: Option<EnhancedStatus>,
    pub text: String,
}

impl RejectedRecipient {
    pub fn from_reply(address: &str, reply: &Reply) -> Self {
        RejectedRecipient {
            address: address.to_string(),
            code: reply.code,
            enhanced: reply.enhanced,
            text: reply.text(),
        }
    }
}

/// Every failure polymailer reports. Secrets never appear in it.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    stage: Stage,
    message: String,
    reply: Option<Reply>,
    rejected: Vec<RejectedRecipient>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
    unsent: bool,
    hint: Option<Hint>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A copy for every message a shared failure affects; the underlying source is not copied.
impl Clone for Error {
    fn clone(&self) -> Self {
        Error {
            kind: self.kind,
            stage: self.stage,
            message: self.message.clone(),
            reply: self.reply.clone(),
            rejected: self.rejected.clone(),
            source: None,
            unsent: self.unsent,
            hint: self.hint,
        }
    }
}

impl Error {
    pub fn new(kind: ErrorKind, stage: Stage, message: impl Into<String>) -> Self {
        Error {
            kind,
            stage,
            message: message.into(),
            reply: None,
            rejected: Vec::new(),
            source: None,
            unsent: false,
            hint: None,
        }
    }

    /// Bad input, refused before any I/O; the message names the field.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidInput, Stage::Build, message)
    }

    /// A server reply that ended the step `stage`.
    pub fn from_reply(kind: ErrorKind, stage: Stage, reply: Reply) -> Self {
        let message = format!("{} failed: {}", stage.command(), reply.one_line());
        Error {
            reply: Some(reply),
            ..Error::new(kind, stage, message)
        }
    }

    pub(crate) fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    pub(crate) fn with_rejected(mut self, rejected: Vec<RejectedRecipient>) -> Self {
        self.rejected = rejected;
        self
    }

    pub(crate) fn with_hint(mut self, hint: Hint) -> Self {
        self.hint = Some(hint);
        self
    }

    /// What the caller could change (each binding names the setting in its own words).
    pub fn hint(&self) -> Option<Hint> {
        self.hint
    }

    /// Marks a message that never left this machine because its connection failed first.
    pub(crate) fn unsent(mut self) -> Self {
        self.unsent = true;
        self
    }

    /// True when no part of the message reached the server (its connection failed before
    /// its turn): sending it on another connection cannot deliver it twice.
    pub fn was_not_sent(&self) -> bool {
        self.unsent
    }

    pub(crate) fn at_stage(mut self, stage: Stage) -> Self {
        self.stage = stage;
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// The human-readable description (without the server reply's code prefix).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The server reply that caused this error, if any.
    pub fn reply(&self) -> Option<&Reply> {
        self.reply.as_ref()
    }

    /// The SMTP reply code, if a server reply caused this error.
    pub fn code(&self) -> Option<u16> {
        self.reply.as_ref().map(|r| r.code)
    }

    pub fn enhanced_status(&self) -> Option<EnhancedStatus> {
        self.reply.as_ref().and_then(|r| r.enhanced)
    }

    /// The recipients refused (for `RecipientsRefused`, all of them).
    pub fn rejected(&self) -> &[RejectedRecipient] {
        &self.rejected
    }

    /// Worth retrying later: a 4xx reply, a timeout or a dropped connection.
    pub fn is_transient(&self) -> bool {
        match self.code() {
            Some(code) => (400..500).contains(&code),
            None => matches!(self.kind, ErrorKind::Connection | ErrorKind::Timeout | ErrorKind::Io),
        }
    }

    /// Retrying the same thing will fail again: a 5xx reply or invalid input.
    pub fn is_permanent(&self) -> bool {
        match self.code() {
            Some(code) => code >= 500,
            None => matches!(self.kind, ErrorKind::InvalidInput | ErrorKind::MessageTooLarge),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}
