//! Server replies: never panics, a complete reply uses at most the bytes given and has a
//! three-digit code.
#![no_main]
use libfuzzer_sys::fuzz_target;
use polymailer::reply::{parse, Parsed};

fuzz_target!(|data: &[u8]| {
    if let Parsed::Complete(reply, used) = parse(data) {
        assert!(used <= data.len() && used > 0);
        assert!((100..1000).contains(&reply.code));
        let _ = reply.to_string();
    }
});
