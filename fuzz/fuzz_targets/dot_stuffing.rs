//! The DATA codec: chunked encoding (cut anywhere) equals whole encoding, the output has only CRLF line ends,
//! and the end-of-data sequence appears exactly once, at the end.
#![no_main]
use libfuzzer_sys::fuzz_target;
use polymailer::connection::{encode_data, DataEncoder};

fuzz_target!(|input: (Vec<u8>, u8)| {
    let (data, cut) = input;
    let mut whole = Vec::new();
    encode_data(&data, &mut whole);
    let mut chunked = Vec::new();
    let mut enc = DataEncoder::default();
    let step = usize::from(cut).max(1);
    for part in data.chunks(step) {
        enc.push(part, &mut chunked);
    }
    enc.finish(&mut chunked);
    assert_eq!(whole, chunked);
    if data.is_empty() {
        assert_eq!(whole, b".\r\n");
        return;
    }
    assert!(whole.ends_with(b"\r\n.\r\n"));
    let body = &whole[..whole.len() - 3];
    assert!(!body.windows(5).any(|w| w == b"\r\n.\r\n"), "end of data inside the content");
    for (i, &b) in whole.iter().enumerate() {
        if b == b'\n' {
            assert!(i > 0 && whole[i - 1] == b'\r', "bare LF at {i}");
        }
        if b == b'\r' {
            assert!(whole.get(i + 1) == Some(&b'\n'), "bare CR at {i}");
        }
    }
});
