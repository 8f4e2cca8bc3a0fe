//! Bounces, reports and VERP: bytes in, the core's report out as its JSON (index.js gives the
//! keys their camelCase names).

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use polymailer::bounce::{decode_verp as core_decode, parse_bounce as core_parse, ParseOptions};

/// `{ report }` (the core's JSON) and its `table`.
#[napi(object)]
pub struct BounceOutcome {
    pub report: String,
    pub table: String,
}

#[napi]
#[cfg_attr(test, allow(dead_code))] // called from JS only
pub fn parse_bounce(raw: Buffer, verp_secret: Option<Buffer>, max_size: Option<u32>) -> BounceOutcome {
    let mut options = ParseOptions {
        verp_secret: verp_secret.map(|s| s.to_vec()),
        ..ParseOptions::default()
    };
    if let Some(m) = max_size {
        options.max_size = m as usize;
    }
    let report = core_parse(&raw, &options);
    BounceOutcome {
        report: report.to_json(),
        table: report.to_table(),
    }
}

/// The decoded address as JSON (`null` when it is not a VERP address).
#[napi]
#[cfg_attr(test, allow(dead_code))]
pub fn decode_verp(address: String, secret: Option<Buffer>) -> String {
    let secret = secret.map(|s| s.to_vec());
    serde_json::to_string(&core_decode(&address, secret.as_deref())).unwrap_or_else(|_| "null".into())
}
