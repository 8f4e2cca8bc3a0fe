//! The engine against real servers (Postfix smtp-sink, aiosmtpd), asserting on what arrived.

mod common;

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use polymailer::*;

fn mailer(config: TransportConfig) -> Mailer {
    Mailer::new(config).expect("valid config")
}

#[test]
fn plain_send_arrives_with_envelope_and_without_bcc() {
    let server = Server::capture(&[]);
    let mut msg = simple_message("plain");
    msg.cc.push(Mailbox::new(Some("Carol".into()), "carol@example.com"));
    msg.bcc.push(Mailbox::new(None, "hidden@example.com"));
    msg.text = Some("line one\n.starts with a dot\nlast".into());
    let report = mailer(server.config()).send_blocking(&msg).unwrap();
    assert_eq!(report.code(), 250);
    assert_eq!(
        report.accepted,
        ["rcpt@example.com", "carol@example.com", "hidden@example.com"]
    );
    let got = server.wait_for(1);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].mail_from(), "sender@example.com");
    assert_eq!(got[0].rcpt_tos(), report.accepted);
    assert_eq!(got[0].meta["tls"], false);
    let text = got[0].text();
    assert!(text.contains("Subject: plain\r\n"), "{text}");
    assert!(
        text.contains("\r\n.starts with a dot\r\n"),
        "dot line must arrive un-stuffed: {text}"
    );
    assert!(!text.to_lowercase().contains("hidden@"), "Bcc leaked: {text}");
    assert!(text.contains(&format!("Message-ID: {}", report.message_id.unwrap())));
}

#[test]
fn starttls_and_auth_with_extra_ca() {
    let server = Server::capture(&["--starttls", "--user", "alice:s3cret"]);
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let config = TransportConfig::new("localhost", server.port)
        .security(Security::StartTlsRequired)
        .tls(test_ca())
        .credentials(Credentials::password("alice", "s3cret"))
        .transcript(Arc::new(move |d, l| sink.lock().unwrap().push(format!("{d:?} {l}"))));
    mailer(config).send_blocking(&simple_message("tls+auth")).unwrap();
    let got = server.wait_for(1);
    assert_eq!(got[0].meta["tls"], true);
    assert_eq!(got[0].meta["auth"], "alice");
    let transcript = lines.lock().unwrap().join("\n");
    assert!(transcript.contains("Client AUTH PLAIN ****"), "{transcript}");
    assert!(!transcript.contains("s3cret"), "password in transcript");
    let payload = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "\0alice\0s3cret");
    assert!(!transcript.contains(&payload), "encoded password in transcript");
}

#[test]
fn auth_login_and_xoauth2() {
    let server = Server::capture(&["--starttls", "--user", "bob:pw", "--user", "oauth@example.com:tok123"]);
    let base = TransportConfig::new("localhost", server.port).tls(test_ca());
    let mut login = Credentials::password("bob", "pw");
    login.mechanism = AuthMechanism::Login;
    mailer(base.clone().credentials(login))
        .send_blocking(&simple_message("login"))
        .unwrap();
    mailer(base.credentials(Credentials::oauth2("oauth@example.com", "tok123")))
        .send_blocking(&simple_message("xoauth2"))
        .unwrap();
    let got = server.wait_for(2);
    assert_eq!(got[0].meta["auth"], "bob");
    assert_eq!(got[1].meta["auth"], "oauth@example.com");
}

#[test]
fn implicit_tls() {
    let server = Server::capture(&["--implicit-tls"]);
    let config = TransportConfig::new("localhost", server.port)
        .security(Security::ImplicitTls)
        .tls(test_ca());
    mailer(config).send_blocking(&simple_message("smtps")).unwrap();
    assert_eq!(server.wait_for(1)[0].meta["tls"], true);
}

#[test]
fn untrusted_certificate_is_refused_and_nothing_sent() {
    let server = Server::capture(&["--starttls"]);
    for security in [Security::StartTlsOpportunistic, Security::StartTlsRequired] {
        let config = TransportConfig::new("localhost", server.port).security(security);
        let err = mailer(config).send_blocking(&simple_message("untrusted")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
        assert_eq!(err.stage(), Stage::StartTls);
        assert!(err.to_string().contains("certificate"), "{err}");
    }
    // The danger flag is explicit, and works.
    let tls = TlsOptions {
        accept_invalid_certs: true,
        ..Default::default()
    };
    mailer(TransportConfig::new("localhost", server.port).tls(tls))
        .send_blocking(&simple_message("danger"))
        .unwrap();
    let got = server.wait_for(1);
    assert_eq!(got.len(), 1);
    assert!(got[0].text().contains("Subject: danger"));
}

#[test]
fn wrong_hostname_is_refused_unless_allowed() {
    let server = Server::capture(&["--implicit-tls"]);
    let mut tls = test_ca();
    tls.server_name = Some("other.example".into());
    let config = TransportConfig::new("127.0.0.1", server.port).security(Security::ImplicitTls);
    let err = mailer(config.clone().tls(tls.clone()))
        .send_blocking(&simple_message("x"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls);
    tls.accept_invalid_hostnames = true;
    mailer(config.tls(tls))
        .send_blocking(&simple_message("name ignored"))
        .unwrap();
    assert_eq!(server.wait_for(1).len(), 1);
}

#[test]
fn starttls_required_but_not_offered() {
    let server = Server::capture(&[]);
    let config = TransportConfig::new("localhost", server.port)
        .security(Security::StartTlsRequired)
        .tls(test_ca());
    let err = mailer(config).send_blocking(&simple_message("x")).unwrap_err();
    assert_eq!((err.kind(), err.stage()), (ErrorKind::NotSupported, Stage::StartTls));
    assert!(server.wait_for(0).is_empty());
}

#[test]
fn wrong_password_is_auth_error_535() {
    let server = Server::capture(&["--starttls", "--user", "alice:right"]);
    let config = TransportConfig::new("localhost", server.port)
        .tls(test_ca())
        .credentials(Credentials::password("alice", "wrong-password"));
    let err = mailer(config).send_blocking(&simple_message("x")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert_eq!(err.code(), Some(535));
    assert!(err.is_permanent());
    assert!(!err.to_string().contains("wrong-password"));
    assert!(!format!("{err:?}").contains("wrong-password"));
    assert!(server.messages().is_empty());
}

#[test]
fn one_recipient_refused_is_success_listing_it() {
    let server = Server::capture(&["--refuse", "nobody@example.com"]);
    let mut msg = simple_message("partial");
    msg.to.push(Mailbox::new(None, "nobody@example.com"));
    let report = mailer(server.config()).send_blocking(&msg).unwrap();
    assert_eq!(report.accepted, ["rcpt@example.com"]);
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.rejected[0].address, "nobody@example.com");
    assert_eq!(report.rejected[0].code, 550);
    assert_eq!(report.rejected[0].enhanced, Some(EnhancedStatus(5, 1, 1)));
    let got = server.wait_for(1);
    assert_eq!(got[0].rcpt_tos(), ["rcpt@example.com"]);
}

#[test]
fn all_recipients_refused_is_an_error_and_connection_stays_usable() {
    let server = Server::capture(&["--refuse", "a@example.com", "--refuse", "b@example.com"]);
    let m = mailer(server.config());
    let mut msg = simple_message("none");
    msg.to = vec![Mailbox::new(None, "a@example.com"), Mailbox::new(None, "b@example.com")];
    let err = m.send_blocking(&msg).unwrap_err();
    assert_eq!(
        (err.kind(), err.stage(), err.code()),
        (ErrorKind::RecipientsRefused, Stage::Rcpt, Some(550))
    );
    assert_eq!(
        err.rejected().iter().map(|r| r.address.as_str()).collect::<Vec<_>>(),
        ["a@example.com", "b@example.com"]
    );
    // RSET left the pooled connection usable for the next message.
    m.send_blocking(&simple_message("after")).unwrap();
    let got = server.wait_for(1);
    assert_eq!(got.len(), 1);
    assert!(got[0].text().contains("Subject: after"));
}

#[test]
fn pipelined_all_refused_and_fallback_without_pipelining() {
    // smtp-sink offers PIPELINING; -f rcpt refuses every RCPT (and implies -p, no PIPELINING).
    let sink = Server::sink(&["-f", "rcpt"]);
    let err = mailer(sink.config()).send_blocking(&simple_message("x")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RecipientsRefused);
    for flags in [&[][..], &["-p"][..]] {
        let sink = Server::sink(flags);
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let l = lines.clone();
        let m = mailer(
            sink.config()
                .transcript(Arc::new(move |d, line| l.lock().unwrap().push(format!("{d:?} {line}")))),
        );
        let mut msg = simple_message("pipelining");
        msg.to.push(Mailbox::new(None, "second@example.com"));
        let report = m.send_blocking(&msg).unwrap();
        assert_eq!(report.accepted.len(), 2);
        let t = lines.lock().unwrap().join("\n");
        assert_eq!(t.contains("PIPELINING"), flags.is_empty(), "{t}");
    }
}

#[test]
fn reply_421_at_mail_is_transient() {
    let sink = Server::sink(&["-Q", "mail"]);
    let err = mailer(sink.config()).send_blocking(&simple_message("x")).unwrap_err();
    assert_eq!(
        (err.kind(), err.stage(), err.code()),
        (ErrorKind::SenderRefused, Stage::Mail, Some(421))
    );
    assert!(err.is_transient());
    let sink = Server::sink(&["-r", "mail"]);
    let err = mailer(sink.config()).send_blocking(&simple_message("x")).unwrap_err();
    assert!(err.is_transient() && err.code().unwrap() / 100 == 4, "{err}");
    let sink = Server::sink(&["-f", "mail"]);
    let err = mailer(sink.config()).send_blocking(&simple_message("x")).unwrap_err();
    assert!(err.is_permanent() && err.kind() == ErrorKind::SenderRefused, "{err}");
}

#[test]
fn disconnect_after_data_is_an_error_at_stage_message() {
    let sink = Server::sink(&["-q", "."]);
    let err = mailer(sink.config()).send_blocking(&simple_message("x")).unwrap_err();
    assert_eq!(
        (err.kind(), err.stage()),
        (ErrorKind::Connection, Stage::Message),
        "{err}"
    );
    let sink = Server::sink(&["-f", "."]);
    let err = mailer(sink.config()).send_blocking(&simple_message("x")).unwrap_err();
    assert_eq!(
        (err.kind(), err.stage()),
        (ErrorKind::DataRefused, Stage::Message),
        "{err}"
    );
}

#[test]
fn slow_server_times_out_within_the_configured_timeout() {
    // -p: smtp-sink answers pipelined commands out of order when one reply is delayed.
    let sink = Server::sink(&["-p", "-W", "mail:5"]);
    let config = sink.config().timeouts(Timeouts::all(Duration::from_millis(700)));
    let start = Instant::now();
    let err = mailer(config).send_blocking(&simple_message("x")).unwrap_err();
    let took = start.elapsed();
    assert_eq!((err.kind(), err.stage()), (ErrorKind::Timeout, Stage::Mail), "{err}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
    // A greeting that never comes is bounded too.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let config = TransportConfig::new("127.0.0.1", port).timeouts(Timeouts::all(Duration::from_millis(500)));
    let err = mailer(config).send_blocking(&simple_message("x")).unwrap_err();
    assert_eq!((err.kind(), err.stage()), (ErrorKind::Timeout, Stage::Greeting));
}

#[test]
fn bad_input_is_refused_before_any_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let m = mailer(TransportConfig::new("127.0.0.1", port).security(Security::None));
    let mut cases: Vec<(&str, Message)> = Vec::new();
    let mut msg = simple_message("ok");
    msg.subject = Some("Hi\r\nBcc: victim@example.com".into());
    cases.push(("subject", msg));
    let mut msg = simple_message("ok");
    msg.from = Some(Mailbox::new(Some("Evil\nX-Injected: 1".into()), "a@example.com"));
    cases.push(("display name", msg));
    let mut msg = simple_message("ok");
    msg.to = vec![Mailbox::new(None, "victim@example.com>\r\nRCPT TO:<x@example.com")];
    cases.push(("address", msg));
    let mut msg = simple_message("ok");
    msg.headers.push(("X-Custom".into(), "v\r\nBcc: x@example.com".into()));
    cases.push(("custom header", msg));
    let mut msg = simple_message("ok");
    msg.to = vec![Mailbox::new(None, "not-an-address")];
    cases.push(("invalid address", msg));
    let mut msg = simple_message("ok");
    msg.attachments.push(Attachment::path("/nonexistent/report.pdf"));
    cases.push(("attachment path", msg));
    for (what, msg) in cases {
        let err = m.send_blocking(&msg).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{what}: {err}");
    }
    assert!(listener.accept().is_err(), "a connection was made");
    // Plain-text AUTH to a remote host is refused by the config check (no I/O at all).
    let remote = TransportConfig::new("mail.example.com", 25)
        .security(Security::None)
        .credentials(Credentials::password("u", "p"));
    assert_eq!(Mailer::new(remote.clone()).unwrap_err().kind(), ErrorKind::InvalidInput);
    let mut allowed = remote;
    allowed.allow_insecure_auth = true;
    assert!(Mailer::new(allowed).is_ok());
}

#[test]
fn two_hundred_messages_over_one_connection() {
    let server = Server::capture(&[]);
    let connects = Arc::new(Mutex::new(0));
    let c = connects.clone();
    let m = mailer(server.config().transcript(Arc::new(move |d, l| {
        if d == Direction::Info && l.starts_with("connected") {
            *c.lock().unwrap() += 1;
        }
    })));
    for i in 0..200 {
        m.send_blocking(&simple_message(&format!("bulk {i}"))).unwrap();
    }
    let got = server.wait_for(200);
    assert_eq!(got.len(), 200);
    assert_eq!(*connects.lock().unwrap(), 1);
    let sessions: std::collections::HashSet<_> = got.iter().map(|g| g.meta["session"].to_string()).collect();
    assert_eq!(sessions.len(), 1, "all messages on one server session");
    for (i, g) in got.iter().enumerate() {
        assert!(g.text().contains(&format!("Subject: bulk {i}\r\n")));
    }
}

#[test]
fn send_many_bounds_open_connections() {
    let server = Server::capture(&[]);
    let mut config = server.config();
    config.pool.max_connections = 4;
    let m = mailer(config);
    let msgs: Vec<Message> = (0..60).map(|i| simple_message(&format!("many {i}"))).collect();
    let reports = m.send_many_blocking(msgs);
    assert_eq!(reports.iter().filter(|r| r.is_ok()).count(), 60);
    let got = server.wait_for(60);
    assert_eq!(got.len(), 60);
    assert_eq!(distinct_subjects(&got), 60, "each message exactly once");
    let sessions: std::collections::HashSet<_> = got.iter().map(|g| g.meta["session"].to_string()).collect();
    assert!(sessions.len() <= 4, "{} sessions", sessions.len());
    assert!(m.idle_connections() <= 4);
}

/// A 421 fails the message it answered and nothing else: messages queued behind it on the
/// dying connection go out on a new one, each exactly once.
#[test]
fn a_421_fails_only_the_message_it_answered() {
    for pipelining in [true, false] {
        let mut args = vec!["--close-every", "5"];
        if pipelining {
            args.push("--pipelining");
        }
        let server = Server::capture(&args);
        let mut config = server.config();
        config.pool.max_connections = 4;
        let m = mailer(config);
        let total = 300;
        let msgs: Vec<Message> = (0..total).map(|i| simple_message(&format!("m{i}"))).collect();
        let reports = m.send_many_blocking(msgs);
        let failed: Vec<_> = reports.iter().filter_map(|r| r.as_ref().err()).collect();
        let delivered = reports.len() - failed.len();
        for e in &failed {
            assert_eq!(e.code(), Some(421), "pipelining={pipelining}: {e}");
            assert!(!e.was_not_sent(), "{e}");
        }
        // Each 421 answers one MAIL: at most one failure per 5 MAIL commands (fewer when a
        // 421 met the first MAIL on a reused connection, which is resent like an idle close).
        assert!(failed.len() <= total / 4 + 1, "{} failed", failed.len());
        let got = server.wait_for(delivered);
        assert_eq!(got.len(), delivered, "pipelining={pipelining}");
        assert_eq!(distinct_subjects(&got), delivered, "each message exactly once");
        let sessions: std::collections::HashSet<_> = got.iter().map(|g| g.meta["session"].to_string()).collect();
        assert!(
            sessions.len() > 4,
            "the server's 421s closed connections: {} sessions",
            sessions.len()
        );
    }
}

#[test]
fn stale_pooled_connection_is_replaced() {
    // smtp-sink -t 1 drops a connection idle for a second; the pool must reconnect once.
    let sink = Server::sink(&["-t", "1"]);
    let connects = Arc::new(Mutex::new(0));
    let c = connects.clone();
    let m = mailer(sink.config().transcript(Arc::new(move |d, l| {
        if d == Direction::Info && l.starts_with("connected") {
            *c.lock().unwrap() += 1;
        }
    })));
    m.send_blocking(&simple_message("first")).unwrap();
    std::thread::sleep(Duration::from_millis(1600));
    m.send_blocking(&simple_message("second")).unwrap();
    assert_eq!(*connects.lock().unwrap(), 2);
}

#[test]
fn message_over_size_limit_fails_before_data() {
    let server = Server::capture(&["--size", "2000"]);
    let mut msg = simple_message("big");
    msg.text = Some("x".repeat(5000));
    let err = mailer(server.config()).send_blocking(&msg).unwrap_err();
    assert_eq!((err.kind(), err.stage()), (ErrorKind::MessageTooLarge, Stage::Mail));
    assert!(server.messages().is_empty());
}

#[test]
fn idn_domains_are_punycoded_and_utf8_local_parts_use_smtputf8() {
    let server = Server::capture(&[]);
    let mut msg = simple_message("idn");
    msg.to = vec![Mailbox::new(Some("Jürgen Größe".into()), "info@bücher.example")];
    mailer(server.config()).send_blocking(&msg).unwrap();
    let mut msg = simple_message("utf8");
    msg.to = vec![Mailbox::new(None, "jürgen@example.com")];
    mailer(server.config()).send_blocking(&msg).unwrap();
    let got = server.wait_for(2);
    assert_eq!(got[0].rcpt_tos(), ["info@xn--bcher-kva.example"]);
    assert!(!got[0].meta["mail_options"].to_string().contains("SMTPUTF8"));
    assert!(
        got[0].text().contains("=?utf-8?"),
        "display name encoded: {}",
        got[0].text()
    );
    assert_eq!(got[1].rcpt_tos(), ["jürgen@example.com"]);
    assert!(got[1].meta["mail_options"].to_string().contains("SMTPUTF8"));
}

#[test]
fn html_attachments_and_inline_image_arrive() {
    let server = Server::capture(&[]);
    let dir = std::env::temp_dir().join(format!("pm-att-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("report.csv");
    std::fs::write(&path, "a,b\n1,2\n").unwrap();
    let mut msg = simple_message("mime");
    msg.html = Some("<p>Hi <img src=\"cid:logo@x\"></p>".into());
    msg.attachments.push(Attachment::path(&path));
    msg.attachments
        .push(Attachment::bytes("logo.png", vec![0x89, b'P', b'N', b'G', 0, 1, 2, 255]).inline("logo@x"));
    msg.reply_to.push(Mailbox::new(None, "replies@example.com"));
    msg.headers.push(("X-Campaign".into(), "spring".into()));
    msg.priority = Some(Priority::High);
    msg.in_reply_to = Some("<orig@example.com>".into());
    mailer(server.config()).send_blocking(&msg).unwrap();
    let text = server.wait_for(1)[0].text();
    for needle in [
        "multipart/mixed",
        "multipart/alternative",
        "multipart/related",
        "Content-ID: <logo@x>",
        // A token file name goes unquoted (as Nodemailer and PHPMailer write it), also in `name=`.
        "Content-Disposition: attachment; filename=report.csv",
        "Content-Type: text/csv; name=report.csv",
        // base64 of the file's bytes, exactly as on disk.
        "Content-Transfer-Encoding: base64\r\n\r\nYSxiCjEsMgo=\r\n--",
        "Reply-To: replies@example.com",
        "X-Campaign: spring",
        "X-Priority: 1 (Highest)",
        "In-Reply-To: <orig@example.com>",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn raw_message_envelope_from_headers() {
    let server = Server::capture(&[]);
    let raw = RawMessage::new(
        b"From: Ann <ann@example.com>\r\nTo: bob@example.com\r\nBcc: hidden@example.com\r\nSubject: raw\r\n\r\nHello\r\n".to_vec(),
    );
    mailer(server.config()).send_raw_blocking(&raw).unwrap();
    let got = server.wait_for(1);
    assert_eq!(got[0].mail_from(), "ann@example.com");
    assert_eq!(got[0].rcpt_tos(), ["bob@example.com", "hidden@example.com"]);
    assert!(!got[0].text().contains("hidden"));
}

#[test]
fn dkim_signatures_verify_with_dkimpy() {
    let server = Server::capture(&[]);
    let certs = certs();
    for (key, record) in [
        ("dkim-rsa.pkcs8.pem", "dkim-rsa.txt"),
        ("dkim-rsa.pkcs1.pem", "dkim-rsa.txt"),
        ("dkim-ed25519.pem", "dkim-ed25519.txt"),
    ] {
        let pem = std::fs::read_to_string(certs.join(key)).unwrap();
        let dkim = DkimConfig::new("example.com", "test", &pem, None, None).unwrap();
        let mut msg = simple_message(&format!("dkim {key}"));
        msg.html = Some("<b>signed</b>".into());
        // A file attachment larger than one read block: signed as a stream, sent as a stream.
        let dir = server.outdir.with_extension("files");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("signed.txt");
        let attached = "attached and signed\n".repeat(10_000);
        std::fs::write(&file, &attached).unwrap();
        msg.attachments.push(Attachment::path(&file));
        mailer(server.config().dkim(dkim)).send_blocking(&msg).unwrap();
        let got = server.wait_for(1);
        let last = got.last().unwrap();
        assert!(last.text().starts_with("DKIM-Signature:"), "{}", last.text());
        let (ok, out) = dkim_verify(&last.eml, &certs.join(record));
        assert!(ok, "{key}: {out}");
        assert!(attachment_bytes(&last.text(), "signed.txt") == attached.as_bytes());
        // A tampered copy must fail: the verifier can say no.
        let tampered = last.eml.with_extension("tampered");
        std::fs::write(&tampered, last.text().replace("signed", "forged")).unwrap();
        assert!(
            !dkim_verify(&tampered, &certs.join(record)).0,
            "{key}: tampered message verified"
        );
        std::fs::remove_file(&last.eml).unwrap();
        std::fs::remove_file(last.eml.with_extension("json")).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn low_level_session_steps() {
    let server = Server::capture(&["--starttls", "--user", "u:p"]);
    let config = Arc::new(TransportConfig::new("localhost", server.port).security(Security::None));
    runtime::block_on(async {
        let mut conn = Connection::connect(config).await.unwrap();
        assert_eq!(conn.greeting().code, 220);
        let ehlo = conn.ehlo(None).await.unwrap();
        assert_eq!(ehlo.code, 250);
        assert!(conn.extensions().starttls());
        conn.starttls(Some(&test_ca())).await.unwrap();
        conn.ehlo(None).await.unwrap();
        assert!(conn.is_tls() && !conn.extensions().starttls());
        conn.auth(&Credentials::password("u", "p")).await.unwrap();
        assert_eq!(conn.noop().await.unwrap().code, 250);
        assert_eq!(conn.command("VRFY someone").await.unwrap().code / 100, 2);
        let prepared = simple_message("low level").build().unwrap();
        conn.send(&prepared).await.unwrap();
        assert_eq!(conn.quit().await.unwrap().code, 221);
    });
    assert_eq!(server.wait_for(1)[0].meta["auth"], "u");
}

#[test]
fn url_config_sends() {
    let server = Server::capture(&["--user", "me@example.com:p@ss"]);
    let m = Mailer::from_url(&format!(
        "smtp://me%40example.com:p%40ss@127.0.0.1:{}?tls=none",
        server.port
    ))
    .unwrap();
    m.send_blocking(&simple_message("url")).unwrap();
    assert_eq!(server.wait_for(1)[0].meta["auth"], "me@example.com");
}

#[test]
fn port_and_tls_mode_mismatch_fails_fast_with_a_hint() {
    // Implicit TLS against a plain (STARTTLS-style) server.
    let server = Server::capture(&["--starttls"]);
    let config = TransportConfig::new("localhost", server.port)
        .security(Security::ImplicitTls)
        .tls(test_ca());
    let err = mailer(config).send_blocking(&simple_message("x")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
}

#[test]
fn rate_limit_spaces_messages() {
    let server = Server::capture(&[]);
    let starts = Arc::new(Mutex::new(Vec::<Instant>::new()));
    let s = starts.clone();
    let mut config = server.config().transcript(Arc::new(move |d, l| {
        if d == Direction::Client && l.starts_with("MAIL FROM") {
            s.lock().unwrap().push(Instant::now());
        }
    }));
    config.rate_limit = Some(RateLimit {
        messages: 2,
        per: Duration::from_millis(300),
    });
    let m = mailer(config);
    let results = m.send_many_blocking((0..6).map(|i| simple_message(&format!("rate {i}"))).collect());
    assert!(results.iter().all(|r| r.is_ok()));
    assert_eq!(server.wait_for(6).len(), 6);
    let starts = starts.lock().unwrap();
    // Without the limit all six go out within a few ms; with it, every third message waits for
    // the window (the bound is loose: the first MAIL can lag its admission by the connect).
    for w in starts.windows(3) {
        assert!(w[2] - w[0] >= Duration::from_millis(150), "{:?}", w[2] - w[0]);
    }
}

#[test]
fn send_many_pipelines_batches_with_per_message_outcomes() {
    let server = Server::capture(&["--pipelining", "--refuse", "gone@example.com"]);
    let flushes = Arc::new(Mutex::new(0usize));
    let f = flushes.clone();
    let m = mailer(server.config().transcript(Arc::new(move |d, l| {
        if d == Direction::Client && l.starts_with("MAIL FROM") {
            *f.lock().unwrap() += 1;
        }
    })));
    let msgs: Vec<Message> = (0..60)
        .map(|i| {
            let mut msg = simple_message(&format!("batch {i}"));
            match i % 10 {
                3 => msg.to = vec![Mailbox::new(None, "gone@example.com")],
                7 => msg.to.push(Mailbox::new(None, "gone@example.com")),
                _ => {}
            }
            msg
        })
        .collect();
    let results = m.send_many_blocking(msgs);
    for (i, r) in results.iter().enumerate() {
        match i % 10 {
            3 => assert_eq!(
                r.as_ref().unwrap_err().kind(),
                ErrorKind::RecipientsRefused,
                "message {i}"
            ),
            7 => {
                let report = r.as_ref().unwrap();
                assert_eq!(report.accepted, ["rcpt@example.com"]);
                assert_eq!(report.rejected[0].address, "gone@example.com");
            }
            _ => assert!(r.is_ok(), "message {i}: {r:?}"),
        }
    }
    let got = server.wait_for(54);
    assert_eq!(got.len(), 54, "every message but the six refused ones");
    assert_eq!(distinct_subjects(&got), 54, "each exactly once");
    assert_eq!(*flushes.lock().unwrap(), 60);
    assert!(
        got.iter().all(|g| g.meta["session"] == got[0].meta["session"]),
        "one connection"
    );
    // The connection stays usable after the batch.
    m.send_blocking(&simple_message("after batch")).unwrap();
}

/// The base64 body of the part whose headers contain `filename={name}`, decoded.
fn attachment_bytes(text: &str, name: &str) -> Vec<u8> {
    use base64::Engine;
    let at = text.find(&format!("filename={name}")).expect("the attachment part");
    let start = at + text[at..].find("\r\n\r\n").unwrap() + 4;
    let end = start + text[start..].find("\r\n--").unwrap();
    let body = &text[start..end];
    assert!(
        body.split("\r\n").all(|l| l.len() <= 76),
        "base64 lines over 76 characters"
    );
    base64::engine::general_purpose::STANDARD
        .decode(body.replace("\r\n", ""))
        .unwrap()
}

#[test]
fn large_file_attachment_is_streamed_and_arrives_byte_for_byte() {
    for tls in [false, true] {
        let server = Server::capture(if tls {
            &["--pipelining", "--starttls"][..]
        } else {
            &["--pipelining"][..]
        });
        let dir = server.outdir.with_extension("files");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big.bin");
        // Not a multiple of the 57-byte line nor of the read block; every byte value.
        let data: Vec<u8> = (0..3_000_001u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        std::fs::write(&path, &data).unwrap();
        let mut msg = simple_message("big");
        msg.attachments.push(Attachment::path(&path));
        msg.attachments.push(Attachment::bytes("small.txt", "in memory"));
        let built = msg.build().unwrap();
        assert!(built.content.is_streamed());
        let declared = built.content.len();
        assert_eq!(declared, built.content.to_bytes().unwrap().len() as u64);
        let config = if tls {
            TransportConfig::new("localhost", server.port)
                .security(Security::StartTlsRequired)
                .tls(test_ca())
        } else {
            server.config()
        };
        mailer(config).send_blocking(&msg).unwrap();
        let got = server.wait_for(1);
        assert_eq!(got[0].meta["tls"], tls, "{}", got[0].meta);
        let text = got[0].text();
        assert!(
            attachment_bytes(&text, "big.bin") == data,
            "the attachment arrived altered"
        );
        assert!(text.contains("in memory"), "{text}");
        // SIZE announced on MAIL is the size that arrived.
        let options = got[0].meta["mail_options"].to_string();
        assert!(options.contains(&format!("SIZE={declared}")), "{options}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn attachment_removed_after_build_refuses_that_message_only() {
    let server = Server::capture(&["--pipelining"]);
    let path = server.outdir.with_extension("gone.pdf");
    std::fs::write(&path, b"%PDF-1.4").unwrap();
    let mut msg = simple_message("gone");
    msg.attachments.push(Attachment::path(&path));
    let built = msg.build().unwrap();
    std::fs::remove_file(&path).unwrap();
    let m = mailer(server.config());
    let results =
        runtime::block_on(m.send_many_prepared(vec![Ok(built.clone()), Ok(simple_message("after").build().unwrap())]));
    let err = results[0].as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("gone.pdf"), "{err}");
    assert!(results[1].is_ok(), "{:?}", results[1]);
    let got = server.wait_for(1);
    assert_eq!(got.len(), 1);
    assert!(got[0].text().contains("Subject: after"));
}

#[test]
fn unreadable_file_mid_data_drops_the_connection_and_nothing_is_delivered() {
    let server = Server::capture(&["--pipelining"]);
    // A directory opens but cannot be read: the failure comes after DATA has begun.
    let dir = server.outdir.with_extension("dir");
    std::fs::create_dir_all(&dir).unwrap();
    let good = simple_message("before").build().unwrap();
    let head = good.content.to_bytes().unwrap();
    let bad = Prepared {
        content: Payload::from_pieces(vec![
            Piece::Bytes(head.clone()),
            Piece::Base64File {
                path: dir.clone(),
                size: 100,
            },
            Piece::Bytes(b"\r\n".to_vec()),
        ]),
        ..good.clone()
    };
    let m = mailer(server.config());
    let err = runtime::block_on(m.send_prepared(bad)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert_eq!(err.stage(), Stage::Message, "{err}");
    // The next send works (a new connection), and only it arrives.
    runtime::block_on(m.send_prepared(good)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let got = server.wait_for(1);
    assert_eq!(got.len(), 1, "a partial message was delivered");
    std::fs::remove_dir_all(&dir).unwrap();
}
