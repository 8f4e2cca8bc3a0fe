//! The content of a transaction: line ends normalised, dot-stuffed (DATA) or sized (BDAT),
//! written in chunks so the wire copy never holds the whole message, then the final reply.

use std::time::Duration;

use super::codec::{chunk_boundary, DataEncoder, DATA_CHUNK};
use super::Connection;
use crate::error::{Result, Stage};
use crate::payload::Payload;
use crate::reply::Reply;
use crate::transcript::Direction;

impl Connection {
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
    pub(super) async fn finish_data(&mut self, td: Duration) -> Result<Reply> {
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
    pub(super) async fn queue_content(&mut self, content: &Payload, limit: Duration) -> Result<()> {
        self.queue_encoded(content, limit, DataEncoder::default()).await
    }

    /// [`Connection::queue_content`] with the given encoder (DATA's, or BDAT's).
    pub(super) async fn queue_encoded(
        &mut self,
        content: &Payload,
        limit: Duration,
        mut encoder: DataEncoder,
    ) -> Result<()> {
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

    pub(super) async fn queue_bytes(&mut self, encoder: &mut DataEncoder, bytes: &[u8], limit: Duration) -> Result<()> {
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
}
