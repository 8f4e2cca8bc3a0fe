//! The Node.js binding (napi-rs): translates Nodemailer's options, mail objects and errors to
//! and from the `polymailer` core. `index.js` adds the callback/Promise and EventEmitter idioms.
//! Files mirror the core: `config.rs`, `message.rs`, `mailer.rs`, `errors.rs`.

mod bounce;
mod check;
mod config;
mod errors;
mod mailer;
mod message;
