//! The session engine over an in-memory duplex (`Connection::over`): scripted servers for the
//! protocol edge cases, with no socket and no server installed. `make check` runs these.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use polymailer::{
    runtime, Connection, Envelope, ErrorKind, Payload, Prepared, Security, Stage, Timeouts, TransportConfig,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream};

type Seen = Arc<Mutex<Vec<String>>>;

/// A scripted server on the other end of a duplex: `greeting` first, then for every command
/// line `answer(line)` gives the bytes to write (None hangs up). DATA content is read up to the
/// final dot and answered by `answer(".")`.
fn server(greeting: &'static str, answer: impl Fn(&str) -> Option<String> + Send + 'static) -> (DuplexStream, Seen) {
    let (client, server) = tokio::io::duplex(1 << 20);
    let seen: Seen = Arc::default();
    let log = seen.clone();
    runtime::get().spawn(async move {
        let mut server = BufReader::new(server);
        if server.get_mut().write_all(greeting.as_bytes()).await.is_err() {
            return;
        }
        let mut in_data = false;
        loop {
            let mut line = String::new();
            if server.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end_matches(['\r', '\n']).to_string();
            if in_data && line != "." {
                continue;
            }
            in_data = false;
            log.lock().unwrap().push(line.clone());
            let Some(reply) = answer(&line) else { return };
            if reply.starts_with("354") {
                in_data = true;
            }
            if server.get_mut().write_all(reply.as_bytes()).await.is_err() {
                return;
            }
        }
    });
    (client, seen)
}

fn config() -> Arc<TransportConfig> {
    Arc::new(
        TransportConfig::new("mem.test", 25)
            .security(Security::None)
            .timeouts(Timeouts::all(Duration::from_secs(2))),
    )
}

fn message(n: usize) -> Prepared {
    Prepared {
        content: Payload::from(format!("Subject: m{n}\r\n\r\nbody {n}\r\n").into_bytes()),
        envelope: Envelope::new(Some("a@example.com".into()), vec!["b@example.com".into()]),
        message_id: None,
    }
}

/// A well-behaved server; `pipelining` announces PIPELINING.
fn normal(pipelining: bool) -> impl Fn(&str) -> Option<String> {
    move |line: &str| {
        let verb = line.split([' ', ':']).next().unwrap_or("").to_ascii_uppercase();
        Some(match verb.as_str() {
            "EHLO" if pipelining => "250-mem.test\r\n250 PIPELINING\r\n".into(),
            "EHLO" => "250 mem.test\r\n".into(),
            "DATA" => "354 go\r\n".into(),
            "QUIT" => "221 bye\r\n".into(),
            _ => "250 ok\r\n".into(),
        })
    }
}

#[test]
fn starttls_response_injection_is_refused() {
    runtime::block_on(async {
        let (io, _) = server("220 mem\r\n", |line| {
            Some(match line {
                l if l.starts_with("EHLO") => "250-mem\r\n250 STARTTLS\r\n".into(),
                // Bytes after the 220 would be read as if they came over TLS.
                "STARTTLS" => "220 go ahead\r\n250 injected\r\n".into(),
                _ => "250 ok\r\n".into(),
            })
        });
        let mut c = Connection::over(io, config()).await.unwrap();
        c.hello().await.unwrap();
        let e = c.starttls(None).await.unwrap_err();
        assert_eq!((e.kind(), e.stage()), (ErrorKind::Protocol, Stage::StartTls), "{e}");
        assert!(!c.is_usable());
    });
}

#[test]
fn multiline_reply_split_across_reads() {
    runtime::block_on(async {
        let (client, server) = tokio::io::duplex(1 << 16);
        runtime::get().spawn(async move {
            let mut s = BufReader::new(server);
            s.get_mut().write_all(b"220 mem\r\n").await.unwrap();
            let mut line = String::new();
            s.read_line(&mut line).await.unwrap();
            for piece in ["250-mem.te", "st\r\n250-PIPE", "LINING\r", "\n250 SIZE 1000\r\n"] {
                s.get_mut().write_all(piece.as_bytes()).await.unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let mut rest = Vec::new();
            let _ = s.read_to_end(&mut rest).await;
        });
        let mut c = Connection::over(client, config()).await.unwrap();
        let reply = c.hello().await.unwrap();
        assert_eq!(reply.lines.len(), 3);
        assert!(c.extensions().pipelining());
        assert_eq!(c.extensions().max_size(), Some(1000));
    });
}

#[test]
fn invalid_and_overlong_replies_are_protocol_errors() {
    runtime::block_on(async {
        let (io, _) = server("220 mem\r\n", |_| Some("hello there\r\n".into()));
        let mut c = Connection::over(io, config()).await.unwrap();
        let e = c.hello().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");

        let (io, _) = server("220 mem\r\n", |_| Some(format!("250 {}", "x".repeat(64 * 1024))));
        let mut c = Connection::over(io, config()).await.unwrap();
        let e = c.hello().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");

        let (io, _) = server("hello\r\n", normal(false));
        let e = Connection::over(io, config()).await.unwrap_err();
        assert_eq!((e.kind(), e.stage()), (ErrorKind::Protocol, Stage::Greeting), "{e}");
    });
}

/// 421 in the middle of a pipelined batch: the message before it is sent, the one it answered
/// fails with 421, the ones behind it are marked not sent (the mailer resends those).
#[test]
fn reply_421_mid_batch() {
    runtime::block_on(async {
        let mails = Arc::new(Mutex::new(0));
        let (io, seen) = server("220 mem\r\n", move |line| {
            if line.starts_with("MAIL") {
                let mut n = mails.lock().unwrap();
                *n += 1;
                if *n == 2 {
                    return Some("421 4.3.2 closing\r\n".into());
                }
            }
            normal(true)(line)
        });
        let mut c = Connection::over(io, config()).await.unwrap();
        let batch = [message(1), message(2), message(3)];
        let refs: Vec<&Prepared> = batch.iter().collect();
        let results = c.send_batch(&refs).await;
        assert!(results[0].is_ok(), "{:?}", results[0]);
        let second = results[1].as_ref().unwrap_err();
        assert_eq!(second.code(), Some(421), "{second}");
        assert!(!second.was_not_sent());
        let third = results[2].as_ref().unwrap_err();
        assert!(third.was_not_sent(), "{third}");
        assert!(!c.is_usable());
        let seen = seen.lock().unwrap();
        assert_eq!(seen.iter().filter(|l| l.as_str() == ".").count(), 1, "{seen:?}");
    });
}

/// The server hangs up after each command in turn: a typed error at that command's stage,
/// never a success, with or without PIPELINING.
#[test]
fn disconnect_at_every_stage() {
    let stages = [
        ("EHLO", Stage::Ehlo),
        ("MAIL", Stage::Mail),
        ("RCPT", Stage::Rcpt),
        ("DATA", Stage::Data),
        (".", Stage::Message),
    ];
    for pipelining in [false, true] {
        for (verb, stage) in stages {
            runtime::block_on(async {
                let (io, _) = server("220 mem\r\n", move |line| {
                    if line.starts_with(verb) {
                        None
                    } else {
                        normal(pipelining)(line)
                    }
                });
                let mut c = Connection::over(io, config()).await.unwrap();
                let e = c.send(&message(1)).await.unwrap_err();
                assert_eq!(e.kind(), ErrorKind::Connection, "{verb} pipelining={pipelining}: {e}");
                assert_eq!(e.stage(), stage, "{verb} pipelining={pipelining}: {e}");
            });
        }
    }
}

#[test]
fn unsolicited_replies_are_refused_before_the_next_command() {
    runtime::block_on(async {
        let (io, seen) = server("220 mem\r\n250 extra\r\n", normal(false));
        let mut c = Connection::over(io, config()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let e = c.send(&message(1)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
        assert!(seen.lock().unwrap().is_empty(), "nothing was sent");
    });
}

/// One engine, two modes: the same outcomes with and without PIPELINING, and what reaches
/// the server differs only as the mode allows (no RCPT after a refused MAIL when sequential).
#[test]
fn refusals_are_handled_alike_with_and_without_pipelining() {
    for pipelining in [false, true] {
        runtime::block_on(async {
            // As a real server: DATA only after an accepted MAIL and recipient.
            let state = Mutex::new((false, 0usize));
            let (io, seen) = server("220 mem\r\n", move |line| {
                let upper = line.to_ascii_uppercase();
                let mut st = state.lock().unwrap();
                if upper.starts_with("MAIL") {
                    *st = (!upper.starts_with("MAIL FROM:<REFUSED@"), 0);
                    if !st.0 {
                        return Some("550 5.7.1 sender refused\r\n".into());
                    }
                } else if upper.starts_with("RCPT") {
                    if !st.0 {
                        return Some("503 5.5.1 MAIL first\r\n".into());
                    }
                    if upper.starts_with("RCPT TO:<NOBODY@") {
                        return Some("550 5.1.1 no such user\r\n".into());
                    }
                    st.1 += 1;
                } else if upper == "DATA" && st.1 == 0 {
                    return Some("554 5.5.1 no valid recipients\r\n".into());
                } else if upper == "RSET" || upper == "." {
                    *st = (false, 0);
                }
                normal(pipelining)(line)
            });
            let mut c = Connection::over(io, config()).await.unwrap();
            c.hello().await.unwrap();
            let with = |from: &str, to: &[&str]| Prepared {
                envelope: Envelope::new(Some(from.into()), to.iter().map(|t| t.to_string()).collect()),
                ..message(0)
            };
            let sender_refused = with("refused@example.com", &["b@example.com"]);
            let all_refused = with("a@example.com", &["nobody@example.com"]);
            let partial = with("a@example.com", &["nobody@example.com", "b@example.com"]);
            let results = c.send_batch(&[&sender_refused, &all_refused, &partial]).await;
            let e = results[0].as_ref().unwrap_err();
            assert_eq!((e.kind(), e.code()), (ErrorKind::SenderRefused, Some(550)));
            let e = results[1].as_ref().unwrap_err();
            assert_eq!((e.kind(), e.code()), (ErrorKind::RecipientsRefused, Some(550)));
            let report = results[2].as_ref().unwrap();
            assert_eq!(report.accepted, ["b@example.com"]);
            assert_eq!(report.rejected[0].address, "nobody@example.com");
            assert!(c.is_usable());
            let seen = seen.lock().unwrap().clone();
            let rsets = seen.iter().filter(|l| l.as_str() == "RSET").count();
            assert_eq!(rsets, 1, "one RSET, after the transaction left open: {seen:?}");
            assert_eq!(seen.iter().filter(|l| l.as_str() == ".").count(), 1, "{seen:?}");
            if !pipelining {
                let refused_at = seen.iter().position(|l| l.starts_with("MAIL FROM:<refused@")).unwrap();
                assert!(
                    seen[refused_at + 1].starts_with("MAIL FROM:<a@"),
                    "no RCPT after a refused MAIL: {seen:?}"
                );
            }
        });
    }
}

/// A CHUNKING server: commands by line; after `BDAT n LAST` exactly n bytes of content, kept.
/// `rcpt(addr)` answers each RCPT; `last(accepted_any)` the BDAT.
fn bdat_server(
    rcpt: impl Fn(&str) -> String + Send + 'static,
    last: impl Fn(bool) -> String + Send + 'static,
) -> (DuplexStream, Seen, Arc<Mutex<Vec<Vec<u8>>>>) {
    let (client, server) = tokio::io::duplex(1 << 20);
    let seen: Seen = Arc::default();
    let contents: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let (log, kept) = (seen.clone(), contents.clone());
    runtime::get().spawn(async move {
        let mut s = BufReader::new(server);
        s.get_mut().write_all(b"220 mem\r\n").await.unwrap();
        let mut any = false;
        loop {
            let mut line = String::new();
            if s.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end().to_string();
            log.lock().unwrap().push(line.clone());
            let reply = match line.split(' ').next().unwrap_or("") {
                "EHLO" => "250-mem\r\n250-PIPELINING\r\n250 CHUNKING\r\n".to_string(),
                "MAIL" => {
                    any = false;
                    "250 ok\r\n".into()
                }
                "RCPT" => {
                    let r = rcpt(line.trim_start_matches("RCPT TO:<").split('>').next().unwrap());
                    any |= r.starts_with('2');
                    r
                }
                "BDAT" => {
                    let n: usize = line.split(' ').nth(1).unwrap().parse().unwrap();
                    let mut content = vec![0; n];
                    s.read_exact(&mut content).await.unwrap();
                    kept.lock().unwrap().push(content);
                    last(any)
                }
                "QUIT" => "221 bye\r\n".into(),
                _ => "250 ok\r\n".into(),
            };
            s.get_mut().write_all(reply.as_bytes()).await.unwrap();
        }
    });
    (client, seen, contents)
}

#[test]
fn bdat_sends_exact_size_without_dot_stuffing_in_one_round_trip() {
    runtime::block_on(async {
        let (io, seen, contents) = bdat_server(|_| "250 ok\r\n".into(), |_| "250 2.0.0 queued\r\n".into());
        let mut c = Connection::over(io, config()).await.unwrap();
        let mut m = message(1);
        m.content = Payload::from(b"Subject: b\n\n.leading dot\nbare LF\r\nno final line end".to_vec());
        let r = c.send_batch(&[&m, &message(2)]).await;
        assert!(r.iter().all(|x| x.is_ok()), "{r:?}");
        let contents = contents.lock().unwrap().clone();
        assert_eq!(
            contents[0],
            b"Subject: b\r\n\r\n.leading dot\r\nbare LF\r\nno final line end\r\n"
        );
        assert_eq!(contents[1], b"Subject: m2\r\n\r\nbody 2\r\n");
        let seen = seen.lock().unwrap().clone();
        assert!(
            seen.iter().any(|l| l == &format!("BDAT {} LAST", contents[0].len())),
            "{seen:?}"
        );
        assert!(!seen.iter().any(|l| l == "DATA"), "{seen:?}");
    });
}

#[test]
fn bdat_refusals_are_reported_and_the_transaction_reset() {
    runtime::block_on(async {
        let (io, seen, _) = bdat_server(
            |r| {
                if r.starts_with("no") {
                    "550 5.1.1 no such user\r\n".into()
                } else {
                    "250 ok\r\n".into()
                }
            },
            |any| {
                if any {
                    "250 ok\r\n".into()
                } else {
                    "554 5.5.1 no valid recipients\r\n".into()
                }
            },
        );
        let mut c = Connection::over(io, config()).await.unwrap();
        let mut partly = message(1);
        partly.envelope.to = vec!["b@example.com".into(), "nobody@example.com".into()];
        let mut none = message(2);
        none.envelope.to = vec!["nobody@example.com".into()];
        let r = c.send_batch(&[&partly, &none, &message(3)]).await;
        let report = r[0].as_ref().unwrap();
        assert_eq!((report.accepted.len(), report.rejected[0].code), (1, 550));
        assert_eq!(r[1].as_ref().unwrap_err().kind(), ErrorKind::RecipientsRefused);
        assert!(r[2].is_ok(), "the connection stays usable: {:?}", r[2]);
        assert!(seen.lock().unwrap().iter().any(|l| l == "RSET"));
    });
}
