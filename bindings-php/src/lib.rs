//! The PHP extension (ext-php-rs): `Polymailer\PHPMailer\{PHPMailer, SMTP, Exception}` with
//! PHPMailer's API over the `polymailer` core. Files mirror the core: `config.rs`,
//! `message.rs`, `mailer.rs`, `errors.rs`; `debug.rs` prints `SMTPDebug` output; `value.rs`
//! gives PHP's loose property typing. Only `mailer.rs` knows the PHP object.
#![cfg_attr(windows, feature(abi_vectorcall))]

use ext_php_rs::prelude::*;

mod config;
mod debug;
mod errors;
mod mailer;
mod message;
mod value;

/// Declares the PHP-side classes for each request.
unsafe extern "C" fn request_startup(_type: i32, _module: i32) -> i32 {
    // Failure leaves the class undefined; errors then fall back to \Exception.
    let _ = ext_php_rs::php_eval::execute(errors::EXCEPTION_PHP);
    0
}

#[php_module]
pub fn get_module(module: ModuleBuilder) -> ModuleBuilder {
    module
        .class::<mailer::Smtp>()
        .class::<mailer::PHPMailer>()
        .request_startup_function(request_startup)
}
