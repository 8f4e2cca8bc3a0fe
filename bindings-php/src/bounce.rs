//! `Polymailer\Bounce` (parse, decodeVerp): the core's report, as its JSON, turned into PHP
//! arrays (keys as the core names them).

use ext_php_rs::exception::PhpResult;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendHashTable, Zval};

use crate::value::from_json;
use polymailer::bounce::{decode_verp, parse_bounce, ParseOptions};
use serde_json::Value as Json;

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
        from_json(&json)
    }

    /// `bounces+alice=example.com-<tag>-<mac>@domain` → `['recipient', 'message_tag',
    /// 'verified', ...]`, or null when the address is not a VERP address.
    #[php(name = "decodeVerp")]
    pub fn decode_verp(address: &str, secret: Option<String>) -> PhpResult<Zval> {
        let decoded = decode_verp(address, secret.as_deref().map(str::as_bytes));
        from_json(&serde_json::to_value(decoded).unwrap_or(Json::Null))
    }
}
