//! `NativeTransport`: the core `Mailer` behind Nodemailer's transporter. Every call returns a
//! Promise settled from the core's runtime; the event loop never waits on I/O.

use napi::bindgen_prelude::*;
use napi_derive::napi;
use polymailer::{runtime, Direction, Mailer, Outgoing, Recorder, SendReport};

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};

use crate::errors::{fields, throw, ErrorFields};

#[napi(object)]
pub struct Target {
    pub host: String,
    pub port: u32,
}

#[napi(object)]
pub struct EnvelopeInfo {
    pub from: String,
    pub to: Vec<String>,
}

/// Nodemailer's `info`.
#[napi(object)]
pub struct SentInfo {
    pub message_id: Option<String>,
    pub envelope: EnvelopeInfo,
    pub accepted: Vec<String>,
    pub rejected: Vec<String>,
    pub pending: Vec<String>,
    pub response: String,
    /// `{recipient, code, response}` for each refused recipient.
    pub rejected_errors: Vec<RejectedInfo>,
}

#[napi(object)]
pub struct RejectedInfo {
    pub recipient: String,
    pub response_code: u32,
    pub response: String,
}

impl From<&polymailer::RejectedRecipient> for RejectedInfo {
    fn from(x: &polymailer::RejectedRecipient) -> Self {
        RejectedInfo {
            response: format!("{} {}", x.code, x.text),
            recipient: x.address.clone(),
            response_code: x.code.into(),
        }
    }
}

/// A settled call: exactly one of `info` and `error` is set.
#[napi(object)]
pub struct Outcome {
    pub info: Option<SentInfo>,
    pub error: Option<ErrorFields>,
}

impl From<polymailer::Result<SendReport>> for Outcome {
    fn from(r: polymailer::Result<SendReport>) -> Self {
        match r {
            Ok(r) => Outcome {
                info: Some(SentInfo {
                    message_id: r.message_id,
                    envelope: EnvelopeInfo {
                        from: r.envelope.from.unwrap_or_default(),
                        to: r.envelope.to,
                    },
                    accepted: r.accepted,
                    rejected: r.rejected.iter().map(|x| x.address.clone()).collect(),
                    pending: vec![],
                    response: r.response.one_line(),
                    rejected_errors: r.rejected.iter().map(RejectedInfo::from).collect(),
                }),
                error: None,
            },
            Err(e) => Outcome {
                info: None,
                error: Some(fields(&e)),
            },
        }
    }
}

/// A message built without sending (Nodemailer's `streamTransport`): exactly one of
/// `message` and `error` is set.
#[napi(object)]
pub struct Built {
    pub message: Option<Buffer>,
    pub envelope: Option<EnvelopeInfo>,
    pub message_id: Option<String>,
    pub error: Option<ErrorFields>,
}

/// Builds the mail as it would be sent (attachment files read on the core's runtime),
/// DKIM-signed when `dkim` is given (streamTransport with Nodemailer's `dkim` option).
#[napi(ts_return_type = "Promise<Built>")]
#[cfg_attr(test, allow(dead_code))] // called from JS only
pub fn build_mail<'env>(env: &'env Env, mail: Unknown<'env>, dkim: Option<Unknown<'env>>) -> Result<Object<'env>> {
    let outgoing = crate::message::outgoing(mail)?;
    let signer = match dkim {
        Some(d) => Some(polymailer::DkimConfig::from_value(&crate::message::value(d)?)).transpose(),
        None => Ok(None),
    };
    let (deferred, promise) = env.create_deferred::<Built, _>()?;
    runtime::spawn(async move {
        let built = outgoing
            .and_then(|o| o.prepare())
            .and_then(|mut p| {
                if let Some(signer) = signer? {
                    p.content = signer.sign(std::mem::take(&mut p.content))?;
                }
                Ok(p)
            })
            .and_then(|p| Ok((p.content.into_bytes()?, p.envelope, p.message_id)));
        let built = match built {
            Ok((bytes, envelope, message_id)) => Built {
                message: Some(bytes.into()),
                envelope: Some(EnvelopeInfo {
                    from: envelope.from.unwrap_or_default(),
                    to: envelope.to,
                }),
                message_id,
                error: None,
            },
            Err(e) => Built {
                message: None,
                envelope: None,
                message_id: None,
                error: Some(fields(&e)),
            },
        };
        deferred.resolve(move |_| Ok(built));
    });
    Ok(promise)
}

/// Where settled sends go: one threadsafe function per transport, called with `(id, outcome)`
/// on the JavaScript thread. One per transport, not one per call as a Promise's would be (that
/// costs a libuv handle opened and closed for every message).
type Settle = ThreadsafeFunction<(u32, Outcome), (), FnArgs<(u32, Outcome)>, Status, false, true>;

/// Keeps the event loop alive while sends are under way, as Nodemailer's sockets do, and lets
/// the process exit when none is. Changed on the JavaScript thread only (in `send` and in the
/// settle callback), so ref and unref never race.
#[derive(Default)]
struct InFlight {
    count: AtomicU32,
    next_id: AtomicU32,
}

#[napi]
pub struct NativeTransport {
    mailer: Mailer,
    transcript: Option<Recorder>,
    settle: Arc<Settle>,
    in_flight: Arc<InFlight>,
}

/// A mail built on the JavaScript thread, or still to be built on the runtime.
enum Work {
    Built(polymailer::Result<polymailer::Prepared>),
    ToBuild(polymailer::Result<Outgoing>),
}

/// Runs `work` on the core runtime and settles the returned Promise with its outcome.
fn promise<'env, F>(env: &'env Env, work: F) -> Result<Object<'env>>
where
    F: std::future::Future<Output = Outcome> + Send + 'static,
{
    let (deferred, promise) = env.create_deferred::<Outcome, _>()?;
    runtime::spawn(async move {
        let outcome = work.await;
        deferred.resolve(move |_| Ok(outcome));
    });
    Ok(promise)
}

/// The options' problem as error fields (`code`, `kind`, …), or nothing when a transport can
/// be made from them: `createTransport` throws a real Error built from these.
#[napi]
#[cfg_attr(test, allow(dead_code))] // called from JS only
pub fn check_options(options: Unknown<'_>) -> Result<Option<ErrorFields>> {
    Ok(crate::config::transport_config(options)?
        .and_then(Mailer::new)
        .err()
        .map(|e| fields(&e)))
}

#[napi]
impl NativeTransport {
    /// `on_settle(id, outcome)` receives each `send`'s outcome, under the id `send` returned.
    #[napi(constructor)]
    /// `record`: keep the SMTP transcript for the JavaScript logger (`takeTranscript`).
    pub fn new(options: Unknown<'_>, record: bool, on_settle: Function<FnArgs<(u32, Outcome)>, ()>) -> Result<Self> {
        let mut config = crate::config::transport_config(options)?.map_err(throw)?;
        let transcript = record.then(Recorder::recording);
        if let Some(r) = &transcript {
            config.transcript = Some(r.hook());
        }
        let in_flight = Arc::new(InFlight::default());
        let raw: Arc<std::sync::OnceLock<usize>> = Arc::default();
        let settle = {
            let in_flight = in_flight.clone();
            let raw = raw.clone();
            on_settle
                .build_threadsafe_function::<(u32, Outcome)>()
                .weak::<true>()
                .callee_handled::<false>()
                .build_callback(move |ctx| {
                    // On the JavaScript thread: the last send settled lets the loop go.
                    if let Some(&tsfn) = raw.get() {
                        if in_flight.count.fetch_sub(1, Ordering::Relaxed) == 1 {
                            // SAFETY: the JavaScript thread, a live threadsafe function.
                            unsafe { napi::sys::napi_unref_threadsafe_function(ctx.env.raw(), tsfn as _) };
                        }
                    }
                    Ok(FnArgs::from(ctx.value))
                })?
        };
        let _ = raw.set(settle.raw() as usize);
        Ok(NativeTransport {
            mailer: Mailer::new(config).map_err(throw)?,
            transcript,
            settle: Arc::new(settle),
            in_flight,
        })
    }

    /// The deliverability check of this transport's own setup (DKIM key, server, domain).
    #[napi(ts_return_type = "Promise<CheckOutcome>")]
    pub fn preflight<'env>(
        &self,
        env: &'env Env,
        domain: Option<String>,
        options: Option<Unknown<'env>>,
    ) -> Result<Object<'env>> {
        crate::check::preflight(env, self.mailer.config().clone(), domain, options)
    }

    /// The host and port the options name (where a relay for `getSocket`/`proxy` connects).
    #[napi]
    pub fn target(&self) -> Target {
        let c = self.mailer.config();
        Target {
            host: c.host.clone(),
            port: c.port.into(),
        }
    }

    /// Transcript lines since the last call, as `[direction, line]` (AUTH secrets masked).
    #[napi]
    pub fn take_transcript(&self) -> Vec<Vec<String>> {
        let Some(recorder) = &self.transcript else {
            return Vec::new();
        };
        recorder
            .take()
            .into_iter()
            .map(|(d, line)| {
                let (dir, text) = match d {
                    Direction::Client => ("client", line),
                    Direction::Server => ("server", line),
                    Direction::Data => ("message", format!("<{} bytes encoded mime message>", line.len())),
                    Direction::Info => ("network", line),
                };
                vec![dir.to_string(), text]
            })
            .collect()
    }

    /// Sends one mail; its outcome (`{info}` or `{error}`) goes to `on_settle` under the
    /// returned id.
    #[napi]
    pub fn send(&self, env: &Env, mail: Unknown<'_>) -> Result<u32> {
        let mailer = self.mailer.clone();
        let outgoing = crate::message::outgoing(mail)?;
        let id = self.in_flight.next_id.fetch_add(1, Ordering::Relaxed);
        if self.in_flight.count.fetch_add(1, Ordering::Relaxed) == 0 {
            // SAFETY: the JavaScript thread, a live threadsafe function.
            unsafe { napi::sys::napi_ref_threadsafe_function(env.raw(), self.settle.raw()) };
        }
        let settle = self.settle.clone();
        // A small message builds here, on the JavaScript thread (microseconds): the runtime's
        // worker then only talks SMTP, and concurrent sends reach it already built. A large one
        // (or one with files to open) is built on the runtime, never blocking the event loop.
        let work = match outgoing {
            Ok(o) if o.builds_quickly() => Work::Built(o.prepare()),
            o => Work::ToBuild(o),
        };
        runtime::spawn(async move {
            let prepared = match work {
                Work::Built(p) => p,
                Work::ToBuild(o) => o.and_then(|o| o.prepare()),
            };
            let result = match prepared {
                Ok(p) => mailer.send_prepared(p).await,
                Err(e) => Err(e),
            };
            settle.call((id, Outcome::from(result)), ThreadsafeFunctionCallMode::NonBlocking);
        });
        Ok(id)
    }

    /// Connects, upgrades, authenticates, quits; resolves to `{}` or `{error}`.
    #[napi(ts_return_type = "Promise<Outcome>")]
    pub fn verify<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        let mailer = self.mailer.clone();
        let force_auth = !mailer.config().auth_if_offered;
        let no_credentials = mailer.config().credentials.is_none();
        promise(env, async move {
            match mailer.verify_auth_offered().await {
                // Nodemailer's forceAuth without credentials, against a server asking for them.
                Ok(true) if force_auth && no_credentials => Outcome {
                    info: None,
                    error: Some(ErrorFields {
                        message: "Missing credentials for authentication (forceAuth is set)".into(),
                        detail: None,
                        code: "ENOAUTH".into(),
                        response_code: None,
                        response: None,
                        command: "API".into(),
                        rejected: vec![],
                        rejected_errors: vec![],
                        kind: "auth".into(),
                        transient: false,
                    }),
                },
                Ok(_) => Outcome {
                    info: None,
                    error: None,
                },
                Err(e) => Outcome {
                    info: None,
                    error: Some(fields(&e)),
                },
            }
        })
    }

    /// QUITs pooled connections.
    #[napi(ts_return_type = "Promise<Outcome>")]
    pub fn close<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        let mailer = self.mailer.clone();
        promise(env, async move {
            mailer.close().await;
            Outcome {
                info: None,
                error: None,
            }
        })
    }

    /// A renewed OAuth2 access token for the connections opened from now on.
    #[napi]
    pub fn set_access_token(&self, token: String) -> Option<ErrorFields> {
        self.mailer.set_access_token(&token).err().map(|e| fields(&e))
    }

    #[napi]
    pub fn is_idle(&self) -> bool {
        self.mailer.is_idle()
    }
}
