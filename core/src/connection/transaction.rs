//! Mail transactions: MAIL, RCPT, DATA and the content, pipelined when the server offers it,
//! with per-recipient outcomes; several messages per round trip in a batch.

use std::time::{Duration, Instant};

use super::{not_sent, refused, Connection, SendReport};
use crate::address;
use crate::error::{Error, ErrorKind, RejectedRecipient, Result, Stage};
use crate::message::Prepared;
use crate::reply::Reply;
use crate::transcript::Direction;

impl Connection {
    /// Sends one message: MAIL, RCPT per recipient, DATA, the content. Some recipients refused
    /// is a success that lists them; all refused is `RecipientsRefused`. A refused transaction
    /// is reset so the connection stays usable.
    pub async fn send(&mut self, message: &Prepared) -> Result<SendReport> {
        if !self.is_usable() {
            return Err(Error::new(ErrorKind::Connection, Stage::Mail, "connection is closed").unsent());
        }
        if !self.has_said_hello() {
            self.hello().await?;
        }
        let mut results = self.batch(&[message]).await;
        results.pop().expect("one result per message")
    }

    /// Sends several messages over this connection. With PIPELINING, each message's content
    /// and final dot go out in one write with the next message's MAIL, RCPT and DATA (RFC 2920
    /// allows content first in a group and DATA last), so a message costs one round trip.
    /// One result per message, in order.
    pub async fn send_batch(&mut self, messages: &[&Prepared]) -> Vec<Result<SendReport>> {
        self.transactions += messages.len();
        if self.is_usable() && !self.has_said_hello() {
            if let Err(e) = self.hello().await {
                return messages.iter().map(|_| Err(not_sent(&e))).collect();
            }
        }
        self.batch(messages).await
    }

    async fn batch(&mut self, messages: &[&Prepared]) -> Vec<Result<SendReport>> {
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
        let pipelined = self.extensions().pipelining();
        let chunked = pipelined && self.extensions().chunking() && self.config.use_bdat && !self.config.lmtp;
        let outcome = if chunked {
            self.chunked_transactions(messages, &order, &commands, &mut results)
                .await
        } else {
            self.transactions(messages, &order, &commands, &mut results, pipelined)
                .await
        };
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

    /// The one transaction engine. `pipelined`: MAIL, every RCPT and DATA in one write, and the
    /// next message's envelope in the write with this one's content. Otherwise the same steps
    /// with a flush and a reply after each command (no RCPT after a refused MAIL, no DATA
    /// without an accepted recipient). 421, RSET and partial refusal are handled here once. An
    /// `Err` means the connection failed; messages without a result were not sent.
    async fn transactions(
        &mut self,
        messages: &[&Prepared],
        order: &[usize],
        commands: &[(String, String)],
        results: &mut [Option<Result<SendReport>>],
        pipelined: bool,
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
        if pipelined {
            queue_envelope(self, 0);
            self.flush(Stage::Mail, t).await?;
        }
        for j in 0..order.len() {
            let i = order[j];
            let message = &messages[i];
            let env = &message.envelope;
            let (mail, suffix) = &commands[j];
            if !pipelined {
                self.queue(mail);
                self.flush(Stage::Mail, t).await?;
            }
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
                if !pipelined {
                    if !mail_reply.is_positive() {
                        break;
                    }
                    self.queue(&format!("RCPT TO:<{r}>{suffix}"));
                    self.flush(Stage::Rcpt, t).await?;
                }
                let reply = self.read_reply(Stage::Rcpt, t).await?;
                if reply.code == 421 {
                    // The refusals so far and this recipient's 421 (smtplib reports them all).
                    rejected.push(RejectedRecipient::from_reply(r, &reply));
                    let e = Error::from_reply(ErrorKind::Connection, Stage::Rcpt, reply).with_rejected(rejected);
                    results[i] = Some(Err(e));
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
            let data_reply = if pipelined || (mail_reply.is_positive() && !accepted.is_empty()) {
                if !pipelined {
                    self.queue("DATA");
                    self.flush(Stage::Data, t).await?;
                }
                let reply = self.read_reply(Stage::Data, t).await?;
                if reply.code == 421 {
                    results[i] = Some(Err(Error::from_reply(ErrorKind::DataRefused, Stage::Data, reply)));
                    return Err(Error::new(
                        ErrorKind::Connection,
                        Stage::Data,
                        "the server closed the connection (421)",
                    ));
                }
                Some(reply)
            } else {
                None
            };
            let started = data_reply.as_ref().is_some_and(|r| r.code == 354);
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
            let more = pipelined && j + 1 < order.len();
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
                let end = if self.config.lmtp && content {
                    self.lmtp_replies(&mut accepted, &mut rejected, td).await
                } else {
                    self.read_reply(Stage::Message, td).await
                };
                let dot = match end {
                    Ok(dot) => dot,
                    Err(e) => {
                        results[i] = Some(Err(e.clone().with_rejected(rejected)));
                        return Err(e);
                    }
                };
                let closing = dot.code == 421;
                let r = if content {
                    self.finished(message, accepted, rejected, dot)
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
                let reply = data_reply.expect("DATA was sent: MAIL and a recipient accepted");
                Err(Error::from_reply(ErrorKind::DataRefused, Stage::Data, reply).with_rejected(rejected))
            };
            results[i] = Some(outcome);
            if reset {
                self.read_reply(Stage::Command, t).await?;
            }
        }
        Ok(())
    }

    /// LMTP: one reply per accepted recipient after the content. Refused ones move to
    /// `rejected`; the reply returned is the last positive one (the last reply if none was).
    async fn lmtp_replies(
        &mut self,
        accepted: &mut Vec<String>,
        rejected: &mut Vec<RejectedRecipient>,
        td: Duration,
    ) -> Result<Reply> {
        let mut delivered = Vec::with_capacity(accepted.len());
        let mut last_ok = None;
        let mut last = None;
        for r in accepted.drain(..) {
            let reply = self.read_reply(Stage::Message, td).await?;
            if reply.is_positive() {
                delivered.push(r);
                last_ok = Some(reply.clone());
            } else {
                rejected.push(RejectedRecipient::from_reply(&r, &reply));
            }
            last = Some(reply);
        }
        *accepted = delivered;
        Ok(last_ok
            .or(last)
            .expect("content is sent only with an accepted recipient"))
    }

    /// The outcome once the server answered the end of a message's content (the final dot, or
    /// `BDAT … LAST`): delivered to the accepted recipients, or refused as a whole.
    pub(super) fn finished(
        &mut self,
        message: &Prepared,
        accepted: Vec<String>,
        rejected: Vec<RejectedRecipient>,
        reply: Reply,
    ) -> Result<SendReport> {
        if !reply.is_positive() {
            return Err(Error::from_reply(ErrorKind::DataRefused, Stage::Message, reply).with_rejected(rejected));
        }
        self.messages_sent += 1;
        Ok(SendReport {
            message_id: message.message_id.clone(),
            envelope: message.envelope.clone(),
            accepted,
            rejected,
            response: reply,
        })
    }

    /// The MAIL line and the RCPT parameter suffix for a message; refuses what the server
    /// cannot take (over SIZE, SMTPUTF8 not offered) before anything is sent.
    pub(super) fn envelope_commands(&self, message: &Prepared) -> Result<(String, String)> {
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
        if given.iter().any(|k| k == "SMTPUTF8") && !ext.smtputf8() {
            return Err(Error::new(
                ErrorKind::NotSupported,
                Stage::Mail,
                "SMTPUTF8 was asked for, but the server does not offer it",
            ));
        }
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
}
