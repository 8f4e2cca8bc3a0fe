//! Bounces and reports: the sample corpus (`tests/bounces/expected.json`), bounds on hostile
//! input, VERP sending (one transaction per recipient, each address verifiable), a real
//! Postfix's own bounce parsed, and one-click unsubscribe headers signed with DKIM.

mod common;

use std::io::Write;

use common::*;
use polymailer::bounce::{decode_verp, parse_bounce, ParseOptions, ReportKind, Verp};
use polymailer::list::{ListEntry, ListHeaders};
use polymailer::*;
use serde_json::Value;

fn corpus() -> Value {
    serde_json::from_slice(&std::fs::read(root().join("tests/bounces/expected.json")).unwrap()).unwrap()
}

fn options(secret: &str) -> ParseOptions {
    ParseOptions {
        verp_secret: Some(secret.as_bytes().to_vec()),
        ..Default::default()
    }
}

/// `expected`'s keys hold in `got` (`verp_recipient` / `verified` are the VERP's fields).
fn check_event(file: &str, expected: &Value, got: &Value) {
    for (k, want) in expected.as_object().unwrap() {
        let have = match k.as_str() {
            "verp_recipient" => got["verp"].get("recipient").cloned().unwrap_or(Value::Null),
            "verified" => got["verp"]["verified"].clone(),
            _ => got[k].clone(),
        };
        assert_eq!(&have, want, "{file}: event field {k} in {got}");
    }
}

fn check(file: &str, expected: &Value, got: &Value) {
    for (k, want) in expected.as_object().unwrap() {
        match k.as_str() {
            "events" => {
                let events = got["events"].as_array().unwrap();
                assert_eq!(events.len(), want.as_array().unwrap().len(), "{file}: events {got}");
                for (w, g) in want.as_array().unwrap().iter().zip(events) {
                    check_event(file, w, g);
                }
            }
            "dmarc" => {
                for (dk, dv) in want.as_object().unwrap() {
                    let have = if dk == "records" {
                        Value::from(got["dmarc"]["records"].as_array().unwrap().len())
                    } else {
                        got["dmarc"][dk].clone()
                    };
                    assert_eq!(&have, dv, "{file}: dmarc.{dk}");
                }
            }
            _ => assert_eq!(&got[k], want, "{file}: {k} in {got}"),
        }
    }
}

#[test]
fn sample_corpus_lf_and_crlf() {
    let c = corpus();
    let o = options(c["secret"].as_str().unwrap());
    let files = c["files"].as_object().unwrap();
    assert_eq!(files.len(), 13);
    for (file, expected) in files {
        let raw = std::fs::read(root().join("tests/bounces").join(file)).unwrap();
        let got: Value = serde_json::from_str(&parse_bounce(&raw, &o).to_json()).unwrap();
        check(file, expected, &got);
        if file.ends_with(".eml") {
            let crlf = String::from_utf8(raw.clone()).unwrap().replace('\n', "\r\n");
            let got: Value = serde_json::from_str(&parse_bounce(crlf.as_bytes(), &o).to_json()).unwrap();
            check(&format!("{file} (CRLF)"), expected, &got);
        }
        // Without the secret the VERP address is still decoded, never verified.
        let unverified = parse_bounce(&raw, &ParseOptions::default());
        assert!(unverified
            .events
            .iter()
            .all(|e| e.verp.as_ref().is_none_or(|v| !v.verified)));
    }
}

#[test]
fn truncated_and_hostile_input_is_bounded() {
    let o = ParseOptions::default();
    // Every sample cut short anywhere: a result, never a panic.
    for entry in std::fs::read_dir(root().join("tests/bounces")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            continue;
        }
        let raw = std::fs::read(path).unwrap();
        for cut in (0..raw.len()).step_by(7) {
            let _ = parse_bounce(&raw[..cut], &o);
        }
    }
    // Inputs the fuzzer found (tests/bounces/fuzz/): a result, in debug builds too.
    for entry in std::fs::read_dir(root().join("tests/bounces/fuzz")).unwrap() {
        let raw = std::fs::read(entry.unwrap().path()).unwrap();
        let _ = parse_bounce(&raw, &o);
    }
    // A gzip bomb: 64 MiB of zeros in ~64 KB, above the 32 MiB report limit.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        gz.write_all(&zeros).unwrap();
    }
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 200_000);
    let r = parse_bounce(&bomb, &o);
    assert_eq!(r.kind, ReportKind::None);
    assert!(r.note.as_deref().unwrap().contains("limit"), "{:?}", r.note);
    // The same bomb attached to a report mail.
    let mail = format!(
        "From: dmarc@x.example\r\nTo: y@example.org\r\nSubject: Report\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/gzip; name=r.xml.gz\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
        base64_lines(&bomb)
    );
    let r = parse_bounce(mail.as_bytes(), &o);
    assert_eq!(r.kind, ReportKind::None);
    assert!(r.note.as_deref().unwrap().contains("limit"), "{:?}", r.note);
    // A zip whose one file expands past the limit.
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file(
        "r.xml",
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated),
    )
    .unwrap();
    for _ in 0..40 {
        zip.write_all(&zeros).unwrap();
    }
    let zbomb = zip.finish().unwrap().into_inner();
    let r = parse_bounce(&zbomb, &o);
    assert_eq!(r.kind, ReportKind::None);
    assert!(r.note.as_deref().unwrap().contains("limit"), "{:?}", r.note);
    // 10,000 nested multiparts: refused before parsing.
    let mut deep = String::from("From: a@example.com\r\nMIME-Version: 1.0\r\n");
    for i in 0..10_000 {
        deep.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n"
        ));
    }
    let r = parse_bounce(deep.as_bytes(), &o);
    assert_eq!(r.kind, ReportKind::None);
    assert!(r.note.as_deref().unwrap().contains("nesting"), "{:?}", r.note);
    // Larger than max_size: not read.
    let small = ParseOptions { max_size: 100, ..o };
    let r = parse_bounce(&[b'a'; 101], &small);
    assert_eq!(r.kind, ReportKind::None);
}

fn base64_lines(bytes: &[u8]) -> String {
    use base64::Engine;
    let b = base64::engine::general_purpose::STANDARD.encode(bytes);
    b.as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("\r\n")
}

const SECRET: &[u8] = b"a secret of at least 16 bytes";

#[test]
fn verp_sends_one_transaction_per_recipient() {
    let server = Server::capture(&["--pipelining", "--refuse", "refused@example.net"]);
    let verp = Verp::new("bounces.example.org", SECRET).unwrap();
    let mailer = Mailer::new(server.config().verp(verp)).unwrap();
    let mut msg = simple_message("verp");
    msg.message_id = Some("<verp-1@example.com>".into());
    msg.to = ["a@example.com", "b@example.net", "refused@example.net"]
        .iter()
        .map(|a| Mailbox::new(None, *a))
        .collect();
    let report = mailer.send_blocking(&msg).unwrap();
    assert_eq!(report.accepted, ["a@example.com", "b@example.net"]);
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.rejected[0].address, "refused@example.net");
    assert_eq!(report.rejected[0].code, 550);
    let got = server.wait_for(2);
    assert_eq!(got.len(), 2, "one transaction per accepted recipient");
    for g in &got {
        let rcpts = g.rcpt_tos();
        assert_eq!(rcpts.len(), 1);
        let d = decode_verp(&g.mail_from(), Some(SECRET)).expect("a VERP sender");
        assert!(d.verified);
        assert_eq!(d.recipient, rcpts[0]);
        assert_eq!(d.message_tag, polymailer::bounce::message_tag("verp-1@example.com"));
        assert!(g.mail_from().ends_with("@bounces.example.org"));
    }
    // Every recipient refused: the error, with each refusal.
    let mut all_bad = simple_message("all refused");
    all_bad.to = vec![Mailbox::new(None, "refused@example.net")];
    let err = mailer.send_blocking(&all_bad).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RecipientsRefused);
}

/// Postfix accepts mail for bounce.example and fails its delivery: its own DSN comes back to
/// the VERP sender (a local address, so it lands in the Maildir), and parses to the recipient.
#[test]
fn postfix_bounce_parses_to_the_recipient() {
    let server = Server::postfix(&[]);
    let verp = Verp::new("example.com", SECRET).unwrap();
    let config = TransportConfig::new("127.0.0.1", server.port)
        .security(Security::None)
        .verp(verp);
    let mailer = Mailer::new(config).unwrap();
    let mut msg = simple_message("to bounce");
    msg.message_id = Some("<pf-bounce-1@example.com>".into());
    msg.to = vec![
        Mailbox::new(None, "nobody@bounce.example"),
        Mailbox::new(None, "rcpt@example.com"),
    ];
    let report = mailer.send_blocking(&msg).unwrap();
    assert_eq!(report.accepted.len(), 2, "{report:?}");
    // The delivered copy and the bounce: two messages in the Maildir.
    let got = server.wait_for(2);
    let bounce = got
        .iter()
        .find(|g| g.mail_from().is_empty())
        .unwrap_or_else(|| panic!("no bounce among {:?}", got.iter().map(|g| &g.meta).collect::<Vec<_>>()));
    let r = parse_bounce(&bounce.data, &options(std::str::from_utf8(SECRET).unwrap()));
    assert_eq!(r.kind, ReportKind::Dsn, "{}", bounce.text());
    assert!(r.standard);
    assert_eq!(r.reporting_mta.as_deref(), Some("postfix.test"));
    assert_eq!(r.events.len(), 1, "{r:?}");
    let e = &r.events[0];
    assert_eq!(e.recipient.as_deref(), Some("nobody@bounce.example"));
    assert_eq!(e.action.as_str(), "failed");
    assert_eq!(e.status.as_deref(), Some("5.1.1"));
    assert_eq!(e.bounce_class, Some("hard"));
    assert_eq!(e.original_message_id.as_deref(), Some("pf-bounce-1@example.com"));
    let v = e.verp.as_ref().expect("the bounce went to the VERP address");
    assert!(v.verified);
    assert_eq!(v.recipient, "nobody@bounce.example");
    assert_eq!(e.message_matches, Some(true));
}

#[test]
fn one_click_unsubscribe_is_signed() {
    let server = Server::capture(&[]);
    let key = std::fs::read_to_string(certs().join("dkim-rsa.pkcs8.pem")).unwrap();
    let dkim = DkimConfig::new(
        "example.com",
        "test",
        &key,
        None,
        Some(&["From".into(), "Subject".into()]),
    )
    .unwrap();
    let mailer = Mailer::new(server.config().dkim(dkim)).unwrap();
    let mut msg = simple_message("one click");
    let mut list = ListHeaders::default();
    list.add(
        "unsubscribe",
        vec![
            ListEntry::new("https://example.com/u/abc"),
            ListEntry::new("unsubscribe@example.com"),
        ],
    );
    list.one_click = true;
    msg.list = list;
    mailer.send_blocking(&msg).unwrap();
    let got = server.wait_for(1);
    // Long header lines are folded; unfolded they read as given.
    let text = got[0].text().replace("\r\n ", " ");
    assert!(
        text.contains("List-Unsubscribe: <https://example.com/u/abc>, <mailto:unsubscribe@example.com>\r\n"),
        "{text}"
    );
    assert!(
        text.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"),
        "{text}"
    );
    // The configured list named only From and Subject; both list headers are signed anyway.
    let sig = text.split("DKIM-Signature:").nth(1).unwrap();
    let h = sig
        .split("h=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .replace([' ', '\r', '\n', '\t'], "");
    let names: Vec<String> = h.split(':').map(|n| n.to_ascii_lowercase()).collect();
    assert!(
        names.contains(&"list-unsubscribe".into()) && names.contains(&"list-unsubscribe-post".into()),
        "{h}"
    );
    let (ok, out) = dkim_verify(&got[0].eml, &certs().join("dkim-rsa.txt"));
    assert!(ok, "{out}");

    // Custom headers take the same rules: one-click needs an https URL; bare URLs get brackets.
    let mut custom = simple_message("custom");
    custom.headers = vec![
        ("List-Unsubscribe".into(), "mailto:u@example.com".into()),
        ("List-Unsubscribe-Post".into(), "List-Unsubscribe=One-Click".into()),
    ];
    let err = mailer.send_blocking(&custom).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    custom.headers[0].1 = "https://example.com/u/1, u@example.com".into();
    // A name given twice is written twice, in order (lettre alone keeps the last).
    custom.headers.push(("X-Tag".into(), "first".into()));
    custom.headers.push(("X-Tag".into(), "second".into()));
    mailer.send_blocking(&custom).unwrap();
    let got = server.wait_for(2);
    let t = got[1].text();
    let (first, second) = (t.find("\r\nX-Tag: first\r\n"), t.find("\r\nX-Tag: second\r\n"));
    assert!(first.is_some() && second.is_some() && first < second, "{t}");
    assert!(
        second.unwrap() < t.find("\r\n\r\n").unwrap(),
        "in the header block: {t}"
    );
    assert!(got[1]
        .text()
        .replace("\r\n ", " ")
        .contains("List-Unsubscribe: <https://example.com/u/1>, <mailto:u@example.com>\r\n"));
    assert_eq!(server.messages().len(), 2, "the refused message was not sent");
}
