//! Bounces, reports and VERP: bytes in, the core's report out as its JSON (which
//! `polymailer._bounces` turns into dataclasses). The GIL is released while parsing.

use pyo3::prelude::*;

use polymailer::bounce::{decode_verp as core_decode, parse_bounce as core_parse, ParseOptions};

fn secret_bytes(secret: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<u8>>> {
    secret
        .filter(|s| !s.is_none())
        .map(|s| match s.extract::<Vec<u8>>() {
            Ok(b) if !s.is_instance_of::<pyo3::types::PyString>() => Ok(b),
            _ => s.extract::<String>().map(String::into_bytes),
        })
        .transpose()
}

/// The report as the core's JSON, and as the text `polymailer parse-bounce` prints.
#[pyfunction]
#[pyo3(signature = (raw, verp_secret=None, max_size=None))]
pub fn parse_bounce(
    py: Python<'_>,
    raw: Vec<u8>,
    verp_secret: Option<&Bound<'_, PyAny>>,
    max_size: Option<usize>,
) -> PyResult<(String, String)> {
    let mut options = ParseOptions {
        verp_secret: secret_bytes(verp_secret)?,
        ..ParseOptions::default()
    };
    if let Some(m) = max_size {
        options.max_size = m;
    }
    let report = py.detach(|| core_parse(&raw, &options));
    Ok((report.to_json(), report.to_table()))
}

/// The decoded VERP address as JSON (`null` when the address is not one).
#[pyfunction]
#[pyo3(signature = (address, secret=None))]
pub fn decode_verp(address: &str, secret: Option<&Bound<'_, PyAny>>) -> PyResult<String> {
    let secret = secret_bytes(secret)?;
    Ok(serde_json::to_string(&core_decode(address, secret.as_deref())).unwrap_or_else(|_| "null".into()))
}
