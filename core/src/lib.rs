//! polymailer: one SMTP sending engine for Rust, Python, Node.js and PHP.
//!
//! ```no_run
//! use polymailer::{Mailer, Message, Mailbox, TransportConfig, Credentials};
//! let mailer = Mailer::new(
//!     TransportConfig::new("smtp.example.com", 587).credentials(Credentials::password("me", "secret")),
//! )?;
//! let mut msg = Message::new();
//! msg.from = Some(Mailbox::parse("\"Me\" <me@example.com>")?);
//! msg.to.push(Mailbox::parse("you@example.com")?);
//! msg.subject = Some("Hello".into());
//! msg.text = Some("Hi there".into());
//! let report = mailer.send_blocking(&msg)?;
//! println!("{} accepted: {:?}", report.response.one_line(), report.accepted);
//! # Ok::<(), polymailer::Error>(())
//! ```

pub mod address;
pub mod bounce;
pub mod check;
pub mod config;
pub mod connection;
pub(crate) mod der;
pub mod dkim;
pub mod error;
pub mod extensions;
pub mod fields;
pub mod html;
pub mod list;
pub mod mailer;
pub mod message;
pub mod nodemailer;
pub mod options;
pub mod payload;
pub mod phpmailer;
pub mod reply;
pub mod runtime;
pub mod text;
pub mod tls;
pub mod transcript;
pub mod value;

pub use address::Mailbox;
pub use config::{
    AuthMechanism, ClientIdentity, Credentials, PoolConfig, RateLimit, Secret, Security, Timeouts, TlsOptions,
    TlsVersion, TransportConfig,
};
pub use connection::{Connection, SendReport};
pub use dkim::DkimConfig;
pub use error::{Error, ErrorKind, Hint, RejectedRecipient, Result, Stage};
pub use extensions::Extensions;
pub use mailer::Mailer;
pub use message::{Attachment, Content, Dsn, Envelope, Message, Outgoing, Prepared, Priority, RawMessage, SenderRule};
pub use options::{ConnectionUrl, OptionValue, Service};
pub use payload::{Payload, Piece};
pub use reply::{EnhancedStatus, Reply};
pub use transcript::{Direction, Recorder, Transcript};
pub use value::Value;
