//! `Polymailer\PHPMailer\Exception` and the one mapping from core errors to PHPMailer's
//! messages (its English language strings), so `ErrorInfo` and exception texts read the same.

use ext_php_rs::exception::PhpException;
use ext_php_rs::zend::ClassEntry;
use polymailer::{Error, ErrorKind, Hint, Stage};

/// `Polymailer\PHPMailer\Exception`, declared in PHP (php/exception.php) at request startup.
pub const EXCEPTION_PHP: &str = include_str!("../php/exception.php");
/// `OAuthTokenProvider` and `OAuth` (php/oauth.php), declared the same way.
pub const OAUTH_PHP: &str = include_str!("../php/oauth.php");
pub const EXCEPTION_CLASS: &str = "Polymailer\\PHPMailer\\Exception";

pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn exception(message: &str) -> PhpException {
    match ClassEntry::try_find(EXCEPTION_CLASS) {
        Some(ce) => PhpException::new(message.to_string(), 0, ce),
        None => PhpException::from_message(message.to_string()),
    }
}

/// PHPMailer's language strings (English).
pub mod lang {
    pub const AUTHENTICATE: &str = "SMTP Error: Could not authenticate.";
    pub const DATA_NOT_ACCEPTED: &str = "SMTP Error: data not accepted.";
    pub const EMPTY_MESSAGE: &str = "Message body empty";
    pub const ENCODING: &str = "Unknown encoding: ";
    pub const FILE_ACCESS: &str = "Could not access file: ";
    pub const FROM_FAILED: &str = "The following From address failed: ";
    pub const INVALID_ADDRESS: &str = "Invalid address: ";
    pub const MAILER_NOT_SUPPORTED: &str = " mailer is not supported.";
    pub const PROVIDE_ADDRESS: &str = "You must provide at least one recipient email address.";
    pub const RECIPIENTS_FAILED: &str = "SMTP Error: The following recipients failed: ";
    pub const SIGNING: &str = "Signing Error: ";
    pub const SMTP_CONNECT_FAILED: &str =
        "SMTP connect() failed. https://github.com/PHPMailer/PHPMailer/wiki/Troubleshooting";
    pub const SMTP_ERROR: &str = "SMTP server error: ";
    pub const INVALID_HEADER: &str = "Invalid header name or value";
}

/// The message PHPMailer would give for this failure, with PHPMailer's trailer for the
/// server's reply (`SMTP server error: … SMTP code: 550 Additional SMTP info: 5.1.1`).
pub fn phpmailer_message(e: &Error, sender: &str) -> String {
    let detail = e.reply().map(|r| r.text()).unwrap_or_else(|| e.message().to_string());
    let head = match e.kind() {
        ErrorKind::Auth => lang::AUTHENTICATE.to_string(),
        ErrorKind::NotSupported if e.stage() == Stage::Auth => lang::AUTHENTICATE.to_string(),
        ErrorKind::Connection | ErrorKind::Timeout | ErrorKind::Tls | ErrorKind::NotSupported | ErrorKind::Protocol
            if matches!(
                e.stage(),
                Stage::Connect | Stage::Greeting | Stage::Ehlo | Stage::StartTls
            ) =>
        {
            match e.hint() {
                Some(Hint::UseStartTls) => {
                    format!("{} {}: set SMTPSecure = 'tls'", lang::SMTP_CONNECT_FAILED, e.message())
                }
                Some(Hint::UseImplicitTls) => {
                    format!("{} {}: set SMTPSecure = 'ssl'", lang::SMTP_CONNECT_FAILED, e.message())
                }
                Some(Hint::ReplyLineTooLong) | None => format!("{} {}", lang::SMTP_CONNECT_FAILED, e.message()),
            }
        }
        ErrorKind::SenderRefused => format!("{}{} : {}", lang::FROM_FAILED, sender, detail),
        ErrorKind::RecipientsRefused => recipients_failed(e.rejected()),
        ErrorKind::DataRefused | ErrorKind::MessageTooLarge => lang::DATA_NOT_ACCEPTED.to_string(),
        ErrorKind::InvalidInput => return e.message().to_string(),
        _ => return format!("{}{}", lang::SMTP_ERROR, e.message()),
    };
    match e.reply() {
        // PHPMailer's QUIT after a failed AUTH clears the SMTP error: no trailer (the
        // exception still carries the code).
        Some(_) if e.stage() == Stage::Auth => head,
        Some(reply) => format!(
            "{head}{}",
            smtp_trailer(
                command(e.stage()),
                &reply.text_without_status(),
                reply.code,
                reply.enhanced
            )
        ),
        None if matches!(e.kind(), ErrorKind::DataRefused | ErrorKind::MessageTooLarge) => {
            format!("{head} {}{}", lang::SMTP_ERROR, e.message())
        }
        None => head,
    }
}

/// PHPMailer's names for the command that failed (`DATA END` is the final dot).
fn command(stage: Stage) -> &'static str {
    match stage {
        Stage::Message => "DATA END",
        other => other.command(),
    }
}

/// What PHPMailer's `setError` appends from the SMTP class's last error.
fn smtp_trailer(command: &str, detail: &str, code: u16, enhanced: Option<polymailer::EnhancedStatus>) -> String {
    let mut s = format!("{}{command} command failed", lang::SMTP_ERROR);
    if !detail.is_empty() {
        s.push_str(&format!(" Detail: {detail}"));
    }
    s.push_str(&format!(" SMTP code: {code}"));
    if let Some(x) = enhanced {
        s.push_str(&format!(" Additional SMTP info: {x}"));
    }
    s
}

/// `recipients_failed` for the refused recipients, with the last refusal's code.
pub fn recipients_failed(rejected: &[polymailer::RejectedRecipient]) -> String {
    let mut s = lang::RECIPIENTS_FAILED.to_string();
    for r in rejected {
        s.push_str(&format!("{}: {}", r.address, r.text));
    }
    if let Some(last) = rejected.last() {
        let detail = match last.enhanced {
            Some(x) => last.text.trim_start_matches(&x.to_string()).trim_start().to_string(),
            None => last.text.clone(),
        };
        s.push_str(&smtp_trailer("RCPT TO", &detail, last.code, last.enhanced));
    }
    s
}

/// The engine's facts for the exception's properties: kind, SMTP code, enhanced status.
pub struct Facts {
    pub kind: &'static str,
    pub code: Option<u16>,
    pub enhanced: Option<String>,
}

impl Facts {
    pub fn of(e: &Error) -> Facts {
        Facts {
            kind: e.kind().as_str(),
            code: e.code(),
            enhanced: e.enhanced_status().map(|x| x.to_string()),
        }
    }

    pub fn rejected(rejected: &[polymailer::RejectedRecipient]) -> Facts {
        let last = rejected.last();
        Facts {
            kind: ErrorKind::RecipientsRefused.as_str(),
            code: last.map(|r| r.code),
            enhanced: last.and_then(|r| r.enhanced).map(|x| x.to_string()),
        }
    }
}

/// The exception, with `kind`, `smtpCode` and `smtpCodeEx` set when the engine gave them.
pub fn exception_with(message: &str, facts: Option<&Facts>) -> PhpException {
    let base = exception(message);
    let Some(f) = facts else { return base };
    let made =
        ext_php_rs::types::ZendCallable::try_from_name(&format!("{EXCEPTION_CLASS}::fromEngine")).and_then(|c| {
            c.try_call(vec![
                &message.to_string(),
                &f.kind.to_string(),
                &f.code.map(i64::from),
                &f.enhanced.clone(),
            ])
        });
    match made {
        Ok(obj) if obj.is_object() => base.with_object(obj),
        _ => base,
    }
}
