//! The PHP extension (ext-php-rs): `Polymailer\PHPMailer\{PHPMailer, SMTP, Exception}` with
//! PHPMailer's API over the `polymailer` core. Files mirror the core: `config.rs`,
//! `message.rs`, `mailer.rs`, `errors.rs`; `value.rs` gives PHP's loose property typing.
#![cfg_attr(windows, feature(abi_vectorcall))]

use ext_php_rs::prelude::*;

mod config;
mod errors;
mod mailer;
mod message;
mod value;

#[php_module]
pub fn get_module(module: ModuleBuilder) -> ModuleBuilder {
    module
        .class::<errors::MailerException>()
        .class::<mailer::SMTP>()
        .class::<mailer::PHPMailer>()
}
