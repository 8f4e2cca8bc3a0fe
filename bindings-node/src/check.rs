//! Deliverability checks and DKIM keys: `index.js` flattens the options object into
//! key/value pairs for the core's option words; the report comes back as the core's JSON.

use napi::bindgen_prelude::*;
use napi_derive::napi;
use polymailer::check::{self, CheckOptions};
use polymailer::dkim::{generate_key, KeyAlgorithm};
use polymailer::{runtime, OptionValue, TransportConfig};

use crate::config::DkimOptions;
use crate::errors::{fields, ErrorFields};

/// One option: `key` and one of `text`, `number`, `flag` (a list option comes as several).
#[napi(object)]
pub struct CheckPair {
    pub key: String,
    pub text: Option<String>,
    pub number: Option<f64>,
    pub flag: Option<bool>,
}

/// `{ report }` (the core's JSON) and its `table`, or `{ error }`; never rejects.
#[napi(object)]
pub struct CheckOutcome {
    pub report: Option<String>,
    pub table: Option<String>,
    pub error: Option<ErrorFields>,
}

fn options(pairs: Vec<CheckPair>, dkim: Option<DkimOptions>) -> polymailer::Result<CheckOptions> {
    let mut o = CheckOptions::default();
    for p in pairs {
        let value = match (p.text, p.number, p.flag) {
            (_, _, Some(b)) => OptionValue::Flag(b),
            (_, Some(n), _) => OptionValue::Number(n),
            (t, _, _) => OptionValue::Text(t.unwrap_or_default()),
        };
        o.set_option(&p.key, value)?;
    }
    if let Some(d) = dkim {
        o.dkim = Some(d.config()?);
    }
    Ok(o)
}

fn outcome(result: polymailer::Result<check::DomainReport>) -> CheckOutcome {
    match result {
        Ok(r) => CheckOutcome {
            report: Some(r.to_json()),
            table: Some(r.to_table(false)),
            error: None,
        },
        Err(e) => CheckOutcome {
            report: None,
            table: None,
            error: Some(fields(&e)),
        },
    }
}

/// Runs the check on the core runtime; the Promise settles with a [`CheckOutcome`].
pub fn promise<'env, F>(env: &'env Env, work: F) -> Result<Object<'env>>
where
    F: std::future::Future<Output = polymailer::Result<check::DomainReport>> + Send + 'static,
{
    let (deferred, promise) = env.create_deferred::<CheckOutcome, _>()?;
    runtime::spawn(async move {
        let result = outcome(work.await);
        deferred.resolve(move |_| Ok(result));
    });
    Ok(promise)
}

#[napi(ts_return_type = "Promise<CheckOutcome>")]
#[cfg_attr(test, allow(dead_code))]
pub fn check_domain<'env>(
    env: &'env Env,
    domain: String,
    pairs: Vec<CheckPair>,
    dkim: Option<DkimOptions>,
) -> Result<Object<'env>> {
    let options = options(pairs, dkim);
    promise(env, async move { check::check_domain(&domain, &options?).await })
}

/// The transport's own check (`transporter.preflight()`).
pub fn preflight<'env>(
    env: &'env Env,
    config: TransportConfig,
    domain: Option<String>,
    pairs: Vec<CheckPair>,
) -> Result<Object<'env>> {
    let options = options(pairs, None);
    promise(env, async move {
        check::preflight(&config, domain.as_deref(), options?).await
    })
}

#[napi(object)]
pub struct DkimKey {
    pub algorithm: String,
    pub bits: u32,
    pub private_key: String,
    pub record_name: String,
    pub record_value: String,
    pub record_strings: Vec<String>,
    pub zone_line: String,
}

/// `{ key }` or `{ error }`.
#[napi(object)]
pub struct KeygenOutcome {
    pub key: Option<DkimKey>,
    pub error: Option<ErrorFields>,
}

#[napi]
#[cfg_attr(test, allow(dead_code))]
pub fn dkim_keygen(domain: String, selector: String, algorithm: Option<String>) -> KeygenOutcome {
    let made = algorithm
        .as_deref()
        .unwrap_or("rsa")
        .parse::<KeyAlgorithm>()
        .and_then(|a| generate_key(a, &domain, &selector));
    match made {
        Ok(k) => KeygenOutcome {
            key: Some(DkimKey {
                algorithm: k.algorithm.to_string(),
                bits: k.bits as u32,
                zone_line: k.zone_line(),
                private_key: k.private_key_pem,
                record_name: k.record_name,
                record_value: k.record_value,
                record_strings: k.record_strings,
            }),
            error: None,
        },
        Err(e) => KeygenOutcome {
            key: None,
            error: Some(fields(&e)),
        },
    }
}
