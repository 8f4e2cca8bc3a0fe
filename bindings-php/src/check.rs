//! `Polymailer\Deliverability` (checkDomain, dkimKeygen) and the report as a PHP array. The
//! checks are the core's; this file converts the options array and the report.

use ext_php_rs::boxed::ZBox;
use ext_php_rs::exception::PhpResult;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendHashTable, Zval};
use polymailer::check::{self, CheckOptions, DomainReport};
use polymailer::dkim::{generate_key, KeyAlgorithm};
use polymailer::Error;

use crate::errors;

fn throw(e: &Error) -> PhpException {
    errors::exception_with(e.message(), Some(&errors::Facts::of(e)))
}

/// `['nameserver' => '127.0.0.1:53', 'dnsbl' => ['a', 'b'], 'timeout' => 2, 'dkim' => [...]]`
/// by the core's option words (`dkim`: `domain`, `selector`, `private_key` (PEM) or
/// `private_key_file`). Keys the caller handles itself (`domain` for preflight) are skipped.
pub fn options(given: Option<&Zval>, skip: &[&str]) -> Result<CheckOptions, Error> {
    let mut given = given.map(crate::value::to_core).unwrap_or_default();
    for key in skip {
        given.remove(key);
    }
    CheckOptions::from_value(&given)
}

/// The report as the core's JSON in PHP arrays, and its `table`.
pub fn report(r: &DomainReport) -> PhpResult<ZBox<ZendHashTable>> {
    let mut json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap_or_default();
    if let serde_json::Value::Object(map) = &mut json {
        map.insert("table".into(), r.to_table(false).into());
    }
    let z = crate::value::from_json(&json)?;
    Ok(z.array().map(ToOwned::to_owned).unwrap_or_else(ZendHashTable::new))
}

#[php_class]
#[php(name = "Polymailer\\Deliverability")]
pub struct Deliverability;

#[php_impl]
impl Deliverability {
    /// Checks a sending domain: MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT, blacklists. Options:
    /// selector, ip, host, envelope_domain, dnsbl, domain_dnsbl, nameserver, timeout (seconds),
    /// tcp, dkim. Throws `PHPMailer\Exception` (with `kind`) on bad input or a dead resolver.
    #[php(name = "checkDomain")]
    pub fn check_domain(domain: &str, options: Option<&Zval>) -> PhpResult<ZBox<ZendHashTable>> {
        let o = self::options(options, &[]).map_err(|e| throw(&e))?;
        let r = check::check_domain_blocking(domain, &o).map_err(|e| throw(&e))?;
        report(&r)
    }

    /// A DKIM key pair ('rsa' 2048 bits, 'rsa3072', 'rsa4096', 'ed25519') and its TXT record:
    /// `['algorithm', 'bits', 'private_key', 'record_name', 'record_value', 'record_strings',
    /// 'zone_line']`.
    #[php(name = "dkimKeygen")]
    pub fn dkim_keygen(domain: &str, selector: &str, algorithm: Option<String>) -> PhpResult<ZBox<ZendHashTable>> {
        let k = algorithm
            .as_deref()
            .unwrap_or("rsa")
            .parse::<KeyAlgorithm>()
            .and_then(|a| generate_key(a, domain, selector))
            .map_err(|e| throw(&e))?;
        let mut out = ZendHashTable::new();
        out.insert("algorithm", k.algorithm)?;
        out.insert("bits", k.bits as i64)?;
        out.insert("private_key", k.private_key_pem.as_str())?;
        out.insert("record_name", k.record_name.as_str())?;
        out.insert("record_value", k.record_value.as_str())?;
        out.insert("record_strings", k.record_strings.clone())?;
        out.insert("zone_line", k.zone_line())?;
        Ok(out)
    }
}
