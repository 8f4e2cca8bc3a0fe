//! Bounce, ARF and DMARC parsing: never panics, always a report (`none` for anything else),
//! and VERP decoding of any address never panics either.
#![no_main]
use libfuzzer_sys::fuzz_target;
use polymailer::bounce::{decode_verp, parse_bounce, ParseOptions, ReportKind};

fuzz_target!(|data: &[u8]| {
    let options = ParseOptions {
        verp_secret: Some(b"fuzzing secret, 16+ bytes".to_vec()),
        max_report_size: 1 << 20,
        ..ParseOptions::default()
    };
    let r = parse_bounce(data, &options);
    if r.kind == ReportKind::None {
        assert!(r.events.is_empty() && r.dmarc.is_none());
    }
    let _ = r.to_json();
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = decode_verp(s, Some(b"fuzzing secret, 16+ bytes"));
    }
});
