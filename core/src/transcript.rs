//! The protocol transcript hook behind smtplib's `set_debuglevel`, Nodemailer's `logger` and
//! PHPMailer's `SMTPDebug`. AUTH payloads are masked before they reach it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

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

/// Keeps transcript lines until the binding takes them (PHPMailer's debug output, Nodemailer's
/// logger, smtplib's debuglevel): one recorder for every binding. Off, it drops lines at once.
#[derive(Clone, Default)]
pub struct Recorder {
    on: Arc<AtomicBool>,
    lines: Arc<Mutex<Vec<(Direction, String)>>>,
}

impl Recorder {
    /// A recorder that keeps lines from the start.
    pub fn recording() -> Recorder {
        let r = Recorder::default();
        r.set_on(true);
        r
    }

    pub fn set_on(&self, on: bool) {
        self.on.store(on, Ordering::Relaxed);
    }

    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// The hook to put in `TransportConfig::transcript`.
    pub fn hook(&self) -> Transcript {
        let me = self.clone();
        Arc::new(move |direction, line| {
            if me.is_on() {
                me.lines
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((direction, line.to_string()));
            }
        })
    }

    /// The lines recorded since the last call.
    pub fn take(&self) -> Vec<(Direction, String)> {
        std::mem::take(&mut *self.lines.lock().unwrap_or_else(|e| e.into_inner()))
    }
}
