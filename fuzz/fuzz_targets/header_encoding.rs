//! Subjects, display names and custom header values: a built message never gains a header
//! line the caller did not ask for (RFC 2047 encoding and folding cannot inject).
#![no_main]
use libfuzzer_sys::fuzz_target;
use polymailer::{Mailbox, Message};

fuzz_target!(|input: (&str, &str, &str)| {
    let (subject, name, value) = input;
    let mut m = Message::new();
    m.from = Some(Mailbox::new(Some(name.to_string()), "a@example.com"));
    m.to.push(Mailbox::new(None, "b@example.com"));
    m.subject = Some(subject.to_string());
    m.headers.push(("X-Fuzz".into(), value.to_string()));
    m.text = Some("x".into());
    let Ok(p) = m.build() else { return };
    let bytes = p.content.into_bytes().unwrap();
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&bytes[..end]);
    let allowed = [
        "From", "To", "Subject", "X-Fuzz", "Message-ID", "Date", "MIME-Version", "Content-Type",
        "Content-Transfer-Encoding",
    ];
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let field = line.split(':').next().unwrap_or("");
        assert!(allowed.iter().any(|a| a.eq_ignore_ascii_case(field)), "unexpected header line {line:?}");
    }
    assert!(!head.contains('\0'));
});
