//! Deliverability checks and DKIM keys: the options object read by the core's option words;
//! the report comes back as the core's JSON.

use crate::errors::{fields, ErrorFields};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use polymailer::check::{self, CheckOptions};
use polymailer::dkim::{generate_key, KeyAlgorithm};
use polymailer::{runtime, TransportConfig};

/// `{ report }` (the core's JSON) and its `table`, or `{ error }`; never rejects.
#[napi(object)]
pub struct CheckOutcome {
    pub report: Option<String>,
    pub table: Option<String>,
    pub error: Option<ErrorFields>,
}

/// The options object (`dkim` as `createTransport` takes it) by the core's option words.
fn options(options: Option<Unknown<'_>>) -> napi::Result<polymailer::Result<CheckOptions>> {
    let given = options.map(crate::message::value).transpose()?.unwrap_or_default();
    Ok(CheckOptions::from_value(&given))
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
pub fn check_domain<'env>(env: &'env Env, domain: String, options: Option<Unknown<'env>>) -> Result<Object<'env>> {
    let options = self::options(options)?;
    promise(env, async move { check::check_domain(&domain, &options?).await })
}

/// The transport's own check (`transporter.preflight()`).
pub fn preflight<'env>(
    env: &'env Env,
    config: TransportConfig,
    domain: Option<String>,
    options: Option<Unknown<'env>>,
) -> Result<Object<'env>> {
    let options = self::options(options)?;
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
