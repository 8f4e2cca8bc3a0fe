//! Deliverability checks and DKIM keys: options in, the core's report out (as the core's JSON,
//! which `polymailer._deliverability` turns into objects). The GIL is released while DNS works.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use polymailer::check::{self, CheckOptions};
use polymailer::dkim::{generate_key, KeyAlgorithm};
use polymailer::{Error, TransportConfig};

use crate::errors::err;

/// `{"timeout": 2, "dnsbl": ["a", "b"], "dkim": {...}}` by the core's option words.
pub fn options(py: Python<'_>, given: Option<&Bound<'_, PyDict>>) -> PyResult<CheckOptions> {
    let given = given
        .map(|d| crate::message::value(d.as_any()))
        .transpose()?
        .unwrap_or_default();
    CheckOptions::from_value(&given).map_err(|e| err(py, e))
}

/// The report as the core's JSON, and as the table `polymailer check` prints.
#[pyfunction]
#[pyo3(signature = (domain, options=None))]
pub fn check_domain(py: Python<'_>, domain: &str, options: Option<&Bound<'_, PyDict>>) -> PyResult<(String, String)> {
    let o = self::options(py, options)?;
    py.detach(|| check::check_domain_blocking(domain, &o))
        .map(|r| (r.to_json(), r.to_table(false)))
        .map_err(|e| err(py, e))
}

/// [`check_domain`] for a mailer's own configuration (`Mailer.preflight`).
pub fn preflight(
    py: Python<'_>,
    config: &TransportConfig,
    domain: Option<&str>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<(String, String)> {
    let o = self::options(py, options)?;
    py.detach(|| check::preflight_blocking(config, domain, o))
        .map(|r| (r.to_json(), r.to_table(false)))
        .map_err(|e| err(py, e))
}

/// `{algorithm, bits, private_key_pem, record_name, record_value, record_strings, zone_line}`.
#[pyfunction]
#[pyo3(signature = (domain, selector, algorithm="rsa"))]
pub fn dkim_keygen<'py>(
    py: Python<'py>,
    domain: &str,
    selector: &str,
    algorithm: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let algorithm: KeyAlgorithm = algorithm.parse().map_err(|e: Error| err(py, e))?;
    let key = py
        .detach(|| generate_key(algorithm, domain, selector))
        .map_err(|e| err(py, e))?;
    let d = PyDict::new(py);
    d.set_item("algorithm", key.algorithm)?;
    d.set_item("bits", key.bits)?;
    d.set_item("private_key_pem", &key.private_key_pem)?;
    d.set_item("record_name", &key.record_name)?;
    d.set_item("record_value", &key.record_value)?;
    d.set_item("record_strings", &key.record_strings)?;
    d.set_item("zone_line", key.zone_line())?;
    Ok(d)
}

/// The `polymailer` command (the console script): argv with the program name first.
#[pyfunction]
pub fn cli_main(py: Python<'_>, argv: Vec<String>) -> i32 {
    py.detach(|| polymailer_cli::run(argv))
}
