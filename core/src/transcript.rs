//! The protocol transcript hook behind smtplib's `set_debuglevel`, Nodemailer's `logger` and
//! PHPMailer's `SMTPDebug`. AUTH payloads are masked before they reach it.

use std::sync::Arc;

/// Which side a transcript line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// A command line we sent (without CRLF).
    Client,
    /// A reply line we received (without CRLF).
    Server,
    /// The message content we sent, as one block.
    Data,
    /// A note from the engine: connecting, TLS established, and so on.
    Info,
}

/// Receives transcript lines. Called on the I/O thread: keep it quick.
pub type Transcript = Arc<dyn Fn(Direction, &str) + Send + Sync>;

/// What the transcript shows in place of a secret.
pub const MASK: &str = "****";
