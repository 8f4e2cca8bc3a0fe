//! The python binding: translates types, errors and idioms to and from `polymailer`; it lands with its own issue.
