//! Protocol edge cases a real server cannot produce on demand, against scripted servers on
//! 127.0.0.1: replies sent ahead of their command, 421 at EHLO, a server that stops reading
//! during DATA. Each script records what it received, and the tests assert on that.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use polymailer::{Attachment, ErrorKind, Mailbox, Mailer, Message, Security, Stage, Timeouts, TransportConfig};

/// One scripted connection: `script` talks to the client; the lines it read come back.
fn scripted(script: impl FnOnce(&mut Session) + Send + 'static) -> (u16, mpsc::Receiver<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut s = Session::new(stream);
        script(&mut s);
        let _ = tx.send(s.seen);
    });
    (port, rx)
}

struct Session {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
    seen: Vec<String>,
}

impl Session {
    fn new(stream: TcpStream) -> Session {
        Session {
            reader: BufReader::new(stream.try_clone().unwrap()),
            stream,
            seen: Vec::new(),
        }
    }

    fn say(&mut self, text: &str) {
        let _ = self.stream.write_all(text.as_bytes());
    }

    /// Reads one command line (None at EOF).
    fn line(&mut self) -> Option<String> {
        let mut l = String::new();
        match self.reader.read_line(&mut l) {
            Ok(0) | Err(_) => None,
            Ok(_) => {
                let l = l.trim_end().to_string();
                self.seen.push(l.clone());
                Some(l)
            }
        }
    }

    /// Answers commands until DATA (354), then returns.
    fn until_data(&mut self) {
        while let Some(l) = self.line() {
            let upper = l.to_ascii_uppercase();
            if upper.starts_with("EHLO") {
                self.say("250-scripted\r\n250 SIZE 100000000\r\n");
            } else if upper == "DATA" {
                self.say("354 go ahead\r\n");
                return;
            } else {
                self.say("250 ok\r\n");
            }
        }
    }
}

fn config(port: u16, timeout: Duration) -> TransportConfig {
    TransportConfig::new("127.0.0.1", port)
        .security(Security::None)
        .timeouts(Timeouts::all(timeout))
}

fn message(body_bytes: usize) -> Message {
    let mut m = Message::new();
    m.from = Some(Mailbox::new(None, "a@example.com"));
    m.to.push(Mailbox::new(None, "b@example.com"));
    m.subject = Some("protocol".into());
    m.text = Some("hello".into());
    if body_bytes > 0 {
        m.attachments
            .push(Attachment::bytes("big.bin", vec![b'x'; body_bytes]).content_type("application/octet-stream"));
    }
    m
}

#[test]
fn replies_sent_ahead_of_their_command_are_a_protocol_error_and_nothing_is_sent() {
    let (port, seen) = scripted(|s| {
        // Three replies nobody asked for, in the greeting's packet.
        s.say("220 scripted\r\n250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n250 queued\r\n");
        while let Some(l) = s.line() {
            s.say(if l.eq_ignore_ascii_case("DATA") {
                "354 go\r\n"
            } else {
                "250 ok\r\n"
            });
        }
    });
    let err = Mailer::new(config(port, Duration::from_secs(5)))
        .unwrap()
        .send_blocking(&message(0))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    let seen = seen.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(!seen.iter().any(|l| l.starts_with("MAIL")), "{seen:?}");
}

#[test]
fn reply_421_at_ehlo_surfaces_its_code_and_no_helo_follows() {
    let (port, seen) = scripted(|s| {
        s.say("220 scripted\r\n");
        s.line();
        s.say("421 4.3.2 shutting down\r\n");
        // Read what the client still sends until it closes.
        while s.line().is_some() {}
    });
    let err = Mailer::new(config(port, Duration::from_secs(5)))
        .unwrap()
        .send_blocking(&message(0))
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.stage(), err.code()),
        (ErrorKind::Connection, Stage::Ehlo, Some(421))
    );
    assert_eq!(err.enhanced_status().map(|e| e.to_string()).as_deref(), Some("4.3.2"));
    assert!(err.is_transient());
    let seen = seen.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(!seen.iter().any(|l| l.starts_with("HELO")), "{seen:?}");
}

/// The data timeout bounds the time without progress: a server that takes DATA and then reads
/// nothing fails the send within about one timeout, whatever the message size.
#[test]
fn server_that_stops_reading_during_data_is_bounded_by_the_timeout() {
    let line = "The quick brown fox jumps over the lazy dog 0123456789\n";
    let mut text_body = message(0);
    text_body.text = Some(line.repeat((10 << 20) / line.len()));
    for (size, msg) in [
        (2 << 20, message(2 << 20)),
        (10 << 20, message(10 << 20)),
        (10 << 20, text_body),
    ] {
        let (port, _seen) = scripted(|s| {
            s.say("220 scripted\r\n");
            s.until_data();
            thread::sleep(Duration::from_secs(20));
        });
        let timeout = Duration::from_secs(1);
        // Timed from before the build: building 10 MB of text once took 20 s (lettre's CRLF
        // insertion), which made every timeout look unbounded.
        let start = Instant::now();
        let err = Mailer::new(config(port, timeout))
            .unwrap()
            .send_blocking(&msg)
            .unwrap_err();
        let took = start.elapsed();
        assert_eq!((err.kind(), err.stage()), (ErrorKind::Timeout, Stage::Message), "{err}");
        assert!(
            took < timeout * 4,
            "{size} bytes: took {took:?} with a {timeout:?} timeout"
        );
    }
}

/// A server that stalls before the final reply (content all read) fails at the timeout.
#[test]
fn stall_before_the_final_reply_is_bounded() {
    let (port, _seen) = scripted(|s| {
        s.say("220 scripted\r\n");
        s.until_data();
        let mut buf = [0u8; 65536];
        let mut tail = Vec::new();
        while let Ok(n) = s.reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            tail.extend_from_slice(&buf[..n]);
            if tail.ends_with(b"\r\n.\r\n") {
                break;
            }
            let keep = tail.len().saturating_sub(5);
            tail.drain(..keep);
        }
        thread::sleep(Duration::from_secs(20));
    });
    let timeout = Duration::from_millis(800);
    let start = Instant::now();
    let err = Mailer::new(config(port, timeout))
        .unwrap()
        .send_blocking(&message(1 << 20))
        .unwrap_err();
    assert_eq!((err.kind(), err.stage()), (ErrorKind::Timeout, Stage::Message), "{err}");
    assert!(start.elapsed() < timeout * 4, "took {:?}", start.elapsed());
}

/// A server that reads one byte a second makes no useful progress: the send still ends.
#[test]
fn trickle_reader_is_bounded() {
    let (port, _seen) = scripted(|s| {
        s.say("220 scripted\r\n");
        s.until_data();
        let mut byte = [0u8; 1];
        let end = Instant::now() + Duration::from_secs(20);
        while Instant::now() < end && s.reader.read(&mut byte).is_ok_and(|n| n == 1) {
            thread::sleep(Duration::from_secs(1));
        }
    });
    let timeout = Duration::from_secs(1);
    let start = Instant::now();
    let err = Mailer::new(config(port, timeout))
        .unwrap()
        .send_blocking(&message(8 << 20))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(start.elapsed() < Duration::from_secs(8), "took {:?}", start.elapsed());
}

/// A caller that gives up on its send (its future dropped midway, here by a timeout) gives its
/// place in the pool back: with one connection allowed, the next sends still go out, on a new
/// connection, and so do sends queued behind the dropped one.
#[test]
fn a_send_dropped_midway_gives_its_place_back() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, delivered) = mpsc::channel();
    thread::spawn(move || {
        // First connection: takes DATA, then never answers.
        let (stream, _) = listener.accept().unwrap();
        let mut stalled = Session::new(stream);
        stalled.say("220 scripted\r\n");
        stalled.until_data();
        // Later connections: a well-behaved server, counting what it accepts.
        for stream in listener.incoming() {
            let stream = stream.unwrap();
            let tx = tx.clone();
            thread::spawn(move || {
                let mut s = Session::new(stream);
                s.say("220 scripted\r\n");
                loop {
                    s.until_data();
                    loop {
                        match s.line() {
                            Some(l) if l == "." => break,
                            Some(_) => {}
                            None => return,
                        }
                    }
                    s.say("250 queued\r\n");
                    let _ = tx.send(());
                }
            });
        }
        drop(stalled);
    });
    let mut cfg = config(port, Duration::from_secs(30));
    cfg.pool.max_connections = 1;
    let mailer = Mailer::new(cfg).unwrap();
    let m = message(0);
    polymailer::runtime::block_on(async {
        let dropped = tokio::time::timeout(Duration::from_millis(500), mailer.send(&m)).await;
        assert!(dropped.is_err(), "the stalled send was expected to be cut off");
        let both = async { tokio::join!(mailer.send(&m), mailer.send(&m)) };
        let (a, b) = tokio::time::timeout(Duration::from_secs(15), both)
            .await
            .expect("the pool still sends after a dropped send");
        a.unwrap();
        b.unwrap();
    });
    for _ in 0..2 {
        delivered.recv_timeout(Duration::from_secs(10)).unwrap();
    }
    // The worker that answered the queued send puts its connection back just after.
    let start = Instant::now();
    while !mailer.is_idle() && start.elapsed() < Duration::from_secs(5) {
        thread::sleep(Duration::from_millis(10));
    }
    assert!(mailer.is_idle());
}
