//! `Polymailer\Bounce` (parse, decodeVerp): the core's report, as its JSON, turned into PHP
//! arrays (keys as the core names them).

use ext_php_rs::exception::PhpResult;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendHashTable, Zval};
use polymailer::bounce::{decode_verp, parse_bounce, ParseOptions};
use serde_json::Value as Json;

fn to_zval(v: &Json) -> PhpResult<Zval> {
    let mut z = Zval::new();
    match v {
        Json::Null => z.set_null(),
        Json::Bool(b) => z.set_bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => z.set_long(i),
            None => z.set_double(n.as_f64().unwrap_or(0.0)),
        },
        Json::String(s) => z.set_string(s, false)?,
        Json::Array(items) => {
            let mut t = ZendHashTable::new();
            for item in items {
                t.push(to_zval(item)?)?;
            }
            z.set_hashtable(t);
        }
        Json::Object(map) => {
            let mut t = ZendHashTable::new();
            for (k, item) in map {
                t.insert(k.as_str(), to_zval(item)?)?;
            }
            z.set_hashtable(t);
        }
    }
    Ok(z)
}

#[php_class]
#[php(name = "Polymailer\\Bounce")]
pub struct Bounce;

#[php_impl]
impl Bounce {
    /// Parses a bounce (DSN), a complaint (ARF) or a DMARC aggregate report (the message, or
    /// the report's XML/gzip/zip bytes) into `['kind' => 'dsn'|'arf'|'dmarc'|'none', 'events'
    /// => [...], 'dmarc' => ..., 'note' => ..., 'table' => ...]`. Never throws for bad input.
    /// Options: `verp_secret` (verifies VERP addresses), `max_size` (bytes).
    pub fn parse(raw: ext_php_rs::binary::Binary<u8>, options: Option<&ZendHashTable>) -> PhpResult<Zval> {
        let mut o = ParseOptions::default();
        if let Some(opts) = options {
            if let Some(s) = opts.get("verp_secret").and_then(|z| z.string()) {
                o.verp_secret = Some(s.into_bytes());
            }
            if let Some(m) = opts.get("max_size").and_then(|z| z.long()) {
                o.max_size = m.max(0) as usize;
            }
        }
        let report = parse_bounce(&raw, &o);
        let mut json: Json = serde_json::from_str(&report.to_json()).unwrap_or(Json::Null);
        if let Json::Object(map) = &mut json {
            map.insert("table".into(), Json::String(report.to_table()));
        }
        to_zval(&json)
    }

    /// `bounces+alice=example.com-<tag>-<mac>@domain` → `['recipient', 'message_tag',
    /// 'verified', ...]`, or null when the address is not a VERP address.
    #[php(name = "decodeVerp")]
    pub fn decode_verp(address: &str, secret: Option<String>) -> PhpResult<Zval> {
        let decoded = decode_verp(address, secret.as_deref().map(str::as_bytes));
        to_zval(&serde_json::to_value(decoded).unwrap_or(Json::Null))
    }
}
