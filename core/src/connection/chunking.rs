//! BDAT (RFC 3030) with PIPELINING: MAIL, every RCPT, `BDAT <size> LAST` and the content go out
//! in one write and their replies come back together — one round trip per message where DATA
//! needs two (the 354 comes first), and the content is sent as it is (no dot-stuffing).

use super::codec::DataEncoder;
use super::{refused, Connection, SendReport};
use crate::error::{Error, ErrorKind, RejectedRecipient, Result, Stage};
use crate::message::Prepared;
use crate::payload::Payload;
use crate::transcript::Direction;

/// The size `BDAT` announces: the content with its line ends normalised, as it will be sent.
fn chunked_len(content: &Payload) -> Result<usize> {
    let mut encoder = DataEncoder::chunked();
    let (mut scratch, mut len) = (Vec::new(), 0);
    let mut chunks = content.chunks();
    while let Some(chunk) = chunks.next_chunk() {
        encoder.push(chunk?, &mut scratch);
        len += scratch.len();
        scratch.clear();
    }
    encoder.finish(&mut scratch);
    Ok(len + scratch.len())
}

impl Connection {
    /// The transaction engine when the server offers CHUNKING and PIPELINING. The same outcomes
    /// as the DATA engine: per-recipient refusals, 421 closing the connection, a refused
    /// transaction reset. Once a message's content is out its fate is reported, never resent.
    pub(super) async fn chunked_transactions(
        &mut self,
        messages: &[&Prepared],
        order: &[usize],
        commands: &[(String, String)],
        results: &mut [Option<Result<SendReport>>],
    ) -> Result<()> {
        let (t, td) = (self.config.timeouts.command, self.config.timeouts.data);
        let closed = |stage| Error::new(ErrorKind::Connection, stage, "the server closed the connection (421)");
        for (j, &i) in order.iter().enumerate() {
            let message = messages[i];
            let env = &message.envelope;
            let (mail, suffix) = &commands[j];
            let size = match chunked_len(&message.content) {
                Ok(n) => n,
                Err(e) => {
                    results[i] = Some(Err(e.at_stage(Stage::Message)));
                    continue;
                }
            };
            self.queue(mail);
            for r in &env.to {
                self.queue(&format!("RCPT TO:<{r}>{suffix}"));
            }
            self.queue(&format!("BDAT {size} LAST"));
            if let Some(hook) = &self.config.transcript {
                hook(Direction::Data, &message.content.summary());
            }
            // From here on part of the content may be out: every failure is this message's.
            let sent = async {
                self.queue_encoded(&message.content, td, DataEncoder::chunked()).await?;
                self.flush(Stage::Message, td).await?;
                let mail_reply = self.read_reply(Stage::Mail, t).await?;
                let mut replies = Vec::with_capacity(env.to.len());
                for _ in &env.to {
                    replies.push(self.read_reply(Stage::Rcpt, t).await?);
                }
                let last = self.read_reply(Stage::Message, td).await?;
                Ok::<_, Error>((mail_reply, replies, last))
            };
            let (mail_reply, replies, last) = match sent.await {
                Ok(r) => r,
                Err(e) => {
                    if e.kind() == ErrorKind::InvalidInput {
                        // An attachment became unreadable mid-content: the connection is dropped.
                        results[i] = Some(Err(e));
                        return Err(Error::new(
                            ErrorKind::Connection,
                            Stage::Message,
                            "the connection was closed: an attachment could not be read",
                        ));
                    }
                    results[i] = Some(Err(e.clone()));
                    return Err(e);
                }
            };
            if mail_reply.code == 421 {
                results[i] = Some(Err(Error::from_reply(
                    ErrorKind::SenderRefused,
                    Stage::Mail,
                    mail_reply,
                )));
                return Err(closed(Stage::Mail));
            }
            let (mut accepted, mut rejected) = (Vec::new(), Vec::new());
            for (r, reply) in env.to.iter().zip(replies) {
                if reply.code == 421 {
                    results[i] = Some(Err(Error::from_reply(ErrorKind::Connection, Stage::Rcpt, reply)));
                    return Err(closed(Stage::Rcpt));
                }
                if reply.is_positive() {
                    accepted.push(r.clone());
                } else {
                    rejected.push(RejectedRecipient::from_reply(r, &reply));
                }
            }
            let (ok, closing) = (last.is_positive(), last.code == 421);
            let outcome = if !mail_reply.is_positive() {
                Err(Error::from_reply(
                    ErrorKind::SenderRefused,
                    Stage::Mail,
                    mail_reply.clone(),
                ))
            } else if accepted.is_empty() {
                Err(refused(mail_reply.clone(), rejected))
            } else {
                self.finished(message, accepted, rejected, last)
            };
            results[i] = Some(outcome);
            if closing {
                return Err(closed(Stage::Message));
            }
            if !ok && mail_reply.is_positive() {
                self.queue("RSET");
                self.flush(Stage::Command, t).await?;
                self.read_reply(Stage::Command, t).await?;
            }
        }
        Ok(())
    }
}
