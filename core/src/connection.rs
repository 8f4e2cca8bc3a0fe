//! The SMTP session engine: one connection, owned socket, TCP_NODELAY, one write per logical
//! batch, every wait bounded by a timeout, PIPELINING when offered.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::address;
use crate::config::{AuthMechanism, Credentials, Secret, Security, TlsOptions, TransportConfig};
use crate::error::{Error, ErrorKind, RejectedRecipient, Result, Stage};
use crate::extensions::Extensions;
use crate::message::{Envelope, Prepared};
use crate::payload::Payload;
use crate::reply::{self, Parsed, Reply};
use crate::tls;
use crate::transcript::{Direction, MASK};

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

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
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
        let addrs: Vec<_> = match tokio::time::timeout(t.connect, tokio::net::lookup_host(&target)).await {
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
        let mut conn = Connection {
            io: Some(Stream::Plain(tcp)),
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
            broken: false,
            last_used: Instant::now(),
        };
        conn.info(&format!("connected to {target}"));
        let port = conn.config.port;
        if conn.config.security == Security::ImplicitTls {
            conn.handshake(Stage::Connect).await.map_err(|e| {
                if matches!(port, 25 | 587 | 2525) && e.kind() == ErrorKind::Tls {
                    let hint = format!(
                        "{e} (port {port} normally speaks plain SMTP and upgrades with STARTTLS: \
                         do not use implicit TLS there; Nodemailer secure: false, PHPMailer SMTPSecure 'tls', smtplib SMTP)"
                    );
                    Error::new(ErrorKind::Tls, Stage::Connect, hint)
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
                let hint = format!(
                    "no greeting from port 465 within {limit:?}: port 465 expects implicit TLS \
                     (Nodemailer secure: true, PHPMailer SMTPSecure 'ssl', smtplib SMTP_SSL)"
                );
                Error::new(ErrorKind::Timeout, Stage::Greeting, hint)
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
        if config.credentials.is_some()
            && config.security == Security::None
            && !config.allow_insecure_auth
            && !config.host_is_loopback()
        {
            return Err(Error::invalid(format!(
                "refusing to send credentials in plain text to {}: use STARTTLS or implicit TLS, or allow insecure auth explicitly",
                config.host
            )));
        }
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
            Security::StartTlsRequired | Security::StartTlsOpportunistic if offered => {
                conn.starttls(None).await?;
                conn.hello().await?;
            }
            _ => {}
        }
        if let Some(creds) = conn.config.credentials.clone() {
            conn.auth(&creds).await?;
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

    /// False once an I/O error or timeout left the session in an unknown state.
    pub fn is_usable(&self) -> bool {
        !self.broken && self.io.is_some()
    }

    fn hello_name(&self) -> String {
        self.config.hello_name.clone().unwrap_or_else(default_hello_name)
    }

    /// EHLO, falling back to HELO when the server refuses EHLO.
    pub async fn hello(&mut self) -> Result<Reply> {
        let name = self.hello_name();
        let reply = self.ehlo(Some(&name)).await?;
        if reply.is_positive() {
            return Ok(reply);
        }
        if reply.code == 421 {
            return Err(Error::from_reply(ErrorKind::Connection, Stage::Ehlo, reply));
        }
        let reply = self.helo(Some(&name)).await?;
        if !reply.is_positive() {
            return Err(Error::from_reply(ErrorKind::Protocol, Stage::Ehlo, reply));
        }
        Ok(reply)
    }

    /// Sends EHLO and returns the reply, positive or not (smtplib's `ehlo`).
    pub async fn ehlo(&mut self, name: Option<&str>) -> Result<Reply> {
        let name = name.map(str::to_string).unwrap_or_else(|| self.hello_name());
        address::check_no_control("hello name", &name)?;
        let reply = self.exchange(&format!("EHLO {name}"), Stage::Ehlo).await?;
        self.extensions = reply.is_positive().then(|| Extensions::from_ehlo(&reply));
        Ok(reply)
    }

    /// Sends HELO and returns the reply, positive or not.
    pub async fn helo(&mut self, name: Option<&str>) -> Result<Reply> {
        let name = name.map(str::to_string).unwrap_or_else(|| self.hello_name());
        address::check_no_control("hello name", &name)?;
        let reply = self.exchange(&format!("HELO {name}"), Stage::Ehlo).await?;
        if reply.is_positive() {
            self.extensions = Some(Extensions::default());
        }
        Ok(reply)
    }

    /// STARTTLS and the handshake. `options` overrides the config's TLS options (smtplib's
    /// `starttls(context=…)`). The caller must EHLO again afterwards.
    pub async fn starttls(&mut self, options: Option<&TlsOptions>) -> Result<Reply> {
        if self.tls_active {
            return Err(Error::new(
                ErrorKind::Protocol,
                Stage::StartTls,
                "TLS is already active",
            ));
        }
        if let Some(options) = options {
            self.tls_config = Some(tls::client_config(options)?);
        }
        let reply = self.exchange("STARTTLS", Stage::StartTls).await?;
        if reply.code != 220 {
            return Err(Error::from_reply(ErrorKind::Tls, Stage::StartTls, reply));
        }
        if self.rpos < self.rbuf.len() {
            // Bytes sent before the handshake would be trusted after it (CVE-2011-0411 class).
            self.broken = true;
            return Err(Error::new(
                ErrorKind::Protocol,
                Stage::StartTls,
                "server sent data after its STARTTLS reply",
            ));
        }
        let server_name_opts = options.cloned().unwrap_or_else(|| self.config.tls.clone());
        self.handshake_with(Stage::StartTls, &server_name_opts).await?;
        self.extensions = None;
        Ok(reply)
    }

    async fn handshake(&mut self, stage: Stage) -> Result<()> {
        let options = self.config.tls.clone();
        self.handshake_with(stage, &options).await
    }

    async fn handshake_with(&mut self, stage: Stage, options: &TlsOptions) -> Result<()> {
        let tls_config = match &self.tls_config {
            Some(c) => c.clone(),
            None => {
                let c = tls::client_config(options)?;
                self.tls_config = Some(c.clone());
                c
            }
        };
        let name = tls::server_name(options, &self.config.host)?;
        let Some(Stream::Plain(tcp)) = self.io.take() else {
            return Err(Error::new(ErrorKind::Protocol, stage, "TLS is already active"));
        };
        self.broken = true;
        let limit = self.config.timeouts.tls_handshake;
        let tls = match tokio::time::timeout(limit, TlsConnector::from(tls_config).connect(name, tcp)).await {
            Err(_) => return Err(timeout_error(stage, limit).at_stage(stage)),
            Ok(Err(e)) => {
                let msg = format!("TLS handshake with {} failed: {e}", self.config.host);
                return Err(Error::new(ErrorKind::Tls, stage, msg).with_source(e));
            }
            Ok(Ok(s)) => s,
        };
        let (_, session) = tls.get_ref();
        let version = session.protocol_version().map(|v| format!("{v:?}")).unwrap_or_default();
        self.io = Some(Stream::Tls(Box::new(tls)));
        self.broken = false;
        self.tls_active = true;
        self.info(&format!("TLS established ({version})"));
        Ok(())
    }

    /// AUTH with the given credentials. Refuses plain text to a remote host unless allowed.
    pub async fn auth(&mut self, creds: &Credentials) -> Result<Reply> {
        if !self.tls_active && !self.config.allow_insecure_auth && !self.config.host_is_loopback() {
            return Err(Error::new(
                ErrorKind::Tls,
                Stage::Auth,
                format!(
                    "refusing to send credentials in plain text to {}: the connection is not encrypted",
                    self.config.host
                ),
            ));
        }
        let offered = self.extensions().auth_mechanisms();
        let mechanism = match (creds.mechanism, &creds.secret) {
            (AuthMechanism::Auto, Secret::OAuth2Token(_)) => AuthMechanism::Xoauth2,
            (AuthMechanism::Auto, _) => {
                if offered.iter().any(|m| m == "PLAIN") {
                    AuthMechanism::Plain
                } else if offered.iter().any(|m| m == "LOGIN") {
                    AuthMechanism::Login
                } else if offered.is_empty() {
                    return Err(Error::new(
                        ErrorKind::NotSupported,
                        Stage::Auth,
                        "SMTP AUTH extension not supported by server",
                    ));
                } else {
                    return Err(Error::new(
                        ErrorKind::Auth,
                        Stage::Auth,
                        format!("no supported AUTH mechanism (server offers {})", offered.join(" ")),
                    ));
                }
            }
            (m, _) => m,
        };
        let secret = match &creds.secret {
            Secret::Password(p) | Secret::OAuth2Token(p) => p.as_str(),
        };
        let user = creds.username.as_str();
        let reply = match mechanism {
            AuthMechanism::Plain => {
                let payload = B64.encode(format!("\0{user}\0{secret}"));
                let reply = self
                    .exchange_secret(&format!("AUTH PLAIN {payload}"), "AUTH PLAIN ")
                    .await?;
                if reply.code == 334 {
                    self.exchange_secret(&payload, "").await?
                } else {
                    reply
                }
            }
            AuthMechanism::Login => {
                let mut reply = self.exchange("AUTH LOGIN", Stage::Auth).await?;
                if reply.code == 334 {
                    reply = self.exchange_secret(&B64.encode(user), "").await?;
                    if reply.code == 334 {
                        reply = self.exchange_secret(&B64.encode(secret), "").await?;
                    }
                }
                reply
            }
            AuthMechanism::Xoauth2 | AuthMechanism::Auto => {
                let payload = B64.encode(format!("user={user}\x01auth=Bearer {secret}\x01\x01"));
                let mut reply = self
                    .exchange_secret(&format!("AUTH XOAUTH2 {payload}"), "AUTH XOAUTH2 ")
                    .await?;
                if reply.code == 334 {
                    // The server sent a JSON error; an empty line gets the final 5xx.
                    reply = self.exchange("", Stage::Auth).await?;
                }
                reply
            }
        };
        if reply.code != 235 {
            return Err(Error::from_reply(ErrorKind::Auth, Stage::Auth, reply));
        }
        self.authenticated = true;
        Ok(reply)
    }

    /// Sends one raw command line and returns the reply, positive or not (smtplib's `docmd`).
    pub async fn command(&mut self, line: &str) -> Result<Reply> {
        address::check_no_control("command", line)?;
        self.exchange(line, Stage::Command).await
    }

    pub async fn noop(&mut self) -> Result<Reply> {
        self.exchange("NOOP", Stage::Command).await
    }

    pub async fn rset(&mut self) -> Result<Reply> {
        self.exchange("RSET", Stage::Command).await
    }

    /// QUIT and close; errors are ignored, as the session is over either way.
    pub async fn quit(mut self) -> Option<Reply> {
        let reply = if self.is_usable() {
            self.exchange("QUIT", Stage::Command).await.ok()
        } else {
            None
        };
        if let Some(mut io) = self.io.take() {
            let _ = tokio::time::timeout(Duration::from_secs(1), io.shutdown()).await;
        }
        reply
    }

    /// Sends one message: MAIL, RCPT per recipient, DATA, the content. Some recipients refused
    /// is a success that lists them; all refused is `RecipientsRefused`. A refused transaction
    /// is reset so the connection stays usable.
    pub async fn send(&mut self, message: &Prepared) -> Result<SendReport> {
        let result = self.transaction(message).await;
        self.last_used = Instant::now();
        if let Err(e) = &result {
            if self.is_usable() && e.stage() != Stage::Message && e.kind() != ErrorKind::InvalidInput {
                // Best effort: the error the caller sees is the original one.
                let _ = self.rset().await;
            }
        }
        result
    }

    /// Sends several messages over this connection. With PIPELINING, each message's content
    /// and final dot go out in one write with the next message's MAIL, RCPT and DATA (RFC 2920
    /// allows content first in a group and DATA last), so a message costs one round trip.
    /// One result per message, in order; without PIPELINING this is `send` per message.
    pub async fn send_batch(&mut self, messages: &[&Prepared]) -> Vec<Result<SendReport>> {
        if self.is_usable() && !self.has_said_hello() {
            if let Err(e) = self.hello().await {
                return messages.iter().map(|_| Err(not_sent(&e))).collect();
            }
        }
        if messages.len() < 2 || !self.is_usable() || !self.extensions().pipelining() {
            let mut out = Vec::with_capacity(messages.len());
            for m in messages {
                out.push(self.send(m).await);
            }
            return out;
        }
        let mut results: Vec<Option<Result<SendReport>>> = messages.iter().map(|_| None).collect();
        let mut order = Vec::with_capacity(messages.len());
        let mut commands = Vec::with_capacity(messages.len());
        for (i, m) in messages.iter().enumerate() {
            match self.envelope_commands(m) {
                Ok(c) => {
                    order.push(i);
                    commands.push(c);
                }
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        let outcome = self.pipeline(messages, &order, &commands, &mut results).await;
        self.last_used = Instant::now();
        let abort = outcome.err();
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(match &abort {
                        Some(e) => not_sent(e),
                        None => Error::new(ErrorKind::Connection, Stage::Mail, "not sent"),
                    })
                })
            })
            .collect()
    }

    /// The pipelined batch; an `Err` means the connection failed and unsent messages get it.
    async fn pipeline(
        &mut self,
        messages: &[&Prepared],
        order: &[usize],
        commands: &[(String, String)],
        results: &mut [Option<Result<SendReport>>],
    ) -> Result<()> {
        let t = self.config.timeouts.command;
        let td = self.config.timeouts.data;
        let queue_envelope = |conn: &mut Self, j: usize| {
            let (mail, suffix) = &commands[j];
            conn.queue(mail);
            for r in &messages[order[j]].envelope.to {
                conn.queue(&format!("RCPT TO:<{r}>{suffix}"));
            }
            conn.queue("DATA");
        };
        let Some(_) = order.first() else { return Ok(()) };
        queue_envelope(self, 0);
        self.flush(Stage::Mail, t).await?;
        for j in 0..order.len() {
            let i = order[j];
            let message = &messages[i];
            let env = &message.envelope;
            let mail_reply = self.read_reply(Stage::Mail, t).await?;
            if mail_reply.code == 421 {
                results[i] = Some(Err(Error::from_reply(
                    ErrorKind::SenderRefused,
                    Stage::Mail,
                    mail_reply,
                )));
                return Err(Error::new(
                    ErrorKind::Connection,
                    Stage::Mail,
                    "the server closed the connection (421)",
                ));
            }
            let mut accepted = Vec::new();
            let mut rejected = Vec::new();
            for r in &env.to {
                let reply = self.read_reply(Stage::Rcpt, t).await?;
                if reply.code == 421 {
                    results[i] = Some(Err(Error::from_reply(ErrorKind::Connection, Stage::Rcpt, reply)));
                    return Err(Error::new(
                        ErrorKind::Connection,
                        Stage::Rcpt,
                        "the server closed the connection (421)",
                    ));
                }
                if reply.is_positive() {
                    accepted.push(r.clone());
                } else {
                    rejected.push(RejectedRecipient::from_reply(r, &reply));
                }
            }
            let data_reply = self.read_reply(Stage::Data, t).await?;
            if data_reply.code == 421 {
                results[i] = Some(Err(Error::from_reply(ErrorKind::DataRefused, Stage::Data, data_reply)));
                return Err(Error::new(
                    ErrorKind::Connection,
                    Stage::Data,
                    "the server closed the connection (421)",
                ));
            }
            let started = data_reply.code == 354;
            let content = started && mail_reply.is_positive() && !accepted.is_empty();
            // A transaction left open (MAIL accepted, DATA refused) is reset before the next.
            let reset = !started && mail_reply.is_positive();
            if content {
                if let Some(hook) = &self.config.transcript {
                    hook(Direction::Data, &message.content.summary());
                }
                if let Err(e) = self.queue_content(&message.content, td).await {
                    if e.kind() != ErrorKind::InvalidInput {
                        results[i] = Some(Err(e.clone().with_rejected(rejected)));
                        return Err(e);
                    }
                    // An attachment became unreadable: the connection was dropped mid-DATA.
                    results[i] = Some(Err(e.with_rejected(rejected)));
                    return Err(Error::new(
                        ErrorKind::Connection,
                        Stage::Message,
                        "the connection was closed: another message's attachment could not be read",
                    ));
                }
            } else if started {
                self.queue(".");
            }
            if reset {
                self.queue("RSET");
            }
            let more = j + 1 < order.len();
            if more {
                queue_envelope(self, j + 1);
            }
            if started || reset || more {
                if let Err(e) = self.flush(if started { Stage::Message } else { Stage::Mail }, td).await {
                    if content {
                        // Part of the content (perhaps the dot) may be out: reported, not resent.
                        results[i] = Some(Err(e.clone().with_rejected(rejected)));
                    }
                    return Err(e);
                }
            }
            let outcome = if started {
                // After the final dot the message's fate is unknown: reported, never resent.
                let dot = match self.read_reply(Stage::Message, td).await {
                    Ok(dot) => dot,
                    Err(e) => {
                        results[i] = Some(Err(e.clone().with_rejected(rejected)));
                        return Err(e);
                    }
                };
                let closing = dot.code == 421;
                let r = if content && dot.is_positive() {
                    self.messages_sent += 1;
                    Ok(SendReport {
                        message_id: message.message_id.clone(),
                        envelope: env.clone(),
                        accepted,
                        rejected,
                        response: dot,
                    })
                } else if content {
                    Err(Error::from_reply(ErrorKind::DataRefused, Stage::Message, dot).with_rejected(rejected))
                } else {
                    Err(refused(mail_reply, rejected))
                };
                if closing {
                    results[i] = Some(r);
                    return Err(Error::new(
                        ErrorKind::Connection,
                        Stage::Message,
                        "the server closed the connection (421)",
                    ));
                }
                r
            } else if !mail_reply.is_positive() {
                Err(Error::from_reply(ErrorKind::SenderRefused, Stage::Mail, mail_reply))
            } else if accepted.is_empty() {
                Err(refused(mail_reply, rejected))
            } else {
                Err(Error::from_reply(ErrorKind::DataRefused, Stage::Data, data_reply).with_rejected(rejected))
            };
            results[i] = Some(outcome);
            if reset {
                self.read_reply(Stage::Command, t).await?;
            }
        }
        Ok(())
    }

    /// The MAIL line and the RCPT parameter suffix for a message; refuses what the server
    /// cannot take (over SIZE, SMTPUTF8 not offered) before anything is sent.
    fn envelope_commands(&self, message: &Prepared) -> Result<(String, String)> {
        let env = &message.envelope;
        let ext = self.extensions();
        message.content.check_files()?;
        if let Some(max) = ext.max_size() {
            if message.content.len() > max {
                return Err(Error::new(
                    ErrorKind::MessageTooLarge,
                    Stage::Mail,
                    format!(
                        "message is {} bytes; the server accepts at most {max}",
                        message.content.len()
                    ),
                ));
            }
        }
        let utf8 = env.from.as_deref().is_some_and(address::needs_smtputf8)
            || env.to.iter().any(|a| address::needs_smtputf8(a));
        if utf8 && !ext.smtputf8() {
            return Err(Error::new(
                ErrorKind::NotSupported,
                Stage::Mail,
                "an address needs SMTPUTF8, which the server does not offer",
            ));
        }
        let mut mail = format!("MAIL FROM:<{}>", env.from.as_deref().unwrap_or(""));
        let keyword = |p: &str| p.split('=').next().unwrap_or("").to_ascii_uppercase();
        let dsn = env.dsn.as_ref().filter(|_| ext.dsn());
        let mail_params: Vec<&String> = env
            .mail_params
            .iter()
            .chain(dsn.iter().flat_map(|d| &d.mail_params))
            .collect();
        let given: Vec<String> = mail_params.iter().map(|p| keyword(p)).collect();
        let mut auto = Vec::new();
        if ext.has("SIZE") {
            auto.push(format!("SIZE={}", message.content.len()));
        }
        if ext.eight_bit_mime() && !message.content.is_ascii() {
            auto.push("BODY=8BITMIME".to_string());
        }
        if utf8 {
            auto.push("SMTPUTF8".to_string());
        }
        // The caller's parameters win over the ones added here.
        for p in auto.iter().filter(|p| !given.contains(&keyword(p))).chain(mail_params) {
            mail.push(' ');
            mail.push_str(p);
        }
        let rcpt_suffix: String = env
            .rcpt_params
            .iter()
            .chain(dsn.iter().flat_map(|d| &d.rcpt_params))
            .map(|p| format!(" {p}"))
            .collect();
        Ok((mail, rcpt_suffix))
    }

    async fn transaction(&mut self, message: &Prepared) -> Result<SendReport> {
        if !self.is_usable() {
            return Err(Error::new(ErrorKind::Connection, Stage::Mail, "connection is closed").unsent());
        }
        if !self.has_said_hello() {
            self.hello().await?;
        }
        let env = &message.envelope;
        let ext = self.extensions().clone();
        let (mail, rcpt_suffix) = self.envelope_commands(message)?;
        let t = self.config.timeouts.command;

        if ext.pipelining() {
            // One message is a batch of one: the pipelined path lives in `pipeline`.
            let mut result = [None];
            let aborted = self
                .pipeline(&[message], &[0], &[(mail, rcpt_suffix)], &mut result)
                .await;
            let [result] = result;
            return match (result, aborted) {
                (Some(r), _) => r,
                (None, Err(e)) => Err(e),
                (None, Ok(())) => Err(Error::new(ErrorKind::Protocol, Stage::Mail, "no outcome")),
            };
        }
        self.queue(&mail);
        self.flush(Stage::Mail, t).await?;
        let mail_reply = self.read_reply(Stage::Mail, t).await?;
        if !mail_reply.is_positive() {
            return Err(Error::from_reply(ErrorKind::SenderRefused, Stage::Mail, mail_reply));
        }
        let mut accepted = Vec::with_capacity(env.to.len());
        let mut rejected = Vec::new();
        for r in &env.to {
            self.queue(&format!("RCPT TO:<{r}>{rcpt_suffix}"));
            self.flush(Stage::Rcpt, t).await?;
            let reply = self.read_reply(Stage::Rcpt, t).await?;
            if reply.code == 421 {
                return Err(Error::from_reply(ErrorKind::Connection, Stage::Rcpt, reply).with_rejected(rejected));
            }
            if reply.is_positive() {
                accepted.push(r.clone());
            } else {
                rejected.push(RejectedRecipient::from_reply(r, &reply));
            }
        }
        if accepted.is_empty() {
            return Err(refused(mail_reply, rejected));
        }
        self.queue("DATA");
        self.flush(Stage::Data, t).await?;
        let data_reply = self.read_reply(Stage::Data, t).await?;
        if data_reply.code != 354 {
            return Err(Error::from_reply(ErrorKind::DataRefused, Stage::Data, data_reply).with_rejected(rejected));
        }

        if let Some(hook) = &self.config.transcript {
            hook(Direction::Data, &message.content.summary());
        }
        let td = self.config.timeouts.data;
        self.queue_content(&message.content, td).await?;
        let response = self.finish_data(td).await?;
        if !response.is_positive() {
            return Err(Error::from_reply(ErrorKind::DataRefused, Stage::Message, response).with_rejected(rejected));
        }
        Ok(SendReport {
            message_id: message.message_id.clone(),
            envelope: env.clone(),
            accepted,
            rejected,
            response,
        })
    }

    /// Sends message content after the caller's own `DATA` got 354 (smtplib's `data`): the
    /// same normalisation and dot-stuffing as [`Connection::send`], then the final reply.
    pub async fn data_content(&mut self, bytes: &[u8]) -> Result<Reply> {
        if let Some(hook) = &self.config.transcript {
            hook(Direction::Data, &String::from_utf8_lossy(bytes));
        }
        let td = self.config.timeouts.data;
        let mut encoder = DataEncoder::default();
        self.queue_bytes(&mut encoder, bytes, td).await?;
        encoder.finish(&mut self.wbuf);
        self.finish_data(td).await
    }

    /// Flushes the content's end and reads the reply to it.
    async fn finish_data(&mut self, td: Duration) -> Result<Reply> {
        self.flush(Stage::Message, td).await?;
        let reply = self.read_reply(Stage::Message, td).await?;
        if reply.is_positive() {
            self.messages_sent += 1;
        }
        Ok(reply)
    }

    /// Encodes the content and the final dot into the write buffer. Large messages go out in
    /// chunks, so the wire copy never holds the whole message (and files are read a block at
    /// a time); the last chunk and the dot stay queued for the caller's next flush.
    async fn queue_content(&mut self, content: &Payload, limit: Duration) -> Result<()> {
        let mut encoder = DataEncoder::default();
        let mut chunks = content.chunks();
        while let Some(chunk) = chunks.next_chunk() {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    // A file could not be read and part of the content may be out: only closing
                    // the connection without the final dot keeps the server from delivering it.
                    self.abandon();
                    return Err(e.at_stage(Stage::Message));
                }
            };
            self.queue_bytes(&mut encoder, chunk, limit).await?;
        }
        encoder.finish(&mut self.wbuf);
        Ok(())
    }

    async fn queue_bytes(&mut self, encoder: &mut DataEncoder, bytes: &[u8], limit: Duration) -> Result<()> {
        let mut rest = bytes;
        while !rest.is_empty() {
            let cut = if rest.len() > DATA_CHUNK {
                chunk_boundary(rest, DATA_CHUNK)
            } else {
                rest.len()
            };
            encoder.push(&rest[..cut], &mut self.wbuf);
            rest = &rest[cut..];
            if self.wbuf.len() >= DATA_CHUNK {
                self.flush(Stage::Message, limit).await?;
            }
        }
        Ok(())
    }

    /// Drops the connection without ending the transaction.
    fn abandon(&mut self) {
        self.broken = true;
        self.io = None;
        self.wbuf.clear();
    }

    fn info(&self, text: &str) {
        if let Some(hook) = &self.config.transcript {
            hook(Direction::Info, text);
        }
    }

    /// Appends a command line to the write buffer and the transcript.
    fn queue(&mut self, line: &str) {
        if let Some(hook) = &self.config.transcript {
            hook(Direction::Client, line);
        }
        self.wbuf.extend_from_slice(line.as_bytes());
        self.wbuf.extend_from_slice(b"\r\n");
    }

    async fn exchange(&mut self, line: &str, stage: Stage) -> Result<Reply> {
        self.queue(line);
        let t = self.config.timeouts.command;
        self.flush(stage, t).await?;
        self.read_reply(stage, t).await
    }

    /// Like `exchange`, but the transcript shows `shown` followed by the mask.
    async fn exchange_secret(&mut self, line: &str, shown: &str) -> Result<Reply> {
        if let Some(hook) = &self.config.transcript {
            hook(Direction::Client, &format!("{shown}{MASK}"));
        }
        self.wbuf.extend_from_slice(line.as_bytes());
        self.wbuf.extend_from_slice(b"\r\n");
        let t = self.config.timeouts.command;
        self.flush(Stage::Auth, t).await?;
        self.read_reply(Stage::Auth, t).await
    }

    async fn flush(&mut self, stage: Stage, limit: Duration) -> Result<()> {
        if self.broken || self.io.is_none() {
            self.wbuf.clear();
            return Err(Error::new(ErrorKind::Connection, stage, "connection is closed"));
        }
        // Content is written while the server may already refuse it; elsewhere every reply
        // was read before the next command, so bytes waiting now answer nothing we sent.
        if stage != Stage::Message {
            if let Err(e) = self.check_unsolicited(stage).await {
                self.wbuf.clear();
                return Err(e);
            }
        }
        let Some(io) = self.io.as_mut() else {
            return Err(Error::new(ErrorKind::Connection, stage, "connection is closed"));
        };
        let buf = &self.wbuf;
        let write = async {
            io.write_all(buf).await?;
            io.flush().await
        };
        let result = tokio::time::timeout(limit, write).await;
        self.wbuf.clear();
        match result {
            Err(_) => {
                self.broken = true;
                Err(timeout_error(stage, limit))
            }
            Ok(Err(e)) => {
                self.broken = true;
                Err(io_error(stage, e))
            }
            Ok(Ok(())) => Ok(()),
        }
    }

    /// Fails when the server sent something before the command it would answer: a server
    /// that replies ahead (or twice) would otherwise have every reply matched to the wrong
    /// command. A 421 sent on its own (an idle timeout) is the connection closing.
    async fn check_unsolicited(&mut self, stage: Stage) -> Result<()> {
        if self.rpos == self.rbuf.len() {
            if let Some(io) = self.io.as_mut() {
                let mut tmp = [0u8; 1024];
                let got = std::future::poll_fn(|cx| {
                    let mut rb = ReadBuf::new(&mut tmp);
                    Poll::Ready(match Pin::new(&mut *io).poll_read(cx, &mut rb) {
                        Poll::Ready(Ok(())) => rb.filled().len(),
                        _ => 0,
                    })
                })
                .await;
                self.rbuf.extend_from_slice(&tmp[..got]);
            }
        }
        if self.rpos == self.rbuf.len() {
            return Ok(());
        }
        let pending = self.rbuf[self.rpos..].to_vec();
        self.rbuf.clear();
        self.rpos = 0;
        self.abandon();
        if let Parsed::Complete(reply, _) = reply::parse(&pending) {
            if reply.code == 421 {
                return Err(Error::from_reply(ErrorKind::Connection, stage, reply));
            }
        }
        Err(Error::new(
            ErrorKind::Protocol,
            stage,
            format!(
                "the server sent a reply before {} was sent: {:?}",
                stage.command(),
                String::from_utf8_lossy(&pending[..pending.len().min(120)])
            ),
        ))
    }

    async fn read_reply(&mut self, stage: Stage, limit: Duration) -> Result<Reply> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match reply::parse(&self.rbuf[self.rpos..]) {
                Parsed::Complete(reply, used) => {
                    self.rpos += used;
                    if reply.code == 421 {
                        // 421: the server is closing the connection; so do we.
                        self.broken = true;
                        self.io = None;
                    }
                    if self.rpos == self.rbuf.len() {
                        self.rbuf.clear();
                        self.rpos = 0;
                    }
                    if let Some(hook) = &self.config.transcript {
                        for line in reply.to_string().split("\r\n") {
                            hook(Direction::Server, line);
                        }
                    }
                    return Ok(reply);
                }
                Parsed::Invalid(line) => {
                    self.broken = true;
                    return Err(Error::new(
                        ErrorKind::Protocol,
                        stage,
                        format!("invalid reply from server: {line:?}"),
                    ));
                }
                Parsed::Incomplete => {}
            }
            if self.rpos > 0 {
                self.rbuf.drain(..self.rpos);
                self.rpos = 0;
            }
            let Some(io) = self.io.as_mut() else {
                return Err(Error::new(ErrorKind::Connection, stage, "connection is closed"));
            };
            self.rbuf.reserve(4096);
            match tokio::time::timeout_at(deadline, io.read_buf(&mut self.rbuf)).await {
                Err(_) => {
                    self.broken = true;
                    return Err(timeout_error(stage, limit));
                }
                Ok(Err(e)) => {
                    self.broken = true;
                    return Err(io_error(stage, e));
                }
                Ok(Ok(0)) => {
                    self.broken = true;
                    return Err(io_error(stage, io::ErrorKind::UnexpectedEof.into()));
                }
                Ok(Ok(_)) => {}
            }
        }
    }
}

const DATA_CHUNK: usize = 256 * 1024;

/// A cut near `max` that never splits a CRLF pair: just after a LF when there is one.
fn chunk_boundary(bytes: &[u8], max: usize) -> usize {
    match bytes[..max].iter().rposition(|&b| b == b'\n') {
        Some(i) => i + 1,
        None if bytes[max - 1] == b'\r' => max - 1,
        None => max,
    }
}

/// DATA content encoding, fed in chunks: every bare CR or LF becomes CRLF, lines starting
/// with "." are dot-stuffed, and `finish` ends with CRLF.CRLF. No `<LF>.<CR><LF>` can end
/// DATA early (SMTP smuggling).
#[derive(Default)]
pub struct DataEncoder {
    mid_line: bool,
    /// The last chunk ended with CR: a LF starting the next one belongs to that line end.
    after_cr: bool,
}

impl DataEncoder {
    /// Encodes one chunk; chunks may be cut anywhere, even between the CR and LF of a pair.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        out.reserve(bytes.len() + bytes.len() / 64 + 5);
        let mut i = 0;
        if self.after_cr && !bytes.is_empty() {
            self.after_cr = false;
            if bytes[0] == b'\n' {
                i = 1;
            }
        }
        while i < bytes.len() {
            if !self.mid_line && bytes[i] == b'.' {
                out.push(b'.');
            }
            let rest = &bytes[i..];
            match rest.iter().position(|&b| b == b'\r' || b == b'\n') {
                None => {
                    out.extend_from_slice(rest);
                    i = bytes.len();
                    self.mid_line = true;
                }
                Some(p) => {
                    out.extend_from_slice(&rest[..p]);
                    out.extend_from_slice(b"\r\n");
                    let crlf = rest[p] == b'\r' && rest.get(p + 1) == Some(&b'\n');
                    self.after_cr = rest[p] == b'\r' && p + 1 == rest.len();
                    i += p + if crlf { 2 } else { 1 };
                    self.mid_line = false;
                }
            }
        }
    }

    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.mid_line {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
        self.mid_line = false;
        self.after_cr = false;
    }
}

/// The whole DATA content at once (see [`DataEncoder`]).
pub fn encode_data(bytes: &[u8], out: &mut Vec<u8>) {
    let mut encoder = DataEncoder::default();
    encoder.push(bytes, out);
    encoder.finish(out);
}

#[cfg(test)]
mod tests {
    use super::encode_data;

    fn enc(input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_data(input, &mut out);
        out
    }

    #[test]
    fn normalises_and_dot_stuffs() {
        assert_eq!(enc(b"a\r\n.b\r\n"), b"a\r\n..b\r\n.\r\n");
        assert_eq!(enc(b".x"), b"..x\r\n.\r\n");
        assert_eq!(enc(b""), b".\r\n");
        // SMTP smuggling: bare LF/CR around a dot must not terminate DATA.
        assert_eq!(enc(b"a\n.\r\nMAIL FROM:<x>\r\n"), b"a\r\n..\r\nMAIL FROM:<x>\r\n.\r\n");
        assert_eq!(enc(b"a\r.\rb"), b"a\r\n..\r\nb\r\n.\r\n");
    }

    #[test]
    fn chunked_encoding_matches_whole() {
        let input: Vec<u8> = (0..20_000u32).map(|i| b"ab.\r\n\n\r."[i as usize % 8]).collect();
        let whole = enc(&input);
        for max in [2usize, 3, 7, 64, 1000] {
            let mut out = Vec::new();
            let mut e = super::DataEncoder::default();
            let mut rest = &input[..];
            while rest.len() > max {
                let cut = super::chunk_boundary(rest, max);
                e.push(&rest[..cut], &mut out);
                rest = &rest[cut..];
            }
            e.push(rest, &mut out);
            e.finish(&mut out);
            assert_eq!(out, whole, "chunk size {max}");
        }
    }

    /// Found by `make fuzz` (dot_stuffing): empty content, and chunks cut inside a CRLF.
    #[test]
    fn empty_content_and_any_chunk_cut() {
        assert_eq!(enc(b""), b".\r\n");
        let input = b"a\r\n.b\r\r\n\r\nc\r";
        let whole = enc(input);
        for cut in 1..input.len() {
            let mut out = Vec::new();
            let mut e = super::DataEncoder::default();
            for part in input.chunks(cut) {
                e.push(part, &mut out);
            }
            e.finish(&mut out);
            assert_eq!(out, whole, "chunks of {cut}");
        }
    }
}
