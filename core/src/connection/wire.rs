//! Bytes on the wire: the write buffer, flushing within a timeout, reading replies, and
//! refusing replies that answer nothing sent.

use std::io;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};

use super::{io_error, timeout_error, Connection};
use crate::error::{Error, ErrorKind, Hint, Result, Stage};
use crate::reply::{self, Parsed, Reply};
use crate::transcript::{Direction, MASK};

impl Connection {
    /// Drops the connection without ending the transaction.
    pub(super) fn abandon(&mut self) {
        self.broken = true;
        self.io = None;
        self.wbuf.clear();
    }

    pub(super) fn info(&self, text: &str) {
        if let Some(hook) = &self.config.transcript {
            hook(Direction::Info, text);
        }
    }

    /// Appends a command line to the write buffer and the transcript.
    pub(super) fn queue(&mut self, line: &str) {
        if let Some(hook) = &self.config.transcript {
            hook(Direction::Client, line);
        }
        self.wbuf.extend_from_slice(line.as_bytes());
        self.wbuf.extend_from_slice(b"\r\n");
    }

    pub(super) async fn exchange(&mut self, line: &str, stage: Stage) -> Result<Reply> {
        self.queue(line);
        let t = self.config.timeouts.command;
        self.flush(stage, t).await?;
        self.read_reply(stage, t).await
    }

    /// Like `exchange`, but the transcript shows `shown` followed by the mask.
    pub(super) async fn exchange_secret(&mut self, line: &str, shown: &str) -> Result<Reply> {
        if let Some(hook) = &self.config.transcript {
            hook(Direction::Client, &format!("{shown}{MASK}"));
        }
        self.wbuf.extend_from_slice(line.as_bytes());
        self.wbuf.extend_from_slice(b"\r\n");
        let t = self.config.timeouts.command;
        self.flush(Stage::Auth, t).await?;
        self.read_reply(Stage::Auth, t).await
    }

    pub(super) async fn flush(&mut self, stage: Stage, limit: Duration) -> Result<()> {
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
        self.write_out(stage, limit).await
    }

    /// Writes the buffer without first checking for unsolicited replies.
    pub(super) async fn write_out(&mut self, stage: Stage, limit: Duration) -> Result<()> {
        let Some(io) = self.io.as_mut() else {
            self.wbuf.clear();
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
    pub(super) async fn check_unsolicited(&mut self, stage: Stage) -> Result<()> {
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

    pub(super) async fn read_reply(&mut self, stage: Stage, limit: Duration) -> Result<Reply> {
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
                Parsed::TooLong => {
                    self.broken = true;
                    return Err(Error::new(
                        ErrorKind::Protocol,
                        stage,
                        "invalid reply from server: reply line too long",
                    )
                    .with_hint(Hint::ReplyLineTooLong));
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
