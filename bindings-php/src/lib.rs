//! The PHP extension (ext-php-rs): `Polymailer\PHPMailer\{PHPMailer, SMTP, Exception}` with
//! PHPMailer's API over the `polymailer` core, which reads the connection properties
//! (`polymailer::phpmailer::Settings`). Files: `message.rs`, `mailer.rs` (the class and its PHP
//! methods), `state.rs` (what those methods share), `smtp.rs` (the static classes),
//! `errors.rs`; `debug.rs` prints `SMTPDebug` output; `value.rs` gives PHP's loose property
//! typing and the one conversion to the core's `Value`.
#![cfg_attr(windows, feature(abi_vectorcall))]

use ext_php_rs::prelude::*;

mod bounce;
mod check;
mod debug;
mod errors;
mod helpers;
mod lang;
mod mailer;
mod message;
mod smime;
mod smtp;
mod smtp_client;
mod state;
mod value;

/// Declares the PHP-side classes for each request.
unsafe extern "C" fn request_startup(_type: i32, _module: i32) -> i32 {
    // Failure leaves the class undefined; errors then fall back to \Exception.
    let _ = ext_php_rs::php_eval::execute(errors::EXCEPTION_PHP);
    let _ = ext_php_rs::php_eval::execute(errors::OAUTH_PHP);
    0
}

/// `php --ri polymailer`: versions and what the engine does.
unsafe extern "C" fn module_info(_module: *mut ext_php_rs::zend::ModuleEntry) {
    ext_php_rs::info_table_start!();
    ext_php_rs::info_table_row!("polymailer", "enabled");
    ext_php_rs::info_table_row!("version", env!("CARGO_PKG_VERSION"));
    ext_php_rs::info_table_row!("PHPMailer API", mailer::VERSION);
    ext_php_rs::info_table_row!("engine", "polymailer (Rust)");
    ext_php_rs::info_table_row!("TLS", "rustls (ring), system roots");
    ext_php_rs::info_table_row!(
        "features",
        "STARTTLS, SMTPS, AUTH PLAIN/LOGIN/XOAUTH2, PIPELINING, DKIM, SMTPUTF8, DSN"
    );
    ext_php_rs::info_table_end!();
}

#[php_module]
pub fn get_module(module: ModuleBuilder) -> ModuleBuilder {
    module
        .name("polymailer")
        .class::<smtp_client::Smtp>()
        .class::<smtp::Services>()
        .class::<check::Deliverability>()
        .class::<bounce::Bounce>()
        .class::<mailer::PHPMailer>()
        .request_startup_function(request_startup)
        .info_function(module_info)
}
