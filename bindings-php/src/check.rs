//! `Polymailer\Deliverability` (checkDomain, dkimKeygen) and the report as a PHP array. The
//! checks are the core's; this file converts the options array and the report.

use ext_php_rs::boxed::ZBox;
use ext_php_rs::exception::PhpResult;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendHashTable, Zval};
use polymailer::check::{self, CheckOptions, DomainReport};
use polymailer::dkim::{generate_key, KeyAlgorithm};
use polymailer::{DkimConfig, Error, OptionValue};

use crate::errors;

fn throw(e: &Error) -> PhpException {
    errors::exception_with(e.message(), Some(&errors::Facts::of(e)))
}

/// `['nameserver' => '127.0.0.1:53', 'dnsbl' => ['a', 'b'], 'timeout' => 2, 'dkim' => [...]]`
/// through the core's option words. `dkim`: `domain`, `selector`, `private_key` (PEM) or
/// `private_key_file`. Keys the caller handles itself (`domain` for preflight) are skipped.
pub fn options(given: Option<&Zval>, skip: &[&str]) -> Result<CheckOptions, Error> {
    let mut o = CheckOptions::default();
    let Some(table) = given.and_then(|z| z.array()) else {
        return Ok(o);
    };
    for (key, value) in table.iter() {
        let key = key.to_string();
        if skip.contains(&key.as_str()) || value.is_null() {
            continue;
        }
        if key == "dkim" {
            o.dkim = Some(dkim(value)?);
            continue;
        }
        let items: Vec<&Zval> = match value.array() {
            Some(list) => list.iter().map(|(_, v)| v).collect(),
            None => vec![value],
        };
        for v in items {
            let v = if let Some(b) = v.bool() {
                OptionValue::Flag(b)
            } else if let Some(n) = v.long() {
                OptionValue::Number(n as f64)
            } else if let Some(n) = v.double() {
                OptionValue::Number(n)
            } else {
                OptionValue::Text(v.string().unwrap_or_default())
            };
            o.set_option(&key, v)?;
        }
    }
    Ok(o)
}

fn dkim(spec: &Zval) -> Result<DkimConfig, Error> {
    let table = spec
        .array()
        .ok_or_else(|| Error::invalid("dkim: an array with domain, selector and private_key(_file)"))?;
    let get = |k: &str| table.get(k).and_then(|v| v.string()).filter(|s| !s.is_empty());
    let need = |k: &str| get(k).ok_or_else(|| Error::invalid(format!("dkim needs '{k}'")));
    let key = match (get("private_key"), get("private_key_file")) {
        (Some(k), _) => k,
        (None, Some(path)) => DkimConfig::read_key_file(path)?,
        (None, None) => return Err(Error::invalid("dkim needs 'private_key' (PEM) or 'private_key_file'")),
    };
    DkimConfig::new(&need("domain")?, &need("selector")?, &key, None, None)
}

/// `['domain', 'ok', 'elapsed_ms', 'findings' => [['check', 'subject', 'status', 'record',
/// 'detail', 'fix'], ...], 'table']`.
pub fn report(r: &DomainReport) -> PhpResult<ZBox<ZendHashTable>> {
    let mut out = ZendHashTable::new();
    out.insert("domain", r.domain.as_str())?;
    out.insert("ok", r.ok())?;
    out.insert("elapsed_ms", r.elapsed.as_millis() as i64)?;
    let mut findings = ZendHashTable::new();
    for f in &r.findings {
        let mut item = ZendHashTable::new();
        item.insert("check", f.check)?;
        item.insert("subject", f.subject.as_str())?;
        item.insert("status", f.status.as_str())?;
        item.insert("record", f.record.clone())?;
        item.insert("detail", f.detail.as_str())?;
        item.insert("fix", f.fix.clone())?;
        findings.push(item)?;
    }
    out.insert("findings", findings)?;
    out.insert("table", r.to_table(false))?;
    Ok(out)
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
