//! The Python binding: `polymailer._native`. It translates types, errors and idioms; all
//! behaviour lives in the `polymailer` core crate. Files mirror the core: `config.rs`,
//! `message.rs`, `connection.rs`, `mailer.rs`, `errors.rs`.

use pyo3::prelude::*;

mod bounce;
mod check;
mod config;
mod connection;
mod errors;
mod mailer;
mod message;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<message::PyMessage>()?;
    m.add_class::<mailer::PyMailer>()?;
    m.add_class::<connection::PyConnection>()?;
    m.add_class::<connection::PySendReport>()?;
    m.add_function(wrap_pyfunction!(connection::prepare_raw, m)?)?;
    m.add_function(wrap_pyfunction!(config::service, m)?)?;
    m.add_function(wrap_pyfunction!(check::check_domain, m)?)?;
    m.add_function(wrap_pyfunction!(check::dkim_keygen, m)?)?;
    m.add_function(wrap_pyfunction!(check::cli_main, m)?)?;
    m.add_function(wrap_pyfunction!(bounce::parse_bounce, m)?)?;
    m.add_function(wrap_pyfunction!(bounce::decode_verp, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
