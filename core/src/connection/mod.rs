//! The SMTP session engine: one connection, owned socket, TCP_NODELAY, one write per logical
//! batch, every wait bounded by a timeout, PIPELINING when offered. Split by concept: `stream`
//! (the socket, TLS on top), `wire` (buffers, timeouts, replies), `codec` (DATA encoding),
//! `session` (EHLO, STARTTLS, commands), `auth`, `transaction` (MAIL/RCPT/DATA, batches),
//! `content` (the message written after DATA or BDAT), `chunking` (BDAT).

mod auth;
mod chunking;
mod codec;
mod content;
mod session;
mod stream;
mod transaction;
mod wire;

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::ClientConfig;
use tokio::net::TcpStream;

pub use codec::{encode_data, DataEncoder};
pub use stream::Io;
use stream::Stream;

use crate::config::{Security, TransportConfig};
use crate::error::{Error, ErrorKind, Hint, RejectedRecipient, Result, Stage};
use crate::extensions::Extensions;
use crate::message::Envelope;
use crate::reply::Reply;

/// What the server did with one message.
#[derive(Debug, Clone)]
pub struct SendReport {
    pub message_id: Option<String>,
    /// The envelope as sent (domains in punycode).
    pub envelope: Envelope,
    pub accepted: Vec<String>,
    pub rejected: Vec<RejectedRecipient>,
    /// The reply to the final dot.
    pub response: Reply,
}

impl SendReport {
    pub fn code(&self) -> u16 {
        self.response.code
    }
}

/// One SMTP connection. Low-level steps (`ehlo`, `starttls`, `auth`, `command`) serve the
/// smtplib binding; [`Connection::open`] and [`Connection::send`] serve everyone else.
pub struct Connection {
    io: Option<Stream>,
    rbuf: Vec<u8>,
    rpos: usize,
    wbuf: Vec<u8>,
    config: Arc<TransportConfig>,
    tls_config: Option<Arc<ClientConfig>>,
    greeting: Reply,
    extensions: Option<Extensions>,
    tls_active: bool,
    authenticated: bool,
    messages_sent: usize,
    /// Transactions begun (accepted or not): what a pool's `max_messages` counts.
    transactions: usize,
    broken: bool,
    pub(crate) last_used: Instant,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("host", &self.config.host)
            .field("port", &self.config.port)
            .field("tls", &self.tls_active)
            .field("authenticated", &self.authenticated)
            .finish_non_exhaustive()
    }
}

/// The error a message gets when the batch it was in could not reach it.
pub(crate) fn not_sent(cause: &Error) -> Error {
    Error::new(cause.kind(), cause.stage(), format!("not sent: {cause}")).unsent()
}

/// Every recipient refused (or the sender, when `mail` was refused).
fn refused(mail: Reply, rejected: Vec<RejectedRecipient>) -> Error {
    if !mail.is_positive() {
        return Error::from_reply(ErrorKind::SenderRefused, Stage::Mail, mail);
    }
    let first = &rejected[0];
    let reply = Reply {
        code: first.code,
        enhanced: first.enhanced,
        lines: first.text.lines().map(str::to_string).collect(),
    };
    Error::from_reply(ErrorKind::RecipientsRefused, Stage::Rcpt, reply).with_rejected(rejected)
}

fn timeout_error(stage: Stage, after: Duration) -> Error {
    Error::new(
        ErrorKind::Timeout,
        stage,
        format!("timed out after {:.1?} waiting at {}", after, stage.command()),
    )
}

fn io_error(stage: Stage, e: io::Error) -> Error {
    let kind = match e.kind() {
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::ConnectionRefused
        | io::ErrorKind::NotConnected => ErrorKind::Connection,
        io::ErrorKind::TimedOut => ErrorKind::Timeout,
        io::ErrorKind::InvalidData if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) => ErrorKind::Tls,
        _ => ErrorKind::Io,
    };
    let what = match e.kind() {
        io::ErrorKind::UnexpectedEof => "connection closed by server".to_string(),
        _ => e.to_string(),
    };
    Error::new(kind, stage, format!("{} at {}", what, stage.command())).with_source(e)
}

/// A default EHLO name: this host's name when it is a usable domain, else `localhost`.
pub fn default_hello_name() -> String {
    hostname::get()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'))
        .unwrap_or_else(|| "localhost".into())
}

impl Connection {
    /// Connects (and, for implicit TLS, handshakes) and reads the greeting. No EHLO yet.
    pub async fn connect(config: Arc<TransportConfig>) -> Result<Connection> {
        config.validate()?;
        let t = config.timeouts;
        let target = format!(
            "{}:{}",
            config.host.trim_start_matches('[').trim_end_matches(']'),
            config.port
        );
        let addrs: Vec<_> = match config.connect_to {
            Some(addr) => vec![addr],
            None => match tokio::time::timeout(t.connect, tokio::net::lookup_host(&target)).await {
                Err(_) => return Err(timeout_error(Stage::Connect, t.connect)),
                Ok(Err(e)) => {
                    return Err(Error::new(
                        ErrorKind::Connection,
                        Stage::Connect,
                        format!("cannot resolve {}: {e}", config.host),
                    )
                    .with_source(e))
                }
                Ok(Ok(a)) => a.collect(),
            },
        };
        let deadline = tokio::time::Instant::now() + t.connect;
        let mut last_err = None;
        let mut tcp = None;
        for addr in addrs {
            let connect = async {
                match config.source_address {
                    None => TcpStream::connect(addr).await,
                    Some(source) => {
                        let socket = if addr.is_ipv4() {
                            tokio::net::TcpSocket::new_v4()?
                        } else {
                            tokio::net::TcpSocket::new_v6()?
                        };
                        socket.bind(source)?;
                        socket.connect(addr).await
                    }
                }
            };
            match tokio::time::timeout_at(deadline, connect).await {
                Err(_) => return Err(timeout_error(Stage::Connect, t.connect)),
                Ok(Ok(s)) => {
                    tcp = Some(s);
                    break;
                }
                Ok(Err(e)) => last_err = Some(e),
            }
        }
        let tcp = match (tcp, last_err) {
            (Some(s), _) => s,
            (None, Some(e)) => {
                let msg = format!("cannot connect to {target}: {e}");
                return Err(Error::new(ErrorKind::Connection, Stage::Connect, msg).with_source(e));
            }
            (None, None) => {
                return Err(Error::new(
                    ErrorKind::Connection,
                    Stage::Connect,
                    format!("{} has no address", config.host),
                ))
            }
        };
        // Without it, Nagle holds each small write until the server's delayed ACK (~40 ms).
        tcp.set_nodelay(true).map_err(|e| io_error(Stage::Connect, e))?;
        Connection::start(Box::new(tcp), config, &target).await
    }

    /// A session over a Unix-domain socket (LMTP servers such as Dovecot's listen on one).
    #[cfg(unix)]
    pub async fn connect_unix(path: &str, config: Arc<TransportConfig>) -> Result<Connection> {
        config.validate()?;
        let limit = config.timeouts.connect;
        let stream = match tokio::time::timeout(limit, tokio::net::UnixStream::connect(path)).await {
            Err(_) => return Err(timeout_error(Stage::Connect, limit)),
            Ok(Err(e)) => {
                return Err(Error::new(
                    ErrorKind::Connection,
                    Stage::Connect,
                    format!("cannot connect to {path}: {e}"),
                )
                .with_source(e))
            }
            Ok(Ok(s)) => s,
        };
        Connection::start(Box::new(stream), config, path).await
    }

    /// A session over a stream already connected (an in-memory duplex, a proxy's tunnel):
    /// implicit TLS when configured, then the greeting. No EHLO yet.
    pub async fn over(io: impl Io + 'static, config: Arc<TransportConfig>) -> Result<Connection> {
        config.validate()?;
        let target = format!("{}:{}", config.host, config.port);
        Connection::start(Box::new(io), config, &target).await
    }

    async fn start(io: Box<dyn Io>, config: Arc<TransportConfig>, target: &str) -> Result<Connection> {
        let t = config.timeouts;
        let mut conn = Connection {
            io: Some(Stream::Plain(io)),
            rbuf: Vec::with_capacity(4096),
            rpos: 0,
            wbuf: Vec::with_capacity(4096),
            config,
            tls_config: None,
            greeting: Reply {
                code: 0,
                enhanced: None,
                lines: vec![],
            },
            extensions: None,
            tls_active: false,
            authenticated: false,
            messages_sent: 0,
            transactions: 0,
            broken: false,
            last_used: Instant::now(),
        };
        conn.info(&format!("connected to {target}"));
        let port = conn.config.port;
        if conn.config.security == Security::ImplicitTls {
            conn.handshake(Stage::Connect).await.map_err(|e| {
                if matches!(port, 25 | 587 | 2525) && e.kind() == ErrorKind::Tls {
                    let text = format!(
                        "{e} (port {port} normally speaks plain SMTP and upgrades with STARTTLS: \
                         do not use implicit TLS there)"
                    );
                    Error::new(ErrorKind::Tls, Stage::Connect, text).with_hint(Hint::UseStartTls)
                } else {
                    e
                }
            })?;
        }
        // Port 465 expects implicit TLS: a plain client waits for a greeting that never comes.
        let mismatch = port == 465 && conn.config.security != Security::ImplicitTls;
        let limit = if mismatch {
            t.greeting.min(Duration::from_secs(5))
        } else {
            t.greeting
        };
        let greeting = conn.read_reply(Stage::Greeting, limit).await.map_err(|e| {
            if mismatch && e.kind() == ErrorKind::Timeout {
                let text = format!("no greeting from port 465 within {limit:?}: port 465 expects implicit TLS");
                Error::new(ErrorKind::Timeout, Stage::Greeting, text).with_hint(Hint::UseImplicitTls)
            } else {
                e
            }
        })?;
        if greeting.code != 220 {
            conn.broken = true;
            let kind = if greeting.is_transient() || greeting.is_permanent() {
                ErrorKind::Connection
            } else {
                ErrorKind::Protocol
            };
            return Err(Error::from_reply(kind, Stage::Greeting, greeting));
        }
        conn.greeting = greeting;
        Ok(conn)
    }

    /// Connects and readies the session as the config says: EHLO (HELO fallback), STARTTLS,
    /// EHLO again, AUTH.
    pub async fn open(config: Arc<TransportConfig>) -> Result<Connection> {
        let mut conn = Connection::connect(config).await?;
        conn.hello().await?;
        let offered = conn.extensions().starttls();
        match conn.config.security {
            Security::StartTlsRequired if !offered => {
                return Err(Error::new(
                    ErrorKind::NotSupported,
                    Stage::StartTls,
                    "STARTTLS extension not supported by server (TLS is required)",
                ))
            }
            Security::StartTlsOpportunistic if offered && conn.config.starttls_fallback => {
                match conn.starttls(None).await {
                    Err(e) if e.stage() == Stage::StartTls && e.code().is_some_and(|c| c >= 400 && c != 421) => {}
                    r => {
                        r?;
                        conn.hello().await?;
                    }
                }
            }
            Security::StartTlsRequired | Security::StartTlsOpportunistic if offered => {
                conn.starttls(None).await?;
                conn.hello().await?;
            }
            _ => {}
        }
        if let Some(creds) = conn.config.credentials.clone() {
            if !conn.config.auth_if_offered || !conn.extensions().auth_mechanisms().is_empty() {
                conn.auth(&creds).await?;
            }
        }
        Ok(conn)
    }

    pub fn config(&self) -> &TransportConfig {
        &self.config
    }

    pub fn greeting(&self) -> &Reply {
        &self.greeting
    }

    /// The EHLO extensions (empty before EHLO, or after HELO).
    pub fn extensions(&self) -> &Extensions {
        static EMPTY: std::sync::OnceLock<Extensions> = std::sync::OnceLock::new();
        self.extensions
            .as_ref()
            .unwrap_or_else(|| EMPTY.get_or_init(Extensions::default))
    }

    pub fn has_said_hello(&self) -> bool {
        self.extensions.is_some()
    }

    pub fn is_tls(&self) -> bool {
        self.tls_active
    }

    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    pub fn messages_sent(&self) -> usize {
        self.messages_sent
    }

    /// Transactions begun on this connection, refused ones included.
    pub fn transactions_begun(&self) -> usize {
        self.transactions
    }

    /// False once an I/O error or timeout left the session in an unknown state.
    pub fn is_usable(&self) -> bool {
        !self.broken && self.io.is_some()
    }

    fn hello_name(&self) -> String {
        self.config.hello_name.clone().unwrap_or_else(default_hello_name)
    }
}
