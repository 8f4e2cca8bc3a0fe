//! Session commands: EHLO/HELO, STARTTLS and the TLS handshake, raw commands, QUIT.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio_rustls::TlsConnector;

use super::stream::Stream;
use super::{timeout_error, Connection};
use crate::address;
use crate::config::TlsOptions;
use crate::error::{Error, ErrorKind, Result, Stage};
use crate::extensions::Extensions;
use crate::reply::Reply;
use crate::tls;
use crate::transcript::Direction;

impl Connection {
    /// EHLO (LHLO for LMTP), falling back to HELO when an SMTP server refuses EHLO.
    pub async fn hello(&mut self) -> Result<Reply> {
        let name = self.hello_name();
        let reply = self.ehlo(Some(&name)).await?;
        if reply.is_positive() {
            return Ok(reply);
        }
        if reply.code == 421 || self.config.lmtp {
            return Err(Error::from_reply(ErrorKind::Connection, Stage::Ehlo, reply));
        }
        let reply = self.helo(Some(&name)).await?;
        if !reply.is_positive() {
            return Err(Error::from_reply(ErrorKind::Protocol, Stage::Ehlo, reply));
        }
        Ok(reply)
    }

    /// Sends EHLO (LHLO for LMTP) and returns the reply, positive or not (smtplib's `ehlo`).
    pub async fn ehlo(&mut self, name: Option<&str>) -> Result<Reply> {
        let name = name.map(str::to_string).unwrap_or_else(|| self.hello_name());
        address::check_no_control("hello name", &name)?;
        let verb = if self.config.lmtp { "LHLO" } else { "EHLO" };
        let reply = self.exchange(&format!("{verb} {name}"), Stage::Ehlo).await?;
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

    pub(super) async fn handshake(&mut self, stage: Stage) -> Result<()> {
        let options = self.config.tls.clone();
        self.handshake_with(stage, &options).await
    }

    pub(super) async fn handshake_with(&mut self, stage: Stage, options: &TlsOptions) -> Result<()> {
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

    /// Sends one raw command line and returns the reply, positive or not (smtplib's `docmd`).
    pub async fn command(&mut self, line: &str) -> Result<Reply> {
        address::check_no_control("command", line)?;
        self.exchange(line, Stage::Command).await
    }

    /// Writes bytes as given, reading nothing (smtplib's `send`, used with `next_reply` to
    /// drive the protocol by hand). Replies to earlier writes may still be unread.
    pub async fn send_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        if self.broken || self.io.is_none() {
            return Err(Error::new(
                ErrorKind::Connection,
                Stage::Command,
                "connection is closed",
            ));
        }
        if let Some(hook) = &self.config.transcript {
            let text = String::from_utf8_lossy(bytes);
            for line in text.strip_suffix("\r\n").unwrap_or(&text).split("\r\n") {
                hook(Direction::Client, line);
            }
        }
        self.wbuf.extend_from_slice(bytes);
        let t = self.config.timeouts.command;
        self.write_out(Stage::Command, t).await
    }

    /// Reads the next reply, whatever it answers (smtplib's `getreply`).
    pub async fn next_reply(&mut self) -> Result<Reply> {
        let t = self.config.timeouts.command;
        self.read_reply(Stage::Command, t).await
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
}
