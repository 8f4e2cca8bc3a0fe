//! `Mailer`: the high-level sender. Reuses connections, bounds how many are open at once,
//! signs with DKIM, honours a rate limit, and retries once when a reused connection had gone
//! stale before the server accepted anything.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use crate::bounce::Verp;
use crate::config::{Security, TransportConfig};
use crate::connection::{Connection, SendReport};
use crate::error::{Error, ErrorKind, RejectedRecipient, Result, Stage};
use crate::message::{Envelope, Message, Prepared, RawMessage};
use crate::runtime;

/// One copy of the message per recipient, each with that recipient's VERP envelope sender.
fn verp_split(verp: &Verp, prepared: Prepared) -> Vec<Prepared> {
    let Prepared {
        content,
        envelope,
        message_id,
    } = prepared;
    envelope
        .to
        .iter()
        .map(|rcpt| Prepared {
            content: content.clone(),
            envelope: Envelope {
                from: Some(verp.address(rcpt, message_id.as_deref())),
                to: vec![rcpt.clone()],
                ..envelope.clone()
            },
            message_id: message_id.clone(),
        })
        .collect()
}

/// The transactions of one message as one report: every accepted recipient, and every refused
/// one with what refused it. All failed: the error (every refused recipient when that was why).
fn merge_reports(parts: Vec<(Vec<String>, Result<SendReport>)>) -> Result<SendReport> {
    let mut merged: Option<SendReport> = None;
    let mut rejected = Vec::new();
    let mut first_error: Option<Error> = None;
    let mut all_refused = true;
    let mut to = Vec::new();
    for (rcpts, result) in parts {
        to.extend(rcpts.iter().cloned());
        match result {
            Ok(r) => {
                rejected.extend(r.rejected.iter().cloned());
                match &mut merged {
                    None => merged = Some(r),
                    Some(m) => m.accepted.extend(r.accepted),
                }
            }
            Err(e) => {
                all_refused &= e.kind() == ErrorKind::RecipientsRefused;
                if e.rejected().is_empty() {
                    rejected.extend(rcpts.iter().map(|a| RejectedRecipient {
                        address: a.clone(),
                        code: e.code().unwrap_or(0),
                        enhanced: e.enhanced_status(),
                        text: e.message().to_string(),
                    }));
                } else {
                    rejected.extend(e.rejected().iter().cloned());
                }
                first_error.get_or_insert(e);
            }
        }
    }
    match (merged, first_error) {
        (Some(mut m), _) => {
            m.envelope.to = to;
            m.rejected = rejected;
            Ok(m)
        }
        (None, Some(e)) if all_refused => Err(e.with_rejected(rejected)),
        (None, Some(e)) => Err(e),
        (None, None) => Err(Error::invalid("no recipients")),
    }
}

struct Shared {
    config: Arc<TransportConfig>,
    /// What new connections use: `config`, or a copy with a renewed OAuth2 token.
    session_config: Mutex<Arc<TransportConfig>>,
    /// Set by `close`: connections that finish their batch are closed, not kept.
    closed: std::sync::atomic::AtomicBool,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
    rate: Option<tokio::sync::Mutex<VecDeque<tokio::time::Instant>>>,
    /// Messages waiting for a connection, and how many workers are draining them.
    queue: Mutex<Queue>,
}

/// One message to send and where its result goes.
struct Job {
    prepared: Prepared,
    reply: tokio::sync::oneshot::Sender<Result<SendReport>>,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    workers: usize,
}

/// A place among the pool's workers held by a caller sending its own message; given back on
/// drop, to a spawned worker when messages are waiting.
struct WorkerSlot<'a> {
    mailer: &'a Mailer,
}

impl Drop for WorkerSlot<'_> {
    fn drop(&mut self) {
        let hand_over = {
            let mut q = self.mailer.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
            if q.jobs.is_empty() {
                q.workers -= 1;
                false
            } else {
                true
            }
        };
        if hand_over {
            self.mailer.spawn_worker();
        }
    }
}

/// Sends messages over a pool of at most `config.pool.max_connections` open connections.
/// Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct Mailer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("config", &self.shared.config).finish()
    }
}

impl Mailer {
    /// Validates the config (refusing plain-text AUTH to a remote host) without connecting.
    pub fn new(config: TransportConfig) -> Result<Mailer> {
        config.validate()?;
        if config.security != Security::None {
            crate::tls::client_config(&config.tls)?;
        }
        let max = config.pool.max_connections;
        Ok(Mailer {
            shared: Arc::new(Shared {
                rate: config.rate_limit.map(|_| tokio::sync::Mutex::new(VecDeque::new())),
                session_config: Mutex::new(Arc::new(config.clone())),
                closed: std::sync::atomic::AtomicBool::new(false),
                config: Arc::new(config),
                idle: Mutex::new(Vec::new()),
                permits: Semaphore::new(max),
                queue: Mutex::new(Queue::default()),
            }),
        })
    }

    pub fn from_url(url: &str) -> Result<Mailer> {
        Mailer::new(TransportConfig::from_url(url)?)
    }

    pub fn config(&self) -> &TransportConfig {
        &self.shared.config
    }

    /// A new OAuth2 access token for connections opened from now on (open ones keep theirs).
    /// Refused when the configured credentials are not OAuth2.
    pub fn set_access_token(&self, token: &str) -> Result<()> {
        crate::address::check_no_control("access token", token)?;
        let mut config = (*self.shared.config).clone();
        match &mut config.credentials {
            Some(c) if matches!(c.secret, crate::config::Secret::OAuth2Token(_)) => {
                c.secret = crate::config::Secret::OAuth2Token(token.to_string());
            }
            _ => return Err(Error::invalid("an access token needs OAuth2 credentials")),
        }
        *self.shared.session_config.lock().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
        Ok(())
    }

    fn session_config(&self) -> Arc<TransportConfig> {
        self.shared
            .session_config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Builds (validating everything before any I/O) and sends.
    pub async fn send(&self, message: &Message) -> Result<SendReport> {
        let prepared = message.build()?;
        self.send_prepared(prepared).await
    }

    pub async fn send_raw(&self, message: &RawMessage) -> Result<SendReport> {
        let prepared = message.prepare()?;
        self.send_prepared(prepared).await
    }

    /// Sends bytes with their envelope, DKIM-signing them first when configured.
    pub async fn send_prepared(&self, prepared: Prepared) -> Result<SendReport> {
        if self.shared.config.verp.is_some() {
            let mut results = self.send_many_prepared(vec![Ok(prepared)]).await;
            return results.pop().expect("one result per message");
        }
        let prepared = self.signed(prepared)?;
        // With a connection free and nothing waiting, the caller's own task sends: no task
        // spawned, no hop to another thread (what a sequential `await send` loop meets).
        if let Some(slot) = self.reserve_worker() {
            return self.send_inline(slot, prepared).await;
        }
        let (reply, result) = tokio::sync::oneshot::channel();
        self.enqueue(vec![Job { prepared, reply }]);
        result
            .await
            .unwrap_or_else(|_| Err(Error::new(ErrorKind::Io, Stage::Build, "send task ended")))
    }

    /// The message with its DKIM signature, when DKIM is configured.
    fn signed(&self, mut prepared: Prepared) -> Result<Prepared> {
        if let Some(dkim) = &self.shared.config.dkim {
            prepared.content = dkim.sign(std::mem::take(&mut prepared.content))?;
        }
        Ok(prepared)
    }

    /// A worker's place for the caller when one is free and no message is waiting.
    fn reserve_worker(&self) -> Option<WorkerSlot<'_>> {
        let mut q = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
        if !q.jobs.is_empty() || q.workers >= self.shared.config.pool.max_connections {
            return None;
        }
        self.shared.closed.store(false, std::sync::atomic::Ordering::SeqCst);
        q.workers += 1;
        Some(WorkerSlot { mailer: self })
    }

    /// One message sent as a worker would (pooled connection, rate limit, resending when the
    /// connection had died before it was sent). Messages queued meanwhile go to a worker that
    /// takes over the place when it is given back, also when this future is dropped midway.
    async fn send_inline(&self, slot: WorkerSlot<'_>, prepared: Prepared) -> Result<SendReport> {
        let result = {
            let _permit = self.shared.permits.acquire().await.expect("semaphore never closed");
            let mut conn: Option<(Connection, bool)> = self.take_idle().map(|c| (c, true));
            self.wait_for_rate().await;
            let result = self.send_jobs(&mut conn, std::slice::from_ref(&prepared)).await.pop();
            if let Some((c, _)) = conn {
                self.put_back(c).await;
            }
            result
        };
        drop(slot);
        result.unwrap_or_else(|| Err(Error::new(ErrorKind::Io, Stage::Build, "send task ended")))
    }

    /// Queues jobs and starts workers (one per connection, up to `max_connections`). Sends
    /// that arrive together on a connection go out as one pipelined batch.
    fn enqueue(&self, jobs: Vec<Job>) {
        let spawn = {
            let mut q = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
            self.shared.closed.store(false, std::sync::atomic::Ordering::SeqCst);
            q.jobs.extend(jobs);
            let wanted = self.shared.config.pool.max_connections.min(q.workers + q.jobs.len());
            let spawn = wanted.saturating_sub(q.workers);
            q.workers += spawn;
            spawn
        };
        for _ in 0..spawn {
            self.spawn_worker();
        }
    }

    /// A worker task on the runtime, its place already counted in the queue.
    fn spawn_worker(&self) {
        let mailer = self.clone();
        runtime::get().spawn(async move { mailer.worker().await });
    }

    /// Sends each message over up to `max_connections` connections; one result per message,
    /// in order. With PIPELINING, each connection sends its messages in pipelined batches (one
    /// round trip per message).
    pub async fn send_many(&self, messages: Vec<Message>) -> Vec<Result<SendReport>> {
        self.send_many_prepared(messages.iter().map(Message::build).collect())
            .await
    }

    /// `send_many` for messages already built (or refused while building, kept in place).
    /// With VERP, each message goes as one transaction per recipient; its result merges them.
    pub async fn send_many_prepared(&self, messages: Vec<Result<Prepared>>) -> Vec<Result<SendReport>> {
        let verp = self.shared.config.verp.as_ref();
        let mut receivers = Vec::with_capacity(messages.len());
        let mut jobs = Vec::with_capacity(messages.len());
        for m in messages {
            match m.and_then(|p| self.signed(p)) {
                Ok(prepared) => {
                    let parts = match verp {
                        Some(v) => verp_split(v, prepared),
                        None => vec![prepared],
                    };
                    let mut group = Vec::with_capacity(parts.len());
                    for prepared in parts {
                        let (reply, result) = tokio::sync::oneshot::channel();
                        group.push((prepared.envelope.to.clone(), result));
                        jobs.push(Job { prepared, reply });
                    }
                    receivers.push(Ok(group));
                }
                Err(e) => receivers.push(Err(e)),
            }
        }
        self.enqueue(jobs);
        let ended = || Err(Error::new(ErrorKind::Io, Stage::Build, "send task ended"));
        let mut out = Vec::with_capacity(receivers.len());
        for r in receivers {
            out.push(match r {
                Ok(mut group) if group.len() == 1 => group.pop().expect("one").1.await.unwrap_or_else(|_| ended()),
                Ok(group) => {
                    let mut parts = Vec::with_capacity(group.len());
                    for (to, rx) in group {
                        parts.push((to, rx.await.unwrap_or_else(|_| ended())));
                    }
                    merge_reports(parts)
                }
                Err(e) => Err(e),
            });
        }
        out
    }

    /// A connection's worker: takes up to 32 queued messages at a time (one with a rate limit,
    /// fewer when `max_messages` is lower), sends them as a batch, reconnecting when the
    /// connection is used up or fails, until the queue is empty.
    async fn worker(&self) {
        let max_messages = self.shared.config.pool.max_messages;
        // A rate limit spaces messages out: batching them would send them together.
        let batch_size = match (self.shared.config.rate_limit, max_messages) {
            (Some(_), _) => 1,
            (None, 0) => 32,
            (None, max) => max.min(32),
        };
        let _permit = self.shared.permits.acquire().await.expect("semaphore never closed");
        let mut conn: Option<(Connection, bool)> = self.take_idle().map(|c| (c, true));
        loop {
            // What the connection may still carry: a reused one counts what it already sent.
            let room = match (&conn, max_messages) {
                (Some((c, _)), max) if max > 0 && c.is_usable() => max.saturating_sub(c.transactions_begun()).max(1),
                _ => batch_size,
            };
            let batch: Vec<Job> = {
                let mut q = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
                // Spread the queue over the connections, not first come takes all: 100
                // messages on 5 connections go about 20 each.
                let share = q.jobs.len().div_ceil(q.workers.max(1));
                let n = batch_size.min(room).min(share);
                if n == 0 {
                    q.workers -= 1;
                    break;
                }
                q.jobs.drain(..n).collect()
            };
            for _ in &batch {
                self.wait_for_rate().await;
            }
            let (prepared, replies): (Vec<Prepared>, Vec<_>) = batch.into_iter().map(|j| (j.prepared, j.reply)).unzip();
            let results = self.send_jobs(&mut conn, &prepared).await;
            for (reply, result) in replies.into_iter().zip(results) {
                let _ = reply.send(result);
            }
        }
        if let Some((c, _)) = conn {
            self.put_back(c).await;
        }
    }

    /// Sends a batch over `conn` (opened when missing or closed). Messages that never reached
    /// the server because their connection died first are sent again on a new connection, a
    /// few times at most; a message whose content went out is reported, never resent.
    async fn send_jobs(&self, conn: &mut Option<(Connection, bool)>, prepared: &[Prepared]) -> Vec<Result<SendReport>> {
        // Resending goes on while connections make progress; this many in a row without a
        // single outcome end it.
        const MAX_FRUITLESS_CONNECTIONS: usize = 3;
        let max_messages = self.shared.config.pool.max_messages;
        let mut results: Vec<Option<Result<SendReport>>> = prepared.iter().map(|_| None).collect();
        let mut pending: Vec<usize> = (0..prepared.len()).collect();
        let (mut attempt, mut fruitless) = (0, 0);
        while !pending.is_empty() {
            attempt += 1;
            let (mut c, reused) = match conn.take() {
                Some(c) if c.0.is_usable() => c,
                _ => match Connection::open(self.session_config()).await {
                    Ok(c) => (c, false),
                    Err(e) => {
                        for &i in &pending {
                            results[i] = Some(Err(e.clone()));
                        }
                        break;
                    }
                },
            };
            let batch: Vec<&Prepared> = pending.iter().map(|&i| &prepared[i]).collect();
            let outcome = c.send_batch(&batch).await;
            // An idle connection the server had closed fails before anything was accepted.
            let stale = reused
                && attempt == 1
                && outcome.iter().all(|r| {
                    r.as_ref().err().is_some_and(|e| {
                        e.stage() == Stage::Mail
                            && (matches!(e.kind(), ErrorKind::Connection | ErrorKind::Io | ErrorKind::Timeout)
                                || e.code() == Some(421))
                    })
                });
            let retryable = |e: &Error| stale || e.was_not_sent();
            let progress = outcome
                .iter()
                .any(|r| r.as_ref().map_or_else(|e| !retryable(e), |_| true));
            fruitless = if progress { 0 } else { fruitless + 1 };
            let last_try = fruitless >= MAX_FRUITLESS_CONNECTIONS;
            let mut again = Vec::new();
            for (&i, r) in pending.iter().zip(outcome) {
                match r {
                    Err(e) if !last_try && retryable(&e) => again.push(i),
                    r => results[i] = Some(r),
                }
            }
            pending = again;
            if c.is_usable() && (max_messages == 0 || c.transactions_begun() < max_messages) {
                *conn = Some((c, true));
            } else {
                c.quit().await;
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::new(ErrorKind::Connection, Stage::Mail, "not sent"))))
            .collect()
    }

    /// Connects, says hello, upgrades to TLS and authenticates as configured, then quits.
    pub async fn verify(&self) -> Result<()> {
        self.verify_auth_offered().await.map(|_| ())
    }

    /// [`Mailer::verify`], answering whether the server offered AUTH (after STARTTLS).
    pub async fn verify_auth_offered(&self) -> Result<bool> {
        let conn = Connection::open(self.session_config()).await?;
        let offered = !conn.extensions().auth_mechanisms().is_empty();
        conn.quit().await;
        Ok(offered)
    }

    /// Opens a connection (hello, TLS, AUTH) and keeps it in the pool for the next send, so
    /// connection errors surface now (PHPMailer's `smtpConnect`).
    pub async fn connect(&self) -> Result<()> {
        let _permit = self.shared.permits.acquire().await.expect("semaphore never closed");
        if self
            .take_idle()
            .map(|c| self.shared.idle.lock().unwrap_or_else(|e| e.into_inner()).push(c))
            .is_some()
        {
            return Ok(());
        }
        let conn = Connection::open(self.session_config()).await?;
        self.put_back(conn).await;
        Ok(())
    }

    pub fn connect_blocking(&self) -> Result<()> {
        runtime::block_on(self.connect())
    }

    /// True when no send is under way.
    pub fn is_idle(&self) -> bool {
        self.shared.permits.available_permits() == self.shared.config.pool.max_connections
    }

    /// Number of open idle connections.
    pub fn idle_connections(&self) -> usize {
        self.shared.idle.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Fails the messages still waiting for a connection ("connection pool was closed", never
    /// sent), lets the batches under way finish, and QUITs every connection as it becomes idle.
    pub async fn close(&self) {
        let waiting: Vec<Job> = {
            let mut q = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
            self.shared.closed.store(true, std::sync::atomic::Ordering::SeqCst);
            q.jobs.drain(..).collect()
        };
        for job in waiting {
            let _ = job.reply.send(Err(Error::new(
                ErrorKind::Connection,
                Stage::Connect,
                "connection pool was closed before this message was sent",
            )));
        }
        let conns: Vec<Connection> = std::mem::take(&mut *self.shared.idle.lock().unwrap_or_else(|e| e.into_inner()));
        for c in conns {
            c.quit().await;
        }
    }

    pub fn send_blocking(&self, message: &Message) -> Result<SendReport> {
        runtime::block_on(self.send(message))
    }

    pub fn send_raw_blocking(&self, message: &RawMessage) -> Result<SendReport> {
        runtime::block_on(self.send_raw(message))
    }

    pub fn send_many_blocking(&self, messages: Vec<Message>) -> Vec<Result<SendReport>> {
        runtime::block_on(self.send_many(messages))
    }

    pub fn verify_blocking(&self) -> Result<()> {
        runtime::block_on(self.verify())
    }

    pub fn close_blocking(&self) {
        runtime::block_on(self.close())
    }

    fn take_idle(&self) -> Option<Connection> {
        let idle_timeout = self.shared.config.pool.idle_timeout;
        let mut idle = self.shared.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(c) = idle.pop() {
            if c.is_usable() && c.last_used.elapsed() < idle_timeout {
                return Some(c);
            }
        }
        None
    }

    async fn put_back(&self, conn: Connection) {
        let max_messages = self.shared.config.pool.max_messages;
        if !conn.is_usable() {
            return;
        }
        if (max_messages > 0 && conn.transactions_begun() >= max_messages)
            || self.shared.closed.load(std::sync::atomic::Ordering::SeqCst)
        {
            conn.quit().await;
            return;
        }
        self.shared.idle.lock().unwrap_or_else(|e| e.into_inner()).push(conn);
    }

    async fn wait_for_rate(&self) {
        let (Some(limit), Some(rate)) = (self.shared.config.rate_limit, &self.shared.rate) else {
            return;
        };
        let mut sent = rate.lock().await;
        loop {
            let now = tokio::time::Instant::now();
            while sent.front().is_some_and(|&t| now.duration_since(t) >= limit.per) {
                sent.pop_front();
            }
            if sent.len() < limit.messages.max(1) as usize {
                sent.push_back(now);
                return;
            }
            let oldest = *sent.front().expect("non-empty");
            tokio::time::sleep_until(oldest + limit.per).await;
        }
    }
}
