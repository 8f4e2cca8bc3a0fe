//! Connection URLs and option words: never panics; what parses validates.
#![no_main]
use libfuzzer_sys::fuzz_target;
use polymailer::TransportConfig;

fuzz_target!(|s: &str| {
    if let Ok(c) = TransportConfig::from_url(s) {
        assert!(!c.host.contains(['\r', '\n', '\0']));
    }
});
