//! `Polymailer\PHPMailer\Exception` and the one mapping from core errors to PHPMailer's
//! messages (its English language strings), so `ErrorInfo` and exception texts read the same.

use ext_php_rs::exception::PhpException;
use ext_php_rs::zend::ClassEntry;
use polymailer::{Error, ErrorKind, Stage};

/// `Polymailer\PHPMailer\Exception`, declared in PHP (php/exception.php) at request startup.
pub const EXCEPTION_PHP: &str = include_str!("../php/exception.php");
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

/// The message PHPMailer would give for this failure.
pub fn phpmailer_message(e: &Error, sender: &str) -> String {
    let detail = e.reply().map(|r| r.text()).unwrap_or_else(|| e.message().to_string());
    match e.kind() {
        ErrorKind::Auth => lang::AUTHENTICATE.to_string(),
        ErrorKind::NotSupported if e.stage() == Stage::Auth => lang::AUTHENTICATE.to_string(),
        ErrorKind::Connection | ErrorKind::Timeout | ErrorKind::Tls | ErrorKind::NotSupported
            if matches!(
                e.stage(),
                Stage::Connect | Stage::Greeting | Stage::Ehlo | Stage::StartTls
            ) =>
        {
            format!("{} {}", lang::SMTP_CONNECT_FAILED, e.message())
        }
        ErrorKind::SenderRefused => format!("{}{} : {}", lang::FROM_FAILED, sender, detail),
        ErrorKind::RecipientsRefused => recipients_failed(e.rejected()),
        ErrorKind::DataRefused | ErrorKind::MessageTooLarge => {
            format!("{} {}{}", lang::DATA_NOT_ACCEPTED, lang::SMTP_ERROR, detail)
        }
        ErrorKind::InvalidInput => e.message().to_string(),
        _ => format!("{}{}", lang::SMTP_ERROR, e.message()),
    }
}

pub fn recipients_failed(rejected: &[polymailer::RejectedRecipient]) -> String {
    let mut s = lang::RECIPIENTS_FAILED.to_string();
    for r in rejected {
        s.push_str(&format!("{}: {}", r.address, r.text));
    }
    s
}
