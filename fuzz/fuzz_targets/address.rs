//! Address lists and envelope values: whatever is accepted carries no CR, LF or NUL and no
//! angle bracket, so it cannot add or change an SMTP command.
#![no_main]
use libfuzzer_sys::fuzz_target;
use polymailer::address::{envelope_address, envelope_recipients, parse_list, validate_address};

fuzz_target!(|s: &str| {
    let clean = |a: &str| !a.contains(['\r', '\n', '\0', '<', '>']);
    if let Ok(list) = parse_list(s) {
        for m in list {
            assert!(validate_address("a", &m.address).is_ok());
            assert!(!m.address.contains(['\r', '\n', '\0']));
        }
    }
    if let Ok(Some(a)) = envelope_address("from", s) {
        assert!(clean(&a) || a.starts_with('"'), "{a:?}");
        assert!(!a.contains(['\r', '\n', '\0']));
    }
    if let Ok(list) = envelope_recipients("to", &[s.to_string()]) {
        assert!(list.iter().all(|a| !a.contains(['\r', '\n', '\0'])));
    }
});
