//! The Node.js binding (napi-rs): translates Nodemailer's options, mail objects and errors to
//! and from the `polymailer` core. `index.js` adds the callback/Promise and EventEmitter idioms.
//! `message.rs` converts JavaScript values to the core's `Value` (the core reads Nodemailer's
//! mail and options from it); `config.rs`, `mailer.rs`, `check.rs`, `errors.rs` mirror the core.

mod bounce;
mod check;
mod config;
mod errors;
mod mailer;
mod message;

/// One runtime worker: with the JavaScript thread building each mail and the worker owning the
/// sockets, a reply reaches its send without a hop between workers (`POLYMAILER_WORKER_THREADS`
/// still decides).
#[napi_derive::module_init]
fn init() {
    polymailer::runtime::prefer_worker_threads(1);
}
